//! Row gathers: embedding lookup and ONNX `Gather` along one axis.
//!
//! Both validate every index before writing anything, so on error `out` is untouched. Zero
//! sizes are legal and give empty outputs (an empty id list, `dim == 0`, `outer == 0`,
//! `inner == 0`); a table or axis of length 0 only rejects the indices that try to read it.
//! Only the first `needed` elements of each buffer are used; longer buffers are fine,
//! shorter ones give [`Error::BufferTooSmall`]. The fast paths copy whole rows
//! (`copy_from_slice`, i.e. `memcpy`); the reference twins copy element by element. Both
//! give identical results.

use crate::error::{Error, Result};
use crate::kernels::check_len;

/// Checks `embedding`'s buffers and ids.
fn check_embedding(
    table_len: usize,
    rows: usize,
    dim: usize,
    ids: &[i32],
    out_len: usize,
) -> Result<()> {
    let op = "embedding";
    let needed_table = rows.checked_mul(dim).ok_or(Error::Overflow { op })?;
    let needed_out = ids.len().checked_mul(dim).ok_or(Error::Overflow { op })?;
    check_len(op, "table", needed_table, table_len)?;
    check_len(op, "output", needed_out, out_len)?;
    for &id in ids {
        if id < 0 || id as usize >= rows {
            return Err(Error::IndexOutOfRange {
                op,
                what: "token id",
                index: id.unsigned_abs() as usize,
                len: rows,
            });
        }
    }
    Ok(())
}

/// Embedding lookup: `out[i * dim..(i + 1) * dim]` = row `ids[i]` of `table`
/// (`[rows, dim]` row-major).
///
/// Errors: [`Error::IndexOutOfRange`] (`op: "embedding"`, `what: "token id"`, `len: rows`)
/// for the first id that is negative or `>= rows`; for a negative id, `index` holds its
/// absolute value (the error type has no sign). [`Error::BufferTooSmall`] if `table` is
/// shorter than `rows * dim` or `out` than `ids.len() * dim`; [`Error::Overflow`]. All ids
/// are checked before anything is written.
pub fn embedding(
    table: &[f32],
    rows: usize,
    dim: usize,
    ids: &[i32],
    out: &mut [f32],
) -> Result<()> {
    check_embedding(table.len(), rows, dim, ids, out.len())?;
    if dim == 0 {
        return Ok(());
    }
    for (o, &id) in out.chunks_exact_mut(dim).zip(ids) {
        let r = id as usize;
        o.copy_from_slice(&table[r * dim..][..dim]);
    }
    Ok(())
}

/// Scalar reference twin of [`embedding`]; same contract.
pub fn embedding_reference(
    table: &[f32],
    rows: usize,
    dim: usize,
    ids: &[i32],
    out: &mut [f32],
) -> Result<()> {
    check_embedding(table.len(), rows, dim, ids, out.len())?;
    for (i, &id) in ids.iter().enumerate() {
        let r = id as usize;
        for j in 0..dim {
            out[i * dim + j] = table[r * dim + j];
        }
    }
    Ok(())
}

/// Resolves an ONNX index (`-len..len`, negative counting from the end) to `0..len`.
#[inline]
fn resolve(index: i32, len: usize) -> Option<usize> {
    if index >= 0 {
        let i = index as usize;
        (i < len).then_some(i)
    } else {
        len.checked_sub(index.unsigned_abs() as usize)
    }
}

/// Checks `gather`'s buffers and indices.
fn check_gather(
    x_len: usize,
    outer: usize,
    len: usize,
    inner: usize,
    indices: &[i32],
    out_len: usize,
) -> Result<()> {
    let op = "gather";
    let overflow = Error::Overflow { op };
    let needed_in = outer
        .checked_mul(len)
        .and_then(|v| v.checked_mul(inner))
        .ok_or(overflow)?;
    let needed_out = outer
        .checked_mul(indices.len())
        .and_then(|v| v.checked_mul(inner))
        .ok_or(overflow)?;
    check_len(op, "input", needed_in, x_len)?;
    check_len(op, "output", needed_out, out_len)?;
    for &i in indices {
        if resolve(i, len).is_none() {
            return Err(Error::IndexOutOfRange {
                op,
                what: "gather index",
                index: i.unsigned_abs() as usize,
                len,
            });
        }
    }
    Ok(())
}

/// ONNX `Gather` along one axis: `x` is `[outer, len, inner]` row-major and `out` is
/// `[outer, indices.len(), inner]` with `out[o, j, :] = x[o, indices[j], :]`. Negative
/// indices count from the end as in ONNX (`-1` is `len - 1`); valid indices are
/// `-len..len`.
///
/// Errors: [`Error::IndexOutOfRange`] (`op: "gather"`, `what: "gather index"`, `len`) for the
/// first index outside `-len..len`, with `index` holding its absolute value;
/// [`Error::BufferTooSmall`] if `x` is shorter than `outer * len * inner` or `out` than
/// `outer * indices.len() * inner`; [`Error::Overflow`]. All indices are checked before
/// anything is written.
pub fn gather(
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    indices: &[i32],
    out: &mut [f32],
) -> Result<()> {
    check_gather(x.len(), outer, len, inner, indices, out.len())?;
    if inner == 0 || indices.is_empty() {
        return Ok(());
    }
    let slab = len * inner;
    let mut rows = out.chunks_exact_mut(inner);
    for o in 0..outer {
        let xs = &x[o * slab..][..slab];
        // `indices` first: `zip` must not pull a row it will not fill.
        for (&i, row) in indices.iter().zip(rows.by_ref()) {
            let l = resolve(i, len).unwrap_or(0);
            row.copy_from_slice(&xs[l * inner..][..inner]);
        }
    }
    Ok(())
}

/// Scalar reference twin of [`gather`]; same contract.
pub fn gather_reference(
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    indices: &[i32],
    out: &mut [f32],
) -> Result<()> {
    check_gather(x.len(), outer, len, inner, indices, out.len())?;
    let n = indices.len();
    for o in 0..outer {
        for (j, &i) in indices.iter().enumerate() {
            let l = if i >= 0 {
                i as usize
            } else {
                len - i.unsigned_abs() as usize
            };
            for c in 0..inner {
                out[(o * n + j) * inner + c] = x[(o * len + l) * inner + c];
            }
        }
    }
    Ok(())
}
