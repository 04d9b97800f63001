//! `Gather`: slices of a tensor along an axis picked by indices (ONNX `Gather`,
//! `numpy.take`; data of any element type, indices `i32` or `i64`).

use super::movement;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

/// Gather; inputs `data` (any element type) and `indices` (`i32` or `i64`, each in
/// `-len..len` of the axis, negative counting from the end); output
/// `data.shape[..axis] ++ indices.shape ++ data.shape[axis + 1..]`. An index out of range
/// is an error at invoke (the output may then be partly written).
pub struct Gather;

/// Attributes of [`Gather`] and [`GatherElements`](super::gather_elements::GatherElements).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatherAttrs {
    /// The axis of `data` indexed (negative counts from the end).
    pub axis: i32,
}

/// Prepared params of [`Gather`]: `data` viewed as `[outer, len, inner bytes]`, and whether
/// the indices are `i64` (1) or `i32` (0).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatherParams {
    outer: u32,
    len: u32,
    inner: u32,
    wide: u32,
}

/// `i32` indices are widened this many at a time into a buffer on the stack.
const CHUNK: usize = 64;

/// Checks that input `k` holds `i32` or `i64` indices; returns whether they are `i64`.
pub(crate) fn index_type(cx: &Prepare<'_, '_>, k: usize) -> core::result::Result<bool, ModelError> {
    match cx.input(k)?.dtype {
        DType::I64 => Ok(true),
        DType::I32 => Ok(false),
        got => Err(ModelError::DType {
            op: cx.index(),
            operand: k,
            expected: DType::I64,
            got,
        }),
    }
}

impl Op for Gather {
    const ID: u16 = 33;
    const NAME: &'static str = "Gather";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = GatherAttrs;
    type Params = GatherParams;

    fn prepare(
        a: &GatherAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<GatherParams, ModelError> {
        let x = cx.input(0)?;
        let d = x.shape.dims();
        let axis = movement::axis(cx, a.axis, d.len(), "gather axis out of range")?;
        let wide = index_type(cx, 1)?;
        let idx = cx.input(1)?.shape;
        let rank = d.len() - 1 + idx.rank();
        if rank > MAX_RANK {
            return Err(cx.shape_err(1, "indices make the output rank exceed 6"));
        }
        let mut dims = [0usize; MAX_RANK];
        dims[..axis].copy_from_slice(&d[..axis]);
        dims[axis..axis + idx.rank()].copy_from_slice(idx.dims());
        dims[axis + idx.rank()..rank].copy_from_slice(&d[axis + 1..]);
        let out = movement::out_shape(&dims[..rank], x.dtype)
            .ok_or(cx.shape_err(1, "output size does not fit 32 bits"))?;
        cx.set_output(0, x.dtype, out)?;
        let inner = d[axis + 1..]
            .iter()
            .try_fold(x.dtype.size(), |acc, &v| acc.checked_mul(v))
            .and_then(movement::word);
        match (
            movement::product(&d[..axis]),
            movement::word(d[axis]),
            inner,
        ) {
            (Some(outer), Some(len), Some(inner)) => Ok(GatherParams {
                outer,
                len,
                inner,
                wide: u32::from(wide),
            }),
            _ => Err(cx.shape_err(0, "size does not fit 32 bits")),
        }
    }

    fn eval(p: &GatherParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        // Each of the `outer` slabs of `data` is a `[len, inner bytes]` matrix whose rows
        // the indices pick: gathered as bytes, whatever the element type.
        let (len, inner) = (p.len as usize, p.inner as usize);
        let data = movement::input_bytes(io, 0)?;
        let slab = len * inner;
        let shape = [len, inner];
        if p.wide != 0 {
            let idx = io.input::<i64>(1)?;
            let out = io.out_bytes(0)?;
            let run = idx.len() * inner;
            for o in 0..p.outer as usize {
                let x = data
                    .get(o * slab..(o + 1) * slab)
                    .ok_or(super::io::misaligned())?;
                let y = out
                    .get_mut(o * run..(o + 1) * run)
                    .ok_or(super::io::misaligned())?;
                tensor::gather(x, &shape, 0, idx, y)?;
            }
        } else {
            let idx = io.input::<i32>(1)?;
            let out = io.out_bytes(0)?;
            let mut buf = [0i64; CHUNK];
            let mut at = 0usize;
            for o in 0..p.outer as usize {
                let x = data
                    .get(o * slab..(o + 1) * slab)
                    .ok_or(super::io::misaligned())?;
                for chunk in idx.chunks(CHUNK) {
                    for (b, &i) in buf.iter_mut().zip(chunk) {
                        *b = i64::from(i);
                    }
                    let run = chunk.len() * inner;
                    let y = out.get_mut(at..at + run).ok_or(super::io::misaligned())?;
                    tensor::gather(x, &shape, 0, &buf[..chunk.len()], y)?;
                    at += run;
                }
            }
        }
        Ok(())
    }
}
