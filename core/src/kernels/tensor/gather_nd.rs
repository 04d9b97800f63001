//! ONNX `GatherND` for any element type, with `i64` indices and `batch_dims`.
//!
//! Indices follow ONNX: an index into an axis of length `d` must lie in `-d..d`, and a
//! negative one counts from the end. Every index is checked before anything is written, so
//! on error the output is untouched.

use super::scatter::tuple_offset;
use super::{check_eq, numel, strides};
use crate::error::{Error, Result};

/// ONNX `GatherND`: `data` has dimensions `shape` (rank `r`), `indices` has dimensions
/// `indices_shape = [..lead, k]` whose first `batch_dims` entries equal `shape`'s, and
/// `batch_dims + k <= r`. Each row of `indices` holds the coordinates, along axes
/// `batch_dims..batch_dims + k`, of a sub-tensor of dimensions `shape[batch_dims + k..]`
/// inside its batch (the row's leading `batch_dims` coordinates in `lead`); `out`
/// (dimensions `lead ++ shape[batch_dims + k..]`) holds these sub-tensors in row order.
/// With `k = 0` every row picks its whole batch.
///
/// Errors: [`Error::IndexOutOfRange`] (`what: "gather index"`, `len` the length of the axis
/// it indexes) for the first index outside `-len..len`, with `index` holding its absolute
/// value; [`Error::InvalidArgument`] when `indices` has rank 0, `batch_dims` is not below
/// it, or `batch_dims + k > r`; [`Error::DimMismatch`] when a batch dimension differs
/// (`"batch dimension"`) or a buffer is not as long as its shape's element count
/// (`"input length"`, `"indices length"`, `"output length"`); [`Error::RankTooLarge`];
/// [`Error::Overflow`].
pub fn gather_nd<T: Copy>(
    data: &[T],
    shape: &[usize],
    indices: &[i64],
    indices_shape: &[usize],
    batch_dims: usize,
    out: &mut [T],
) -> Result<()> {
    let op = "gather_nd";
    let n = numel(op, shape)?;
    let m = numel(op, indices_shape)?;
    let invalid = |what| Error::InvalidArgument { op, what };
    let (&k, lead) = indices_shape
        .split_last()
        .ok_or(invalid("indices must have rank 1 or more"))?;
    if batch_dims > lead.len() {
        return Err(invalid("batch_dims must be below the indices rank"));
    }
    let inner = batch_dims
        .checked_add(k)
        .filter(|&e| e <= shape.len())
        .ok_or(invalid(
            "batch_dims plus the indices' last dimension exceed the data rank",
        ))?;
    for (&d, &i) in shape.iter().zip(&lead[..batch_dims]) {
        check_eq(op, "batch dimension", d, i)?;
    }
    let batch = numel(op, &shape[..batch_dims])?;
    let block = numel(op, &shape[batch_dims..])?;
    let per_batch = numel(op, &lead[batch_dims..])?;
    let slice = numel(op, &shape[inner..])?;
    check_eq(op, "input length", n, data.len())?;
    check_eq(op, "indices length", m, indices.len())?;
    let total = numel(op, lead)?
        .checked_mul(slice)
        .ok_or(Error::Overflow { op })?;
    check_eq(op, "output length", total, out.len())?;
    let dims = &shape[batch_dims..];
    let st = strides(op, dims)?;
    let row = |r: usize| indices.get(r * k..(r + 1) * k).unwrap_or(&[]);
    let rows = batch * per_batch;
    for r in 0..rows {
        tuple_offset(row(r), dims, &st).map_err(|(i, d)| Error::IndexOutOfRange {
            op,
            what: "gather index",
            index: usize::try_from(i.unsigned_abs()).unwrap_or(usize::MAX),
            len: d,
        })?;
    }
    for r in 0..rows {
        let Ok(off) = tuple_offset(row(r), dims, &st) else {
            continue;
        };
        let at = (r / per_batch) * block + off;
        let src = data.get(at..at + slice).unwrap_or_default();
        if let Some(dst) = out.get_mut(r * slice..(r + 1) * slice) {
            if dst.len() == src.len() {
                dst.copy_from_slice(src);
            }
        }
    }
    Ok(())
}
