//! `ConvTranspose2d`: 2-D transposed convolution (ONNX `ConvTranspose`) in f32, incl.
//! grouped.

use super::conv2d::nchw;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::conv::transpose::{self, ConvTranspose2d as Geometry};
use crate::model::ModelError;

type R<T> = core::result::Result<T, ModelError>;

/// Transposed convolution; inputs `x [N, C, H, W]`, `W [C, O / groups, KH, KW]`, optional
/// bias `b [O]`, all f32; output `[N, O, OH, OW]` with `OH = (H - 1) * stride - pad_top -
/// pad_bottom + dilation * (KH - 1) + output_padding + 1`, likewise `OW` (definition in
/// [`crate::kernels::conv::transpose`]). The attributes are the kernel's geometry record;
/// no scratch.
pub struct ConvTranspose2d;

impl Op for ConvTranspose2d {
    const ID: u16 = 108;
    const NAME: &'static str = "ConvTranspose2d";
    const INPUTS: (usize, usize) = (2, 3);
    type Attrs = Geometry;
    type Params = Geometry;

    fn prepare(a: &Geometry, cx: &mut Prepare<'_, '_>) -> R<Geometry> {
        let xs = cx.nchw(0, DType::F32)?;
        let ws = cx.nchw(1, DType::F32)?;
        let os = a.output_shape(xs, ws).map_err(|e| cx.kernel_err(e))?;
        if cx.opt_input(2).is_some() {
            cx.vector(2, DType::F32, os[1])?;
        }
        let out = cx.shape(&os)?;
        cx.set_output(0, DType::F32, out)?;
        Ok(*a)
    }

    fn eval(p: &Geometry, io: &mut Io<'_>, _scratch: &mut [u8]) -> Result<()> {
        let (x, w) = (io.input::<f32>(0)?, io.input::<f32>(1)?);
        let (xs, ws) = (nchw(&io.shape(0)), nchw(&io.shape(1)));
        let bias = io.opt::<f32>(2)?;
        let out = io.out::<f32>(0)?;
        transpose::conv_transpose2d(p, x, xs, w, ws, bias, out)
    }
}
