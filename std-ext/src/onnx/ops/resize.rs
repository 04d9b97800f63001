//! `Resize` (opsets 10 to 19) and `Upsample` (7 to 9) as born's `Resize`: the output
//! extents and each axis's scale are resolved here from the node's `scales` or `sizes`
//! (with `axes` and `keep_aspect_ratio_policy`), which must be known when converting, as
//! must `roi`.

use super::{axis, one};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::Const;
use born_core::dtype::DType;
use born_core::kernels::resize::{Coord, Interp, Nearest};
use born_core::ops::resize::{Resize, ResizeAttrs, Scales};
use std::rc::Rc;

type Out = Result<Vec<Value>>;

/// Known input `k`, `None` when absent or empty (ONNX's way of leaving one out).
fn optional(cx: &NodeCx<'_>, k: usize) -> Result<Option<Rc<Const>>> {
    if !cx.has(k) {
        return Ok(None);
    }
    let c = cx.known(k)?;
    Ok((c.numel() > 0).then_some(c))
}

fn f32_input(cx: &NodeCx<'_>) -> Result<Vec<usize>> {
    match cx.dtype(0)? {
        DType::F32 => cx.dims(0),
        d => Err(cx.err(format!("input is {d:?}: born resizes f32 only"))),
    }
}

/// The filter named by `mode` (`nearest` rounding as given).
fn interp(cx: &NodeCx<'_>, mode: &str, nearest: Nearest) -> Result<Interp> {
    Ok(match mode {
        "nearest" => Interp::Nearest(nearest),
        "linear" | "bilinear" | "trilinear" => Interp::Linear,
        "cubic" | "bicubic" => Interp::Cubic,
        m => return Err(cx.err(format!("mode `{m}` is not supported by born"))),
    })
}

/// The output extent `floor(len * scale)` of a scale given for an axis of `len`.
fn scaled(cx: &NodeCx<'_>, len: usize, s: f32) -> Result<usize> {
    if !(s.is_finite() && s > 0.0) {
        return Err(cx.err(format!("scale {s} must be finite and positive")));
    }
    let n = (f64::from(s) * len as f64).floor();
    if n > f64::from(u32::MAX) {
        return Err(cx.err(format!("scale {s} makes an axis of {n} elements")));
    }
    Ok(n as usize)
}

/// A resize of every axis by `scales` with `interp` and `coord` (`Upsample`, `Resize-10`).
fn by_scales(cx: &mut NodeCx<'_>, scales: &[f32], interp: Interp, coord: Coord) -> Out {
    let dims = f32_input(cx)?;
    if scales.len() != dims.len() {
        return Err(cx.err(format!(
            "{} scales for an input of rank {}",
            scales.len(),
            dims.len()
        )));
    }
    let out = dims
        .iter()
        .zip(scales)
        .map(|(&n, &s)| scaled(cx, n, s))
        .collect::<Result<Vec<_>>>()?;
    let given = Scales::given(scales);
    let a = given
        .and_then(|s| ResizeAttrs::new(interp, coord, &out, s))
        .ok_or_else(|| cx.err(format!("rank {} does not fit born", dims.len())))?;
    let x = cx.tensor(0)?;
    one(cx.op::<Resize>(a, &[x])?)
}

/// `Upsample`: nearest or linear, output `floor(in * scale)` along each axis, source
/// coordinate `j / scale`, nearest rounding down (opset 7's `scales` attribute, opset 9's
/// input).
pub fn upsample(cx: &mut NodeCx<'_>) -> Out {
    let scales = if cx.opset < 9 {
        cx.attrs
            .floats("scales")?
            .ok_or_else(|| cx.err("needs scales"))?
    } else {
        cx.known(1)?.to_f32()
    };
    let mode = cx.attrs.string("mode", "nearest")?;
    let interp = interp(cx, &mode, Nearest::Floor)?;
    if interp == Interp::Cubic {
        return Err(cx.err("mode `cubic` is not an Upsample mode"));
    }
    by_scales(cx, &scales, interp, Coord::Asymmetric)
}

/// `Resize`. Opset 10 is `Upsample`'s rule (any scale); from 11 on, `roi`, `scales` and
/// `sizes` inputs and the coordinate transformation, rounding and cubic attributes; from 18
/// on, `axes`, `keep_aspect_ratio_policy` and `antialias`.
pub fn resize(cx: &mut NodeCx<'_>) -> Out {
    if cx.opset < 11 {
        let scales = cx.known(1)?.to_f32();
        let mode = cx.attrs.string("mode", "nearest")?;
        let interp = interp(cx, &mode, Nearest::Floor)?;
        if interp == Interp::Cubic {
            return Err(cx.err("mode `cubic` needs opset 11"));
        }
        return by_scales(cx, &scales, interp, Coord::Asymmetric);
    }
    let dims = f32_input(cx)?;
    let rank = dims.len();
    let nearest = match cx
        .attrs
        .string("nearest_mode", "round_prefer_floor")?
        .as_str()
    {
        "round_prefer_floor" => Nearest::RoundPreferFloor,
        "round_prefer_ceil" => Nearest::RoundPreferCeil,
        "floor" => Nearest::Floor,
        "ceil" => Nearest::Ceil,
        m => return Err(cx.err(format!("nearest_mode `{m}` is not supported by born"))),
    };
    let mode = cx.attrs.string("mode", "nearest")?;
    let interp = interp(cx, &mode, nearest)?;
    let coord = match cx
        .attrs
        .string("coordinate_transformation_mode", "half_pixel")?
        .as_str()
    {
        "half_pixel" => Coord::HalfPixel,
        "half_pixel_symmetric" => Coord::HalfPixelSymmetric,
        "pytorch_half_pixel" => Coord::PytorchHalfPixel,
        "align_corners" => Coord::AlignCorners,
        "asymmetric" => Coord::Asymmetric,
        "tf_crop_and_resize" => Coord::TfCropAndResize,
        m => {
            return Err(cx.err(format!(
                "coordinate_transformation_mode `{m}` is not supported by born"
            )))
        }
    };
    let antialias = cx.attrs.int("antialias", 0)? != 0;
    if antialias && matches!(interp, Interp::Nearest(_)) {
        return Err(cx.err("antialias applies to the linear and cubic modes only"));
    }
    let axes: Vec<usize> = match cx.attrs.ints("axes")? {
        Some(v) => v
            .iter()
            .map(|&a| axis(cx, a, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if (1..axes.len()).any(|i| axes[..i].contains(&axes[i])) {
        return Err(cx.err(format!("axes {axes:?} repeat an axis")));
    }
    let (scales, sizes) = (optional(cx, 2)?, optional(cx, 3)?);
    let n = axes.len();
    let mut out = dims.clone();
    let rule = match (scales, sizes) {
        (Some(s), None) => {
            let s = s.to_f32();
            if s.len() != n {
                return Err(cx.err(format!("{} scales for {n} axes", s.len())));
            }
            let mut all = vec![0.0f32; rank];
            for (&a, &v) in axes.iter().zip(&s) {
                out[a] = scaled(cx, dims[a], v)?;
                all[a] = v;
            }
            Scales::given(&all).ok_or_else(|| cx.err("rank does not fit born"))?
        }
        (None, Some(s)) => {
            let s = s.to_i64().ok_or_else(|| cx.err("sizes must be integers"))?;
            if s.len() != n || s.iter().any(|&v| !(0..=i64::from(u32::MAX)).contains(&v)) {
                return Err(cx.err(format!("sizes {s:?} for {n} axes")));
            }
            let policy = cx.attrs.string("keep_aspect_ratio_policy", "stretch")?;
            let ratio = |j: usize| s[j] as f64 / dims[axes[j]] as f64;
            let pick = match policy.as_str() {
                "stretch" => None,
                "not_larger" => (0..n).min_by(|&i, &j| ratio(i).total_cmp(&ratio(j))),
                "not_smaller" => (0..n).max_by(|&i, &j| ratio(i).total_cmp(&ratio(j))),
                p => {
                    return Err(cx.err(format!(
                        "keep_aspect_ratio_policy `{p}` is not supported by born"
                    )))
                }
            };
            match pick {
                None => {
                    for (&a, &v) in axes.iter().zip(&s) {
                        out[a] = v as usize;
                    }
                    Scales::Sizes
                }
                Some(k) => {
                    if axes.iter().any(|&a| dims[a] == 0) {
                        return Err(cx.err("keep_aspect_ratio_policy with an empty axis"));
                    }
                    let scale = ratio(k);
                    for &a in &axes {
                        out[a] = (scale * dims[a] as f64 + 0.5).floor() as usize;
                    }
                    Scales::SizesOf(axes[k] as u8)
                }
            }
        }
        (Some(_), Some(_)) => return Err(cx.err("both scales and sizes are given")),
        (None, None) => return Err(cx.err("needs scales or sizes")),
    };
    let mut a = ResizeAttrs::new(interp, coord, &out, rule)
        .ok_or_else(|| cx.err(format!("rank {rank} does not fit born")))?;
    a.axes = axes.iter().fold(0u8, |m, &i| m | 1 << i);
    a.cubic_a = cx.attrs.float("cubic_coeff_a", -0.75)?;
    a.exclude_outside = cx.attrs.int("exclude_outside", 0)? != 0;
    a.antialias = antialias;
    a.extrapolation = cx.attrs.float("extrapolation_value", 0.0)?;
    if coord == Coord::TfCropAndResize {
        let roi = optional(cx, 1)?.map(|c| c.to_f32());
        let roi = roi.unwrap_or_else(|| [vec![0.0; n], vec![1.0; n]].concat());
        if roi.len() != 2 * n {
            return Err(cx.err(format!("{} roi values for {n} axes", roi.len())));
        }
        for (j, &ax) in axes.iter().enumerate() {
            a.roi_start[ax] = roi[j];
            a.roi_end[ax] = roi[n + j];
        }
    }
    let x = cx.tensor(0)?;
    one(cx.op::<Resize>(a, &[x])?)
}
