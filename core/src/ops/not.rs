//! `Not`: logical negation of a bool tensor.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::compare;
use crate::model::ModelError;

/// Element-wise logical not; input `x` bool (any nonzero byte is true), output bool (0 or
/// 1) of its shape. No attributes.
pub struct Not;

impl Op for Not {
    const ID: u16 = 55;
    const NAME: &'static str = "Not";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ();
    type Params = ();

    fn prepare(_: &(), cx: &mut Prepare<'_, '_>) -> core::result::Result<(), ModelError> {
        let s = cx.typed(0, DType::Bool)?;
        cx.set_output(0, DType::Bool, s)
    }

    fn eval(_: &(), io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let x = io.input::<u8>(0)?;
        compare::not(x, io.out::<u8>(0)?)
    }
}
