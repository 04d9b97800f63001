//! Element-wise unary math (the ONNX unary set beyond the activations).
//!
//! [`UnaryOp::apply`] is the scalar definition of each operation; [`unary`] and
//! [`unary_inplace`] run it over a slice, one loop per operation with the function inlined
//! (the loops are the reference: there is no separate SIMD path). The transcendental
//! functions are born's own ([`math::exp`], [`math::ln`], [`math::sqrt`], [`math::sin`],
//! [`math::cos`], [`math::erf`]), so results match the rest of the crate bit for bit and are
//! the same on every target; floor, ceil and round are computed from the bits, without `std`
//! or `libm`.
//!
//! NaN: every operation maps a NaN input to a NaN (Clip also maps a NaN bound to NaN, as
//! `numpy.clip` does). Signed zeros follow NumPy: `floor`, `ceil` and `round`
//! keep the sign of the input (`ceil(-0.5) = -0`, `round(-0.4) = -0`), `sign(±0) = +0`.
//!
//! Error bounds, in ulp of the exact result, are those of the [`math`] functions
//! (exp 1, ln 1, sin 1, cos 1, erf 3, sqrt 0). [`UnaryOp::Softplus`]: max error 2.49 ulp
//! over every 97th f32 in `[-105, 90]` (bound 3: exp's ulp, then ln's, a division and a
//! multiplication in `log1p`), from
//! `cargo test -p born-core --test unary softplus -- --nocapture`. The other operations are
//! exact: the result is the correctly rounded value of the formula in their doc, each step
//! in f32 (what NumPy computes in float32).

use crate::kernels::math;
use crate::{Error, Result};

/// An element-wise unary operation.
///
/// Parameters are f32 fields; [`UnaryOp::code`] and [`UnaryOp::params`] give a stable
/// encoding that [`UnaryOp::from_parts`] decodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// `|x|` (clears the sign bit: `abs(-0) = +0`).
    Abs,
    /// `-x` (flips the sign bit).
    Neg,
    /// `e^x` ([`math::exp`]).
    Exp,
    /// Natural logarithm ([`math::ln`]): `log(0) = -inf`, `log(x < 0) = NaN`.
    Log,
    /// Square root ([`math::sqrt`], correctly rounded): `sqrt(-0) = -0`, NaN below zero.
    Sqrt,
    /// `1 / x` (IEEE division: `1 / ±0 = ±inf`).
    Reciprocal,
    /// Largest integer `<= x`; `±0`, infinities and integers pass through.
    Floor,
    /// Smallest integer `>= x`; `ceil(-0.5) = -0`.
    Ceil,
    /// Nearest integer, ties to even (ONNX `Round`, `numpy.round`): `round(2.5) = 2`,
    /// `round(-0.4) = -0`.
    Round,
    /// `-1` below zero, `1` above, `+0` for `±0` (like `numpy.sign`), NaN for NaN.
    Sign,
    /// Sine ([`math::sin`]): `sin(±inf) = NaN`.
    Sin,
    /// Cosine ([`math::cos`]): `cos(±inf) = NaN`.
    Cos,
    /// The error function ([`math::erf`]): `erf(±inf) = ±1`.
    Erf,
    /// `clip(alpha * x + beta, 0, 1)`, each step rounded in f32 (ONNX defaults
    /// `alpha = 0.2`, `beta = 0.5`; see [`UnaryOp::HARD_SIGMOID`]).
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * clip(x * (1/6) + 0.5, 0, 1)` with `1/6` rounded to f32 (ONNX `HardSwish`, which is
    /// `x * HardSigmoid(alpha = 1/6, beta = 0.5)`). As that formula gives, `hardswish(+inf) =
    /// inf` and `hardswish(-inf) = NaN` (`-inf * 0`); large negative finite inputs give `-0`.
    HardSwish,
    /// `min(max(x, min), max)` as `numpy.clip` computes it: `x` itself where
    /// `min <= x <= max` (so `-0` stays `-0`), `max` when `min > max`, NaN when `x` or
    /// either bound is NaN. ONNX's missing bounds are `-inf` / `+inf` (see [`UnaryOp::CLIP`]).
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// `ln(1 + e^x)`, evaluated as `max(x, 0) + log1p(e^-|x|)` so that neither tail
    /// overflows or loses its relative accuracy (`softplus(-100)` is about `3.7e-44`, not 0).
    /// `softplus(-inf) = 0`, `softplus(inf) = inf`.
    Softplus,
}

/// Stable codes of the operations, in the order [`UnaryOp::code`] assigns them.
const CODES: [UnaryOp; 17] = [
    UnaryOp::Abs,
    UnaryOp::Neg,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sqrt,
    UnaryOp::Reciprocal,
    UnaryOp::Floor,
    UnaryOp::Ceil,
    UnaryOp::Round,
    UnaryOp::Sign,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Erf,
    UnaryOp::HARD_SIGMOID,
    UnaryOp::HardSwish,
    UnaryOp::CLIP,
    UnaryOp::Softplus,
];

impl UnaryOp {
    /// [`UnaryOp::HardSigmoid`] with the ONNX default parameters `alpha = 0.2`, `beta = 0.5`.
    pub const HARD_SIGMOID: UnaryOp = UnaryOp::HardSigmoid {
        alpha: 0.2,
        beta: 0.5,
    };

    /// [`UnaryOp::Clip`] with ONNX's defaults for missing bounds, `-inf` and `+inf` (the
    /// identity, except that NaN stays NaN).
    pub const CLIP: UnaryOp = UnaryOp::Clip {
        min: f32::NEG_INFINITY,
        max: f32::INFINITY,
    };

    /// Every operation, in code order (parameterised ones with their defaults).
    pub const ALL: [UnaryOp; 17] = CODES;

    /// The stable serialization code of the operation (its parameters are not included; see
    /// [`UnaryOp::params`]): Abs 0, Neg 1, Exp 2, Log 3, Sqrt 4, Reciprocal 5, Floor 6,
    /// Ceil 7, Round 8, Sign 9, Sin 10, Cos 11, Erf 12, HardSigmoid 13, HardSwish 14,
    /// Clip 15, Softplus 16. Codes are never reused or renumbered.
    pub fn code(self) -> u32 {
        match self {
            UnaryOp::Abs => 0,
            UnaryOp::Neg => 1,
            UnaryOp::Exp => 2,
            UnaryOp::Log => 3,
            UnaryOp::Sqrt => 4,
            UnaryOp::Reciprocal => 5,
            UnaryOp::Floor => 6,
            UnaryOp::Ceil => 7,
            UnaryOp::Round => 8,
            UnaryOp::Sign => 9,
            UnaryOp::Sin => 10,
            UnaryOp::Cos => 11,
            UnaryOp::Erf => 12,
            UnaryOp::HardSigmoid { .. } => 13,
            UnaryOp::HardSwish => 14,
            UnaryOp::Clip { .. } => 15,
            UnaryOp::Softplus => 16,
        }
    }

    /// The operation with code `code`, parameterised ones with their defaults
    /// ([`UnaryOp::HARD_SIGMOID`], [`UnaryOp::CLIP`]); `None` for an unknown code.
    pub fn from_code(code: u32) -> Option<UnaryOp> {
        CODES.get(usize::try_from(code).ok()?).copied()
    }

    /// The f32 parameters: `[alpha, beta]` for HardSigmoid, `[min, max]` for Clip, `[0, 0]`
    /// for the others.
    pub fn params(self) -> [f32; 2] {
        match self {
            UnaryOp::HardSigmoid { alpha, beta } => [alpha, beta],
            UnaryOp::Clip { min, max } => [min, max],
            _ => [0.0, 0.0],
        }
    }

    /// Inverse of ([`UnaryOp::code`], [`UnaryOp::params`]): the operation with code `code`
    /// and parameters `params` (ignored by operations without parameters); `None` for an
    /// unknown code.
    pub fn from_parts(code: u32, params: [f32; 2]) -> Option<UnaryOp> {
        let [p, q] = params;
        Some(match UnaryOp::from_code(code)? {
            UnaryOp::HardSigmoid { .. } => UnaryOp::HardSigmoid { alpha: p, beta: q },
            UnaryOp::Clip { .. } => UnaryOp::Clip { min: p, max: q },
            op => op,
        })
    }

    /// The scalar definition of the operation: what [`unary`] computes for `x`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Abs => abs(x),
            UnaryOp::Neg => -x,
            UnaryOp::Exp => math::exp(x),
            UnaryOp::Log => math::ln(x),
            UnaryOp::Sqrt => math::sqrt(x),
            UnaryOp::Reciprocal => 1.0 / x,
            UnaryOp::Floor => floor(x),
            UnaryOp::Ceil => ceil(x),
            UnaryOp::Round => round_half_even(x),
            UnaryOp::Sign => sign(x),
            UnaryOp::Sin => math::sin(x),
            UnaryOp::Cos => math::cos(x),
            UnaryOp::Erf => math::erf(x),
            UnaryOp::HardSigmoid { alpha, beta } => hard_sigmoid(x, alpha, beta),
            UnaryOp::HardSwish => hard_swish(x),
            UnaryOp::Clip { min, max } => clip(x, min, max),
            UnaryOp::Softplus => softplus(x),
        }
    }
}

const SIGN_BIT: u32 = 0x8000_0000;
/// `2^23`: every f32 of this magnitude or more is an integer.
const TWO_POW_23: f32 = 8_388_608.0;

#[inline(always)]
fn abs(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & !SIGN_BIT)
}

/// `mag` with the sign bit of `sign`.
#[inline(always)]
fn with_sign_of(mag: f32, sign: f32) -> f32 {
    f32::from_bits((mag.to_bits() & !SIGN_BIT) | (sign.to_bits() & SIGN_BIT))
}

/// `|x| >= 2^23` (so `x` is an integer or infinite) or `x` is NaN: comparing the magnitude's
/// bits puts NaN above infinity, which is above every finite value.
#[inline(always)]
fn is_integral_or_nan(x: f32) -> bool {
    x.to_bits() & !SIGN_BIT >= TWO_POW_23.to_bits()
}

/// `x` rounded toward zero, sign kept (`trunc(-0.5) = -0`); NaN, infinities and values of
/// magnitude `2^23` or more (all integers) pass through.
#[inline(always)]
fn trunc(x: f32) -> f32 {
    if is_integral_or_nan(x) {
        return x;
    }
    // |x| < 2^23: the conversion truncates toward zero and both conversions are exact.
    with_sign_of((x as i32) as f32, x)
}

#[inline(always)]
fn floor(x: f32) -> f32 {
    let t = trunc(x);
    // Only for negative non-integers is the truncation above x; t - 1 is exact there.
    if t > x {
        t - 1.0
    } else {
        t
    }
}

#[inline(always)]
fn ceil(x: f32) -> f32 {
    let t = trunc(x);
    if t < x {
        t + 1.0
    } else {
        t
    }
}

/// Nearest integer, ties to even: for `|x| < 2^23`, `|x| + 2^23` rounds (in the default
/// round-to-nearest-even mode) to an integer, and subtracting `2^23` again is exact.
#[inline(always)]
fn round_half_even(x: f32) -> f32 {
    if is_integral_or_nan(x) {
        return x;
    }
    let a = abs(x);
    with_sign_of((a + TWO_POW_23) - TWO_POW_23, x)
}

#[inline(always)]
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x == 0.0 {
        0.0
    } else {
        x
    }
}

/// `numpy.clip`: NaN in, NaN out (bounds included); otherwise `x` unless it is outside.
#[inline(always)]
fn clip(x: f32, min: f32, max: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if min.is_nan() || max.is_nan() {
        return f32::NAN;
    }
    let y = if x < min { min } else { x };
    if y > max {
        max
    } else {
        y
    }
}

#[inline(always)]
fn hard_sigmoid(x: f32, alpha: f32, beta: f32) -> f32 {
    clip(alpha * x + beta, 0.0, 1.0)
}

/// `1/6` rounded to f32, ONNX HardSwish's slope.
const ONE_SIXTH: f32 = 1.0 / 6.0;

#[inline(always)]
fn hard_swish(x: f32) -> f32 {
    x * hard_sigmoid(x, ONE_SIXTH, 0.5)
}

/// `ln(1 + t)` for `t` in `[0, 1]`: the series `t - t^2/2 + t^3/3 - t^4/4` below `2^-7`
/// (truncation below `2^-37` relative), else `ln(u) * t / (u - 1)` with `u = 1 + t` rounded,
/// which cancels the rounding of `u` to first order (Goldberg's trick).
#[inline(always)]
fn log1p_unit(t: f32) -> f32 {
    if t < 0.007_812_5 {
        return t * (1.0 + t * (-0.5 + t * (1.0 / 3.0 - t * 0.25)));
    }
    let u = 1.0 + t;
    math::ln(u) * (t / (u - 1.0))
}

#[inline(always)]
fn softplus(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let pos = if x > 0.0 { x } else { 0.0 };
    pos + log1p_unit(math::exp(-abs(x)))
}

/// `out[i] = f(x[i])`; lengths are checked by the caller.
#[inline(always)]
fn each(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

#[inline(always)]
fn each_inplace(x: &mut [f32], f: impl Fn(f32) -> f32) {
    for v in x.iter_mut() {
        *v = f(*v);
    }
}

/// Runs `$body` with `$f` bound to a closure computing `$op`, the match hoisted out of the
/// loop so each operation gets its own loop with the function inlined.
macro_rules! with_op {
    ($op:expr, $f:ident => $body:expr) => {
        match $op {
            UnaryOp::Abs => {
                let $f = abs;
                $body
            }
            UnaryOp::Neg => {
                let $f = |v: f32| -v;
                $body
            }
            UnaryOp::Exp => {
                let $f = math::exp;
                $body
            }
            UnaryOp::Log => {
                let $f = math::ln;
                $body
            }
            UnaryOp::Sqrt => {
                let $f = math::sqrt;
                $body
            }
            UnaryOp::Reciprocal => {
                let $f = |v: f32| 1.0 / v;
                $body
            }
            UnaryOp::Floor => {
                let $f = floor;
                $body
            }
            UnaryOp::Ceil => {
                let $f = ceil;
                $body
            }
            UnaryOp::Round => {
                let $f = round_half_even;
                $body
            }
            UnaryOp::Sign => {
                let $f = sign;
                $body
            }
            UnaryOp::Sin => {
                let $f = math::sin;
                $body
            }
            UnaryOp::Cos => {
                let $f = math::cos;
                $body
            }
            UnaryOp::Erf => {
                let $f = math::erf;
                $body
            }
            UnaryOp::HardSigmoid { alpha, beta } => {
                let $f = |v: f32| hard_sigmoid(v, alpha, beta);
                $body
            }
            UnaryOp::HardSwish => {
                let $f = hard_swish;
                $body
            }
            UnaryOp::Clip { min, max } => {
                let $f = |v: f32| clip(v, min, max);
                $body
            }
            UnaryOp::Softplus => {
                let $f = softplus;
                $body
            }
        }
    };
}

/// `out[i] = op.apply(x[i])`.
///
/// Fails with [`Error::DimMismatch`] when `out.len() != x.len()`.
pub fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) -> Result<()> {
    if x.len() != out.len() {
        return Err(Error::DimMismatch {
            op: "unary",
            what: "output length",
            expected: x.len(),
            got: out.len(),
        });
    }
    with_op!(op, f => each(x, out, f));
    Ok(())
}

/// `x[i] = op.apply(x[i])` (same results as [`unary`]).
pub fn unary_inplace(op: UnaryOp, x: &mut [f32]) {
    with_op!(op, f => each_inplace(x, f));
}

/// [`UnaryOp::Abs`], [`UnaryOp::Neg`] and [`UnaryOp::Sign`] on integers in place, wrapping
/// as NumPy does (`abs(i8::MIN)` and `-i8::MIN` are `i8::MIN`; on unsigned types `-x` wraps
/// and `sign` is 0 or 1). Other operations are [`Error::InvalidArgument`].
pub fn unary_int_inplace<T: crate::kernels::elementwise::IntElement>(
    op: UnaryOp,
    x: &mut [T],
) -> Result<()> {
    let f: fn(i128) -> i128 = match op {
        UnaryOp::Abs => i128::wrapping_abs,
        UnaryOp::Neg => i128::wrapping_neg,
        UnaryOp::Sign => i128::signum,
        _ => {
            return Err(Error::InvalidArgument {
                op: "unary",
                what: "only Abs, Neg and Sign are defined on integers",
            })
        }
    };
    for v in x.iter_mut() {
        *v = T::wrap(f(v.widen()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (i, op) in UnaryOp::ALL.into_iter().enumerate() {
            assert_eq!(op.code() as usize, i);
            assert_eq!(UnaryOp::from_code(op.code()), Some(op));
            assert_eq!(UnaryOp::from_parts(op.code(), op.params()), Some(op));
        }
        assert_eq!(UnaryOp::from_code(17), None);
        assert_eq!(UnaryOp::from_code(u32::MAX), None);
    }

    #[test]
    fn rounding_edges() {
        let big = 8_388_609.0f32;
        assert_eq!(floor(big), big);
        assert_eq!(ceil(-big), -big);
        assert_eq!(round_half_even(8_388_607.5), 8_388_608.0);
        assert_eq!(round_half_even(-8_388_606.5), -8_388_606.0);
        assert_eq!(round_half_even(0.499_999_97), 0.0);
        assert_eq!(floor(-1e-45), -1.0);
        assert_eq!(ceil(1e-45), 1.0);
        assert_eq!(floor(f32::MIN), f32::MIN);
    }
}
