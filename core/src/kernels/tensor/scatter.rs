//! ONNX `ScatterElements` and `ScatterND` for any element type: updates written into a
//! tensor, or combined with its elements by a [`Reduction`], at positions given by indices.
//!
//! Both kernels work in place: `out` holds the data tensor on entry and the result on
//! return (the op copies its data input there first). Indices follow ONNX: an index into
//! an axis of length `d` must lie in `-d..d`, and a negative one counts from the end. Every
//! index is checked before anything is written, so on error `out` is untouched. Updates
//! that land on one position are applied in the row-major order of the indices: without a
//! reduction the last one wins, with one they are all combined, in that order.

use super::gather::resolve;
use super::walk::Walk;
use super::{check_eq, numel, strides};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How an update combines with the element it lands on (ONNX `reduction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reduction {
    /// The update replaces the element.
    None,
    /// `element + update` (integers wrap).
    Add,
    /// `element * update` (integers wrap).
    Mul,
    /// The larger of the two (NaN if either is NaN).
    Max,
    /// The smaller of the two (NaN if either is NaN).
    Min,
}

/// Element types the reductions compute on: the floats and the integer types.
pub trait Combine: Copy {
    /// `self + u`, wrapping for integers.
    fn sum(self, u: Self) -> Self;
    /// `self * u`, wrapping for integers.
    fn product(self, u: Self) -> Self;
    /// The larger of `self` and `u`; for floats NaN when either is NaN.
    fn larger(self, u: Self) -> Self;
    /// The smaller of `self` and `u`; for floats NaN when either is NaN.
    fn smaller(self, u: Self) -> Self;
}

macro_rules! combine_float {
    ($($t:ty),*) => {$(
        impl Combine for $t {
            fn sum(self, u: $t) -> $t {
                self + u
            }
            fn product(self, u: $t) -> $t {
                self * u
            }
            fn larger(self, u: $t) -> $t {
                if self.is_nan() {
                    self
                } else if u.is_nan() || u > self {
                    u
                } else {
                    self
                }
            }
            fn smaller(self, u: $t) -> $t {
                if self.is_nan() {
                    self
                } else if u.is_nan() || u < self {
                    u
                } else {
                    self
                }
            }
        }
    )*};
}
combine_float!(f32, f64);

macro_rules! combine_int {
    ($($t:ty),*) => {$(
        impl Combine for $t {
            fn sum(self, u: $t) -> $t {
                self.wrapping_add(u)
            }
            fn product(self, u: $t) -> $t {
                self.wrapping_mul(u)
            }
            fn larger(self, u: $t) -> $t {
                Ord::max(self, u)
            }
            fn smaller(self, u: $t) -> $t {
                Ord::min(self, u)
            }
        }
    )*};
}
combine_int!(i8, u8, i16, u16, i32, u32, i64, u64);

impl Reduction {
    /// The element `e` after update `u` lands on it.
    #[inline]
    pub fn apply<T: Combine>(self, e: T, u: T) -> T {
        match self {
            Reduction::None => u,
            Reduction::Add => e.sum(u),
            Reduction::Mul => e.product(u),
            Reduction::Max => e.larger(u),
            Reduction::Min => e.smaller(u),
        }
    }
}

/// [`Error::IndexOutOfRange`] for `index` on an axis of length `len`.
fn out_of_range(op: &'static str, index: i64, len: usize) -> Error {
    Error::IndexOutOfRange {
        op,
        what: "scatter index",
        index: usize::try_from(index.unsigned_abs()).unwrap_or(usize::MAX),
        len,
    }
}

/// ONNX `ScatterElements`, in place: `out` holds the data (dimensions `shape`) and, for
/// every position `j` of `indices` (dimensions `indices_shape`, the rank of `shape`),
/// `out[j with its coordinate along axis replaced by indices[j]]` becomes
/// `f(that element, updates[j])` (`updates` has `indices_shape` too). Along every other
/// axis `indices_shape` may be shorter than `shape` (the leading part of `out` is written).
/// `axis` may be negative (counting from the back). `f` is `|_, u| u` for ONNX's
/// `reduction="none"`, or [`Reduction::apply`].
///
/// Errors: [`Error::IndexOutOfRange`] (`what: "scatter index"`, `len: shape[axis]`) for the
/// first index outside `-len..len`, with `index` holding its absolute value;
/// [`Error::DimMismatch`] when the ranks differ (`"indices rank"`) or a buffer is not as
/// long as its shape's element count (`"output length"`, `"indices length"`,
/// `"updates length"`); [`Error::InvalidArgument`] when an `indices_shape` dimension off the
/// axis exceeds `shape`'s; [`Error::AxisOutOfRange`]; [`Error::RankTooLarge`];
/// [`Error::Overflow`].
pub fn scatter_elements<T: Copy, I: Copy + Into<i64>>(
    out: &mut [T],
    shape: &[usize],
    axis: i64,
    indices: &[I],
    indices_shape: &[usize],
    updates: &[T],
    f: impl Fn(T, T) -> T,
) -> Result<()> {
    let op = "scatter_elements";
    let (n, m, axis) = super::gather::elements_geometry(op, shape, axis, indices_shape)?;
    check_eq(op, "output length", n, out.len())?;
    check_eq(op, "indices length", m, indices.len())?;
    check_eq(op, "updates length", m, updates.len())?;
    let len = shape.get(axis).copied().unwrap_or(0);
    if let Some(&i) = indices.iter().find(|&&i| resolve(i.into(), len).is_none()) {
        return Err(out_of_range(op, i.into(), len));
    }
    let st = strides(op, shape)?;
    // Walk `indices_shape` through `out`, standing still along `axis`.
    let mut walk = Walk::<1>::new([0]);
    for (a, &d) in indices_shape.iter().enumerate() {
        walk.push(op, d, [if a == axis { 0 } else { st[a] }])?;
    }
    let step = st[axis].unsigned_abs();
    for ((&i, &u), [at]) in indices.iter().zip(updates).zip(walk.iter()) {
        let l = resolve(i.into(), len).unwrap_or(0);
        if let Some(e) = out.get_mut(at + l * step) {
            *e = f(*e, u);
        }
    }
    Ok(())
}

/// The offset in a tensor of dimensions `dims` (row-major element strides `st`) of the
/// sub-tensor addressed by the leading coordinates `tuple`, or the first index out of range
/// (its value and the axis length).
pub(super) fn tuple_offset(
    tuple: &[i64],
    dims: &[usize],
    st: &[isize],
) -> core::result::Result<usize, (i64, usize)> {
    let mut off = 0usize;
    for ((&i, &d), &s) in tuple.iter().zip(dims).zip(st) {
        let l = resolve(i, d).ok_or((i, d))?;
        off += l * s.unsigned_abs();
    }
    Ok(off)
}

/// ONNX `ScatterND`, in place: `out` holds the data (dimensions `shape`, rank `r`);
/// `indices` has dimensions `indices_shape = [..lead, k]` with `k <= r`, each of its
/// `lead` rows the leading `k` coordinates of a sub-tensor of dimensions `shape[k..]`;
/// `updates` holds one such sub-tensor per row (dimensions `lead ++ shape[k..]`), and each
/// element `e` of the addressed sub-tensor becomes `f(e, update)`. `f` is `|_, u| u` for
/// ONNX's `reduction="none"`, or [`Reduction::apply`].
///
/// Errors: [`Error::IndexOutOfRange`] (`what: "scatter index"`, `len` the length of the
/// axis it indexes) for the first index outside `-len..len`, with `index` holding its
/// absolute value; [`Error::InvalidArgument`] when `indices` has rank 0 or `k > r`;
/// [`Error::DimMismatch`] when a buffer is not as long as its shape's element count
/// (`"output length"`, `"indices length"`, `"updates length"`); [`Error::RankTooLarge`];
/// [`Error::Overflow`].
pub fn scatter_nd<T: Copy>(
    out: &mut [T],
    shape: &[usize],
    indices: &[i64],
    indices_shape: &[usize],
    updates: &[T],
    f: impl Fn(T, T) -> T,
) -> Result<()> {
    let op = "scatter_nd";
    let n = numel(op, shape)?;
    let m = numel(op, indices_shape)?;
    let (&k, lead) = indices_shape.split_last().ok_or(Error::InvalidArgument {
        op,
        what: "indices must have rank 1 or more",
    })?;
    if k > shape.len() {
        return Err(Error::InvalidArgument {
            op,
            what: "the indices' last dimension exceeds the data rank",
        });
    }
    let rows = numel(op, lead)?;
    let slice = numel(op, &shape[k..])?;
    check_eq(op, "output length", n, out.len())?;
    check_eq(op, "indices length", m, indices.len())?;
    let total = rows.checked_mul(slice).ok_or(Error::Overflow { op })?;
    check_eq(op, "updates length", total, updates.len())?;
    let st = strides(op, shape)?;
    let row = |r: usize| indices.get(r * k..(r + 1) * k).unwrap_or(&[]);
    for r in 0..rows {
        tuple_offset(row(r), shape, &st).map_err(|(i, d)| out_of_range(op, i, d))?;
    }
    for r in 0..rows {
        let Ok(off) = tuple_offset(row(r), shape, &st) else {
            continue;
        };
        let dst = out.get_mut(off..off + slice).unwrap_or_default();
        let src = updates.get(r * slice..(r + 1) * slice).unwrap_or_default();
        for (e, &u) in dst.iter_mut().zip(src) {
            *e = f(*e, u);
        }
    }
    Ok(())
}
