//! `GatherND`: sub-tensors of a tensor picked by rows of leading coordinates, optionally
//! per batch (ONNX `GatherND` with `batch_dims`; data of any element type, indices `i64`).

use super::movement::{self, by_size};
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// GatherND; inputs `data` (any element type, rank `r`) and `indices` (`i64`, dimensions
/// `[..lead, k]`, with `batch_dims < rank`, `1 <= k <= r - batch_dims`, and the first
/// `batch_dims` dimensions equal to `data`'s); output of `data`'s type with dimensions
/// `lead ++ data.shape[batch_dims + k..]`: for each row of `indices`, the sub-tensor of its
/// batch at the row's `k` coordinates. An index outside `-len..len` of its axis is an error
/// at invoke.
pub struct GatherNd;

/// Attributes of [`GatherNd`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatherNdAttrs {
    /// Leading dimensions shared by `data` and `indices` (ONNX `batch_dims`).
    pub batch_dims: u32,
}

/// Prepared params of [`GatherNd`]: element size and `batch_dims`.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatherNdParams {
    size: u32,
    batch_dims: u32,
}

fn run<const N: usize>(p: &GatherNdParams, io: &mut Io<'_>) -> Result<()> {
    let x = movement::input::<N>(io, 0)?;
    let idx = io.input::<i64>(1)?;
    let (xs, is) = (io.shape(0), io.shape(1));
    let out = movement::output::<N>(io, 0)?;
    let b = p.batch_dims as usize;
    tensor::gather_nd(x, xs.dims(), idx, is.dims(), b, out)
}

impl Op for GatherNd {
    const ID: u16 = 112;
    const NAME: &'static str = "GatherND";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = GatherNdAttrs;
    type Params = GatherNdParams;

    fn prepare(a: &GatherNdAttrs, cx: &mut Prepare<'_, '_>) -> R<GatherNdParams> {
        let x = cx.input(0)?;
        let d = x.shape.dims();
        let idx = cx.typed(1, DType::I64)?;
        let Some((&k, lead)) = idx.dims().split_last() else {
            return Err(cx.shape_err(1, "must have rank 1 or more"));
        };
        let b = a.batch_dims as usize;
        if b > lead.len() || b >= d.len() {
            return Err(cx.attr_err("batch_dims must be below the ranks of data and indices"));
        }
        if k == 0 || k > d.len() - b {
            return Err(cx.shape_err(
                1,
                "last dimension must be 1 to the data rank less batch_dims",
            ));
        }
        if lead[..b] != d[..b] {
            return Err(cx.shape_err(1, "batch dimensions differ from the data's"));
        }
        let tail = &d[b + k..];
        let rank = lead.len() + tail.len();
        if rank > MAX_RANK {
            return Err(cx.shape_err(1, "indices make the output rank exceed 6"));
        }
        let mut dims = [0usize; MAX_RANK];
        dims[..lead.len()].copy_from_slice(lead);
        dims[lead.len()..rank].copy_from_slice(tail);
        let out = movement::out_shape(&dims[..rank], x.dtype)
            .ok_or(cx.shape_err(1, "output size does not fit 32 bits"))?;
        cx.set_output(0, x.dtype, out)?;
        Ok(GatherNdParams {
            size: movement::size_word(x.dtype),
            batch_dims: a.batch_dims,
        })
    }

    fn eval(p: &GatherNdParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        by_size!(p.size, run(p, io))
    }
}
