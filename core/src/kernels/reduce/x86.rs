//! AVX2 paths. They perform exactly the operations of the portable chunked paths in
//! `generic.rs`, in the same order and without FMA contraction, so results are bit-identical.

use super::generic::{self, init, LANES, MAX, MIN, PROD, SUM, SUMSQ};
use core::arch::x86_64::*;

/// One lane step of `OP` on eight lanes; also the lane merge when `$sq` is false.
/// Expands in place so it sits inside the caller's `unsafe` block.
macro_rules! step8 {
    ($op:expr, $acc:expr, $v:expr, $sq:expr) => {{
        let acc = $acc;
        let v = $v;
        match $op {
            SUM => _mm256_add_ps(acc, v),
            SUMSQ if $sq => _mm256_add_ps(acc, _mm256_mul_ps(v, v)),
            SUMSQ => _mm256_add_ps(acc, v),
            MAX => {
                let take = _mm256_or_ps(
                    _mm256_cmp_ps::<_CMP_GT_OQ>(v, acc),
                    _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
                );
                _mm256_blendv_ps(acc, v, take)
            }
            MIN => {
                let take = _mm256_or_ps(
                    _mm256_cmp_ps::<_CMP_LT_OQ>(v, acc),
                    _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
                );
                _mm256_blendv_ps(acc, v, take)
            }
            PROD => _mm256_mul_ps(acc, v),
            _ => acc,
        }
    }};
}

/// AVX2 twin of [`generic::contiguous`].
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn contiguous<const OP: u8>(x: &[f32]) -> f32 {
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    let mut lanes = [0.0f32; LANES];
    // SAFETY: every chunk holds exactly 8 f32 and `lanes` has room for 8; the caller
    // guarantees AVX2.
    unsafe {
        let mut acc = _mm256_set1_ps(init::<OP>());
        for c in chunks {
            acc = step8!(OP, acc, _mm256_loadu_ps(c.as_ptr()), true);
        }
        _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
    }
    let mut r = generic::tree::<OP>(&lanes);
    for &v in tail {
        r = generic::step::<OP>(r, v);
    }
    r
}

/// AVX2 twin of [`generic::strided`]: eight columns per register, the remaining columns by
/// the portable code within the same row block.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `slab.len() >= len * inner` and `out.len() >= inner`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn strided<const OP: u8>(
    slab: &[f32],
    len: usize,
    inner: usize,
    out: &mut [f32],
) {
    let out = &mut out[..inner];
    out.fill(init::<OP>());
    let full = len - len % LANES;
    let cols = inner - inner % LANES;
    let mut l = 0;
    while l < full {
        let mut c = 0;
        while c < cols {
            // SAFETY: rows `l..l + 8 <= len` start at `row * inner + c` and read 8 floats,
            // ending at or before `len * inner <= slab.len()`; the read and write of
            // `out[c..c + 8]` are inside `out` because `c + 8 <= inner`. The caller
            // guarantees AVX2.
            unsafe {
                let base = slab.as_ptr().add(l * inner + c);
                let mut p = [_mm256_setzero_ps(); LANES];
                for (j, p) in p.iter_mut().enumerate() {
                    // `generic::leaf`: squared for sums of squares, else as is.
                    let v = _mm256_loadu_ps(base.add(j * inner));
                    *p = if OP == SUMSQ { _mm256_mul_ps(v, v) } else { v };
                }
                let t0 = step8!(OP, p[0], p[4], false);
                let t1 = step8!(OP, p[1], p[5], false);
                let t2 = step8!(OP, p[2], p[6], false);
                let t3 = step8!(OP, p[3], p[7], false);
                let t = step8!(
                    OP,
                    step8!(OP, t0, t2, false),
                    step8!(OP, t1, t3, false),
                    false
                );
                let o = out.as_mut_ptr().add(c);
                _mm256_storeu_ps(o, step8!(OP, _mm256_loadu_ps(o), t, false));
            }
            c += LANES;
        }
        generic::block::<OP>(slab, inner, l, cols, out);
        l += LANES;
    }
    while l < len {
        let mut c = 0;
        while c < cols {
            // SAFETY: row `l < len` reads `x[l * inner + c..][..8]`, inside the slab; `out`
            // is read and written at `c..c + 8 <= inner`. The caller guarantees AVX2.
            unsafe {
                let o = out.as_mut_ptr().add(c);
                let v = _mm256_loadu_ps(slab.as_ptr().add(l * inner + c));
                _mm256_storeu_ps(o, step8!(OP, _mm256_loadu_ps(o), v, true));
            }
            c += LANES;
        }
        generic::tail_row::<OP>(slab, inner, l, cols, out);
        l += 1;
    }
}
