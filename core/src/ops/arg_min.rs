//! `ArgMin`: the index of the smallest f32 along an axis, as i64 (ONNX `ArgMin`).
//!
//! Ties go to the first occurrence (the smallest index), and NaN counts as smaller than
//! every number, so the first NaN wins (`numpy.argmin`); `+0.0` and `-0.0` tie. ONNX's
//! `select_last_index` is not supported (its default, first index, is what this computes).

use super::arg_max::{eval_arg, prepare_arg, ArgAttrs, ArgParams};
use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::kernels::reduce;
use crate::model::ModelError;

/// Index of the first smallest element along `axis`; input `x` f32, output i64 (the
/// input's shape with the axis set to 1, or removed without `keepdims`). Attributes:
/// [`ArgAttrs`].
pub struct ArgMin;

impl Op for ArgMin {
    const ID: u16 = 58;
    const NAME: &'static str = "ArgMin";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ArgAttrs;
    type Params = ArgParams;

    fn prepare(
        a: &ArgAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<ArgParams, ModelError> {
        prepare_arg(a, cx, "argmin axis out of range")
    }

    fn eval(p: &ArgParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        eval_arg(p, io, reduce::argmin)
    }
}
