//! `Reduce`: sum, mean, max, min, product or sum of squares of an f32 tensor over a set of
//! axes (ONNX `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`, `ReduceProd`,
//! `ReduceSumSquare`), keeping the reduced axes as 1 or dropping them.
//!
//! Any set of axes is accepted. Adjacent reduced axes (ignoring axes of extent 1) form one
//! run, reduced by one [`kernels::reduce::reduce`](crate::kernels::reduce::reduce) call over
//! its `[outer, len, inner]` view; a rank-6 tensor has at most three runs, reduced from the
//! innermost out through at most two intermediate f32 buffers in scratch (sized in
//! `prepare`); the first call applies the reduction, later ones combine partial results
//! (sums of partial sums for `Sum`, `Mean` and `SumSquares`, maxima of partial maxima, ...).
//! Results are deterministic (the kernels' fixed order), and differ from a single
//! left-to-right fold only by rounding. `Mean` is the `Sum` divided once by the number of
//! reduced elements (as f32).
//! Max and min propagate NaN. A reduced axis of extent 0 is refused (max and min have no
//! identity); a kept axis of extent 0 gives an empty output.

use super::fully_connected::scratch_f32;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::reduce::{self as kernel, ReduceOp};
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Reduction of input `x` (f32) over [`ReduceAttrs::axes`]; output f32.
pub struct Reduce;

/// The reductions in code order: Sum 0, Mean 1, Max 2, Min 3, Prod 4, SumSquares 5 (codes
/// are never reused or renumbered).
const CODES: [ReduceOp; 6] = [
    ReduceOp::Sum,
    ReduceOp::Mean,
    ReduceOp::Max,
    ReduceOp::Min,
    ReduceOp::Prod,
    ReduceOp::SumSquares,
];

/// Most kernel calls one node makes: reduced runs alternate with kept ones in at most
/// [`MAX_RANK`] axes.
const MAX_RUNS: usize = MAX_RANK.div_ceil(2);

/// Attributes of [`Reduce`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReduceAttrs {
    /// The reduction's code: Sum 0, Mean 1, Max 2, Min 3, Prod 4, SumSquares 5.
    pub op: u32,
    /// The reduced axes (negative counts from the end), in any order, each at most once;
    /// entries past `n_axes` are 0.
    pub axes: [i32; MAX_RANK],
    /// Number of axes listed; 0 reduces every axis (ONNX's default for missing axes).
    pub n_axes: u32,
    /// Keep reduced axes as extent 1 (ONNX `keepdims`).
    pub keepdims: bool,
}

impl ReduceAttrs {
    /// The record of `op` over `axes` (empty: every axis); `None` when more than
    /// [`MAX_RANK`] axes are given.
    pub fn new(op: ReduceOp, axes: &[i32], keepdims: bool) -> Option<Self> {
        let mut a = [0i32; MAX_RANK];
        a.get_mut(..axes.len())?.copy_from_slice(axes);
        let code = CODES.iter().position(|&c| c == op).unwrap_or(0);
        Some(ReduceAttrs {
            op: code as u32,
            axes: a,
            n_axes: axes.len() as u32,
            keepdims,
        })
    }

    /// The reduction, `None` for an unknown code.
    pub fn op(&self) -> Option<ReduceOp> {
        CODES.get(usize::try_from(self.op).ok()?).copied()
    }
}

/// Prepared params of [`Reduce`].
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ReduceParams {
    /// Code of the kernel reduction of the first call (Mean runs as Sum).
    op: u32,
    /// Code of the kernel reduction combining partial results in later calls (Sum for
    /// SumSquares and Mean).
    then: u32,
    /// Kernel calls (0: one term per output, copied, or squared for SumSquares).
    runs: u32,
    /// `[outer, len, inner]` of each call, in order.
    run: [u32; 3 * MAX_RUNS],
    /// f32 elements of the two intermediate buffers.
    scratch: [u32; 2],
    /// Divisor of a mean (1 otherwise).
    count: u32,
}

fn word(cx: &Prepare<'_, '_>, v: usize) -> R<u32> {
    u32::try_from(v).map_err(|_| cx.attr_err("sizes overflow"))
}

/// The reduced-axis mask of `a` against rank `rank`.
fn mask(a: &ReduceAttrs, cx: &Prepare<'_, '_>, rank: usize) -> R<[bool; MAX_RANK]> {
    let n = a.n_axes as usize;
    let listed = a.axes.get(..n).ok_or(cx.attr_err("too many reduce axes"))?;
    if a.axes[n..].iter().any(|&x| x != 0) {
        return Err(cx.attr_err("unused reduce axes must be 0"));
    }
    let mut m = [false; MAX_RANK];
    if n == 0 {
        m[..rank].fill(true);
        return Ok(m);
    }
    for &axis in listed {
        let k = super::softmax::resolve_axis(i64::from(axis), rank)
            .ok_or(cx.attr_err("reduce axis out of range"))?;
        if m[k] {
            return Err(cx.attr_err("reduce axis listed twice"));
        }
        m[k] = true;
    }
    Ok(m)
}

impl Op for Reduce {
    const ID: u16 = 56;
    const NAME: &'static str = "Reduce";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ReduceAttrs;
    type Params = ReduceParams;

    fn prepare(a: &ReduceAttrs, cx: &mut Prepare<'_, '_>) -> R<ReduceParams> {
        let op = a.op().ok_or(cx.attr_err("unknown reduce op code"))?;
        let s = cx.typed(0, DType::F32)?;
        s.checked_numel().map_err(|e| cx.kernel_err(e))?;
        let dims = s.dims();
        let m = mask(a, cx, dims.len())?;
        let mut out = [0usize; MAX_RANK];
        let mut rank = 0;
        // Axes of extent > 1 merged into alternating kept / reduced groups.
        let (mut ext, mut red, mut groups) = ([0usize; MAX_RANK], [false; MAX_RANK], 0);
        let mut count = 1usize;
        for (k, &d) in dims.iter().enumerate() {
            if m[k] && d == 0 {
                return Err(cx.shape_err(0, "reduced axes must not be empty"));
            }
            if !m[k] || a.keepdims {
                out[rank] = if m[k] { 1 } else { d };
                rank += 1;
            }
            if m[k] {
                count = count.saturating_mul(d);
            }
            if d == 1 {
                continue;
            }
            if groups > 0 && red[groups - 1] == m[k] {
                ext[groups - 1] = ext[groups - 1].saturating_mul(d);
            } else {
                ext[groups] = d;
                red[groups] = m[k];
                groups += 1;
            }
        }
        let out = cx.shape(&out[..rank])?;
        cx.set_output(0, DType::F32, out)?;
        // Reduce the groups from the innermost out: those to the right are 1 by then.
        let code = |k: ReduceOp| CODES.iter().position(|&c| c == k).unwrap_or(0) as u32;
        let (first, then) = match op {
            ReduceOp::Mean => (ReduceOp::Sum, ReduceOp::Sum),
            ReduceOp::SumSquares => (op, ReduceOp::Sum),
            _ => (op, op),
        };
        let mut p = ReduceParams {
            op: code(first),
            then: code(then),
            runs: 0,
            run: [0; 3 * MAX_RUNS],
            scratch: [0; 2],
            count: if op == ReduceOp::Mean {
                word(cx, count)?
            } else {
                1
            },
        };
        let mut runs = 0usize;
        let mut inner = 1usize;
        let mut sizes = [0usize; MAX_RUNS];
        for g in (0..groups).rev() {
            if !red[g] {
                inner *= ext[g];
                continue;
            }
            let outer: usize = ext[..g].iter().product();
            let call = p
                .run
                .get_mut(3 * runs..3 * runs + 3)
                .ok_or(cx.attr_err("too many reduce axes"))?;
            call.copy_from_slice(&[word(cx, outer)?, word(cx, ext[g])?, word(cx, inner)?]);
            sizes[runs] = outer * inner;
            runs += 1;
        }
        p.runs = runs as u32;
        // Call t < runs - 1 writes buffer t % 2 (at most two intermediates).
        for (t, &size) in sizes.iter().enumerate().take(runs.saturating_sub(1)) {
            p.scratch[t % 2] = word(cx, size)?;
        }
        let elems = p.scratch[0] as usize + p.scratch[1] as usize;
        cx.set_scratch(elems.checked_mul(4).ok_or(cx.attr_err("sizes overflow"))?);
        Ok(p)
    }

    fn eval(p: &ReduceParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let code = |c: u32| {
            CODES
                .get(c as usize)
                .copied()
                .ok_or(Error::InvalidArgument {
                    op: "Reduce",
                    what: "unknown reduce op code",
                })
        };
        let (first, then) = (code(p.op)?, code(p.then)?);
        let x = io.input::<f32>(0)?;
        let [sa, sb] = p.scratch.map(|e| e as usize);
        let (a, b) = scratch_f32(scratch, sa + sb)?.split_at_mut(sa);
        let out = io.out::<f32>(0)?;
        if out.is_empty() {
            return Ok(());
        }
        let call = |t: usize| {
            let c = &p.run[3 * t..3 * t + 3];
            (c[0] as usize, c[1] as usize, c[2] as usize)
        };
        let red = |x: &[f32], t: usize, o: &mut [f32]| {
            let (outer, len, inner) = call(t);
            let op = if t == 0 { first } else { then };
            kernel::reduce(op, x, outer, len, inner, o)
        };
        match p.runs {
            0 => {
                if x.len() != out.len() {
                    return Err(super::io::misaligned());
                }
                // Every reduced axis has extent 1: one term per output.
                out.copy_from_slice(x);
                if first == ReduceOp::SumSquares {
                    for o in out.iter_mut() {
                        *o *= *o;
                    }
                }
            }
            1 => red(x, 0, out)?,
            2 => {
                red(x, 0, a)?;
                red(a, 1, out)?;
            }
            _ => {
                red(x, 0, a)?;
                red(a, 1, b)?;
                red(b, 2, out)?;
            }
        }
        if p.count != 1 {
            let n = p.count as f32;
            for o in out.iter_mut() {
                *o /= n;
            }
        }
        Ok(())
    }
}
