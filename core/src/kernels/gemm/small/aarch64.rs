//! aarch64 NEON small-m kernels: two q registers per 8-lane dot product (transposed B), one
//! per 4 columns of the C tile (plain B). Same widths as the AVX2 kernels: for `m` rows of A a
//! call covers `[8, 4, 3, 2][m - 1]` rows of B (dot) or eight times that many columns (axpy).
//! Fused multiply-adds and the same lane order and sum tree as AVX2, so both give the same
//! bits.

use super::{axpy_fits, dot_fits, update, SmallKernel, LANES};
use crate::kernels::gemm::aarch64::Neon;
use crate::kernels::gemm::driver::{oob, Strided};
use crate::Result;
use core::arch::aarch64::*;

/// Rows of B per dot call, or 8-column groups per axpy tile, for `m` rows of A.
fn width(m: usize) -> usize {
    match m {
        1 => 8,
        2 => 4,
        3 => 3,
        _ => 2,
    }
}

impl SmallKernel for Neon {
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
            ($m:literal, $r:literal) => {
                // SAFETY: `self` proves NEON. The kernel reads x at i * x.rs + p * x.cs for
                // i < m, p < k (`x.covers(m, k)`), rows j < rows of w at j * ldb + p for p < k
                // (`(rows - 1) * ldb + k <= w.len()`) and writes C at i * ldc + j for i < m,
                // j < rows (checked against c.len()); all by `dot_fits`.
                unsafe {
                    dot_kernel::<$m, $r>(
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
        match m {
            1 => go!(1, 8),
            2 => go!(2, 4),
            3 => go!(3, 3),
            4 => go!(4, 2),
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
        if !axpy_fits(m, kc, &a, b, ldb, cols, width(m) * LANES, c, ldc) {
            return Err(oob());
        }
        macro_rules! go {
            ($m:literal, $q:literal) => {
                // SAFETY: `self` proves NEON. The kernel reads A at i * a.rs + p * a.cs for
                // i < m, p < kc (`a.covers(m, kc)`), B at p * ldb + j for p < kc, j < cols,
                // and writes C at i * ldc + j for i < m, j < cols; `axpy_fits` checked these
                // ranges against the slices.
                unsafe {
                    axpy_kernel::<$m, $q>(
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
        match m {
            1 => go!(1, 16),
            2 => go!(2, 8),
            3 => go!(3, 6),
            4 => go!(4, 4),
            _ => return Err(oob()),
        }
        Ok(())
    }
}

/// Loads `len` (`<= 8`) elements from `p` at stride `cs` as two q registers, zero-padded.
///
/// # Safety
/// NEON available; `p + q * cs` readable for `q < len`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load8(p: *const f32, cs: usize, len: usize) -> (float32x4_t, float32x4_t) {
    if cs == 1 && len == LANES {
        // SAFETY: 8 contiguous elements readable (caller).
        unsafe { (vld1q_f32(p), vld1q_f32(p.add(4))) }
    } else {
        let mut t = [0.0f32; LANES];
        for (q, v) in t.iter_mut().enumerate().take(len) {
            // SAFETY: q < len (caller).
            *v = unsafe { *p.add(q * cs) };
        }
        // SAFETY: `t` holds 8 elements.
        unsafe { (vld1q_f32(t.as_ptr()), vld1q_f32(t.as_ptr().add(4))) }
    }
}

/// Lanes `lo = [l0..l3]`, `hi = [l4..l7]` summed as
/// `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`.
#[inline]
#[target_feature(enable = "neon")]
fn hsum(lo: float32x4_t, hi: float32x4_t) -> f32 {
    let p = vpaddq_f32(lo, hi);
    let q = vpaddq_f32(p, p);
    vgetq_lane_f32::<0>(q) + vgetq_lane_f32::<1>(q)
}

/// `M x R` dot products of length `k`: A row i at `x + i * xrs` (stride `xcs` in `p`), B row
/// j at `w + min(j, rows - 1) * ldb`; writes C columns `j < rows`.
///
/// # Safety
/// NEON available; `x + i * xrs + p * xcs` readable for i < M, p < k; `w + j * ldb + p`
/// readable for j < rows, p < k; `c + i * ldc + j` writable for i < M, j < rows;
/// 1 <= rows <= R; k >= 1.
#[inline]
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_kernel<const M: usize, const R: usize>(
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
    let z = vdupq_n_f32(0.0);
    let mut lo = [[z; R]; M];
    let mut hi = [[z; R]; M];
    let mut p = 0;
    while p < k {
        let len = LANES.min(k - p);
        let mut xv = [(z, z); M];
        for (i, v) in xv.iter_mut().enumerate() {
            // SAFETY: elements p..p + len <= k of row i are readable (caller).
            *v = unsafe { load8(x.wrapping_add(i * xrs + p * xcs), xcs, len) };
        }
        for (j, &wj) in wp.iter().enumerate() {
            // SAFETY: row min(j, rows - 1) < rows, elements p..p + len <= k (caller).
            let (w0, w1) = unsafe { load8(wj.wrapping_add(p), 1, len) };
            for i in 0..M {
                lo[i][j] = vfmaq_f32(lo[i][j], xv[i].0, w0);
                hi[i][j] = vfmaq_f32(hi[i][j], xv[i].1, w1);
            }
        }
        p += len;
    }
    for i in 0..M {
        for j in 0..R.min(rows) {
            // SAFETY: i < M, j < rows (caller).
            unsafe {
                let cp = c.add(i * ldc + j);
                let old = if beta == 0.0 { 0.0 } else { *cp };
                *cp = update(hsum(lo[i][j], hi[i][j]), alpha, beta, old);
            }
        }
    }
}

/// `M x (Q * 4)` tile of C over `kc` rows of B: A element `(i, p)` at
/// `a + i * rsa + p * csa`, B row `p` at `b + p * ldb` with `cols` valid columns.
///
/// # Safety
/// NEON available; those A elements and B columns `< cols` readable for p < kc; C columns
/// `< cols` of rows `< M` writable at stride `ldc`; 1 <= cols <= Q * 4; kc >= 1.
#[inline]
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
unsafe fn axpy_kernel<const M: usize, const Q: usize>(
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
    let z = vdupq_n_f32(0.0);
    let mut acc = [[z; Q]; M];
    let full = cols == Q * 4;
    let mut edge = [[0.0f32; 4]; Q];
    let mut ap = a;
    let mut bp = b;
    for _ in 0..kc {
        let mut bv = [z; Q];
        if full {
            for (q, v) in bv.iter_mut().enumerate() {
                // SAFETY: all Q * 4 == cols columns of row p are readable (caller).
                *v = unsafe { vld1q_f32(bp.add(4 * q)) };
            }
        } else {
            for (j, e) in edge.as_flattened_mut().iter_mut().enumerate().take(cols) {
                // SAFETY: j < cols (caller).
                *e = unsafe { *bp.add(j) };
            }
            for (v, e) in bv.iter_mut().zip(&edge) {
                // SAFETY: `e` holds 4 elements.
                *v = unsafe { vld1q_f32(e.as_ptr()) };
            }
        }
        for (i, row) in acc.iter_mut().enumerate() {
            // SAFETY: element (i, p) of A is readable (caller).
            let av = unsafe { vld1q_dup_f32(ap.add(i * rsa)) };
            for (s, &y) in row.iter_mut().zip(&bv) {
                *s = vfmaq_f32(*s, y, av);
            }
        }
        ap = ap.wrapping_add(csa);
        bp = bp.wrapping_add(ldb);
    }
    let va = vdupq_n_f32(alpha);
    let vb = vdupq_n_f32(beta);
    for (i, row) in acc.iter().enumerate() {
        let cp = c.wrapping_add(i * ldc);
        if full {
            for (q, &s) in row.iter().enumerate() {
                // SAFETY: columns < cols == Q * 4 of row i < M are writable (caller).
                unsafe {
                    let d = cp.add(4 * q);
                    let mut r = vmulq_f32(va, s);
                    if beta != 0.0 {
                        r = vaddq_f32(r, vmulq_f32(vb, vld1q_f32(d)));
                    }
                    vst1q_f32(d, r);
                }
            }
        } else {
            let mut tmp = [[0.0f32; 4]; Q];
            for (t, &s) in tmp.iter_mut().zip(row) {
                // SAFETY: `t` holds 4 elements.
                unsafe { vst1q_f32(t.as_mut_ptr(), s) };
            }
            for (j, &s) in tmp.as_flattened().iter().enumerate().take(cols) {
                // SAFETY: j < cols, row i < M (caller).
                unsafe {
                    let d = cp.add(j);
                    let old = if beta == 0.0 { 0.0 } else { *d };
                    *d = update(s, alpha, beta, old);
                }
            }
        }
    }
}
