//! The exp-family approximations, written once over [`Lanes`].
//!
//! Coefficients are minimax fits (Lawson's iteratively reweighted least squares, in f64,
//! then rounded to f32) produced by `python3 scripts/fixtures/math.py --fit`; the comment of
//! each table gives the fit's relative error before rounding.

use super::lanes::Lanes;

/// `1.5 * 2^23`: adding and subtracting it rounds an f32 of magnitude below `2^22` to the
/// nearest integer (ties to even) without a float-to-int conversion.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `ln 2` split so that `n * LN2_HI` is exact for `|n| < 2^15`.
pub(crate) const LN2_HI: f32 = 355.0 / 512.0;
/// `ln 2 - LN2_HI`.
pub(crate) const LN2_LO: f32 = -0.000_212_194_44;

/// Inputs of `exp` are clamped to this range first; outside it the result is 0 or +inf
/// anyway (`exp(-150) < 2^-216`, `exp(89) > f32::MAX`), even after scaling by a factor of up
/// to `2^40` (see [`exp_hilo`]). The scale factors `2^n1`, `2^n2` stay normal.
const EXP_MIN: f32 = -150.0;
const EXP_MAX: f32 = 89.0;

/// `e^r = 1 + r + r^2 P(r)` on `|r| <= ln2/2`; fit error 3.1e-9 relative.
const EXP_P: [f32; 5] = [
    0.499_999_94,
    0.166_665_21,
    0.041_668_39,
    0.008_368_71,
    0.001_381_461_3,
];

/// `tanh x = x + x^3 T(x^2)` on `|x| < 0.625`; fit error 4.4e-9 relative.
const TANH_T: [f32; 5] = [
    -0.333_332_8,
    0.133_314_42,
    -0.053_739_715,
    0.020_639_088,
    -0.005_704_987_3,
];
/// Below this magnitude `tanh` uses its odd polynomial.
const TANH_POLY_MAX: f32 = 0.625;

/// `erf x = x P(x^2)` on `|x| < ERF_POLY_MAX`; fit error 1.7e-10 relative.
const ERF_P: [f32; 6] = [
    core::f32::consts::FRAC_2_SQRT_PI,
    -0.376_126_35,
    0.112_836_9,
    -0.026_855_03,
    0.005_168_465,
    -0.000_725_203_5,
];
/// Below this magnitude `erf` uses [`ERF_P`]; above it, `erfc` uses [`ERFC_Q`].
pub(crate) const ERF_POLY_MAX: f32 = 0.625;
/// `erfc x = t Q(t - ERFC_T_CENTER) e^(-x^2)` with `t = 2 / (2 + x)` on
/// `0.625 <= x <= 10.5`; fit error 7.3e-9 relative.
const ERFC_Q: [f32; 9] = [
    0.484_802_5,
    0.644_216_36,
    0.540_358_07,
    0.170_941_05,
    -0.149_631_95,
    -0.124_324_82,
    0.078_789_294,
    0.071_130_924,
    -0.056_179_773,
];
const ERFC_T_CENTER: f32 = 0.460_952_37;
/// `erfc` of anything larger is below the smallest subnormal.
const ERFC_X_MAX: f32 = 10.5;
/// Keeps the 12 high significant bits of an f32, so that its square is exact.
const HIGH_12_BITS: u32 = 0xFFFF_F000;

/// `2 sqrt(2/pi)` and `2 sqrt(2/pi) * 0.044715`, the tanh-GELU polynomial doubled.
const GELU_TANH_C1: f32 = 1.595_769_2;
const GELU_TANH_C3: f32 = 0.071_354_814;

/// Horner evaluation of `c[0] + c[1] x + c[2] x^2 + ...`.
#[inline(always)]
pub(crate) fn poly<L: Lanes>(x: L, c: &[f32]) -> L {
    let mut it = c.iter().rev();
    let mut acc = L::splat(it.next().copied().unwrap_or(0.0));
    for &ci in it {
        acc = acc.mul_add(x, L::splat(ci));
    }
    acc
}

/// Nearest integer (ties to even) of lanes with magnitude below `2^22`.
#[inline(always)]
pub(crate) fn round_small<L: Lanes>(v: L) -> L {
    v.add(L::splat(ROUND_MAGIC)).sub(L::splat(ROUND_MAGIC))
}

/// `m e^(hi + lo)` where `lo` is a small correction (`|lo| < 2^-10 |hi|` or so) that the
/// caller could not fold into `hi` without rounding, and `m` a factor of moderate size
/// (`2^-40 < |m| < 2^40`).
/// NaN in `hi` propagates.
///
/// Cody-Waite reduction `hi = n ln2 + r` (exact), `e^r` by [`EXP_P`], times `m`, then
/// scaling by `2^n` in two exact steps so that subnormal results are rounded once.
#[inline(always)]
pub(crate) fn exp_hilo<L: Lanes>(hi: L, lo: L, m: L) -> L {
    let h = hi.max(L::splat(EXP_MIN)).min(L::splat(EXP_MAX));
    let n = round_small(h.mul(L::splat(core::f32::consts::LOG2_E)));
    let r = n.neg().mul_add(L::splat(LN2_HI), h);
    let r = n.neg().mul_add(L::splat(LN2_LO), r).add(lo);
    let p = poly(r, &EXP_P);
    let e = p.mul_add(r.mul(r), r).add(L::splat(1.0));
    let n1 = round_small(n.mul(L::splat(0.5)));
    let n2 = n.sub(n1);
    let y = e.mul(m).mul(L::pow2i(n1)).mul(L::pow2i(n2));
    L::select(hi.is_nan(), hi, y)
}

/// `e^x` ([`Lanes::lane_exp`]: [`exp_poly`], or `micromath`'s with `fast-math` on
/// plain-`f32` lanes).
#[inline(always)]
pub(crate) fn exp<L: Lanes>(x: L) -> L {
    x.lane_exp()
}

/// `e^x` by born's own reduction and polynomial ([`exp_hilo`]).
#[inline(always)]
pub(crate) fn exp_poly<L: Lanes>(x: L) -> L {
    exp_hilo(x, L::splat(0.0), L::splat(1.0))
}

/// `1 / (1 + e^-x)`, computed from `e^-|x|` so that neither tail loses accuracy.
#[inline(always)]
pub(crate) fn sigmoid<L: Lanes>(x: L) -> L {
    let e = exp(x.abs().neg());
    let num = L::select(x.lt(L::splat(0.0)), e, L::splat(1.0));
    num.div(L::splat(1.0).add(e))
}

/// Hyperbolic tangent: odd polynomial near zero, `1 - 2 / (e^2|x| + 1)` elsewhere, computed
/// on `|x|` and given the sign of `x` (so `tanh(-0) = -0`).
#[inline(always)]
pub(crate) fn tanh<L: Lanes>(x: L) -> L {
    let a = x.abs();
    let z = a.mul(a);
    let small = poly(z, &TANH_T).mul(z).mul_add(a, a);
    let e = exp(a.add(a));
    let big = L::splat(1.0).sub(L::splat(2.0).div(e.add(L::splat(1.0))));
    L::select(a.lt(L::splat(TANH_POLY_MAX)), small, big).copysign(x)
}

/// `erfc z` for `ERF_POLY_MAX <= z <= ERFC_X_MAX`, given `e_hi + e_lo = -z^2` with `e_hi`
/// exact, so the steep factor `e^(-z^2)` is not spoilt by rounding of `z^2`.
#[inline(always)]
fn erfc_tail<L: Lanes>(z: L, e_hi: L, e_lo: L) -> L {
    let t = L::splat(2.0).div(L::splat(2.0).add(z));
    let q = poly(t.sub(L::splat(ERFC_T_CENTER)), &ERFC_Q);
    exp_hilo(e_hi, e_lo, t.mul(q))
}

/// `(|x| clamped, erfc |x|)` for the tail branch, with `-x^2` split exactly.
#[inline(always)]
fn erfc_abs<L: Lanes>(x: L) -> (L, L) {
    let a = x.abs().min(L::splat(ERFC_X_MAX));
    let ah = a.and_bits(HIGH_12_BITS);
    let e_hi = ah.mul(ah).neg();
    let e_lo = a.sub(ah).mul(a.add(ah)).neg();
    (a, erfc_tail(a, e_hi, e_lo))
}

/// The error function.
#[inline(always)]
pub(crate) fn erf<L: Lanes>(x: L) -> L {
    let (a, tail) = erfc_abs(x);
    let small = x.mul(poly(x.mul(x), &ERF_P));
    let big = L::splat(1.0).sub(tail).copysign(x);
    let r = L::select(a.lt(L::splat(ERF_POLY_MAX)), small, big);
    L::select(x.is_nan(), x, r)
}

/// The complementary error function `1 - erf x`, accurate in relative terms in its tail.
#[inline(always)]
pub(crate) fn erfc<L: Lanes>(x: L) -> L {
    let (a, tail) = erfc_abs(x);
    let small = L::splat(1.0).sub(x.mul(poly(x.mul(x), &ERF_P)));
    let big = L::select(x.lt(L::splat(0.0)), L::splat(2.0).sub(tail), tail);
    let r = L::select(a.lt(L::splat(ERF_POLY_MAX)), small, big);
    L::select(x.is_nan(), x, r)
}

/// Below this, `x * phi(x)`-style products are computed from a clamped `x` so that
/// `-inf * 0` gives 0 instead of NaN; the factor is already 0 there.
const NEG_TAIL: f32 = -200.0;

/// Exact GELU `x Phi(x)` with `Phi(x) = erfc(-x / sqrt 2) / 2`, accurate in both tails: in
/// the negative tail the factor `x / 2` goes into the exponential's scaling, so even
/// subnormal results are rounded once.
#[inline(always)]
pub(crate) fn gelu<L: Lanes>(x: L) -> L {
    let half = L::splat(0.5);
    let xc = x.max(L::splat(NEG_TAIL));
    let neg = x.lt(L::splat(0.0));
    // erfc(|x| / sqrt 2) with -x^2/2 split exactly: ah^2 / 2 is exact.
    let a = x
        .abs()
        .min(L::splat(ERFC_X_MAX * core::f32::consts::SQRT_2));
    let z = a.mul(L::splat(core::f32::consts::FRAC_1_SQRT_2));
    let ah = a.and_bits(HIGH_12_BITS);
    let e_hi = ah.mul(ah).mul(half).neg();
    let e_lo = a.sub(ah).mul(a.add(ah)).mul(half).neg();
    let t = L::splat(2.0).div(L::splat(2.0).add(z));
    let q = poly(t.sub(L::splat(ERFC_T_CENTER)), &ERFC_Q);
    // x < 0: x erfc(z) / 2 directly; x >= 0: erfc(z) / 2, then x (1 - that).
    let m = t.mul(q).mul(L::select(neg, half.mul(xc), half));
    let e = exp_hilo(e_hi, e_lo, m);
    let big = L::select(neg, e, xc.mul(L::splat(1.0).sub(e)));
    let w = x.mul(L::splat(core::f32::consts::FRAC_1_SQRT_2));
    let small = xc.mul(half.mul_add(w.mul(poly(w.mul(w), &ERF_P)), half));
    let y = L::select(z.lt(L::splat(ERF_POLY_MAX)), small, big);
    L::select(x.is_nan(), x, y)
}

/// tanh-approximated GELU `x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2`, evaluated as
/// `x sigmoid(2u)` (the same function) so the negative tail does not cancel.
#[inline(always)]
pub(crate) fn gelu_tanh<L: Lanes>(x: L) -> L {
    let xc = x.max(L::splat(NEG_TAIL));
    let z = xc.mul(xc);
    let u2 = xc.mul(z.mul_add(L::splat(GELU_TANH_C3), L::splat(GELU_TANH_C1)));
    let y = xc.mul(sigmoid(u2));
    L::select(x.is_nan(), x, y)
}

/// Below this, `1 + e^x` rounds to 1 and SiLU is `x e^x`.
const SILU_EXP_ONLY: f32 = -20.0;

/// SiLU (swish) `x sigmoid(x)`. Where `x < -20` it is `x e^x`, with `x` folded into the
/// exponential's scaling so subnormal results are rounded once.
#[inline(always)]
pub(crate) fn silu<L: Lanes>(x: L) -> L {
    let xc = x.max(L::splat(NEG_TAIL));
    let tail = xc.lt(L::splat(SILU_EXP_ONLY));
    let one = L::splat(1.0);
    let e = exp_hilo(xc.abs().neg(), L::splat(0.0), L::select(tail, xc, one));
    let num = L::select(xc.lt(L::splat(0.0)), e, one);
    let y = L::select(tail, e, xc.mul(num.div(one.add(e))));
    L::select(x.is_nan(), x, y)
}
