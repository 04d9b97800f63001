//! Data-movement kernels generic over the element type: transpose, concat, split, slice,
//! gather, where, expand, tile, pad, scatter, top-k selection, and casts between element
//! types.
//!
//! # Conventions
//! Every kernel here shares these rules:
//! - Tensors are contiguous row-major slices, their dimensions passed beside them as
//!   `&[usize]`, outermost first. A rank above [`MAX_RANK`] is [`Error::RankTooLarge`].
//! - Every buffer's length must equal the element count of its shape exactly; a shorter or
//!   longer one is [`Error::DimMismatch`] with `what` naming the buffer (`"input length"`,
//!   `"output length"`, ...). Element counts that overflow `usize` are [`Error::Overflow`].
//! - Everything (lengths, shapes, axes, indices) is checked before the first write, so an
//!   output is untouched when a call fails. No kernel panics on bad arguments.
//! - Zero-sized dimensions are legal and give empty outputs.
//! - Values are copied, never computed (except by [`cast`](fn@cast) and the reductions of
//!   the scatters), so results are exact; the element type only needs to be `Copy`.
//! - Nothing allocates: index arithmetic lives in fixed arrays of [`MAX_RANK`] (or twice
//!   that for [`tile`](fn@tile)).
//!
//! [`transpose`](fn@transpose) and [`slice`](fn@slice) have fast paths (tiled
//! transposition, whole-row copies) and a `*_reference` twin each that computes every
//! element's source position by division; the other kernels are written once, plainly.

mod walk;

mod broadcast;
mod cast;
mod concat;
mod gather;
mod gather_nd;
mod pad;
mod scatter;
mod slice;
mod tile;
mod top_k;
mod transpose;

pub use broadcast::{expand, where_select};
pub use cast::{cast, CastType};
pub use concat::{concat, split};
pub use gather::{gather, gather_elements};
pub use gather_nd::gather_nd;
pub use pad::{pad, PadMode};
pub use scatter::{scatter_elements, scatter_nd, Combine, Reduction};
pub use slice::{slice, slice_plan, slice_reference, SlicePlan};
pub use tile::tile;
pub use top_k::{top_k, Rank, TopKSpec};
pub use transpose::{transpose, transpose_reference, TILE};

use crate::error::{Error, Result};
use crate::shape::{Shape, MAX_RANK};

/// `dims` as a [`Shape`], or [`Error::RankTooLarge`] reported by `op`.
fn shape_of(op: &'static str, dims: &[usize]) -> Result<Shape> {
    Shape::new(dims).map_err(|_| Error::RankTooLarge {
        op,
        rank: dims.len(),
    })
}

/// Element count of `dims`; [`Error::RankTooLarge`] past [`MAX_RANK`], [`Error::Overflow`].
fn numel(op: &'static str, dims: &[usize]) -> Result<usize> {
    shape_of(op, dims)?
        .checked_numel()
        .map_err(|_| Error::Overflow { op })
}

/// [`Error::DimMismatch`] unless `got == expected`.
fn check_eq(op: &'static str, what: &'static str, expected: usize, got: usize) -> Result<()> {
    if got != expected {
        return Err(Error::DimMismatch {
            op,
            what,
            expected,
            got,
        });
    }
    Ok(())
}

/// Row-major element strides of a contiguous tensor of `dims` (at most [`MAX_RANK`] of them;
/// slots past the rank are 0), as signed offsets. Fails with [`Error::Overflow`] when a
/// stride does not fit `isize` (only possible for zero-sized element types).
fn strides(op: &'static str, dims: &[usize]) -> Result<[isize; MAX_RANK]> {
    let mut out = [0isize; MAX_RANK];
    let mut acc = 1usize;
    for (s, &d) in out.iter_mut().zip(dims).rev() {
        *s = isize::try_from(acc).map_err(|_| Error::Overflow { op })?;
        acc = acc.saturating_mul(d);
    }
    Ok(out)
}

/// Normalises an ONNX-style axis (`-rank..rank`, negative counting from the back).
fn resolve_axis(op: &'static str, axis: i64, rank: usize) -> Result<usize> {
    let err = Error::AxisOutOfRange {
        op,
        axis: usize::try_from(axis.unsigned_abs()).unwrap_or(usize::MAX),
        rank,
    };
    let r = i64::try_from(rank).map_err(|_| err)?;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(err);
    }
    usize::try_from(a).map_err(|_| err)
}
