//! [`Lanes`] over NEON registers (four f32 lanes).
//!
//! This module is only compiled where `target_feature = "neon"` holds at compile time (NEON
//! is part of the aarch64 base ISA), so every intrinsic here is available on any CPU the
//! binary runs on. Recent compilers treat the register-only intrinsics as safe in that
//! setting; the `unsafe` blocks (allowed to be redundant) keep older ones happy.
#![allow(unused_unsafe)]

use super::lanes::Lanes;
use core::arch::aarch64::*;

/// Four f32 lanes in a `float32x4_t`.
#[derive(Clone, Copy)]
pub(crate) struct Neon(float32x4_t);

impl Lanes for Neon {
    const N: usize = 4;
    type Mask = uint32x4_t;

    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY: NEON is enabled at compile time (module cfg).
        Neon(unsafe { vdupq_n_f32(v) })
    }
    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        if src.len() >= 4 {
            // SAFETY: `src` holds at least 4 f32; `vld1q_f32` has no alignment requirement
            // beyond that of f32. NEON is enabled at compile time.
            Neon(unsafe { vld1q_f32(src.as_ptr()) })
        } else {
            let mut buf = [0.0f32; 4];
            for (d, &s) in buf.iter_mut().zip(src.iter()) {
                *d = s;
            }
            // SAFETY: `buf` holds 4 f32. NEON is enabled at compile time.
            Neon(unsafe { vld1q_f32(buf.as_ptr()) })
        }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        if dst.len() >= 4 {
            // SAFETY: `dst` holds at least 4 f32. NEON is enabled at compile time.
            unsafe { vst1q_f32(dst.as_mut_ptr(), self.0) }
        } else {
            let mut buf = [0.0f32; 4];
            // SAFETY: `buf` holds 4 f32. NEON is enabled at compile time.
            unsafe { vst1q_f32(buf.as_mut_ptr(), self.0) }
            for (d, &s) in dst.iter_mut().zip(buf.iter()) {
                *d = s;
            }
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vaddq_f32(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vsubq_f32(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vmulq_f32(self.0, o.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vdivq_f32(self.0, o.0) })
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        // vfmaq_f32(c, a, b) = c + a * b, fused.
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vfmaq_f32(c.0, self.0, b.0) })
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vminq_f32(self.0, o.0) })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vmaxq_f32(self.0, o.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vsqrtq_f32(self.0) })
    }
    #[inline(always)]
    fn abs(self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vabsq_f32(self.0) })
    }
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vnegq_f32(self.0) })
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe {
            let m = vdupq_n_u32(0x8000_0000);
            vbslq_f32(m, sign.0, self.0)
        })
    }
    #[inline(always)]
    fn and_bits(self, keep: u32) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe {
            vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(self.0), vdupq_n_u32(keep)))
        })
    }
    #[inline(always)]
    fn pow2i(n: Self) -> Self {
        // `vcvtq_s32_f32` truncates, which is exact for the integral lanes this takes.
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe {
            let i = vcvtq_s32_f32(n.0);
            let e = vshlq_n_s32::<23>(vaddq_s32(i, vdupq_n_s32(127)));
            vreinterpretq_f32_s32(e)
        })
    }
    #[inline(always)]
    fn lt(self, o: Self) -> uint32x4_t {
        // SAFETY: NEON is enabled at compile time.
        unsafe { vcltq_f32(self.0, o.0) }
    }
    #[inline(always)]
    fn is_nan(self) -> uint32x4_t {
        // SAFETY: NEON is enabled at compile time.
        unsafe { vmvnq_u32(vceqq_f32(self.0, self.0)) }
    }
    #[inline(always)]
    fn select(m: uint32x4_t, a: Self, b: Self) -> Self {
        // SAFETY: NEON is enabled at compile time.
        Neon(unsafe { vbslq_f32(m, a.0, b.0) })
    }
    #[inline(always)]
    fn reduce_add(self) -> f32 {
        // SAFETY: NEON is enabled at compile time.
        unsafe { vaddvq_f32(self.0) }
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        // SAFETY: NEON is enabled at compile time.
        unsafe { vmaxvq_f32(self.0) }
    }
}
