//! Transpose (ONNX `Transpose`, `numpy.transpose`): permute the axes of a tensor of any
//! rank up to [`MAX_RANK`].
//!
//! The fast [`transpose`] first simplifies the permutation: it drops axes of length 1 and
//! merges neighbouring output axes that are also neighbours, in the same order, in the
//! input. When the innermost output axis is then also the innermost input axis, every
//! output row is one contiguous input run and is copied with `copy_from_slice`; otherwise
//! the two axes that are innermost in the input and in the output are transposed in
//! [`TILE`]`x`[`TILE`] tiles, so both sides are read and written a cache line at a time.
//! [`transpose_reference`] locates every element's source by division. Both copy the same
//! elements to the same places.

use super::walk::{unravel, Walk};
use super::{check_eq, numel, strides};
use crate::error::{Error, Result};
use crate::shape::MAX_RANK;

/// Side of the square tiles of the tiled path.
pub const TILE: usize = 16;

/// Checks a transpose call; returns the element count.
fn check(x_len: usize, shape: &[usize], perm: &[usize], out_len: usize) -> Result<usize> {
    let op = "transpose";
    let n = numel(op, shape)?;
    let rank = shape.len();
    check_eq(op, "perm length", rank, perm.len())?;
    let mut seen = [false; MAX_RANK];
    for &p in perm {
        match seen.get_mut(p) {
            Some(s) if p < rank => {
                if *s {
                    return Err(Error::InvalidArgument {
                        op,
                        what: "perm names an axis twice",
                    });
                }
                *s = true;
            }
            _ => return Err(Error::AxisOutOfRange { op, axis: p, rank }),
        }
    }
    check_eq(op, "input length", n, x_len)?;
    check_eq(op, "output length", n, out_len)?;
    Ok(n)
}

/// `out = transpose(x, perm)`: `x` has dimensions `shape` and `out` has dimensions
/// `shape[perm[0]], shape[perm[1]], ...`, with output axis `i` being input axis `perm[i]`
/// (`out[i0, .., ir] = x[j]` where `j[perm[a]] = i_a`), both row-major. `perm` must be a
/// permutation of `0..shape.len()`; ONNX's default (reversed axes) is the caller's to fill
/// in.
///
/// Errors: [`Error::DimMismatch`] when `perm.len() != shape.len()` (`"perm length"`) or a
/// buffer's length is not the element count (`"input length"`, `"output length"`);
/// [`Error::AxisOutOfRange`] for a `perm` entry `>= shape.len()`;
/// [`Error::InvalidArgument`] when `perm` repeats an axis; [`Error::RankTooLarge`] past
/// [`MAX_RANK`]; [`Error::Overflow`].
pub fn transpose<T: Copy>(x: &[T], shape: &[usize], perm: &[usize], out: &mut [T]) -> Result<()> {
    let op = "transpose";
    if check(x.len(), shape, perm, out.len())? == 0 {
        return Ok(());
    }
    let st = strides(op, shape)?;
    // Output axes in order, each with its input stride; the walk drops and merges axes.
    let mut walk = Walk::<1>::new([0]);
    for &p in perm {
        walk.push(op, shape[p], [st[p]])?;
    }
    let dims = walk.dims();
    let r = dims.len();
    let (_, len, [step]) = walk.split_inner();
    if r == 0 || step == 1 {
        // Every output row is one contiguous input run.
        walk.copy_rows(x, out);
        return Ok(());
    }
    // Axis `q` is innermost in the input (stride 1); it is not the output's innermost.
    let q = walk.strides(0).iter().position(|&s| s == 1);
    let (Some(q), Ok(xs_l)) = (q, usize::try_from(step)) else {
        // Not reachable for a valid contiguous input; copy element by element.
        walk.copy(x, out);
        return Ok(());
    };
    // Output strides of the simplified axes (row-major over `dims`).
    let mut os = [0isize; MAX_RANK];
    let mut acc = 1usize;
    for (s, &d) in os.iter_mut().zip(dims).rev() {
        *s = isize::try_from(acc).map_err(|_| Error::Overflow { op })?;
        acc *= d;
    }
    // The outer axes (all but `q` and the innermost) with input and output strides.
    let mut outer = Walk::<2>::new([0, 0]);
    for (a, (&d, &s)) in dims.iter().zip(walk.strides(0)).enumerate() {
        if a != q && a != r - 1 {
            outer.push(op, d, [s, os[a]])?;
        }
    }
    let (n_q, n_l) = (dims[q], len);
    let os_q = usize::try_from(os[q]).map_err(|_| Error::Overflow { op })?;
    for [xo, oo] in outer.iter() {
        for q0 in (0..n_q).step_by(TILE) {
            let q1 = (q0 + TILE).min(n_q);
            for l0 in (0..n_l).step_by(TILE) {
                let l1 = (l0 + TILE).min(n_l);
                for i in q0..q1 {
                    let row = &mut out[oo + i * os_q..][l0..l1];
                    for (l, o) in (l0..l1).zip(row) {
                        *o = x[xo + i + l * xs_l];
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reference twin of [`transpose`]; same contract. For each output element it recovers the
/// output multi-index by division and sums the input strides of the permuted axes.
pub fn transpose_reference<T: Copy>(
    x: &[T],
    shape: &[usize],
    perm: &[usize],
    out: &mut [T],
) -> Result<()> {
    check(x.len(), shape, perm, out.len())?;
    let st = strides("transpose", shape)?;
    let mut dims = [0usize; MAX_RANK];
    for (d, &p) in dims.iter_mut().zip(perm) {
        *d = shape[p];
    }
    for (flat, o) in out.iter_mut().enumerate() {
        let idx = unravel(flat, &dims[..perm.len()]);
        let at: usize = idx
            .iter()
            .zip(perm)
            .map(|(&i, &p)| i * st[p] as usize)
            .sum();
        *o = x[at];
    }
    Ok(())
}
