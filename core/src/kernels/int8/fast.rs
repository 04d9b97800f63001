//! The dispatching implementations behind the public entry points. Buffers and parameters
//! were validated by the caller; every access is still checked (`get`), never indexed.

use super::dot::Shared;
use super::reference::{add_output, add_scaled_input};
use super::{oob, AddParams, FcParams, Isa, PoolGeom, Requant};
use crate::kernels::conv::Geom;
use crate::Result;

const CONV: &str = "int8_conv2d";

#[inline]
fn bias_at(bias: Option<&[i32]>, c: usize) -> i32 {
    bias.and_then(|b| b.get(c).copied()).unwrap_or(0)
}

/// `scratch` holds at least [`super::dot::shared_words`]`(in_features)` words (checked by
/// the caller).
#[allow(clippy::too_many_arguments)]
pub(super) fn fully_connected(
    isa: Isa,
    p: &FcParams,
    rq: &Requant,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
    scratch: &mut [i32],
) -> Result<()> {
    let k = p.in_features;
    let ext: &mut [u32] = bytemuck::cast_slice_mut(scratch);
    for (xr, orow) in x.chunks_exact(k).zip(out.chunks_exact_mut(p.out_features)) {
        let xs = Shared::new(isa, xr, p.input_zero_point, ext);
        channels(&xs, w, k, bias, 0, multiplier, shift, rq, |c, v| {
            *orow.get_mut(c).ok_or(oob(CONV))? = v;
            Ok(())
        })?;
    }
    Ok(())
}

/// For each weight row `c` of `w` (rows of length `k`): the requantized
/// `bias[c0 + c] + Σ (x - zp) * w[c]` passed to `put(c, value)`, four rows per inner-product
/// call.
#[allow(clippy::too_many_arguments)]
#[inline]
fn channels(
    x: &Shared<'_>,
    w: &[i8],
    k: usize,
    bias: Option<&[i32]>,
    c0: usize,
    multiplier: &[i32],
    shift: &[i32],
    rq: &Requant,
    mut put: impl FnMut(usize, i8) -> Result<()>,
) -> Result<()> {
    let rows = w.len().checked_div(k).ok_or(oob(CONV))?;
    let (ms, ss) = (
        multiplier.get(..rows).ok_or(oob(CONV))?,
        shift.get(..rows).ok_or(oob(CONV))?,
    );
    let bs = match bias {
        Some(b) => Some(b.get(c0..c0 + rows).ok_or(oob(CONV))?),
        None => None,
    };
    // Four rows at a time, their multipliers, shifts and biases taken as arrays (one
    // bounds check per four outputs).
    let quads = w.chunks_exact(4 * k);
    let rest = quads.remainder();
    let mut c = 0;
    for ((q, m4), s4) in quads.zip(ms.chunks_exact(4)).zip(ss.chunks_exact(4)) {
        let b4: [i32; 4] = match bs {
            Some(b) => b
                .get(c..c + 4)
                .and_then(|b| b.try_into().ok())
                .ok_or(oob(CONV))?,
            None => [0; 4],
        };
        let (m4, s4): (&[i32; 4], &[i32; 4]) = (
            m4.try_into().map_err(|_| oob(CONV))?,
            s4.try_into().map_err(|_| oob(CONV))?,
        );
        let sums = x.dot4(q);
        let v: [i8; 4] =
            core::array::from_fn(|j| rq.apply(b4[j].wrapping_add(sums[j]), m4[j], s4[j]));
        for (j, v) in v.into_iter().enumerate() {
            put(c + j, v)?;
        }
        c += 4;
    }
    for r in rest.chunks_exact(k) {
        let acc = bias_at(bs, c).wrapping_add(x.dot(r));
        let (m, sh) = (
            ms.get(c).copied().ok_or(oob(CONV))?,
            ss.get(c).copied().ok_or(oob(CONV))?,
        );
        put(c, rq.apply(acc, m, sh))?;
        c += 1;
    }
    Ok(())
}

/// Kernel taps `lo..hi` (of `k`, spacing `d`) of the window starting at padded coordinate
/// `base` that land in padded coordinates `p0..p0 + n`.
#[inline]
fn tap_range(base: usize, d: usize, k: usize, p0: usize, n: usize) -> (usize, usize) {
    let end = p0 + n;
    if base >= end {
        return (0, 0);
    }
    let lo = if base >= p0 {
        0
    } else {
        (p0 - base).div_ceil(d)
    };
    let hi = (end - base).div_ceil(d).min(k);
    (lo.min(hi), hi)
}

/// Depthwise convolution (`c_in / groups == 1`): per output position, only the taps inside
/// the input, found by index ranges.
#[allow(clippy::too_many_arguments)]
pub(super) fn depthwise(
    g: &Geom,
    zp: i32,
    rq: &Requant,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
) -> Result<()> {
    let plane = g.h * g.w;
    let ksz = g.kh * g.kw;
    let ohw = g.oh * g.ow;
    for (no, oplane) in out.chunks_exact_mut(ohw).enumerate() {
        let (n, o) = (no / g.o, no % g.o);
        let ic = o / g.og;
        let xb = (n * g.c + ic) * plane;
        let xp = x.get(xb..xb + plane).ok_or(oob(CONV))?;
        let wk = w.get(o * ksz..(o + 1) * ksz).ok_or(oob(CONV))?;
        let (m, s) = (
            multiplier.get(o).copied().ok_or(oob(CONV))?,
            shift.get(o).copied().ok_or(oob(CONV))?,
        );
        let b = bias_at(bias, o);
        for (oy, orow) in oplane.chunks_exact_mut(g.ow).enumerate() {
            let by = oy * g.sh;
            let (ky0, ky1) = tap_range(by, g.dh, g.kh, g.pt, g.h);
            for (ox, ov) in orow.iter_mut().enumerate() {
                let bx = ox * g.sw;
                let (kx0, kx1) = tap_range(bx, g.dw, g.kw, g.pl, g.w);
                let mut acc = b;
                for ky in ky0..ky1 {
                    let iy = by + ky * g.dh - g.pt;
                    let xrow = xp.get(iy * g.w..(iy + 1) * g.w).ok_or(oob(CONV))?;
                    let wrow = wk.get(ky * g.kw..(ky + 1) * g.kw).ok_or(oob(CONV))?;
                    for kx in kx0..kx1 {
                        let ix = bx + kx * g.dw - g.pl;
                        let xv = i32::from(xrow.get(ix).copied().ok_or(oob(CONV))?);
                        let wv = i32::from(wrow.get(kx).copied().ok_or(oob(CONV))?);
                        acc = acc.wrapping_add((xv - zp) * wv);
                    }
                }
                *ov = rq.apply(acc, m, s);
            }
        }
    }
    Ok(())
}

/// Writes the receptive field of output position `(oy, ox)` over a group's input channels
/// `xg` into `patch` in OIHW weight order, padding taps set to the zero point.
fn fill_patch(g: &Geom, xg: &[i8], zp: i8, oy: usize, ox: usize, patch: &mut [i8]) -> Result<()> {
    let plane = g.h * g.w;
    let (by, bx) = (oy * g.sh, ox * g.sw);
    let (kx0, kx1) = tap_range(bx, g.dw, g.kw, g.pl, g.w);
    let (ky0, ky1) = tap_range(by, g.dh, g.kh, g.pt, g.h);
    for (xc, pc) in xg
        .chunks_exact(plane)
        .zip(patch.chunks_exact_mut(g.kh * g.kw))
    {
        for (ky, prow) in pc.chunks_exact_mut(g.kw).enumerate() {
            if ky < ky0 || ky >= ky1 {
                prow.fill(zp);
                continue;
            }
            let iy = by + ky * g.dh - g.pt;
            let xrow = xc.get(iy * g.w..(iy + 1) * g.w).ok_or(oob(CONV))?;
            let (lo, hi) = (kx0.min(g.kw), kx1.min(g.kw));
            if let Some(head) = prow.get_mut(..lo) {
                head.fill(zp);
            }
            if let Some(tail) = prow.get_mut(hi..) {
                tail.fill(zp);
            }
            if lo >= hi {
                continue;
            }
            if g.dw == 1 {
                let ix = bx + lo - g.pl;
                let src = xrow.get(ix..ix + (hi - lo)).ok_or(oob(CONV))?;
                prow.get_mut(lo..hi).ok_or(oob(CONV))?.copy_from_slice(src);
            } else {
                for kx in lo..hi {
                    let ix = bx + kx * g.dw - g.pl;
                    *prow.get_mut(kx).ok_or(oob(CONV))? = xrow.get(ix).copied().ok_or(oob(CONV))?;
                }
            }
        }
    }
    Ok(())
}

/// General (grouped) convolution: each output position's receptive field gathered into
/// `scratch` (as int8), then one inner product per output channel of the group.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_patches(
    isa: Isa,
    g: &Geom,
    zp: i32,
    rq: &Requant,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
    scratch: &mut [i32],
) -> Result<()> {
    let ksz = g.cg * g.kh * g.kw;
    let (patch, ext) = scratch
        .split_at_mut_checked(ksz.div_ceil(4))
        .ok_or(oob(CONV))?;
    let ext: &mut [u32] = bytemuck::cast_slice_mut(ext);
    let bytes: &mut [i8] = bytemuck::cast_slice_mut(patch);
    let patch = bytes.get_mut(..ksz).ok_or(oob(CONV))?;
    let plane = g.h * g.w;
    let ohw = g.oh * g.ow;
    // Validated to be in [-128, 127].
    let zp8 = zp.clamp(-128, 127) as i8;
    for n in 0..g.n {
        for grp in 0..g.groups {
            let xb = (n * g.c + grp * g.cg) * plane;
            let xg = x.get(xb..xb + g.cg * plane).ok_or(oob(CONV))?;
            let o0 = grp * g.og;
            let wg = w.get(o0 * ksz..(o0 + g.og) * ksz).ok_or(oob(CONV))?;
            let ob = (n * g.o + o0) * ohw;
            let og = out.get_mut(ob..ob + g.og * ohw).ok_or(oob(CONV))?;
            let ms = multiplier.get(o0..o0 + g.og).ok_or(oob(CONV))?;
            let ss = shift.get(o0..o0 + g.og).ok_or(oob(CONV))?;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    fill_patch(g, xg, zp8, oy, ox, patch)?;
                    let pos = oy * g.ow + ox;
                    let xs = Shared::new(isa, patch, zp, ext);
                    channels(&xs, wg, ksz, bias, o0, ms, ss, rq, |j, v| {
                        *og.get_mut(j * ohw + pos).ok_or(oob(CONV))? = v;
                        Ok(())
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// Whether every window of `g` lies inside the input with unit dilation and no padding.
fn windows_inside(g: &PoolGeom) -> bool {
    g.pads == [0; 4]
        && g.d == [1, 1]
        && g.oh
            .checked_sub(1)
            .is_some_and(|l| l * g.s[0] + g.k[0] <= g.h)
        && g.ow
            .checked_sub(1)
            .is_some_and(|l| l * g.s[1] + g.k[1] <= g.w)
}

/// Max pooling when every window lies inside the input ([`windows_inside`]): the running
/// maximum of the window's rows, with a branch-free loop for 2 x 2 windows of stride 2.
fn max_inside(g: &PoolGeom, x: &[i8], out: &mut [i8]) -> Result<()> {
    const OP: &str = "int8_max_pool2d";
    let plane = g.h * g.w;
    let planes_in = x.chunks_exact(plane).take(g.planes);
    for (xp, op_) in planes_in.zip(out.chunks_exact_mut(g.oh * g.ow)) {
        for (oy, orow) in op_.chunks_exact_mut(g.ow).enumerate() {
            let y0 = oy * g.s[0];
            let rows = xp.get(y0 * g.w..(y0 + g.k[0]) * g.w).ok_or(oob(OP))?;
            if g.k == [2, 2] && g.s == [2, 2] {
                // The maximum of the two rows, then of adjacent columns, 32 outputs at a
                // time (both loops vectorise).
                let (r0, r1) = rows.split_at(g.w);
                let mut v = [0i8; 64];
                for ((oc, c0), c1) in orow.chunks_mut(32).zip(r0.chunks(64)).zip(r1.chunks(64)) {
                    for ((d, &a), &b) in v.iter_mut().zip(c0).zip(c1) {
                        *d = a.max(b);
                    }
                    for (o, pr) in oc.iter_mut().zip(v.chunks_exact(2)) {
                        let (Some(&a), Some(&b)) = (pr.first(), pr.get(1)) else {
                            return Err(oob(OP));
                        };
                        *o = a.max(b);
                    }
                }
                continue;
            }
            for (ox, o) in orow.iter_mut().enumerate() {
                let x0 = ox * g.s[1];
                let mut m = i8::MIN;
                for r in rows.chunks_exact(g.w) {
                    let win = r.get(x0..x0 + g.k[1]).ok_or(oob(OP))?;
                    m = win.iter().fold(m, |a, &v| a.max(v));
                }
                *o = m;
            }
        }
    }
    Ok(())
}

/// Max (`MAX`) or average pooling with window bounds from index ranges.
pub(super) fn pool<const MAX: bool>(g: &PoolGeom, x: &[i8], out: &mut [i8]) -> Result<()> {
    if MAX && windows_inside(g) {
        return max_inside(g, x, out);
    }
    let op = if MAX {
        "int8_max_pool2d"
    } else {
        "int8_avg_pool2d"
    };
    let plane = g.h * g.w;
    let [pt, pl, pb, pr] = g.pads;
    let planes_in = x.chunks_exact(plane).take(g.planes);
    let planes_out = out.chunks_exact_mut(g.oh * g.ow);
    for (xp, op_) in planes_in.zip(planes_out) {
        for (oy, orow) in op_.chunks_exact_mut(g.ow).enumerate() {
            let by = oy * g.s[0];
            let (ky0, ky1) = tap_range(by, g.d[0], g.k[0], pt, g.h);
            let py = tap_range(by, g.d[0], g.k[0], 0, pt + g.h + pb);
            for (ox, ov) in orow.iter_mut().enumerate() {
                let bx = ox * g.s[1];
                let (kx0, kx1) = tap_range(bx, g.d[1], g.k[1], pl, g.w);
                let mut max = i32::from(i8::MIN);
                let mut sum = 0i64;
                for ky in ky0..ky1 {
                    let iy = by + ky * g.d[0] - pt;
                    let xrow = xp.get(iy * g.w..(iy + 1) * g.w).ok_or(oob(op))?;
                    for kx in kx0..kx1 {
                        let v = i32::from(xrow.get(bx + kx * g.d[1] - pl).copied().ok_or(oob(op))?);
                        if MAX {
                            max = max.max(v);
                        } else {
                            sum += i64::from(v);
                        }
                    }
                }
                let v = if MAX {
                    i64::from(max)
                } else {
                    let count = if g.include_pad {
                        let px = tap_range(bx, g.d[1], g.k[1], 0, pl + g.w + pr);
                        (py.1 - py.0) as i64 * (px.1 - px.0) as i64
                    } else {
                        (ky1 - ky0) as i64 * (kx1 - kx0) as i64
                    };
                    if count == 0 {
                        0
                    } else if sum >= 0 {
                        (sum + count / 2) / count
                    } else {
                        (sum - count / 2) / count
                    }
                };
                *ov = v.clamp(-128, 127) as i8;
            }
        }
    }
    Ok(())
}

/// TFLite's int8 add; a broadcast scalar `b` is rescaled once.
pub(super) fn add(p: &AddParams, a: &[i8], b: &[i8], out: &mut [i8]) {
    let sa = |v| {
        add_scaled_input(
            v,
            p.input1_offset,
            p.left_shift,
            p.input1_multiplier,
            p.input1_shift,
        )
    };
    let sb = |v| {
        add_scaled_input(
            v,
            p.input2_offset,
            p.left_shift,
            p.input2_multiplier,
            p.input2_shift,
        )
    };
    if let &[bv] = b {
        let bs = sb(bv);
        for (o, &av) in out.iter_mut().zip(a) {
            *o = add_output(p, sa(av), bs);
        }
    } else {
        for ((o, &av), &bv) in out.iter_mut().zip(a).zip(b) {
            *o = add_output(p, sa(av), sb(bv));
        }
    }
}
