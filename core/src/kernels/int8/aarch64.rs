//! NEON inner product: 16 int8 at a time, `x - zp` widened exactly to i16 by `vsubl_s8`,
//! weights by `vmovl_s8`, products accumulated into i32 lanes by `vmlal_s16` (wrapping, like
//! the scalar sum), so the result equals [`super::dot::dot_portable`] bit for bit.

use core::arch::aarch64::*;

/// NEON twin of [`super::dot::dot_portable`].
pub(super) fn dot(x: &[i8], w: &[i8], zp: i32) -> i32 {
    let n = x.len().min(w.len());
    let (x, w) = (&x[..n], &w[..n]);
    let xs = x.chunks_exact(16);
    let ws = w.chunks_exact(16);
    let (xt, wt) = (xs.remainder(), ws.remainder());
    // SAFETY: each chunk holds 16 bytes, so the 16-byte loads are in bounds; NEON is part of
    // the aarch64 base ISA. `zp` was validated to be in [-128, 127], so it fits i8.
    let acc = unsafe {
        let zpv = vdup_n_s8(zp as i8);
        let mut acc0 = vdupq_n_s32(0);
        let mut acc1 = vdupq_n_s32(0);
        for (xc, wc) in xs.zip(ws) {
            let xv = vld1q_s8(xc.as_ptr());
            let wv = vld1q_s8(wc.as_ptr());
            let xl = vsubl_s8(vget_low_s8(xv), zpv);
            let xh = vsubl_s8(vget_high_s8(xv), zpv);
            let wl = vmovl_s8(vget_low_s8(wv));
            let wh = vmovl_s8(vget_high_s8(wv));
            acc0 = vmlal_s16(acc0, vget_low_s16(xl), vget_low_s16(wl));
            acc1 = vmlal_s16(acc1, vget_high_s16(xl), vget_high_s16(wl));
            acc0 = vmlal_s16(acc0, vget_low_s16(xh), vget_low_s16(wh));
            acc1 = vmlal_s16(acc1, vget_high_s16(xh), vget_high_s16(wh));
        }
        vaddvq_s32(vaddq_s32(acc0, acc1))
    };
    acc.wrapping_add(super::dot::dot_portable(xt, wt, zp))
}

/// Four inner products of `x` with `w[0..4]` (each as long as `x`), sharing the widening of
/// `x`; equal to four calls of [`super::dot::dot_portable`] bit for bit.
pub(super) fn dot4(x: &[i8], w: [&[i8]; 4], zp: i32) -> [i32; 4] {
    let n = x.len();
    if w.iter().any(|r| r.len() != n) {
        return w.map(|r| super::dot::dot_portable(x, r, zp));
    }
    let full = n - n % 16;
    let mut sums = [0i32; 4];
    // SAFETY: `i + 16 <= full <= n` for every load and every row of `w` has length `n`;
    // NEON is part of the aarch64 base ISA; `zp` was validated to be in [-128, 127].
    unsafe {
        let zpv = vdup_n_s8(zp as i8);
        let mut acc = [vdupq_n_s32(0); 4];
        let mut i = 0;
        while i < full {
            let xv = vld1q_s8(x.as_ptr().add(i));
            let xl = vsubl_s8(vget_low_s8(xv), zpv);
            let xh = vsubl_s8(vget_high_s8(xv), zpv);
            for (a, r) in acc.iter_mut().zip(w) {
                let wv = vld1q_s8(r.as_ptr().add(i));
                let wl = vmovl_s8(vget_low_s8(wv));
                let wh = vmovl_s8(vget_high_s8(wv));
                let mut s = vmlal_s16(*a, vget_low_s16(xl), vget_low_s16(wl));
                s = vmlal_s16(s, vget_high_s16(xl), vget_high_s16(wl));
                s = vmlal_s16(s, vget_low_s16(xh), vget_low_s16(wh));
                *a = vmlal_s16(s, vget_high_s16(xh), vget_high_s16(wh));
            }
            i += 16;
        }
        for (s, a) in sums.iter_mut().zip(acc) {
            *s = vaddvq_s32(a);
        }
    }
    let xt = x.get(full..).unwrap_or(&[]);
    for (s, r) in sums.iter_mut().zip(w) {
        let tail = super::dot::dot_portable(xt, r.get(full..).unwrap_or(&[]), zp);
        *s = s.wrapping_add(tail);
    }
    sums
}
