//! The int8 ops: quantization parameters come from the tensors' records, requantization
//! tables from constants (all checked at load).

use super::exec::{input_shape, last, nchw, wrong_kind};
use super::operands::{misaligned, Operands};
use crate::error::{Error, Result};
use crate::kernels::int8::{self, AddParams, ConvParams, FcParams, SoftmaxParams};
use crate::model::format::QAddAttrs;
use crate::model::ops::{conv_params, pool_params};
use crate::model::{Model, Op, OpDef, TensorDef};
use crate::quant;

fn per_tensor(t: &TensorDef<'_>) -> Result<(f32, i32)> {
    t.quant.per_tensor().ok_or(Error::InvalidArgument {
        op: "interpreter",
        what: "int8 tensor without per-tensor quantization",
    })
}

/// i32 scratch elements an int8 op needs on this CPU.
pub(super) fn scratch_elems(model: &Model<'_>, def: &OpDef) -> Result<usize> {
    let Op::QConv2d { conv, .. } = def.op else {
        return Ok(0);
    };
    let shape = |k: usize| nchw(&input_shape(model, def, k)?);
    let p = ConvParams {
        conv: conv_params(&conv),
        input_zero_point: 0,
        output_zero_point: 0,
        act_min: -128,
        act_max: 127,
    };
    p.scratch_len(shape(0)?, shape(1)?)
}

/// Bias (if any), multipliers and shifts.
type Tables<'x> = (Option<&'x [i32]>, &'x [i32], &'x [i32]);

/// Bias, multipliers and shifts of a weighted int8 op (bias is input 2 when present).
fn tables<'x>(o: &Operands<'x, '_>) -> Result<Tables<'x>> {
    let n = o.n;
    let bias = if n == 5 {
        Some(o.input(2)?.data()?)
    } else {
        None
    };
    Ok((bias, o.input(n - 2)?.data()?, o.input(n - 1)?.data()?))
}

fn add_params(a: &QAddAttrs, zp1: i32, zp2: i32, zpo: i32) -> AddParams {
    AddParams {
        input1_offset: -zp1,
        input2_offset: -zp2,
        output_offset: zpo,
        left_shift: a.left_shift,
        input1_multiplier: a.input1_multiplier,
        input1_shift: a.input1_shift,
        input2_multiplier: a.input2_multiplier,
        input2_shift: a.input2_shift,
        output_multiplier: a.output_multiplier,
        output_shift: a.output_shift,
        act_min: a.act_min,
        act_max: a.act_max,
    }
}

pub(crate) fn quantize_any(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let x = o.input(0)?;
    match def.op {
        Op::Quantize => {
            let (s, zp) = per_tensor(&o.out_def)?;
            quant::quantize(x.data()?, s, zp, o.out()?)
        }
        Op::Dequantize => {
            let (s, zp) = per_tensor(&x.def)?;
            quant::dequantize(x.data()?, s, zp, o.out()?)
        }
        _ => Err(wrong_kind()),
    }
}

pub(crate) fn fully_connected(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::QFullyConnected { act_min, act_max } = def.op else {
        return Err(wrong_kind());
    };
    let (x, w) = (o.input(0)?, o.input(1)?);
    let (bias, mult, shift) = tables(o)?;
    let k = last(&x.shape);
    let p = FcParams {
        batch: x.shape.numel() / k,
        in_features: k,
        out_features: w.shape.dims().first().copied().unwrap_or(0),
        input_zero_point: per_tensor(&x.def)?.1,
        output_zero_point: per_tensor(&o.out_def)?.1,
        act_min,
        act_max,
    };
    int8::fully_connected(&p, x.data()?, w.data()?, bias, mult, shift, o.out()?)
}

pub(crate) fn conv2d(def: &OpDef, o: &mut Operands<'_, '_>, scratch: &mut [u8]) -> Result<()> {
    let Op::QConv2d {
        conv,
        act_min,
        act_max,
    } = def.op
    else {
        return Err(wrong_kind());
    };
    let (x, w) = (o.input(0)?, o.input(1)?);
    let (bias, mult, shift) = tables(o)?;
    let p = ConvParams {
        conv: conv_params(&conv),
        input_zero_point: per_tensor(&x.def)?.1,
        output_zero_point: per_tensor(&o.out_def)?.1,
        act_min,
        act_max,
    };
    let (xs, ws) = (nchw(&x.shape)?, nchw(&w.shape)?);
    let need = p.scratch_len(xs, ws)?;
    let bytes = scratch.get_mut(..need * 4).ok_or(misaligned())?;
    let s: &mut [i32] = bytemuck::try_cast_slice_mut(bytes).map_err(|_| misaligned())?;
    int8::conv2d(
        &p,
        x.data()?,
        xs,
        w.data()?,
        ws,
        bias,
        mult,
        shift,
        o.out()?,
        s,
    )
}

pub(crate) fn max_pool2d(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::QMaxPool2d(a) = def.op else {
        return Err(wrong_kind());
    };
    let x = o.input(0)?;
    int8::max_pool2d(&pool_params(&a), x.data()?, nchw(&x.shape)?, o.out()?)
}

pub(crate) fn avg_pool2d(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::QAvgPool2d(a) = def.op else {
        return Err(wrong_kind());
    };
    let x = o.input(0)?;
    int8::avg_pool2d(&pool_params(&a), x.data()?, nchw(&x.shape)?, o.out()?)
}

pub(crate) fn add(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::QAdd(a) = def.op else {
        return Err(wrong_kind());
    };
    let (x, y) = (o.input(0)?, o.input(1)?);
    let p = add_params(
        &a,
        per_tensor(&x.def)?.1,
        per_tensor(&y.def)?.1,
        per_tensor(&o.out_def)?.1,
    );
    int8::add(&p, x.data()?, y.data()?, o.out()?)
}

pub(crate) fn softmax(def: &OpDef, o: &mut Operands<'_, '_>, _: &mut [u8]) -> Result<()> {
    let Op::QSoftmax {
        beta_multiplier,
        beta_left_shift,
        diff_min,
    } = def.op
    else {
        return Err(wrong_kind());
    };
    let x = o.input(0)?;
    let p = SoftmaxParams {
        input_beta_multiplier: beta_multiplier,
        input_beta_left_shift: beta_left_shift,
        diff_min,
    };
    let cols = last(&x.shape);
    int8::softmax(&p, x.data()?, x.shape.numel() / cols, cols, o.out()?)
}
