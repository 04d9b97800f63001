//! Direct NCHW convolution without scratch: depthwise convolutions everywhere, and every
//! convolution on bare-metal targets.
//!
//! For each output row it accumulates `w * input_row` over (ic, ky, kx) into the row, a
//! unit-stride multiply-add over the columns whose taps are inside the image (vectorised by
//! LLVM for stride 1). The per-element order of operations is exactly that of
//! [`super::conv2d_reference`], so both give the same bits.

use super::{oob, Geom};
use crate::Result;

/// Columns `ox` of an output row whose tap `ix = ox * sw + off - pl` is inside `0..w`.
pub(super) fn valid_cols(g: &Geom, off: usize) -> (usize, usize) {
    // ox * sw + off >= pl  and  ox * sw + off < w + pl
    let lo = g.pl.saturating_sub(off);
    let hi = (g.w + g.pl).saturating_sub(off);
    if g.sw == 1 {
        (lo.min(g.ow), hi.min(g.ow))
    } else {
        (lo.div_ceil(g.sw).min(g.ow), hi.div_ceil(g.sw).min(g.ow))
    }
}

/// `dst[i] += wv * src[i * step]` for each `i`.
#[inline(always)]
fn axpy(dst: &mut [f32], wv: f32, src: &[f32], step: usize) {
    if step == 1 {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += wv * s;
        }
    } else {
        for (d, &s) in dst.iter_mut().zip(src.iter().step_by(step)) {
            *d += wv * s;
        }
    }
}

/// The whole convolution; buffers were validated by the caller.
pub(super) fn conv(
    g: &Geom,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<()> {
    let plane = g.h * g.w;
    let ohw = g.oh * g.ow;
    let ksz = g.kh * g.kw;
    for (no, oplane) in out.chunks_exact_mut(ohw).take(g.n * g.o).enumerate() {
        let (n, o) = (no / g.o, no % g.o);
        let grp = o / g.og;
        let xbase = (n * g.c + grp * g.cg) * plane;
        let x = input.get(xbase..xbase + g.cg * plane).ok_or(oob())?;
        let w = weight
            .get(o * g.cg * ksz..(o + 1) * g.cg * ksz)
            .ok_or(oob())?;
        let b = match bias {
            Some(b) => Some(b.get(o).copied().ok_or(oob())?),
            None => None,
        };
        for (oy, orow) in oplane.chunks_exact_mut(g.ow).enumerate() {
            orow.fill(0.0);
            for (xc, wc) in x.chunks_exact(plane).zip(w.chunks_exact(ksz)) {
                for (ky, wr) in wc.chunks_exact(g.kw).enumerate() {
                    let iy = oy * g.sh + ky * g.dh;
                    if iy < g.pt || iy - g.pt >= g.h {
                        continue;
                    }
                    let xrow = xc
                        .get((iy - g.pt) * g.w..(iy - g.pt + 1) * g.w)
                        .ok_or(oob())?;
                    for (kx, &wv) in wr.iter().enumerate() {
                        let off = kx * g.dw;
                        let (lo, hi) = valid_cols(g, off);
                        if lo >= hi {
                            continue;
                        }
                        let start = lo * g.sw + off - g.pl;
                        let src = xrow.get(start..).ok_or(oob())?;
                        let dst = orow.get_mut(lo..hi).ok_or(oob())?;
                        axpy(dst, wv, src, g.sw);
                    }
                }
            }
            if let Some(bv) = b {
                for v in orow.iter_mut() {
                    *v += bv;
                }
            }
        }
    }
    Ok(())
}
