//! Gradients of 2-D pooling over NCHW (semantics of [`crate::kernels::pool`]: four-sided
//! padding, dilation, ceil mode, `count_include_pad`).
//!
//! - Max pooling sends each output's gradient to the input element the forward pass picked:
//!   the window's taps inside the input are scanned in row-major order and the pick moves to
//!   a tap when it is greater than the current maximum or NaN (the forward kernel's rule, so
//!   the first of equal maxima wins). A window whose input taps are all `-inf` sends its
//!   gradient to its first input tap (as PyTorch does); a window with no input tap sends
//!   nothing.
//! - Average pooling adds `grad_out / count` to each input tap of the window, with the
//!   forward kernel's divisor.
//! - Global average pooling spreads `grad_out / (h * w)` over the plane.
//!
//! `grad_input` is overwritten; overlapping windows add in output order (row-major), so
//! results are deterministic. The fast paths compute each window's valid tap range once
//! instead of testing every tap, and give the same bits as the `*_reference` twins.

use super::{check_eq, product};
use crate::kernels::pool::Pool2d;
use crate::Result;

/// Validated sizes of one pooling problem.
#[derive(Clone, Copy, Debug)]
struct Geom {
    planes: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    k: [usize; 2],
    s: [usize; 2],
    d: [usize; 2],
    /// `[top, left, bottom, right]`.
    pad: [usize; 4],
    include_pad: bool,
}

fn prepare(
    op: &'static str,
    p: &Pool2d,
    shape: [usize; 4],
    x_len: Option<usize>,
    grad_out: usize,
    grad_input: usize,
) -> Result<Geom> {
    let [n, c, h, w] = shape;
    let [oh, ow] = p.output_hw(h, w)?;
    let planes = product(op, &[n, c])?;
    let len_in = product(op, &[planes, h, w])?;
    if let Some(x) = x_len {
        check_eq(op, "input length", len_in, x)?;
    }
    check_eq(
        op,
        "grad_out length",
        product(op, &[planes, oh, ow])?,
        grad_out,
    )?;
    check_eq(op, "grad_input length", len_in, grad_input)?;
    Ok(Geom {
        planes,
        h,
        w,
        oh,
        ow,
        k: p.kernel,
        s: p.stride,
        d: p.dilation,
        pad: p.padding,
        include_pad: p.count_include_pad,
    })
}

/// Taps `lo..hi` of a window starting at padded position `start` along one axis whose input
/// positions `start + t * d - pad` lie inside `0..n`.
#[inline]
fn tap_range(start: usize, k: usize, d: usize, pad: usize, n: usize) -> (usize, usize) {
    let lo = if start >= pad {
        0
    } else {
        (pad - start).div_ceil(d)
    };
    let end = n + pad;
    let hi = if end > start {
        (end - start).div_ceil(d).min(k)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// Index within the plane of the tap max pooling picks in window `(oy, ox)`, if it has one.
#[inline]
fn pick(g: &Geom, xp: &[f32], oy: usize, ox: usize) -> Option<usize> {
    let (sy, sx) = (oy * g.s[0], ox * g.s[1]);
    let (ylo, yhi) = tap_range(sy, g.k[0], g.d[0], g.pad[0], g.h);
    let (xlo, xhi) = tap_range(sx, g.k[1], g.d[1], g.pad[1], g.w);
    if ylo >= yhi || xlo >= xhi {
        return None;
    }
    let mut best = None;
    let mut acc = f32::NEG_INFINITY;
    for ty in ylo..yhi {
        let row = (sy + ty * g.d[0] - g.pad[0]) * g.w;
        for tx in xlo..xhi {
            let i = row + sx + tx * g.d[1] - g.pad[1];
            let v = *xp.get(i)?;
            if best.is_none() {
                best = Some(i);
            }
            if v > acc || v.is_nan() {
                acc = v;
                best = Some(i);
            }
        }
    }
    best
}

/// Gradient of [`max_pool2d`](crate::kernels::pool::max_pool2d): `grad_input` (`shape =
/// [N, C, H, W]`, overwritten) from the forward input `x` and `grad_out` (`[N, C, OH, OW]`).
///
/// Errors: those of [`Pool2d::output_hw`]; [`crate::Error::DimMismatch`] when `x`,
/// `grad_out` or `grad_input` does not have exactly its shape's length;
/// [`crate::Error::Overflow`].
pub fn max_pool2d_backward(
    p: &Pool2d,
    x: &[f32],
    shape: [usize; 4],
    grad_out: &[f32],
    grad_input: &mut [f32],
) -> Result<()> {
    let op = "max_pool2d_backward";
    let g = prepare(
        op,
        p,
        shape,
        Some(x.len()),
        grad_out.len(),
        grad_input.len(),
    )?;
    let whole_windows = 2 * g.oh <= g.h && 2 * g.ow <= g.w;
    if g.k == [2, 2] && g.s == [2, 2] && g.d == [1, 1] && g.pad == [0; 4] && whole_windows {
        max_pool2x2_backward(&g, x, grad_out, grad_input);
        return Ok(());
    }
    grad_input.fill(0.0);
    let (pin, pout) = (g.h * g.w, g.oh * g.ow);
    for ((xp, gp), gi) in x
        .chunks_exact(pin)
        .zip(grad_out.chunks_exact(pout))
        .zip(grad_input.chunks_exact_mut(pin))
    {
        for (oy, grow) in gp.chunks_exact(g.ow).enumerate() {
            for (ox, &gv) in grow.iter().enumerate() {
                if let Some(d) = pick(&g, xp, oy, ox).and_then(|i| gi.get_mut(i)) {
                    *d += gv;
                }
            }
        }
    }
    Ok(())
}

/// [`max_pool2d_backward`] for 2x2 windows with stride 2 and no padding or dilation (the
/// usual CNN pooling): each input element belongs to at most one window, so every element
/// is written once instead of zeroed and accumulated. Lengths were checked by `prepare`; the
/// caller checked `2 * oh <= h` and `2 * ow <= w` (no partial ceil-mode windows).
fn max_pool2x2_backward(g: &Geom, x: &[f32], grad_out: &[f32], grad_input: &mut [f32]) {
    let (h, w, ow) = (g.h, g.w, g.ow);
    if h % 2 != 0 || w % 2 != 0 {
        grad_input.fill(0.0);
    }
    for ((xp, gp), gi) in x
        .chunks_exact(h * w)
        .zip(grad_out.chunks_exact(g.oh * ow))
        .zip(grad_input.chunks_exact_mut(h * w))
    {
        for ((grow, xrows), grows) in gp
            .chunks_exact(ow)
            .zip(xp.chunks_exact(2 * w))
            .zip(gi.chunks_exact_mut(2 * w))
        {
            let (x0, x1) = xrows.split_at(w);
            let (g0, g1) = grows.split_at_mut(w);
            for (((&gv, (a, b)), ga), gb) in grow
                .iter()
                .zip(x0.chunks_exact(2).zip(x1.chunks_exact(2)))
                .zip(g0.chunks_exact_mut(2))
                .zip(g1.chunks_exact_mut(2))
            {
                // The forward's rule: the first maximum in window order, a later NaN wins;
                // written as selects so the loop has no data-dependent branches.
                let (b_wins, m) = later_wins(a[0], a[1]);
                let (c_wins, m) = later_wins(m, b[0]);
                let (d_wins, _) = later_wins(m, b[1]);
                let pick = |win: bool| if win { gv } else { 0.0 };
                ga[0] = pick(!b_wins && !c_wins && !d_wins);
                ga[1] = pick(b_wins && !c_wins && !d_wins);
                gb[0] = pick(c_wins && !d_wins);
                gb[1] = pick(d_wins);
            }
        }
    }
}

/// Whether `next` replaces the running maximum `acc` under the forward's rule (greater, or
/// NaN), and the new running maximum.
#[inline(always)]
fn later_wins(acc: f32, next: f32) -> (bool, f32) {
    let wins = next > acc || next.is_nan();
    (wins, if wins { next } else { acc })
}

/// Reference twin of [`max_pool2d_backward`]: every tap of every window tested against the
/// input bounds, as in the forward reference. Same contract.
pub fn max_pool2d_backward_reference(
    p: &Pool2d,
    x: &[f32],
    shape: [usize; 4],
    grad_out: &[f32],
    grad_input: &mut [f32],
) -> Result<()> {
    let op = "max_pool2d_backward";
    let g = prepare(
        op,
        p,
        shape,
        Some(x.len()),
        grad_out.len(),
        grad_input.len(),
    )?;
    grad_input.fill(0.0);
    let [pt, pl, _, _] = g.pad;
    for plane in 0..g.planes {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let mut acc = f32::NEG_INFINITY;
                let mut best = None;
                for ky in 0..g.k[0] {
                    let py = oy * g.s[0] + ky * g.d[0];
                    if py < pt || py >= pt + g.h {
                        continue;
                    }
                    for kx in 0..g.k[1] {
                        let px = ox * g.s[1] + kx * g.d[1];
                        if px < pl || px >= pl + g.w {
                            continue;
                        }
                        let i = (plane * g.h + py - pt) * g.w + (px - pl);
                        let v = x.get(i).copied().unwrap_or(f32::NAN);
                        if best.is_none() || v > acc || v.is_nan() {
                            best = Some(i);
                        }
                        if v > acc || v.is_nan() {
                            acc = v;
                        }
                    }
                }
                let go = grad_out
                    .get((plane * g.oh + oy) * g.ow + ox)
                    .copied()
                    .unwrap_or(0.0);
                if let Some(d) = best.and_then(|i| grad_input.get_mut(i)) {
                    *d += go;
                }
            }
        }
    }
    Ok(())
}

/// The forward kernel's divisor of window `(oy, ox)`: taps inside the input, or with
/// `count_include_pad` inside the padded input.
#[inline]
fn divisor(g: &Geom, oy: usize, ox: usize) -> usize {
    let count = |start: usize, axis: usize, n: usize, pad0: usize, pad1: usize| {
        let (lo, hi) = if g.include_pad {
            tap_range(start + pad0, g.k[axis], g.d[axis], pad0, n + pad0 + pad1)
        } else {
            tap_range(start, g.k[axis], g.d[axis], pad0, n)
        };
        hi - lo
    };
    let [pt, pl, pb, pr] = g.pad;
    count(oy * g.s[0], 0, g.h, pt, pb) * count(ox * g.s[1], 1, g.w, pl, pr)
}

/// Gradient of [`avg_pool2d`](crate::kernels::pool::avg_pool2d): `grad_input` (`shape =
/// [N, C, H, W]`, overwritten) from `grad_out` (`[N, C, OH, OW]`); each input tap of a
/// window gets `grad_out / count` with the forward kernel's count.
///
/// Errors: those of [`Pool2d::output_hw`]; [`crate::Error::DimMismatch`] when `grad_out`
/// or `grad_input` does not have exactly its shape's length; [`crate::Error::Overflow`].
pub fn avg_pool2d_backward(
    p: &Pool2d,
    grad_out: &[f32],
    shape: [usize; 4],
    grad_input: &mut [f32],
) -> Result<()> {
    let op = "avg_pool2d_backward";
    let g = prepare(op, p, shape, None, grad_out.len(), grad_input.len())?;
    grad_input.fill(0.0);
    let (pin, pout) = (g.h * g.w, g.oh * g.ow);
    for (gp, gi) in grad_out
        .chunks_exact(pout)
        .zip(grad_input.chunks_exact_mut(pin))
    {
        for (oy, grow) in gp.chunks_exact(g.ow).enumerate() {
            let sy = oy * g.s[0];
            let (ylo, yhi) = tap_range(sy, g.k[0], g.d[0], g.pad[0], g.h);
            for (ox, &gv) in grow.iter().enumerate() {
                let sx = ox * g.s[1];
                let (xlo, xhi) = tap_range(sx, g.k[1], g.d[1], g.pad[1], g.w);
                let v = gv / divisor(&g, oy, ox) as f32;
                for ty in ylo..yhi {
                    let row = (sy + ty * g.d[0] - g.pad[0]) * g.w;
                    for tx in xlo..xhi {
                        if let Some(d) = gi.get_mut(row + sx + tx * g.d[1] - g.pad[1]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reference twin of [`avg_pool2d_backward`]: every tap of every window tested and counted
/// as in the forward reference. Same contract.
pub fn avg_pool2d_backward_reference(
    p: &Pool2d,
    grad_out: &[f32],
    shape: [usize; 4],
    grad_input: &mut [f32],
) -> Result<()> {
    let op = "avg_pool2d_backward";
    let g = prepare(op, p, shape, None, grad_out.len(), grad_input.len())?;
    grad_input.fill(0.0);
    let [pt, pl, pb, pr] = g.pad;
    for plane in 0..g.planes {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let (mut inside, mut padded) = (0usize, 0usize);
                for ky in 0..g.k[0] {
                    let py = oy * g.s[0] + ky * g.d[0];
                    for kx in 0..g.k[1] {
                        let px = ox * g.s[1] + kx * g.d[1];
                        if py < pt + g.h + pb && px < pl + g.w + pr {
                            padded += 1;
                        }
                        if py >= pt && py < pt + g.h && px >= pl && px < pl + g.w {
                            inside += 1;
                        }
                    }
                }
                let count = if g.include_pad { padded } else { inside };
                let go = grad_out
                    .get((plane * g.oh + oy) * g.ow + ox)
                    .copied()
                    .unwrap_or(0.0);
                let v = go / count as f32;
                for ky in 0..g.k[0] {
                    let py = oy * g.s[0] + ky * g.d[0];
                    for kx in 0..g.k[1] {
                        let px = ox * g.s[1] + kx * g.d[1];
                        if py >= pt && py < pt + g.h && px >= pl && px < pl + g.w {
                            let i = (plane * g.h + py - pt) * g.w + (px - pl);
                            if let Some(d) = grad_input.get_mut(i) {
                                *d += v;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn prepare_global(shape: [usize; 4], grad_out: usize, grad_input: usize) -> Result<usize> {
    let op = "global_avg_pool2d_backward";
    let [n, c, h, w] = shape;
    if h == 0 || w == 0 {
        return Err(crate::Error::ZeroDim {
            op,
            what: if h == 0 {
                "input height"
            } else {
                "input width"
            },
        });
    }
    check_eq(op, "grad_out length", product(op, &[n, c])?, grad_out)?;
    check_eq(op, "grad_input length", product(op, &shape)?, grad_input)?;
    Ok(h * w)
}

/// Gradient of [`global_avg_pool2d`](crate::kernels::pool::global_avg_pool2d): plane
/// `(n, c)` of `grad_input` (`shape = [N, C, H, W]`, overwritten) is filled with
/// `grad_out[n * C + c] / (H * W)`.
///
/// Errors: [`crate::Error::ZeroDim`] if `H` or `W` is zero; [`crate::Error::DimMismatch`]
/// when `grad_out` does not hold `N * C` elements or `grad_input` not `N * C * H * W`;
/// [`crate::Error::Overflow`].
pub fn global_avg_pool2d_backward(
    grad_out: &[f32],
    shape: [usize; 4],
    grad_input: &mut [f32],
) -> Result<()> {
    let hw = prepare_global(shape, grad_out.len(), grad_input.len())?;
    let scale = hw as f32;
    for (plane, &g) in grad_input.chunks_exact_mut(hw).zip(grad_out) {
        plane.fill(g / scale);
    }
    Ok(())
}

/// Reference twin of [`global_avg_pool2d_backward`], element by element. Same contract.
pub fn global_avg_pool2d_backward_reference(
    grad_out: &[f32],
    shape: [usize; 4],
    grad_input: &mut [f32],
) -> Result<()> {
    let hw = prepare_global(shape, grad_out.len(), grad_input.len())?;
    for (i, v) in grad_input.iter_mut().enumerate() {
        *v = grad_out.get(i / hw).copied().unwrap_or(0.0) / hw as f32;
    }
    Ok(())
}
