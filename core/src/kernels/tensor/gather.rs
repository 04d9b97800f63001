//! ONNX `Gather` and `GatherElements` for any element type, with `i64` indices.
//!
//! Indices follow ONNX: an index into an axis of length `d` must lie in `-d..d`, and a
//! negative one counts from the end (it has `d` added once). Every index is checked before
//! anything is written, so on error the output is untouched.

use super::walk::Walk;
use super::{check_eq, numel, resolve_axis, strides};
use crate::error::{Error, Result};

/// Resolves an ONNX index in `-len..len` to `0..len`.
#[inline]
pub(super) fn resolve(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok().filter(|&i| i < len)
    } else {
        usize::try_from(index.unsigned_abs())
            .ok()
            .and_then(|back| len.checked_sub(back))
    }
}

/// Checks every index against an axis of length `len`.
fn check_indices(op: &'static str, indices: &[i64], len: usize) -> Result<()> {
    match indices.iter().find(|&&i| resolve(i, len).is_none()) {
        Some(&i) => Err(Error::IndexOutOfRange {
            op,
            what: "gather index",
            index: usize::try_from(i.unsigned_abs()).unwrap_or(usize::MAX),
            len,
        }),
        None => Ok(()),
    }
}

/// ONNX `Gather` (`numpy.take` along `axis`): `data` has dimensions `shape`; the output
/// has dimensions `shape[..axis] ++ indices_shape ++ shape[axis + 1..]`, of which only the
/// count `indices.len()` matters here, and
/// `out[o, j, i] = data[o, indices[j], i]` with `o` over the axes before `axis` and `i`
/// over those after it. `axis` may be negative (counting from the back). Whole rows of the
/// inner axes are copied with `copy_from_slice`.
///
/// Errors: [`Error::IndexOutOfRange`] (`what: "gather index"`, `len: shape[axis]`) for the
/// first index outside `-len..len`, with `index` holding its absolute value;
/// [`Error::AxisOutOfRange`] for an axis outside `-rank..rank` (so always for rank 0);
/// [`Error::DimMismatch`] when `data` or `out` is not as long as its shape's element count
/// (`"input length"`, `"output length"`); [`Error::RankTooLarge`]; [`Error::Overflow`].
pub fn gather<T: Copy>(
    data: &[T],
    shape: &[usize],
    axis: i64,
    indices: &[i64],
    out: &mut [T],
) -> Result<()> {
    let op = "gather";
    let n = numel(op, shape)?;
    let axis = resolve_axis(op, axis, shape.len())?;
    let len = shape[axis];
    let outer = numel(op, &shape[..axis])?;
    let inner = numel(op, &shape[axis + 1..])?;
    check_eq(op, "input length", n, data.len())?;
    let m = outer
        .checked_mul(indices.len())
        .and_then(|v| v.checked_mul(inner))
        .ok_or(Error::Overflow { op })?;
    check_eq(op, "output length", m, out.len())?;
    check_indices(op, indices, len)?;
    if m == 0 {
        return Ok(());
    }
    let slab = len * inner;
    let mut rows = out.chunks_exact_mut(inner);
    for o in 0..outer {
        let xs = &data[o * slab..][..slab];
        for (&i, row) in indices.iter().zip(rows.by_ref()) {
            let l = resolve(i, len).unwrap_or(0);
            row.copy_from_slice(&xs[l * inner..][..inner]);
        }
    }
    Ok(())
}

/// The element counts of data `shape` and `indices_shape` and the resolved `axis` of an
/// element-wise gather or scatter along `axis`: equal ranks, and every index dimension off
/// the axis at most the data's.
pub(super) fn elements_geometry(
    op: &'static str,
    shape: &[usize],
    axis: i64,
    indices_shape: &[usize],
) -> Result<(usize, usize, usize)> {
    let n = numel(op, shape)?;
    let m = numel(op, indices_shape)?;
    let axis = resolve_axis(op, axis, shape.len())?;
    check_eq(op, "indices rank", shape.len(), indices_shape.len())?;
    let fits = shape
        .iter()
        .zip(indices_shape)
        .enumerate()
        .all(|(a, (&d, &i))| a == axis || i <= d);
    if !fits {
        return Err(Error::InvalidArgument {
            op,
            what: "indices dimension exceeds the data dimension",
        });
    }
    Ok((n, m, axis))
}

/// ONNX `GatherElements` (`numpy.take_along_axis`): `indices` has dimensions
/// `indices_shape`, of the same rank as `shape`, and so does `out`, with
/// `out[j] = data[j with its coordinate along axis replaced by indices[j]]`. Along every
/// other axis `indices_shape` may be shorter than `shape` (the leading part of `data` is
/// read), as in ONNX Runtime. `axis` may be negative (counting from the back).
///
/// Errors: [`Error::IndexOutOfRange`] (`what: "gather index"`, `len: shape[axis]`) for the
/// first index outside `-len..len`, with `index` holding its absolute value;
/// [`Error::DimMismatch`] when the ranks differ (`"indices rank"`) or a buffer is not as
/// long as its shape's element count (`"input length"`, `"indices length"`,
/// `"output length"`); [`Error::InvalidArgument`] when an `indices_shape` dimension off the
/// axis exceeds `shape`'s; [`Error::AxisOutOfRange`]; [`Error::RankTooLarge`];
/// [`Error::Overflow`].
pub fn gather_elements<T: Copy>(
    data: &[T],
    shape: &[usize],
    axis: i64,
    indices: &[i64],
    indices_shape: &[usize],
    out: &mut [T],
) -> Result<()> {
    let op = "gather_elements";
    let (n, m, axis) = elements_geometry(op, shape, axis, indices_shape)?;
    check_eq(op, "input length", n, data.len())?;
    check_eq(op, "indices length", m, indices.len())?;
    check_eq(op, "output length", m, out.len())?;
    let len = shape[axis];
    check_indices(op, indices, len)?;
    let st = strides(op, shape)?;
    // Walk `indices_shape` through `data`, standing still along `axis`.
    let mut walk = Walk::<1>::new([0]);
    for (a, &d) in indices_shape.iter().enumerate() {
        walk.push(op, d, [if a == axis { 0 } else { st[a] }])?;
    }
    let step = st[axis].unsigned_abs();
    for ((o, &i), [at]) in out.iter_mut().zip(indices).zip(walk.iter()) {
        let l = resolve(i, len).unwrap_or(0);
        if let Some(&v) = data.get(at + l * step) {
            *o = v;
        }
    }
    Ok(())
}
