//! `Softmax` and `LogSoftmax` over any axis, in f32.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::softmax;
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Softmax along `axis`; input `x`, output of its shape.
pub struct Softmax;
/// Log-softmax along `axis`; input `x`, output of its shape.
pub struct LogSoftmax;

/// Attributes of [`Softmax`] and [`LogSoftmax`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisAttrs {
    /// The axis (negative counts from the end: -1 is the last).
    pub axis: i32,
}

impl Default for AxisAttrs {
    /// The last axis.
    fn default() -> Self {
        AxisAttrs { axis: -1 }
    }
}

/// `[outer, len, inner]` of a softmax (prepared params).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SoftmaxParams {
    outer: u32,
    len: u32,
    inner: u32,
}

/// Resolves `axis` against a rank (negative from the end); `None` when out of range.
pub fn resolve_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

fn prepare_axis(a: &AxisAttrs, cx: &mut Prepare<'_, '_>) -> R<SoftmaxParams> {
    let s = cx.typed(0, DType::F32)?;
    let axis = resolve_axis(i64::from(a.axis), s.rank())
        .ok_or(cx.attr_err("softmax axis out of range"))?;
    cx.set_output(0, DType::F32, s)?;
    let d = s.dims();
    Ok(SoftmaxParams {
        outer: d[..axis].iter().product::<usize>() as u32,
        len: d[axis] as u32,
        inner: d[axis + 1..].iter().product::<usize>() as u32,
    })
}

impl Op for Softmax {
    const ID: u16 = 7;
    const NAME: &'static str = "Softmax";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = AxisAttrs;
    type Params = SoftmaxParams;

    fn prepare(a: &AxisAttrs, cx: &mut Prepare<'_, '_>) -> R<SoftmaxParams> {
        prepare_axis(a, cx)
    }

    fn eval(p: &SoftmaxParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let x = io.input::<f32>(0)?;
        let (o, l, i) = (p.outer as usize, p.len as usize, p.inner as usize);
        softmax::softmax(x, io.out(0)?, o, l, i)
    }
}

impl Op for LogSoftmax {
    const ID: u16 = 8;
    const NAME: &'static str = "LogSoftmax";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = AxisAttrs;
    type Params = SoftmaxParams;

    fn prepare(a: &AxisAttrs, cx: &mut Prepare<'_, '_>) -> R<SoftmaxParams> {
        prepare_axis(a, cx)
    }

    fn eval(p: &SoftmaxParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let x = io.input::<f32>(0)?;
        let (o, l, i) = (p.outer as usize, p.len as usize, p.inner as usize);
        softmax::log_softmax(x, io.out(0)?, o, l, i)
    }
}
