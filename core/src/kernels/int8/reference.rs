//! Scalar reference twins: the specification every int8 path is tested against.

use super::{
    check_add, check_conv, check_fc, check_pool, check_softmax, AddParams, ConvParams, FcParams,
    SoftmaxParams, SCALED_DIFF_INTEGER_BITS,
};
use crate::kernels::pool::Pool2d;
use crate::quant::{
    exp_on_negative_values, get_reciprocal, multiply_by_quantized_multiplier,
    rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};
use crate::Result;

fn at<T: Copy>(s: &[T], i: usize, op: &'static str) -> Result<T> {
    s.get(i).copied().ok_or(super::oob(op))
}

/// Scalar reference twin of [`super::fully_connected`]; same contract.
#[allow(clippy::too_many_arguments)]
pub fn fully_connected_reference(
    p: &FcParams,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
) -> Result<()> {
    const OP: &str = "int8_fully_connected";
    let rq = check_fc(p, x, w, bias, multiplier, shift, out)?;
    for b in 0..p.batch {
        for c in 0..p.out_features {
            let mut acc = match bias {
                Some(bs) => at(bs, c, OP)?,
                None => 0,
            };
            for k in 0..p.in_features {
                let xv = i32::from(at(x, b * p.in_features + k, OP)?);
                let wv = i32::from(at(w, c * p.in_features + k, OP)?);
                acc = acc.wrapping_add((xv - p.input_zero_point) * wv);
            }
            let v = rq.apply(acc, at(multiplier, c, OP)?, at(shift, c, OP)?);
            *out.get_mut(b * p.out_features + c).ok_or(super::oob(OP))? = v;
        }
    }
    Ok(())
}

/// Scalar reference twin of [`super::conv2d`] (no scratch); same contract otherwise.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_reference(
    p: &ConvParams,
    x: &[i8],
    x_shape: [usize; 4],
    w: &[i8],
    w_shape: [usize; 4],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
) -> Result<()> {
    const OP: &str = "int8_conv2d";
    let (g, rq) = check_conv(p, x, x_shape, w, w_shape, bias, multiplier, shift, out)?;
    let zp = p.input_zero_point;
    for n in 0..g.n {
        for o in 0..g.o {
            let grp = o / g.og;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut acc = match bias {
                        Some(bs) => at(bs, o, OP)?,
                        None => 0,
                    };
                    for i in 0..g.cg {
                        let ic = grp * g.cg + i;
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                // Padded coordinates; outside the input the tap is the zero
                                // point, which contributes nothing.
                                let py = oy * g.sh + ky * g.dh;
                                let px = ox * g.sw + kx * g.dw;
                                if py < g.pt || px < g.pl {
                                    continue;
                                }
                                let (iy, ix) = (py - g.pt, px - g.pl);
                                if iy >= g.h || ix >= g.w {
                                    continue;
                                }
                                let xi = ((n * g.c + ic) * g.h + iy) * g.w + ix;
                                let wi = ((o * g.cg + i) * g.kh + ky) * g.kw + kx;
                                let xv = i32::from(at(x, xi, OP)?);
                                let wv = i32::from(at(w, wi, OP)?);
                                acc = acc.wrapping_add((xv - zp) * wv);
                            }
                        }
                    }
                    let v = rq.apply(acc, at(multiplier, o, OP)?, at(shift, o, OP)?);
                    let oi = ((n * g.o + o) * g.oh + oy) * g.ow + ox;
                    *out.get_mut(oi).ok_or(super::oob(OP))? = v;
                }
            }
        }
    }
    Ok(())
}

fn pool_reference(
    op: &'static str,
    is_max: bool,
    p: &Pool2d,
    x: &[i8],
    shape: [usize; 4],
    out: &mut [i8],
) -> Result<()> {
    let g = check_pool(op, p, x.len(), shape, out.len())?;
    let [pt, pl, pb, pr] = g.pads;
    for plane in 0..g.planes {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let mut max = i32::from(i8::MIN);
                let mut sum = 0i64;
                let mut count = 0i64;
                for ky in 0..g.k[0] {
                    for kx in 0..g.k[1] {
                        let py = oy * g.s[0] + ky * g.d[0];
                        let px = ox * g.s[1] + kx * g.d[1];
                        let in_padded = py < pt + g.h + pb && px < pl + g.w + pr;
                        let inside = py >= pt && px >= pl && py - pt < g.h && px - pl < g.w;
                        if inside {
                            let xi = (plane * g.h + py - pt) * g.w + px - pl;
                            let v = i32::from(at(x, xi, op)?);
                            max = max.max(v);
                            sum += i64::from(v);
                        }
                        if inside || (g.include_pad && in_padded) {
                            count += 1;
                        }
                    }
                }
                let v = if is_max {
                    i64::from(max)
                } else if count == 0 {
                    0
                } else if sum >= 0 {
                    (sum + count / 2) / count
                } else {
                    (sum - count / 2) / count
                };
                let oi = (plane * g.oh + oy) * g.ow + ox;
                *out.get_mut(oi).ok_or(super::oob(op))? = v.clamp(-128, 127) as i8;
            }
        }
    }
    Ok(())
}

/// Scalar reference twin of [`super::max_pool2d`]; same contract.
pub fn max_pool2d_reference(p: &Pool2d, x: &[i8], shape: [usize; 4], out: &mut [i8]) -> Result<()> {
    pool_reference("int8_max_pool2d", true, p, x, shape, out)
}

/// Scalar reference twin of [`super::avg_pool2d`]; same contract.
pub fn avg_pool2d_reference(p: &Pool2d, x: &[i8], shape: [usize; 4], out: &mut [i8]) -> Result<()> {
    pool_reference("int8_avg_pool2d", false, p, x, shape, out)
}

/// One input of TFLite's int8 add, offset, shifted and rescaled to the common scale.
#[inline]
pub(super) fn add_scaled_input(v: i8, offset: i32, left_shift: i32, m: i32, s: i32) -> i32 {
    let shifted = (i32::from(v) + offset).wrapping_shl(left_shift as u32);
    multiply_by_quantized_multiplier(shifted, m, s)
}

/// The output step of TFLite's int8 add from the two rescaled inputs.
#[inline]
pub(super) fn add_output(p: &AddParams, a: i32, b: i32) -> i8 {
    let raw =
        multiply_by_quantized_multiplier(a.wrapping_add(b), p.output_multiplier, p.output_shift)
            .saturating_add(p.output_offset);
    raw.clamp(i32::from(p.act_min), i32::from(p.act_max)) as i8
}

/// Scalar reference twin of [`super::add`]; same contract.
pub fn add_reference(p: &AddParams, a: &[i8], b: &[i8], out: &mut [i8]) -> Result<()> {
    const OP: &str = "int8_add";
    check_add(p, a, b, out)?;
    for i in 0..a.len() {
        let bv = if b.len() == 1 {
            at(b, 0, OP)?
        } else {
            at(b, i, OP)?
        };
        let sa = add_scaled_input(
            at(a, i, OP)?,
            p.input1_offset,
            p.left_shift,
            p.input1_multiplier,
            p.input1_shift,
        );
        let sb = add_scaled_input(
            bv,
            p.input2_offset,
            p.left_shift,
            p.input2_multiplier,
            p.input2_shift,
        );
        *out.get_mut(i).ok_or(super::oob(OP))? = add_output(p, sa, sb);
    }
    Ok(())
}

/// Integer bits of softmax's sum of exponentials (TFLite's `kAccumulationIntegerBits`).
const ACCUMULATION_INTEGER_BITS: i32 = 12;

/// `exp(beta * scale * diff)` in Q0 for a difference from the row maximum, or `None` below
/// `diff_min`.
#[inline]
fn softmax_exp(p: &SoftmaxParams, diff: i32) -> Option<i32> {
    if diff < p.diff_min {
        return None;
    }
    // MultiplyByQuantizedMultiplierGreaterThanOne; diff >= diff_min keeps the shift in range.
    let rescaled = saturating_rounding_doubling_high_mul(
        diff.wrapping_shl(p.input_beta_left_shift as u32),
        p.input_beta_multiplier,
    );
    Some(exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS))
}

/// TFLite's reference int8 softmax of one row (parameters already validated).
pub(super) fn softmax_row(p: &SoftmaxParams, x: &[i8], out: &mut [i8]) {
    let max = x.iter().copied().max().map_or(0, i32::from);
    let mut sum = 0i32;
    for &v in x {
        if let Some(e) = softmax_exp(p, i32::from(v) - max) {
            // Rescale<12> of a Q0 value.
            sum = sum.wrapping_add(rounding_divide_by_pot(e, ACCUMULATION_INTEGER_BITS));
        }
    }
    let (scale, bits_over_unit) = get_reciprocal(sum, ACCUMULATION_INTEGER_BITS);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = match softmax_exp(p, i32::from(v) - max) {
            Some(e) => {
                let unsat = rounding_divide_by_pot(
                    saturating_rounding_doubling_high_mul(scale, e),
                    bits_over_unit + 31 - 8,
                );
                unsat.wrapping_add(-128).clamp(-128, 127) as i8
            }
            None => i8::MIN,
        };
    }
}

/// Scalar reference twin of [`super::softmax`]; same contract.
pub fn softmax_reference(
    p: &SoftmaxParams,
    x: &[i8],
    rows: usize,
    cols: usize,
    out: &mut [i8],
) -> Result<()> {
    check_softmax(p, x.len(), rows, cols, out.len())?;
    for r in 0..rows {
        let xr = x
            .get(r * cols..(r + 1) * cols)
            .ok_or(super::oob("int8_softmax"))?;
        let or = out
            .get_mut(r * cols..(r + 1) * cols)
            .ok_or(super::oob("int8_softmax"))?;
        softmax_row(p, xr, or);
    }
    Ok(())
}
