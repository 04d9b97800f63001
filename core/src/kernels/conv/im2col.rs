//! im2col: the `K x OH*OW` matrix whose row `p = (ic, ky, kx)` holds, for every output
//! position, the input value that tap `(ky, kx)` of channel `ic` sees (0 in the padding).
//!
//! [`Im2colB`] writes pieces of that matrix straight into the GEMM's packed-B panels (no full
//! matrix is ever stored); [`im2col`] writes the whole matrix for the plain baseline.

use super::direct::valid_cols;
use super::{oob, Geom};
use crate::kernels::gemm::PackB;
use crate::Result;

/// Writes columns `ox0..ox0 + d.len()` of output row `oy` of im2col row `(ky, kx)` of one
/// channel `plane` into `d`.
#[inline]
fn fill_segment(
    d: &mut [f32],
    plane: &[f32],
    g: &Geom,
    ky: usize,
    kx: usize,
    oy: usize,
    ox0: usize,
) -> Result<()> {
    let iy = oy * g.sh + ky * g.dh;
    if iy < g.pt || iy - g.pt >= g.h {
        d.fill(0.0);
        return Ok(());
    }
    let row = plane
        .get((iy - g.pt) * g.w..(iy - g.pt + 1) * g.w)
        .ok_or(oob())?;
    let off = kx * g.dw;
    let (lo, hi) = valid_cols(g, off);
    let cols = d.len();
    let lo = lo.max(ox0).min(ox0 + cols) - ox0;
    let hi = hi.max(ox0).min(ox0 + cols) - ox0;
    if lo >= hi {
        d.fill(0.0);
        return Ok(());
    }
    let (head, rest) = d.split_at_mut(lo);
    let (mid, tail) = rest.split_at_mut(hi - lo);
    head.fill(0.0);
    tail.fill(0.0);
    let start = (ox0 + lo) * g.sw + off - g.pl;
    if g.sw == 1 {
        mid.copy_from_slice(row.get(start..start + (hi - lo)).ok_or(oob())?);
    } else {
        let src = row.get(start..).ok_or(oob())?;
        for (dv, &s) in mid.iter_mut().zip(src.iter().step_by(g.sw)) {
            *dv = s;
        }
    }
    Ok(())
}

/// Writes im2col columns `j0..j0 + d.len()` (flattened output positions) of row
/// `(ky, kx)` of channel `plane` into `d`, crossing output rows as needed.
#[inline]
fn fill_span(
    d: &mut [f32],
    plane: &[f32],
    g: &Geom,
    ky: usize,
    kx: usize,
    oy0: usize,
    ox0: usize,
) -> Result<()> {
    if ox0 + d.len() <= g.ow {
        return fill_segment(d, plane, g, ky, kx, oy0, ox0);
    }
    let (mut oy, mut ox, mut done) = (oy0, ox0, 0);
    while done < d.len() {
        let seg = (d.len() - done).min(g.ow - ox);
        let part = d.get_mut(done..done + seg).ok_or(oob())?;
        fill_segment(part, plane, g, ky, kx, oy, ox)?;
        done += seg;
        oy += 1;
        ox = 0;
    }
    Ok(())
}

/// The im2col matrix of one (image, group), produced panel by panel for the GEMM.
pub(super) struct Im2colB<'a> {
    /// The group's `cg` input channels of one image, `cg * h * w` elements.
    pub x: &'a [f32],
    pub g: &'a Geom,
}

impl PackB for Im2colB<'_> {
    fn pack(
        &self,
        pc: usize,
        kc: usize,
        jc: usize,
        nc: usize,
        nr: usize,
        dst: &mut [f32],
    ) -> Result<()> {
        let g = self.g;
        let (hw, khw) = (g.h * g.w, g.kh * g.kw);
        let panels = nc.div_ceil(nr);
        if dst.len() < panels * nr * kc {
            return Err(oob());
        }
        for (q, panel) in dst.chunks_exact_mut(nr * kc).take(panels).enumerate() {
            let j0 = jc + q * nr;
            let cols = nr.min(jc + nc - j0);
            let (oy0, ox0) = (j0 / g.ow, j0 % g.ow);
            let (mut ic, mut ky, mut kx) = (pc / khw, (pc % khw) / g.kw, pc % g.kw);
            for d in panel.chunks_exact_mut(nr) {
                let plane = self.x.get(ic * hw..(ic + 1) * hw).ok_or(oob())?;
                let (dv, rest) = d.split_at_mut(cols);
                rest.fill(0.0);
                fill_span(dv, plane, g, ky, kx, oy0, ox0)?;
                kx += 1;
                if kx == g.kw {
                    kx = 0;
                    ky += 1;
                    if ky == g.kh {
                        ky = 0;
                        ic += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Writes the full `cg * kh * kw` x `oh * ow` im2col matrix of one (image, group) into `col`.
pub(super) fn im2col(x: &[f32], g: &Geom, col: &mut [f32]) -> Result<()> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let rows = g.cg * g.kh * g.kw;
    if col.len() < rows * ohw {
        return Err(oob());
    }
    let mut rows_it = col.chunks_exact_mut(ohw);
    for plane in x.chunks_exact(hw).take(g.cg) {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let r = rows_it.next().ok_or(oob())?;
                for (oy, seg) in r.chunks_exact_mut(g.ow).enumerate() {
                    fill_segment(seg, plane, g, ky, kx, oy, 0)?;
                }
            }
        }
    }
    Ok(())
}
