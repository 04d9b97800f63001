//! `TopK`: the `k` largest (or smallest) elements along an axis and their positions (ONNX
//! `TopK` with `k` fixed in the file; `f32`, `f64` and every integer type).

use super::io::misaligned;
use super::movement;
use super::numeric::{self, by_numeric};
use super::{Io, Op, Prepare};
use crate::dtype::{DType, Element};
use crate::error::Result;
use crate::kernels::tensor::{self, Rank, TopKSpec};
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// TopK; input `x` (`f32`, `f64` or an integer type), outputs `values` (`x`'s type) and
/// `indices` (`i64`), both of `x`'s shape with the axis shortened to `k`. Ties go to the
/// lower position; for floats, `-0.0` and `+0.0` tie and NaN ranks above every number
/// (first among the largest, last among the smallest). Needs `4 * len` bytes of
/// scratch, `len` the axis length.
pub struct TopK;

/// Attributes of [`TopK`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopKAttrs {
    /// The axis (negative counts from the end).
    pub axis: i32,
    /// Elements kept along the axis (at most its length).
    pub k: u32,
    /// Keep the largest (true) or the smallest (false).
    pub largest: bool,
    /// Outputs best first (true), or in increasing position along the axis (false; ONNX
    /// leaves this order unspecified).
    pub sorted: bool,
}

/// Prepared params of [`TopK`]: the `[outer, len, inner]` view, `k`, the flags and the
/// element type (its index in [`DType::ALL`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TopKParams {
    outer: u32,
    len: u32,
    inner: u32,
    k: u32,
    largest: u32,
    sorted: u32,
    dtype: u32,
}

fn run<T: Element + Rank>(p: &TopKParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
    let x = io.input::<T>(0)?;
    let len = p.len as usize;
    let pos: &mut [u32] = scratch
        .get_mut(..len * 4)
        .and_then(|b| bytemuck::try_cast_slice_mut(b).ok())
        .ok_or(misaligned())?;
    let mut outs = io.outs_bytes()?;
    let [v, i] = &mut outs[..] else {
        return Err(misaligned());
    };
    let values: &mut [T] = bytemuck::try_cast_slice_mut(v).map_err(|_| misaligned())?;
    let indices: &mut [i64] = bytemuck::try_cast_slice_mut(i).map_err(|_| misaligned())?;
    let spec = TopKSpec {
        outer: p.outer as usize,
        len,
        inner: p.inner as usize,
        k: p.k as usize,
        largest: p.largest != 0,
        sorted: p.sorted != 0,
    };
    tensor::top_k(x, &spec, values, indices, pos)
}

impl Op for TopK {
    const ID: u16 = 109;
    const NAME: &'static str = "TopK";
    const INPUTS: (usize, usize) = (1, 1);
    const OUTPUTS: (usize, usize) = (2, 2);
    type Attrs = TopKAttrs;
    type Params = TopKParams;

    fn prepare(a: &TopKAttrs, cx: &mut Prepare<'_, '_>) -> R<TopKParams> {
        let x = cx.input(0)?;
        if !numeric::numeric(x.dtype) {
            return Err(ModelError::DType {
                op: cx.index(),
                operand: 0,
                expected: DType::F32,
                got: x.dtype,
            });
        }
        let d = x.shape.dims();
        let axis = movement::axis(cx, a.axis, d.len(), "topk axis out of range")?;
        let len = d[axis];
        let k = a.k as usize;
        if k > len {
            return Err(cx.attr_err("topk k exceeds the axis length"));
        }
        let mut dims = [0usize; MAX_RANK];
        dims[..d.len()].copy_from_slice(d);
        dims[axis] = k;
        let out = movement::out_shape(&dims[..d.len()], DType::I64)
            .ok_or(cx.shape_err(0, "output size does not fit 32 bits"))?;
        cx.set_output(0, x.dtype, out)?;
        cx.set_output(1, DType::I64, out)?;
        let scratch = len.checked_mul(4).filter(|&n| movement::word(n).is_some());
        cx.set_scratch(scratch.ok_or(cx.shape_err(0, "axis too long"))?);
        match (
            movement::product(&d[..axis]),
            movement::word(len),
            movement::product(&d[axis + 1..]),
        ) {
            (Some(outer), Some(len), Some(inner)) => Ok(TopKParams {
                outer,
                len,
                inner,
                k: a.k,
                largest: u32::from(a.largest),
                sorted: u32::from(a.sorted),
                dtype: numeric::code(x.dtype),
            }),
            _ => Err(cx.shape_err(0, "size does not fit 32 bits")),
        }
    }

    fn eval(p: &TopKParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        by_numeric!(p.dtype, run(p, io, scratch))
    }
}
