//! Shape queries, constants and data movement: `Shape`, `Reshape`, `Concat`, `Slice`...

use super::{axis, one};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::{self, Const};
use born_core::dtype::DType;
use born_core::model::format::Dims;
use born_core::ops::cast::{Cast, CastAttrs};
use born_core::ops::concat::{Concat, ConcatAttrs};
use born_core::ops::expand::{Expand, ExpandAttrs};
use born_core::ops::gather::{Gather, GatherAttrs};
use born_core::ops::gather_elements::GatherElements;
use born_core::ops::pad::{Mode, Pad, PadAttrs};
use born_core::ops::slice::{Slice, SliceAttrs};
use born_core::ops::split::{Split, SplitAttrs};
use born_core::ops::tile::{Tile, TileAttrs};
use born_core::ops::transpose::{Transpose, TransposeAttrs};
use born_core::ops::{MAX_INPUTS, MAX_OUTPUTS};
use born_core::shape::{Shape, MAX_RANK};
use std::rc::Rc;

type Out = Result<Vec<Value>>;

fn known(c: Const) -> Out {
    Ok(vec![Value::Known(Rc::new(c))])
}

fn i64s(dims: Vec<usize>, v: &[i64]) -> Const {
    Const::from_values(dims, v)
}

/// `Constant`: the value of whichever `value*` attribute is set.
pub fn constant(cx: &mut NodeCx<'_>) -> Out {
    let a = &cx.attrs;
    if let Some(t) = a.tensor("value")? {
        return known(t);
    }
    if let Some(v) = a.get("value_float") {
        return known(Const::from_values(vec![], &[v.f()]));
    }
    if let Some(v) = a.floats("value_floats")? {
        return known(Const::from_values(vec![v.len()], &v));
    }
    if let Some(v) = a.opt_int("value_int")? {
        return known(i64s(vec![], &[v]));
    }
    if let Some(v) = a.ints("value_ints")? {
        return known(i64s(vec![v.len()], &v));
    }
    let which = ["sparse_value", "value_string", "value_strings"]
        .into_iter()
        .find(|n| a.has(n));
    Err(cx.err(match which {
        Some(n) => format!("`{n}` constants are not supported by born"),
        None => "no value attribute".to_string(),
    }))
}

/// `Shape`: the dimensions of input 0 (from `start` to `end`, opset 15), known now.
pub fn shape(cx: &mut NodeCx<'_>) -> Out {
    let dims = cx.dims(0)?;
    let r = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(cx.attrs.int("start", 0)?);
    let end = clamp(cx.attrs.int("end", r)?);
    let v: Vec<i64> = dims[start..end.max(start)]
        .iter()
        .map(|&d| d as i64)
        .collect();
    known(i64s(vec![v.len()], &v))
}

/// `Size`: the element count of input 0.
pub fn size(cx: &mut NodeCx<'_>) -> Out {
    let n: usize = cx.dims(0)?.iter().product();
    known(i64s(vec![], &[n as i64]))
}

/// Known input `k` as a list of non-negative dimensions.
fn known_dims(cx: &NodeCx<'_>, k: usize) -> Result<Vec<usize>> {
    cx.known_ints(k)?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| cx.err(format!("dimension {d} is negative"))))
        .collect()
}

pub fn constant_of_shape(cx: &mut NodeCx<'_>) -> Out {
    let dims = known_dims(cx, 0)?;
    let value = cx
        .attrs
        .tensor("value")?
        .unwrap_or_else(|| Const::from_values(vec![1], &[0f32]));
    if value.numel() != 1 {
        return Err(cx.err("`value` must hold one element"));
    }
    let n = tensor::bytes_of(&dims, 1, tensor::MAX_COMPUTED_BYTES / value.dtype.size())
        .ok_or_else(|| {
            cx.err(format!(
                "a constant of shape {dims:?} is too large to compute"
            ))
        })?;
    known(Const {
        dtype: value.dtype,
        bytes: value.bytes.repeat(n),
        dims,
    })
}

/// `Range`: computed now from known scalar inputs.
pub fn range(cx: &mut NodeCx<'_>) -> Out {
    let dtype = cx.dtype(0)?;
    let scalar = |k: usize| -> Result<Rc<Const>> {
        let c = cx.known(k)?;
        if c.numel() != 1 {
            return Err(cx.err(format!("input {k} must be a scalar")));
        }
        Ok(c)
    };
    let (s, l, d) = (scalar(0)?, scalar(1)?, scalar(2)?);
    let count = |n: f64| -> Result<usize> {
        if !n.is_finite() || n > (tensor::MAX_COMPUTED_BYTES / 8) as f64 {
            return Err(cx.err("the range has too many elements"));
        }
        Ok(n.ceil().max(0.0) as usize)
    };
    match dtype {
        DType::F32 => {
            let (s, l, d) = (s.to_f32()[0], l.to_f32()[0], d.to_f32()[0]);
            let n = count((f64::from(l) - f64::from(s)) / f64::from(d))?;
            let v: Vec<f32> = (0..n).map(|i| s + i as f32 * d).collect();
            known(Const::from_values(vec![n], &v))
        }
        DType::I64 | DType::I32 | DType::I16 => {
            let ints = |c: &Const| {
                c.to_i64()
                    .map(|v| v[0])
                    .ok_or_else(|| cx.err("integer range"))
            };
            let (s, l, d) = (ints(&s)?, ints(&l)?, ints(&d)?);
            if d == 0 {
                return Err(cx.err("delta is 0"));
            }
            let n = count((l as f64 - s as f64) / d as f64)?;
            let v: Vec<i64> = (0..n as i64).map(|i| s + i * d).collect();
            let c = i64s(vec![n], &v);
            known(match dtype {
                DType::I64 => c,
                DType::I32 => {
                    let v: Vec<i32> = v.iter().map(|&x| x as i32).collect();
                    Const::from_values(vec![n], &v)
                }
                _ => {
                    let v: Vec<i16> = v.iter().map(|&x| x as i16).collect();
                    Const::from_values(vec![n], &v)
                }
            })
        }
        d => Err(cx.err(format!("Range of {d:?} is not supported"))),
    }
}

/// Input 0 viewed as `dims` (a copy, or no copy where born's planner reuses the bytes).
fn view(cx: &mut NodeCx<'_>, dims: &[usize]) -> Out {
    if dims.len() > MAX_RANK {
        return Err(cx.err(format!("rank {} is above born's {MAX_RANK}", dims.len())));
    }
    let x = cx.tensor(0)?;
    one(cx.reshape(x, dims)?)
}

pub fn reshape(cx: &mut NodeCx<'_>) -> Out {
    let target = cx.known_ints(1)?;
    let allow_zero = cx.attrs.int("allowzero", 0)? != 0;
    let dims = cx.dims(0)?;
    let n: usize = dims.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (k, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(k);
                out.push(1);
            }
            0 if !allow_zero => out.push(
                *dims
                    .get(k)
                    .ok_or_else(|| cx.err(format!("shape entry {k} copies a missing axis")))?,
            ),
            t if t >= 0 => out.push(t as usize),
            t => return Err(cx.err(format!("shape entry {k} is {t}"))),
        }
    }
    let too_big = || cx.err(format!("shape {target:?} is too large"));
    let total = tensor::bytes_of(&out, 1, usize::MAX).ok_or_else(too_big)?;
    if let Some(k) = infer {
        let rest = total;
        if rest == 0 || n % rest != 0 {
            return Err(cx.err(format!(
                "cannot infer axis {k}: {n} elements do not divide into {target:?}"
            )));
        }
        out[k] = n / rest;
    }
    if tensor::bytes_of(&out, 1, usize::MAX).ok_or_else(too_big)? != n {
        return Err(cx.err(format!(
            "shape {target:?} has a different element count than the input {dims:?}"
        )));
    }
    view(cx, &out)
}

pub fn flatten(cx: &mut NodeCx<'_>) -> Out {
    let dims = cx.dims(0)?;
    let a = cx.attrs.int("axis", 1)?;
    let r = dims.len() as i64;
    if a < -r || a > r {
        return Err(cx.err(format!("axis {a} is out of range for rank {r}")));
    }
    let a = if a < 0 { a + r } else { a } as usize;
    let outer: usize = dims[..a].iter().product();
    let inner: usize = dims[a..].iter().product();
    view(cx, &[outer, inner])
}

/// The axes of `Squeeze`/`Unsqueeze`: attribute before opset 13, optional input 1 after.
fn axes_of(cx: &NodeCx<'_>) -> Result<Option<Vec<i64>>> {
    if cx.opset < 13 {
        cx.attrs.ints("axes")
    } else if cx.has(1) {
        Ok(Some(cx.known_ints(1)?))
    } else {
        Ok(None)
    }
}

pub fn squeeze(cx: &mut NodeCx<'_>) -> Out {
    let dims = cx.dims(0)?;
    let drop: Vec<usize> = match axes_of(cx)? {
        None => (0..dims.len()).filter(|&k| dims[k] == 1).collect(),
        Some(a) => a
            .iter()
            .map(|&v| axis(cx, v, dims.len()))
            .collect::<Result<_>>()?,
    };
    if let Some(&k) = drop.iter().find(|&&k| dims[k] != 1) {
        return Err(cx.err(format!("axis {k} has extent {}, not 1", dims[k])));
    }
    let out: Vec<usize> = (0..dims.len())
        .filter(|k| !drop.contains(k))
        .map(|k| dims[k])
        .collect();
    view(cx, &out)
}

pub fn unsqueeze(cx: &mut NodeCx<'_>) -> Out {
    let dims = cx.dims(0)?;
    let axes = axes_of(cx)?.ok_or_else(|| cx.err("needs axes"))?;
    let r = dims.len() + axes.len();
    let mut insert = axes
        .iter()
        .map(|&a| axis(cx, a, r))
        .collect::<Result<Vec<_>>>()?;
    insert.sort_unstable();
    if insert.windows(2).any(|w| w[0] == w[1]) {
        return Err(cx.err("an axis is listed twice"));
    }
    let mut src = dims.iter();
    let out: Vec<usize> = (0..r)
        .map(|k| {
            if insert.contains(&k) {
                1
            } else {
                src.next().copied().unwrap_or(1)
            }
        })
        .collect();
    view(cx, &out)
}

pub fn transpose(cx: &mut NodeCx<'_>) -> Out {
    let rank = cx.dims(0)?.len();
    let perm: Vec<usize> = match cx.attrs.ints("perm")? {
        Some(p) => p
            .iter()
            .map(|&v| axis(cx, v, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).rev().collect(),
    };
    let a = TransposeAttrs::new(&perm).ok_or_else(|| cx.err(format!("perm {perm:?}")))?;
    let x = cx.tensor(0)?;
    one(cx.op::<Transpose>(a, &[x])?)
}

pub fn concat(cx: &mut NodeCx<'_>) -> Out {
    let a = cx
        .attrs
        .opt_int("axis")?
        .ok_or_else(|| cx.err("needs attribute `axis`"))?;
    let rank = cx.dims(0)?.len();
    let ax = axis(cx, a, rank)?;
    // Zero-length inputs add nothing (and born's Concat wants extents of at least 0 in
    // every input alike).
    let mut ids = Vec::new();
    for k in 0..cx.n_inputs() {
        if cx.dims(k)?.get(ax) != Some(&0) || cx.n_inputs() == 1 {
            ids.push(cx.tensor(k)?);
        }
    }
    if ids.is_empty() {
        ids.push(cx.tensor(0)?);
    }
    let attrs = ConcatAttrs { axis: ax as i32 };
    while ids.len() > MAX_INPUTS {
        let rest = ids.split_off(MAX_INPUTS);
        let head = cx.op::<Concat>(attrs, &ids)?;
        ids = std::iter::once(head).chain(rest).collect();
    }
    one(cx.op::<Concat>(attrs, &ids)?)
}

pub fn slice(cx: &mut NodeCx<'_>) -> Out {
    let rank = cx.dims(0)?.len();
    let (starts, ends, axes, steps) = if cx.opset < 10 {
        let starts = cx
            .attrs
            .ints("starts")?
            .ok_or_else(|| cx.err("needs starts"))?;
        let ends = cx.attrs.ints("ends")?.ok_or_else(|| cx.err("needs ends"))?;
        let axes = cx.attrs.ints("axes")?.unwrap_or_default();
        (starts, ends, axes, vec![])
    } else {
        let opt = |k: usize| -> Result<Vec<i64>> {
            if cx.has(k) {
                cx.known_ints(k)
            } else {
                Ok(vec![])
            }
        };
        (cx.known_ints(1)?, cx.known_ints(2)?, opt(3)?, opt(4)?)
    };
    for &a in &axes {
        axis(cx, a, rank)?;
    }
    let a = SliceAttrs::new(&starts, &ends, &axes, &steps)
        .ok_or_else(|| cx.err("starts, ends, axes and steps differ in length"))?;
    let x = cx.tensor(0)?;
    one(cx.op::<Slice>(a, &[x])?)
}

pub fn gather(cx: &mut NodeCx<'_>) -> Out {
    let a = cx.attrs.int("axis", 0)?;
    let ax = axis(cx, a, cx.dims(0)?.len())?;
    let (x, i) = (cx.tensor(0)?, cx.tensor(1)?);
    one(cx.op::<Gather>(GatherAttrs { axis: ax as i32 }, &[x, i])?)
}

pub fn gather_elements(cx: &mut NodeCx<'_>) -> Out {
    let a = cx.attrs.int("axis", 0)?;
    let ax = axis(cx, a, cx.dims(0)?.len())?;
    let (x, i) = (cx.tensor(0)?, cx.tensor(1)?);
    one(cx.op::<GatherElements>(GatherAttrs { axis: ax as i32 }, &[x, i])?)
}

fn dims_attr(cx: &NodeCx<'_>, dims: &[usize]) -> Result<Dims> {
    Shape::new(dims)
        .ok()
        .and_then(|s| Dims::from_shape(&s))
        .ok_or_else(|| cx.err(format!("shape {dims:?} does not fit born")))
}

pub fn expand(cx: &mut NodeCx<'_>) -> Out {
    let target = known_dims(cx, 1)?;
    let shape = dims_attr(cx, &target)?;
    let x = cx.tensor(0)?;
    one(cx.op::<Expand>(ExpandAttrs { shape }, &[x])?)
}

pub fn tile(cx: &mut NodeCx<'_>) -> Out {
    let reps = known_dims(cx, 1)?;
    let a = TileAttrs::new(&reps).ok_or_else(|| cx.err("too many repeats"))?;
    let x = cx.tensor(0)?;
    one(cx.op::<Tile>(a, &[x])?)
}

/// `Pad` (constant, reflect and edge modes); negative pads crop.
pub fn pad(cx: &mut NodeCx<'_>) -> Out {
    let rank = cx.dims(0)?.len();
    let mode = match cx.attrs.string("mode", "constant")?.as_str() {
        "constant" => Mode::Constant,
        "reflect" => Mode::Reflect,
        "edge" => Mode::Edge,
        m => return Err(cx.err(format!("mode `{m}` is not supported by born"))),
    };
    let (pads, value, axes) = if cx.opset < 11 {
        let pads = cx
            .attrs
            .ints(if cx.opset < 2 { "paddings" } else { "pads" })?
            .ok_or_else(|| cx.err("needs pads"))?;
        (pads, f64::from(cx.attrs.float("value", 0.0)?), None)
    } else {
        let value = if cx.has(2) {
            let c = cx.known(2)?;
            match c.to_i64() {
                Some(v) => v.first().copied().unwrap_or(0) as f64,
                None => f64::from(c.to_f32().first().copied().unwrap_or(0.0)),
            }
        } else {
            0.0
        };
        let axes = if cx.has(3) {
            Some(cx.known_ints(3)?)
        } else {
            None
        };
        (cx.known_ints(1)?, value, axes)
    };
    let axes: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|&v| axis(cx, v, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(cx.err(format!(
            "{} pads for {} axes (need two per axis)",
            pads.len(),
            axes.len()
        )));
    }
    let (mut begin, mut end) = (vec![0i64; rank], vec![0i64; rank]);
    for (j, &a) in axes.iter().enumerate() {
        begin[a] = pads[j];
        end[a] = pads[j + axes.len()];
    }
    let grow = |v: &[i64]| v.iter().map(|&p| p.max(0) as usize).collect::<Vec<_>>();
    let a = PadAttrs::new(&grow(&begin), &grow(&end), mode, value)
        .ok_or_else(|| cx.err("pads do not fit born"))?;
    let x = cx.tensor(0)?;
    let mut y = cx.op::<Pad>(a, &[x])?;
    if begin.iter().chain(&end).any(|&p| p < 0) {
        let padded = cx.tensor_info(y).1;
        let starts: Vec<i64> = begin.iter().map(|&p| (-p).max(0)).collect();
        let ends: Vec<i64> = end
            .iter()
            .zip(&padded)
            .map(|(&p, &d)| d as i64 - (-p).max(0))
            .collect();
        let s = SliceAttrs::new(&starts, &ends, &[], &[]).ok_or_else(|| cx.err("crop"))?;
        y = cx.op::<Slice>(s, &[y])?;
    }
    one(y)
}

pub fn split(cx: &mut NodeCx<'_>) -> Out {
    let dims = cx.dims(0)?;
    let ax = axis(cx, cx.attrs.int("axis", 0)?, dims.len())?;
    let n_out = cx.node.output.len();
    let len = dims[ax];
    let given = if cx.opset < 13 {
        cx.attrs.ints("split")?
    } else if cx.has(1) {
        Some(cx.known_ints(1)?)
    } else {
        None
    };
    let sizes: Vec<usize> = match given {
        Some(s) => s
            .iter()
            .map(|&v| usize::try_from(v).map_err(|_| cx.err(format!("split size {v}"))))
            .collect::<Result<_>>()?,
        None => {
            let n = match cx.attrs.opt_int("num_outputs")? {
                Some(n) if n as usize != n_out => {
                    return Err(cx.err("num_outputs differs from the output count"))
                }
                _ => n_out,
            };
            let chunk = len.div_ceil(n.max(1));
            (0..n)
                .map(|k| chunk.min(len.saturating_sub(k * chunk)))
                .collect()
        }
    };
    if sizes.len() != n_out || sizes.iter().sum::<usize>() != len {
        return Err(cx.err(format!(
            "split sizes {sizes:?} do not cover axis {ax} ({len}) in {n_out} outputs"
        )));
    }
    if n_out > MAX_OUTPUTS {
        return Err(cx.err(format!(
            "{n_out} outputs: born's Split has at most {MAX_OUTPUTS}"
        )));
    }
    let mut s = [0u32; MAX_OUTPUTS];
    for (d, &v) in s.iter_mut().zip(&sizes) {
        *d = v as u32;
    }
    let x = cx.tensor(0)?;
    let ids = cx.op_multi::<Split>(
        SplitAttrs {
            axis: ax as i32,
            sizes: s,
        },
        &[x],
        n_out,
    )?;
    Ok(ids.into_iter().map(Value::Tensor).collect())
}

fn cast_to(cx: &mut NodeCx<'_>, to: DType) -> Out {
    let x = cx.tensor(0)?;
    if cx.dtype(0)? == to {
        let dims = cx.dims(0)?;
        return one(cx.reshape(x, &dims)?);
    }
    one(cx.op::<Cast>(CastAttrs { to }, &[x])?)
}

pub fn cast(cx: &mut NodeCx<'_>) -> Out {
    let code = cx
        .attrs
        .opt_int("to")?
        .ok_or_else(|| cx.err("needs attribute `to`"))? as i32;
    let to = tensor::dtype_of(code).ok_or_else(|| {
        cx.err(format!(
            "cast to {} is not supported by born",
            tensor::type_name(code)
        ))
    })?;
    cast_to(cx, to)
}

pub fn cast_like(cx: &mut NodeCx<'_>) -> Out {
    let to = cx.dtype(1)?;
    cast_to(cx, to)
}

/// `Trilu`: the upper (or lower) triangle of the last two axes from diagonal `k`, the rest
/// zero (a known mask and `Where`).
pub fn trilu(cx: &mut NodeCx<'_>) -> Out {
    let dims = cx.dims(0)?;
    let upper = cx.attrs.int("upper", 1)? != 0;
    let k = if cx.has(1) {
        *cx.known_ints(1)?
            .first()
            .ok_or_else(|| cx.err("k is empty"))?
    } else {
        0
    };
    let [rows, cols] = match dims.as_slice() {
        [.., r, c] => [*r, *c],
        _ => return Err(cx.err("needs rank 2 or more")),
    };
    let mut mask = Vec::with_capacity(rows * cols);
    for i in 0..rows as i64 {
        for j in 0..cols as i64 {
            mask.push(u8::from(if upper { j - i >= k } else { j - i <= k }));
        }
    }
    let m = cx.new_const(Const {
        dtype: DType::Bool,
        dims: vec![rows, cols],
        bytes: mask,
    })?;
    let dtype = cx.dtype(0)?;
    let zero = cx.new_const(Const {
        dtype,
        dims: vec![],
        bytes: vec![0; dtype.size()],
    })?;
    let x = cx.tensor(0)?;
    one(cx.op::<born_core::ops::where_select::Where>((), &[m, x, zero])?)
}

/// `EyeLike`: ones on diagonal `k` of a matrix shaped like input 0, known now.
pub fn eye_like(cx: &mut NodeCx<'_>) -> Out {
    let dims = cx.dims(0)?;
    let [rows, cols] = match dims.as_slice() {
        [r, c] => [*r, *c],
        _ => return Err(cx.err("needs a 2-D input")),
    };
    let dtype = match cx.attrs.opt_int("dtype")? {
        Some(code) => tensor::dtype_of(code as i32).ok_or_else(|| {
            cx.err(format!(
                "element type {} is not supported by born",
                tensor::type_name(code as i32)
            ))
        })?,
        None => cx.dtype(0)?,
    };
    let k = cx.attrs.int("k", 0)?;
    let one_bytes = match dtype {
        DType::F32 => 1f32.to_le_bytes().to_vec(),
        DType::F16 => half::f16::ONE.to_le_bytes().to_vec(),
        DType::F64 => 1f64.to_le_bytes().to_vec(),
        d => {
            let mut b = vec![0u8; d.size()];
            b[0] = 1;
            b
        }
    };
    let mut bytes = vec![0u8; rows * cols * dtype.size()];
    for i in 0..rows as i64 {
        let j = i + k;
        if (0..cols as i64).contains(&j) {
            let at = (i as usize * cols + j as usize) * dtype.size();
            bytes[at..at + dtype.size()].copy_from_slice(&one_bytes);
        }
    }
    known(Const { dtype, dims, bytes })
}

/// Reshape, transpose, reshape: the block moves of `DepthToSpace` and `SpaceToDepth`.
fn blocks(cx: &mut NodeCx<'_>, view: &[usize], perm: &[usize], out: &[usize]) -> Out {
    let x = cx.tensor(0)?;
    let v = cx.reshape(x, view)?;
    let t = super::permute(cx, v, perm)?;
    one(cx.reshape(t, out)?)
}

fn nchw_blocks(cx: &NodeCx<'_>) -> Result<([usize; 4], usize)> {
    let b = cx.attrs.int("blocksize", 0)?;
    if b < 1 {
        return Err(cx.err(format!("blocksize {b}")));
    }
    match *cx.dims(0)?.as_slice() {
        [n, c, h, w] => Ok(([n, c, h, w], b as usize)),
        _ => Err(cx.err("needs a 4-D input")),
    }
}

pub fn depth_to_space(cx: &mut NodeCx<'_>) -> Out {
    let ([n, c, h, w], b) = nchw_blocks(cx)?;
    if c % (b * b) != 0 {
        return Err(cx.err(format!("{c} channels do not divide by blocksize^2")));
    }
    let out = [n, c / (b * b), h * b, w * b];
    match cx.attrs.string("mode", "DCR")?.as_str() {
        "DCR" => blocks(cx, &[n, b, b, c / (b * b), h, w], &[0, 3, 4, 1, 5, 2], &out),
        "CRD" => blocks(cx, &[n, c / (b * b), b, b, h, w], &[0, 1, 4, 2, 5, 3], &out),
        m => Err(cx.err(format!("mode `{m}`"))),
    }
}

pub fn space_to_depth(cx: &mut NodeCx<'_>) -> Out {
    let ([n, c, h, w], b) = nchw_blocks(cx)?;
    if h % b != 0 || w % b != 0 {
        return Err(cx.err("height and width must divide by blocksize"));
    }
    blocks(
        cx,
        &[n, c, h / b, b, w / b, b],
        &[0, 3, 5, 1, 2, 4],
        &[n, c * b * b, h / b, w / b],
    )
}

/// `0, 1, .., len - 1` as i64, shaped to broadcast along `axis` of a rank-`rank` tensor.
pub(crate) fn iota_along(len: usize, axis: usize, rank: usize) -> Const {
    let v: Vec<i64> = (0..len as i64).collect();
    let mut dims = vec![1; rank];
    dims[axis] = len;
    Const::from_values(dims, &v)
}

/// `OneHot(indices, depth, values)`: `values[1]` where the index (negative counts from
/// `depth`) equals the position along the new axis, `values[0]` elsewhere.
pub fn one_hot(cx: &mut NodeCx<'_>) -> Out {
    use born_core::kernels::compare::CompareOp;
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::compare::{Compare, CompareAttrs};
    use born_core::ops::where_select::Where;
    let depth = cx.known(1)?.to_f32();
    let depth = match depth.as_slice() {
        [d] if *d >= 1.0 => *d as usize,
        _ => return Err(cx.err("depth must be one positive value")),
    };
    let values = cx.known(2)?;
    if values.numel() != 2 {
        return Err(cx.err("values must hold [off, on]"));
    }
    let dims = cx.dims(0)?;
    let rank = dims.len() + 1;
    let ax = axis(cx, cx.attrs.int("axis", -1)?, rank)?;
    let mut idx = cx.tensor(0)?;
    if cx.dtype(0)? != DType::I64 {
        idx = cx.op::<Cast>(CastAttrs { to: DType::I64 }, &[idx])?;
    }
    let zero = cx.new_const(Const::from_values(vec![], &[0i64]))?;
    let d = cx.new_const(Const::from_values(vec![], &[depth as i64]))?;
    let neg = cx.op::<Compare>(CompareAttrs::new(CompareOp::Less), &[idx, zero])?;
    let wrapped = cx.op::<Binary>(BinaryOp::Add, &[idx, d])?;
    let idx = cx.op::<Where>((), &[neg, wrapped, idx])?;
    let mut view = dims.clone();
    view.insert(ax, 1);
    let idx = cx.reshape(idx, &view)?;
    let iota = cx.new_const(iota_along(depth, ax, rank))?;
    let hit = cx.op::<Compare>(CompareAttrs::new(CompareOp::Equal), &[idx, iota])?;
    let size = values.dtype.size();
    let off = cx.new_const(Const {
        dtype: values.dtype,
        dims: vec![],
        bytes: values.bytes[..size].to_vec(),
    })?;
    let on = cx.new_const(Const {
        dtype: values.dtype,
        dims: vec![],
        bytes: values.bytes[size..2 * size].to_vec(),
    })?;
    one(cx.op::<Where>((), &[hit, on, off])?)
}

/// `CenterCropPad`: each listed axis cropped or zero-padded to its target length, centred
/// (the extra element of an odd difference at the end).
pub fn center_crop_pad(cx: &mut NodeCx<'_>) -> Out {
    let dims = cx.dims(0)?;
    let target = known_dims(cx, 1)?;
    let axes: Vec<usize> = match cx.attrs.ints("axes")? {
        Some(a) => a
            .iter()
            .map(|&v| axis(cx, v, dims.len()))
            .collect::<Result<_>>()?,
        None => (0..dims.len()).collect(),
    };
    if axes.len() != target.len() {
        return Err(cx.err(format!("{} lengths for {} axes", target.len(), axes.len())));
    }
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    let (mut begin, mut end) = (vec![0usize; dims.len()], vec![0usize; dims.len()]);
    for (&a, &t) in axes.iter().zip(&target) {
        let d = dims[a];
        if t < d {
            starts.push(((d - t) / 2) as i64);
            ends.push(((d - t) / 2 + t) as i64);
        } else {
            starts.push(0);
            ends.push(d as i64);
            begin[a] = (t - d) / 2;
            end[a] = t - d - (t - d) / 2;
        }
    }
    let ax: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
    let s = SliceAttrs::new(&starts, &ends, &ax, &[]).ok_or_else(|| cx.err("crop"))?;
    let x = cx.tensor(0)?;
    let mut y = cx.op::<Slice>(s, &[x])?;
    if begin.iter().chain(&end).any(|&p| p > 0) {
        let p = PadAttrs::new(&begin, &end, Mode::Constant, 0.0).ok_or_else(|| cx.err("pad"))?;
        y = cx.op::<Pad>(p, &[y])?;
    }
    one(y)
}

/// A window function of known length (`HannWindow`, `HammingWindow`, `BlackmanWindow`):
/// `f(n, N)` for `n` in `0..size`, `N = size` (periodic, the default) or `size - 1`,
/// computed in f64 and stored as `output_datatype` (f32 by default).
fn window(cx: &mut NodeCx<'_>, f: fn(f64, f64) -> f64) -> Out {
    let size = cx.known_ints(0)?;
    let size = match size.as_slice() {
        [s] if *s >= 1 && *s <= 1 << 24 => *s as usize,
        _ => return Err(cx.err("size must be one value in 1..=2^24")),
    };
    let periodic = cx.attrs.int("periodic", 1)? != 0;
    let n_div = if periodic { size } else { size - 1 } as f64;
    let code = cx.attrs.int("output_datatype", 1)? as i32;
    let to = tensor::dtype_of(code).ok_or_else(|| {
        cx.err(format!(
            "output type {} is not supported by born",
            tensor::type_name(code)
        ))
    })?;
    let v: Vec<f64> = (0..size).map(|n| f(n as f64, n_div)).collect();
    let c = Const::from_values(vec![size], &v);
    if to == DType::F64 {
        return known(c);
    }
    // The conversion is born's Cast (folded now).
    let id = cx.new_const(c)?;
    one(cx.op::<Cast>(CastAttrs { to }, &[id])?)
}

pub fn hann_window(cx: &mut NodeCx<'_>) -> Out {
    window(cx, |n, d| {
        0.5 - 0.5 * (2.0 * std::f64::consts::PI * n / d).cos()
    })
}

pub fn hamming_window(cx: &mut NodeCx<'_>) -> Out {
    window(cx, |n, d| {
        let alpha = 25.0 / 46.0;
        alpha - (1.0 - alpha) * (2.0 * std::f64::consts::PI * n / d).cos()
    })
}

pub fn blackman_window(cx: &mut NodeCx<'_>) -> Out {
    window(cx, |n, d| {
        let pi = std::f64::consts::PI;
        -0.5 * (2.0 * pi * n / d).cos() + 0.08 * (4.0 * pi * n / d).cos() + 0.42
    })
}

/// `AffineGrid`: the sampling grid `theta @ [x, y, (z,) 1]` over the normalised output
/// positions (`align_corners` puts -1 and 1 on the corner pixels' centres), for a known
/// `size`.
pub fn affine_grid(cx: &mut NodeCx<'_>) -> Out {
    use born_core::ops::matmul::MatMul;
    let size = known_dims(cx, 1)?;
    let align = cx.attrs.int("align_corners", 0)? != 0;
    let spatial = match size.as_slice() {
        [_, _, rest @ ..] if (2..=3).contains(&rest.len()) => rest.to_vec(),
        _ => return Err(cx.err("size must be [N, C, H, W] or [N, C, D, H, W]")),
    };
    let coords = |len: usize| -> Vec<f64> {
        (0..len)
            .map(|i| {
                if align {
                    if len == 1 {
                        -1.0
                    } else {
                        -1.0 + 2.0 * i as f64 / (len - 1) as f64
                    }
                } else {
                    -1.0 + (2.0 * i as f64 + 1.0) / len as f64
                }
            })
            .collect()
    };
    let per: Vec<Vec<f64>> = spatial.iter().map(|&l| coords(l)).collect();
    let r = spatial.len();
    let cells: usize = spatial.iter().product();
    // base[c] for each cell: x (last axis), y, (z), 1.
    let mut base = vec![0f32; (r + 1) * cells];
    for cell in 0..cells {
        let mut rem = cell;
        let mut idx = vec![0usize; r];
        for a in (0..r).rev() {
            idx[a] = rem % spatial[a];
            rem /= spatial[a];
        }
        for c in 0..r {
            let a = r - 1 - c;
            base[c * cells + cell] = per[a][idx[a]] as f32;
        }
        base[r * cells + cell] = 1.0;
    }
    let b = cx.new_const(Const::from_values(vec![r + 1, cells], &base))?;
    let theta = cx.tensor(0)?;
    let td = cx.dims(0)?;
    if td.len() != 3 || td[1] != r || td[2] != r + 1 || td[0] != size[0] {
        return Err(cx.err(format!("theta {td:?} for size {size:?}")));
    }
    let g = cx.op::<MatMul>((), &[theta, b])?;
    let t = super::permute(cx, g, &[0, 2, 1])?;
    let mut out = vec![size[0]];
    out.extend(&spatial);
    out.push(r);
    one(cx.reshape(t, &out)?)
}
