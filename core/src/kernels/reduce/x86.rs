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

/// AVX2 twin of [`generic::strided`]: eight columns at a time, one register per lane.
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
    let full = len - len % LANES;
    let mut col = 0;
    while col + LANES <= inner {
        // SAFETY: rows `l < len` start at `l * inner + col` and read 8 floats, ending at or
        // before `len * inner <= slab.len()`; the store writes `out[col..col + 8]`, inside
        // `out` because `col + 8 <= inner <= out.len()`. The caller guarantees AVX2.
        unsafe {
            let base = slab.as_ptr().add(col);
            let mut a = [_mm256_set1_ps(init::<OP>()); LANES];
            let mut l = 0;
            while l < full {
                for (j, a) in a.iter_mut().enumerate() {
                    *a = step8!(OP, *a, _mm256_loadu_ps(base.add((l + j) * inner)), true);
                }
                l += LANES;
            }
            let t0 = step8!(OP, a[0], a[4], false);
            let t1 = step8!(OP, a[1], a[5], false);
            let t2 = step8!(OP, a[2], a[6], false);
            let t3 = step8!(OP, a[3], a[7], false);
            let mut r = step8!(
                OP,
                step8!(OP, t0, t2, false),
                step8!(OP, t1, t3, false),
                false
            );
            for l in full..len {
                r = step8!(OP, r, _mm256_loadu_ps(base.add(l * inner)), true);
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(col), r);
        }
        col += LANES;
    }
    while col < inner {
        generic::columns::<OP, 1>(slab, len, inner, col, &mut out[col..]);
        col += 1;
    }
}
