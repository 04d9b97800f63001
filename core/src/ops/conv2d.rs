//! `Conv2d`: 2-D convolution (NCHW input, OIHW weight) in f32, incl. grouped/depthwise.

use super::fully_connected::{fused, scratch_f32};
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::activation::{ActWords, Activation};
use crate::kernels::conv::{self, Conv2d as Geometry};
use crate::model::ModelError;
use crate::shape::Shape;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// 2-D convolution then a fused activation; inputs `x [N,C,H,W]`, `W [O,C/g,KH,KW]`,
/// optional `b [O]`.
pub struct Conv2d;

/// Attributes of [`Conv2d`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvAttrs {
    /// Stride, padding, dilation, groups.
    pub conv: Geometry,
    /// Activation applied to the output (fused).
    pub act: Option<Activation>,
}

/// Prepared params of [`Conv2d`].
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConvParams {
    conv: Geometry,
    act: ActWords,
    scratch: u32,
    pad: u32,
}

/// The shape rule of every convolution: `x` and `W` rank 4 of `dtype`, an optional bias
/// vector at input 2 of `bias`; returns the output shape and the input and weight NCHW.
pub(crate) fn conv_shape(
    cx: &Prepare<'_, '_>,
    g: &Geometry,
    dtype: DType,
    bias: Option<DType>,
) -> R<(Shape, [[usize; 4]; 2])> {
    let xs = cx.nchw(0, dtype)?;
    let ws = cx.nchw(1, dtype)?;
    let os = g.output_shape(xs, ws).map_err(|e| cx.kernel_err(e))?;
    if let Some(b) = bias {
        cx.vector(2, b, ws[0])?;
    }
    Ok((cx.shape(&os)?, [xs, ws]))
}

/// `[n, c, h, w]` of an NCHW shape (validated by `prepare`).
pub(crate) fn nchw(s: &Shape) -> [usize; 4] {
    match *s.dims() {
        [n, c, h, w] => [n, c, h, w],
        _ => [0; 4],
    }
}

impl Op for Conv2d {
    const ID: u16 = 2;
    const NAME: &'static str = "Conv2d";
    const INPUTS: (usize, usize) = (2, 3);
    type Attrs = ConvAttrs;
    type Params = ConvParams;

    fn prepare(a: &ConvAttrs, cx: &mut Prepare<'_, '_>) -> R<ConvParams> {
        let bias = cx.opt_input(2).map(|_| DType::F32);
        let (out, [xs, ws]) = conv_shape(cx, &a.conv, DType::F32, bias)?;
        cx.set_output(0, DType::F32, out)?;
        let elems = a.conv.scratch_len(xs, ws).map_err(|e| cx.kernel_err(e))?;
        cx.set_scratch(elems.saturating_mul(4));
        Ok(ConvParams {
            conv: a.conv,
            act: ActWords::pack(a.act),
            scratch: elems as u32,
            pad: 0,
        })
    }

    fn eval(p: &ConvParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let (x, w) = (io.input::<f32>(0)?, io.input::<f32>(1)?);
        let (xs, ws) = (nchw(&io.shape(0)), nchw(&io.shape(1)));
        let bias = io.opt::<f32>(2)?;
        let s = scratch_f32(scratch, p.scratch as usize)?;
        let out = io.out::<f32>(0)?;
        conv::conv2d(&p.conv, x, xs, w, ws, bias, out, s)?;
        fused(p.act, out);
        Ok(())
    }
}
