//! f32 pooling: `MaxPool2d`, `AvgPool2d`, `GlobalAvgPool2d` (NCHW).

use super::conv2d::nchw;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::pool::{self, Pool2d};
use crate::model::ModelError;

type R<T> = core::result::Result<T, ModelError>;

/// Max pooling; input `x [N,C,H,W]`.
pub struct MaxPool2d;
/// Average pooling; input `x [N,C,H,W]`.
pub struct AvgPool2d;
/// Mean over H and W; input `x [N,C,H,W]`, output `[N,C]`.
pub struct GlobalAvgPool2d;

/// A [`Pool2d`] as plain words (prepared params).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PoolWords {
    g: [u32; 10],
    flags: u32,
}

impl PoolWords {
    pub(crate) fn pack(p: &Pool2d) -> PoolWords {
        let mut g = [0u32; 10];
        let all = p
            .kernel
            .iter()
            .chain(&p.stride)
            .chain(&p.padding)
            .chain(&p.dilation);
        for (o, &v) in g.iter_mut().zip(all) {
            *o = v as u32;
        }
        PoolWords {
            g,
            flags: u32::from(p.ceil_mode) | (u32::from(p.count_include_pad) << 1),
        }
    }

    pub(crate) fn unpack(&self) -> Pool2d {
        let g = self.g.map(|v| v as usize);
        Pool2d {
            kernel: [g[0], g[1]],
            stride: [g[2], g[3]],
            padding: [g[4], g[5], g[6], g[7]],
            dilation: [g[8], g[9]],
            ceil_mode: self.flags & 1 != 0,
            count_include_pad: self.flags & 2 != 0,
        }
    }
}

/// The shape rule of every windowed pooling op over input 0 of `dtype`. Every extent was
/// checked to fit `u32` by the loader, so the packed params hold them exactly.
pub(crate) fn pool_prepare(a: &Pool2d, cx: &mut Prepare<'_, '_>, dtype: DType) -> R<PoolWords> {
    let [n, c, h, w] = cx.nchw(0, dtype)?;
    let [oh, ow] = a.output_hw(h, w).map_err(|e| cx.kernel_err(e))?;
    if a.kernel
        .iter()
        .chain(&a.stride)
        .chain(&a.padding)
        .chain(&a.dilation)
        .any(|&v| v > u32::MAX as usize)
    {
        return Err(cx.attr_err("pooling geometry exceeds u32"));
    }
    let out = cx.shape(&[n, c, oh, ow])?;
    cx.set_output(0, dtype, out)?;
    Ok(PoolWords::pack(a))
}

impl Op for MaxPool2d {
    const ID: u16 = 3;
    const NAME: &'static str = "MaxPool2d";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = Pool2d;
    type Params = PoolWords;

    fn prepare(a: &Pool2d, cx: &mut Prepare<'_, '_>) -> R<PoolWords> {
        pool_prepare(a, cx, DType::F32)
    }

    fn eval(p: &PoolWords, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (x, s) = (io.input::<f32>(0)?, nchw(&io.shape(0)));
        pool::max_pool2d(&p.unpack(), x, s, io.out(0)?)
    }
}

impl Op for AvgPool2d {
    const ID: u16 = 4;
    const NAME: &'static str = "AvgPool2d";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = Pool2d;
    type Params = PoolWords;

    fn prepare(a: &Pool2d, cx: &mut Prepare<'_, '_>) -> R<PoolWords> {
        pool_prepare(a, cx, DType::F32)
    }

    fn eval(p: &PoolWords, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (x, s) = (io.input::<f32>(0)?, nchw(&io.shape(0)));
        pool::avg_pool2d(&p.unpack(), x, s, io.out(0)?)
    }
}

impl Op for GlobalAvgPool2d {
    const ID: u16 = 5;
    const NAME: &'static str = "GlobalAvgPool2d";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ();
    type Params = ();

    fn prepare(_: &(), cx: &mut Prepare<'_, '_>) -> R<()> {
        let [n, c, _, _] = cx.nchw(0, DType::F32)?;
        let out = cx.shape(&[n, c])?;
        cx.set_output(0, DType::F32, out)
    }

    fn eval(_: &(), io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (x, s) = (io.input::<f32>(0)?, nchw(&io.shape(0)));
        pool::global_avg_pool2d(x, s, io.out(0)?)
    }
}
