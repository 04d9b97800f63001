//! `Reshape`: the same elements under another shape (any element type), in place when
//! planned so.

use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::model::format::Dims;
use crate::model::ModelError;

/// Reshape; input `x`, output of shape `attrs.shape` with as many elements.
pub struct Reshape;

/// Attributes of [`Reshape`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReshapeAttrs {
    /// The output shape.
    pub shape: Dims,
}

impl Op for Reshape {
    const ID: u16 = 13;
    const NAME: &'static str = "Reshape";
    const INPUTS: (usize, usize) = (1, 1);
    const IN_PLACE: bool = true;
    type Attrs = ReshapeAttrs;
    type Params = ();

    fn prepare(a: &ReshapeAttrs, cx: &mut Prepare<'_, '_>) -> core::result::Result<(), ModelError> {
        let x = cx.input(0)?;
        let t = a
            .shape
            .to_shape()
            .ok_or(cx.attr_err("reshape target rank above 6 or stray dimensions"))?;
        if t.checked_numel().ok() != x.shape.checked_numel().ok() {
            return Err(cx.shape_err(0, "element count differs from the output's"));
        }
        cx.set_output(0, x.dtype, t)
    }

    fn eval(_: &(), io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        io.copy_unless_in_place()
    }
}
