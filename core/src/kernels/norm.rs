//! Normalisation: layer norm, RMS norm and inference-time batch norm.
//!
//! Statistics use f32 accumulators and two passes: the mean, as `k + m` with `k` the row's
//! first element and `m` the mean of `x - k` (a large common offset cancels exactly before
//! anything is summed, and the mean is never rounded to a single f32), then the mean of
//! squared deviations `((x - k) - m)^2`. Rows like `1e4 + noise` keep their accuracy. The
//! fast paths accumulate in `N` interleaved lanes (8 for the portable and AVX2 paths, 4 for
//! NEON) and multiply by `1 / sqrt(var + eps)` where the references divide, so they agree
//! with the references to a few ulp of the row's scale (see `core/tests/norm.rs`).

use crate::kernels::math::{self, Isa, Lanes, Portable};
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

fn check_len(op: &'static str, what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::DimMismatch {
            op,
            what,
            expected,
            got,
        })
    }
}

fn check_opt(
    op: &'static str,
    what: &'static str,
    expected: usize,
    v: Option<&[f32]>,
) -> Result<()> {
    match v {
        Some(v) => check_len(op, what, expected, v.len()),
        None => Ok(()),
    }
}

/// Checks a `[rows, cols]` normalisation.
#[allow(clippy::too_many_arguments)]
fn check_rows(
    op: &'static str,
    x: usize,
    out: usize,
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    if cols == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "normalised length (cols)",
        });
    }
    let total = rows.checked_mul(cols).ok_or(Error::Overflow { op })?;
    check_len(op, "input length", total, x)?;
    check_len(op, "output length", total, out)?;
    check_opt(op, "gamma length", cols, gamma)?;
    check_opt(op, "beta length", cols, beta)?;
    check_eps(op, eps)
}

/// Checks batch-norm statistics and parameters for `c` channels.
fn check_channels(
    op: &'static str,
    c: usize,
    mean: &[f32],
    var: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    if c == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "channels",
        });
    }
    check_len(op, "mean length", c, mean.len())?;
    check_len(op, "variance length", c, var.len())?;
    check_opt(op, "gamma length", c, gamma)?;
    check_opt(op, "beta length", c, beta)?;
    check_eps(op, eps)?;
    if var.iter().all(|&v| v >= 0.0) {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            op,
            what: "variance must be >= 0 (and not NaN)",
        })
    }
}

/// `sum(row - k)` in `L::N` interleaved accumulators, the tail added one by one.
#[inline(always)]
fn sum_shifted<L: Lanes>(row: &[f32], k: f32) -> f32 {
    let mut acc = L::splat(0.0);
    let vk = L::splat(k);
    let mut it = row.chunks_exact(L::N);
    for c in &mut it {
        acc = acc.add(L::load(c).sub(vk));
    }
    it.remainder()
        .iter()
        .fold(acc.reduce_add(), |s, &v| s + (v - k))
}

/// `sum(((row - k) - m)^2)`, accumulated like [`sum_shifted`].
#[inline(always)]
fn sum_sq_dev<L: Lanes>(row: &[f32], k: f32, m: f32) -> f32 {
    let mut acc = L::splat(0.0);
    let (vk, vm) = (L::splat(k), L::splat(m));
    let mut it = row.chunks_exact(L::N);
    for c in &mut it {
        let d = L::load(c).sub(vk).sub(vm);
        acc = d.mul_add(d, acc);
    }
    it.remainder().iter().fold(acc.reduce_add(), |s, &v| {
        let d = (v - k) - m;
        s + d * d
    })
}

/// `out = ((x - k) - m) * scale * gamma + beta` over one row; `gamma`/`beta` have the row's
/// length when present.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn affine_row<L: Lanes>(
    x: &[f32],
    out: &mut [f32],
    k: f32,
    m: f32,
    scale: f32,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
) {
    let (vk, vm, vs) = (L::splat(k), L::splat(m), L::splat(scale));
    let n = L::N;
    for (i, (xc, oc)) in x.chunks(n).zip(out.chunks_mut(n)).enumerate() {
        let range = i * n..;
        let mut y = L::load(xc).sub(vk).sub(vm).mul(vs);
        if let Some(g) = gamma {
            y = y.mul(L::load(g.get(range.clone()).unwrap_or(&[])));
        }
        if let Some(b) = beta {
            y = y.add(L::load(b.get(range).unwrap_or(&[])));
        }
        y.store(oc);
    }
}

#[derive(Clone, Copy)]
enum RowNorm {
    Layer,
    Rms,
}

#[inline(always)]
fn rows_run<L: Lanes>(
    kind: RowNorm,
    x: &[f32],
    out: &mut [f32],
    cols: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) {
    let n = cols as f32;
    for (xr, or) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        // The mean is kept as k + m (k the first element), never rounded to one f32.
        let (k, m) = match kind {
            RowNorm::Layer => {
                let k = xr.first().copied().unwrap_or(0.0);
                (k, sum_shifted::<L>(xr, k) / n)
            }
            RowNorm::Rms => (0.0, 0.0),
        };
        let ms = sum_sq_dev::<L>(xr, k, m) / n;
        let scale = 1.0 / math::sqrt(ms + eps);
        affine_row::<L>(xr, or, k, m, scale, gamma, beta);
    }
}

/// Batch norm over `[n, c, spatial]`: per channel `(x - mean) * (gamma / sqrt(var + eps))
/// + beta`.
#[inline(always)]
fn batch_run<L: Lanes>(x: &[f32], out: &mut [f32], c: usize, spatial: usize, p: &BnParams<'_>) {
    if spatial == 0 {
        return;
    }
    for (plane, (xp, op)) in x
        .chunks_exact(spatial)
        .zip(out.chunks_exact_mut(spatial))
        .enumerate()
    {
        let ch = plane % c;
        let (mean, scale, beta) = p.channel(ch);
        let (vm, vs, vb) = (L::splat(mean), L::splat(scale), L::splat(beta));
        for (xc, oc) in xp.chunks(L::N).zip(op.chunks_mut(L::N)) {
            L::load(xc).sub(vm).mul_add(vs, vb).store(oc);
        }
    }
}

/// Validated batch-norm inputs.
struct BnParams<'a> {
    mean: &'a [f32],
    var: &'a [f32],
    gamma: Option<&'a [f32]>,
    beta: Option<&'a [f32]>,
    eps: f32,
}

impl BnParams<'_> {
    /// `(mean, gamma / sqrt(var + eps), beta)` of channel `ch` (in range after validation).
    #[inline(always)]
    fn channel(&self, ch: usize) -> (f32, f32, f32) {
        let at = |v: &[f32], d: f32| v.get(ch).copied().unwrap_or(d);
        let g = self.gamma.map_or(1.0, |g| at(g, 1.0));
        let b = self.beta.map_or(0.0, |b| at(b, 0.0));
        let s = g / math::sqrt(at(self.var, 1.0) + self.eps);
        (at(self.mean, 0.0), s, b)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BnParams, RowNorm};
    use crate::kernels::math::Avx2;

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn rows(
        kind: RowNorm,
        x: &[f32],
        out: &mut [f32],
        cols: usize,
        gamma: Option<&[f32]>,
        beta: Option<&[f32]>,
        eps: f32,
    ) {
        super::rows_run::<Avx2>(kind, x, out, cols, gamma, beta, eps)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn batch(
        x: &[f32],
        out: &mut [f32],
        c: usize,
        spatial: usize,
        p: &BnParams<'_>,
    ) {
        super::batch_run::<Avx2>(x, out, c, spatial, p)
    }
}

#[allow(clippy::too_many_arguments)]
fn rows_dispatch(
    op: &'static str,
    isa: Isa,
    kind: RowNorm,
    x: &[f32],
    out: &mut [f32],
    cols: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    match isa {
        Isa::Generic => rows_run::<Portable>(kind, x, out, cols, gamma, beta, eps),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma if isa.is_available() => {
            // SAFETY: `is_available` just confirmed AVX2 and FMA.
            unsafe { x86::rows(kind, x, out, cols, gamma, beta, eps) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Isa::Neon => rows_run::<math::Neon>(kind, x, out, cols, gamma, beta, eps),
        _ => return Err(math::unavailable(op)),
    }
    Ok(())
}

/// Layer norm of each row of `x` viewed as `[rows, cols]`:
/// `(x - mean) / sqrt(var + eps) * gamma + beta` with the row's mean and (biased) variance;
/// `gamma` and `beta` (length `cols`) default to 1 and 0. Runs on the fastest path.
///
/// Errors: [`Error::ZeroDim`] when `cols == 0`; [`Error::Overflow`] when `rows * cols`
/// overflows; [`Error::DimMismatch`] when `x`/`out` do not hold `rows * cols` elements or
/// `gamma`/`beta` not `cols`; [`Error::InvalidArgument`] when `eps` is negative, infinite or
/// NaN. With `eps == 0` a constant row gives NaN (0/0).
pub fn layer_norm(
    x: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    layer_norm_with(Isa::detect(), x, out, rows, cols, gamma, beta, eps)
}

/// [`layer_norm`] on a chosen path; fails with [`Error::InvalidArgument`] when this CPU
/// cannot run `isa`.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_with(
    isa: Isa,
    x: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    let op = "layer_norm";
    check_rows(op, x.len(), out.len(), rows, cols, gamma, beta, eps)?;
    rows_dispatch(op, isa, RowNorm::Layer, x, out, cols, gamma, beta, eps)
}

/// The reference layer norm: with `k = x[0]` of the row, `m = sum(x - k) / cols` and
/// `var = sum(((x - k) - m)^2) / cols` (sequential f32 sums), then
/// `((x - k) - m) / sqrt(var + eps) * gamma + beta` element by element. Errors as for
/// [`layer_norm`].
pub fn layer_norm_reference(
    x: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    check_rows(
        "layer_norm",
        x.len(),
        out.len(),
        rows,
        cols,
        gamma,
        beta,
        eps,
    )?;
    let n = cols as f32;
    for (xr, or) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        let k = xr.first().copied().unwrap_or(0.0);
        let m = xr.iter().fold(0.0f32, |s, &v| s + (v - k)) / n;
        let var = xr
            .iter()
            .fold(0.0f32, |s, &v| s + ((v - k) - m) * ((v - k) - m))
            / n;
        let sd = math::sqrt(var + eps);
        for (i, (o, &v)) in or.iter_mut().zip(xr).enumerate() {
            let g = gamma.and_then(|g| g.get(i).copied()).unwrap_or(1.0);
            let b = beta.and_then(|b| b.get(i).copied()).unwrap_or(0.0);
            *o = ((v - k) - m) / sd * g + b;
        }
    }
    Ok(())
}

/// RMS norm of each row of `x` viewed as `[rows, cols]`: `x / sqrt(mean(x^2) + eps) * gamma`
/// (`gamma` of length `cols`, default 1). Runs on the fastest path.
///
/// Errors as for [`layer_norm`] (without `beta`).
pub fn rms_norm(
    x: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    rms_norm_with(Isa::detect(), x, out, rows, cols, gamma, eps)
}

/// [`rms_norm`] on a chosen path; fails with [`Error::InvalidArgument`] when this CPU cannot
/// run `isa`.
pub fn rms_norm_with(
    isa: Isa,
    x: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    let op = "rms_norm";
    check_rows(op, x.len(), out.len(), rows, cols, gamma, None, eps)?;
    rows_dispatch(op, isa, RowNorm::Rms, x, out, cols, gamma, None, eps)
}

/// The reference RMS norm: a sequential sum of squares, then `x / sqrt(ms + eps) * gamma`
/// element by element. Errors as for [`rms_norm`].
pub fn rms_norm_reference(
    x: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    check_rows("rms_norm", x.len(), out.len(), rows, cols, gamma, None, eps)?;
    let n = cols as f32;
    for (xr, or) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        let ms = xr.iter().fold(0.0f32, |s, &v| s + v * v) / n;
        let rms = math::sqrt(ms + eps);
        for (i, (o, &v)) in or.iter_mut().zip(xr).enumerate() {
            let g = gamma.and_then(|g| g.get(i).copied()).unwrap_or(1.0);
            *o = v / rms * g;
        }
    }
    Ok(())
}

fn check_batch(
    op: &'static str,
    x: usize,
    out: usize,
    dims: (usize, usize, usize),
    p: &BnParams<'_>,
) -> Result<()> {
    let (n, c, spatial) = dims;
    check_channels(op, c, p.mean, p.var, p.gamma, p.beta, p.eps)?;
    let total = n
        .checked_mul(c)
        .and_then(|v| v.checked_mul(spatial))
        .ok_or(Error::Overflow { op })?;
    check_len(op, "input length", total, x)?;
    check_len(op, "output length", total, out)
}

/// Inference-time batch norm of `x` in NCHW layout viewed as `[n, c, spatial]`
/// (`spatial = H * W`, 1 for `[n, c]` inputs): per channel
/// `(x - mean) / sqrt(var + eps) * gamma + beta` with the stored statistics; `gamma` and
/// `beta` default to 1 and 0. Runs on the fastest path (which multiplies by the per-channel
/// `gamma / sqrt(var + eps)`).
///
/// Errors: [`Error::ZeroDim`] when `c == 0`; [`Error::DimMismatch`] when `mean`, `var`,
/// `gamma` or `beta` do not have `c` elements or `x`/`out` not `n * c * spatial`;
/// [`Error::Overflow`] when that product overflows; [`Error::InvalidArgument`] for a bad
/// `eps` or a negative or NaN variance.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm(
    x: &[f32],
    out: &mut [f32],
    n: usize,
    c: usize,
    spatial: usize,
    mean: &[f32],
    var: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    batch_norm_with(
        Isa::detect(),
        x,
        out,
        n,
        c,
        spatial,
        mean,
        var,
        gamma,
        beta,
        eps,
    )
}

/// [`batch_norm`] on a chosen path; fails with [`Error::InvalidArgument`] when this CPU
/// cannot run `isa`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_with(
    isa: Isa,
    x: &[f32],
    out: &mut [f32],
    n: usize,
    c: usize,
    spatial: usize,
    mean: &[f32],
    var: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    let op = "batch_norm";
    let p = BnParams {
        mean,
        var,
        gamma,
        beta,
        eps,
    };
    check_batch(op, x.len(), out.len(), (n, c, spatial), &p)?;
    match isa {
        Isa::Generic => batch_run::<Portable>(x, out, c, spatial, &p),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma if isa.is_available() => {
            // SAFETY: `is_available` just confirmed AVX2 and FMA.
            unsafe { x86::batch(x, out, c, spatial, &p) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Isa::Neon => batch_run::<math::Neon>(x, out, c, spatial, &p),
        _ => return Err(math::unavailable(op)),
    }
    Ok(())
}

/// The reference batch norm: `(x - mean) / sqrt(var + eps) * gamma + beta` element by
/// element. Errors as for [`batch_norm`].
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_reference(
    x: &[f32],
    out: &mut [f32],
    n: usize,
    c: usize,
    spatial: usize,
    mean: &[f32],
    var: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Result<()> {
    let p = BnParams {
        mean,
        var,
        gamma,
        beta,
        eps,
    };
    check_batch("batch_norm", x.len(), out.len(), (n, c, spatial), &p)?;
    if spatial == 0 {
        return Ok(());
    }
    for (plane, (xp, op)) in x
        .chunks_exact(spatial)
        .zip(out.chunks_exact_mut(spatial))
        .enumerate()
    {
        let ch = plane % c;
        let at = |v: &[f32]| v.get(ch).copied();
        let m = at(mean).unwrap_or(0.0);
        let sd = math::sqrt(at(var).unwrap_or(1.0) + eps);
        let g = gamma.and_then(at).unwrap_or(1.0);
        let b = beta.and_then(at).unwrap_or(0.0);
        for (o, &v) in op.iter_mut().zip(xp) {
            *o = (v - m) / sd * g + b;
        }
    }
    Ok(())
}

/// Folds inference batch-norm parameters into a per-channel affine map
/// `y = x * scale + shift`, with `scale = gamma / sqrt(var + eps)` and
/// `shift = beta - mean * scale` (`gamma`, `beta` default to 1, 0), for merging into a
/// preceding convolution or linear layer. Note that the folded form rounds `x * scale` and
/// `mean * scale` separately, so where the normalised output is much smaller than
/// `|mean * scale|` it is less accurate than [`batch_norm`].
///
/// Errors: as for [`batch_norm`]'s parameters, plus [`Error::DimMismatch`] when `scale_out`
/// or `shift_out` do not have `mean.len()` elements.
pub fn fold_batch_norm(
    mean: &[f32],
    var: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
    scale_out: &mut [f32],
    shift_out: &mut [f32],
) -> Result<()> {
    let op = "fold_batch_norm";
    let c = mean.len();
    check_channels(op, c, mean, var, gamma, beta, eps)?;
    check_len(op, "scale length", c, scale_out.len())?;
    check_len(op, "shift length", c, shift_out.len())?;
    let p = BnParams {
        mean,
        var,
        gamma,
        beta,
        eps,
    };
    for (ch, (s, t)) in scale_out.iter_mut().zip(shift_out.iter_mut()).enumerate() {
        let (m, scale, b) = p.channel(ch);
        *s = scale;
        *t = b - m * scale;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both portable lane widths against the references (1e-5 of the output's scale).
    #[test]
    fn portable_lane_widths_match_reference() {
        let x: [f32; 84] = core::array::from_fn(|i| ((i * 37) % 23) as f32 * 0.7 - 8.0);
        let g: [f32; 21] = core::array::from_fn(|i| 0.5 + i as f32 * 0.05);
        let b: [f32; 21] = core::array::from_fn(|i| i as f32 * 0.1 - 1.0);
        let close = |got: &[f32], want: &[f32]| {
            for (a, w) in got.iter().zip(want) {
                assert!((a - w).abs() <= 1e-5 * (1.0 + w.abs()), "{a} vs {w}");
            }
        };
        for kind in [RowNorm::Layer, RowNorm::Rms] {
            let mut want = [0.0f32; 84];
            match kind {
                RowNorm::Layer => {
                    layer_norm_reference(&x, &mut want, 4, 21, Some(&g), Some(&b), 1e-5)
                }
                RowNorm::Rms => rms_norm_reference(&x, &mut want, 4, 21, Some(&g), 1e-5),
            }
            .unwrap();
            let beta = match kind {
                RowNorm::Layer => Some(&b[..]),
                RowNorm::Rms => None,
            };
            let mut one = [0.0f32; 84];
            let mut eight = [0.0f32; 84];
            rows_run::<f32>(kind, &x, &mut one, 21, Some(&g), beta, 1e-5);
            rows_run::<math::F32x8>(kind, &x, &mut eight, 21, Some(&g), beta, 1e-5);
            close(&one, &want);
            close(&eight, &want);
        }
        let (mean, var) = ([0.5f32, -1.0, 2.0], [1.0f32, 0.25, 4.0]);
        let mut want = [0.0f32; 84];
        batch_norm_reference(
            &x,
            &mut want,
            2,
            3,
            14,
            &mean,
            &var,
            Some(&g[..3]),
            Some(&b[..3]),
            1e-5,
        )
        .unwrap();
        let p = BnParams {
            mean: &mean,
            var: &var,
            gamma: Some(&g[..3]),
            beta: Some(&b[..3]),
            eps: 1e-5,
        };
        let mut one = [0.0f32; 84];
        let mut eight = [0.0f32; 84];
        batch_run::<f32>(&x, &mut one, 3, 14, &p);
        batch_run::<math::F32x8>(&x, &mut eight, 3, 14, &p);
        close(&one, &want);
        close(&eight, &want);
    }
}
