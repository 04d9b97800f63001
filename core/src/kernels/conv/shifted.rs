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
/// `acc` without bias) in its first `valid` lanes. When `room >= 8 * NB` all lanes are
/// stored: the ones past `valid` land on outputs that a later tile overwrites.
#[derive(Clone, Copy)]
struct Dst {
    out: *mut f32,
    ld: usize,
    valid: usize,
    /// Elements of each output row from `out` that later tiles write (or that this one does).
    room: usize,
    bias: Option<*const f32>,
}

/// `out[r][l] = Σ_p w[r * k + p] * x[l + off(p)] (+ bias[r])` for `r < M`, `l < valid`
/// (`valid <= 8 * NB`).
///
/// # Safety
/// The CPU supports AVX2 and FMA; `x` is valid for reads of `off(last tap) + 8 * NB`
/// elements, `w` for `M * t.k`, `d.bias` (if any) for `M`, and `d.out + r * d.ld` for writes
/// of `d.valid.max(d.room)` elements for each `r < M`; `0 < d.valid <= 8 * NB`.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const M: usize, const NB: usize>(x: *const f32, w: *const f32, t: Taps, d: Dst) {
    // SAFETY: every tap offset is at most `off(last tap)`, so each 8-wide load ends within
    // the `off(last tap) + 8 * NB` readable elements; weight reads stay below `M * k`, bias
    // reads below `M`; full stores write `8 * NB <= room` elements of each output row, and
    // masked ones only the lanes below `valid` (a vector starting at or past `valid` is not
    // stored); the caller ensures AVX2.
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
        let full = d.room >= 8 * NB;
        let mut mask = [_mm256_setzero_si256(); NB];
        for (v, mv) in mask.iter_mut().enumerate() {
            *mv = lanes(d.valid.saturating_sub(8 * v));
        }
        for (r, ar) in a.iter().enumerate() {
            let row = d.out.add(r * d.ld);
            for (v, &acc) in ar.iter().enumerate() {
                let acc = match d.bias {
                    Some(bp) => _mm256_add_ps(acc, _mm256_broadcast_ss(&*bp.add(r))),
                    None => acc,
                };
                if full {
                    _mm256_storeu_ps(row.add(8 * v), acc);
                } else if 8 * v < d.valid {
                    _mm256_maskstore_ps(row.add(8 * v), mask[v], acc);
                }
            }
        }
    }
}

/// A mask of the first `n.min(8)` lanes.
#[target_feature(enable = "avx2,fma")]
fn lanes(n: usize) -> __m256i {
    let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    // `n.min(8)` fits an i32.
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n.min(8) as i32), idx)
}

/// `dst[..n] = src[..n]`, or zeros when `src` is `None`, by 8-wide (and one masked) stores
/// (a call to `memcpy`/`memset` costs more than these short runs).
///
/// # Safety
/// The CPU supports AVX2 and FMA; `dst` is valid for writes of `n` elements and `src` (if
/// any) for reads of `n`.
#[target_feature(enable = "avx2,fma")]
unsafe fn run(dst: *mut f32, src: Option<*const f32>, n: usize) {
    // SAFETY: full loads/stores cover `i .. i + 8 <= n`, the masked ones only lanes below
    // `n`; the caller guarantees both ranges and AVX2.
    unsafe {
        let mut i = 0;
        while i + 8 <= n {
            let v = match src {
                Some(s) => _mm256_loadu_ps(s.add(i)),
                None => _mm256_setzero_ps(),
            };
            _mm256_storeu_ps(dst.add(i), v);
            i += 8;
        }
        if i < n {
            let m = lanes(n - i);
            let v = match src {
                Some(s) => _mm256_maskload_ps(s.add(i), m),
                None => _mm256_setzero_ps(),
            };
            _mm256_maskstore_ps(dst.add(i), m, v);
        }
    }
}

/// Copies the `cg` channels of `x` into `xp` zero-padded (and zeros the rest of `xp`),
/// writing every element once.
fn pad(g: &Geom, x: &[f32], xp: &mut [f32]) -> Result<()> {
    let (hp, wp) = padded_hw(g);
    let body = g.cg * hp * wp;
    if x.len() != g.cg * g.h * g.w || xp.len() < body {
        return Err(oob());
    }
    let [pt, pl, pb, pr] = g.pads;
    let (xs, dst) = (x.as_ptr(), xp.as_mut_ptr());
    // SAFETY: AVX2 was checked by `conv`. Per channel the runs written are `pt * wp + pl`
    // zeros, then `h` times `w` copied elements each followed by `pr + pl` zeros (`pr + pb *
    // wp` after the last row), exactly `hp * wp` elements, so `cg` planes end at `body <=
    // xp.len()`; the reads are the `cg * h * w == x.len()` elements of `x` in order. Then
    // `xp[body..]` is zeroed.
    unsafe {
        let (mut s, mut o) = (0, 0);
        for _ in 0..g.cg {
            run(dst.add(o), None, pt * wp + pl);
            o += pt * wp + pl;
            for r in 0..g.h {
                run(dst.add(o), Some(xs.add(s)), g.w);
                s += g.w;
                o += g.w;
                let z = if r + 1 < g.h { pr + pl } else { pr + pb * wp };
                run(dst.add(o), None, z);
                o += z;
            }
        }
        run(dst.add(body), None, xp.len() - body);
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
                        room: ohw - (oy * g.ow + ox),
                        bias: bt,
                    };
                    let (xq, wq) = (xt.as_ptr(), wt.as_ptr());
                    // SAFETY: AVX2 and FMA were checked above; `xt` holds `off(last tap) + 8 *
                    // nb` elements, `wt` holds `m * k` and the bias slice `m`; output rows
                    // `at + r * ohw .. + valid` (`r < m`) lie inside `c` (checked above), and
                    // so do `.. + room`, the rest of channel `o + r`'s plane, which tiles
                    // visit in increasing `(oy, ox)`.
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
