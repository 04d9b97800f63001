//! `Activation`: an element-wise activation function in f32, in place when planned so.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::activation::{self, ActWords, Activation as Kind};
use crate::model::ModelError;

/// Element-wise activation; input `x` (rank at least 1), output of its shape.
pub struct Activation;

/// Checks input 0 is f32 with at least one axis and declares an output like it.
pub(crate) fn same_f32(cx: &mut Prepare<'_, '_>) -> core::result::Result<(), ModelError> {
    let s = cx.typed(0, DType::F32)?;
    if s.rank() == 0 {
        return Err(cx.shape_err(0, "needs at least one axis"));
    }
    cx.set_output(0, DType::F32, s)
}

impl Op for Activation {
    const ID: u16 = 6;
    const NAME: &'static str = "Activation";
    const INPUTS: (usize, usize) = (1, 1);
    const IN_PLACE: bool = true;
    type Attrs = Kind;
    type Params = ActWords;

    fn prepare(a: &Kind, cx: &mut Prepare<'_, '_>) -> core::result::Result<ActWords, ModelError> {
        same_f32(cx)?;
        Ok(ActWords::pack(Some(*a)))
    }

    fn eval(p: &ActWords, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        io.copy_unless_in_place()?;
        if let Some(a) = p.unpack() {
            activation::activation_inplace(a, io.out(0)?);
        }
        Ok(())
    }
}
