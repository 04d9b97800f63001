//! Stride-1 convolution as an implicit GEMM over the zero-padded input, on AVX2 + FMA.
//!
//! With stride 1, output position `(oy, ox)` and tap `(c, ky, kx)` read element
//! `c * hp * wp + (oy + ky * dh) * wp + ox + kx * dw` of the group's input zero-padded to
//! `hp x wp`, i.e. `j + off(c, ky, kx)` with `j = oy * wp + ox`. Over positions `j` of the
//! padded width, every im2col row is a contiguous slice of the padded input, so the
//! micro-kernel loads B straight from it: nothing is packed. A tile is up to 6 output
//! channels by 16 (or 8) consecutive columns of one output row; the lanes of a row's last
//! tile past `ow` are computed and dropped. The padded input is followed by zeros so the
//! last tile's loads stay inside scratch.
//!
//! Each output is a sum over `(c, ky, kx)` in that order, by fused multiply-add from zero,
//! then `+ bias`: the same order for every output whatever the tiling, so the result is
//! deterministic.

use super::{oob, Geom};
use crate::{Error, Result};
use core::arch::x86_64::*;

/// Output positions per tile (two AVX vectors).
const NR: usize = 16;
/// Most output channels per tile.
const MR: usize = 6;
/// Padded inputs larger than this (in f32) are left to the packed GEMM, whose blocking
/// suits inputs that do not fit the L2 cache.
const MAX_PADDED: usize = 1 << 16;

/// Padded height and width.
fn padded_hw(g: &Geom) -> (usize, usize) {
    let [pt, pl, pb, pr] = g.pads;
    // Both sums were checked in `out_dim`.
    (g.h + pt + pb, g.w + pl + pr)
}

/// Whether the strategy suits `g` (the caller checks the instruction set): stride 1, not
/// depthwise, a padded group input that fits the cache, and at least half of each padded
/// row being output.
pub(super) fn applies(g: &Geom) -> bool {
    let (hp, wp) = padded_hw(g);
    g.sh == 1
        && g.sw == 1
        && !(g.cg == 1 && g.groups > 1)
        && 2 * g.ow >= wp
        && g.cg
            .checked_mul(hp)
            .and_then(|v| v.checked_mul(wp))
            .is_some_and(|v| v <= MAX_PADDED)
}

/// Scratch: one group's padded input plus the zeros the last tile reads past it.
pub(super) fn scratch_len(g: &Geom) -> Result<usize> {
    let (hp, wp) = padded_hw(g);
    let of = Error::Overflow { op: super::OP };
    let plane = hp.checked_mul(wp).ok_or(of)?;
    let body = g.cg.checked_mul(plane).ok_or(of)?;
    // Largest tap offset; below `body` since every dilated tap fits the padded input.
    let max_off = (g.cg - 1) * plane + (g.kh - 1) * g.dh * wp + (g.kw - 1) * g.dw;
    // The last tile of the last output row starts at column `lx` and reads 8 or 16 lanes.
    let lx = (g.ow - 1) / NR * NR;
    let lanes = if g.ow - lx > 8 { NR } else { 8 };
    let reach = (g.oh - 1) * wp + lx + max_off + lanes;
    Ok(body.max(reach))
}

/// The tap loop of one tile: sizes in elements of the padded input.
#[derive(Clone, Copy)]
struct Taps {
    cg: usize,
    kh: usize,
    kw: usize,
    plane: usize,
    /// `dh * wp`.
    row: usize,
    dw: usize,
    /// Taps per output channel (`cg * kh * kw`), the weight row length.
    k: usize,
}

/// Where a tile's results go: `out` (row `r` at `out + r * ld`) gets `acc + bias[r]` (or
/// `acc` without bias) in its first `valid` lanes.
#[derive(Clone, Copy)]
struct Dst {
    out: *mut f32,
    ld: usize,
    valid: usize,
    bias: Option<*const f32>,
}

/// `out[r][l] = Σ_p w[r * k + p] * x[l + off(p)] (+ bias[r])` for `r < M`, `l < valid`
/// (`valid <= 8 * NB`).
///
/// # Safety
/// The CPU supports AVX2 and FMA; `x` is valid for reads of `off(last tap) + 8 * NB`
/// elements, `w` for `M * t.k`, `d.bias` (if any) for `M`, and `d.out + r * d.ld` for writes
/// of `d.valid` elements for each `r < M`.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const M: usize, const NB: usize>(x: *const f32, w: *const f32, t: Taps, d: Dst) {
    // SAFETY: every tap offset is at most `off(last tap)`, so each 8-wide load ends within
    // the `off(last tap) + 8 * NB` readable elements; weight reads stay below `M * k`, bias
    // reads below `M`; full stores write `8 * NB == valid` elements of each output row, and
    // partial ones go through `tmp` and copy `valid` elements; the caller ensures AVX2.
    unsafe {
        let mut a = [[_mm256_setzero_ps(); NB]; M];
        let mut p = 0;
        for c in 0..t.cg {
            for ky in 0..t.kh {
                let xr = x.add(c * t.plane + ky * t.row);
                for kx in 0..t.kw {
                    let s = xr.add(kx * t.dw);
                    let mut b = [_mm256_setzero_ps(); NB];
                    for (v, bv) in b.iter_mut().enumerate() {
                        *bv = _mm256_loadu_ps(s.add(8 * v));
                    }
                    for (r, ar) in a.iter_mut().enumerate() {
                        let wv = _mm256_broadcast_ss(&*w.add(r * t.k + p));
                        for (acc, &bv) in ar.iter_mut().zip(&b) {
                            *acc = _mm256_fmadd_ps(wv, bv, *acc);
                        }
                    }
                    p += 1;
                }
            }
        }
        let mut tmp = [0.0f32; 16];
        for (r, ar) in a.iter().enumerate() {
            let row = d.out.add(r * d.ld);
            for (v, &acc) in ar.iter().enumerate() {
                let acc = match d.bias {
                    Some(bp) => _mm256_add_ps(acc, _mm256_broadcast_ss(&*bp.add(r))),
                    None => acc,
                };
                if d.valid == 8 * NB {
                    _mm256_storeu_ps(row.add(8 * v), acc);
                } else {
                    _mm256_storeu_ps(tmp.as_mut_ptr().add(8 * v), acc);
                }
            }
            if d.valid != 8 * NB {
                core::ptr::copy_nonoverlapping(tmp.as_ptr(), row, d.valid);
            }
        }
    }
}

/// Copies the `cg` channels of `x` into `xp` zero-padded (and zeros the rest of `xp`).
fn pad(g: &Geom, x: &[f32], xp: &mut [f32]) -> Result<()> {
    let (hp, wp) = padded_hw(g);
    xp.fill(0.0);
    for (src, plane) in x.chunks_exact(g.h * g.w).zip(xp.chunks_exact_mut(hp * wp)) {
        for (srow, drow) in src
            .chunks_exact(g.w)
            .zip(plane.chunks_exact_mut(wp).skip(g.pt))
        {
            drow.get_mut(g.pl..g.pl + g.w)
                .ok_or(oob())?
                .copy_from_slice(srow);
        }
    }
    Ok(())
}

/// Splits the output channels into tiles of 6, ending with 4 + 4 or 4 + 2 rather than a
/// narrow tile where possible (a tile of `m` rows keeps `2 * m` FMA chains in flight; 8 hide
/// the FMA latency).
fn next_m(left: usize) -> usize {
    match left {
        0..=6 => left,
        8 => 4,
        _ => MR,
    }
}

/// The whole convolution; `scratch` holds [`scratch_len`] elements; buffers were validated
/// by the caller and the CPU has AVX2 and FMA.
pub(super) fn conv(
    g: &Geom,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    if !crate::kernels::cpu::has_avx2_fma() {
        return Err(oob());
    }
    let (hp, wp) = padded_hw(g);
    let need = scratch_len(g)?;
    let xp = scratch.get_mut(..need).ok_or(oob())?;
    let t = Taps {
        cg: g.cg,
        kh: g.kh,
        kw: g.kw,
        plane: hp * wp,
        row: g.dh * wp,
        dw: g.dw,
        k: g.cg * g.kh * g.kw,
    };
    let max_off = (g.cg - 1) * t.plane + (g.kh - 1) * t.row + (g.kw - 1) * g.dw;
    let ohw = g.oh * g.ow;
    let xs = input.chunks_exact(g.cg * g.h * g.w);
    for (i, (x, c)) in xs.zip(out.chunks_exact_mut(g.og * ohw)).enumerate() {
        let grp = i % g.groups;
        let o_base = grp * g.og;
        let wg = weight
            .get(o_base * t.k..(o_base + g.og) * t.k)
            .ok_or(oob())?;
        let bg = match bias {
            Some(b) => Some(b.get(o_base..o_base + g.og).ok_or(oob())?),
            None => None,
        };
        pad(g, x, xp)?;
        for oy in 0..g.oh {
            let mut ox = 0;
            while ox < g.ow {
                let valid = NR.min(g.ow - ox);
                let nb = if valid > 8 { 2 } else { 1 };
                let j0 = oy * wp + ox;
                let xt = xp.get(j0..j0 + max_off + 8 * nb).ok_or(oob())?;
                let mut o = 0;
                while o < g.og {
                    let m = next_m(g.og - o);
                    let wt = wg.get(o * t.k..(o + m) * t.k).ok_or(oob())?;
                    let bt = match bg {
                        Some(b) => Some(b.get(o..o + m).ok_or(oob())?.as_ptr()),
                        None => None,
                    };
                    // The first output of the tile and the end of its last row.
                    let at = o * ohw + oy * g.ow + ox;
                    if at + (m - 1) * ohw + valid > c.len() {
                        return Err(oob());
                    }
                    let d = Dst {
                        out: c.get_mut(at..).ok_or(oob())?.as_mut_ptr(),
                        ld: ohw,
                        valid,
                        bias: bt,
                    };
                    let (xq, wq) = (xt.as_ptr(), wt.as_ptr());
                    // SAFETY: AVX2 and FMA were checked above; `xt` holds `off(last tap) + 8 *
                    // nb` elements, `wt` holds `m * k` and the bias slice `m`; output rows
                    // `at + r * ohw .. + valid` (`r < m`) lie inside `c` (checked above).
                    unsafe {
                        match (m, nb) {
                            (6, 2) => tile::<6, 2>(xq, wq, t, d),
                            (5, 2) => tile::<5, 2>(xq, wq, t, d),
                            (4, 2) => tile::<4, 2>(xq, wq, t, d),
                            (3, 2) => tile::<3, 2>(xq, wq, t, d),
                            (2, 2) => tile::<2, 2>(xq, wq, t, d),
                            (1, 2) => tile::<1, 2>(xq, wq, t, d),
                            (6, _) => tile::<6, 1>(xq, wq, t, d),
                            (5, _) => tile::<5, 1>(xq, wq, t, d),
                            (4, _) => tile::<4, 1>(xq, wq, t, d),
                            (3, _) => tile::<3, 1>(xq, wq, t, d),
                            (2, _) => tile::<2, 1>(xq, wq, t, d),
                            _ => tile::<1, 1>(xq, wq, t, d),
                        }
                    }
                    o += m;
                }
                ox += valid;
            }
        }
    }
    Ok(())
}
