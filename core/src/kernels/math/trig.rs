//! `sin` and `cos`: reduction to `|r| <= pi/4` plus one polynomial each.
//!
//! Moderate arguments are reduced by Cody-Waite with `pi/2` split into four f32 parts (the
//! first three short enough that their products with the quadrant number are exact); when
//! that leaves a remainder too small to trust, and for every argument of magnitude 6400 or
//! more, an exact integer reduction multiplies the significand by 96 bits of `2/pi` taken
//! from a 256-bit table at the argument's exponent (Payne and Hanek), in `u128` arithmetic.

use super::vector::{poly, round_small};

/// `sin r = r + r^3 S(r^2)` on `|r| <= pi/4`; fit error 3.8e-9 relative.
const SIN_S: [f32; 3] = [-0.166_666_55, 0.008_332_16, -0.000_195_152_84];
/// `cos r = 1 - r^2/2 + r^4 C(r^2)` on `|r| <= pi/4`; fit error 1.2e-10 relative.
const COS_C: [f32; 3] = [0.041_666_646, -0.001_388_731_6, 2.443_315_7e-5];

/// `pi/2 = PIO2_A + PIO2_B + PIO2_C + PIO2_D` to 2^-64 relative; A, B and C have 12
/// significant bits each, so their products with a quadrant number below 2^12 are exact.
const PIO2_A: f32 = 1.570_312_5;
const PIO2_B: f32 = 0.000_483_751_3;
const PIO2_C: f32 = 7.549_533_6e-8;
const PIO2_D: f32 = 2.563_344e-12;
/// Cody-Waite is used below this magnitude (quadrant numbers stay below 2^12).
const CW_MAX: f32 = 6400.0;
/// A Cody-Waite remainder below this is recomputed by the exact reduction.
const CW_MIN_REMAINDER: f32 = 1.0 / 4096.0;

/// Bits of `2/pi`, most significant first: bit `i` (1-based) of the binary fraction is bit
/// `31 - (i - 1) % 32` of word `(i - 1) / 32`.
const TWO_OVER_PI: [u32; 8] = [
    0xA2F9_836E,
    0x4E44_1529,
    0xFC27_57D1,
    0xF534_DDC0,
    0xDB62_9599,
    0x3C43_9041,
    0xFE51_63AB,
    0xDEBB_C561,
];

/// 96 bits of `2/pi` starting at fraction bit `first` (1-based), as an integer.
fn two_over_pi_bits(first: u32) -> u128 {
    let word = ((first - 1) / 32) as usize;
    let shift = (first - 1) % 32;
    let w = |i: usize| TWO_OVER_PI.get(word + i).copied().unwrap_or(0) as u128;
    let top = (w(0) << 96) | (w(1) << 64) | (w(2) << 32) | w(3);
    let top = if shift == 0 {
        top
    } else {
        (top << shift) | (w(4) >> (32 - shift))
    };
    top >> 32
}

/// Exact reduction of a finite `a >= pi/4`: returns `(q mod 4, r, r_lo)` with
/// `a = q pi/2 + r + r_lo`, `|r| <= pi/4` and `r_lo` below half an ulp of `r`.
fn reduce_large(a: f32) -> (u32, f32, f32) {
    let bits = a.to_bits();
    let biased = (bits >> 23) as i32;
    let m = ((bits & 0x007F_FFFF) | 0x0080_0000) as u128;
    // a = m * 2^k; a >= pi/4 is normal, so k >= -24.
    let k = biased - 150;
    // Fraction bits 1..=k-2 of 2/pi contribute multiples of 4 quadrants: skip them.
    let first = (k - 1).max(1);
    let w = two_over_pi_bits(first as u32);
    // a * 2/pi = m * w * 2^-s (+ what the window drops, below 2^-70 quadrants).
    let s = (first + 95 - k) as u32;
    let p = m * w;
    let mut q = ((p >> s) & 3) as u32;
    let mut f = (p & ((1u128 << s) - 1)) as i128;
    if f >= 1i128 << (s - 1) {
        f -= 1i128 << s;
        q = q.wrapping_add(1);
    }
    // r = f 2^-s pi/2: multiply the top 64 bits of |f| by pi/2 in fixed point, then split
    // the product into the nearest f32 and the (exactly computed) rest.
    let neg = f < 0;
    let fa = f.unsigned_abs();
    if fa == 0 {
        return (q & 3, 0.0, 0.0);
    }
    let lz = fa.leading_zeros();
    let top = ((fa << lz) >> 64) as u64;
    let prod = top as u128 * PIO2_FIXED as u128;
    let hi = prod as f32;
    let lo = (prod as i128).wrapping_sub(hi as u128 as i128) as f32;
    // |r| = prod 2^(2 - lz - s); scale in two steps to stay in the normal range.
    let s1 = pow2(-64);
    let s2 = pow2(66 - lz as i32 - s as i32);
    let (r, r_lo) = (hi * s1 * s2, lo * s1 * s2);
    if neg {
        (q & 3, -r, -r_lo)
    } else {
        (q & 3, r, r_lo)
    }
}

/// `pi/2 * 2^62`, rounded.
const PIO2_FIXED: u64 = 0x6487_ED51_10B4_611A;

/// `2^e` for `-126 <= e <= 127`; 0 below (never reached for f32 arguments).
fn pow2(e: i32) -> f32 {
    if e < -126 {
        0.0
    } else {
        f32::from_bits(((e + 127) as u32) << 23)
    }
}

/// `(q mod 4, r, r_lo)` with `x = q pi/2 + r + r_lo`, `|r| <= pi/4` (slightly more on
/// rounding) and `|r_lo| <= ulp(r) / 2`. Infinite and NaN inputs give a NaN remainder.
fn reduce(x: f32) -> (u32, f32, f32) {
    let a = x.abs();
    if a.is_nan() || a <= core::f32::consts::FRAC_PI_4 {
        return (0, x, 0.0);
    }
    if a == f32::INFINITY {
        return (0, f32::NAN, 0.0);
    }
    if a < CW_MAX {
        let q = round_small(x * core::f32::consts::FRAC_2_PI);
        // Exact: see the comment on PIO2_A.
        let r2 = (x - q * PIO2_A) - q * PIO2_B;
        let t = q * PIO2_C + q * PIO2_D;
        let r = r2 - t;
        // Two-sum: the rounding error of r2 - t, exactly.
        let bb = r - r2;
        let r_lo = (r2 - (r - bb)) + (-t - bb);
        if r.abs() >= CW_MIN_REMAINDER {
            return ((q as i32 as u32) & 3, r, r_lo);
        }
    }
    let (q, r, r_lo) = reduce_large(a);
    if x < 0.0 {
        (q.wrapping_neg() & 3, -r, -r_lo)
    } else {
        (q, r, r_lo)
    }
}

/// `sin(r + r_lo)` for `|r| <= pi/4`, `r_lo` a sub-ulp correction.
#[inline(always)]
fn sin_poly(r: f32, r_lo: f32) -> f32 {
    let z = r * r;
    r + ((z * poly(z, &SIN_S)) * r + r_lo * (1.0 - 0.5 * z))
}

/// `cos(r + r_lo)` for `|r| <= pi/4`, `r_lo` a sub-ulp correction.
#[inline(always)]
fn cos_poly(r: f32, r_lo: f32) -> f32 {
    let z = r * r;
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    // (1 - w) - hz recovers the rounding error of w.
    w + (((1.0 - w) - hz) + (z * z * poly(z, &COS_C) - r * r_lo))
}

/// See [`super::sin`].
pub(crate) fn sin(x: f32) -> f32 {
    // sin x rounds to x below 2^-12 (x^2/6 < 2^-26); this also keeps the sign of -0.
    if x.abs() < 1.0 / 4096.0 {
        return x;
    }
    let (q, r, r_lo) = reduce(x);
    match q {
        0 => sin_poly(r, r_lo),
        1 => cos_poly(r, r_lo),
        2 => -sin_poly(r, r_lo),
        _ => -cos_poly(r, r_lo),
    }
}

/// See [`super::cos`].
pub(crate) fn cos(x: f32) -> f32 {
    let (q, r, r_lo) = reduce(x);
    match q {
        0 => cos_poly(r, r_lo),
        1 => -sin_poly(r, r_lo),
        2 => -cos_poly(r, r_lo),
        _ => sin_poly(r, r_lo),
    }
}
