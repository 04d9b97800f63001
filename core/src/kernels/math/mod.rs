//! f32 elementary functions for targets without `std` or `libm`.
//!
//! Everything here computes in f32 only (no f64, no lookup of a C math library), so it runs
//! at full speed on a single-precision FPU such as the Cortex-M4F's and gives the same bits on
//! every target (only [`sqrt`] uses a hardware instruction, and IEEE square root is exact on
//! all of them). The exp family is written once over a lane abstraction and shared with the
//! AVX2 and NEON fast paths of the activation and softmax kernels, so those run the same
//! algorithm (with fused multiply-adds, hence within a few ulp of the scalar results).
//!
//! Accuracy figures ("max error") are the largest error seen against float64 references
//! (`std`'s f64 functions; a series / continued fraction for erf and erfc), in ulp of the
//! exact result (units of 2^-149 for subnormal results), over every 31st f32 bit pattern
//! plus every f32 of the critical intervals listed in `core/tests/math.rs`:
//! `BORN_MATH_STRIDE=31 cargo test -p born-core --features std --test math -- --nocapture`
//! (the default stride, 1021, is what the test suite checks). The bounds the tests assert
//! are in each function's doc. The references are `libm`'s f64 functions, and the same sweep
//! measures `libm`'s f32 functions (0.2.16, a port of musl's) on the same inputs:
//!
//! | function | born max ulp | libm f32 max ulp |
//! |---|---:|---:|
//! | exp | 0.94 | 0.85 (`expf`) |
//! | ln | 0.95 | 0.84 (`logf`) |
//! | tanh | 1.33 | 2.14 (`tanhf`) |
//! | sigmoid | 2.03 | (none) |
//! | erf | 2.69 | 0.85 (`erff`) |
//! | erfc | 5.54 | 2.64 (`erfcf`) |
//! | sin / cos | 0.94 / 0.89 | 0.50 / 0.50 (`sinf`, `cosf`) |
//! | sqrt | 0 (correctly rounded) | 0 |
//!
//! (`cargo test -p born-core --features std --test math -- --nocapture --test-threads 1`.)
//!
//! **`fast-math`** (off by default) takes [`exp`], [`ln`], [`sin`] and [`cos`] from
//! `micromath` 2.1, on every target for these scalar functions and, where the portable lanes
//! are a plain `f32` (microcontrollers), for everything built on `exp` in the activation
//! and softmax kernels too (sigmoid, tanh, SiLU, GELU, softmax); SIMD hosts keep born's own
//! lanes. Edge cases keep born's answers (NaN, infinities, `ln` of 0 and negatives; `exp`
//! overflows to `inf` above 88.72 and gives 0 where its result would be subnormal). What it
//! costs in accuracy (`micromath_accuracy` in `core/tests/math.rs`, asserted) and what it
//! saves on a Cortex-M4F (instructions per call under QEMU, `python3 scripts/math_insns.py`,
//! inputs spread over the range shown, call and loop excluded):
//!
//! | function | micromath error | born insns | micromath insns | libm f32 insns |
//! |---|---|---:|---:|---:|
//! | exp, x in [-10, 10] | 2.4e-3 relative (2e4 ulp) | 97 | 122 | 55 |
//! | ln, x in [0.01, 100] | 0.12 absolute | 55 | 39 | 51 |
//! | sin, x in [-10, 10] | 1.1e-3 absolute | 71 | 27 | 1,496 |
//! | cos, x in [-10, 10] | 1.1e-3 absolute | 67 | 25 | 1,490 |
//! | tanh, x in [-5, 5] | (born's exp) | 147 | - | 100 |
//! | erf, x in [-3, 3] | (not replaced) | 244 | - | 121 |
//!
//! So on the M4F `fast-math` pays only for sin and cos (2.6x fewer instructions, at 1e-3
//! absolute error); micromath's exp is both slower and less accurate than born's, and
//! libm's `expf`/`tanhf`/`erff` are cheaper than born's there (their f32 reductions are
//! shorter), while libm's `sinf`/`cosf` fall back to f64 arithmetic, in software on this FPU.

mod lanes;
mod trig;
mod vector;

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
pub(crate) use lanes::F32x8;
pub(crate) use lanes::{map, map_inplace, LaneFn, Lanes, Portable};
pub(crate) use vector::tanh as tanh_lanes;
pub(crate) use vector::{exp as exp_lanes, sigmoid as sigmoid_lanes, silu as silu_lanes};
pub(crate) use vector::{gelu as gelu_lanes, gelu_tanh as gelu_tanh_lanes};

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
pub(crate) use aarch64::Neon;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::Avx2;

pub use crate::kernels::cpu::Isa;

/// The error the `*_with` entry points return for a path this CPU cannot run.
pub(crate) fn unavailable(op: &'static str) -> crate::Error {
    crate::Error::InvalidArgument {
        op,
        what: "instruction set not available on this CPU",
    }
}

/// `e^x`.
///
/// Cody-Waite reduction `x = n ln2 + r`, a degree-6 minimax polynomial for `e^r` and an
/// exact two-step scaling by `2^n`. Correct over the whole f32 range: results above
/// `f32::MAX` are `+inf`, subnormal results are rounded once, results below half the smallest
/// subnormal are `0`, `exp(-inf) = 0`, `exp(inf) = inf`, NaN propagates.
/// Max error 0.96 ulp (bound 1).
#[inline]
pub fn exp(x: f32) -> f32 {
    vector::exp(x)
}

/// Natural logarithm.
///
/// `x = 2^e m` with `m` in `[sqrt(1/2), sqrt(2)]`, `ln m = 2 atanh(s)` with
/// `s = (m - 1) / (m + 1)` by a minimax polynomial, `e ln2` added in two parts. Subnormal
/// inputs are handled exactly. `ln(0) = -inf`, `ln(x < 0) = NaN`, `ln(inf) = inf`, NaN
/// propagates. Max error 0.96 ulp (bound 1).
pub fn ln(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x <= 0.0 {
        return if x == 0.0 {
            f32::NEG_INFINITY
        } else {
            f32::NAN
        };
    }
    if x == f32::INFINITY {
        return x;
    }
    #[cfg(feature = "fast-math")]
    {
        return micromath::F32Ext::ln(x);
    }
    #[allow(unreachable_code)]
    let mut bits = x.to_bits();
    let mut e: i32 = 0;
    if bits < 0x0080_0000 {
        // Subnormal: scale by 2^25 (exact) into the normal range.
        bits = (x * 33_554_432.0).to_bits();
        e = -25;
    }
    e += (bits >> 23) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000);
    if m > core::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // Exact: m is within a factor of two of 1.
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let k = z * vector::poly(z, &LN_K);
    // ln(1 + f) = 2s + s K = f - s (f - K), since f - 2s = s f.
    let r = f - s * (f - k);
    let ef = e as f32;
    ef * vector::LN2_HI + (ef * vector::LN2_LO + r)
}

/// `(2 atanh(s) - 2s) / s = z K(z)`, `z = s^2 <= 0.0295`; fit error 8.0e-10 relative.
const LN_K: [f32; 3] = [0.666_667_76, 0.399_775_74, 0.298_709_36];

/// Hyperbolic tangent: odd minimax polynomial below 0.625, `1 - 2 / (e^2|x| + 1)` above.
/// `tanh(+-inf) = +-1`, `tanh(-0) = -0`, NaN propagates. Max error 1.33 ulp (bound 1.5).
#[inline]
pub fn tanh(x: f32) -> f32 {
    vector::tanh(x)
}

/// Logistic sigmoid `1 / (1 + e^-x)`, computed from `e^-|x|` so both tails keep their
/// relative accuracy (`sigmoid(-100)` is about `3.7e-44`, not 0). Max error 2.33 ulp
/// (bound 2.5).
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    vector::sigmoid(x)
}

/// The error function: `x P(x^2)` below 0.625, `1 - erfc |x|` above (with the sign of `x`).
/// `erf(+-inf) = +-1`, NaN propagates. Max error 2.7 ulp (bound 3), just above 0.625
/// where `erfc`'s error still shows in `1 - erfc`.
#[inline]
pub fn erf(x: f32) -> f32 {
    vector::erf(x)
}

/// The complementary error function `1 - erf x`, accurate in relative terms in its whole
/// tail (down to the subnormal range near `x = 10`).
///
/// For `|x| >= 0.625`: `erfc |x| = t Q(t) e^(-x^2)` with `t = 2 / (2 + |x|)` and `Q` a
/// minimax polynomial; `-x^2` is split exactly so the steep exponential keeps full accuracy.
/// `erfc(-x) = 2 - erfc(x)`. Max error 5.6 ulp (bound 6; every f32 in `[0.625, 4]`
/// checked), mostly from rounding `t`, whose error `Q` amplifies about threefold near
/// `x = 0.625`.
#[inline]
pub fn erfc(x: f32) -> f32 {
    vector::erfc(x)
}

/// Square root, correctly rounded (0 ulp) on every target.
///
/// Uses the hardware instruction on x86_64 (SSE) and aarch64 (NEON); elsewhere
/// [`sqrt_portable`]. (`f32::sqrt` lives in `std`, not `core`.)
#[inline]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_cvtss_f32, _mm_set_ss, _mm_sqrt_ss};
        // SAFETY: SSE is part of the x86_64 baseline; the intrinsics only touch registers.
        // (Newer compilers consider them safe here, hence the allow.)
        #[allow(unused_unsafe)]
        let r = unsafe { _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x))) };
        r
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    {
        use core::arch::aarch64::{vdup_n_f32, vget_lane_f32, vsqrt_f32};
        // SAFETY: NEON is enabled at compile time; the intrinsics only touch registers.
        #[allow(unused_unsafe)]
        let r = unsafe { vget_lane_f32::<0>(vsqrt_f32(vdup_n_f32(x))) };
        r
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "aarch64", target_feature = "neon")
    )))]
    {
        sqrt_portable(x)
    }
}

/// Square root in integer arithmetic, correctly rounded (round to nearest even) for every
/// f32, subnormals included: the significand, scaled to 51 bits, goes through a bit-by-bit
/// integer square root, and the 25- or 26-bit root is rounded to 24 bits (ties cannot occur
/// for square roots). `sqrt(-0) = -0`, negative inputs give NaN, `sqrt(inf) = inf`.
/// [`sqrt`] uses this where no hardware square root is reachable (Cortex-M, RISC-V).
pub fn sqrt_portable(x: f32) -> f32 {
    if x.is_nan() || x == 0.0 || x == f32::INFINITY {
        return x;
    }
    if x < 0.0 {
        return f32::NAN;
    }
    let bits = x.to_bits();
    let mut m = bits & 0x007F_FFFF;
    let mut e = (bits >> 23) as i32;
    if e == 0 {
        // Subnormal: shift the leading one up to bit 23.
        let sh = m.leading_zeros() - 8;
        m <<= sh;
        e = 1 - sh as i32;
    } else {
        m |= 0x0080_0000;
    }
    // x = m 2^ex with m in [2^23, 2^24); make ex even.
    let mut ex = e - 150;
    if ex & 1 != 0 {
        m <<= 1;
        ex -= 1;
    }
    // x = n 2^(ex - 26), n in [2^49, 2^51).
    let n = (m as u64) << 26;
    let y = isqrt(n);
    // sqrt(x) = (y + frac) 2^((ex - 26) / 2), y has 25 or 26 bits: drop d of them.
    let d = (64 - y.leading_zeros()) - 24;
    let ym = (y + (1u64 << (d - 1))) >> d;
    let exp = (ex - 26) / 2 + d as i32;
    // ym in [2^23, 2^24]; adding the significand bits lets a carry bump the exponent.
    let biased = (exp + 23 + 127) as u32;
    f32::from_bits((biased << 23).wrapping_add(ym as u32 - 0x0080_0000))
}

/// Floor of the square root of `n < 2^52`, one result bit per step.
fn isqrt(n: u64) -> u64 {
    let mut rem = n;
    let mut root = 0u64;
    let mut bit = 1u64 << 50;
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    root
}

/// `x^y` with the special cases of C99 `powf` (which NumPy and PyTorch follow):
/// `pow(x, ±0) = 1` and `pow(1, y) = 1` even for NaN, otherwise NaN propagates; a negative
/// `x` with a non-integer finite `y` gives NaN; `±0`, `±inf` and `y = ±inf` give the usual
/// zeros and infinities with the sign of `x` kept for odd integer `y`.
///
/// Integer exponents up to 64 in magnitude use repeated squaring (`x^2` is correctly
/// rounded, `x^n` within about `log2(n) + n/16` ulp); `y = 0.5` uses [`sqrt`]; the rest
/// `exp(y ln |x|)`, whose relative error grows like `|y ln x| * 2^-24` (about 8e-6 for
/// results near `f32::MAX`, 2e-7 for results of order 1e3).
pub fn pow(x: f32, y: f32) -> f32 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if x.is_nan() || y.is_nan() {
        return f32::NAN;
    }
    let kind = int_kind(y);
    let ax = x.abs();
    if y.is_infinite() {
        return if ax == 1.0 {
            1.0
        } else if (ax < 1.0) == (y < 0.0) {
            f32::INFINITY
        } else {
            0.0
        };
    }
    let negative = x.is_sign_negative() && kind == IntKind::Odd;
    let r = if ax == 0.0 || ax == f32::INFINITY {
        if (ax == 0.0) == (y < 0.0) {
            f32::INFINITY
        } else {
            0.0
        }
    } else if x < 0.0 && kind == IntKind::No {
        return f32::NAN;
    } else if kind != IntKind::No && y.abs() <= 64.0 {
        powi(ax, y as i32)
    } else if y == 0.5 {
        sqrt(ax)
    } else {
        exp(y * ln(ax))
    };
    if negative {
        -r
    } else {
        r
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IntKind {
    No,
    Odd,
    Even,
}

/// Whether finite `y` is an odd integer, an even one or not an integer.
fn int_kind(y: f32) -> IntKind {
    let ay = y.abs();
    if ay >= 16_777_216.0 {
        // 2^24 and above: every f32 is an even integer.
        return IntKind::Even;
    }
    let t = ay as u32;
    if t as f32 != ay {
        IntKind::No
    } else if t & 1 == 1 {
        IntKind::Odd
    } else {
        IntKind::Even
    }
}

/// `x^n` for finite `x > 0`, `0 < |n| <= 64`, by repeated squaring.
fn powi(x: f32, n: i32) -> f32 {
    let mut e = n.unsigned_abs();
    let mut base = x;
    let mut acc = 1.0f32;
    while e > 0 {
        if e & 1 == 1 {
            acc *= base;
        }
        e >>= 1;
        if e > 0 {
            base *= base;
        }
    }
    if n >= 0 {
        acc
    } else if acc.is_infinite() {
        // x^|n| overflowed but x^n may still be representable: invert first.
        powi(1.0 / x, -n)
    } else {
        1.0 / acc
    }
}

/// `f(x)` for finite `x`, NaN for infinities and NaN (micromath's sin and cos give
/// arbitrary values there).
#[cfg(feature = "fast-math")]
fn finite_or_nan(x: f32, f: fn(f32) -> f32) -> f32 {
    if x.is_finite() {
        f(x)
    } else {
        f32::NAN
    }
}

/// Sine. Exact argument reduction over the whole f32 range (Cody-Waite below 6400, an
/// integer Payne-Hanek reduction with 96 bits of `2/pi` above or where Cody-Waite would
/// cancel), carrying the remainder as a hi + lo pair, then a minimax polynomial on
/// `[-pi/4, pi/4]`. `sin(+-inf) = NaN`, `sin(-0) = -0`, NaN propagates. Max error 0.94 ulp
/// (bound 1).
pub fn sin(x: f32) -> f32 {
    #[cfg(feature = "fast-math")]
    {
        return finite_or_nan(x, micromath::F32Ext::sin);
    }
    #[allow(unreachable_code)]
    trig::sin(x)
}

/// Cosine; same method as [`sin`]. `cos(+-inf) = NaN`. Max error 0.89 ulp (bound 1).
pub fn cos(x: f32) -> f32 {
    #[cfg(feature = "fast-math")]
    {
        return finite_or_nan(x, micromath::F32Ext::cos);
    }
    #[allow(unreachable_code)]
    trig::cos(x)
}
