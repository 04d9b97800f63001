//! AVX2 versions of the 2x2 / stride-2 row loops: eight outputs per iteration, the same
//! operations in the same order as `generic.rs`, so results are bit-identical.

use super::generic;
use core::arch::x86_64::*;

/// NaN-propagating max step on eight lanes (`v` if `v > acc` or `v` is NaN, else `acc`).
/// Expands in place so it sits inside the caller's `unsafe` block.
macro_rules! max8 {
    ($acc:expr, $v:expr) => {{
        let acc = $acc;
        let v = $v;
        let take = _mm256_or_ps(
            _mm256_cmp_ps::<_CMP_GT_OQ>(v, acc),
            _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
        );
        _mm256_blendv_ps(acc, v, take)
    }};
}

/// Loads 16 floats at `p` and splits them into even and odd elements. The results are in
/// the lane order `[0, 2, 8, 10 | 4, 6, 12, 14]` (pair order `[0, 1, 4, 5 | 2, 3, 6, 7]`),
/// which [`unpair`] undoes. Expands inside the caller's `unsafe` block.
macro_rules! split16 {
    ($p:expr) => {{
        let lo = _mm256_loadu_ps($p);
        let hi = _mm256_loadu_ps($p.add(8));
        (
            _mm256_shuffle_ps::<0x88>(lo, hi),
            _mm256_shuffle_ps::<0xDD>(lo, hi),
        )
    }};
}

/// Puts eight pair results from the order of `split16!` back in order.
macro_rules! unpair {
    ($v:expr) => {
        _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd($v)))
    };
}

/// AVX2 twin of [`generic::max2x2_row`].
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn max2x2_row(r0: &[f32], r1: &[f32], out: &mut [f32]) {
    let n = out.len().min(r0.len() / 2).min(r1.len() / 2);
    let full = n - n % 8;
    let mut i = 0;
    while i < full {
        // SAFETY: `i + 8 <= n`, so the 16-float reads from `2 * i` stay inside `r0` and `r1`
        // (both hold at least `2 * n`) and the 8-float write stays inside `out`; the caller
        // guarantees AVX2.
        unsafe {
            let (ae, ao) = split16!(r0.as_ptr().add(2 * i));
            let (be, bo) = split16!(r1.as_ptr().add(2 * i));
            let m = max8!(max8!(max8!(ae, ao), be), bo);
            _mm256_storeu_ps(out.as_mut_ptr().add(i), unpair!(m));
        }
        i += 8;
    }
    generic::max2x2_row(&r0[2 * full..], &r1[2 * full..], &mut out[full..]);
}

/// AVX2 twin of [`generic::avg2x2_row`].
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn avg2x2_row(r0: &[f32], r1: &[f32], out: &mut [f32]) {
    let n = out.len().min(r0.len() / 2).min(r1.len() / 2);
    let full = n - n % 8;
    let mut i = 0;
    while i < full {
        // SAFETY: as in `max2x2_row`: all reads and the write are inside the slices; the
        // caller guarantees AVX2.
        unsafe {
            let (ae, ao) = split16!(r0.as_ptr().add(2 * i));
            let (be, bo) = split16!(r1.as_ptr().add(2 * i));
            let s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(ae, ao), be), bo);
            let m = _mm256_mul_ps(s, _mm256_set1_ps(0.25));
            _mm256_storeu_ps(out.as_mut_ptr().add(i), unpair!(m));
        }
        i += 8;
    }
    generic::avg2x2_row(&r0[2 * full..], &r1[2 * full..], &mut out[full..]);
}
