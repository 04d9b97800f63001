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
    if !per_channel {
        return Ok((0, false));
    }
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

/// Scales (and zero points) as an f32 constant that broadcasts along `axis` of a rank-`rank`
/// tensor (a scalar when per-tensor).
fn along(cx: &mut NodeCx<'_>, v: &[f32], axis: usize, rank: usize) -> Result<usize> {
    let dims = if v.len() == 1 {
        vec![]
    } else {
        let mut d = vec![1; rank];
        d[axis] = v.len();
        d
    };
    cx.new_const(Const::from_values(dims, v))
}

/// The range of a quantized type the composed path handles (exact in f32).
fn range_of(cx: &NodeCx<'_>, t: DType) -> Result<(f32, f32)> {
    Ok(match t {
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U16 => (0.0, 65535.0),
        d => return Err(cx.err(format!("{d:?} quantization is not supported by born"))),
    })
}

/// `saturate(round_half_even(x / scale) + zero_point)` in type `p.qtype`, composed from f32
/// ops (for what born's int8 kernels do not take: per-channel activations, 16-bit types,
/// quantized graph outputs).
pub(crate) fn quantize_composed(
    cx: &mut NodeCx<'_>,
    x: usize,
    scales: &[f32],
    zeros: &[i64],
    qtype: DType,
    axis: usize,
) -> Result<usize> {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::kernels::unary::UnaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::cast::{Cast, CastAttrs};
    use born_core::ops::unary::{Unary, UnaryAttrs};
    let (lo, hi) = range_of(cx, qtype)?;
    let rank = cx.tensor_info(x).1.len();
    let s = along(cx, scales, axis, rank)?;
    let z: Vec<f32> = zeros.iter().map(|&z| z as f32).collect();
    let z = along(cx, &z, axis, rank)?;
    let d = cx.op::<Binary>(BinaryOp::Div, &[x, s])?;
    let r = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Round), &[d])?;
    let a = cx.op::<Binary>(BinaryOp::Add, &[r, z])?;
    let c = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Clip { min: lo, max: hi }), &[a])?;
    cx.op::<Cast>(CastAttrs { to: qtype }, &[c])
}

/// `(q - zero_point) * scale` in f32 (exact for the 8- and 16-bit types).
fn dequantize_composed(cx: &mut NodeCx<'_>, q: usize, p: &Params, axis: usize) -> Result<usize> {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::cast::{Cast, CastAttrs};
    range_of(cx, cx.tensor_info(q).0)?;
    let rank = cx.tensor_info(q).1.len();
    let f = cx.op::<Cast>(CastAttrs { to: DType::F32 }, &[q])?;
    let z: Vec<f32> = p.zeros.iter().map(|&z| z as f32).collect();
    let z = along(cx, &z, axis, rank)?;
    let s = along(cx, &p.scales, axis, rank)?;
    let c = cx.op::<Binary>(BinaryOp::Sub, &[f, z])?;
    cx.op::<Binary>(BinaryOp::Mul, &[c, s])
}

/// `QuantizeLinear` with a scale (and zero point) computed at run time (as
/// `DynamicQuantizeLinear` spells itself out): the composed f32 path with those tensors.
fn quantize_dynamic(cx: &mut NodeCx<'_>) -> Out {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::kernels::unary::UnaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::cast::{Cast, CastAttrs};
    use born_core::ops::unary::{Unary, UnaryAttrs};
    if cx.dtype(0)? != DType::F32 || cx.dtype(1)? != DType::F32 {
        return Err(cx.err("born quantizes f32 values with an f32 scale only"));
    }
    let qtype = if cx.has(2) { cx.dtype(2)? } else { DType::U8 };
    let (lo, hi) = range_of(cx, qtype)?;
    let (x, s) = (cx.tensor(0)?, cx.tensor(1)?);
    let d = cx.op::<Binary>(BinaryOp::Div, &[x, s])?;
    let mut r = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Round), &[d])?;
    if cx.has(2) {
        let z = cx.tensor(2)?;
        let zf = cx.op::<Cast>(CastAttrs { to: DType::F32 }, &[z])?;
        r = cx.op::<Binary>(BinaryOp::Add, &[r, zf])?;
    }
    let c = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Clip { min: lo, max: hi }), &[r])?;
    one(cx.op::<Cast>(CastAttrs { to: qtype }, &[c])?)
}

pub fn quantize_linear(cx: &mut NodeCx<'_>) -> Out {
    if cx.attrs.int("block_size", 0)? != 0 {
        return Err(cx.err("blocked quantization is not supported by born"));
    }
    let runtime = |k: usize| cx.has(k) && cx.try_known(k).is_none();
    if runtime(1) || runtime(2) {
        // Per-tensor only: a per-channel scale must be known (to lay it along the axis).
        let per_tensor = cx.dims(1)?.iter().product::<usize>() == 1;
        if !per_tensor {
            let k = if runtime(1) { 1 } else { 2 };
            return Err(cx.known(k).err().unwrap_or_else(|| cx.err("scale")));
        }
        return quantize_dynamic(cx);
    }
    let p = params(cx)?;
    let composed = cx.try_known(0).is_none()
        && cx.dtype(0)? == DType::F32
        && (p.scales.len() != 1 || !matches!(p.qtype, DType::I8 | DType::U8));
    if composed {
        let dims = cx.dims(0)?;
        let (ax, _) = quant_axis(cx, &p, &dims)?;
        let x = cx.tensor(0)?;
        return one(quantize_composed(cx, x, &p.scales, &p.zeros, p.qtype, ax)?);
    }
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
        Value::Tensor(q) => {
            let dims = cx.dims(0)?;
            let (ax, _) = quant_axis(cx, &p, &dims)?;
            one(dequantize_composed(cx, q, &p, ax)?)
        }
    }
}
