//! `Binary`: broadcasting element-wise arithmetic in f32 (NumPy broadcasting).

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::elementwise::{self, BinaryOp};
use crate::model::ModelError;

/// Broadcasting binary op; inputs `a`, `b`; output of the broadcast shape.
pub struct Binary;

impl Op for Binary {
    const ID: u16 = 12;
    const NAME: &'static str = "Binary";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = BinaryOp;
    type Params = u32;

    fn prepare(a: &BinaryOp, cx: &mut Prepare<'_, '_>) -> core::result::Result<u32, ModelError> {
        let x = cx.typed(0, DType::F32)?;
        let y = cx.typed(1, DType::F32)?;
        let s = x
            .broadcast(&y)
            .map_err(|_| cx.shape_err(1, "does not broadcast with operand 0"))?;
        cx.set_output(0, DType::F32, s)?;
        Ok(a.code())
    }

    fn eval(p: &u32, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let op = BinaryOp::ALL
            .get(*p as usize)
            .copied()
            .unwrap_or(BinaryOp::Add);
        let (x, y) = (io.input::<f32>(0)?, io.input::<f32>(1)?);
        let (xs, ys, os) = (io.shape(0), io.shape(1), io.out_shape(0));
        elementwise::binary(op, x, &xs, y, &ys, io.out(0)?, &os)
    }
}
