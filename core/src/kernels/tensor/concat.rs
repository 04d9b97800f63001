//! Concat and Split along one axis (ONNX `Concat`, `Split`; `numpy.concatenate`,
//! `numpy.split`).
//!
//! Each tensor is viewed as `[outer, axis, inner]` row-major: `outer` is the product of the
//! dimensions before the axis, `inner` the product of those after it, and only the axis
//! length differs from part to part. For each of the `outer` slabs, every part contributes
//! one contiguous run of `axis_len * inner` elements, copied with `copy_from_slice`.

use super::check_eq;
use crate::error::{Error, Result};

/// Checks the part lengths against `axis_lens` and returns the concatenated length
/// `outer * sum(axis_lens) * inner`.
fn check(
    op: &'static str,
    part_lens: impl ExactSizeIterator<Item = usize>,
    axis_lens: &[usize],
    outer: usize,
    inner: usize,
) -> Result<usize> {
    let overflow = Error::Overflow { op };
    check_eq(op, "part count", axis_lens.len(), part_lens.len())?;
    let mut total = 0usize;
    for (len, &l) in part_lens.zip(axis_lens) {
        let needed = outer
            .checked_mul(l)
            .and_then(|v| v.checked_mul(inner))
            .ok_or(overflow)?;
        check_eq(op, "part length", needed, len)?;
        total = total.checked_add(l).ok_or(overflow)?;
    }
    outer
        .checked_mul(total)
        .and_then(|v| v.checked_mul(inner))
        .ok_or(overflow)
}

/// Concatenates `parts` along one axis into `out`. Part `p` is `[outer, axis_lens[p],
/// inner]` row-major and `out` is `[outer, sum(axis_lens), inner]`; the parts follow each
/// other along the axis in order. Parts of axis length 0 are allowed and contribute nothing.
///
/// Errors: [`Error::DimMismatch`] when `parts.len() != axis_lens.len()` (`"part count"`),
/// a part is not `outer * axis_lens[p] * inner` long (`"part length"`) or `out` is not
/// `outer * sum(axis_lens) * inner` long (`"output length"`); [`Error::Overflow`].
pub fn concat<T: Copy>(
    parts: &[&[T]],
    axis_lens: &[usize],
    outer: usize,
    inner: usize,
    out: &mut [T],
) -> Result<()> {
    let op = "concat";
    let n = check(op, parts.iter().map(|p| p.len()), axis_lens, outer, inner)?;
    check_eq(op, "output length", n, out.len())?;
    let mut at = 0;
    for o in 0..outer {
        for (part, &l) in parts.iter().zip(axis_lens) {
            let run = l * inner;
            out[at..][..run].copy_from_slice(&part[o * run..][..run]);
            at += run;
        }
    }
    Ok(())
}

/// Splits `x` along one axis into `outs`, the inverse of [`concat`](fn@concat): `x` is
/// `[outer, sum(axis_lens), inner]` row-major and `outs[p]` receives the
/// `[outer, axis_lens[p], inner]` block that starts at axis position
/// `axis_lens[..p].sum()`.
///
/// Errors: [`Error::DimMismatch`] when `outs.len() != axis_lens.len()` (`"part count"`), an
/// output is not `outer * axis_lens[p] * inner` long (`"part length"`) or `x` is not
/// `outer * sum(axis_lens) * inner` long (`"input length"`); [`Error::Overflow`].
pub fn split<T: Copy>(
    x: &[T],
    outer: usize,
    inner: usize,
    axis_lens: &[usize],
    outs: &mut [&mut [T]],
) -> Result<()> {
    let op = "split";
    let n = check(op, outs.iter().map(|p| p.len()), axis_lens, outer, inner)?;
    check_eq(op, "input length", n, x.len())?;
    let mut at = 0;
    for o in 0..outer {
        for (part, &l) in outs.iter_mut().zip(axis_lens) {
            let run = l * inner;
            part[o * run..][..run].copy_from_slice(&x[at..][..run]);
            at += run;
        }
    }
    Ok(())
}
