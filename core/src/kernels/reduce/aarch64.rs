//! NEON paths. They perform exactly the operations of the portable chunked paths in
//! `generic.rs`, in the same order and without FMA contraction, so results are bit-identical.
//! The eight lanes live in two 128-bit registers (`lo` = lanes 0..4, `hi` = lanes 4..8).

use super::generic::{self, init, LANES, MAX, MIN, PROD, SUM, SUMSQ};
use core::arch::aarch64::*;

/// One lane step of `OP` on four lanes; also the lane merge when `$sq` is false.
/// Expands in place so it sits inside the caller's `unsafe` block.
macro_rules! step4 {
    ($op:expr, $acc:expr, $v:expr, $sq:expr) => {{
        let acc = $acc;
        let v = $v;
        match $op {
            SUM => vaddq_f32(acc, v),
            SUMSQ if $sq => vaddq_f32(acc, vmulq_f32(v, v)),
            SUMSQ => vaddq_f32(acc, v),
            MAX => vbslq_f32(
                vorrq_u32(vcgtq_f32(v, acc), vmvnq_u32(vceqq_f32(v, v))),
                v,
                acc,
            ),
            MIN => vbslq_f32(
                vorrq_u32(vcltq_f32(v, acc), vmvnq_u32(vceqq_f32(v, v))),
                v,
                acc,
            ),
            PROD => vmulq_f32(acc, v),
            _ => acc,
        }
    }};
}

/// NEON twin of [`generic::contiguous`].
pub(crate) fn contiguous<const OP: u8>(x: &[f32]) -> f32 {
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    let mut lanes = [0.0f32; LANES];
    // SAFETY: every chunk holds exactly 8 f32, so both 4-float loads are in bounds, and
    // `lanes` has room for the two 4-float stores; NEON is part of this target.
    unsafe {
        let mut lo = vdupq_n_f32(init::<OP>());
        let mut hi = lo;
        for c in chunks {
            lo = step4!(OP, lo, vld1q_f32(c.as_ptr()), true);
            hi = step4!(OP, hi, vld1q_f32(c.as_ptr().add(4)), true);
        }
        vst1q_f32(lanes.as_mut_ptr(), lo);
        vst1q_f32(lanes.as_mut_ptr().add(4), hi);
    }
    let mut r = generic::tree::<OP>(&lanes);
    for &v in tail {
        r = generic::step::<OP>(r, v);
    }
    r
}

/// NEON twin of [`generic::strided`]: eight columns (two registers) at a time.
///
/// Callers guarantee `slab.len() >= len * inner` and `out.len() >= inner`.
pub(crate) fn strided<const OP: u8>(slab: &[f32], len: usize, inner: usize, out: &mut [f32]) {
    let full = len - len % LANES;
    let mut col = 0;
    while col + LANES <= inner {
        // SAFETY: rows `l < len` start at `l * inner + col` and read 8 floats, ending at or
        // before `len * inner <= slab.len()`; the stores write `out[col..col + 8]`, inside
        // `out` because `col + 8 <= inner <= out.len()`. NEON is part of this target.
        unsafe {
            let base = slab.as_ptr().add(col);
            let id = vdupq_n_f32(init::<OP>());
            let mut lo = [id; LANES];
            let mut hi = [id; LANES];
            let mut l = 0;
            while l < full {
                for j in 0..LANES {
                    let p = base.add((l + j) * inner);
                    lo[j] = step4!(OP, lo[j], vld1q_f32(p), true);
                    hi[j] = step4!(OP, hi[j], vld1q_f32(p.add(4)), true);
                }
                l += LANES;
            }
            let mut r = [id; 2];
            for (h, a) in r.iter_mut().zip([lo, hi]) {
                let t0 = step4!(OP, a[0], a[4], false);
                let t1 = step4!(OP, a[1], a[5], false);
                let t2 = step4!(OP, a[2], a[6], false);
                let t3 = step4!(OP, a[3], a[7], false);
                *h = step4!(
                    OP,
                    step4!(OP, t0, t2, false),
                    step4!(OP, t1, t3, false),
                    false
                );
            }
            for l in full..len {
                let p = base.add(l * inner);
                r[0] = step4!(OP, r[0], vld1q_f32(p), true);
                r[1] = step4!(OP, r[1], vld1q_f32(p.add(4)), true);
            }
            let o = out.as_mut_ptr().add(col);
            vst1q_f32(o, r[0]);
            vst1q_f32(o.add(4), r[1]);
        }
        col += LANES;
    }
    while col < inner {
        generic::columns::<OP, 1>(slab, len, inner, col, &mut out[col..]);
        col += 1;
    }
}
