//! AVX2 versions of the 2x2 / stride-2 row loops: eight outputs per iteration, the same
//! operations in the same order as `generic.rs`, so results are bit-identical.

use super::{generic, Geom};
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

/// Lane masks: the eight `i32`s from `MASKS[8 - k]` have exactly the first `k` lanes set.
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The mask with the first `k` lanes set; `k <= 8`, else no lane.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn first_lanes(k: usize) -> __m256i {
    let start = 8 - k.min(8);
    // SAFETY: `start <= 8`, so the eight `i32`s from `start` lie inside the 16 of `MASKS`.
    unsafe { _mm256_loadu_si256(MASKS.as_ptr().add(start).cast()) }
}

/// Eight 2x2 windows from the pair vectors of `split16!`: the max steps of [`max8!`] or the
/// sum times 0.25, in the order of `generic.rs`. Expands inside the caller's `unsafe` block.
macro_rules! pool4 {
    ($maximum:expr, $ae:expr, $ao:expr, $be:expr, $bo:expr) => {
        if $maximum {
            max8!(max8!(max8!($ae, $ao), $be), $bo)
        } else {
            let s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps($ae, $ao), $be), $bo);
            _mm256_mul_ps(s, _mm256_set1_ps(0.25))
        }
    };
}

/// Whole planes of the 2x2 / stride-2 / unpadded case when every window is full
/// (`2 * oh <= h` and `2 * ow <= w`, i.e. floor mode or even sizes): eight outputs per step
/// as in [`max2x2_row`] / [`avg2x2_row`], each row's last `ow % 8` outputs by masked loads
/// and stores instead of scalar code, and no per-row slicing. The same operations per
/// window, so bit-identical. Returns false, writing nothing, when the geometry or the
/// buffers do not allow this path.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn planes_2x2<const MAXIMUM: bool>(g: &Geom, x: &[f32], out: &mut [f32]) -> bool {
    let (h, w, oh, ow) = (g.h, g.w, g.oh, g.ow);
    let (Some(plane_in), Some(plane_out)) = (h.checked_mul(w), oh.checked_mul(ow)) else {
        return false;
    };
    let fits = ow.checked_mul(2).is_some_and(|v| v <= w)
        && oh.checked_mul(2).is_some_and(|v| v <= h)
        && g.planes.checked_mul(plane_in).is_some_and(|v| v <= x.len())
        && g.planes
            .checked_mul(plane_out)
            .is_some_and(|v| v <= out.len());
    if !fits {
        return false;
    }
    let (full, rest) = (ow - ow % 8, ow % 8);
    let hi_k = (2 * rest).saturating_sub(8);
    let (lo_m, hi_m, out_m) = (first_lanes(2 * rest), first_lanes(hi_k), first_lanes(rest));
    for p in 0..g.planes {
        for oy in 0..oh {
            // SAFETY: `p < planes` and `2 * oy + 1 < 2 * oh <= h`, so rows `2 * oy` and
            // `2 * oy + 1` of plane `p` lie inside `x` (checked to hold `planes * h * w`), and
            // output row `oy` inside `out`. Full steps read `2 * i + 16 <= 2 * ow <= w` floats
            // of each row and write `i + 8 <= ow`; the tail loads only the first `2 * rest`
            // floats from `2 * full` (the high half only when `2 * rest > 8`, so `p.add(8)` is
            // in bounds) and stores only the first `rest` outputs. Masked-off lanes are neither
            // read nor written. The caller guarantees AVX2.
            unsafe {
                let r0 = x.as_ptr().add(p * plane_in + 2 * oy * w);
                let r1 = r0.add(w);
                let o = out.as_mut_ptr().add(p * plane_out + oy * ow);
                let mut i = 0;
                while i < full {
                    let (ae, ao) = split16!(r0.add(2 * i));
                    let (be, bo) = split16!(r1.add(2 * i));
                    _mm256_storeu_ps(o.add(i), unpair!(pool4!(MAXIMUM, ae, ao, be, bo)));
                    i += 8;
                }
                if rest > 0 {
                    let (a, b) = (r0.add(2 * full), r1.add(2 * full));
                    let (a_hi, b_hi) = if hi_k > 0 {
                        (
                            _mm256_maskload_ps(a.add(8), hi_m),
                            _mm256_maskload_ps(b.add(8), hi_m),
                        )
                    } else {
                        (_mm256_setzero_ps(), _mm256_setzero_ps())
                    };
                    let (a_lo, b_lo) = (_mm256_maskload_ps(a, lo_m), _mm256_maskload_ps(b, lo_m));
                    let ae = _mm256_shuffle_ps::<0x88>(a_lo, a_hi);
                    let ao = _mm256_shuffle_ps::<0xDD>(a_lo, a_hi);
                    let be = _mm256_shuffle_ps::<0x88>(b_lo, b_hi);
                    let bo = _mm256_shuffle_ps::<0xDD>(b_lo, b_hi);
                    let v = unpair!(pool4!(MAXIMUM, ae, ao, be, bo));
                    _mm256_maskstore_ps(o.add(full), out_m, v);
                }
            }
        }
    }
    true
}
