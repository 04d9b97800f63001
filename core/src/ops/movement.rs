//! Pieces the data-movement ops share: running a kernel that is generic over `T: Copy` on
//! the bytes of any element type, the checks of their fixed-size attribute arrays, and the
//! size limits of the shapes they declare.
//!
//! The kernels in [`crate::kernels::tensor`] copy elements without looking at them, so an
//! op runs them on `[u8; N]` with `N` the element size (1, 2, 4 or 8): one instantiation
//! per size serves every element type of that size.

use super::io::misaligned;
use super::{Io, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::model::ModelError;
use crate::shape::{Shape, MAX_RANK};

type R<T> = core::result::Result<T, ModelError>;

/// Calls `$f::<N>(args..)` with `N` the element size `$size` (a `u32` from the params):
/// 1, 2, 4 or 8; any other size is the interpreter's "misaligned" error (unreachable after
/// a successful `prepare`).
macro_rules! by_size {
    ($size:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $size {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            4 => $f::<4>($($arg),*),
            8 => $f::<8>($($arg),*),
            _ => Err($crate::ops::io::misaligned()),
        }
    };
}
pub(crate) use by_size;

/// `bytes` as elements of `N` bytes.
pub(crate) fn elems<const N: usize>(bytes: &[u8]) -> Result<&[[u8; N]]> {
    bytemuck::try_cast_slice(bytes).map_err(|_| misaligned())
}

/// `bytes` as mutable elements of `N` bytes.
pub(crate) fn elems_mut<const N: usize>(bytes: &mut [u8]) -> Result<&mut [[u8; N]]> {
    bytemuck::try_cast_slice_mut(bytes).map_err(|_| misaligned())
}

/// Input `k` of `io` as elements of `N` bytes (the ops using this are not in place, so the
/// input always has bytes of its own).
pub(crate) fn input<'x, const N: usize>(io: &Io<'x>, k: usize) -> Result<&'x [[u8; N]]> {
    elems(io.input_bytes(k)?.ok_or(misaligned())?)
}

/// Input `k`'s bytes (not in place).
pub(crate) fn input_bytes<'x>(io: &Io<'x>, k: usize) -> Result<&'x [u8]> {
    io.input_bytes(k)?.ok_or(misaligned())
}

/// Output `k` of `io` as elements of `N` bytes.
pub(crate) fn output<'a, const N: usize>(
    io: &'a mut Io<'_>,
    k: usize,
) -> Result<&'a mut [[u8; N]]> {
    elems_mut(io.out_bytes(k)?)
}

/// The element size of `dtype` as a params word.
pub(crate) fn size_word(dtype: DType) -> u32 {
    dtype.size() as u32
}

/// The first `n` entries of the attribute array `a`, after checking that `n` is at most
/// [`MAX_RANK`] and that every entry past it is zero (`what` is the error otherwise), so
/// one list has one encoding.
pub(crate) fn used<'a, T: Copy + PartialEq + Default>(
    cx: &Prepare<'_, '_>,
    a: &'a [T; MAX_RANK],
    n: u8,
    what: &'static str,
) -> R<&'a [T]> {
    let n = usize::from(n);
    if n > MAX_RANK || a[n..].iter().any(|v| *v != T::default()) {
        return Err(cx.attr_err(what));
    }
    Ok(&a[..n])
}

/// `v` as a params word; `None` past `u32::MAX`.
pub(crate) fn word(v: usize) -> Option<u32> {
    u32::try_from(v).ok()
}

/// `dims` as the shape of an output of `dtype`, or `None` when an extent or the byte length
/// does not fit 32 bits (what tensor records and the interpreter's tensor table hold).
pub(crate) fn out_shape(dims: &[usize], dtype: DType) -> Option<Shape> {
    let numel = dims.iter().try_fold(1usize, |acc, &d| {
        word(d)?;
        acc.checked_mul(d)
    })?;
    word(numel.checked_mul(dtype.size())?)?;
    Shape::new(dims).ok()
}

/// Product of `dims` as a params word (`None` when it does not fit).
pub(crate) fn product(dims: &[usize]) -> Option<u32> {
    word(dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))?)
}

/// Resolves `axis` against `rank` (negative counts from the end), or `what` as an attribute
/// error.
pub(crate) fn axis(cx: &Prepare<'_, '_>, axis: i32, rank: usize, what: &'static str) -> R<usize> {
    super::softmax::resolve_axis(i64::from(axis), rank).ok_or(cx.attr_err(what))
}
