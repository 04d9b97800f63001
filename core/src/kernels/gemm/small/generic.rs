//! Portable small-m kernels: fixed-size f32 arrays that LLVM vectorises where the target has
//! SIMD, and few enough accumulators for a Cortex-M4F/M7 FPU on bare metal (one row of B per
//! dot call, 4 columns per axpy tile there).

use super::{axpy_fits, dot_fits, lane_sum, update, SmallKernel, LANES, SMALL_M};
use crate::kernels::gemm::driver::{oob, Strided};
use crate::kernels::gemm::generic::Generic;
use crate::Result;

/// Rows of B per dot call.
#[cfg(target_os = "none")]
const DOT_ROWS: usize = 1;
/// Rows of B per dot call.
#[cfg(not(target_os = "none"))]
const DOT_ROWS: usize = 4;

/// Columns per axpy tile.
#[cfg(target_os = "none")]
const AXPY_COLS: usize = 4;
/// Columns per axpy tile.
#[cfg(not(target_os = "none"))]
const AXPY_COLS: usize = 16;

/// Elements `p0 .. p0 + len` (`len <= 8`) of row `i` of `x`, zero-padded to 8 lanes.
#[inline(always)]
fn x_chunk(x: &Strided<'_>, i: usize, p0: usize, len: usize) -> [f32; LANES] {
    let mut out = [0.0f32; LANES];
    let base = i * x.rs + p0 * x.cs;
    if x.cs == 1 {
        if let Some(src) = x.data.get(base..base + len) {
            out[..len].copy_from_slice(src);
        }
    } else {
        for (q, o) in out.iter_mut().enumerate().take(len) {
            *o = x.data.get(base + q * x.cs).copied().unwrap_or(0.0);
        }
    }
    out
}

/// Elements `p0 .. p0 + len` of `row`, zero-padded to 8 lanes.
#[inline(always)]
fn w_chunk(row: &[f32], p0: usize, len: usize) -> [f32; LANES] {
    let mut out = [0.0f32; LANES];
    if let Some(src) = row.get(p0..p0 + len) {
        out[..len].copy_from_slice(src);
    }
    out
}

impl SmallKernel for Generic {
    fn dot_rows(_m: usize) -> usize {
        DOT_ROWS
    }

    fn axpy_cols(_m: usize) -> usize {
        AXPY_COLS
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
        if !dot_fits(m, k, &x, w, ldb, rows, DOT_ROWS, c, ldc) {
            return Err(oob());
        }
        let mut wrows: [&[f32]; DOT_ROWS] = [&[]; DOT_ROWS];
        for (r, wr) in wrows.iter_mut().enumerate().take(rows) {
            *wr = w.get(r * ldb..r * ldb + k).ok_or(oob())?;
        }
        let full = k / LANES * LANES;
        for i in 0..m {
            let mut acc = [[0.0f32; LANES]; DOT_ROWS];
            let mut p0 = 0;
            while p0 < full {
                let xc = x_chunk(&x, i, p0, LANES);
                for (a, wr) in acc.iter_mut().zip(&wrows).take(rows) {
                    if let Some(Ok(wc)) = wr.get(p0..p0 + LANES).map(<&[f32; LANES]>::try_from) {
                        for ((a, &xv), &wv) in a.iter_mut().zip(&xc).zip(wc) {
                            *a += xv * wv;
                        }
                    }
                }
                p0 += LANES;
            }
            if p0 < k {
                let xc = x_chunk(&x, i, p0, k - p0);
                for (a, wr) in acc.iter_mut().zip(&wrows).take(rows) {
                    let wc = w_chunk(wr, p0, k - p0);
                    for ((a, &xv), &wv) in a.iter_mut().zip(&xc).zip(&wc) {
                        *a += xv * wv;
                    }
                }
            }
            let crow = c.get_mut(i * ldc..i * ldc + rows).ok_or(oob())?;
            for (cv, a) in crow.iter_mut().zip(&acc) {
                *cv = update(lane_sum(a), alpha, beta, *cv);
            }
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
        if !axpy_fits(m, kc, &a, b, ldb, cols, AXPY_COLS, c, ldc) {
            return Err(oob());
        }
        let mut acc = [[0.0f32; AXPY_COLS]; SMALL_M];
        let mut edge = [0.0f32; AXPY_COLS];
        for p in 0..kc {
            let brow = b.get(p * ldb..p * ldb + cols).ok_or(oob())?;
            let bv: &[f32; AXPY_COLS] = match <&[f32; AXPY_COLS]>::try_from(brow) {
                Ok(full) => full,
                Err(_) => {
                    edge[..cols].copy_from_slice(brow);
                    &edge
                }
            };
            for (i, row) in acc.iter_mut().enumerate().take(m) {
                let av = a.data.get(i * a.rs + p * a.cs).copied().ok_or(oob())?;
                for (v, &y) in row.iter_mut().zip(bv) {
                    *v += av * y;
                }
            }
        }
        for (i, row) in acc.iter().enumerate().take(m) {
            let crow = c.get_mut(i * ldc..i * ldc + cols).ok_or(oob())?;
            for (cv, &s) in crow.iter_mut().zip(row) {
                *cv = update(s, alpha, beta, *cv);
            }
        }
        Ok(())
    }
}
