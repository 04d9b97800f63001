//! `MatMul`: the batched, broadcasting matrix product of two f32 tensors (`numpy.matmul`,
//! ONNX `MatMul`); either operand may be an activation.

use super::fully_connected::scratch_f32;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::matmul;
use crate::model::ModelError;
use crate::shape::Shape;

type R<T> = core::result::Result<T, ModelError>;

/// Matrix product `a @ b` with `numpy.matmul` rules; inputs `a`, `b` (rank 1 or more, the
/// axes before the last two broadcast), output of [`matmul::matmul_shape`]. A rank-1 left
/// operand is a row, a rank-1 right operand a column, and that axis is dropped from the
/// result. No attributes.
pub struct MatMul;

/// Prepared params of [`MatMul`]: the f32 scratch elements the kernel needs on this CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatMulParams {
    scratch: u32,
}

/// `(k, batch axes)` of a matmul operand, `k` being its contracted extent.
fn contracted(s: &Shape, rows: bool) -> Option<(usize, &[usize])> {
    match s.dims() {
        [] => None,
        [k] => Some((*k, &[])),
        [batch @ .., r, c] => Some((if rows { *r } else { *c }, batch)),
    }
}

/// An f32 element count that must fit the params word and, as bytes, `usize`.
pub(crate) fn scratch_elems(cx: &Prepare<'_, '_>, elems: usize) -> R<u32> {
    elems
        .checked_mul(4)
        .and_then(|_| u32::try_from(elems).ok())
        .ok_or(cx.attr_err("sizes overflow"))
}

impl Op for MatMul {
    const ID: u16 = 50;
    const NAME: &'static str = "MatMul";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = ();
    type Params = MatMulParams;

    fn prepare(_: &(), cx: &mut Prepare<'_, '_>) -> R<MatMulParams> {
        let a = cx.typed(0, DType::F32)?;
        let b = cx.typed(1, DType::F32)?;
        let (ka, a_batch) =
            contracted(&a, false).ok_or(cx.shape_err(0, "must have rank 1 or more"))?;
        let (kb, b_batch) =
            contracted(&b, true).ok_or(cx.shape_err(1, "must have rank 1 or more"))?;
        if ka != kb {
            return Err(cx.shape_err(1, "rows must equal operand 0's columns"));
        }
        let (a_batch, b_batch) = (cx.shape(a_batch)?, cx.shape(b_batch)?);
        if a_batch.broadcast(&b_batch).is_err() {
            return Err(cx.shape_err(1, "batch axes do not broadcast with operand 0's"));
        }
        let out = matmul::matmul_shape(&a, &b).map_err(|e| cx.kernel_err(e))?;
        cx.set_output(0, DType::F32, out)?;
        let scratch = scratch_elems(cx, matmul::matmul_scratch_len(&a, &b))?;
        cx.set_scratch(scratch as usize * 4);
        Ok(MatMulParams { scratch })
    }

    fn eval(p: &MatMulParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let (a, b) = (io.input::<f32>(0)?, io.input::<f32>(1)?);
        let (sa, sb) = (io.shape(0), io.shape(1));
        let s = scratch_f32(scratch, p.scratch as usize)?;
        matmul::matmul(a, &sa, b, &sb, io.out(0)?, s)
    }
}
