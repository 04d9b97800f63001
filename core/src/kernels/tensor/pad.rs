//! Pad (ONNX `Pad` with non-negative pads; `numpy.pad`) in constant, reflect and edge
//! modes.
//!
//! Output axis `a` has `pads_begin[a] + shape[a] + pads_end[a]` elements. Each output
//! coordinate maps to an input coordinate (or, in constant mode, to the pad value) axis by
//! axis; within a row the part copied from the input is one `copy_from_slice`.

use super::walk::step_index;
use super::{check_eq, numel, strides};
use crate::error::{Error, Result};
use crate::shape::MAX_RANK;

/// What fills the padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// The value passed to [`pad`].
    Constant,
    /// The input mirrored about its first and last element, which are not repeated
    /// (`[a, b, c]` padded by 2 on each side is `[c, b, a, b, c, b, a]`), so a pad must be
    /// smaller than its dimension (ONNX `reflect`, `numpy.pad(mode="reflect")`).
    Reflect,
    /// The first or last element repeated (ONNX and NumPy `edge`).
    Edge,
}

/// Input coordinate read by output coordinate `o` along an axis of length `dim` padded by
/// `begin` in front; `None` is the pad value. The caller has checked the pads against
/// `mode` (reflect pads below `dim`, no edge padding of an empty axis).
#[inline]
fn source(mode: PadMode, o: usize, begin: usize, dim: usize) -> Option<usize> {
    if o < begin {
        // `k` places before the first element.
        let k = begin - o;
        match mode {
            PadMode::Constant => None,
            PadMode::Reflect => Some(k),
            PadMode::Edge => Some(0),
        }
    } else if o - begin < dim {
        Some(o - begin)
    } else {
        // `k` places after the last element.
        let k = o - begin - dim + 1;
        match mode {
            PadMode::Constant => None,
            PadMode::Reflect => dim.checked_sub(1 + k),
            PadMode::Edge => dim.checked_sub(1),
        }
    }
}

/// `out = pad(x)`: `x` has dimensions `shape`; output axis `a` gets `pads_begin[a]`
/// elements before the input and `pads_end[a]` after it, filled as `mode` says (with
/// `value` in [`PadMode::Constant`]; `value` is ignored otherwise). ONNX's negative pads
/// (cropping) are not taken here: crop with [`slice`](fn@super::slice).
///
/// Errors: [`Error::IndexOutOfRange`] (`what: "reflect pad"`, `index` the pad, `len` the
/// dimension) when a [`PadMode::Reflect`] pad is not smaller than its dimension;
/// [`Error::InvalidArgument`] when [`PadMode::Edge`] pads an empty axis;
/// [`Error::DimMismatch`] when a pads slice is not one entry per axis (`"pads_begin
/// length"`, `"pads_end length"`) or a buffer is not as long as its shape's element count
/// (`"input length"`, `"output length"`); [`Error::RankTooLarge`]; [`Error::Overflow`].
pub fn pad<T: Copy>(
    x: &[T],
    shape: &[usize],
    pads_begin: &[usize],
    pads_end: &[usize],
    mode: PadMode,
    value: T,
    out: &mut [T],
) -> Result<()> {
    let op = "pad";
    let n = numel(op, shape)?;
    let rank = shape.len();
    check_eq(op, "pads_begin length", rank, pads_begin.len())?;
    check_eq(op, "pads_end length", rank, pads_end.len())?;
    let mut od = [0usize; MAX_RANK];
    for (((o, &d), &b), &e) in od.iter_mut().zip(shape).zip(pads_begin).zip(pads_end) {
        for p in [b, e] {
            if mode == PadMode::Reflect && p > 0 && p >= d {
                return Err(Error::IndexOutOfRange {
                    op,
                    what: "reflect pad",
                    index: p,
                    len: d,
                });
            }
        }
        if mode == PadMode::Edge && d == 0 && (b > 0 || e > 0) {
            return Err(Error::InvalidArgument {
                op,
                what: "edge padding of an empty axis",
            });
        }
        *o = d
            .checked_add(b)
            .and_then(|v| v.checked_add(e))
            .ok_or(Error::Overflow { op })?;
    }
    let od = &od[..rank];
    check_eq(op, "input length", n, x.len())?;
    check_eq(op, "output length", numel(op, od)?, out.len())?;
    if out.is_empty() {
        return Ok(());
    }
    if rank == 0 {
        out.copy_from_slice(x);
        return Ok(());
    }
    let st = strides(op, shape)?;
    let last = rank - 1;
    let (row_len, dim, begin) = (od[last], shape[last], pads_begin[last]);
    // Multi-index of the current row over the outer axes.
    let mut idx = [0usize; MAX_RANK];
    for row in out.chunks_exact_mut(row_len) {
        // Input offset of the row, or `None` when an outer axis is in the constant padding.
        let at = idx[..last]
            .iter()
            .zip(pads_begin)
            .zip(shape)
            .zip(&st)
            .try_fold(0usize, |base, (((&o, &b), &d), &s)| {
                source(mode, o, b, d).map(|i| base + i * s.unsigned_abs())
            });
        match at {
            None => row.fill(value),
            Some(at) => {
                // The input row lands at `begin..begin + dim`; the rest is padding.
                row[begin..][..dim].copy_from_slice(&x[at..][..dim]);
                for o in (0..begin).chain(begin + dim..row_len) {
                    row[o] = match source(mode, o, begin, dim) {
                        Some(i) => x[at + i],
                        None => value,
                    };
                }
            }
        }
        step_index(&mut idx[..last], &od[..last]);
    }
    Ok(())
}
