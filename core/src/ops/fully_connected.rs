//! `FullyConnected`: `y = act(x W^T + b)` in f32.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::activation::{self, ActWords, Activation};
use crate::kernels::gemm::{self, Gemm};
use crate::model::ModelError;
use crate::shape::{Shape, MAX_RANK};
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Fully connected layer; inputs `x [.., K]`, `W [N, K]`, optional bias `b [N]`; output
/// `[.., N]`.
pub struct FullyConnected;

/// Attributes of [`FullyConnected`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FcAttrs {
    /// Activation applied to the output (fused).
    pub act: Option<Activation>,
}

/// Prepared params of [`FullyConnected`].
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FcParams {
    rows: u32,
    n: u32,
    k: u32,
    bias: u32,
    act: ActWords,
}

/// The shape rule of every fully connected op: `x [.., K]` of `x_dtype` and `W [N, K]` of
/// `x_dtype`, an optional `[N]` bias of `bias_dtype` at input 2 when `bias` is set; returns
/// the output shape and `(rows, n, k)`.
pub(crate) fn fc_shape(
    cx: &Prepare<'_, '_>,
    x_dtype: DType,
    bias: Option<DType>,
) -> R<(Shape, [usize; 3])> {
    let xs = cx.typed(0, x_dtype)?;
    let ws = cx.typed(1, x_dtype)?;
    let [n, k] = match *ws.dims() {
        [n, k] => [n, k],
        _ => return Err(cx.shape_err(1, "weight must be [out_features, in_features]")),
    };
    if xs.rank() == 0 || xs.dims()[xs.rank() - 1] != k || n == 0 || k == 0 {
        return Err(cx.shape_err(0, "last axis must equal the weight's in_features"));
    }
    if let Some(b) = bias {
        cx.vector(2, b, n)?;
    }
    let mut dims = [0usize; MAX_RANK];
    dims[..xs.rank()].copy_from_slice(xs.dims());
    dims[xs.rank() - 1] = n;
    let out = cx.shape(&dims[..xs.rank()])?;
    Ok((out, [xs.numel() / k, n, k]))
}

fn gemm_of(rows: usize, n: usize, k: usize, bias: bool) -> Gemm {
    let mut g = Gemm::new(rows, n, k);
    g.trans_b = true;
    if bias {
        g.beta = 1.0;
    }
    g
}

/// Applies a fused activation in place.
pub(crate) fn fused(act: ActWords, out: &mut [f32]) {
    if let Some(a) = act.unpack() {
        activation::activation_inplace(a, out);
    }
}

/// `scratch[..elems]` as f32.
pub(crate) fn scratch_f32(scratch: &mut [u8], elems: usize) -> Result<&mut [f32]> {
    let b = scratch
        .get_mut(..elems * 4)
        .ok_or(super::io::misaligned())?;
    bytemuck::try_cast_slice_mut(b).map_err(|_| super::io::misaligned())
}

impl Op for FullyConnected {
    const ID: u16 = 1;
    const NAME: &'static str = "FullyConnected";
    const INPUTS: (usize, usize) = (2, 3);
    type Attrs = FcAttrs;
    type Params = FcParams;

    fn prepare(a: &FcAttrs, cx: &mut Prepare<'_, '_>) -> R<FcParams> {
        let bias = cx.opt_input(2).is_some();
        let (out, [rows, n, k]) = fc_shape(cx, DType::F32, bias.then_some(DType::F32))?;
        cx.set_output(0, DType::F32, out)?;
        cx.set_scratch(gemm::scratch_len(&gemm_of(rows, n, k, bias)) * 4);
        Ok(FcParams {
            rows: rows as u32,
            n: n as u32,
            k: k as u32,
            bias: bias as u32,
            act: ActWords::pack(a.act),
        })
    }

    fn eval(p: &FcParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let (x, w) = (io.input::<f32>(0)?, io.input::<f32>(1)?);
        let bias = io.opt::<f32>(2)?;
        let g = gemm_of(p.rows as usize, p.n as usize, p.k as usize, p.bias != 0);
        let s = scratch_f32(scratch, gemm::scratch_len(&g))?;
        let out = io.out::<f32>(0)?;
        if let Some(b) = bias {
            for row in out.chunks_exact_mut(g.n.max(1)) {
                row.copy_from_slice(b);
            }
        }
        gemm::sgemm(&g, x, g.k, w, g.k, out, g.n, s)?;
        fused(p.act, out);
        Ok(())
    }
}
