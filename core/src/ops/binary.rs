//! `Binary`: broadcasting element-wise arithmetic (NumPy broadcasting) in f32, or in one
//! integer type (`i8`, `u8`, `i16`, `u16`, `i32`, `u32`, `i64`, `u64`, wrapping as NumPy
//! does).

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::elementwise::{self, BinaryOp};
use crate::model::ModelError;

/// Broadcasting binary op; inputs `a`, `b` of one element type (f32 or an integer type);
/// output of that type and the broadcast shape.
pub struct Binary;

/// The integer element types [`Binary`] computes in, by index (after f32, index 0).
pub(crate) const INT_TYPES: [DType; 8] = [
    DType::I8,
    DType::U8,
    DType::I16,
    DType::I32,
    DType::I64,
    DType::U16,
    DType::U32,
    DType::U64,
];

/// Index of `d` for a binary kernel: 0 for f32, `1 + k` for [`INT_TYPES`]`[k]`.
pub(crate) fn type_index(d: DType) -> Option<u32> {
    if d == DType::F32 {
        return Some(0);
    }
    INT_TYPES.iter().position(|&t| t == d).map(|k| k as u32 + 1)
}

/// `$run!(T)` for the integer type of [`type_index`] `$ty` (an index past the list is
/// `u64`, the last).
macro_rules! by_int_type {
    ($ty:expr, $run:ident) => {
        match $ty {
            1 => $run!(i8),
            2 => $run!(u8),
            3 => $run!(i16),
            4 => $run!(i32),
            5 => $run!(i64),
            6 => $run!(u16),
            7 => $run!(u32),
            _ => $run!(u64),
        }
    };
}
pub(crate) use by_int_type;

/// Checks both inputs have one element type [`type_index`] knows and broadcast; declares
/// the output; returns the type index.
pub(crate) fn same_type_broadcast(
    cx: &mut Prepare<'_, '_>,
    allow_f32: bool,
) -> core::result::Result<u32, ModelError> {
    let x = cx.input(0)?;
    let ty = type_index(x.dtype)
        .filter(|&t| allow_f32 || t != 0)
        .ok_or(ModelError::DType {
            op: cx.index(),
            operand: 0,
            expected: if allow_f32 { DType::F32 } else { DType::I32 },
            got: x.dtype,
        })?;
    let y = cx.typed(1, x.dtype)?;
    let s = x
        .shape
        .broadcast(&y)
        .map_err(|_| cx.shape_err(1, "does not broadcast with operand 0"))?;
    cx.set_output(0, x.dtype, s)?;
    Ok(ty)
}

impl Op for Binary {
    const ID: u16 = 12;
    const NAME: &'static str = "Binary";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = BinaryOp;
    type Params = [u32; 2];

    fn prepare(
        a: &BinaryOp,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<[u32; 2], ModelError> {
        let ty = same_type_broadcast(cx, true)?;
        Ok([a.code(), ty])
    }

    fn eval(p: &[u32; 2], io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let op = BinaryOp::ALL
            .get(p[0] as usize)
            .copied()
            .unwrap_or(BinaryOp::Add);
        let (xs, ys, os) = (io.shape(0), io.shape(1), io.out_shape(0));
        macro_rules! int {
            ($t:ty) => {{
                let (x, y) = (io.input::<$t>(0)?, io.input::<$t>(1)?);
                elementwise::binary_int(op, x, &xs, y, &ys, io.out::<$t>(0)?, &os)
            }};
        }
        if p[1] == 0 {
            let (x, y) = (io.input::<f32>(0)?, io.input::<f32>(1)?);
            return elementwise::binary(op, x, &xs, y, &ys, io.out(0)?, &os);
        }
        by_int_type!(p[1], int)
    }
}
