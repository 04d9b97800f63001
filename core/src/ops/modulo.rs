//! `IntBinary`: broadcasting integer-only operations: the remainder (ONNX `Mod`), bitwise
//! and, or, xor (ONNX `BitwiseAnd`/`Or`/`Xor`, and `BitwiseNot` as xor with all ones) and
//! shifts (ONNX `BitShift`).

use super::binary::{by_int_type, same_type_broadcast};
use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::kernels::elementwise::{self, IntOp};
use crate::model::ModelError;

/// Integer operation [`IntOp`]; inputs `a`, `b` of one integer type (`i8`, `u8`, `i16`,
/// `u16`, `i32`, `u32`, `i64`, `u64`); output of that type and the broadcast shape.
pub struct IntBinary;

impl Op for IntBinary {
    const ID: u16 = 106;
    const NAME: &'static str = "IntBinary";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = IntOp;
    type Params = [u32; 2];

    fn prepare(a: &IntOp, cx: &mut Prepare<'_, '_>) -> core::result::Result<[u32; 2], ModelError> {
        let ty = same_type_broadcast(cx, false)?;
        Ok([a.code(), ty])
    }

    fn eval(p: &[u32; 2], io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let op = IntOp::ALL.get(p[0] as usize).copied().unwrap_or(IntOp::Mod);
        let (xs, ys, os) = (io.shape(0), io.shape(1), io.out_shape(0));
        macro_rules! int {
            ($t:ty) => {{
                let (x, y) = (io.input::<$t>(0)?, io.input::<$t>(1)?);
                elementwise::int_binary(op, x, &xs, y, &ys, io.out::<$t>(0)?, &os)
            }};
        }
        by_int_type!(p[1], int)
    }
}
