//! Gradient clipping by global L2 norm (`torch.nn.utils.clip_grad_norm_`).

use crate::error::{Error, Result};
use crate::kernels::math;

/// Scales the gradients so that their global L2 norm is at most `max_norm`, and returns the
/// norm they had before.
///
/// The norm is that of all of `grads` concatenated. When `max_norm / (norm + 1e-6) < 1`, every
/// element is multiplied by that factor (`torch.nn.utils.clip_grad_norm_` with
/// `norm_type=2`); otherwise the gradients are left as they are.
///
/// The sum of squares runs in a fixed order (eight interleaved partial sums per slice, then
/// the tail, then the slices in order), so the result depends only on the values, not on the
/// CPU. If that f32 sum overflows, or falls below 2^-90 where squares may have underflowed,
/// it is recomputed with every element scaled by 2^-90 or 2^90 (exact power-of-two scalings),
/// so the norm is accurate to a few ulp whenever it is representable.
///
/// A non-finite norm (a NaN or infinite element, or a true norm above `f32::MAX`) is returned
/// as is and the gradients are left untouched, so the caller can skip the step. (PyTorch would
/// multiply by `max_norm / inf = 0` or by NaN.)
///
/// Error: `InvalidArgument { op: "clip_grad_norm" }` unless `max_norm > 0` (`+inf` is allowed
/// and never clips).
pub fn clip_grad_norm(grads: &mut [&mut [f32]], max_norm: f32) -> Result<f32> {
    if max_norm.is_nan() || max_norm <= 0.0 {
        return Err(Error::InvalidArgument {
            op: "clip_grad_norm",
            what: "max_norm must be > 0",
        });
    }
    let norm = global_norm(grads);
    if !norm.is_finite() {
        return Ok(norm);
    }
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        for g in grads.iter_mut() {
            for x in g.iter_mut() {
                *x *= coef;
            }
        }
    }
    Ok(norm)
}

/// 2^90: rescales sums of squares that would overflow or lose precision to underflow.
const BIG: f32 = 1_237_940_039_285_380_274_899_124_224.0;

/// L2 norm of all the slices together (see [`clip_grad_norm`]).
fn global_norm(grads: &[&mut [f32]]) -> f32 {
    let small = 1.0 / BIG;
    let total = |scale: f32| -> f32 { grads.iter().map(|g| sum_squares(g, scale)).sum() };
    let sum = total(1.0);
    if sum.is_infinite() {
        // Squares overflowed. Scaled by 2^-90 they cannot (the largest square is below
        // 2^76), unless an element is infinite; the neglected tiny elements weigh < 2^-100
        // of the total.
        math::sqrt(total(small)) * BIG
    } else if sum < small {
        // Below 2^-90 (zero and subnormal sums included) squares may have underflowed. Scaled
        // by 2^90 every nonzero element's square is a normal number and none can overflow.
        math::sqrt(total(BIG)) * small
    } else {
        // Finite, or NaN from a NaN element.
        math::sqrt(sum)
    }
}

/// Sum of `(scale x)^2` with eight partial sums (auto-vectorises; the same order on every
/// target).
#[inline]
fn sum_squares(x: &[f32], scale: f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            let y = v * scale;
            *a += y * y;
        }
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    let mut s = ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7));
    for &v in tail {
        let y = v * scale;
        s += y * y;
    }
    s
}
