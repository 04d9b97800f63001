//! [`Lanes`] over AVX2 + FMA registers (eight f32 lanes).
//!
//! Soundness rests on one invariant: an [`Avx2`] value is only ever created inside a function
//! compiled with `#[target_feature(enable = "avx2,fma")]` that is itself only called after
//! [`crate::kernels::cpu::has_avx2_fma`] returned true. Every method is `#[inline(always)]`,
//! so it is inlined into such a function and the intrinsics run on a CPU that has them.

use super::lanes::Lanes;
use core::arch::x86_64::*;

/// Eight f32 lanes in a `__m256`.
#[derive(Clone, Copy)]
pub(crate) struct Avx2(__m256);

impl Lanes for Avx2 {
    const N: usize = 8;
    type Mask = __m256;

    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY: see the module invariant: this runs inside an avx2+fma function on a CPU
        // that has both.
        Avx2(unsafe { _mm256_set1_ps(v) })
    }
    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        if src.len() >= 8 {
            // SAFETY: `src` holds at least 8 f32 and `loadu` has no alignment requirement;
            // AVX is available by the module invariant.
            Avx2(unsafe { _mm256_loadu_ps(src.as_ptr()) })
        } else {
            let mut buf = [0.0f32; 8];
            for (d, &s) in buf.iter_mut().zip(src.iter()) {
                *d = s;
            }
            // SAFETY: `buf` holds 8 f32; AVX is available by the module invariant.
            Avx2(unsafe { _mm256_loadu_ps(buf.as_ptr()) })
        }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        if dst.len() >= 8 {
            // SAFETY: `dst` holds at least 8 f32 and `storeu` has no alignment requirement;
            // AVX is available by the module invariant.
            unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), self.0) }
        } else {
            let mut buf = [0.0f32; 8];
            // SAFETY: `buf` holds 8 f32; AVX is available by the module invariant.
            unsafe { _mm256_storeu_ps(buf.as_mut_ptr(), self.0) }
            for (d, &s) in dst.iter_mut().zip(buf.iter()) {
                *d = s;
            }
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_add_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_sub_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_mul_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_div_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: FMA is available by the module invariant.
        Avx2(unsafe { _mm256_fmadd_ps(self.0, b.0, c.0) })
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_min_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_max_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn relu(self) -> Self {
        // `maxps` returns its second operand when either is NaN or both are zeros, so
        // `max(0, x)` is exactly the select form (NaN and -0.0 pass through). It also keeps
        // LLVM from turning an in-place ReLU into masked stores, which are slow on AMD cores.
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_max_ps(_mm256_setzero_ps(), self.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.and_bits(0x7FFF_FFFF)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe {
            let s = _mm256_set1_ps(-0.0);
            _mm256_or_ps(_mm256_andnot_ps(s, self.0), _mm256_and_ps(s, sign.0))
        })
    }
    #[inline(always)]
    fn and_bits(self, keep: u32) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_and_ps(self.0, _mm256_castsi256_ps(_mm256_set1_epi32(keep as i32))) })
    }
    #[inline(always)]
    fn pow2i(n: Self) -> Self {
        // SAFETY: AVX2 is available by the module invariant.
        Avx2(unsafe {
            let i = _mm256_cvtps_epi32(n.0);
            let e = _mm256_slli_epi32::<23>(_mm256_add_epi32(i, _mm256_set1_epi32(127)));
            _mm256_castsi256_ps(e)
        })
    }
    #[inline(always)]
    fn lt(self, o: Self) -> __m256 {
        // SAFETY: AVX is available by the module invariant.
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, o.0) }
    }
    #[inline(always)]
    fn is_nan(self) -> __m256 {
        // SAFETY: AVX is available by the module invariant.
        unsafe { _mm256_cmp_ps::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn select(m: __m256, a: Self, b: Self) -> Self {
        // SAFETY: AVX is available by the module invariant.
        Avx2(unsafe { _mm256_blendv_ps(b.0, a.0, m) })
    }
    #[inline(always)]
    fn reduce_add(self) -> f32 {
        // SAFETY: AVX is available by the module invariant.
        unsafe {
            let lo = _mm256_castps256_ps128(self.0);
            let hi = _mm256_extractf128_ps::<1>(self.0);
            let s = _mm_add_ps(lo, hi);
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
            _mm_cvtss_f32(s)
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        // SAFETY: AVX is available by the module invariant.
        unsafe {
            let lo = _mm256_castps256_ps128(self.0);
            let hi = _mm256_extractf128_ps::<1>(self.0);
            let s = _mm_max_ps(lo, hi);
            let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_max_ss(s, _mm_shuffle_ps::<1>(s, s));
            _mm_cvtss_f32(s)
        }
    }
}
