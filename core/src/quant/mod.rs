//! int8 quantization parameters and fixed-point requantization, following TensorFlow Lite's
//! int8 quantization spec.
//!
//! A real value `r` is represented by an int8 `q` with `r = scale * (q - zero_point)`.
//! Weights are symmetric per output channel (`zero_point == 0`, [`QuantParams::symmetric`](crate::quant::QuantParams::symmetric)),
//! activations asymmetric per tensor ([`QuantParams::from_min_max`](crate::quant::QuantParams::from_min_max)), biases `i32` with
//! `scale = input_scale * weight_scale[c]` and zero point 0. A kernel's float rescaling
//! factor (e.g. `input_scale * weight_scale / output_scale`) is turned once into a
//! `(multiplier, shift)` pair by [`quantize_multiplier`](crate::quant::quantize_multiplier) and applied to `i32` accumulators by
//! [`multiply_by_quantized_multiplier`](crate::quant::multiply_by_quantized_multiplier), exactly as TFLite's reference kernels do (gemmlowp's
//! `SaturatingRoundingDoublingHighMul` then `RoundingDivideByPOT`; the classic double
//! rounding, not TFLite's `TFLITE_SINGLE_ROUNDING` variant).
//!
//! Everything here is integer or `f32` arithmetic except the preparation-time functions
//! ([`quantize_multiplier`](crate::quant::quantize_multiplier), [`QuantParams::from_min_max`](crate::quant::QuantParams::from_min_max)), which use `f64` like TFLite.

mod fixedpoint;

pub(crate) use fixedpoint::{exp_on_negative_values, get_reciprocal};
pub use fixedpoint::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul};

use crate::{Error, Result};

/// Splits a finite positive `x` into `(q, e)` with `x = q * 2^e`, `q` in `[0.5, 1)`, like C's
/// `frexp`. Subnormal `x` gives `None` (callers treat it as too small to matter).
fn frexp_normal(x: f64) -> Option<(f64, i32)> {
    let bits = x.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    if exp_bits == 0 || exp_bits == 0x7ff {
        return None;
    }
    let q = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    Some((q, exp_bits - 1022))
}

/// `round(x)` with ties away from zero for `0 <= x < 2^52`, without `std`.
fn round_half_away_nonneg(x: f64) -> i64 {
    let t = x as i64;
    if x - t as f64 >= 0.5 {
        t + 1
    } else {
        t
    }
}

/// TFLite's `QuantizeMultiplier`: `real ≈ multiplier * 2^(shift - 31)` with `multiplier` in
/// `[2^30, 2^31)`, `shift` in `[-31, 30]`.
///
/// `real == 0`, and a `real` so small that `shift` would fall below -31 (about `real <
/// 2^-32`), give `(0, 0)` as in TFLite (the factor is flushed to zero). The mantissa is
/// rounded half away from zero; a mantissa that rounds up to `2^31` is halved and `shift`
/// incremented.
///
/// Errors: [`Error::InvalidArgument`] when `real` is negative, NaN or infinite, or so large
/// (`real >= 2^30`, after rounding) that `shift` would exceed 30.
pub fn quantize_multiplier(real: f64) -> Result<(i32, i32)> {
    const OP: &str = "quantize_multiplier";
    if !real.is_finite() || real < 0.0 {
        return Err(Error::InvalidArgument {
            op: OP,
            what: "real multiplier must be finite and non-negative",
        });
    }
    if real == 0.0 {
        return Ok((0, 0));
    }
    let Some((q, mut shift)) = frexp_normal(real) else {
        return Ok((0, 0));
    };
    let mut q_fixed = round_half_away_nonneg(q * (1u64 << 31) as f64);
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return Ok((0, 0));
    }
    if shift > 30 {
        return Err(Error::InvalidArgument {
            op: OP,
            what: "real multiplier too large (shift above 30)",
        });
    }
    Ok((q_fixed as i32, shift))
}

/// TFLite's reference `MultiplyByQuantizedMultiplier`: with `left = max(shift, 0)` and
/// `right = max(-shift, 0)`,
/// `rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x * 2^left, multiplier), right)`.
///
/// `x * 2^left` wraps on overflow (TFLite leaves it undefined; kernels keep it in range).
/// `shift` is clamped into `[-31, 30]`, the range [`quantize_multiplier`] produces.
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let shift = shift.clamp(-31, 30);
    let left = shift.max(0) as u32;
    let right = (-shift).max(0);
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_shl(left), multiplier),
        right,
    )
}

fn check_scale(op: &'static str, scale: f32) -> Result<()> {
    if !scale.is_finite() || scale <= 0.0 {
        return Err(Error::InvalidArgument {
            op,
            what: "scale must be finite and positive",
        });
    }
    Ok(())
}

pub(crate) fn check_zero_point(op: &'static str, what: &'static str, zp: i32) -> Result<()> {
    if !(-128..=127).contains(&zp) {
        return Err(Error::InvalidArgument { op, what });
    }
    Ok(())
}

fn check_same_len(op: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected != got {
        return Err(Error::DimMismatch {
            op,
            what: "output length (must equal the input length)",
            expected,
            got,
        });
    }
    Ok(())
}

/// `round(v)` in `f32` with ties away from zero, saturated to `i32`; NaN gives 0.
///
/// Branch-free: `t = trunc(v)` (saturating `as`), then `v - t` is exact (in `(-1, 1)` below
/// 2^23, 0 from there up to 2^31), so `trunc(2 * (v - t))` is `±1` exactly when the fraction
/// reaches a half; above 2^31 the correction has `t`'s sign and the sum saturates as `t` did.
#[inline]
fn round_half_away_f32(v: f32) -> i32 {
    let t = v as i32;
    t.saturating_add((2.0 * (v - t as f32)) as i32)
}

/// Quantizes `x` into `out`: `q = clamp(round(x / scale) + zero_point, -128, 127)`, the
/// division done in `f32` (not a multiplication by `1 / scale`, as TFLite), rounding half
/// away from zero. NaN inputs give `zero_point`; infinities saturate.
///
/// Errors: [`Error::InvalidArgument`] for a NaN, infinite, zero or negative `scale`, or a
/// `zero_point` outside `[-128, 127]`; [`Error::DimMismatch`] when `out.len() != x.len()`.
pub fn quantize(x: &[f32], scale: f32, zero_point: i32, out: &mut [i8]) -> Result<()> {
    const OP: &str = "quantize";
    check_scale(OP, scale)?;
    check_zero_point(OP, "zero point must be in [-128, 127]", zero_point)?;
    check_same_len(OP, x.len(), out.len())?;
    for (o, &v) in out.iter_mut().zip(x) {
        let q = round_half_away_f32(v / scale).saturating_add(zero_point);
        *o = q.clamp(-128, 127) as i8;
    }
    Ok(())
}

/// Dequantizes `q` into `out`: `(q - zero_point) as f32 * scale`.
///
/// Errors: [`Error::InvalidArgument`] for a NaN, infinite, zero or negative `scale`, or a
/// `zero_point` outside `[-128, 127]`; [`Error::DimMismatch`] when `out.len() != q.len()`.
pub fn dequantize(q: &[i8], scale: f32, zero_point: i32, out: &mut [f32]) -> Result<()> {
    const OP: &str = "dequantize";
    check_scale(OP, scale)?;
    check_zero_point(OP, "zero point must be in [-128, 127]", zero_point)?;
    check_same_len(OP, q.len(), out.len())?;
    for (o, &v) in out.iter_mut().zip(q) {
        *o = (i32::from(v) - zero_point) as f32 * scale;
    }
    Ok(())
}

/// The scale and zero point of one int8 tensor (or one channel of it):
/// `real = scale * (q - zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    /// Step between consecutive int8 values; finite and positive.
    pub scale: f32,
    /// The int8 value that represents real 0, in `[-128, 127]`.
    pub zero_point: i32,
}

impl QuantParams {
    /// Asymmetric int8 parameters for the real range `[min, max]` (TensorFlow's
    /// `ChooseQuantizationParams` with `qmin = -128`, `qmax = 127`): the range is first
    /// widened to include 0, then `scale = (max - min) / 255` and the zero point is taken
    /// from whichever end gives the smaller error, clamped into `[-128, 127]` and rounded
    /// (half away from zero), so real 0 is exactly representable. Computed in `f64`, the
    /// scale rounded to `f32` at the end.
    ///
    /// When the widened range is empty (`min == max == 0`) the result is `scale = 1`,
    /// `zero_point = 0` (every value quantizes to 0 either way).
    ///
    /// Errors: [`Error::InvalidArgument`] when `min` or `max` is not finite or `min > max`.
    pub fn from_min_max(min: f32, max: f32) -> Result<QuantParams> {
        const OP: &str = "QuantParams::from_min_max";
        if !min.is_finite() || !max.is_finite() {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "range bounds must be finite",
            });
        }
        if min > max {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "min must not exceed max",
            });
        }
        let min = f64::from(min.min(0.0));
        let max = f64::from(max.max(0.0));
        if min == max {
            return Ok(QuantParams {
                scale: 1.0,
                zero_point: 0,
            });
        }
        let (qmin, qmax) = (-128.0f64, 127.0f64);
        let scale = (max - min) / (qmax - qmin);
        let zp_from_min = qmin - min / scale;
        let zp_from_max = qmax - max / scale;
        let err_min = qmin.abs() + (min / scale).abs();
        let err_max = qmax.abs() + (max / scale).abs();
        let zp = if err_min < err_max {
            zp_from_min
        } else {
            zp_from_max
        };
        let zero_point = if zp < qmin {
            -128
        } else if zp > qmax {
            127
        } else if zp >= 0.0 {
            round_half_away_nonneg(zp) as i32
        } else {
            -(round_half_away_nonneg(-zp) as i32)
        };
        let scale = scale as f32;
        // (max - min) / 255 of finite f32 bounds is at most ~2.7e36: finite; positive since
        // min < max. A subnormal-sized range could round to 0 in f32.
        let scale = if scale > 0.0 {
            scale
        } else {
            f32::MIN_POSITIVE
        };
        Ok(QuantParams { scale, zero_point })
    }

    /// Symmetric int8 parameters for weights: `scale = max_abs / 127`, `zero_point = 0`
    /// (so `[-max_abs, max_abs]` maps onto `[-127, 127]`). `|max_abs|` is used. A zero,
    /// NaN or tiny `max_abs` (scale below `f32::MIN_POSITIVE`) gives `scale =
    /// f32::MIN_POSITIVE` so the scale stays usable; an infinite one gives `f32::MAX / 127`.
    pub fn symmetric(max_abs: f32) -> QuantParams {
        let m = max_abs.abs();
        let scale = if m.is_nan() {
            f32::MIN_POSITIVE
        } else if m.is_infinite() {
            f32::MAX / 127.0
        } else {
            (m / 127.0).max(f32::MIN_POSITIVE)
        };
        QuantParams {
            scale,
            zero_point: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::round_half_away_f32;
    use proptest::prelude::*;

    /// `f32::round` (ties away from zero) with Rust's saturating, NaN-to-0 cast: the
    /// independent reference for the branch-free rounding.
    fn reference(v: f32) -> i32 {
        v.round() as i32
    }

    #[test]
    fn rounding_matches_std_at_the_edges() {
        let edges = [
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.499_999_97,
            -0.499_999_97,
            0.500_000_06,
            8_388_607.5,
            -8_388_607.5,
            8_388_608.0,
            16_777_217.0,
            2_147_483_520.0,
            2_147_483_648.0,
            -2_147_483_648.0,
            -2_147_483_904.0,
            3.0e38,
            -3.0e38,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
        ];
        for v in edges {
            assert_eq!(round_half_away_f32(v), reference(v), "v = {v:e}");
        }
    }

    proptest! {
        #[test]
        fn rounding_matches_std_on_any_bits(bits in any::<u32>()) {
            let v = f32::from_bits(bits);
            prop_assert_eq!(round_half_away_f32(v), reference(v), "v = {:e}", v);
        }

        #[test]
        fn rounding_matches_std_near_halves(n in -300_000i32..300_000, ulps in -2i32..=2) {
            let half = n as f32 + 0.5;
            let v = f32::from_bits((half.to_bits() as i32 + ulps) as u32);
            prop_assert_eq!(round_half_away_f32(v), reference(v), "v = {:e}", v);
        }
    }
}
