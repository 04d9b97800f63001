//! The lane abstraction the vectorised math is written against.
//!
//! Each approximation in [`super::vector`] is written once, generic over [`Lanes`], and
//! instantiated for a plain `f32` (the scalar functions of [`super`]), for [`F32x8`] (eight
//! lanes of portable code that LLVM vectorises for whatever the target offers), for AVX2+FMA
//! registers on x86_64 and for NEON registers on aarch64. So every fast path runs the same
//! algorithm as the scalar function; the only difference is that [`Lanes::mul_add`] is fused
//! where the hardware has FMA.

/// `N` f32 lanes processed together.
///
/// Comparison masks are opaque ([`Lanes::Mask`]) and only feed [`Lanes::select`]. `min` and
/// `max` leave the result unspecified when a lane is NaN (x86 and Arm disagree), so callers
/// that must propagate NaN restore it with `select(is_nan(x), x, ..)`.
pub(crate) trait Lanes: Copy {
    /// Number of lanes.
    const N: usize;
    /// Result of a lane-wise comparison.
    type Mask: Copy;

    /// All lanes set to `v`.
    fn splat(v: f32) -> Self;
    /// The first `N` values of `src`; lanes past its end read as zero.
    fn load(src: &[f32]) -> Self;
    /// Writes the lanes to the first `min(N, dst.len())` elements of `dst`.
    fn store(self, dst: &mut [f32]);

    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self - o`.
    fn sub(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
    /// `self / o`.
    fn div(self, o: Self) -> Self;
    /// `self * b + c`, with one rounding where the hardware has FMA, two otherwise.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// Lane-wise minimum (NaN behaviour unspecified).
    fn min(self, o: Self) -> Self;
    /// Lane-wise maximum (NaN behaviour unspecified).
    fn max(self, o: Self) -> Self;
    /// `0` where the lane is below zero, else the lane itself (NaN and -0.0 pass through).
    #[inline(always)]
    fn relu(self) -> Self {
        let zero = Self::splat(0.0);
        Self::select(self.lt(zero), zero, self)
    }
    /// Correctly rounded square root.
    fn sqrt(self) -> Self;
    /// `e^x` lane by lane: born's [`super::vector::exp_poly`]; `micromath`'s on plain-`f32`
    /// lanes with the `fast-math` feature.
    #[inline(always)]
    fn lane_exp(self) -> Self {
        super::vector::exp_poly(self)
    }
    /// Absolute value (clears the sign bit).
    fn abs(self) -> Self;
    /// Negation (flips the sign bit).
    fn neg(self) -> Self;
    /// Magnitude of `self` with the sign bit of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// Each lane's bits ANDed with `keep`.
    fn and_bits(self, keep: u32) -> Self;
    /// `2^n` for lanes holding integers in `-126..=127` (other values give unspecified
    /// finite or infinite results, never undefined behaviour).
    fn pow2i(n: Self) -> Self;

    /// `self < o` (false where either is NaN).
    fn lt(self, o: Self) -> Self::Mask;
    /// True where the lane is NaN.
    fn is_nan(self) -> Self::Mask;
    /// `a` where `m` is set, `b` elsewhere.
    fn select(m: Self::Mask, a: Self, b: Self) -> Self;

    /// Sum of the lanes (in an implementation-defined order).
    fn reduce_add(self) -> f32;
    /// Largest lane (NaN behaviour unspecified).
    fn reduce_max(self) -> f32;
}

impl Lanes for f32 {
    const N: usize = 1;
    type Mask = bool;

    /// `micromath`'s `exp` inside `[-87.33, 88.72]` (results from `f32::MIN_POSITIVE` to
    /// `f32::MAX`); 0 below (no subnormal results), `inf` above, NaN propagates.
    #[cfg(feature = "fast-math")]
    #[inline(always)]
    fn lane_exp(self) -> Self {
        if self.is_nan() {
            self
        } else if self > 88.722_84 {
            f32::INFINITY
        } else if self < -87.336_54 {
            0.0
        } else {
            micromath::F32Ext::exp(self)
        }
    }

    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        src.first().copied().unwrap_or(0.0)
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        if let Some(d) = dst.first_mut() {
            *d = self;
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self / o
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        self * b + c
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        f32::min(self, o)
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        f32::max(self, o)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        super::sqrt(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::abs(self)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        -self
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        f32::copysign(self, sign)
    }
    #[inline(always)]
    fn and_bits(self, keep: u32) -> Self {
        f32::from_bits(self.to_bits() & keep)
    }
    #[inline(always)]
    fn pow2i(n: Self) -> Self {
        f32::from_bits(((n as i32).wrapping_add(127) as u32) << 23)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        self < o
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    #[inline(always)]
    fn select(m: bool, a: Self, b: Self) -> Self {
        if m {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn reduce_add(self) -> f32 {
        self
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        self
    }
}

/// Eight f32 lanes in plain Rust: the portable fast path. Every operation is a fixed-length
/// loop that LLVM turns into SIMD where the target has it (SSE2, NEON, ...) and into
/// straight-line FPU code elsewhere (Cortex-M4F).
///
/// Unused on targets whose [`Portable`] lanes are a plain `f32` (except by tests).
#[cfg_attr(
    not(any(
        test,
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        all(target_arch = "arm", target_feature = "neon"),
        all(target_arch = "wasm32", target_feature = "simd128")
    )),
    allow(dead_code)
)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct F32x8(pub(crate) [f32; 8]);

#[cfg_attr(
    not(any(
        test,
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        all(target_arch = "arm", target_feature = "neon"),
        all(target_arch = "wasm32", target_feature = "simd128")
    )),
    allow(dead_code)
)]
impl F32x8 {
    #[inline(always)]
    fn map(self, f: impl Fn(f32) -> f32) -> Self {
        let mut r = self.0;
        for v in r.iter_mut() {
            *v = f(*v);
        }
        F32x8(r)
    }
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        let mut r = self.0;
        for (v, &w) in r.iter_mut().zip(o.0.iter()) {
            *v = f(*v, w);
        }
        F32x8(r)
    }
    #[inline(always)]
    fn cmp(self, o: Self, f: impl Fn(f32, f32) -> bool) -> [bool; 8] {
        let mut m = [false; 8];
        for ((mv, &a), &b) in m.iter_mut().zip(self.0.iter()).zip(o.0.iter()) {
            *mv = f(a, b);
        }
        m
    }
}

impl Lanes for F32x8 {
    const N: usize = 8;
    type Mask = [bool; 8];

    #[inline(always)]
    fn splat(v: f32) -> Self {
        F32x8([v; 8])
    }
    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        let mut r = [0.0; 8];
        for (d, &s) in r.iter_mut().zip(src.iter()) {
            *d = s;
        }
        F32x8(r)
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(self.0.iter()) {
            *d = s;
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.zip(o, |a, b| a + b)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.zip(o, |a, b| a - b)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.zip(o, |a, b| a * b)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self.zip(o, |a, b| a / b)
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        self.mul(b).add(c)
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        self.zip(o, f32::min)
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        self.zip(o, f32::max)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        self.map(super::sqrt)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.map(f32::abs)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        self.map(|v| -v)
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        self.zip(sign, f32::copysign)
    }
    #[inline(always)]
    fn and_bits(self, keep: u32) -> Self {
        self.map(|v| f32::from_bits(v.to_bits() & keep))
    }
    #[inline(always)]
    fn pow2i(n: Self) -> Self {
        n.map(<f32 as Lanes>::pow2i)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> [bool; 8] {
        self.cmp(o, |a, b| a < b)
    }
    #[inline(always)]
    fn is_nan(self) -> [bool; 8] {
        self.cmp(self, |a, _| a.is_nan())
    }
    #[inline(always)]
    fn select(m: [bool; 8], a: Self, b: Self) -> Self {
        let mut r = b.0;
        for ((v, &mv), &av) in r.iter_mut().zip(m.iter()).zip(a.0.iter()) {
            if mv {
                *v = av;
            }
        }
        F32x8(r)
    }
    #[inline(always)]
    fn reduce_add(self) -> f32 {
        let v = self.0;
        // Same association as the AVX2 reduction (halves, then quarters, then pairs).
        ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]))
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        let v = self.0;
        v[0].max(v[1])
            .max(v[2])
            .max(v[3])
            .max(v[4])
            .max(v[5])
            .max(v[6])
            .max(v[7])
    }
}

/// Lanes of the portable ([`super::Isa::Generic`]) path: [`F32x8`] where the target has
/// SIMD registers for LLVM to put them in, a plain `f32` elsewhere (microcontrollers, where
/// eight-wide arrays would only cost code size and register spills). Both give the same bits
/// element by element; only the order of summation in softmax and the norms differs.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    all(target_arch = "arm", target_feature = "neon"),
    all(target_arch = "wasm32", target_feature = "simd128")
))]
pub(crate) type Portable = F32x8;
/// See the SIMD-target definition.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    all(target_arch = "arm", target_feature = "neon"),
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
pub(crate) type Portable = f32;

/// A function over lanes, as a type: unlike a closure or a function pointer, its call is
/// inlined into the `#[target_feature]` function that drives it, so the SIMD intrinsics
/// inside are too.
pub(crate) trait LaneFn: Copy {
    /// The function on one lane group.
    fn call<L: Lanes>(self, x: L) -> L;
}

/// Applies `f` to `x` lane group by lane group, writing `out` (`x.len() == out.len()` is the
/// caller's check; extra elements of the longer one are left alone). The tail is padded with
/// zeros, so each element's result does not depend on its position.
#[inline(always)]
pub(crate) fn map<L: Lanes, F: LaneFn>(x: &[f32], out: &mut [f32], f: F) {
    let mut xs = x.chunks_exact(L::N);
    let mut os = out.chunks_exact_mut(L::N);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        f.call(L::load(xc)).store(oc);
    }
    let xr = xs.remainder();
    if !xr.is_empty() {
        f.call(L::load(xr)).store(os.into_remainder());
    }
}

/// In-place form of [`map`].
#[inline(always)]
pub(crate) fn map_inplace<L: Lanes, F: LaneFn>(x: &mut [f32], f: F) {
    let mut xs = x.chunks_exact_mut(L::N);
    for xc in &mut xs {
        f.call(L::load(xc)).store(xc);
    }
    let xr = xs.into_remainder();
    if !xr.is_empty() {
        f.call(L::load(xr)).store(xr);
    }
}
