//! im2col: the `K x OH*OW` matrix whose row `p = (ic, ky, kx)` holds, for every output
//! position, the input value that tap `(ky, kx)` of channel `ic` sees (0 in the padding).
//!
//! [`Im2colB`] writes pieces of that matrix straight into the GEMM's packed-B panels (no full
//! matrix is ever stored) from an input zero-padded once by [`pad_input`]; [`im2col`] writes
//! the whole matrix for the plain baseline.

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

/// The im2col matrix of one (image, group), produced panel by panel for the GEMM.
///
/// The input must already be zero-padded (`g.pt == g.pl == 0` and every tap inside
/// `g.h x g.w`), so each panel row is a plain copy (stride 1) or gather (stride > 1).
pub(super) struct Im2colB<'a> {
    /// The group's `cg` padded input channels of one image, `cg * h * w` elements.
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
        let panels = nc.div_ceil(nr);
        if dst.len() < panels * nr * kc || self.g.pt != 0 || self.g.pl != 0 {
            return Err(oob());
        }
        for (q, panel) in dst.chunks_exact_mut(nr * kc).take(panels).enumerate() {
            let j0 = jc + q * nr;
            let cols = nr.min(jc + nc - j0);
            match nr {
                16 => self.panel::<16>(panel, pc, j0, cols),
                8 => self.panel::<8>(panel, pc, j0, cols),
                4 => self.panel::<4>(panel, pc, j0, cols),
                _ => None,
            }
            .ok_or(oob())?;
        }
        Ok(())
    }
}

impl Im2colB<'_> {
    /// Fills one NR-wide panel: im2col rows `pc..` (as many as the panel holds), columns
    /// `j0..j0 + cols` (flattened output positions), zeros past `cols`. `None` if an index
    /// falls outside the input (which validation rules out).
    #[inline]
    fn panel<const NR: usize>(
        &self,
        panel: &mut [f32],
        pc: usize,
        j0: usize,
        cols: usize,
    ) -> Option<()> {
        let g = self.g;
        let (hw, khw) = (g.h * g.w, g.kh * g.kw);
        let (mut ic, mut ky, mut kx) = (pc / khw, (pc % khw) / g.kw, pc % g.kw);
        let (oy0, ox0) = (j0 / g.ow, j0 % g.ow);
        let same_row = ox0 + cols <= g.ow;
        // Offset of output position (oy0, ox0)'s tap (0, 0).
        let pos0 = oy0 * g.sh * g.w + ox0 * g.sw;
        for d in panel.chunks_exact_mut(NR) {
            let d: &mut [f32; NR] = d.try_into().ok()?;
            let tap = ic * hw + ky * g.dh * g.w + kx * g.dw;
            if same_row {
                let base = tap + pos0;
                if g.sw == 1 && cols == NR {
                    let src: &[f32; NR] = self.x.get(base..base + NR)?.try_into().ok()?;
                    *d = *src;
                } else {
                    let src = self.x.get(base..)?;
                    for (j, dv) in d.iter_mut().enumerate() {
                        *dv = if j < cols { *src.get(j * g.sw)? } else { 0.0 };
                    }
                }
            } else {
                let (mut oy, mut ox) = (oy0, ox0);
                for (j, dv) in d.iter_mut().enumerate() {
                    *dv = if j < cols {
                        *self.x.get(tap + oy * g.sh * g.w + ox * g.sw)?
                    } else {
                        0.0
                    };
                    ox += 1;
                    if ox == g.ow {
                        ox = 0;
                        oy += 1;
                    }
                }
            }
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
        Some(())
    }
}

/// Copies the `cg` channels of `x` (each `g.h x g.w`) into `dst` zero-padded to
/// `(h + pt + pb) x (w + pl + pr)`, and returns the geometry of the padded problem.
pub(super) fn pad_input(x: &[f32], g: &Geom, pads: [usize; 4], dst: &mut [f32]) -> Result<Geom> {
    let [pt, pl, pb, pr] = pads;
    let (hp, wp) = (g.h + pt + pb, g.w + pl + pr);
    let need = g.cg * hp * wp;
    let dst = dst.get_mut(..need).ok_or(oob())?;
    dst.fill(0.0);
    for (src, plane) in x.chunks_exact(g.h * g.w).zip(dst.chunks_exact_mut(hp * wp)) {
        for (srow, drow) in src
            .chunks_exact(g.w)
            .zip(plane.chunks_exact_mut(wp).skip(pt))
        {
            drow.get_mut(pl..pl + g.w)
                .ok_or(oob())?
                .copy_from_slice(srow);
        }
    }
    Ok(Geom {
        h: hp,
        w: wp,
        pt: 0,
        pl: 0,
        pads: [0; 4],
        ..*g
    })
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
