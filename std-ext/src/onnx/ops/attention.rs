//! `Attention` (opset 23): scaled dot-product attention with grouped KV heads, a boolean or
//! additive mask, causal masking, a KV cache (`past_key`/`past_value` in, `present_*` out),
//! soft-capping and padded KV lengths, composed from born's matmul, softmax and
//! element-wise ops in the order ONNX's reference computes them.

use super::{bin, permute, scalar};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::Const;
use born_core::dtype::DType;
use born_core::kernels::activation::Activation as Act;
use born_core::kernels::compare::CompareOp;
use born_core::kernels::elementwise::BinaryOp;
use born_core::model::format::Dims;
use born_core::ops::activation::Activation;
use born_core::ops::cast::{Cast, CastAttrs};
use born_core::ops::compare::{Compare, CompareAttrs};
use born_core::ops::concat::{Concat, ConcatAttrs};
use born_core::ops::expand::{Expand, ExpandAttrs};
use born_core::ops::matmul::MatMul;
use born_core::ops::pad::{Mode, Pad, PadAttrs};
use born_core::ops::softmax::{AxisAttrs, Softmax};
use born_core::ops::where_select::Where;
use born_core::shape::Shape;

type Out = Result<Vec<Value>>;

/// Input `k` as `[B, heads, S, D]`: a 3-D `[B, S, heads * D]` input is split into heads.
fn heads(cx: &mut NodeCx<'_>, k: usize, n_heads: Option<i64>) -> Result<usize> {
    let d = cx.dims(k)?;
    let x = cx.tensor(k)?;
    match *d.as_slice() {
        [_, _, _, _] => Ok(x),
        [b, s, hidden] => {
            let h = n_heads
                .filter(|&h| h > 0)
                .ok_or_else(|| cx.err("3-D inputs need q_num_heads and kv_num_heads"))?
                as usize;
            if hidden % h != 0 {
                return Err(cx.err(format!(
                    "hidden size {hidden} does not divide into {h} heads"
                )));
            }
            let v = cx.reshape(x, &[b, s, h, hidden / h])?;
            permute(cx, v, &[0, 2, 1, 3])
        }
        _ => Err(cx.err("Q, K and V must be 3-D or 4-D")),
    }
}

/// `where(mask, 0, -inf)` of a boolean mask.
fn bool_bias(cx: &mut NodeCx<'_>, mask: usize) -> Result<usize> {
    let zero = scalar(cx, 0.0)?;
    let ninf = scalar(cx, f32::NEG_INFINITY)?;
    cx.op::<Where>((), &[mask, zero, ninf])
}

pub fn attention(cx: &mut NodeCx<'_>) -> Out {
    for k in 0..3 {
        if cx.dtype(k)? != DType::F32 {
            return Err(cx.err("born computes attention in f32 only"));
        }
    }
    let three_d = cx.dims(0)?.len() == 3;
    let q_heads = cx.attrs.opt_int("q_num_heads")?;
    let kv_heads = cx.attrs.opt_int("kv_num_heads")?;
    let q = heads(cx, 0, q_heads)?;
    let mut k = heads(cx, 1, kv_heads)?;
    let mut v = heads(cx, 2, kv_heads)?;
    let qd = cx.tensor_info(q).1;
    let (b, hq, sq, dh) = (qd[0], qd[1], qd[2], qd[3]);
    let scale = match cx.attrs.get("scale") {
        Some(a) => a.f(),
        None => 1.0 / (dh as f32).sqrt(),
    };
    // Past and present KV cache.
    let mut past = 0;
    for (slot, t) in [(4, &mut k), (5, &mut v)] {
        if cx.has(slot) {
            let p = cx.tensor(slot)?;
            past = cx.tensor_info(p).1.get(2).copied().unwrap_or(0);
            *t = cx.op::<Concat>(ConcatAttrs { axis: 2 }, &[p, *t])?;
        }
    }
    let (present_k, present_v) = (k, v);
    let kd = cx.tensor_info(k).1;
    let (hkv, skv) = (kd[1], kd[2]);

    // The additive bias: the mask (padded to the KV length), causal masking, padding.
    let mut bias: Option<usize> = None;
    if cx.has(3) {
        let md = cx.dims(3)?;
        let mut m = cx.tensor(3)?;
        let is_bool = cx.dtype(3)? == DType::Bool;
        let last = md.last().copied().unwrap_or(0);
        if last < skv {
            let mut end = vec![0; md.len()];
            let Some(e) = end.last_mut() else {
                return Err(cx.err("attn_mask must have at least one axis"));
            };
            *e = skv - last;
            let value = if is_bool { 0.0 } else { f64::NEG_INFINITY };
            let a = PadAttrs::new(&vec![0; md.len()], &end, Mode::Constant, value)
                .ok_or_else(|| cx.err("mask padding"))?;
            m = cx.op::<Pad>(a, &[m])?;
        }
        bias = Some(if is_bool { bool_bias(cx, m)? } else { m });
    }
    if cx.attrs.int("is_causal", 0)? != 0 {
        let mut c = vec![0f32; sq * skv];
        for i in 0..sq {
            for j in 0..skv {
                if j > i + past {
                    c[i * skv + j] = f32::NEG_INFINITY;
                }
            }
        }
        let causal = cx.new_const(Const::from_values(vec![sq, skv], &c))?;
        bias = Some(match bias {
            Some(m) => bin(cx, BinaryOp::Add, m, causal)?,
            None => causal,
        });
    }
    if cx.has(6) {
        let n = cx.tensor(6)?;
        let n = if cx.dtype(6)? == DType::I64 {
            n
        } else {
            cx.op::<Cast>(CastAttrs { to: DType::I64 }, &[n])?
        };
        let n = cx.reshape(n, &[b, 1, 1, 1])?;
        let iota: Vec<i64> = (0..skv as i64).collect();
        let iota = cx.new_const(Const::from_values(vec![1, 1, 1, skv], &iota))?;
        let keep = cx.op::<Compare>(CompareAttrs::new(CompareOp::Less), &[iota, n])?;
        let pad = bool_bias(cx, keep)?;
        bias = Some(match bias {
            Some(m) => bin(cx, BinaryOp::Add, m, pad)?,
            None => pad,
        });
    }

    // Grouped KV heads: each KV head serves `hq / hkv` query heads, interleaved.
    if hq != hkv {
        if hkv == 0 || hq % hkv != 0 {
            return Err(cx.err(format!("{hq} query heads for {hkv} KV heads")));
        }
        let reps = hq / hkv;
        for t in [&mut k, &mut v] {
            let d = cx.tensor_info(*t).1;
            let x = cx.reshape(*t, &[d[0], d[1], 1, d[2], d[3]])?;
            let to = [d[0], d[1], reps, d[2], d[3]];
            let shape = Shape::new(&to)
                .ok()
                .and_then(|s| Dims::from_shape(&s))
                .ok_or_else(|| cx.err("shape"))?;
            let e = cx.op::<Expand>(ExpandAttrs { shape }, &[x])?;
            *t = cx.reshape(e, &[d[0], hq, d[2], d[3]])?;
        }
    }

    let s = scalar(cx, scale.sqrt())?;
    let qs = bin(cx, BinaryOp::Mul, q, s)?;
    let ks = bin(cx, BinaryOp::Mul, k, s)?;
    let kt = permute(cx, ks, &[0, 1, 3, 2])?;
    let mut qk = cx.op::<MatMul>((), &[qs, kt])?;
    let softcap = cx.attrs.float("softcap", 0.0)?;
    if softcap > 0.0 {
        let c = scalar(cx, softcap)?;
        let t = bin(cx, BinaryOp::Div, qk, c)?;
        let t = cx.op::<Activation>(Act::Tanh, &[t])?;
        qk = bin(cx, BinaryOp::Mul, t, c)?;
    }
    let qkb = match bias {
        Some(m) => bin(cx, BinaryOp::Add, qk, m)?,
        None => qk,
    };
    let p = cx.op::<Softmax>(AxisAttrs { axis: -1 }, &[qkb])?;
    let mut y = cx.op::<MatMul>((), &[p, v])?;
    if three_d {
        let yd = cx.tensor_info(y).1;
        let t = permute(cx, y, &[0, 2, 1, 3])?;
        y = cx.reshape(t, &[yd[0], yd[2], yd[1] * yd[3]])?;
    }
    let qk_out = match cx.attrs.int("qk_matmul_output_mode", 0)? {
        0 | 1 => qk,
        2 => qkb,
        3 => p,
        m => return Err(cx.err(format!("qk_matmul_output_mode {m}"))),
    };
    let mut out = vec![Value::Tensor(y)];
    for (slot, id) in [(1, present_k), (2, present_v), (3, qk_out)] {
        if cx.node.output.get(slot).is_some_and(|o| !o.is_empty()) {
            while out.len() < slot {
                out.push(Value::Tensor(y));
            }
            out.push(Value::Tensor(id));
        }
    }
    Ok(out)
}

/// `RotaryEmbedding` (opset 23): rotates the first `rotary_embedding_dim` features of each
/// head by the cached cos/sin of its position (halves or interleaved pairs).
pub fn rotary_embedding(cx: &mut NodeCx<'_>) -> Out {
    use born_core::ops::gather::{Gather, GatherAttrs};
    use born_core::ops::slice::{Slice, SliceAttrs};
    if cx.dtype(0)? != DType::F32 {
        return Err(cx.err("born computes rotary embeddings in f32 only"));
    }
    let dims = cx.dims(0)?;
    let x = cx.tensor(0)?;
    // [B, S, H, D]
    let x = match *dims.as_slice() {
        [_, _, _, _] => permute(cx, x, &[0, 2, 1, 3])?,
        [b, s, hidden] => {
            let h = cx.attrs.int("num_heads", 0)?;
            if h <= 0 || hidden % h as usize != 0 {
                return Err(cx.err("a 3-D input needs num_heads dividing its hidden size"));
            }
            cx.reshape(x, &[b, s, h as usize, hidden / h as usize])?
        }
        _ => return Err(cx.err("input must be 3-D or 4-D")),
    };
    let xd = cx.tensor_info(x).1;
    let head = xd[3];
    let r = match cx.attrs.int("rotary_embedding_dim", 0)? {
        0 => head,
        r if r > 0 && r as usize <= head && r % 2 == 0 => r as usize,
        r => return Err(cx.err(format!("rotary_embedding_dim {r} for head size {head}"))),
    };
    let slice = |cx: &mut NodeCx<'_>, t: usize, start: i64, end: i64, step: i64| {
        let a = SliceAttrs::new(&[start], &[end], &[-1], &[step]).ok_or_else(|| cx.err("slice"))?;
        cx.op::<Slice>(a, &[t])
    };
    let rot = slice(cx, x, 0, r as i64, 1)?;
    let interleaved = cx.attrs.int("interleaved", 0)? != 0;
    let half = r as i64 / 2;
    let (x1, x2) = if interleaved {
        (
            slice(cx, rot, 0, r as i64, 2)?,
            slice(cx, rot, 1, r as i64, 2)?,
        )
    } else {
        (
            slice(cx, rot, 0, half, 1)?,
            slice(cx, rot, half, r as i64, 1)?,
        )
    };
    let mut caches = [0usize; 2];
    for (c, k) in caches.iter_mut().zip([1, 2]) {
        let mut t = cx.tensor(k)?;
        if cx.has(3) {
            let pos = cx.tensor(3)?;
            t = cx.op::<Gather>(GatherAttrs { axis: 0 }, &[t, pos])?;
        }
        let d = cx.tensor_info(t).1;
        if d.len() != 3 || d[2] != r / 2 {
            return Err(cx.err(format!("cos/sin cache {d:?} for {r} rotated features")));
        }
        *c = cx.reshape(t, &[d[0], d[1], 1, d[2]])?;
    }
    let [cos, sin] = caches;
    let a = bin(cx, BinaryOp::Mul, cos, x1)?;
    let b = bin(cx, BinaryOp::Mul, sin, x2)?;
    let real = bin(cx, BinaryOp::Sub, a, b)?;
    let a = bin(cx, BinaryOp::Mul, sin, x1)?;
    let b = bin(cx, BinaryOp::Mul, cos, x2)?;
    let imag = bin(cx, BinaryOp::Add, a, b)?;
    let rotated = if interleaved {
        let rd = cx.tensor_info(real).1;
        let mut pair = rd.clone();
        pair.push(1);
        let re = cx.reshape(real, &pair)?;
        let im = cx.reshape(imag, &pair)?;
        let c = cx.op::<Concat>(ConcatAttrs { axis: -1 }, &[re, im])?;
        cx.reshape(c, &[xd[0], xd[1], xd[2], r])?
    } else {
        cx.op::<Concat>(ConcatAttrs { axis: -1 }, &[real, imag])?
    };
    let y = if r < head {
        let rest = slice(cx, x, r as i64, head as i64, 1)?;
        cx.op::<Concat>(ConcatAttrs { axis: -1 }, &[rotated, rest])?
    } else {
        rotated
    };
    Ok(vec![Value::Tensor(match dims.len() {
        4 => permute(cx, y, &[0, 2, 1, 3])?,
        _ => cx.reshape(y, &dims)?,
    })])
}
