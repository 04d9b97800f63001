//! `QConv2d`: int8 convolution (incl. depthwise) with TFLite's requantization.

use super::conv2d::{conv_shape, nchw};
use super::q_fully_connected::{tables, weighted, Clamp, QWeighted};
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::conv::Conv2d;
use crate::kernels::int8::{self, ConvParams};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// int8 convolution; inputs as [`Conv2d`](super::conv2d::Conv2d) (bias i32) plus
/// multipliers and shifts `[O]` (i32 constants).
pub struct QConv2d;

/// Attributes of [`QConv2d`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QConvAttrs {
    /// Stride, padding, dilation, groups.
    pub conv: Conv2d,
    /// Output clamp.
    pub clamp: Clamp,
}

/// Prepared params of [`QConv2d`].
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct QConvParams {
    conv: Conv2d,
    q: QWeighted,
    scratch: u32,
}

fn params(conv: Conv2d, q: &QWeighted) -> ConvParams {
    ConvParams {
        conv,
        input_zero_point: q.zp[0],
        output_zero_point: q.zp[1],
        act_min: q.clamp[0] as i8,
        act_max: q.clamp[1] as i8,
    }
}

impl Op for QConv2d {
    const ID: u16 = 101;
    const NAME: &'static str = "QConv2d";
    const INPUTS: (usize, usize) = (4, 5);
    type Attrs = QConvAttrs;
    type Params = QConvParams;

    fn prepare(a: &QConvAttrs, cx: &mut Prepare<'_, '_>) -> R<QConvParams> {
        let n = cx.n_inputs();
        let bias = (n == 5).then_some(DType::I32);
        let (out, [xs, ws]) = conv_shape(cx, &a.conv, DType::I8, bias)?;
        cx.vector(n - 2, DType::I32, ws[0])?;
        cx.vector(n - 1, DType::I32, ws[0])?;
        let q = weighted(cx, &a.clamp)?;
        cx.set_output(0, DType::I8, out)?;
        let elems = params(a.conv, &q)
            .scratch_len(xs, ws)
            .map_err(|e| cx.kernel_err(e))?;
        cx.set_scratch(elems.saturating_mul(4));
        Ok(QConvParams {
            conv: a.conv,
            q,
            scratch: elems as u32,
        })
    }

    fn eval(p: &QConvParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let (x, w) = (io.input::<i8>(0)?, io.input::<i8>(1)?);
        let (xs, ws) = (nchw(&io.shape(0)), nchw(&io.shape(1)));
        let (bias, mult, shift) = tables(io)?;
        let bytes = scratch
            .get_mut(..p.scratch as usize * 4)
            .ok_or(super::io::misaligned())?;
        let s: &mut [i32] =
            bytemuck::try_cast_slice_mut(bytes).map_err(|_| super::io::misaligned())?;
        let cp = params(p.conv, &p.q);
        int8::conv2d(&cp, x, xs, w, ws, bias, mult, shift, io.out(0)?, s)
    }
}
