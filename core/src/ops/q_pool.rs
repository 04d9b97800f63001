//! int8 pooling: `QMaxPool2d`, `QAvgPool2d` (input and output share scale and zero point).

use super::conv2d::nchw;
use super::pool::{pool_prepare, PoolWords};
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::int8;
use crate::kernels::pool::Pool2d;
use crate::model::ModelError;

type R<T> = core::result::Result<T, ModelError>;

/// int8 max pooling.
pub struct QMaxPool2d;
/// int8 average pooling.
pub struct QAvgPool2d;

fn prepare(a: &Pool2d, cx: &mut Prepare<'_, '_>) -> R<PoolWords> {
    let p = pool_prepare(a, cx, DType::I8)?;
    let q = cx.per_tensor(0)?;
    if cx.output_per_tensor(0)?.is_some_and(|o| o != q) {
        return Err(cx.quant_err(1, "pooling keeps the input's scale and zero point"));
    }
    Ok(p)
}

impl Op for QMaxPool2d {
    const ID: u16 = 102;
    const NAME: &'static str = "QMaxPool2d";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = Pool2d;
    type Params = PoolWords;

    fn prepare(a: &Pool2d, cx: &mut Prepare<'_, '_>) -> R<PoolWords> {
        prepare(a, cx)
    }

    fn eval(p: &PoolWords, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (x, s) = (io.input::<i8>(0)?, nchw(&io.shape(0)));
        int8::max_pool2d(&p.unpack(), x, s, io.out(0)?)
    }
}

impl Op for QAvgPool2d {
    const ID: u16 = 103;
    const NAME: &'static str = "QAvgPool2d";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = Pool2d;
    type Params = PoolWords;

    fn prepare(a: &Pool2d, cx: &mut Prepare<'_, '_>) -> R<PoolWords> {
        prepare(a, cx)
    }

    fn eval(p: &PoolWords, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (x, s) = (io.input::<i8>(0)?, nchw(&io.shape(0)));
        int8::avg_pool2d(&p.unpack(), x, s, io.out(0)?)
    }
}
