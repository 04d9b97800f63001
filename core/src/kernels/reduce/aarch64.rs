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

/// NEON twin of [`generic::strided`]: four columns per register, the remaining columns by
/// the portable code within the same row block.
///
/// Callers guarantee `slab.len() >= len * inner` and `out.len() >= inner`.
pub(crate) fn strided<const OP: u8>(slab: &[f32], len: usize, inner: usize, out: &mut [f32]) {
    let out = &mut out[..inner];
    out.fill(init::<OP>());
    let full = len - len % LANES;
    let cols = inner - inner % 4;
    let mut l = 0;
    while l < full {
        let mut c = 0;
        while c < cols {
            // SAFETY: rows `l..l + 8 <= len` start at `row * inner + c` and read 4 floats,
            // ending at or before `len * inner <= slab.len()`; the read and write of
            // `out[c..c + 4]` are inside `out` because `c + 4 <= inner`. NEON is part of
            // this target.
            unsafe {
                let base = slab.as_ptr().add(l * inner + c);
                let mut p = [vdupq_n_f32(0.0); LANES];
                for (j, p) in p.iter_mut().enumerate() {
                    // `generic::leaf`: squared for sums of squares, else as is.
                    let v = vld1q_f32(base.add(j * inner));
                    *p = if OP == SUMSQ { vmulq_f32(v, v) } else { v };
                }
                let t0 = step4!(OP, p[0], p[4], false);
                let t1 = step4!(OP, p[1], p[5], false);
                let t2 = step4!(OP, p[2], p[6], false);
                let t3 = step4!(OP, p[3], p[7], false);
                let t = step4!(
                    OP,
                    step4!(OP, t0, t2, false),
                    step4!(OP, t1, t3, false),
                    false
                );
                let o = out.as_mut_ptr().add(c);
                vst1q_f32(o, step4!(OP, vld1q_f32(o), t, false));
            }
            c += 4;
        }
        generic::block::<OP>(slab, inner, l, cols, out);
        l += LANES;
    }
    while l < len {
        let mut c = 0;
        while c < cols {
            // SAFETY: row `l < len` reads `x[l * inner + c..][..4]`, inside the slab; `out`
            // is read and written at `c..c + 4 <= inner`. NEON is part of this target.
            unsafe {
                let o = out.as_mut_ptr().add(c);
                let v = vld1q_f32(slab.as_ptr().add(l * inner + c));
                vst1q_f32(o, step4!(OP, vld1q_f32(o), v, true));
            }
            c += 4;
        }
        generic::tail_row::<OP>(slab, inner, l, cols, out);
        l += 1;
    }
}
