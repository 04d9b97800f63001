//! Slice (ONNX `Slice`, opset 10 and later): [`slice_plan`] turns the ONNX `starts`,
//! `ends`, `axes` and `steps` into a [`SlicePlan`] (output shape, first index and step per
//! axis); [`slice`](fn@slice) copies the selected elements.
//!
//! The fast [`slice`](fn@slice) walks the output with incremental offsets; when the
//! innermost step is 1 it copies whole output rows with `copy_from_slice` (neighbouring
//! axes taken whole are merged first, so a slice along the outer axes is a few long copies).
//! [`slice_reference`] locates every element's source by division. Both copy the same
//! elements to the same places.

use super::walk::{unravel, Walk};
use super::{check_eq, numel, resolve_axis, shape_of, strides};
use crate::error::{Error, Result};
use crate::shape::MAX_RANK;

/// What a slice reads: for each axis `a` of the input, `output_shape()[a]` elements at
/// input positions `starts()[a] + k * steps()[a]`, `k = 0, 1, ..`.
///
/// Built only by [`slice_plan`], so every position it describes is inside the input. An
/// axis the slice leaves whole has start 0 and step 1. Along an axis with at most one
/// output element the step is stored as 1, and along an empty one the start as 0, so plans
/// that read the same elements in the same order compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlicePlan {
    rank: usize,
    input: [usize; MAX_RANK],
    output: [usize; MAX_RANK],
    starts: [usize; MAX_RANK],
    steps: [i64; MAX_RANK],
}

impl SlicePlan {
    /// Rank of the input (and output).
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Dimensions of the tensor the plan slices.
    pub fn input_shape(&self) -> &[usize] {
        &self.input[..self.rank]
    }

    /// Dimensions of the result.
    pub fn output_shape(&self) -> &[usize] {
        &self.output[..self.rank]
    }

    /// Input position of the first element read along each axis.
    pub fn starts(&self) -> &[usize] {
        &self.starts[..self.rank]
    }

    /// Step between the elements read along each axis (negative: backwards).
    pub fn steps(&self) -> &[i64] {
        &self.steps[..self.rank]
    }

    /// Number of elements of the result.
    pub fn output_numel(&self) -> usize {
        self.output_shape()
            .iter()
            .fold(1usize, |acc, &d| acc.saturating_mul(d))
    }
}

/// The plan of ONNX `Slice` on a tensor of dimensions `shape`, following the operator's
/// specification exactly:
/// - `starts` and `ends` have one entry per sliced axis; `axes` names those axes (negative
///   counts from the back) or is empty for `0, 1, ..`; `steps` gives their steps or is empty
///   for all 1. Axes not named are taken whole.
/// - A negative start or end has the dimension `d` added once. Then, for a positive step,
///   start and end are clamped to `[0, d]`; for a negative step, start is clamped to
///   `[0, d - 1]` and end to `[-1, d - 1]`. So `i64::MAX` as end means "to the end" going
///   forwards and `i64::MIN` means "to the front" going backwards, and out-of-range starts
///   and ends clamp rather than fail.
/// - The axis then has `max(0, ceil((end - start) / step))` elements.
///
/// Errors: [`Error::DimMismatch`] when `ends`, `axes` or `steps` (when not empty) differ in
/// length from `starts` (`"ends length"`, `"axes length"`, `"steps length"`);
/// [`Error::AxisOutOfRange`] for an axis outside `-rank..rank` (or, with `axes` empty, more
/// entries than axes); [`Error::InvalidArgument`] when `axes` names an axis twice or a step
/// is 0; [`Error::RankTooLarge`] past [`MAX_RANK`]; [`Error::Overflow`] when the input's
/// element count overflows.
pub fn slice_plan(
    shape: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: &[i64],
    steps: &[i64],
) -> Result<SlicePlan> {
    let op = "slice";
    numel(op, shape)?;
    let rank = shape.len();
    let n = starts.len();
    check_eq(op, "ends length", n, ends.len())?;
    if !axes.is_empty() {
        check_eq(op, "axes length", n, axes.len())?;
    }
    if !steps.is_empty() {
        check_eq(op, "steps length", n, steps.len())?;
    }
    let mut plan = SlicePlan {
        rank,
        input: [0; MAX_RANK],
        output: [0; MAX_RANK],
        starts: [0; MAX_RANK],
        steps: [1; MAX_RANK],
    };
    plan.input[..rank].copy_from_slice(shape);
    plan.output[..rank].copy_from_slice(shape);
    let mut seen = [false; MAX_RANK];
    for (i, (&start, &end)) in starts.iter().zip(ends).enumerate() {
        let axis = match axes.get(i) {
            Some(&a) => resolve_axis(op, a, rank)?,
            None if i < rank => i,
            None => return Err(Error::AxisOutOfRange { op, axis: i, rank }),
        };
        if core::mem::replace(&mut seen[axis], true) {
            return Err(Error::InvalidArgument {
                op,
                what: "axes names an axis twice",
            });
        }
        let step = steps.get(i).copied().unwrap_or(1);
        if step == 0 {
            return Err(Error::InvalidArgument {
                op,
                what: "step is zero",
            });
        }
        let d = i64::try_from(shape[axis]).map_err(|_| Error::Overflow { op })?;
        let start = if start < 0 { start + d } else { start };
        let end = if end < 0 { end + d } else { end };
        // First position read and element count; both clamps keep every read in 0..d.
        let (first, len) = if step > 0 {
            let s = start.clamp(0, d);
            let e = end.clamp(0, d);
            let len = if e > s {
                (e - s - 1).unsigned_abs() / step.unsigned_abs() + 1
            } else {
                0
            };
            (s, len)
        } else if d == 0 {
            (0, 0)
        } else {
            let s = start.clamp(0, d - 1);
            let e = end.clamp(-1, d - 1);
            let len = if s > e {
                (s - e - 1).unsigned_abs() / step.unsigned_abs() + 1
            } else {
                0
            };
            (s, len)
        };
        // `len <= d` and `0 <= first < d` (or `len == 0`), so both fit `usize`.
        let len = usize::try_from(len).map_err(|_| Error::Overflow { op })?;
        plan.output[axis] = len;
        plan.starts[axis] = if len == 0 {
            0
        } else {
            usize::try_from(first).map_err(|_| Error::Overflow { op })?
        };
        plan.steps[axis] = if len <= 1 { 1 } else { step };
    }
    Ok(plan)
}

/// Checks a slice call; returns whether there is anything to copy.
fn check(x_len: usize, shape: &[usize], plan: &SlicePlan, out_len: usize) -> Result<bool> {
    let op = "slice";
    let n = numel(op, shape)?;
    if shape != plan.input_shape() {
        return Err(Error::ShapeMismatch {
            op,
            expected: shape_of(op, plan.input_shape())?,
            got: shape_of(op, shape)?,
        });
    }
    check_eq(op, "input length", n, x_len)?;
    let m = plan.output_numel();
    check_eq(op, "output length", m, out_len)?;
    Ok(m > 0)
}

/// Copies the elements `plan` selects from `x` (dimensions `shape`) into `out` (dimensions
/// `plan.output_shape()`), both row-major.
///
/// Errors: [`Error::ShapeMismatch`] when `shape` is not the shape the plan was made for;
/// [`Error::DimMismatch`] when `x` or `out` is not as long as its shape's element count
/// (`"input length"`, `"output length"`); [`Error::RankTooLarge`]; [`Error::Overflow`].
pub fn slice<T: Copy>(x: &[T], shape: &[usize], plan: &SlicePlan, out: &mut [T]) -> Result<()> {
    let op = "slice";
    if !check(x.len(), shape, plan, out.len())? {
        return Ok(());
    }
    let st = strides(op, shape)?;
    let overflow = Error::Overflow { op };
    let mut base = 0isize;
    let mut axis_strides = [0isize; MAX_RANK];
    for (a, s) in axis_strides.iter_mut().enumerate().take(plan.rank) {
        let start = isize::try_from(plan.starts[a]).map_err(|_| overflow)?;
        let step = isize::try_from(plan.steps[a]).map_err(|_| overflow)?;
        base = start
            .checked_mul(st[a])
            .and_then(|v| v.checked_add(base))
            .ok_or(overflow)?;
        *s = step.checked_mul(st[a]).ok_or(overflow)?;
    }
    let mut walk = Walk::<1>::new([base]);
    for (&d, &s) in plan.output_shape().iter().zip(&axis_strides) {
        walk.push(op, d, [s])?;
    }
    walk.copy_rows(x, out);
    Ok(())
}

/// Reference twin of [`slice`](fn@slice); same contract. For each output element it recovers the
/// output multi-index by division and maps each coordinate `k` to input position
/// `start + k * step`.
pub fn slice_reference<T: Copy>(
    x: &[T],
    shape: &[usize],
    plan: &SlicePlan,
    out: &mut [T],
) -> Result<()> {
    check(x.len(), shape, plan, out.len())?;
    let st = strides("slice", shape)?;
    for (flat, o) in out.iter_mut().enumerate() {
        let idx = unravel(flat, plan.output_shape());
        let mut at = 0i64;
        for a in 0..plan.rank {
            at += (plan.starts[a] as i64 + idx[a] as i64 * plan.steps[a]) * st[a] as i64;
        }
        *o = x[at as usize];
    }
    Ok(())
}
