//! x86_64 AVX2 + FMA small-m kernels: one ymm register per 8-lane dot product (transposed
//! B), one per 8 columns of the C tile (plain B). For `m` rows of A a call covers
//! `[8, 4, 3, 2][m - 1]` rows of B (dot) or that many ymm columns (axpy), so 6 to 9
//! independent accumulators hide the FMA latency.

use super::{axpy_fits, dot_fits, update, SmallKernel, LANES};
use crate::kernels::gemm::driver::{oob, Strided};
use crate::kernels::gemm::x86::Avx2;
use crate::Result;
use core::arch::x86_64::*;

/// Rows of B per dot call, or ymm columns per axpy tile, for `m` rows of A.
fn width(m: usize) -> usize {
    match m {
        1 => 8,
        2 => 4,
        3 => 3,
        _ => 2,
    }
}

impl SmallKernel for Avx2 {
    fn dot_rows(m: usize) -> usize {
        width(m)
    }

    fn axpy_cols(m: usize) -> usize {
        width(m) * LANES
    }

    fn dot(
        &self,
        m: usize,
        k: usize,
        x: Strided<'_>,
        w: &[f32],
        ldb: usize,
        rows: usize,
        c: &mut [f32],
        ldc: usize,
        alpha: f32,
        beta: f32,
    ) -> Result<()> {
        if !dot_fits(m, k, &x, w, ldb, rows, width(m), c, ldc) {
            return Err(oob());
        }
        macro_rules! go {
            ($m:literal, $r:literal, $xc1:literal) => {
                // SAFETY: `self` proves AVX2 + FMA. The kernel reads x at i * x.rs + p * x.cs
                // for i < m, p < k (`x.covers(m, k)`), rows j < rows of w at j * ldb + p for
                // p < k (`(rows - 1) * ldb + k <= w.len()`; masked-off lanes are not read) and
                // writes C at i * ldc + j for i < m, j < rows (checked against c.len()); all
                // by `dot_fits`.
                unsafe {
                    dot_kernel::<$m, $r, $xc1>(
                        k,
                        x.data.as_ptr(),
                        x.rs,
                        x.cs,
                        w.as_ptr(),
                        ldb,
                        rows,
                        c.as_mut_ptr(),
                        ldc,
                        alpha,
                        beta,
                    )
                }
            };
        }
        match (m, x.cs == 1) {
            (1, true) => go!(1, 8, true),
            (2, true) => go!(2, 4, true),
            (3, true) => go!(3, 3, true),
            (4, true) => go!(4, 2, true),
            (1, false) => go!(1, 8, false),
            (2, false) => go!(2, 4, false),
            (3, false) => go!(3, 3, false),
            (4, false) => go!(4, 2, false),
            _ => return Err(oob()),
        }
        Ok(())
    }

    fn axpy(
        &self,
        m: usize,
        kc: usize,
        a: Strided<'_>,
        b: &[f32],
        ldb: usize,
        cols: usize,
        c: &mut [f32],
        ldc: usize,
        alpha: f32,
        beta: f32,
    ) -> Result<()> {
        let v = width(m);
        if !axpy_fits(m, kc, &a, b, ldb, cols, v * LANES, c, ldc) {
            return Err(oob());
        }
        macro_rules! go {
            ($m:literal, $v:literal, $masked:literal) => {
                // SAFETY: `self` proves AVX2 + FMA. The kernel reads A at i * a.rs + p * a.cs
                // for i < m, p < kc (`a.covers(m, kc)`), B at p * ldb + j for p < kc,
                // j < cols (lanes past cols are masked off and not read when $masked, and
                // cols == $v * 8 otherwise), and writes C at i * ldc + j for i < m,
                // j < cols; `axpy_fits` checked these ranges against the slices.
                unsafe {
                    axpy_kernel::<$m, $v, $masked>(
                        kc,
                        a.data.as_ptr(),
                        a.rs,
                        a.cs,
                        b.as_ptr(),
                        ldb,
                        cols,
                        c.as_mut_ptr(),
                        ldc,
                        alpha,
                        beta,
                    )
                }
            };
        }
        match (m, cols == v * LANES) {
            (1, true) => go!(1, 8, false),
            (2, true) => go!(2, 4, false),
            (3, true) => go!(3, 3, false),
            (4, true) => go!(4, 2, false),
            (1, false) => go!(1, 8, true),
            (2, false) => go!(2, 4, true),
            (3, false) => go!(3, 3, true),
            (4, false) => go!(4, 2, true),
            _ => return Err(oob()),
        }
        Ok(())
    }
}

/// Mask of the first `len` (`<= 8`) lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lane_mask(len: usize) -> __m256i {
    let n = _mm256_set1_epi32(len.min(LANES) as i32);
    _mm256_cmpgt_epi32(n, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}

/// Lanes summed as `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps::<1>(v);
    // [l0 + l1, l2 + l3, l4 + l5, l6 + l7]
    let h = _mm_hadd_ps(lo, hi);
    // [(l0 + l1) + (l2 + l3), (l4 + l5) + (l6 + l7), ..]
    let h = _mm_hadd_ps(h, h);
    _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)))
}

/// Loads `len` (`<= 8`) elements from `p` at stride `cs`, zero in the other lanes.
///
/// # Safety
/// AVX2 available; `p + q * cs` readable for `q < len`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load_x<const XC1: bool>(p: *const f32, cs: usize, len: usize) -> __m256 {
    if XC1 {
        if len == LANES {
            // SAFETY: 8 contiguous elements readable (caller).
            unsafe { _mm256_loadu_ps(p) }
        } else {
            // SAFETY: the first `len` lanes are readable and the others are masked off.
            unsafe { _mm256_maskload_ps(p, lane_mask(len)) }
        }
    } else {
        let mut t = [0.0f32; LANES];
        for (q, v) in t.iter_mut().enumerate().take(len) {
            // SAFETY: q < len (caller).
            *v = unsafe { *p.add(q * cs) };
        }
        // SAFETY: `t` holds 8 elements.
        unsafe { _mm256_loadu_ps(t.as_ptr()) }
    }
}

/// `M x R` dot products of length `k`: A row i at `x + i * xrs` (stride `xcs` in `p`, 1 when
/// `XC1`), B row j at `w + min(j, rows - 1) * ldb`; writes C columns `j < rows`.
///
/// # Safety
/// AVX2 and FMA available; `x + i * xrs + p * xcs` readable for i < M, p < k;
/// `w + j * ldb + p` readable for j < rows, p < k; `c + i * ldc + j` writable for i < M,
/// j < rows; 1 <= rows <= R; k >= 1.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_kernel<const M: usize, const R: usize, const XC1: bool>(
    k: usize,
    x: *const f32,
    xrs: usize,
    xcs: usize,
    w: *const f32,
    ldb: usize,
    rows: usize,
    c: *mut f32,
    ldc: usize,
    alpha: f32,
    beta: f32,
) {
    let mut wp = [w; R];
    for (j, p) in wp.iter_mut().enumerate() {
        *p = w.wrapping_add(j.min(rows - 1) * ldb);
    }
    let mut acc = [[_mm256_setzero_ps(); R]; M];
    let full = k / LANES * LANES;
    let mut p = 0;
    while p < full {
        let mut xv = [_mm256_setzero_ps(); M];
        for (i, v) in xv.iter_mut().enumerate() {
            // SAFETY: p + 8 <= k, so elements p..p + 8 of row i are readable (caller).
            *v = unsafe { load_x::<XC1>(x.wrapping_add(i * xrs + p * xcs), xcs, LANES) };
        }
        for (j, &wj) in wp.iter().enumerate() {
            // SAFETY: row min(j, rows - 1) < rows, elements p..p + 8 <= k (caller).
            let wv = unsafe { _mm256_loadu_ps(wj.add(p)) };
            for i in 0..M {
                acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
            }
        }
        p += LANES;
    }
    if p < k {
        let len = k - p;
        let mask = lane_mask(len);
        let mut xv = [_mm256_setzero_ps(); M];
        for (i, v) in xv.iter_mut().enumerate() {
            // SAFETY: elements p..k of row i are readable (caller).
            *v = unsafe { load_x::<XC1>(x.wrapping_add(i * xrs + p * xcs), xcs, len) };
        }
        for (j, &wj) in wp.iter().enumerate() {
            // SAFETY: elements p..k of the row are readable; the other lanes are masked off.
            let wv = unsafe { _mm256_maskload_ps(wj.wrapping_add(p), mask) };
            for i in 0..M {
                acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, &v) in row.iter().enumerate().take(rows) {
            // SAFETY: i < M, j < rows (caller).
            unsafe {
                let cp = c.add(i * ldc + j);
                *cp = update(hsum(v), alpha, beta, if beta == 0.0 { 0.0 } else { *cp });
            }
        }
    }
}

/// `M x (V * 8)` tile of C over `kc` rows of B: A element `(i, p)` at
/// `a + i * rsa + p * csa`, B row `p` at `b + p * ldb` (`cols` valid columns, the rest masked
/// off when `MASKED`). `C = alpha * acc (+ beta * C)` with the roundings of
/// [`update`](super::update).
///
/// # Safety
/// AVX2 and FMA available; those A elements and B columns `< cols` readable for p < kc;
/// C columns `< cols` of rows `< M` writable at stride `ldc`; `cols == V * 8` unless `MASKED`,
/// `1 <= cols <= V * 8`; kc >= 1.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn axpy_kernel<const M: usize, const V: usize, const MASKED: bool>(
    kc: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    ldb: usize,
    cols: usize,
    c: *mut f32,
    ldc: usize,
    alpha: f32,
    beta: f32,
) {
    let mut masks = [_mm256_setzero_si256(); V];
    for (v, mk) in masks.iter_mut().enumerate() {
        *mk = lane_mask(cols.saturating_sub(v * LANES));
    }
    let mut acc = [[_mm256_setzero_ps(); V]; M];
    let mut ap = a;
    let mut bp = b;
    for _ in 0..kc {
        let mut bv = [_mm256_setzero_ps(); V];
        for (v, x) in bv.iter_mut().enumerate() {
            // SAFETY: columns < cols of row p are readable (caller); when MASKED the lanes
            // past cols are masked off, otherwise cols == V * 8.
            *x = unsafe {
                if MASKED {
                    _mm256_maskload_ps(bp.wrapping_add(v * LANES), masks[v])
                } else {
                    _mm256_loadu_ps(bp.add(v * LANES))
                }
            };
        }
        for (i, row) in acc.iter_mut().enumerate() {
            // SAFETY: element (i, p) of A is readable (caller).
            let av = _mm256_set1_ps(unsafe { *ap.add(i * rsa) });
            for (s, &y) in row.iter_mut().zip(&bv) {
                *s = _mm256_fmadd_ps(av, y, *s);
            }
        }
        ap = ap.wrapping_add(csa);
        bp = bp.wrapping_add(ldb);
    }
    let va = _mm256_set1_ps(alpha);
    let vb = _mm256_set1_ps(beta);
    for (i, row) in acc.iter().enumerate() {
        for (v, &s) in row.iter().enumerate() {
            let cp = c.wrapping_add(i * ldc + v * LANES);
            let mut r = _mm256_mul_ps(va, s);
            // SAFETY: columns < cols of row i < M are writable (caller); lanes past cols are
            // masked off when MASKED, otherwise all 8 lanes are in range.
            unsafe {
                if MASKED {
                    if beta != 0.0 {
                        let old = _mm256_maskload_ps(cp, masks[v]);
                        r = _mm256_add_ps(r, _mm256_mul_ps(vb, old));
                    }
                    _mm256_maskstore_ps(cp, masks[v], r);
                } else {
                    if beta != 0.0 {
                        r = _mm256_add_ps(r, _mm256_mul_ps(vb, _mm256_loadu_ps(cp)));
                    }
                    _mm256_storeu_ps(cp, r);
                }
            }
        }
    }
}
