//! `ScatterND`: a tensor with sub-tensors replaced (or combined with updates by a
//! reduction) at positions given by rows of leading coordinates (ONNX `ScatterND`; data of
//! any element type, indices `i64`).

use super::io::misaligned;
use super::movement::{self, by_size};
use super::numeric::by_numeric;
use super::scatter_elements::{check_reduction, check_updates, reduction_code, reduction_of, view};
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::tensor::{self, Combine, Reduction};
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// ScatterND; inputs `data` (any element type, rank `r`), `indices` (`i64`, dimensions
/// `[..lead, k]` with `k <= r`) and `updates` (`data`'s type, dimensions
/// `lead ++ data.shape[k..]`); output of `data`'s type and shape: `data` with the
/// sub-tensor at each row of `indices` (its leading `k` coordinates) set to the row's
/// update (or combined with it by the reduction, which needs `f32`, `f64` or an integer type).
/// Repeated rows take their updates in order. An index outside `-len..len` of its axis is
/// an error at invoke (the output then holds a copy of `data`).
pub struct ScatterNd;

/// Attributes of [`ScatterNd`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScatterNdAttrs {
    /// How an update combines with the element it lands on.
    pub reduction: Reduction,
}

/// Prepared params of [`ScatterNd`]: element size and type (index in [`DType::ALL`]) and
/// reduction code.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ScatterNdParams {
    size: u32,
    dtype: u32,
    reduction: u32,
}

/// Copies `data` (input 0) into output 0 and scatters input 2 at the rows of input 1
/// with `f`.
fn scatter<T: bytemuck::Pod>(io: &mut Io<'_>, f: impl Fn(T, T) -> T) -> Result<()> {
    let x: &[T] = view(movement::input_bytes(io, 0)?)?;
    let upd: &[T] = view(movement::input_bytes(io, 2)?)?;
    let idx = io.input::<i64>(1)?;
    let (xs, is) = (io.shape(0), io.shape(1));
    let out: &mut [T] = bytemuck::try_cast_slice_mut(io.out_bytes(0)?).map_err(|_| misaligned())?;
    if out.len() != x.len() {
        return Err(misaligned());
    }
    out.copy_from_slice(x);
    tensor::scatter_nd(out, xs.dims(), idx, is.dims(), upd, f)
}

/// Without a reduction: elements of `N` bytes, whatever their type.
fn replace<const N: usize>(io: &mut Io<'_>) -> Result<()> {
    scatter::<[u8; N]>(io, |_, u| u)
}

/// With reduction `r`, computed on `T`.
fn reduce<T: bytemuck::Pod + Combine>(io: &mut Io<'_>, r: Reduction) -> Result<()> {
    scatter::<T>(io, |e, u| r.apply(e, u))
}

impl Op for ScatterNd {
    const ID: u16 = 111;
    const NAME: &'static str = "ScatterND";
    const INPUTS: (usize, usize) = (3, 3);
    type Attrs = ScatterNdAttrs;
    type Params = ScatterNdParams;

    fn prepare(a: &ScatterNdAttrs, cx: &mut Prepare<'_, '_>) -> R<ScatterNdParams> {
        let x = cx.input(0)?;
        let d = x.shape.dims();
        let idx = cx.typed(1, DType::I64)?;
        let Some((&k, lead)) = idx.dims().split_last() else {
            return Err(cx.shape_err(1, "must have rank 1 or more"));
        };
        if k > d.len() {
            return Err(cx.shape_err(1, "last dimension exceeds the data rank"));
        }
        let rank = lead.len() + d.len() - k;
        if rank > MAX_RANK {
            return Err(cx.shape_err(2, "rank the indices imply exceeds 6"));
        }
        let mut dims = [0usize; MAX_RANK];
        dims[..lead.len()].copy_from_slice(lead);
        dims[lead.len()..rank].copy_from_slice(&d[k..]);
        let want = cx.shape(&dims[..rank])?;
        check_updates(cx, x.dtype, want)?;
        let dtype = check_reduction(cx, x.dtype, a.reduction)?;
        cx.set_output(0, x.dtype, x.shape)?;
        Ok(ScatterNdParams {
            size: movement::size_word(x.dtype),
            dtype,
            reduction: reduction_code(a.reduction),
        })
    }

    fn eval(p: &ScatterNdParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let r = reduction_of(p.reduction);
        if r == Reduction::None {
            return by_size!(p.size, replace(io));
        }
        by_numeric!(p.dtype, reduce(io, r))
    }
}
