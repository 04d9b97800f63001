//! Gradients of the normalisations of [`crate::kernels::norm`], with their statistics
//! recomputed from `x` exactly as the forward kernels define them (`eps` inside the square
//! root; the layer-norm mean kept as `k + m` with `k` the row's first element):
//! - layer norm, per row of `n = cols` elements, `xh = ((x - k) - m) * r`,
//!   `r = 1 / sqrt(var + eps)`, `d = grad_out * gamma`:
//!   `grad_x = r * (d - mean(d) - xh * mean(d * xh))`;
//! - RMS norm, `xh = x * r`, `r = 1 / sqrt(mean(x^2) + eps)`:
//!   `grad_x = r * (d - xh * mean(d * xh))`;
//! - both: `grad_gamma = sum over rows of grad_out * xh`, `grad_beta = sum of grad_out`;
//! - inference batch norm over axis 1 of `[n, c, spatial]` with fixed statistics:
//!   `grad_x = grad_out * gamma / sqrt(var + eps)`,
//!   `grad_gamma[c] = sum grad_out * (x - mean) / sqrt(var + eps)`,
//!   `grad_beta[c] = sum grad_out` (the statistics get no gradient).
//!
//! Parameter gradients are overwritten and summed in row (plane) order. The fast paths sum
//! each row in eight interleaved lanes; the references sum sequentially and divide where
//! the fast paths multiply by a reciprocal.

use super::{check_eq, product};
use crate::kernels::math;
use crate::{Error, Result};

fn check_eps(op: &'static str, eps: f32) -> Result<()> {
    if eps.is_finite() && eps >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            op,
            what: "eps must be finite and >= 0",
        })
    }
}

fn check_opt(op: &'static str, what: &'static str, n: usize, v: Option<usize>) -> Result<()> {
    v.map_or(Ok(()), |len| check_eq(op, what, n, len))
}

/// The buffers of a row normalisation backward.
pub struct RowGrads<'a> {
    /// Gradient with respect to `x`, `rows * cols` elements (overwritten).
    pub input: &'a mut [f32],
    /// Gradient with respect to `gamma`, `cols` elements (overwritten), when wanted.
    pub gamma: Option<&'a mut [f32]>,
    /// Gradient with respect to `beta`, `cols` elements (overwritten), when wanted.
    pub beta: Option<&'a mut [f32]>,
}

#[allow(clippy::too_many_arguments)]
fn check_rows(
    op: &'static str,
    x: &[f32],
    grad_out: &[f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
    out: &RowGrads<'_>,
) -> Result<()> {
    if cols == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "normalised length (cols)",
        });
    }
    let total = product(op, &[rows, cols])?;
    check_eq(op, "input length", total, x.len())?;
    check_eq(op, "grad_out length", total, grad_out.len())?;
    check_eq(op, "grad_input length", total, out.input.len())?;
    check_opt(op, "gamma length", cols, gamma.map(|g| g.len()))?;
    check_opt(
        op,
        "grad_gamma length",
        cols,
        out.gamma.as_ref().map(|g| g.len()),
    )?;
    check_opt(
        op,
        "grad_beta length",
        cols,
        out.beta.as_ref().map(|g| g.len()),
    )?;
    check_eps(op, eps)
}

/// Sum of `f(i)` for `i < n` in eight interleaved lanes, then the tail in order.
#[inline(always)]
fn sum8(n: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let full = n - n % 8;
    for base in (0..full).step_by(8) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(base + l);
        }
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    let s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    (full..n).fold(s, |s, i| s + f(i))
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Layer,
    Rms,
}

#[allow(clippy::too_many_arguments)]
fn rows_fast(
    kind: Kind,
    x: &[f32],
    grad_out: &[f32],
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
    out: &mut RowGrads<'_>,
) {
    let n = cols as f32;
    let at = |v: &[f32], i: usize| v.get(i).copied().unwrap_or(0.0);
    let gam = |i: usize| gamma.map_or(1.0, |g| at(g, i));
    if let Some(gg) = out.gamma.as_deref_mut() {
        gg.fill(0.0);
    }
    if let Some(gb) = out.beta.as_deref_mut() {
        gb.fill(0.0);
    }
    for ((xr, gr), ir) in x
        .chunks_exact(cols)
        .zip(grad_out.chunks_exact(cols))
        .zip(out.input.chunks_exact_mut(cols))
    {
        let (k, m) = match kind {
            Kind::Layer => {
                let k = xr.first().copied().unwrap_or(0.0);
                (k, sum8(cols, |i| at(xr, i) - k) / n)
            }
            Kind::Rms => (0.0, 0.0),
        };
        let dev = |i: usize| (at(xr, i) - k) - m;
        let var = sum8(cols, |i| dev(i) * dev(i)) / n;
        let r = 1.0 / math::sqrt(var + eps);
        let d = |i: usize| at(gr, i) * gam(i);
        let mean_dxh = sum8(cols, |i| d(i) * (dev(i) * r)) / n;
        let mean_d = match kind {
            Kind::Layer => sum8(cols, d) / n,
            Kind::Rms => 0.0,
        };
        for (i, o) in ir.iter_mut().enumerate() {
            *o = r * ((d(i) - mean_d) - dev(i) * r * mean_dxh);
        }
        if let Some(gg) = out.gamma.as_deref_mut() {
            for (i, a) in gg.iter_mut().enumerate() {
                *a += at(gr, i) * (dev(i) * r);
            }
        }
        if let Some(gb) = out.beta.as_deref_mut() {
            for (a, &g) in gb.iter_mut().zip(gr) {
                *a += g;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn rows_reference(
    kind: Kind,
    x: &[f32],
    grad_out: &[f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
    out: &mut RowGrads<'_>,
) {
    let n = cols as f32;
    if let Some(gg) = out.gamma.as_deref_mut() {
        gg.fill(0.0);
    }
    if let Some(gb) = out.beta.as_deref_mut() {
        gb.fill(0.0);
    }
    for row in 0..rows {
        let xr = &x[row * cols..][..cols];
        let gr = &grad_out[row * cols..][..cols];
        let (k, m) = match kind {
            Kind::Layer => {
                let k = xr[0];
                (k, xr.iter().fold(0.0f32, |s, &v| s + (v - k)) / n)
            }
            Kind::Rms => (0.0, 0.0),
        };
        let var = xr
            .iter()
            .fold(0.0f32, |s, &v| s + ((v - k) - m) * ((v - k) - m))
            / n;
        let sd = math::sqrt(var + eps);
        let mut sum_d = 0.0f32;
        let mut sum_dxh = 0.0f32;
        for i in 0..cols {
            let d = gr[i] * gamma.map_or(1.0, |g| g[i]);
            sum_d += d;
            sum_dxh += d * (((xr[i] - k) - m) / sd);
        }
        if kind == Kind::Rms {
            sum_d = 0.0;
        }
        for i in 0..cols {
            let xh = ((xr[i] - k) - m) / sd;
            let d = gr[i] * gamma.map_or(1.0, |g| g[i]);
            out.input[row * cols + i] = (d - sum_d / n - xh * (sum_dxh / n)) / sd;
            if let Some(gg) = out.gamma.as_deref_mut() {
                gg[i] += gr[i] * xh;
            }
            if let Some(gb) = out.beta.as_deref_mut() {
                gb[i] += gr[i];
            }
        }
    }
}

/// Gradients of [`layer_norm`](crate::kernels::norm::layer_norm) over `x` viewed as
/// `[rows, cols]` (see the [module docs](self)); `gamma` is the forward scale (`None`: 1).
/// `out.gamma` / `out.beta` are computed when present.
///
/// Errors: [`Error::ZeroDim`] when `cols == 0`; [`Error::Overflow`];
/// [`Error::DimMismatch`] when `x`, `grad_out` or `out.input` does not hold `rows * cols`
/// elements, or `gamma`, `out.gamma`, `out.beta` not `cols`; [`Error::InvalidArgument`] for
/// a negative, infinite or NaN `eps`.
pub fn layer_norm_backward(
    x: &[f32],
    grad_out: &[f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
    mut out: RowGrads<'_>,
) -> Result<()> {
    check_rows(
        "layer_norm_backward",
        x,
        grad_out,
        rows,
        cols,
        gamma,
        eps,
        &out,
    )?;
    rows_fast(Kind::Layer, x, grad_out, cols, gamma, eps, &mut out);
    Ok(())
}

/// Reference twin of [`layer_norm_backward`] (sequential sums). Same contract.
pub fn layer_norm_backward_reference(
    x: &[f32],
    grad_out: &[f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
    mut out: RowGrads<'_>,
) -> Result<()> {
    check_rows(
        "layer_norm_backward",
        x,
        grad_out,
        rows,
        cols,
        gamma,
        eps,
        &out,
    )?;
    rows_reference(Kind::Layer, x, grad_out, rows, cols, gamma, eps, &mut out);
    Ok(())
}

/// Gradients of [`rms_norm`](crate::kernels::norm::rms_norm) over `x` viewed as
/// `[rows, cols]` (see the [module docs](self)). `out.beta`, if given, receives the column
/// sums of `grad_out` (RMS norm has no shift; pass `None`). Errors as
/// [`layer_norm_backward`].
pub fn rms_norm_backward(
    x: &[f32],
    grad_out: &[f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
    mut out: RowGrads<'_>,
) -> Result<()> {
    check_rows(
        "rms_norm_backward",
        x,
        grad_out,
        rows,
        cols,
        gamma,
        eps,
        &out,
    )?;
    rows_fast(Kind::Rms, x, grad_out, cols, gamma, eps, &mut out);
    Ok(())
}

/// Reference twin of [`rms_norm_backward`] (sequential sums). Same contract.
pub fn rms_norm_backward_reference(
    x: &[f32],
    grad_out: &[f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
    mut out: RowGrads<'_>,
) -> Result<()> {
    check_rows(
        "rms_norm_backward",
        x,
        grad_out,
        rows,
        cols,
        gamma,
        eps,
        &out,
    )?;
    rows_reference(Kind::Rms, x, grad_out, rows, cols, gamma, eps, &mut out);
    Ok(())
}

/// The fixed statistics and scale of an inference batch norm, as passed to
/// [`batch_norm`](crate::kernels::norm::batch_norm).
#[derive(Clone, Copy, Debug)]
pub struct BatchNormStats<'a> {
    /// Running mean, `c` elements.
    pub mean: &'a [f32],
    /// Running variance, `c` elements, each `>= 0`.
    pub var: &'a [f32],
    /// Scale, `c` elements (`None`: 1).
    pub gamma: Option<&'a [f32]>,
    /// Added to the variance inside the square root; finite and `>= 0`.
    pub eps: f32,
}

fn check_batch(
    op: &'static str,
    x: &[f32],
    grad_out: &[f32],
    dims: [usize; 3],
    st: &BatchNormStats<'_>,
    out: &RowGrads<'_>,
) -> Result<()> {
    let [_, c, _] = dims;
    if c == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "channels",
        });
    }
    let total = product(op, &dims)?;
    check_eq(op, "input length", total, x.len())?;
    check_eq(op, "grad_out length", total, grad_out.len())?;
    check_eq(op, "grad_input length", total, out.input.len())?;
    check_eq(op, "mean length", c, st.mean.len())?;
    check_eq(op, "variance length", c, st.var.len())?;
    check_opt(op, "gamma length", c, st.gamma.map(|g| g.len()))?;
    check_opt(
        op,
        "grad_gamma length",
        c,
        out.gamma.as_ref().map(|g| g.len()),
    )?;
    check_opt(
        op,
        "grad_beta length",
        c,
        out.beta.as_ref().map(|g| g.len()),
    )?;
    check_eps(op, st.eps)?;
    if st.var.iter().all(|&v| v >= 0.0) {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            op,
            what: "variance must be >= 0 (and not NaN)",
        })
    }
}

/// Gradients of the inference [`batch_norm`](crate::kernels::norm::batch_norm) over `x`
/// viewed as `[n, c, spatial]` (`dims`), see the [module docs](self). `out.gamma` /
/// `out.beta` (`c` elements) are computed when present; each plane's contribution is summed
/// in eight lanes and planes are added in order.
///
/// Errors: [`Error::ZeroDim`] when `c == 0`; [`Error::Overflow`]; [`Error::DimMismatch`]
/// for a buffer of the wrong length; [`Error::InvalidArgument`] for a bad `eps` or a
/// negative or NaN variance.
pub fn batch_norm_backward(
    x: &[f32],
    grad_out: &[f32],
    dims: [usize; 3],
    stats: &BatchNormStats<'_>,
    mut out: RowGrads<'_>,
) -> Result<()> {
    check_batch("batch_norm_backward", x, grad_out, dims, stats, &out)?;
    let [_, c, spatial] = dims;
    if let Some(gg) = out.gamma.as_deref_mut() {
        gg.fill(0.0);
    }
    if let Some(gb) = out.beta.as_deref_mut() {
        gb.fill(0.0);
    }
    if spatial == 0 {
        return Ok(());
    }
    let at = |v: &[f32], i: usize| v.get(i).copied().unwrap_or(0.0);
    for (plane, ((xp, gp), ip)) in x
        .chunks_exact(spatial)
        .zip(grad_out.chunks_exact(spatial))
        .zip(out.input.chunks_exact_mut(spatial))
        .enumerate()
    {
        let ch = plane % c;
        let r = 1.0 / math::sqrt(at(stats.var, ch) + stats.eps);
        let mean = at(stats.mean, ch);
        let s = stats.gamma.map_or(1.0, |g| at(g, ch)) * r;
        for (o, &g) in ip.iter_mut().zip(gp) {
            *o = g * s;
        }
        if let Some(gg) = out.gamma.as_deref_mut().and_then(|v| v.get_mut(ch)) {
            *gg += sum8(spatial, |i| at(gp, i) * ((at(xp, i) - mean) * r));
        }
        if let Some(gb) = out.beta.as_deref_mut().and_then(|v| v.get_mut(ch)) {
            *gb += sum8(spatial, |i| at(gp, i));
        }
    }
    Ok(())
}

/// Reference twin of [`batch_norm_backward`]: element by element, sequential sums, dividing
/// by `sqrt(var + eps)`. Same contract.
pub fn batch_norm_backward_reference(
    x: &[f32],
    grad_out: &[f32],
    dims: [usize; 3],
    stats: &BatchNormStats<'_>,
    mut out: RowGrads<'_>,
) -> Result<()> {
    check_batch("batch_norm_backward", x, grad_out, dims, stats, &out)?;
    let [n, c, spatial] = dims;
    for ch in 0..c {
        let sd = math::sqrt(stats.var[ch] + stats.eps);
        let g = stats.gamma.map_or(1.0, |g| g[ch]);
        let (mut sg, mut sb) = (0.0f32, 0.0f32);
        for img in 0..n {
            for i in 0..spatial {
                let at = (img * c + ch) * spatial + i;
                out.input[at] = grad_out[at] * g / sd;
                sg += grad_out[at] * ((x[at] - stats.mean[ch]) / sd);
                sb += grad_out[at];
            }
        }
        if let Some(gg) = out.gamma.as_deref_mut() {
            gg[ch] = sg;
        }
        if let Some(gb) = out.beta.as_deref_mut() {
            gb[ch] = sb;
        }
    }
    Ok(())
}
