//! AVX2 inner product: 16 int8 at a time widened to i16 (`_mm256_cvtepi8_epi16`), the input
//! zero point subtracted in i16 (exact: `x - zp` is in `[-255, 255]`), and pairs of products
//! summed into i32 lanes by `_mm256_madd_epi16` (exact: at most 2 * 255 * 128). Lane sums wrap
//! like the scalar sum, so the result equals [`super::dot::dot_portable`] bit for bit.

use core::arch::x86_64::*;

/// AVX2 twin of [`super::dot::dot_portable`]: 32 bytes per step, then one 16-byte step,
/// then scalar for the last (at most 15) elements.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot(x: &[i8], w: &[i8], zp: i32) -> i32 {
    let n = x.len().min(w.len());
    let (x, w) = (&x[..n], &w[..n]);
    let xs = x.chunks_exact(32);
    let ws = w.chunks_exact(32);
    let (xt, wt) = (xs.remainder(), ws.remainder());
    let half = if xt.len() >= 16 { 16 } else { 0 };
    let (xh, xt) = xt.split_at(half);
    let (wh, wt) = wt.split_at(half);
    let mut lanes = [0i32; 8];
    // SAFETY: each chunk holds 32 bytes, so both 16-byte loads at offsets 0 and 16 are in
    // bounds; `xh` and `wh` hold 16 bytes when loaded; `lanes` holds 8 i32 for the store;
    // the caller guarantees AVX2.
    unsafe {
        let zpv = _mm256_set1_epi16(zp as i16);
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        for (xc, wc) in xs.zip(ws) {
            let xp = xc.as_ptr() as *const __m128i;
            let wp = wc.as_ptr() as *const __m128i;
            let x0 = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(xp)), zpv);
            let x1 = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(xp.add(1))), zpv);
            let w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp));
            let w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(1)));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, w0));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(x1, w1));
        }
        if half == 16 {
            let x0 = _mm_loadu_si128(xh.as_ptr() as *const __m128i);
            let w0 = _mm_loadu_si128(wh.as_ptr() as *const __m128i);
            let x0 = _mm256_sub_epi16(_mm256_cvtepi8_epi16(x0), zpv);
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, _mm256_cvtepi8_epi16(w0)));
        }
        _mm256_storeu_si256(
            lanes.as_mut_ptr() as *mut __m256i,
            _mm256_add_epi32(acc0, acc1),
        );
    }
    let acc = lanes.iter().fold(0i32, |a, &l| a.wrapping_add(l));
    acc.wrapping_add(super::dot::dot_portable(xt, wt, zp))
}

/// Four inner products of `x` with `w[0..4]` (each as long as `x`), sharing the widening of
/// `x`: 16 bytes per step, scalar for the last (at most 15) elements. Equal to four calls of
/// [`super::dot::dot_portable`] bit for bit.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot4(x: &[i8], w: [&[i8]; 4], zp: i32) -> [i32; 4] {
    let n = x.len();
    if w.iter().any(|r| r.len() != n) {
        return w.map(|r| super::dot::dot_portable(x, r, zp));
    }
    let full = n - n % 16;
    let mut lanes = [[0i32; 8]; 4];
    // SAFETY: `i + 16 <= full <= n` for every load, and every row of `w` has length `n`;
    // each `lanes` row holds 8 i32 for its store; the caller guarantees AVX2.
    unsafe {
        let zpv = _mm256_set1_epi16(zp as i16);
        let mut acc = [_mm256_setzero_si256(); 4];
        let mut i = 0;
        while i < full {
            let xv = _mm_loadu_si128(x.as_ptr().add(i) as *const __m128i);
            let xv = _mm256_sub_epi16(_mm256_cvtepi8_epi16(xv), zpv);
            for (a, r) in acc.iter_mut().zip(w) {
                let wv = _mm_loadu_si128(r.as_ptr().add(i) as *const __m128i);
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(wv)));
            }
            i += 16;
        }
        for (l, a) in lanes.iter_mut().zip(acc) {
            _mm256_storeu_si256(l.as_mut_ptr() as *mut __m256i, a);
        }
    }
    let xt = x.get(full..).unwrap_or(&[]);
    let mut out = [0i32; 4];
    for ((o, l), r) in out.iter_mut().zip(&lanes).zip(w) {
        let tail = super::dot::dot_portable(xt, r.get(full..).unwrap_or(&[]), zp);
        *o = l.iter().fold(tail, |a, &v| a.wrapping_add(v));
    }
    out
}
