//! Scalar reference twins: one window at a time, taps in row-major order. This is the
//! specification the fast paths reproduce bit for bit.

use super::Geom;

/// `v` if it is greater than `acc` or NaN, else `acc`: once NaN, stays NaN.
#[inline(always)]
pub(crate) fn max_step(acc: f32, v: f32) -> f32 {
    if v > acc || v.is_nan() {
        v
    } else {
        acc
    }
}

/// Max over the taps of window `(oy, ox)` of plane `xp` that fall inside the input; padding
/// and overhang taps act as `-inf` (so a window with no input tap gives `-inf`).
pub(crate) fn window_max(g: &Geom, xp: &[f32], oy: usize, ox: usize) -> f32 {
    let mut acc = f32::NEG_INFINITY;
    for ky in 0..g.kh {
        let py = oy * g.sh + ky * g.dh;
        if py < g.pt || py >= g.pt + g.h {
            continue;
        }
        for kx in 0..g.kw {
            let px = ox * g.sw + kx * g.dw;
            if px < g.pl || px >= g.pl + g.w {
                continue;
            }
            acc = max_step(acc, xp[(py - g.pt) * g.w + (px - g.pl)]);
        }
    }
    acc
}

/// Average of window `(oy, ox)`: the sum of its input taps (from `-0.0`, in row-major
/// order) divided by the number of taps inside the input, or, with `count_include_pad`,
/// inside the padded input (never counting the ceil-mode overhang beyond it).
pub(crate) fn window_avg(g: &Geom, xp: &[f32], oy: usize, ox: usize) -> f32 {
    let mut sum = -0.0f32;
    let mut inside = 0usize;
    let mut padded = 0usize;
    for ky in 0..g.kh {
        let py = oy * g.sh + ky * g.dh;
        for kx in 0..g.kw {
            let px = ox * g.sw + kx * g.dw;
            if py < g.pt + g.h + g.pb && px < g.pl + g.w + g.pr {
                padded += 1;
            }
            if py >= g.pt && py < g.pt + g.h && px >= g.pl && px < g.pl + g.w {
                inside += 1;
                sum += xp[(py - g.pt) * g.w + (px - g.pl)];
            }
        }
    }
    let count = if g.include_pad { padded } else { inside };
    sum / count as f32
}

/// Reference max or average pooling over every plane; buffers are checked by the caller.
pub(super) fn pool(maximum: bool, g: &Geom, x: &[f32], out: &mut [f32]) {
    let (plane_in, plane_out) = (g.h * g.w, g.oh * g.ow);
    for p in 0..g.planes {
        let xp = &x[p * plane_in..][..plane_in];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                out[p * plane_out + oy * g.ow + ox] = if maximum {
                    window_max(g, xp, oy, ox)
                } else {
                    window_avg(g, xp, oy, ox)
                };
            }
        }
    }
}

/// Reference global average pooling: a left-to-right sum per plane (from `-0.0`) divided by
/// `h * w`.
pub(super) fn global_avg(planes: usize, hw: usize, x: &[f32], out: &mut [f32]) {
    for p in 0..planes {
        let mut sum = -0.0f32;
        for &v in &x[p * hw..][..hw] {
            sum += v;
        }
        out[p] = sum / hw as f32;
    }
}
