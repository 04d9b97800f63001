//! `ConvTranspose`: 1-D and 2-D transposed convolution onto born's `ConvTranspose2d` (a 1-D
//! one runs as 2-D with height 1).
//!
//! Padding follows the ONNX definition. With `pads` (and `auto_pad` `NOTSET`) the output
//! is `stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pad_begin - pad_end`.
//! With `output_shape`, or `auto_pad` `SAME_UPPER`/`SAME_LOWER` (target `in * stride`), the
//! padding is derived: `total = stride * (in - 1) + output_padding + (k - 1) * dilation + 1 -
//! target`, split `total / 2` at the start and the rest at the end for `SAME_UPPER`, the
//! other way round otherwise. A negative total (a target past the full result) pads
//! nothing and extends the end of the output instead, as `output_padding` does.

use super::{one, require_f32};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use born_core::kernels::conv::transpose::ConvTranspose2d as Geometry;
use born_core::ops::conv_transpose::ConvTranspose2d;

/// The padding of one spatial axis: cropped at the start and at the end, and the rows or
/// columns added after the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AxisPad {
    begin: usize,
    end: usize,
    extra: usize,
}

/// One spatial axis as the attributes give it.
#[derive(Clone, Copy, Debug)]
struct Axis {
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    output_padding: usize,
}

impl Axis {
    /// `stride * (in - 1) + output_padding + (k - 1) * dilation + 1`, the output size
    /// before padding.
    fn full(&self) -> Option<i64> {
        let f = |v: usize| i64::try_from(v).ok();
        f(self.input - 1)?
            .checked_mul(f(self.stride)?)?
            .checked_add(f(self.output_padding)?)?
            .checked_add(f(self.kernel - 1)?.checked_mul(f(self.dilation)?)?)?
            .checked_add(1)
    }

    /// The padding that makes the output `target` long, split as `auto_pad` says.
    fn pad_to(&self, cx: &NodeCx<'_>, target: i64, upper: bool) -> Result<AxisPad> {
        let overflow = || cx.err("sizes overflow");
        let total = self.full().ok_or_else(overflow)?.checked_sub(target);
        let total = total.ok_or_else(overflow)?;
        if total >= 0 {
            let (small, large) = ((total / 2) as usize, (total - total / 2) as usize);
            let (begin, end) = if upper {
                (small, large)
            } else {
                (large, small)
            };
            return Ok(AxisPad {
                begin,
                end,
                extra: self.output_padding,
            });
        }
        let extra = usize::try_from(-total)
            .ok()
            .and_then(|e| e.checked_add(self.output_padding))
            .ok_or_else(overflow)?;
        if extra >= self.stride && extra >= self.dilation {
            return Err(cx.err(format!(
                "output size {target} is {} past the full result: born extends the output \
                 by less than the stride ({}) or the dilation ({}) only",
                -total, self.stride, self.dilation
            )));
        }
        Ok(AxisPad {
            begin: 0,
            end: 0,
            extra,
        })
    }
}

/// Attribute `name` as `n` integers of at least `min` (`default` each when absent).
fn list(cx: &NodeCx<'_>, name: &str, n: usize, default: i64, min: i64) -> Result<Vec<usize>> {
    let v = cx.attrs.ints(name)?.unwrap_or_else(|| vec![default; n]);
    if v.len() != n || v.iter().any(|&x| x < min) {
        return Err(cx.err(format!("`{name}` must be {n} values >= {min}, got {v:?}")));
    }
    Ok(v.iter().map(|&x| x as usize).collect())
}

/// The padding of every spatial axis from `pads`, `auto_pad` and `output_shape`.
fn paddings(cx: &NodeCx<'_>, axes: &[Axis]) -> Result<Vec<AxisPad>> {
    let n = axes.len();
    let auto = cx.attrs.string("auto_pad", "NOTSET")?;
    if !matches!(
        auto.as_str(),
        "NOTSET" | "VALID" | "SAME_UPPER" | "SAME_LOWER"
    ) {
        return Err(cx.err(format!("auto_pad `{auto}`")));
    }
    let upper = auto == "SAME_UPPER";
    if let Some(shape) = cx.attrs.ints("output_shape")? {
        // The spatial sizes; a full `[N, C, ..]` shape is accepted too.
        let spatial = match shape.len() {
            l if l == n => &shape[..],
            l if l == n + 2 => &shape[2..],
            _ => {
                return Err(cx.err(format!(
                    "`output_shape` must have {n} values, got {shape:?}"
                )))
            }
        };
        if spatial.iter().any(|&s| s < 1) {
            return Err(cx.err(format!("`output_shape` {shape:?} has a size below 1")));
        }
        return axes
            .iter()
            .zip(spatial)
            .map(|(a, &t)| a.pad_to(cx, t, upper))
            .collect();
    }
    match auto.as_str() {
        "SAME_UPPER" | "SAME_LOWER" => axes
            .iter()
            .map(|a| {
                let target = a
                    .input
                    .checked_mul(a.stride)
                    .and_then(|t| i64::try_from(t).ok());
                a.pad_to(cx, target.ok_or_else(|| cx.err("sizes overflow"))?, upper)
            })
            .collect(),
        "VALID" => Ok(axes
            .iter()
            .map(|a| AxisPad {
                begin: 0,
                end: 0,
                extra: a.output_padding,
            })
            .collect()),
        _ => {
            let p = list(cx, "pads", 2 * n, 0, 0)?;
            Ok(axes
                .iter()
                .enumerate()
                .map(|(i, a)| AxisPad {
                    begin: p[i],
                    end: p[i + n],
                    extra: a.output_padding,
                })
                .collect())
        }
    }
}

/// `ConvTranspose` (1-D and 2-D; f32).
pub fn conv_transpose(cx: &mut NodeCx<'_>) -> Result<Vec<Value>> {
    require_f32(cx, 0)?;
    require_f32(cx, 1)?;
    if cx.has(2) {
        require_f32(cx, 2)?;
    }
    let xd = cx.dims(0)?;
    let wd = cx.dims(1)?;
    let n = match xd.len() {
        3 => 1,
        4 => 2,
        r => {
            return Err(cx.err(format!(
                "input of rank {r}: born runs 1-D and 2-D transposed convolutions only"
            )))
        }
    };
    if wd.len() != xd.len() {
        return Err(cx.err(format!(
            "weight {wd:?} must have the input's rank {}",
            xd.len()
        )));
    }
    if xd.contains(&0) || wd.contains(&0) {
        return Err(cx.err(format!("empty input {xd:?} or weight {wd:?}")));
    }
    if let Some(k) = cx.attrs.ints("kernel_shape")? {
        if k.len() != n || k.iter().zip(&wd[2..]).any(|(&a, &b)| a != b as i64) {
            return Err(cx.err(format!(
                "kernel_shape {k:?} differs from the weight's {wd:?}"
            )));
        }
    }
    let groups = cx.attrs.int("group", 1)?;
    if groups < 1 {
        return Err(cx.err(format!("group {groups}")));
    }
    let stride = list(cx, "strides", n, 1, 1)?;
    let dilation = list(cx, "dilations", n, 1, 1)?;
    let output_padding = list(cx, "output_padding", n, 0, 0)?;
    let axes: Vec<Axis> = (0..n)
        .map(|i| Axis {
            input: xd[2 + i],
            kernel: wd[2 + i],
            stride: stride[i],
            dilation: dilation[i],
            output_padding: output_padding[i],
        })
        .collect();
    let pads = paddings(cx, &axes)?;
    // A 1-D op is its 2-D form with height 1 and a neutral height axis.
    let neutral = AxisPad {
        begin: 0,
        end: 0,
        extra: 0,
    };
    let (ph, pw) = if n == 1 {
        (neutral, pads[0])
    } else {
        (pads[0], pads[1])
    };
    let two = |v: &[usize], fill: usize| if n == 1 { [fill, v[0]] } else { [v[0], v[1]] };
    let attrs = Geometry {
        stride: two(&stride, 1),
        padding: [ph.begin, pw.begin, ph.end, pw.end],
        dilation: two(&dilation, 1),
        output_padding: [ph.extra, pw.extra],
        groups: groups as usize,
    };
    let mut x = cx.tensor(0)?;
    let mut w = cx.tensor(1)?;
    if n == 1 {
        x = cx.reshape(x, &[xd[0], xd[1], 1, xd[2]])?;
        w = cx.reshape(w, &[wd[0], wd[1], 1, wd[2]])?;
    }
    let y = if cx.has(2) {
        let b = cx.tensor(2)?;
        cx.op::<ConvTranspose2d>(attrs, &[x, w, b])?
    } else {
        cx.op::<ConvTranspose2d>(attrs, &[x, w])?
    };
    if n == 1 {
        let d = cx.tensor_info(y).1;
        return one(cx.reshape(y, &[d[0], d[1], d[3]])?);
    }
    one(y)
}
