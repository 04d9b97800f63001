//! NEON versions of the 2x2 / stride-2 row loops: four outputs per iteration (`vld2q`
//! splits even and odd columns), the same operations in the same order as `generic.rs`, so
//! results are bit-identical.

use super::generic;
use core::arch::aarch64::*;

/// NaN-propagating max step on four lanes (`v` if `v > acc` or `v` is NaN, else `acc`).
/// Expands in place so it sits inside the caller's `unsafe` block.
macro_rules! max4 {
    ($acc:expr, $v:expr) => {{
        let acc = $acc;
        let v = $v;
        vbslq_f32(
            vorrq_u32(vcgtq_f32(v, acc), vmvnq_u32(vceqq_f32(v, v))),
            v,
            acc,
        )
    }};
}

/// NEON twin of [`generic::max2x2_row`].
pub(crate) fn max2x2_row(r0: &[f32], r1: &[f32], out: &mut [f32]) {
    let n = out.len().min(r0.len() / 2).min(r1.len() / 2);
    let full = n - n % 4;
    let mut i = 0;
    while i < full {
        // SAFETY: `i + 4 <= n`, so the 8-float reads from `2 * i` stay inside `r0` and `r1`
        // (both hold at least `2 * n`) and the 4-float write stays inside `out`; NEON is part
        // of this target.
        unsafe {
            let a = vld2q_f32(r0.as_ptr().add(2 * i));
            let b = vld2q_f32(r1.as_ptr().add(2 * i));
            let m = max4!(max4!(max4!(a.0, a.1), b.0), b.1);
            vst1q_f32(out.as_mut_ptr().add(i), m);
        }
        i += 4;
    }
    generic::max2x2_row(&r0[2 * full..], &r1[2 * full..], &mut out[full..]);
}

/// NEON twin of [`generic::avg2x2_row`].
pub(crate) fn avg2x2_row(r0: &[f32], r1: &[f32], out: &mut [f32]) {
    let n = out.len().min(r0.len() / 2).min(r1.len() / 2);
    let full = n - n % 4;
    let mut i = 0;
    while i < full {
        // SAFETY: as in `max2x2_row`: all reads and the write are inside the slices; NEON is
        // part of this target.
        unsafe {
            let a = vld2q_f32(r0.as_ptr().add(2 * i));
            let b = vld2q_f32(r1.as_ptr().add(2 * i));
            let s = vaddq_f32(vaddq_f32(vaddq_f32(a.0, a.1), b.0), b.1);
            vst1q_f32(out.as_mut_ptr().add(i), vmulq_n_f32(s, 0.25));
        }
        i += 4;
    }
    generic::avg2x2_row(&r0[2 * full..], &r1[2 * full..], &mut out[full..]);
}
