//! `Quantize` (f32 to int8) and `Dequantize` (int8 to f32) with per-tensor parameters.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::model::ModelError;
use crate::quant;

type R<T> = core::result::Result<T, ModelError>;

/// f32 to int8 with the output's per-tensor scale and zero point; input `x`.
pub struct Quantize;
/// int8 to f32 with the input's per-tensor scale and zero point; input `q`.
pub struct Dequantize;

/// `(scale, zero_point)` as prepared params.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct QParams {
    scale: f32,
    zero_point: i32,
}

fn same(cx: &mut Prepare<'_, '_>, from: DType, to: DType) -> R<()> {
    let s = cx.typed(0, from)?;
    if s.rank() == 0 {
        return Err(cx.shape_err(0, "needs at least one axis"));
    }
    cx.set_output(0, to, s)
}

impl Op for Quantize {
    const ID: u16 = 15;
    const NAME: &'static str = "Quantize";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ();
    type Params = QParams;

    fn prepare(_: &(), cx: &mut Prepare<'_, '_>) -> R<QParams> {
        same(cx, DType::F32, DType::I8)?;
        let (scale, zero_point) = cx.output_per_tensor(0)?.unwrap_or((1.0, 0));
        Ok(QParams { scale, zero_point })
    }

    fn eval(p: &QParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let x = io.input::<f32>(0)?;
        quant::quantize(x, p.scale, p.zero_point, io.out(0)?)
    }
}

impl Op for Dequantize {
    const ID: u16 = 16;
    const NAME: &'static str = "Dequantize";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ();
    type Params = QParams;

    fn prepare(_: &(), cx: &mut Prepare<'_, '_>) -> R<QParams> {
        same(cx, DType::I8, DType::F32)?;
        let (scale, zero_point) = cx.per_tensor(0)?;
        Ok(QParams { scale, zero_point })
    }

    fn eval(p: &QParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let q = io.input::<i8>(0)?;
        quant::dequantize(q, p.scale, p.zero_point, io.out(0)?)
    }
}
