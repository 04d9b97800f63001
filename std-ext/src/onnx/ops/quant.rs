//! `QuantizeLinear` and `DequantizeLinear` (QDQ models, e.g. from onnxruntime's
//! `quantize_static`): constants are computed now; on activations the pair records the
//! tensor's int8 parameters, and born's quantizer turns the graph into int8 ops after
//! conversion (TFLite's int8 scheme: the quantized pairs fold into quantized kernels).

use super::one;
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::Const;
use born_core::dtype::DType;
use born_core::model::graph::QuantSpec;
use born_core::ops::reshape::Reshape;
use std::rc::Rc;

type Out = Result<Vec<Value>>;

/// Scales and zero points of a Q/DQ node, one per channel along `axis` (or one).
struct Params {
    scales: Vec<f32>,
    zeros: Vec<i64>,
    /// Element type of the quantized side (that of the zero point).
    qtype: DType,
}

fn params(cx: &NodeCx<'_>) -> Result<Params> {
    let scales = cx.known(1)?.to_f32();
    let (zeros, qtype) = if cx.has(2) {
        let z = cx.known(2)?;
        (
            z.to_i64()
                .ok_or_else(|| cx.err("zero point must be integer"))?,
            z.dtype,
        )
    } else {
        (vec![0; scales.len()], DType::U8)
    };
    if scales.is_empty() || zeros.len() != scales.len() {
        return Err(cx.err("scale and zero point differ in length"));
    }
    if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(cx.err(format!("scale {s} is not finite and positive")));
    }
    if cx.attrs.int("block_size", 0)? != 0 {
        return Err(cx.err("blocked quantization is not supported by born"));
    }
    Ok(Params {
        scales,
        zeros,
        qtype,
    })
}

/// Channel of flat element `i` of a tensor with `dims` along `axis` (0 when per-tensor).
fn channel_of(dims: &[usize], axis: usize, per_channel: bool) -> impl Fn(usize) -> usize + '_ {
    let inner: usize = dims.get(axis + 1..).unwrap_or_default().iter().product();
    let len = dims.get(axis).copied().unwrap_or(1);
    move |i| {
        if per_channel {
            (i / inner.max(1)) % len.max(1)
        } else {
            0
        }
    }
}

fn quant_axis(cx: &NodeCx<'_>, p: &Params, dims: &[usize]) -> Result<(usize, bool)> {
    let per_channel = p.scales.len() != 1;
    let ax = super::axis(cx, cx.attrs.int("axis", 1)?, dims.len().max(1))?;
    if per_channel && dims.get(ax) != Some(&p.scales.len()) {
        return Err(cx.err(format!(
            "{} scales for axis {ax} of {dims:?}",
            p.scales.len()
        )));
    }
    Ok((ax, per_channel))
}

/// The int8 parameters born uses for a per-tensor uint8 or int8 quantization.
fn int8_params(cx: &NodeCx<'_>, p: &Params) -> Result<(f32, i32)> {
    let shift = match p.qtype {
        DType::I8 => 0,
        // uint8 `q` and int8 `q - 128` stand for the same real value.
        DType::U8 => 128,
        d => return Err(cx.err(format!("{d:?} quantization is not supported by born"))),
    };
    Ok((p.scales[0], (p.zeros[0] - shift) as i32))
}

pub fn quantize_linear(cx: &mut NodeCx<'_>) -> Out {
    let p = params(cx)?;
    if !matches!(p.qtype, DType::I8 | DType::U8) {
        return Err(cx.err(format!(
            "{:?} quantization is not supported by born",
            p.qtype
        )));
    }
    if cx.has(0) && cx.try_known(0).is_some() {
        let x = cx.known(0)?;
        let (ax, per_channel) = quant_axis(cx, &p, &x.dims)?;
        let ch = channel_of(&x.dims, ax, per_channel);
        let (lo, hi) = if p.qtype == DType::I8 {
            (-128, 127)
        } else {
            (0, 255)
        };
        let q: Vec<u8> = x
            .to_f32()
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = ch(i);
                let r = (v / p.scales[c]).round_ties_even() as i64 + p.zeros[c];
                r.clamp(lo, hi) as u8
            })
            .collect();
        return Ok(vec![Value::Known(Rc::new(Const {
            dtype: p.qtype,
            dims: x.dims.clone(),
            bytes: q,
        }))]);
    }
    if cx.dtype(0)? != DType::F32 {
        return Err(cx.err("born quantizes f32 activations only"));
    }
    if p.scales.len() != 1 {
        return Err(cx.err("per-channel quantization of an activation is not supported by born"));
    }
    let (scale, zero_point) = int8_params(cx, &p)?;
    let id = cx.tensor(0)?;
    let stash = QuantSpec::PerTensor { scale, zero_point };
    let g = cx.graph();
    match &g.tensors[id].quant {
        QuantSpec::None => g.tensors[id].quant = stash.clone(),
        q if *q == stash => {}
        _ => {
            return Err(cx.err(
                "the tensor is quantized twice with different parameters; born keeps one \
                 int8 version per tensor",
            ))
        }
    }
    // A reshape keeps its input's parameters in int8: the views born's translation puts
    // before this tensor (GlobalAveragePool's [N, C] to [N, C, 1, 1]...) get them too.
    let mut t = id;
    while let Some(op) = g
        .ops
        .iter()
        .rev()
        .find(|o| o.outputs.first() == Some(&t) && o.is::<Reshape>())
    {
        let src = op.inputs[0];
        if g.tensors[src].data.is_some() || g.tensors[src].quant != QuantSpec::None {
            break;
        }
        g.tensors[src].quant = stash.clone();
        t = src;
    }
    Ok(vec![Value::Quantized(id, p.qtype)])
}

pub fn dequantize_linear(cx: &mut NodeCx<'_>) -> Out {
    let p = params(cx)?;
    match cx.input_value(0)? {
        Value::Quantized(id, qtype) => {
            let (scale, zero_point) = int8_params(cx, &p)?;
            let same = qtype == p.qtype
                && cx.graph().tensors[id].quant == QuantSpec::PerTensor { scale, zero_point };
            if !same || p.scales.len() != 1 {
                return Err(cx.err(
                    "dequantizes with other parameters than its QuantizeLinear: born needs \
                     matching pairs",
                ));
            }
            one(id)
        }
        Value::Known(x) => {
            let (ax, per_channel) = quant_axis(cx, &p, &x.dims)?;
            let ch = channel_of(&x.dims, ax, per_channel);
            let q = x.to_i64().ok_or_else(|| cx.err("input must be integer"))?;
            let v: Vec<f32> = q
                .iter()
                .enumerate()
                .map(|(i, &q)| {
                    let c = ch(i);
                    (q - p.zeros[c]) as f32 * p.scales[c]
                })
                .collect();
            Ok(vec![Value::Known(Rc::new(Const::from_values(
                x.dims.clone(),
                &v,
            )))])
        }
        Value::Tensor(_) => Err(cx.err(
            "dequantizes a run-time integer tensor: born's QDQ import needs each \
             DequantizeLinear to read a QuantizeLinear or a constant",
        )),
    }
}
