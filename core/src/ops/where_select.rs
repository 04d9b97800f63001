//! `Where`: elements picked from two tensors by a boolean condition, all three broadcast
//! (ONNX `Where`, `numpy.where`; values of any element type).

use super::movement::{self, by_size};
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;

/// Where; inputs `cond` (bool), `a` and `b` (one element type); output of the broadcast
/// of the three shapes, `a` where `cond` is true and `b` elsewhere.
pub struct Where;

fn run<const N: usize>(io: &mut Io<'_>) -> Result<()> {
    let c = movement::input_bytes(io, 0)?;
    let (a, b) = (movement::input::<N>(io, 1)?, movement::input::<N>(io, 2)?);
    let (cs, as_, bs, os) = (io.shape(0), io.shape(1), io.shape(2), io.out_shape(0));
    let out = movement::output::<N>(io, 0)?;
    tensor::where_select(c, cs.dims(), a, as_.dims(), b, bs.dims(), out, os.dims())
}

impl Op for Where {
    const ID: u16 = 35;
    const NAME: &'static str = "Where";
    const INPUTS: (usize, usize) = (3, 3);
    type Attrs = ();
    /// The element size of `a` and `b`.
    type Params = u32;

    fn prepare(_: &(), cx: &mut Prepare<'_, '_>) -> core::result::Result<u32, ModelError> {
        let c = cx.typed(0, DType::Bool)?;
        let a = cx.input(1)?;
        let b = cx.typed(2, a.dtype)?;
        let ab = a
            .shape
            .broadcast(&b)
            .map_err(|_| cx.shape_err(2, "does not broadcast with operand 1"))?;
        let out = c
            .broadcast(&ab)
            .map_err(|_| cx.shape_err(0, "does not broadcast with operands 1 and 2"))?;
        let out = movement::out_shape(out.dims(), a.dtype)
            .ok_or(cx.shape_err(0, "output size does not fit 32 bits"))?;
        cx.set_output(0, a.dtype, out)?;
        Ok(movement::size_word(a.dtype))
    }

    fn eval(size: &u32, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        by_size!(*size, run(io))
    }
}
