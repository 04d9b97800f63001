//! Kernels with NumPy broadcasting of their operands: ONNX `Where` ([`where_select`]) and
//! `Expand` ([`expand`]).
//!
//! Broadcasting aligns shapes from the right; each operand dimension must equal the output's
//! or be 1 (repeated), and missing leading dimensions count as 1. Both kernels run on the
//! module's one index walker, which tracks every operand's offset incrementally.

use super::walk;
use super::{check_eq, numel, shape_of};
use crate::error::{Error, Result};

/// ONNX `Where` (`numpy.where(cond, a, b)`): `out[i] = if cond[i] != 0 { a[i] } else { b[i] }`
/// with `cond`, `a` and `b` broadcast to `out_shape`, which must be the broadcast of the
/// three shapes. `cond` holds booleans as bytes; any non-zero byte selects `a`.
///
/// Errors: [`Error::BroadcastMismatch`] when the three shapes do not broadcast together;
/// [`Error::ShapeMismatch`] when `out_shape` is not their broadcast; [`Error::DimMismatch`]
/// when a buffer is not as long as its shape's element count (`"condition length"`,
/// `"lhs length"`, `"rhs length"`, `"output length"`); [`Error::RankTooLarge`];
/// [`Error::Overflow`].
#[allow(clippy::too_many_arguments)]
pub fn where_select<T: Copy>(
    cond: &[u8],
    cond_shape: &[usize],
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    out: &mut [T],
    out_shape: &[usize],
) -> Result<()> {
    let op = "where";
    let (sc, sa, sb, so) = (
        shape_of(op, cond_shape)?,
        shape_of(op, a_shape)?,
        shape_of(op, b_shape)?,
        shape_of(op, out_shape)?,
    );
    let remap = |e: Error| match e {
        Error::BroadcastMismatch { lhs, rhs, .. } => Error::BroadcastMismatch { op, lhs, rhs },
        e => e,
    };
    let expected = sa.broadcast(&sb).map_err(remap)?;
    let expected = sc.broadcast(&expected).map_err(remap)?;
    if expected != so {
        return Err(Error::ShapeMismatch {
            op,
            expected,
            got: so,
        });
    }
    check_eq(op, "condition length", numel(op, cond_shape)?, cond.len())?;
    check_eq(op, "lhs length", numel(op, a_shape)?, a.len())?;
    check_eq(op, "rhs length", numel(op, b_shape)?, b.len())?;
    check_eq(op, "output length", numel(op, out_shape)?, out.len())?;
    let walk = walk::broadcast(op, out_shape, [cond_shape, a_shape, b_shape])?;
    for (o, [c, i, j]) in out.iter_mut().zip(walk.iter()) {
        let v = if cond.get(c).is_some_and(|&c| c != 0) {
            a.get(i)
        } else {
            b.get(j)
        };
        if let Some(&v) = v {
            *o = v;
        }
    }
    Ok(())
}

/// NumPy `broadcast_to(x, out_shape)`: `x` (dimensions `x_shape`) repeated along the axes
/// where it has length 1 or that it lacks. ONNX `Expand` broadcasts `x_shape` with its
/// `shape` input first; pass that broadcast as `out_shape`.
///
/// Errors: [`Error::BroadcastMismatch`] (`lhs: x_shape`, `rhs: out_shape`) when `x_shape`
/// does not broadcast to `out_shape`; [`Error::DimMismatch`] when a buffer is not as long
/// as its shape's element count (`"input length"`, `"output length"`);
/// [`Error::RankTooLarge`]; [`Error::Overflow`].
pub fn expand<T: Copy>(
    x: &[T],
    x_shape: &[usize],
    out: &mut [T],
    out_shape: &[usize],
) -> Result<()> {
    let op = "expand";
    let n = numel(op, x_shape)?;
    let m = numel(op, out_shape)?;
    let walk = walk::broadcast(op, out_shape, [x_shape])?;
    check_eq(op, "input length", n, x.len())?;
    check_eq(op, "output length", m, out.len())?;
    walk.copy(x, out);
    Ok(())
}
