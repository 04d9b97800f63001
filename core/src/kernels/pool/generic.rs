//! Portable fast paths. They evaluate every window with the same operations in the same
//! order as the reference (so the results are bit-identical), but organised for speed:
//! whole output rows at a time, tap by tap, with the border handled by index ranges instead
//! of per-element checks (contiguous, vectorisable loops for stride 1, pair loops for
//! stride 2), interior windows divided by one constant, and a dedicated loop for the common
//! 2x2 / stride-2 / no-padding case.

use super::reference::max_step;
use super::Geom;

/// Number of taps `i < k` whose position `start + i * d` lies in `[lo, hi)`.
#[inline]
pub(crate) fn taps_in(start: usize, k: usize, d: usize, lo: usize, hi: usize) -> usize {
    let first = if start >= lo {
        0
    } else {
        (lo - start).div_ceil(d)
    };
    let end = if start >= hi {
        0
    } else {
        (hi - start).div_ceil(d)
    };
    end.min(k).saturating_sub(first)
}

/// Folds one tap value into a running max (`MAXIMUM`) or sum.
#[inline(always)]
fn fold<const MAXIMUM: bool>(acc: f32, v: f32) -> f32 {
    if MAXIMUM {
        max_step(acc, v)
    } else {
        acc + v
    }
}

/// Pools one output row `oy` of one plane into `orow` (length `ow`), tap-major.
pub(crate) fn pool_row<const MAXIMUM: bool>(g: &Geom, xp: &[f32], oy: usize, orow: &mut [f32]) {
    orow.fill(if MAXIMUM { f32::NEG_INFINITY } else { -0.0 });
    for ky in 0..g.kh {
        let py = oy * g.sh + ky * g.dh;
        if py < g.pt || py >= g.pt + g.h {
            continue;
        }
        let irow = &xp[(py - g.pt) * g.w..][..g.w];
        for kx in 0..g.kw {
            // Output columns whose tap kx lands inside the input: pl <= ox*sw + off < pl + w.
            let off = kx * g.dw;
            let a = if off >= g.pl {
                0
            } else {
                (g.pl - off).div_ceil(g.sw)
            };
            let b = if off >= g.pl + g.w {
                0
            } else {
                (g.pl + g.w - off).div_ceil(g.sw).min(g.ow)
            };
            if a >= b {
                continue;
            }
            let dst = &mut orow[a..b];
            // Tap of output a + i is src[i * sw]; the last one, src[(b - a - 1) * sw], is the
            // last element that must exist.
            let src = &irow[a * g.sw + off - g.pl..];
            match g.sw {
                1 => {
                    for (o, &v) in dst.iter_mut().zip(src) {
                        *o = fold::<MAXIMUM>(*o, v);
                    }
                }
                2 => {
                    let pairs = src.chunks_exact(2);
                    let n = pairs.len().min(dst.len());
                    let (body, last) = dst.split_at_mut(n);
                    for (o, p) in body.iter_mut().zip(pairs) {
                        *o = fold::<MAXIMUM>(*o, p[0]);
                    }
                    if let (Some(o), Some(&v)) = (last.first_mut(), src.get(2 * n)) {
                        *o = fold::<MAXIMUM>(*o, v);
                    }
                }
                s => {
                    for (o, &v) in dst.iter_mut().zip(src.iter().step_by(s)) {
                        *o = fold::<MAXIMUM>(*o, v);
                    }
                }
            }
        }
    }
    if !MAXIMUM {
        divide_row(g, oy, orow);
    }
}

/// Divides a row of window sums by each window's tap count (see `reference::window_avg`).
fn divide_row(g: &Geom, oy: usize, orow: &mut [f32]) {
    let (lo_y, hi_y, lo_x, hi_x) = if g.include_pad {
        (0, g.pt + g.h + g.pb, 0, g.pl + g.w + g.pr)
    } else {
        (g.pt, g.pt + g.h, g.pl, g.pl + g.w)
    };
    let cy = taps_in(oy * g.sh, g.kh, g.dh, lo_y, hi_y);
    // Windows whose every column tap lies in [lo_x, hi_x) count kw columns:
    // ox * sw >= lo_x and ox * sw + (kw - 1) * dw < hi_x.
    let reach = (g.kw - 1) * g.dw;
    let first = lo_x.div_ceil(g.sw).min(g.ow);
    let end = if hi_x > reach {
        ((hi_x - reach - 1) / g.sw + 1).min(g.ow)
    } else {
        0
    };
    let end = end.max(first);
    let full = (cy * g.kw) as f32;
    for (ox, o) in orow.iter_mut().enumerate() {
        if ox < first || ox >= end {
            *o /= (cy * taps_in(ox * g.sw, g.kw, g.dw, lo_x, hi_x)) as f32;
        }
    }
    for o in &mut orow[first..end] {
        *o /= full;
    }
}

/// 2x2 max of pairs: `out[i] = max(r0[2i], r0[2i+1], r1[2i], r1[2i+1])` in reference order.
/// Callers guarantee `r0.len() >= 2 * out.len()` and `r1.len() >= 2 * out.len()`.
pub(crate) fn max2x2_row(r0: &[f32], r1: &[f32], out: &mut [f32]) {
    for ((o, a), b) in out
        .iter_mut()
        .zip(r0.chunks_exact(2))
        .zip(r1.chunks_exact(2))
    {
        *o = max_step(max_step(max_step(a[0], a[1]), b[0]), b[1]);
    }
}

/// 2x2 average of pairs, `(((r0[2i] + r0[2i+1]) + r1[2i]) + r1[2i+1]) / 4`.
/// Callers guarantee `r0.len() >= 2 * out.len()` and `r1.len() >= 2 * out.len()`.
pub(crate) fn avg2x2_row(r0: &[f32], r1: &[f32], out: &mut [f32]) {
    for ((o, a), b) in out
        .iter_mut()
        .zip(r0.chunks_exact(2))
        .zip(r1.chunks_exact(2))
    {
        *o = (((a[0] + a[1]) + b[0]) + b[1]) * 0.25;
    }
}
