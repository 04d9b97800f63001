//! Scalar reference twins: the specification the fast paths are tested against. Each output
//! folds its `len` inputs left to right.

use super::ReduceOp;

/// Reference reduction; the caller has checked every length.
pub(super) fn reduce(
    op: ReduceOp,
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    out: &mut [f32],
) {
    for o in 0..outer {
        for i in 0..inner {
            let at = |l: usize| x[(o * len + l) * inner + i];
            let mut acc = match op {
                ReduceOp::Sum | ReduceOp::Mean | ReduceOp::SumSquares => -0.0f32,
                ReduceOp::Max => f32::NEG_INFINITY,
                ReduceOp::Min => f32::INFINITY,
                ReduceOp::Prod => 1.0,
            };
            for l in 0..len {
                let v = at(l);
                acc = match op {
                    ReduceOp::Sum | ReduceOp::Mean => acc + v,
                    ReduceOp::SumSquares => acc + v * v,
                    ReduceOp::Max => {
                        if v > acc || v.is_nan() {
                            v
                        } else {
                            acc
                        }
                    }
                    ReduceOp::Min => {
                        if v < acc || v.is_nan() {
                            v
                        } else {
                            acc
                        }
                    }
                    ReduceOp::Prod => acc * v,
                };
            }
            if op == ReduceOp::Mean {
                acc /= len as f32;
            }
            out[o * inner + i] = acc;
        }
    }
}

/// Reference argmax (`maximum`) or argmin; the caller has checked every length and that
/// `len - 1` fits in `i32`.
pub(super) fn arg(
    maximum: bool,
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    out: &mut [i32],
) {
    for o in 0..outer {
        for i in 0..inner {
            let at = |l: usize| x[(o * len + l) * inner + i];
            let mut best = at(0);
            let mut idx = 0usize;
            for l in 1..len {
                let v = at(l);
                let better = if maximum { v > best } else { v < best };
                if better || (v.is_nan() && !best.is_nan()) {
                    best = v;
                    idx = l;
                }
            }
            out[o * inner + i] = idx as i32;
        }
    }
}
