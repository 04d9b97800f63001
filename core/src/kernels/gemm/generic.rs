//! Portable micro-kernel: plain f32 code over fixed-size arrays that LLVM vectorises where
//! the target has SIMD (SSE2, simd128, ...) and that keeps its 4 x NR accumulators in FPU
//! registers on Cortex-M4F/M7 (NR is 4 on bare-metal targets, 8 elsewhere; no large arrays
//! on the stack).

use super::driver::{oob, update_scalar, Micro, Strided, Tile};
use crate::Result;

/// Tile rows.
pub(crate) const MR: usize = 4;
/// Tile columns.
#[cfg(target_os = "none")]
pub(crate) const NR: usize = 4;
/// Tile columns.
#[cfg(not(target_os = "none"))]
pub(crate) const NR: usize = 8;

/// The portable kernel (always available).
#[derive(Clone, Copy)]
pub(crate) struct Generic;

impl Micro for Generic {
    const MR: usize = MR;
    const NR: usize = NR;

    fn packed_tile(&self, kc: usize, a: &[f32], b: &[f32], t: Tile<'_>) -> Result<()> {
        if a.len() < MR * kc || b.len() < NR * kc || !t.fits(MR, NR) {
            return Err(oob());
        }
        let mut acc = [[0.0f32; NR]; MR];
        for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
            if let (Ok(ap), Ok(bp)) = (<&[f32; MR]>::try_from(ap), <&[f32; NR]>::try_from(bp)) {
                fma_step(&mut acc, ap, bp);
            }
        }
        update_scalar(t, acc.as_flattened(), NR);
        Ok(())
    }

    fn direct_tile(&self, kc: usize, a: Strided<'_>, b: Strided<'_>, t: Tile<'_>) -> Result<()> {
        if !t.fits(MR, NR) || !a.covers(t.rows, kc) || !b.covers(kc, t.cols) {
            return Err(oob());
        }
        let mut acc = [[0.0f32; NR]; MR];
        let mut av = [0.0f32; MR];
        let mut bv = [0.0f32; NR];
        for p in 0..kc {
            for (r, x) in av.iter_mut().enumerate().take(t.rows) {
                // SAFETY: r < t.rows and p < kc, and `a.covers(t.rows, kc)` checked that
                // element (r, p) is inside a.data.
                *x = unsafe { *a.data.get_unchecked(r * a.rs + p * a.cs) };
            }
            for (j, x) in bv.iter_mut().enumerate().take(t.cols) {
                // SAFETY: p < kc and j < t.cols, and `b.covers(kc, t.cols)` checked that
                // element (p, j) is inside b.data.
                *x = unsafe { *b.data.get_unchecked(p * b.rs + j * b.cs) };
            }
            fma_step(&mut acc, &av, &bv);
        }
        update_scalar(t, acc.as_flattened(), NR);
        Ok(())
    }
}

/// `acc[i][j] += a[i] * b[j]`: a multiply then an add (Rust never fuses them).
#[inline(always)]
fn fma_step(acc: &mut [[f32; NR]; MR], a: &[f32; MR], b: &[f32; NR]) {
    for (row, &x) in acc.iter_mut().zip(a) {
        for (v, &y) in row.iter_mut().zip(b) {
            *v += x * y;
        }
    }
}
