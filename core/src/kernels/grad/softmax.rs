//! Gradients of softmax and log-softmax along one axis, from the forward output `y`, with the
//! forward kernels' `[outer, len, inner]` view (see [`crate::kernels::softmax`]):
//! - softmax: `grad_x = y * (grad_y - sum(grad_y * y))`;
//! - log-softmax: `grad_x = grad_y - exp(y) * sum(grad_y)`;
//!
//! the sums running over the `len` elements of each slice. The fast paths sum contiguous
//! slices (`inner == 1`) in eight interleaved lanes and strided ones slice by slice across
//! eight columns at a time (the reference's order); the references sum sequentially.

use super::check_eq;
use crate::kernels::math;
use crate::{Error, Result};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Softmax,
    LogSoftmax,
}

impl Kind {
    fn op(self) -> &'static str {
        match self {
            Kind::Softmax => "softmax_backward",
            Kind::LogSoftmax => "log_softmax_backward",
        }
    }

    /// The slice's statistic contribution of one element.
    #[inline(always)]
    fn term(self, y: f32, g: f32) -> f32 {
        match self {
            Kind::Softmax => g * y,
            Kind::LogSoftmax => g,
        }
    }

    /// The gradient of one element given the slice's sum.
    #[inline(always)]
    fn grad(self, y: f32, g: f32, s: f32) -> f32 {
        match self {
            Kind::Softmax => y * (g - s),
            Kind::LogSoftmax => g - math::exp(y) * s,
        }
    }
}

fn check(
    kind: Kind,
    y: usize,
    g: usize,
    out: usize,
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    let op = kind.op();
    if len == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "softmax axis length",
        });
    }
    let total = super::product(op, &[outer, len, inner])?;
    check_eq(op, "forward output length", total, y)?;
    check_eq(op, "grad_out length", total, g)?;
    check_eq(op, "grad_input length", total, out)
}

/// Contiguous slice: sum in eight lanes, then the element-wise formula.
#[inline(always)]
fn row(kind: Kind, y: &[f32], g: &[f32], out: &mut [f32]) {
    let mut acc = [0.0f32; 8];
    let mut ys = y.chunks_exact(8);
    let mut gs = g.chunks_exact(8);
    for (yc, gc) in (&mut ys).zip(&mut gs) {
        for ((a, &yv), &gv) in acc.iter_mut().zip(yc).zip(gc) {
            *a += kind.term(yv, gv);
        }
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    let s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    let s = ys
        .remainder()
        .iter()
        .zip(gs.remainder())
        .fold(s, |s, (&yv, &gv)| s + kind.term(yv, gv));
    for ((o, &yv), &gv) in out.iter_mut().zip(y).zip(g) {
        *o = kind.grad(yv, gv, s);
    }
}

/// One `[len, inner]` block, eight columns at a time, each summed in slice order.
#[inline(always)]
fn block(kind: Kind, y: &[f32], g: &[f32], out: &mut [f32], inner: usize) {
    let len = y.len() / inner;
    for j0 in (0..inner).step_by(8) {
        let w = 8.min(inner - j0);
        let mut acc = [0.0f32; 8];
        for l in 0..len {
            let at = l * inner + j0;
            let (Some(yc), Some(gc)) = (y.get(at..at + w), g.get(at..at + w)) else {
                return;
            };
            for ((a, &yv), &gv) in acc.iter_mut().zip(yc).zip(gc) {
                *a += kind.term(yv, gv);
            }
        }
        for l in 0..len {
            let at = l * inner + j0;
            let (Some(yc), Some(gc), Some(oc)) = (
                y.get(at..at + w),
                g.get(at..at + w),
                out.get_mut(at..at + w),
            ) else {
                return;
            };
            for (((o, &yv), &gv), &s) in oc.iter_mut().zip(yc).zip(gc).zip(&acc) {
                *o = kind.grad(yv, gv, s);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn fast(
    kind: Kind,
    y: &[f32],
    g: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    check(kind, y.len(), g.len(), out.len(), outer, len, inner)?;
    let n = len * inner;
    if n == 0 {
        return Ok(());
    }
    for ((yb, gb), ob) in y
        .chunks_exact(n)
        .zip(g.chunks_exact(n))
        .zip(out.chunks_exact_mut(n))
    {
        if inner == 1 {
            row(kind, yb, gb, ob);
        } else {
            block(kind, yb, gb, ob, inner);
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn reference(
    kind: Kind,
    y: &[f32],
    g: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    check(kind, y.len(), g.len(), out.len(), outer, len, inner)?;
    for o in 0..outer {
        for j in 0..inner {
            let at = |l: usize| (o * len + l) * inner + j;
            let mut s = 0.0f32;
            for l in 0..len {
                s += kind.term(y[at(l)], g[at(l)]);
            }
            for l in 0..len {
                out[at(l)] = kind.grad(y[at(l)], g[at(l)], s);
            }
        }
    }
    Ok(())
}

/// Gradient of [`softmax`](crate::kernels::softmax::softmax) from its output `y`:
/// `out = y * (grad_out - sum(grad_out * y))` per slice of the `[outer, len, inner]` view.
///
/// Errors: [`Error::ZeroDim`] when `len == 0`; [`Error::Overflow`]; [`Error::DimMismatch`]
/// when `y`, `grad_out` or `out` does not hold `outer * len * inner` elements.
pub fn softmax_backward(
    y: &[f32],
    grad_out: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    fast(Kind::Softmax, y, grad_out, out, outer, len, inner)
}

/// Reference twin of [`softmax_backward`] (sequential sums). Same contract.
pub fn softmax_backward_reference(
    y: &[f32],
    grad_out: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    reference(Kind::Softmax, y, grad_out, out, outer, len, inner)
}

/// Gradient of [`log_softmax`](crate::kernels::softmax::log_softmax) from its output `y`:
/// `out = grad_out - exp(y) * sum(grad_out)` per slice. Errors as [`softmax_backward`].
pub fn log_softmax_backward(
    y: &[f32],
    grad_out: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    fast(Kind::LogSoftmax, y, grad_out, out, outer, len, inner)
}

/// Reference twin of [`log_softmax_backward`] (sequential sums). Same contract.
pub fn log_softmax_backward_reference(
    y: &[f32],
    grad_out: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    reference(Kind::LogSoftmax, y, grad_out, out, outer, len, inner)
}
