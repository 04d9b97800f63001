//! The one index walker of the data-movement kernels: row-major iteration over an output
//! shape that tracks, for each of `K` operands, the offset of the element that output
//! element reads, with no division and no allocation.
//!
//! An operand is described by one signed stride per output axis: 0 repeats it along that
//! axis (broadcasting, tiling), a negative stride walks it backwards (slicing with negative
//! steps), a permuted stride transposes it. Axes of length 1 are dropped and neighbouring
//! axes contiguous in every operand are merged, so inner runs are as long as possible.

use super::{shape_of, strides};
use crate::error::{Error, Result};
use crate::shape::{Shape, MAX_RANK};

/// Most axes a walk can have: [`super::tile`] views a rank-[`MAX_RANK`] tensor as twice as
/// many axes (a repeat axis before each dimension).
pub(crate) const WALK_RANK: usize = 2 * MAX_RANK;

/// Output axes with each operand's stride along them (see the module comment).
///
/// Invariant kept by the callers: every offset the walk produces is a valid index into its
/// operand, so the intermediate sums fit `isize`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Walk<const K: usize> {
    rank: usize,
    numel: usize,
    dims: [usize; WALK_RANK],
    strides: [[isize; WALK_RANK]; K],
    base: [isize; K],
}

impl<const K: usize> Walk<K> {
    /// A walk over no axes (one element) whose operands start at `base`.
    pub(crate) fn new(base: [isize; K]) -> Walk<K> {
        Walk {
            rank: 0,
            numel: 1,
            dims: [1; WALK_RANK],
            strides: [[0; WALK_RANK]; K],
            base,
        }
    }

    /// Appends an inner axis of length `dim` along which operand `k` advances by
    /// `strides[k]`. Fails with [`Error::Overflow`] when the element count overflows and
    /// [`Error::RankTooLarge`] past [`WALK_RANK`] axes that cannot be merged.
    pub(crate) fn push(&mut self, op: &'static str, dim: usize, strides: [isize; K]) -> Result<()> {
        self.numel = self.numel.checked_mul(dim).ok_or(Error::Overflow { op })?;
        if dim <= 1 {
            // Length 1 changes no offset; length 0 leaves nothing to walk.
            return Ok(());
        }
        let r = self.rank;
        let merges = r > 0
            && isize::try_from(dim).is_ok_and(|d| {
                (0..K).all(|k| strides[k].checked_mul(d) == Some(self.strides[k][r - 1]))
            });
        if merges {
            self.dims[r - 1] *= dim;
            for (s, &st) in self.strides.iter_mut().zip(&strides) {
                s[r - 1] = st;
            }
            return Ok(());
        }
        if r == WALK_RANK {
            return Err(Error::RankTooLarge { op, rank: r + 1 });
        }
        self.dims[r] = dim;
        for (s, &st) in self.strides.iter_mut().zip(&strides) {
            s[r] = st;
        }
        self.rank += 1;
        Ok(())
    }

    /// Number of elements walked (the product of every pushed length).
    pub(crate) fn numel(&self) -> usize {
        self.numel
    }

    /// The axes after dropping and merging, outermost first.
    pub(crate) fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// Operand `k`'s stride along each of [`Walk::dims`].
    pub(crate) fn strides(&self, k: usize) -> &[isize] {
        self.strides.get(k).map_or(&[], |s| &s[..self.rank])
    }

    /// Splits off the innermost axis: the walk over the outer axes (one step per row), the
    /// row length, and each operand's stride along the row. A walk without axes is one row
    /// of length 1.
    pub(crate) fn split_inner(&self) -> (Walk<K>, usize, [isize; K]) {
        let mut outer = *self;
        if self.rank == 0 {
            return (outer, 1, [0; K]);
        }
        let r = self.rank - 1;
        let len = self.dims[r];
        let inner = core::array::from_fn(|k| self.strides[k][r]);
        outer.rank = r;
        outer.dims[r] = 1;
        outer.numel = self.numel / len;
        (outer, len, inner)
    }

    /// The offsets, one `[usize; K]` per element, in row-major order of the output.
    pub(crate) fn iter(&self) -> Offsets<K> {
        // Moving to the next element increments one axis and resets every inner one: the
        // offset change for "axis `ax` increments" is its stride minus the inner axes' spans.
        let mut delta = [[0isize; WALK_RANK]; K];
        for (d, s) in delta.iter_mut().zip(&self.strides) {
            let mut span = 0isize;
            for ax in (0..self.rank).rev() {
                d[ax] = s[ax].wrapping_sub(span);
                span = span.wrapping_add(s[ax].wrapping_mul(self.dims[ax] as isize - 1));
            }
        }
        Offsets {
            rank: self.rank,
            dims: self.dims,
            idx: [0; WALK_RANK],
            delta,
            cur: self.base,
            left: self.numel,
        }
    }
}

impl Walk<1> {
    /// `out[k] = x[offset of element k]` for every element, in walk order.
    pub(crate) fn copy<T: Copy>(&self, x: &[T], out: &mut [T]) {
        for (o, [at]) in out.iter_mut().zip(self.iter()) {
            if let Some(&v) = x.get(at) {
                *o = v;
            }
        }
    }

    /// The same result as [`Walk::copy`], a whole row (`copy_from_slice`) at a time when
    /// the innermost axis is contiguous in `x`.
    pub(crate) fn copy_rows<T: Copy>(&self, x: &[T], out: &mut [T]) {
        let (rows, len, [step]) = self.split_inner();
        if step != 1 && len != 1 {
            return self.copy(x, out);
        }
        for (o, [at]) in out.chunks_exact_mut(len).zip(rows.iter()) {
            if let Some(src) = x.get(at..at.saturating_add(len)) {
                o.copy_from_slice(src);
            }
        }
    }
}

/// Iterator of [`Walk::iter`].
pub(crate) struct Offsets<const K: usize> {
    rank: usize,
    dims: [usize; WALK_RANK],
    idx: [usize; WALK_RANK],
    delta: [[isize; WALK_RANK]; K],
    cur: [isize; K],
    left: usize,
}

impl<const K: usize> Iterator for Offsets<K> {
    type Item = [usize; K];

    #[inline]
    fn next(&mut self) -> Option<[usize; K]> {
        if self.left == 0 {
            return None;
        }
        // A negative offset cannot occur (see `Walk`); `usize::MAX` would only miss.
        let out = self.cur.map(|c| usize::try_from(c).unwrap_or(usize::MAX));
        self.left -= 1;
        if self.left > 0 {
            if let Some(ax) = step_index(&mut self.idx[..self.rank], &self.dims[..self.rank]) {
                for (c, d) in self.cur.iter_mut().zip(&self.delta) {
                    *c = c.wrapping_add(d[ax]);
                }
            }
        }
        Some(out)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// Advances the row-major multi-index `idx` over `dims` by one element. Returns the axis
/// that was incremented (every axis after it wrapped to 0), or `None` when `idx` was the
/// last element (it is then all zeros again).
pub(crate) fn step_index(idx: &mut [usize], dims: &[usize]) -> Option<usize> {
    for (ax, (i, &d)) in idx.iter_mut().zip(dims).enumerate().rev() {
        *i += 1;
        if *i < d {
            return Some(ax);
        }
        *i = 0;
    }
    None
}

/// The multi-index of row-major element `flat` of a tensor of `dims`, by division (for the
/// reference twins). `dims` has at most [`MAX_RANK`] entries and `flat` is below their
/// product.
pub(crate) fn unravel(mut flat: usize, dims: &[usize]) -> [usize; MAX_RANK] {
    let mut idx = [0usize; MAX_RANK];
    for (i, &d) in idx.iter_mut().zip(dims).rev() {
        *i = flat % d;
        flat /= d;
    }
    idx
}

/// The walk over `out` for `K` operands of the given shapes, each broadcast to `out` by
/// NumPy rules (aligned from the right; each operand dimension equals the output's or is
/// 1; missing leading dimensions are 1). Fails with [`Error::BroadcastMismatch`] (`lhs` the
/// operand, `rhs` the output shape) when one does not broadcast to `out`, and with
/// [`Error::RankTooLarge`] when a rank exceeds [`MAX_RANK`].
pub(crate) fn broadcast<const K: usize>(
    op: &'static str,
    out: &[usize],
    operands: [&[usize]; K],
) -> Result<Walk<K>> {
    let mismatch = |s: &[usize]| Error::BroadcastMismatch {
        op,
        lhs: Shape::new(s).unwrap_or(Shape::SCALAR),
        rhs: Shape::new(out).unwrap_or(Shape::SCALAR),
    };
    shape_of(op, out)?;
    let mut st = [[0isize; MAX_RANK]; K];
    for (s, dims) in st.iter_mut().zip(operands) {
        shape_of(op, dims)?;
        if dims.len() > out.len() {
            return Err(mismatch(dims));
        }
        *s = strides(op, dims)?;
    }
    let mut walk = Walk::new([0; K]);
    for (i, &d) in out.iter().enumerate() {
        let mut axis = [0isize; K];
        for ((a, &dims), s) in axis.iter_mut().zip(&operands).zip(&st) {
            // Operand axis aligned with output axis `i`, if the operand has one.
            let Some(j) = (i + dims.len()).checked_sub(out.len()) else {
                continue;
            };
            match dims.get(j) {
                Some(&od) if od == d => *a = s.get(j).copied().unwrap_or(0),
                Some(1) => {}
                _ => return Err(mismatch(dims)),
            }
        }
        walk.push(op, d, axis)?;
    }
    Ok(walk)
}
