//! One op: borrow its operands, call its kernel. The f32 ops call exactly the kernels the
//! eager `Cpu` backend calls, so an exported model gives the eager forward pass's bits.

use super::operands::{borrow, Operands};
use crate::error::{Error, Result};
use crate::kernels::activation::{self, Activation};
use crate::kernels::elementwise::{self, BinaryOp};
use crate::kernels::gemm::{self, Gemm};
use crate::kernels::{conv, gather, norm, pool, softmax};
use crate::model::format::{ActKind, BinKind, FusedAct};
use crate::model::ops::{conv_params, pool_params};
use crate::model::{Model, Op, OpDef};
use crate::shape::Shape;

/// The four dimensions of an NCHW shape.
pub(super) fn nchw(s: &Shape) -> Result<[usize; 4]> {
    match *s.dims() {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(Error::InvalidArgument {
            op: "interpreter",
            what: "operand is not NCHW",
        }),
    }
}

/// Length of the last axis (at least 1).
pub(super) fn last(s: &Shape) -> usize {
    s.dims().last().copied().unwrap_or(1).max(1)
}

/// The GEMM a fully connected op runs: `[rows, k] x [n, k]^T`.
fn fc_gemm(x: &Shape, w: &Shape, bias: bool) -> Gemm {
    let k = last(x);
    let n = w.dims().first().copied().unwrap_or(0);
    let mut g = Gemm::new(x.numel() / k, n, k);
    g.trans_b = true;
    if bias {
        g.beta = 1.0;
    }
    g
}

/// Shape of input `k` of op `def`.
pub(super) fn input_shape(model: &Model<'_>, def: &OpDef, k: usize) -> Result<Shape> {
    let id = def.inputs().get(k).copied().unwrap_or(0) as usize;
    Ok(model.shape(&model.tensor(id)?))
}

/// Scratch bytes op `def` needs on this CPU.
pub(super) fn scratch_bytes(model: &Model<'_>, def: &OpDef) -> Result<usize> {
    let shape = |k: usize| input_shape(model, def, k);
    let elems = match def.op {
        Op::FullyConnected { .. } => gemm::scratch_len(&fc_gemm(&shape(0)?, &shape(1)?, false)),
        Op::Conv2d { conv, .. } => {
            conv_params(&conv).scratch_len(nchw(&shape(0)?)?, nchw(&shape(1)?)?)?
        }
        _ => super::int8::scratch_elems(model, def)?,
    };
    elems
        .checked_mul(4)
        .ok_or(Error::Overflow { op: "interpreter" })
}

fn as_f32(b: &mut [u8]) -> Result<&mut [f32]> {
    bytemuck::try_cast_slice_mut(b).map_err(|_| super::operands::misaligned())
}

fn fused(act: FusedAct, out: &mut [f32]) {
    match act {
        FusedAct::None => {}
        FusedAct::Relu => activation::activation_inplace(Activation::Relu, out),
        FusedAct::Relu6 => activation::activation_inplace(Activation::Relu6, out),
    }
}

/// The kernel activation of an [`ActKind`].
pub(crate) fn activation_of(a: ActKind) -> Activation {
    match a {
        ActKind::Relu => Activation::Relu,
        ActKind::Relu6 => Activation::Relu6,
        ActKind::LeakyRelu(alpha) => Activation::LeakyRelu(alpha),
        ActKind::Sigmoid => Activation::Sigmoid,
        ActKind::Tanh => Activation::Tanh,
        ActKind::Gelu => Activation::Gelu,
        ActKind::GeluTanh => Activation::GeluTanh,
        ActKind::Silu => Activation::Silu,
    }
}

fn binary_of(b: BinKind) -> BinaryOp {
    match b {
        BinKind::Add => BinaryOp::Add,
        BinKind::Sub => BinaryOp::Sub,
        BinKind::Mul => BinaryOp::Mul,
        BinKind::Div => BinaryOp::Div,
        BinKind::Max => BinaryOp::Max,
        BinKind::Min => BinaryOp::Min,
    }
}

/// Copies input 0 into the output unless the op runs in place on it.
fn copy_unless_in_place(o: &mut Operands<'_, '_>) -> Result<()> {
    if let Some(src) = o.input(0)?.bytes {
        o.out.copy_from_slice(src);
    }
    Ok(())
}

/// The signature every op's kernel adapter has.
pub(crate) type KernelFn = fn(&OpDef, &mut Operands<'_, '_>, &mut [u8]) -> Result<()>;

/// An adapter called for an op of another kind (unreachable through the resolver table).
pub(super) fn wrong_kind() -> Error {
    Error::InvalidArgument {
        op: "interpreter",
        what: "kernel registered for another op kind",
    }
}

fn scratch_f32(scratch: &mut [u8], elems: usize) -> Result<&mut [f32]> {
    as_f32(
        scratch
            .get_mut(..elems * 4)
            .ok_or(super::operands::misaligned())?,
    )
}

pub(crate) fn fully_connected(
    def: &OpDef,
    o: &mut Operands<'_, '_>,
    scratch: &mut [u8],
) -> Result<()> {
    let Op::FullyConnected { act } = def.op else {
        return Err(wrong_kind());
    };
    let (x, w) = (o.input(0)?, o.input(1)?);
    let bias = o.opt::<f32>(2)?;
    let g = fc_gemm(&x.shape, &w.shape, bias.is_some());
    let out = o.out::<f32>()?;
    if let Some(b) = bias {
        for row in out.chunks_exact_mut(g.n.max(1)) {
            row.copy_from_slice(b);
        }
    }
    let s = scratch_f32(scratch, gemm::scratch_len(&g))?;
    gemm::sgemm(&g, x.data()?, g.k, w.data()?, g.k, out, g.n, s)?;
    fused(act, out);
    Ok(())
}

pub(crate) fn conv2d(def: &OpDef, o: &mut Operands<'_, '_>, scratch: &mut [u8]) -> Result<()> {
    let Op::Conv2d { conv: attrs, act } = def.op else {
        return Err(wrong_kind());
    };
    let (x, w) = (o.input(0)?, o.input(1)?);
    let bias = o.opt::<f32>(2)?;
    let p = conv_params(&attrs);
    let (xs, ws) = (nchw(&x.shape)?, nchw(&w.shape)?);
    let s = scratch_f32(scratch, p.scratch_len(xs, ws)?)?;
    let out = o.out::<f32>()?;
    conv::conv2d(&p, x.data()?, xs, w.data()?, ws, bias, out, s)?;
    fused(act, out);
    Ok(())
}

pub(crate) fn max_pool2d(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::MaxPool2d(a) = def.op else {
        return Err(wrong_kind());
    };
    let x = o.input(0)?;
    pool::max_pool2d(&pool_params(&a), x.data()?, nchw(&x.shape)?, o.out()?)
}

pub(crate) fn avg_pool2d(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::AvgPool2d(a) = def.op else {
        return Err(wrong_kind());
    };
    let x = o.input(0)?;
    pool::avg_pool2d(&pool_params(&a), x.data()?, nchw(&x.shape)?, o.out()?)
}

pub(crate) fn global_avg_pool2d(_: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let x = o.input(0)?;
    pool::global_avg_pool2d(x.data()?, nchw(&x.shape)?, o.out()?)
}

pub(crate) fn activation(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::Activation(a) = def.op else {
        return Err(wrong_kind());
    };
    copy_unless_in_place(o)?;
    activation::activation_inplace(activation_of(a), o.out()?);
    Ok(())
}

pub(crate) fn reshape(_: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    copy_unless_in_place(o)
}

pub(crate) fn softmax(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let x = o.input(0)?;
    let len = last(&x.shape);
    let outer = x.shape.numel() / len;
    match def.op {
        Op::Softmax => softmax::softmax(x.data()?, o.out()?, outer, len, 1),
        Op::LogSoftmax => softmax::log_softmax(x.data()?, o.out()?, outer, len, 1),
        _ => Err(wrong_kind()),
    }
}

pub(crate) fn norm(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let x = o.input(0)?;
    let cols = last(&x.shape);
    let rows = x.shape.numel() / cols;
    let gamma = o.opt::<f32>(1)?;
    match def.op {
        Op::LayerNorm { eps } => {
            let beta = o.opt::<f32>(2)?;
            norm::layer_norm(x.data()?, o.out()?, rows, cols, gamma, beta, eps)
        }
        Op::RmsNorm { eps } => norm::rms_norm(x.data()?, o.out()?, rows, cols, gamma, eps),
        _ => Err(wrong_kind()),
    }
}

pub(crate) fn batch_norm(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::BatchNorm { eps } = def.op else {
        return Err(wrong_kind());
    };
    let x = o.input(0)?;
    let d = x.shape.dims();
    let (n, c) = (
        d.first().copied().unwrap_or(1),
        d.get(1).copied().unwrap_or(1),
    );
    let spatial = x.shape.numel() / (n * c).max(1);
    let (mean, var) = (o.input(1)?.data()?, o.input(2)?.data()?);
    let (gamma, beta) = (o.opt::<f32>(3)?, o.opt::<f32>(4)?);
    norm::batch_norm(
        x.data()?,
        o.out()?,
        n,
        c,
        spatial,
        mean,
        var,
        gamma,
        beta,
        eps,
    )
}

pub(crate) fn binary(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::Binary(b) = def.op else {
        return Err(wrong_kind());
    };
    let (x, y) = (o.input(0)?, o.input(1)?);
    let shape = o.out_shape;
    elementwise::binary(
        binary_of(b),
        x.data()?,
        &x.shape,
        y.data()?,
        &y.shape,
        o.out()?,
        &shape,
    )
}

pub(crate) fn embedding(_: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let (table, ids) = (o.input(0)?, o.input(1)?);
    let [rows, dim] = match *table.shape.dims() {
        [r, d] => [r, d],
        _ => return Err(super::operands::misaligned()),
    };
    gather::embedding(table.data()?, rows, dim, ids.data()?, o.out()?)
}

/// Runs op `def` on the arena `act` with `scratch`, through `kernel`.
pub(super) fn run(
    model: &Model<'_>,
    def: &OpDef,
    act: &mut [u8],
    scratch: &mut [u8],
    kernel: KernelFn,
) -> Result<()> {
    let mut o = borrow(model, def, act)?;
    kernel(def, &mut o, scratch)
}
