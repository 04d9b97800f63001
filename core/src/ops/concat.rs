//! `Concat`: tensors joined along an axis (ONNX `Concat`; any element type).

use super::movement;
use super::{Io, Op, Prepare, MAX_INPUTS};
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

/// Concat of 1 to [`MAX_INPUTS`] inputs of one element type and rank, equal in every
/// dimension but `axis`; the output's `axis` is the sum of theirs.
pub struct Concat;

/// Attributes of [`Concat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcatAttrs {
    /// The axis (negative counts from the end).
    pub axis: i32,
}

/// Prepared params of [`Concat`]: the resolved axis and the `[outer, axis, inner bytes]`
/// view of every operand (the axis lengths are the inputs' own).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConcatParams {
    axis: u32,
    outer: u32,
    inner: u32,
}

impl Op for Concat {
    const ID: u16 = 31;
    const NAME: &'static str = "Concat";
    const INPUTS: (usize, usize) = (1, MAX_INPUTS);
    type Attrs = ConcatAttrs;
    type Params = ConcatParams;

    fn prepare(
        a: &ConcatAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<ConcatParams, ModelError> {
        let x = cx.input(0)?;
        let d = x.shape.dims();
        let axis = movement::axis(cx, a.axis, d.len(), "concat axis out of range")?;
        let mut total = 0usize;
        for k in 0..cx.n_inputs() {
            let s = cx.typed(k, x.dtype)?;
            if s.rank() != d.len() {
                return Err(cx.shape_err(k, "rank differs from operand 0's"));
            }
            let off_axis = |(i, (&p, &q)): (usize, (&usize, &usize))| i == axis || p == q;
            if !s.dims().iter().zip(d).enumerate().all(off_axis) {
                return Err(
                    cx.shape_err(k, "dimensions off the concat axis differ from operand 0's")
                );
            }
            total = total
                .checked_add(s.dims()[axis])
                .ok_or(cx.attr_err("output size overflows"))?;
        }
        let mut dims = [0usize; MAX_RANK];
        dims[..d.len()].copy_from_slice(d);
        dims[axis] = total;
        let out = movement::out_shape(&dims[..d.len()], x.dtype)
            .ok_or(cx.attr_err("output size overflows"))?;
        cx.set_output(0, x.dtype, out)?;
        let inner = d[axis + 1..]
            .iter()
            .try_fold(x.dtype.size(), |acc, &v| acc.checked_mul(v));
        let (outer, inner) = match (
            movement::product(&d[..axis]),
            inner.and_then(movement::word),
        ) {
            (Some(o), Some(i)) => (o, i),
            _ => return Err(cx.attr_err("output size overflows")),
        };
        Ok(ConcatParams {
            axis: axis as u32,
            outer,
            inner,
        })
    }

    fn eval(p: &ConcatParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        // Concatenated as bytes: the inner extent counts bytes, so one kernel serves every
        // element type.
        let n = io.n_inputs().min(MAX_INPUTS);
        let mut parts: [&[u8]; MAX_INPUTS] = [&[]; MAX_INPUTS];
        let mut lens = [0usize; MAX_INPUTS];
        for (k, (part, len)) in parts.iter_mut().zip(&mut lens).enumerate().take(n) {
            *part = movement::input_bytes(io, k)?;
            *len = io
                .shape(k)
                .dims()
                .get(p.axis as usize)
                .copied()
                .unwrap_or(0);
        }
        let (outer, inner) = (p.outer as usize, p.inner as usize);
        tensor::concat(&parts[..n], &lens[..n], outer, inner, io.out_bytes(0)?)
    }
}
