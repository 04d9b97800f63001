//! Softmax and log-softmax along one axis.
//!
//! The input is viewed as `[outer, len, inner]` (row-major) and normalised over `len`: for a
//! tensor of shape `[d0, .., dn]` and axis `a`, `outer = d0 * .. * d(a-1)`, `len = da` and
//! `inner = d(a+1) * .. * dn`. Both are numerically stable (the maximum is subtracted first),
//! so inputs like `1e30` are fine.
//!
//! Special values follow PyTorch: a NaN anywhere in a slice makes the whole slice NaN, and so
//! does `+inf` (`inf - inf`); a slice that is entirely `-inf` gives NaN (there is no maximum to
//! subtract); `-inf` next to finite values gives probability 0 (log-probability `-inf`).
//!
//! Fast paths: contiguous slices (`inner == 1`) are vectorised along the slice; strided ones
//! across `inner`, so each SIMD lane normalises its own slice. They run the same `exp` as
//! [`crate::kernels::math::exp`] (fused on AVX2/NEON) and multiply by the reciprocal of the
//! sum where the reference divides.

use crate::kernels::math::{self, exp_lanes, Isa, Lanes, Portable};
use crate::{Error, Result};

/// Checks the dimensions against both buffers.
fn check(
    op: &'static str,
    x: usize,
    out: usize,
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    if len == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "softmax axis length",
        });
    }
    let total = outer
        .checked_mul(len)
        .and_then(|v| v.checked_mul(inner))
        .ok_or(Error::Overflow { op })?;
    if x != total {
        return Err(Error::DimMismatch {
            op,
            what: "input length",
            expected: total,
            got: x,
        });
    }
    if out != total {
        return Err(Error::DimMismatch {
            op,
            what: "output length",
            expected: total,
            got: out,
        });
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Softmax,
    LogSoftmax,
}

/// Loads the first `L::N` values of `src` (fewer at the end of a row), padding with `-inf`
/// so padded lanes neither raise the maximum nor add to the sum.
#[inline(always)]
fn load_neg_inf<L: Lanes>(src: &[f32]) -> L {
    if src.len() >= L::N {
        L::load(src)
    } else {
        let mut buf = [f32::NEG_INFINITY; 8];
        for (b, &s) in buf.iter_mut().zip(src) {
            *b = s;
        }
        L::load(&buf)
    }
}

/// One contiguous slice, in place.
#[inline(always)]
fn row_inplace<L: Lanes>(kind: Kind, row: &mut [f32]) {
    let mut vmax = L::splat(f32::NEG_INFINITY);
    for c in row.chunks(L::N) {
        vmax = vmax.max(load_neg_inf::<L>(c));
    }
    let m = L::splat(vmax.reduce_max());
    let mut vsum = L::splat(0.0);
    match kind {
        Kind::Softmax => {
            for c in row.chunks_mut(L::N) {
                let e = exp_lanes(load_neg_inf::<L>(c).sub(m));
                vsum = vsum.add(e);
                e.store(c);
            }
            let inv = L::splat(1.0 / vsum.reduce_add());
            for c in row.chunks_mut(L::N) {
                L::load(c).mul(inv).store(c);
            }
        }
        Kind::LogSoftmax => {
            for c in row.chunks(L::N) {
                vsum = vsum.add(exp_lanes(load_neg_inf::<L>(c).sub(m)));
            }
            let lse = L::splat(math::ln(vsum.reduce_add()));
            for c in row.chunks_mut(L::N) {
                L::load(c).sub(m).sub(lse).store(c);
            }
        }
    }
}

/// Columns `j..j + L::N` of one `[len, inner]` block, in place: each lane is one slice.
#[inline(always)]
fn columns_inplace<L: Lanes>(kind: Kind, block: &mut [f32], inner: usize, j: usize) {
    let at = |l: usize| l * inner + j;
    let mut vmax = L::splat(f32::NEG_INFINITY);
    for l in 0..block.len() / inner {
        vmax = vmax.max(L::load(block.get(at(l)..).unwrap_or(&[])));
    }
    let mut vsum = L::splat(0.0);
    for l in 0..block.len() / inner {
        let x = L::load(block.get(at(l)..).unwrap_or(&[]));
        let e = exp_lanes(x.sub(vmax));
        vsum = vsum.add(e);
        if kind == Kind::Softmax {
            e.store(block.get_mut(at(l)..).unwrap_or(&mut []));
        }
    }
    match kind {
        Kind::Softmax => {
            let inv = L::splat(1.0).div(vsum);
            for l in 0..block.len() / inner {
                let dst = block.get_mut(at(l)..).unwrap_or(&mut []);
                L::load(dst).mul(inv).store(dst);
            }
        }
        Kind::LogSoftmax => {
            let mut s = [0.0f32; 8];
            vsum.store(&mut s);
            for v in s.iter_mut() {
                *v = math::ln(*v);
            }
            let lse = L::load(&s);
            for l in 0..block.len() / inner {
                let dst = block.get_mut(at(l)..).unwrap_or(&mut []);
                L::load(dst).sub(vmax).sub(lse).store(dst);
            }
        }
    }
}

/// One `[len, inner]` block with `inner > 1`, in place.
#[inline(always)]
fn block_inplace<L: Lanes>(kind: Kind, block: &mut [f32], inner: usize) {
    let full = inner - inner % L::N;
    let mut j = 0;
    while j < full {
        columns_inplace::<L>(kind, block, inner, j);
        j += L::N;
    }
    // Leftover columns one lane at a time (block.get(..) keeps stores inside the column).
    while j < inner {
        columns_inplace::<f32>(kind, block, inner, j);
        j += 1;
    }
}

/// The whole `[outer, len, inner]` tensor, already in `data`, in place.
#[inline(always)]
fn run_inplace<L: Lanes>(kind: Kind, data: &mut [f32], len: usize, inner: usize) {
    if inner == 1 {
        for row in data.chunks_exact_mut(len) {
            row_inplace::<L>(kind, row);
        }
    } else if inner > 1 {
        for block in data.chunks_exact_mut(len * inner) {
            block_inplace::<L>(kind, block, inner);
        }
    }
}

/// Out of place: each row (or block) is copied to `out` while hot, then done in place.
#[inline(always)]
fn run<L: Lanes>(kind: Kind, x: &[f32], out: &mut [f32], len: usize, inner: usize) {
    let step = len * inner;
    if step == 0 {
        return;
    }
    for (src, dst) in x.chunks_exact(step).zip(out.chunks_exact_mut(step)) {
        dst.copy_from_slice(src);
        run_inplace::<L>(kind, dst, len, inner);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Kind;
    use crate::kernels::math::Avx2;

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run(kind: Kind, x: &[f32], out: &mut [f32], len: usize, inner: usize) {
        super::run::<Avx2>(kind, x, out, len, inner)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_inplace(kind: Kind, data: &mut [f32], len: usize, inner: usize) {
        super::run_inplace::<Avx2>(kind, data, len, inner)
    }
}

fn dispatch(
    op: &'static str,
    kind: Kind,
    isa: Isa,
    x: &[f32],
    out: &mut [f32],
    dims: (usize, usize, usize),
) -> Result<()> {
    let (outer, len, inner) = dims;
    check(op, x.len(), out.len(), outer, len, inner)?;
    match isa {
        Isa::Generic => run::<Portable>(kind, x, out, len, inner),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma if isa.is_available() => {
            // SAFETY: `is_available` just confirmed AVX2 and FMA.
            unsafe { x86::run(kind, x, out, len, inner) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Isa::Neon => run::<math::Neon>(kind, x, out, len, inner),
        _ => return Err(math::unavailable(op)),
    }
    Ok(())
}

/// Softmax of `x` viewed as `[outer, len, inner]` over `len`, written to `out`, on the
/// fastest path this CPU has.
///
/// Errors: [`Error::ZeroDim`] when `len == 0`; [`Error::Overflow`] when
/// `outer * len * inner` overflows; [`Error::DimMismatch`] when `x` or `out` does not hold
/// exactly `outer * len * inner` elements.
pub fn softmax(x: &[f32], out: &mut [f32], outer: usize, len: usize, inner: usize) -> Result<()> {
    softmax_with(Isa::detect(), x, out, outer, len, inner)
}

/// [`softmax`] on a chosen path; fails with [`Error::InvalidArgument`] when this CPU cannot
/// run `isa`.
pub fn softmax_with(
    isa: Isa,
    x: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    dispatch("softmax", Kind::Softmax, isa, x, out, (outer, len, inner))
}

/// [`softmax`] in place (same results).
pub fn softmax_inplace(x: &mut [f32], outer: usize, len: usize, inner: usize) -> Result<()> {
    check("softmax", x.len(), x.len(), outer, len, inner)?;
    match Isa::detect() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => {
            // SAFETY: `Isa::detect` returns Avx2Fma only when AVX2 and FMA are available.
            unsafe { x86::run_inplace(Kind::Softmax, x, len, inner) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Isa::Neon => run_inplace::<math::Neon>(Kind::Softmax, x, len, inner),
        _ => run_inplace::<Portable>(Kind::Softmax, x, len, inner),
    }
    Ok(())
}

/// Log-softmax `x - max - ln(sum(exp(x - max)))` over `len`, on the fastest path this CPU
/// has. Errors as for [`softmax`].
pub fn log_softmax(
    x: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    log_softmax_with(Isa::detect(), x, out, outer, len, inner)
}

/// [`log_softmax`] on a chosen path; fails with [`Error::InvalidArgument`] when this CPU
/// cannot run `isa`.
pub fn log_softmax_with(
    isa: Isa,
    x: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    dispatch(
        "log_softmax",
        Kind::LogSoftmax,
        isa,
        x,
        out,
        (outer, len, inner),
    )
}

/// The reference softmax: per slice, the maximum, `e_i = exp(x_i - max)` and `e_i / sum`,
/// sequentially. Errors as for [`softmax`].
pub fn softmax_reference(
    x: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    check("softmax", x.len(), out.len(), outer, len, inner)?;
    if inner == 0 {
        return Ok(());
    }
    for (xb, ob) in x
        .chunks_exact(len * inner)
        .zip(out.chunks_exact_mut(len * inner))
    {
        for i in 0..inner {
            let col = || xb.iter().skip(i).step_by(inner);
            let m = col().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0f32;
            for (o, &v) in ob.iter_mut().skip(i).step_by(inner).zip(col()) {
                *o = math::exp(v - m);
                sum += *o;
            }
            for o in ob.iter_mut().skip(i).step_by(inner) {
                *o /= sum;
            }
        }
    }
    Ok(())
}

/// The reference log-softmax: per slice, `(x_i - max) - ln(sum(exp(x_j - max)))`,
/// sequentially. Errors as for [`softmax`].
pub fn log_softmax_reference(
    x: &[f32],
    out: &mut [f32],
    outer: usize,
    len: usize,
    inner: usize,
) -> Result<()> {
    check("log_softmax", x.len(), out.len(), outer, len, inner)?;
    if inner == 0 {
        return Ok(());
    }
    for (xb, ob) in x
        .chunks_exact(len * inner)
        .zip(out.chunks_exact_mut(len * inner))
    {
        for i in 0..inner {
            let col = || xb.iter().skip(i).step_by(inner);
            let m = col().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let sum = col().fold(0.0f32, |s, &v| s + math::exp(v - m));
            let lse = math::ln(sum);
            for (o, &v) in ob.iter_mut().skip(i).step_by(inner).zip(col()) {
                *o = (v - m) - lse;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both portable lane widths against the reference (relative 1e-5: the sums differ in
    /// order, the reference divides).
    #[test]
    fn portable_lane_widths_match_reference() {
        let x: [f32; 105] = core::array::from_fn(|i| ((i * 37) % 23) as f32 * 0.7 - 8.0);
        for (kind, dims) in [
            (Kind::Softmax, (3, 7, 5)),
            (Kind::Softmax, (5, 21, 1)),
            (Kind::LogSoftmax, (3, 7, 5)),
            (Kind::LogSoftmax, (1, 105, 1)),
        ] {
            let (outer, len, inner) = dims;
            let mut want = [0.0f32; 105];
            match kind {
                Kind::Softmax => softmax_reference(&x, &mut want, outer, len, inner),
                Kind::LogSoftmax => log_softmax_reference(&x, &mut want, outer, len, inner),
            }
            .unwrap();
            let mut one = [0.0f32; 105];
            let mut eight = [0.0f32; 105];
            run::<f32>(kind, &x, &mut one, len, inner);
            run::<math::F32x8>(kind, &x, &mut eight, len, inner);
            for i in 0..105 {
                for got in [one[i], eight[i]] {
                    assert!((got - want[i]).abs() <= 1e-5 * (1.0 + want[i].abs()));
                }
            }
        }
    }
}
