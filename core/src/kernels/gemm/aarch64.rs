//! aarch64 NEON micro-kernel: 8 x 8 tile, 16 q-register accumulators.
//!
//! Same structure as the x86 kernel: per `p`, two 4-lane loads of B and one fused
//! multiply-add per accumulator with A's element broadcast (by lane from a packed 8-element
//! load on the packed path, by `ld1r` on the direct path: both compute `acc + b * a` with one
//! rounding, so both give the same bits).

use super::driver::{oob, update_scalar, Micro, Strided, Tile};
use crate::kernels::cpu::has_neon;
use crate::Result;
use core::arch::aarch64::*;

/// Tile rows.
pub(crate) const MR: usize = 8;
/// Tile columns (two q registers).
pub(crate) const NR: usize = 8;

/// Proof that NEON is available: only [`Neon::new`] builds one.
#[derive(Clone, Copy)]
pub(crate) struct Neon {
    _checked: (),
}

impl Neon {
    /// `Some` only when NEON may be used.
    pub(crate) fn new() -> Option<Neon> {
        has_neon().then_some(Neon { _checked: () })
    }
}

impl Micro for Neon {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline]
    fn packed_tile(&self, kc: usize, a: &[f32], b: &[f32], t: Tile<'_>) -> Result<()> {
        if kc == 0 || a.len() < MR * kc || b.len() < NR * kc || !t.fits(MR, NR) {
            return Err(oob());
        }
        // SAFETY: `self` proves NEON. The kernel reads a[..MR * kc] and b[..NR * kc] (checked
        // above) and writes rows < t.rows, columns < t.cols of C at stride t.ldc (checked by
        // `t.fits`).
        unsafe {
            kernel_packed(
                kc,
                a.as_ptr(),
                b.as_ptr(),
                t.c.as_mut_ptr(),
                t.ldc,
                t.rows,
                t.cols,
                t.alpha,
                t.beta,
            )
        };
        Ok(())
    }

    #[inline]
    fn direct_tile(&self, kc: usize, a: Strided<'_>, b: Strided<'_>, t: Tile<'_>) -> Result<()> {
        if kc == 0 || b.cs != 1 || !t.fits(MR, NR) || !a.covers(t.rows, kc) || !b.covers(kc, t.cols)
        {
            return Err(oob());
        }
        macro_rules! go {
            ($rows:literal) => {
                // SAFETY: `self` proves NEON. The kernel reads A at r * a.rs + p * a.cs for
                // r < $rows == t.rows, p < kc, and B at p * b.rs + j for j < t.cols (columns
                // past t.cols are never read); `covers` checked both ranges. C writes stay in
                // rows < t.rows, columns < t.cols, checked by `t.fits`.
                unsafe {
                    kernel_direct::<$rows>(
                        kc,
                        a.data.as_ptr(),
                        a.rs,
                        a.cs,
                        b.data.as_ptr(),
                        b.rs,
                        t.c.as_mut_ptr(),
                        t.ldc,
                        t.rows,
                        t.cols,
                        t.alpha,
                        t.beta,
                    )
                }
            };
        }
        match t.rows {
            1 => go!(1),
            2 => go!(2),
            3 => go!(3),
            4 => go!(4),
            5 => go!(5),
            6 => go!(6),
            7 => go!(7),
            8 => go!(8),
            _ => return Err(oob()),
        }
        Ok(())
    }
}

/// Packed 8 x 8 tile: A panel `[p][8]`, B panel `[p][8]`.
///
/// # Safety
/// NEON available; `a` has 8 * kc and `b` 8 * kc readable elements; C rows < `rows`, columns
/// < `cols` at stride `ldc` writable; 1 <= rows <= 8, 1 <= cols <= 8.
#[inline]
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_packed(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    alpha: f32,
    beta: f32,
) {
    let z = vdupq_n_f32(0.0);
    let mut acc0 = [z; MR];
    let mut acc1 = [z; MR];
    let mut ap = a;
    let mut bp = b;
    for _ in 0..kc {
        // SAFETY: step p reads a[8p..8p + 8] and b[8p..8p + 8], in bounds (caller).
        let (a0, a1, b0, b1) = unsafe {
            (
                vld1q_f32(ap),
                vld1q_f32(ap.add(4)),
                vld1q_f32(bp),
                vld1q_f32(bp.add(4)),
            )
        };
        macro_rules! row {
            ($r:literal, $v:ident, $l:literal) => {
                acc0[$r] = vfmaq_laneq_f32::<$l>(acc0[$r], b0, $v);
                acc1[$r] = vfmaq_laneq_f32::<$l>(acc1[$r], b1, $v);
            };
        }
        row!(0, a0, 0);
        row!(1, a0, 1);
        row!(2, a0, 2);
        row!(3, a0, 3);
        row!(4, a1, 0);
        row!(5, a1, 1);
        row!(6, a1, 2);
        row!(7, a1, 3);
        ap = ap.wrapping_add(MR);
        bp = bp.wrapping_add(NR);
    }
    // SAFETY: forwarded from the caller's contract.
    unsafe { store::<MR>(&acc0, &acc1, c, ldc, rows, cols, alpha, beta) };
}

/// Direct `ROWS` x 8 tile: A element `(r, p)` at `a + r * rsa + p * csa`, B row `p` at
/// `b + p * rsb` with `cols` valid columns.
///
/// # Safety
/// NEON available; those elements of A and B readable; C rows < `rows` (== ROWS), columns
/// < `cols` at stride `ldc` writable; 1 <= cols <= 8.
#[inline]
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_direct<const ROWS: usize>(
    kc: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    rsb: usize,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    alpha: f32,
    beta: f32,
) {
    let z = vdupq_n_f32(0.0);
    let mut acc0 = [z; ROWS];
    let mut acc1 = [z; ROWS];
    let mut ap = a;
    let mut bp = b;
    let mut edge = [0.0f32; NR];
    for _ in 0..kc {
        let (b0, b1) = if cols == NR {
            // SAFETY: the full row p of B (8 columns) is in bounds (caller).
            unsafe { (vld1q_f32(bp), vld1q_f32(bp.add(4))) }
        } else {
            // SAFETY: the first `cols` elements of row p are in bounds (caller).
            let src = unsafe { core::slice::from_raw_parts(bp, cols) };
            for (d, &v) in edge.iter_mut().zip(src) {
                *d = v;
            }
            // SAFETY: `edge` holds 8 elements.
            unsafe { (vld1q_f32(edge.as_ptr()), vld1q_f32(edge.as_ptr().add(4))) }
        };
        for r in 0..ROWS {
            // SAFETY: element (r, p) of A is in bounds (caller).
            let av = unsafe { vld1q_dup_f32(ap.add(r * rsa)) };
            acc0[r] = vfmaq_f32(acc0[r], b0, av);
            acc1[r] = vfmaq_f32(acc1[r], b1, av);
        }
        ap = ap.wrapping_add(csa);
        bp = bp.wrapping_add(rsb);
    }
    // SAFETY: forwarded from the caller's contract.
    unsafe { store::<ROWS>(&acc0, &acc1, c, ldc, rows, cols, alpha, beta) };
}

/// Writes `C = alpha * acc (+ beta * C)` for rows < `rows`, columns < `cols`.
///
/// # Safety
/// NEON available; those C elements writable; rows <= ROWS; 1 <= rows, 1 <= cols <= 8.
#[inline]
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
unsafe fn store<const ROWS: usize>(
    acc0: &[float32x4_t; ROWS],
    acc1: &[float32x4_t; ROWS],
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    alpha: f32,
    beta: f32,
) {
    let rows = rows.min(ROWS);
    if cols == NR {
        let va = vdupq_n_f32(alpha);
        let vb = vdupq_n_f32(beta);
        for r in 0..rows {
            // SAFETY: row r < rows, columns 0..8 == cols are in bounds (caller).
            unsafe {
                let cp = c.add(r * ldc);
                let mut r0 = vmulq_f32(va, acc0[r]);
                let mut r1 = vmulq_f32(va, acc1[r]);
                if beta != 0.0 {
                    r0 = vaddq_f32(r0, vmulq_f32(vb, vld1q_f32(cp)));
                    r1 = vaddq_f32(r1, vmulq_f32(vb, vld1q_f32(cp.add(4))));
                }
                vst1q_f32(cp, r0);
                vst1q_f32(cp.add(4), r1);
            }
        }
    } else {
        let mut tmp = [0.0f32; MR * NR];
        for r in 0..rows {
            // SAFETY: tmp holds 8 rows of 8 and r < rows <= ROWS <= 8.
            unsafe {
                vst1q_f32(tmp.as_mut_ptr().add(r * NR), acc0[r]);
                vst1q_f32(tmp.as_mut_ptr().add(r * NR + 4), acc1[r]);
            }
        }
        let len = (rows - 1) * ldc + cols;
        // SAFETY: rows < rows, columns < cols at stride ldc are in bounds (caller).
        let cs = unsafe { core::slice::from_raw_parts_mut(c, len) };
        update_scalar(
            Tile {
                c: cs,
                ldc,
                rows,
                cols,
                alpha,
                beta,
            },
            &tmp,
            NR,
        );
    }
}
