//! ONNX `TopK`: the `k` largest (or smallest) elements along an axis, and their positions.
//!
//! Elements are ranked by [`Rank`], and equal ones by position, the lower first, so the
//! result is unique (it does not depend on the sort algorithm). The input is viewed as
//! `[outer, len, inner]` with the axis in the middle, as the reductions view it.

use super::check_eq;
use crate::error::{Error, Result};
use crate::kernels::check_len;
use core::cmp::Ordering;

/// A total order of an element type for [`top_k`]: integers by value; floats by value
/// with `-0.0 == +0.0` and NaN above every number (NaNs equal to each other), as NumPy
/// sorts.
pub trait Rank: Copy {
    /// How `self` compares with `other`.
    fn rank(&self, other: &Self) -> Ordering;
}

macro_rules! rank_float {
    ($($t:ty),*) => {$(
        impl Rank for $t {
            fn rank(&self, other: &$t) -> Ordering {
                match (self.is_nan(), other.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ => self.partial_cmp(other).unwrap_or(Ordering::Equal),
                }
            }
        }
    )*};
}
rank_float!(f32, f64);

macro_rules! rank_int {
    ($($t:ty),*) => {$(
        impl Rank for $t {
            fn rank(&self, other: &$t) -> Ordering {
                self.cmp(other)
            }
        }
    )*};
}
rank_int!(i8, u8, i16, u16, i32, u32, i64, u64);

/// What [`top_k`] selects: the input as `[outer, len, inner]` and `k` of the `len`
/// elements of each row along the middle axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopKSpec {
    /// Product of the dimensions before the axis.
    pub outer: usize,
    /// The axis length.
    pub len: usize,
    /// Product of the dimensions after the axis.
    pub inner: usize,
    /// How many elements each row keeps (at most `len`).
    pub k: usize,
    /// Keep the largest (true) or the smallest (false).
    pub largest: bool,
    /// Output them best first (true) or in the order of their positions (false).
    pub sorted: bool,
}

/// ONNX `TopK`: for each of the `outer * inner` rows along the axis of `x`
/// (`[outer, len, inner]`), the `k` best elements (largest or smallest by [`Rank`], equal
/// elements ranked by position, the lower first) into `values` and their positions along
/// the axis into `indices`, both `[outer, k, inner]`; best first when `sorted`, else in
/// increasing position. `scratch` holds at least `len` positions.
///
/// Errors: [`Error::InvalidArgument`] when `k > len` or `len` exceeds `u32::MAX`;
/// [`Error::DimMismatch`] when `x`, `values` or `indices` is not as long as its shape
/// (`"input length"`, `"values length"`, `"indices length"`); [`Error::BufferTooSmall`]
/// for a short `scratch`; [`Error::Overflow`].
pub fn top_k<T: Rank>(
    x: &[T],
    s: &TopKSpec,
    values: &mut [T],
    indices: &mut [i64],
    scratch: &mut [u32],
) -> Result<()> {
    let op = "top_k";
    let (outer, len, inner, k) = (s.outer, s.len, s.inner, s.k);
    if k > len {
        return Err(Error::InvalidArgument {
            op,
            what: "k exceeds the axis length",
        });
    }
    if u32::try_from(len).is_err() {
        return Err(Error::InvalidArgument {
            op,
            what: "axis longer than u32::MAX",
        });
    }
    let size = |a: usize| {
        outer
            .checked_mul(a)
            .and_then(|v| v.checked_mul(inner))
            .ok_or(Error::Overflow { op })
    };
    check_eq(op, "input length", size(len)?, x.len())?;
    let m = size(k)?;
    check_eq(op, "values length", m, values.len())?;
    check_eq(op, "indices length", m, indices.len())?;
    check_len(op, "scratch", len, scratch.len())?;
    if k == 0 {
        return Ok(());
    }
    let pos = scratch.get_mut(..len).unwrap_or_default();
    for o in 0..outer {
        for i in 0..inner {
            let base = o * len * inner + i;
            let val = |p: u32| x.get(base + p as usize * inner);
            let order = |a: &u32, b: &u32| {
                let by_value = match (val(*a), val(*b)) {
                    (Some(va), Some(vb)) if s.largest => vb.rank(va),
                    (Some(va), Some(vb)) => va.rank(vb),
                    _ => Ordering::Equal,
                };
                by_value.then(a.cmp(b))
            };
            for (p, j) in pos.iter_mut().zip(0u32..) {
                *p = j;
            }
            if k < len {
                pos.select_nth_unstable_by(k - 1, order);
            }
            let top = pos.get_mut(..k).unwrap_or_default();
            if s.sorted {
                top.sort_unstable_by(order);
            } else {
                top.sort_unstable();
            }
            for (j, &p) in top.iter().enumerate() {
                let at = (o * k + j) * inner + i;
                if let (Some(v), Some(ix), Some(&e)) =
                    (values.get_mut(at), indices.get_mut(at), val(p))
                {
                    *v = e;
                    *ix = i64::from(p);
                }
            }
        }
    }
    Ok(())
}
