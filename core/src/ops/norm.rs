//! Normalisations in f32: `LayerNorm`, `RmsNorm` (last axis) and inference `BatchNorm`
//! (axis 1).

use super::prepare::check_eps;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::norm;
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Layer normalisation over the last axis; inputs `x`, `gamma [D]`, `beta [D]`.
pub struct LayerNorm;
/// RMS normalisation over the last axis; inputs `x`, `gamma [D]`.
pub struct RmsNorm;
/// Inference batch normalisation along axis 1; inputs `x [N, C, ..]`, `mean [C]`,
/// `var [C]`, `gamma [C]`, `beta [C]`.
pub struct BatchNorm;

/// Attributes of the normalisations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpsAttrs {
    /// Added to the variance (or mean square).
    pub eps: f32,
}

/// Prepared params of a normalisation.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct NormParams {
    /// Rows (LayerNorm/RmsNorm) or `n` (BatchNorm).
    a: u32,
    /// Columns, or channels.
    b: u32,
    /// Spatial size (BatchNorm).
    c: u32,
    eps: f32,
}

/// Checks `x` and `params` `[last axis]` vectors; declares the output; returns rows, cols.
fn last_axis(cx: &mut Prepare<'_, '_>, eps: f32, params: usize) -> R<NormParams> {
    check_eps(cx, eps)?;
    let s = cx.typed(0, DType::F32)?;
    let d = *s
        .dims()
        .last()
        .ok_or(cx.shape_err(0, "needs at least one axis"))?;
    for k in 1..=params {
        cx.vector(k, DType::F32, d)?;
    }
    cx.set_output(0, DType::F32, s)?;
    Ok(NormParams {
        a: (s.numel() / d.max(1)) as u32,
        b: d as u32,
        c: 0,
        eps,
    })
}

impl Op for LayerNorm {
    const ID: u16 = 9;
    const NAME: &'static str = "LayerNorm";
    const INPUTS: (usize, usize) = (3, 3);
    type Attrs = EpsAttrs;
    type Params = NormParams;

    fn prepare(a: &EpsAttrs, cx: &mut Prepare<'_, '_>) -> R<NormParams> {
        last_axis(cx, a.eps, 2)
    }

    fn eval(p: &NormParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (x, g, b) = (io.input(0)?, io.opt(1)?, io.opt(2)?);
        norm::layer_norm(x, io.out(0)?, p.a as usize, p.b as usize, g, b, p.eps)
    }
}

impl Op for RmsNorm {
    const ID: u16 = 10;
    const NAME: &'static str = "RmsNorm";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = EpsAttrs;
    type Params = NormParams;

    fn prepare(a: &EpsAttrs, cx: &mut Prepare<'_, '_>) -> R<NormParams> {
        last_axis(cx, a.eps, 1)
    }

    fn eval(p: &NormParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (x, g) = (io.input(0)?, io.opt(1)?);
        norm::rms_norm(x, io.out(0)?, p.a as usize, p.b as usize, g, p.eps)
    }
}

impl Op for BatchNorm {
    const ID: u16 = 11;
    const NAME: &'static str = "BatchNorm";
    const INPUTS: (usize, usize) = (5, 5);
    type Attrs = EpsAttrs;
    type Params = NormParams;

    fn prepare(a: &EpsAttrs, cx: &mut Prepare<'_, '_>) -> R<NormParams> {
        check_eps(cx, a.eps)?;
        let s = cx.typed(0, DType::F32)?;
        if s.rank() == 0 {
            return Err(cx.shape_err(0, "needs at least one axis"));
        }
        let ch = *s
            .dims()
            .get(1)
            .ok_or(cx.shape_err(0, "needs a channel axis (1)"))?;
        for k in 1..5 {
            cx.vector(k, DType::F32, ch)?;
        }
        cx.set_output(0, DType::F32, s)?;
        let n = s.dims()[0];
        Ok(NormParams {
            a: n as u32,
            b: ch as u32,
            c: (s.numel() / (n * ch).max(1)) as u32,
            eps: a.eps,
        })
    }

    fn eval(p: &NormParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (x, mean, var) = (io.input(0)?, io.input(1)?, io.input(2)?);
        let (g, b) = (io.opt(3)?, io.opt(4)?);
        let (n, c, sp) = (p.a as usize, p.b as usize, p.c as usize);
        norm::batch_norm(x, io.out(0)?, n, c, sp, mean, var, g, b, p.eps)
    }
}
