//! `QFullyConnected`: int8 fully connected with TFLite's requantization.

use super::fully_connected::fc_shape;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::int8::{self, FcParams};
use crate::model::{ModelError, Quant};
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// int8 fully connected; inputs `x`, `W` (symmetric), bias (i32, optional: 4 or 5
/// inputs), multipliers `[N]` (i32 constant), shifts `[N]` (i32 constant).
pub struct QFullyConnected;

/// The output clamp of an int8 op (its fused activation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clamp {
    /// Lower clamp of the output.
    pub act_min: i8,
    /// Upper clamp of the output.
    pub act_max: i8,
}

/// Prepared int8 params shared by the weighted int8 ops.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct QWeighted {
    /// Input and output zero points.
    pub zp: [i32; 2],
    /// Output clamp.
    pub clamp: [i32; 2],
    /// 1 when a bias is present.
    pub bias: u32,
}

fn i32s(bytes: &[u8]) -> impl Iterator<Item = i32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// The quantization rules of the weighted int8 ops (fully connected, convolution): per-
/// tensor input and output, symmetric weights, constant multiplier/shift tables in range;
/// returns the shared params.
pub(crate) fn weighted(cx: &Prepare<'_, '_>, c: &Clamp) -> R<QWeighted> {
    if c.act_min > c.act_max {
        return Err(cx.attr_err("output clamp minimum above maximum"));
    }
    let n = cx.n_inputs();
    let (_, izp) = cx.per_tensor(0)?;
    let ozp = cx.output_per_tensor(0)?.map_or(0, |q| q.1);
    match cx.input(1)?.quant {
        Quant::PerChannel { axis: 0, .. } | Quant::PerTensor { zero_point: 0, .. } => {}
        _ => {
            return Err(cx.quant_err(
                1,
                "weights need symmetric scales (per output channel or per tensor)",
            ))
        }
    }
    let (mult, shift) = (cx.constant(n - 2)?, cx.constant(n - 1)?);
    if i32s(mult).any(|v| v < 0) {
        return Err(cx.quant_err(n - 2, "multiplier must not be negative"));
    }
    if i32s(shift).any(|v| !(-31..=30).contains(&v)) {
        return Err(cx.quant_err(n - 1, "shift outside -31..=30"));
    }
    Ok(QWeighted {
        zp: [izp, ozp],
        clamp: [i32::from(c.act_min), i32::from(c.act_max)],
        bias: u32::from(n == 5),
    })
}

/// Bias (if any), multipliers and shifts.
pub(crate) type Tables<'x> = (Option<&'x [i32]>, &'x [i32], &'x [i32]);

/// Bias (if any), multipliers and shifts of a weighted int8 node.
pub(crate) fn tables<'x>(io: &Io<'x>) -> Result<Tables<'x>> {
    let n = io.n_inputs();
    let bias = if n == 5 { Some(io.input(2)?) } else { None };
    Ok((bias, io.input(n - 2)?, io.input(n - 1)?))
}

/// Prepared params of [`QFullyConnected`].
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct QFcParams {
    dims: [u32; 3],
    q: QWeighted,
}

impl Op for QFullyConnected {
    const ID: u16 = 100;
    const NAME: &'static str = "QFullyConnected";
    const INPUTS: (usize, usize) = (4, 5);
    type Attrs = Clamp;
    type Params = QFcParams;

    fn prepare(a: &Clamp, cx: &mut Prepare<'_, '_>) -> R<QFcParams> {
        let n = cx.n_inputs();
        let (out, [rows, nf, k]) = fc_shape(cx, DType::I8, (n == 5).then_some(DType::I32))?;
        cx.vector(n - 2, DType::I32, nf)?;
        cx.vector(n - 1, DType::I32, nf)?;
        let q = weighted(cx, a)?;
        cx.set_output(0, DType::I8, out)?;
        let p = QFcParams {
            dims: [rows as u32, k as u32, nf as u32],
            q,
        };
        cx.set_scratch(fc_params(&p).scratch_len().saturating_mul(4));
        Ok(p)
    }

    fn eval(p: &QFcParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let (x, w) = (io.input::<i8>(0)?, io.input::<i8>(1)?);
        let (bias, mult, shift) = tables(io)?;
        let fc = fc_params(p);
        let bytes = scratch
            .get_mut(..fc.scratch_len() * 4)
            .ok_or(super::io::misaligned())?;
        let s: &mut [i32] =
            bytemuck::try_cast_slice_mut(bytes).map_err(|_| super::io::misaligned())?;
        // `weighted` checked the constant shift table at prepare.
        int8::fully_connected_prepared(&fc, x, w, bias, mult, shift, io.out(0)?, s)
    }
}

/// The kernel's parameters from the prepared ones.
fn fc_params(p: &QFcParams) -> FcParams {
    FcParams {
        batch: p.dims[0] as usize,
        in_features: p.dims[1] as usize,
        out_features: p.dims[2] as usize,
        input_zero_point: p.q.zp[0],
        output_zero_point: p.q.zp[1],
        act_min: p.q.clamp[0] as i8,
        act_max: p.q.clamp[1] as i8,
    }
}
