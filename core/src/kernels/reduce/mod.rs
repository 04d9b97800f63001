//! Reductions of an f32 tensor along one axis (sum, mean, max, min, product, sum of squares)
//! and argmax / argmin.
//!
//! # Layout
//! The axis is given as `(outer, len, inner)`: `x` is a row-major `[outer, len, inner]`
//! array (the product of the dimensions before the axis, the axis length, the product of the
//! dimensions after it) and `out` is `[outer, inner]`:
//! `out[o * inner + i] = op over l of x[(o * len + l) * inner + i]`. Only the first
//! `outer * len * inner` elements of `x` and `outer * inner` of `out` are used; longer
//! buffers are fine, shorter ones give [`Error::BufferTooSmall`]. `len == 0` gives
//! [`Error::ZeroDim`] (there is no identity for max/min/argmax); `outer == 0` or
//! `inner == 0` is an empty, successful reduction.
//!
//! # Evaluation order and determinism
//! [`reduce_reference`] folds each output's `len` inputs left to right. The fast [`reduce`]
//! uses a fixed order that depends only on the layout (`inner == 1` or not), never on the
//! CPU or path (AVX2, NEON and portable code perform the same operations):
//! - `inner == 1` (contiguous runs): eight partial results, lane `j` folding inputs
//!   `l ≡ j (mod 8)` among the first `8 * (len / 8)` in order; the lanes then merge as
//!   `((p0∘p4)∘(p2∘p6))∘((p1∘p5)∘(p3∘p7))`; then the last `len % 8` inputs fold in order.
//! - `inner > 1` (rows streamed): each output starts at the identity and absorbs, block by
//!   block, the tree `((r0∘r4)∘(r2∘r6))∘((r1∘r5)∘(r3∘r7))` of each full block of eight
//!   rows; then the last `len % 8` rows fold in order.
//!
//! No FMA contraction is used. So results are bit-identical run to run and machine to
//! machine, and more accurate than a single running sum; they may differ from the reference
//! by rounding for `Sum`, `Mean`, `SumSquares` and `Prod` (the tests allow
//! `4 * (len + 1) * f32::EPSILON * sum(|term|)`), and for `Max` / `Min` at most in the sign
//! of a zero result when `+0.0` and `-0.0` tie. Sums start from `-0.0`, the exact additive
//! identity. `Mean` divides the sum by `len as f32` (exact up to 2^24).
//!
//! # NaN
//! `Max` and `Min` return NaN when any input is NaN (like `numpy.max` and ONNX ReduceMax).
//! [`argmax`] and [`argmin`] treat NaN as the extreme value, so they return the index of
//! the first NaN if there is one (like `numpy.argmax` / `numpy.argmin`); otherwise the
//! first index holding the extreme value (`+0.0` and `-0.0` tie).

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod aarch64;
mod generic;
mod reference;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::{Error, Result};
use crate::kernels::check_len;
use generic::{MAX, MIN, PROD, SUM, SUMSQ};

/// Which reduction [`reduce`] computes along the axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum of the elements.
    Sum,
    /// Sum divided by the axis length.
    Mean,
    /// Largest element; NaN if any element is NaN.
    Max,
    /// Smallest element; NaN if any element is NaN.
    Min,
    /// Product of the elements.
    Prod,
    /// Sum of the squared elements.
    SumSquares,
}

/// The implementation a call runs on. `Avx2` and `Neon` are only constructed after the CPU
/// check in [`Path::best`] (or, in tests, after the same check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// Portable chunked code.
    Generic,
    /// x86_64 AVX2 + FMA.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// aarch64 NEON.
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    Neon,
}

impl Path {
    /// The fastest path this CPU supports.
    pub(crate) fn best() -> Path {
        #[cfg(target_arch = "x86_64")]
        if crate::kernels::cpu::has_avx2_fma() {
            return Path::Avx2;
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        if crate::kernels::cpu::has_neon() {
            return Path::Neon;
        }
        Path::Generic
    }
}

/// Checks the lengths of an `(outer, len, inner)` reduction; returns `outer * inner`.
fn check(
    op: &'static str,
    x_len: usize,
    outer: usize,
    len: usize,
    inner: usize,
    out_len: usize,
) -> Result<usize> {
    if len == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "reduced axis length",
        });
    }
    let n_out = outer.checked_mul(inner).ok_or(Error::Overflow { op })?;
    let n_in = n_out.checked_mul(len).ok_or(Error::Overflow { op })?;
    check_len(op, "input", n_in, x_len)?;
    check_len(op, "output", n_out, out_len)?;
    Ok(n_out)
}

/// Reduces `x` (`[outer, len, inner]`) along its middle axis into `out` (`[outer, inner]`)
/// with the fixed eight-lane order described in the [module docs](self).
///
/// Errors: [`Error::ZeroDim`] if `len == 0`, [`Error::Overflow`] if the element count
/// overflows `usize`, [`Error::BufferTooSmall`] if `x` or `out` is too short. Nothing is
/// written on error.
pub fn reduce(
    op: ReduceOp,
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    out: &mut [f32],
) -> Result<()> {
    let n_out = check("reduce", x.len(), outer, len, inner, out.len())?;
    reduce_on(Path::best(), op, x, len, inner, &mut out[..n_out]);
    Ok(())
}

/// Scalar reference twin of [`reduce`]: folds each output's inputs left to right. Same
/// contract and errors.
pub fn reduce_reference(
    op: ReduceOp,
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    out: &mut [f32],
) -> Result<()> {
    check("reduce", x.len(), outer, len, inner, out.len())?;
    reference::reduce(op, x, outer, len, inner, out);
    Ok(())
}

/// Runs a checked reduction on `path`; `out.len() == outer * inner`.
pub(crate) fn reduce_on(
    path: Path,
    op: ReduceOp,
    x: &[f32],
    len: usize,
    inner: usize,
    out: &mut [f32],
) {
    match op {
        ReduceOp::Sum => run::<SUM>(path, x, len, inner, out),
        ReduceOp::Mean => {
            run::<SUM>(path, x, len, inner, out);
            let n = len as f32;
            for o in out.iter_mut() {
                *o /= n;
            }
        }
        ReduceOp::Max => run::<MAX>(path, x, len, inner, out),
        ReduceOp::Min => run::<MIN>(path, x, len, inner, out),
        ReduceOp::Prod => run::<PROD>(path, x, len, inner, out),
        ReduceOp::SumSquares => run::<SUMSQ>(path, x, len, inner, out),
    }
}

/// One lane op over every output; `out.len() == outer * inner`, `len >= 1`, and `x` holds
/// at least `out.len() * len` elements.
fn run<const OP: u8>(path: Path, x: &[f32], len: usize, inner: usize, out: &mut [f32]) {
    if inner == 0 {
        return;
    }
    if inner == 1 {
        for (o, xs) in out.iter_mut().zip(x.chunks_exact(len)) {
            *o = contiguous::<OP>(path, xs);
        }
    } else {
        for (os, xs) in out.chunks_exact_mut(inner).zip(x.chunks_exact(len * inner)) {
            strided::<OP>(path, xs, len, inner, os);
        }
    }
}

/// Reduces a contiguous run with lane op `OP` on `path`.
#[inline]
fn contiguous<const OP: u8>(path: Path, x: &[f32]) -> f32 {
    match path {
        Path::Generic => generic::contiguous::<OP>(x),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => {
            // SAFETY: `Path::Avx2` exists only after `has_avx2_fma()` returned true.
            unsafe { x86::contiguous::<OP>(x) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Path::Neon => aarch64::contiguous::<OP>(x),
    }
}

/// Reduces one `[len, inner]` slab into `out[..inner]` with lane op `OP` on `path`.
#[inline]
fn strided<const OP: u8>(path: Path, slab: &[f32], len: usize, inner: usize, out: &mut [f32]) {
    match path {
        Path::Generic => generic::strided::<OP>(slab, len, inner, out),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => {
            // SAFETY: `Path::Avx2` exists only after `has_avx2_fma()` returned true; `run`
            // passes a slab of exactly `len * inner` elements and `out` of `inner`.
            unsafe { x86::strided::<OP>(slab, len, inner, out) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Path::Neon => aarch64::strided::<OP>(slab, len, inner, out),
    }
}

/// Sum of a contiguous run in the fixed eight-lane order (used by global average pooling).
pub(crate) fn sum_lanes(path: Path, x: &[f32]) -> f32 {
    contiguous::<SUM>(path, x)
}

/// Checks an argmax/argmin call; the indices must fit in `i32`.
fn check_arg(
    op: &'static str,
    x_len: usize,
    outer: usize,
    len: usize,
    inner: usize,
    out_len: usize,
) -> Result<usize> {
    if len > 1usize << 31 {
        return Err(Error::InvalidArgument {
            op,
            what: "reduced axis too long for i32 indices",
        });
    }
    check(op, x_len, outer, len, inner, out_len)
}

/// Writes into `out` (`[outer, inner]`) the index along the middle axis of `x`
/// (`[outer, len, inner]`) of the first largest element; NaN counts as larger than
/// everything, so the first NaN wins (like `numpy.argmax`).
///
/// Errors: [`Error::ZeroDim`] if `len == 0`, [`Error::InvalidArgument`] if `len > 2^31`
/// (indices would not fit in `i32`), [`Error::Overflow`], [`Error::BufferTooSmall`]. Nothing
/// is written on error.
pub fn argmax(x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [i32]) -> Result<()> {
    let n_out = check_arg("argmax", x.len(), outer, len, inner, out.len())?;
    arg_fast::<true>(x, len, inner, &mut out[..n_out]);
    Ok(())
}

/// Scalar reference twin of [`argmax`] (a left-to-right scan per output); same contract.
pub fn argmax_reference(
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    out: &mut [i32],
) -> Result<()> {
    check_arg("argmax", x.len(), outer, len, inner, out.len())?;
    reference::arg(true, x, outer, len, inner, out);
    Ok(())
}

/// Like [`argmax`] for the first smallest element; NaN counts as smaller than everything,
/// so the first NaN wins (like `numpy.argmin`). Same errors.
pub fn argmin(x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [i32]) -> Result<()> {
    let n_out = check_arg("argmin", x.len(), outer, len, inner, out.len())?;
    arg_fast::<false>(x, len, inner, &mut out[..n_out]);
    Ok(())
}

/// Scalar reference twin of [`argmin`]; same contract.
pub fn argmin_reference(
    x: &[f32],
    outer: usize,
    len: usize,
    inner: usize,
    out: &mut [i32],
) -> Result<()> {
    check_arg("argmin", x.len(), outer, len, inner, out.len())?;
    reference::arg(false, x, outer, len, inner, out);
    Ok(())
}

/// Portable chunked argmax/argmin over checked buffers; `out.len() == outer * inner`.
fn arg_fast<const MAXIMUM: bool>(x: &[f32], len: usize, inner: usize, out: &mut [i32]) {
    if inner == 0 {
        return;
    }
    if inner == 1 {
        for (o, xs) in out.iter_mut().zip(x.chunks_exact(len)) {
            // `check_arg` bounds `len` by 2^31, so the index fits in i32.
            *o = generic::arg_contiguous::<MAXIMUM>(xs) as i32;
        }
    } else {
        for (os, xs) in out.chunks_exact_mut(inner).zip(x.chunks_exact(len * inner)) {
            generic::arg_strided::<MAXIMUM>(xs, len, inner, os);
        }
    }
}
