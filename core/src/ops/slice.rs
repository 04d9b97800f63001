//! `Slice`: a strided window of a tensor (ONNX `Slice`, opset 10 and later, with constant
//! starts, ends, axes and steps; any element type).

use super::movement::{self, by_size};
use super::softmax::resolve_axis;
use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

/// Slice; input `x`, output of the window ONNX `Slice` selects (see
/// [`tensor::slice_plan`] for the clamping rules).
pub struct Slice;

/// Attributes of [`Slice`]: ONNX's `starts`, `ends`, `axes` and `steps`, `n` entries each
/// (entries past `n` are 0). Axes not named are taken whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceAttrs {
    /// Number of sliced axes.
    pub n: u8,
    /// First position along each sliced axis (negative counts from the end; clamped).
    pub starts: [i64; MAX_RANK],
    /// End (exclusive) along each sliced axis (negative counts from the end; clamped).
    pub ends: [i64; MAX_RANK],
    /// The sliced axes (negative counts from the end), each named once.
    pub axes: [i64; MAX_RANK],
    /// Step along each sliced axis (not 0; negative walks backwards).
    pub steps: [i64; MAX_RANK],
}

impl SliceAttrs {
    /// The attributes of ONNX `Slice(starts, ends, axes, steps)`: `axes` empty means
    /// `0, 1, ..` and `steps` empty all 1, as in ONNX. `None` when the lists differ in
    /// length or have more than [`MAX_RANK`] entries.
    pub fn new(starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64]) -> Option<SliceAttrs> {
        let n = starts.len();
        if n > MAX_RANK
            || ends.len() != n
            || !(axes.is_empty() || axes.len() == n)
            || !(steps.is_empty() || steps.len() == n)
        {
            return None;
        }
        let mut a = SliceAttrs {
            n: n as u8,
            starts: [0; MAX_RANK],
            ends: [0; MAX_RANK],
            axes: [0; MAX_RANK],
            steps: [0; MAX_RANK],
        };
        a.starts[..n].copy_from_slice(starts);
        a.ends[..n].copy_from_slice(ends);
        for (i, o) in a.axes[..n].iter_mut().enumerate() {
            *o = axes.get(i).copied().unwrap_or(i as i64);
        }
        for (i, o) in a.steps[..n].iter_mut().enumerate() {
            *o = steps.get(i).copied().unwrap_or(1);
        }
        Some(a)
    }
}

/// Prepared params of [`Slice`]: for every input axis, the first position read and the step
/// (magnitude, and a bit of `negative` per axis for backwards). With the output shape that
/// is the whole plan; `eval` rebuilds the kernel's [`tensor::SlicePlan`] from them (a few
/// operations per axis, nothing decoded).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SliceParams {
    size: u32,
    negative: u32,
    starts: [u32; MAX_RANK],
    steps: [u32; MAX_RANK],
}

fn run<const N: usize>(plan: &tensor::SlicePlan, io: &mut Io<'_>) -> Result<()> {
    let x = movement::input::<N>(io, 0)?;
    let shape = io.shape(0);
    tensor::slice(x, shape.dims(), plan, movement::output::<N>(io, 0)?)
}

impl Op for Slice {
    const ID: u16 = 32;
    const NAME: &'static str = "Slice";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = SliceAttrs;
    type Params = SliceParams;

    fn prepare(
        a: &SliceAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<SliceParams, ModelError> {
        let x = cx.input(0)?;
        let d = x.shape.dims();
        let stray = "slice entries past the count must be 0";
        let starts = movement::used(cx, &a.starts, a.n, stray)?;
        let ends = movement::used(cx, &a.ends, a.n, stray)?;
        let axes = movement::used(cx, &a.axes, a.n, stray)?;
        let steps = movement::used(cx, &a.steps, a.n, stray)?;
        if steps.contains(&0) {
            return Err(cx.attr_err("slice step is zero"));
        }
        let mut seen = [false; MAX_RANK];
        for &axis in axes {
            let axis = resolve_axis(axis, d.len()).ok_or(cx.attr_err("slice axis out of range"))?;
            if core::mem::replace(&mut seen[axis], true) {
                return Err(cx.attr_err("slice names an axis twice"));
            }
        }
        let plan =
            tensor::slice_plan(d, starts, ends, axes, steps).map_err(|e| cx.kernel_err(e))?;
        let out = cx.shape(plan.output_shape())?;
        cx.set_output(0, x.dtype, out)?;
        let mut p = SliceParams {
            size: movement::size_word(x.dtype),
            negative: 0,
            starts: [0; MAX_RANK],
            steps: [0; MAX_RANK],
        };
        let big = cx.attr_err("slice positions do not fit 32 bits");
        for (a, (&start, &step)) in plan.starts().iter().zip(plan.steps()).enumerate() {
            p.starts[a] = movement::word(start).ok_or(big)?;
            p.steps[a] = u32::try_from(step.unsigned_abs()).map_err(|_| big)?;
            if step < 0 {
                p.negative |= 1 << a;
            }
        }
        Ok(p)
    }

    fn eval(p: &SliceParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (shape, out) = (io.shape(0), io.out_shape(0));
        let r = shape.rank();
        let (mut starts, mut ends, mut steps) =
            ([0i64; MAX_RANK], [0i64; MAX_RANK], [1i64; MAX_RANK]);
        for (a, &len) in out.dims().iter().enumerate().take(MAX_RANK) {
            // The ends that make the plan read `len` elements from `starts[a]` by `steps[a]`.
            let len = len as i64;
            if len == 0 {
                continue;
            }
            let start = i64::from(p.starts[a]);
            let mag = i64::from(p.steps[a]);
            let span = (len - 1).saturating_mul(mag);
            if p.negative & (1 << a) == 0 {
                (starts[a], ends[a], steps[a]) = (start, start.saturating_add(span) + 1, mag);
            } else {
                let end = start - span - 1;
                // -1 would count from the end; any end below -1 clamps to "before the front".
                (starts[a], ends[a], steps[a]) =
                    (start, if end < 0 { i64::MIN } else { end }, -mag);
            }
        }
        let plan = tensor::slice_plan(shape.dims(), &starts[..r], &ends[..r], &[], &steps[..r])?;
        if plan.output_shape() != out.dims() {
            return Err(super::io::misaligned());
        }
        by_size!(p.size, run(&plan, io))
    }
}
