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
//! Small inputs take the spread layout instead (see `spread_pad`): one `hp x ow` plane
//! per channel and tap column, where tap `(c, ky, kx)` of output `j = oy * ow + ox` reads
//! `j + off(c, ky, kx)`, so tiles are 16 consecutive outputs across rows and drop nothing.
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
/// Spread inputs (see `spread_pad`) larger than this (in f32) take the padded layout: the
/// spread one is `kw` times larger and pays for its dropped-lane savings only within L1.
const MAX_SPREAD: usize = 1 << 13;

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

/// Whether `g` takes the spread layout: its `cg * kw * hp * ow` elements fit the cache.
fn spread(g: &Geom) -> bool {
    let (hp, _) = padded_hw(g);
    g.cg.checked_mul(g.kw)
        .and_then(|v| v.checked_mul(hp))
        .and_then(|v| v.checked_mul(g.ow))
        .is_some_and(|v| v <= MAX_SPREAD)
}

/// The tap strides of `g`'s layout, and the largest tap offset.
fn taps(g: &Geom) -> (Taps, usize) {
    let (hp, wp) = padded_hw(g);
    let t = if spread(g) {
        Taps {
            cg: g.cg,
            kh: g.kh,
            kw: g.kw,
            plane: g.kw * hp * g.ow,
            row: g.dh * g.ow,
            step: hp * g.ow,
            k: g.cg * g.kh * g.kw,
        }
    } else {
        Taps {
            cg: g.cg,
            kh: g.kh,
            kw: g.kw,
            plane: hp * wp,
            row: g.dh * wp,
            step: g.dw,
            k: g.cg * g.kh * g.kw,
        }
    };
    // Below the body length since every dilated tap fits the padded input (the sizes were
    // bounded by `applies`).
    let max_off = (g.cg - 1) * t.plane + (g.kh - 1) * t.row + (g.kw - 1) * t.step;
    (t, max_off)
}

/// Scratch: one group's padded (or spread) input plus the zeros the last tile reads past it.
pub(super) fn scratch_len(g: &Geom) -> Result<usize> {
    let (hp, wp) = padded_hw(g);
    let of = Error::Overflow { op: super::OP };
    let (_, max_off) = taps(g);
    let (body, reach) = if spread(g) {
        let body = g.cg * g.kw * hp * g.ow;
        // The last tile starts at output `lj` and reads 8 or 16 lanes.
        let ohw = g.oh.checked_mul(g.ow).ok_or(of)?;
        let lj = (ohw - 1) / NR * NR;
        let lanes = if ohw - lj > 8 { NR } else { 8 };
        (body, lj + max_off + lanes)
    } else {
        let plane = hp.checked_mul(wp).ok_or(of)?;
        let body = g.cg.checked_mul(plane).ok_or(of)?;
        // The last tile of the last output row starts at column `lx` and reads 8 or 16 lanes.
        let lx = (g.ow - 1) / NR * NR;
        let lanes = if g.ow - lx > 8 { NR } else { 8 };
        (body, (g.oh - 1) * wp + lx + max_off + lanes)
    };
    Ok(body.max(reach))
}

/// The tap loop of one tile: sizes in elements of the padded input.
#[derive(Clone, Copy)]
struct Taps {
    cg: usize,
    kh: usize,
    kw: usize,
    plane: usize,
    /// Distance between vertically adjacent taps: `dh * wp` (`dh * ow` spread).
    row: usize,
    /// Distance between horizontally adjacent taps: `dw` (`hp * ow` spread).
    step: usize,
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
        // One tap: `a[r] += w[r * k + p] * x[s..]`.
        macro_rules! tap {
            ($s:expr, $p:expr) => {{
                let s = $s;
                let mut b = [_mm256_setzero_ps(); NB];
                for (v, bv) in b.iter_mut().enumerate() {
                    *bv = _mm256_loadu_ps(s.add(8 * v));
                }
                for (r, ar) in a.iter_mut().enumerate() {
                    let wv = _mm256_broadcast_ss(&*w.add(r * t.k + $p));
                    for (acc, &bv) in ar.iter_mut().zip(&b) {
                        *acc = _mm256_fmadd_ps(wv, bv, *acc);
                    }
                }
            }};
        }
        let mut p = 0;
        for c in 0..t.cg {
            for ky in 0..t.kh {
                let xr = x.add(c * t.plane + ky * t.row);
                if t.kw == 3 {
                    // The common 3-wide kernel, unrolled; same order.
                    tap!(xr, p);
                    tap!(xr.add(t.step), p + 1);
                    tap!(xr.add(2 * t.step), p + 2);
                    p += 3;
                } else {
                    for kx in 0..t.kw {
                        tap!(xr.add(kx * t.step), p);
                        p += 1;
                    }
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

/// `dst[..n] = src[..n]`, or zeros when `src` is `None`, by 8-wide stores (a call to
/// `memcpy`/`memset` costs more than these short runs). Up to 7 elements of `dst[n..room]`
/// may be overwritten with arbitrary values: callers write runs in increasing address order
/// so the next run overwrites them. Only where fewer than 8 elements of `room` (or of the
/// `avail` readable ones of `src`) are left is a masked load/store used.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `n <= room` and `dst` is valid for writes of `room`
/// elements; for `Some((src, avail))`, `n <= avail` and `src` is valid for reads of `avail`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn run(dst: *mut f32, room: usize, src: Option<(*const f32, usize)>, n: usize) {
    // SAFETY: a full store at `i` needs `i + 8 <= room`, a full load `i + 8 <= avail`;
    // otherwise only the lanes below `n - i` (inside both, as `n <= room, avail`) are
    // touched; the caller guarantees the ranges and AVX2.
    unsafe {
        let mut i = 0;
        while i < n {
            let full = room - i >= 8 && src.is_none_or(|(_, avail)| avail - i >= 8);
            if full {
                let v = match src {
                    Some((s, _)) => _mm256_loadu_ps(s.add(i)),
                    None => _mm256_setzero_ps(),
                };
                _mm256_storeu_ps(dst.add(i), v);
            } else {
                let m = lanes(n - i);
                let v = match src {
                    Some((s, _)) => _mm256_maskload_ps(s.add(i), m),
                    None => _mm256_setzero_ps(),
                };
                _mm256_maskstore_ps(dst.add(i), m, v);
            }
            i += 8;
        }
    }
}

/// Copies the `cg` channels of `x` into `xp` zero-padded (and zeros the rest of `xp`),
/// writing every element once.
fn pad(g: &Geom, x: &[f32], xp: &mut [f32]) -> Result<()> {
    let (hp, wp) = padded_hw(g);
    if x.len() != g.cg * g.h * g.w || xp.len() < g.cg * hp * wp {
        return Err(oob());
    }
    // SAFETY: AVX2 was checked by `conv`; the lengths are as `pad_rows` requires.
    unsafe { pad_rows(g, x.as_ptr(), xp.as_mut_ptr(), xp.len()) };
    Ok(())
}

/// The body of [`pad`].
///
/// # Safety
/// The CPU supports AVX2 and FMA; `x` is valid for reads of `cg * h * w` elements and `xp`
/// for writes of `len >= cg * hp * wp`.
#[target_feature(enable = "avx2,fma")]
unsafe fn pad_rows(g: &Geom, x: *const f32, xp: *mut f32, len: usize) {
    let (hp, wp) = padded_hw(g);
    let body = g.cg * hp * wp;
    let xlen = g.cg * g.h * g.w;
    let [pt, pl, pb, pr] = g.pads;
    // SAFETY: per channel the runs written are `pt * wp + pl` zeros, then `h` times `w`
    // copied elements each followed by `pr + pl` zeros (`pr + pb * wp` after the last row),
    // exactly `hp * wp` elements, so `cg` planes end at `body <= len`, then `len - body`
    // zeros end at `len`: each run's room is the rest of `xp`, and runs go in increasing
    // order. The reads are the `xlen` elements of `x` in order, each with the rest of `x`
    // readable.
    unsafe {
        let (mut s, mut o) = (0, 0);
        for _ in 0..g.cg {
            run(xp.add(o), len - o, None, pt * wp + pl);
            o += pt * wp + pl;
            for r in 0..g.h {
                run(xp.add(o), len - o, Some((x.add(s), xlen - s)), g.w);
                s += g.w;
                o += g.w;
                let z = if r + 1 < g.h { pr + pl } else { pr + pb * wp };
                run(xp.add(o), len - o, None, z);
                o += z;
            }
        }
        run(xp.add(body), len - body, None, len - body);
    }
}

/// Writes the spread layout of the `cg` channels of `x` into `xp` (and zeros the rest of
/// `xp`): for each channel `c` and tap column `kx`, the `hp x ow` plane whose row `y` is
/// columns `kx * dw .. kx * dw + ow` of padded row `y`. Tap `(c, ky, kx)` of output `j = oy
/// * ow + ox` then reads `j + off(c, ky, kx)`: every output is a lane, none is dropped.
fn spread_pad(g: &Geom, x: &[f32], xp: &mut [f32]) -> Result<()> {
    let (hp, _) = padded_hw(g);
    let body = g.cg * g.kw * hp * g.ow;
    if x.len() != g.cg * g.h * g.w || xp.len() < body {
        return Err(oob());
    }
    // SAFETY: AVX2 was checked by `conv`; `body <= xp.len()` and `x.len()` is as required.
    unsafe { spread_rows(g, x.as_ptr(), xp.as_mut_ptr(), xp.len()) };
    Ok(())
}

/// The body of [`spread_pad`].
///
/// # Safety
/// The CPU supports AVX2 and FMA; `x` is valid for reads of `cg * h * w` elements and `xp`
/// for writes of `len >= cg * kw * hp * ow`.
#[target_feature(enable = "avx2,fma")]
unsafe fn spread_rows(g: &Geom, x: *const f32, xp: *mut f32, len: usize) {
    let (hp, _) = padded_hw(g);
    let (ow, pt, pl) = (g.ow, g.pt, g.pl);
    let body = g.cg * g.kw * hp * ow;
    let xlen = g.cg * g.h * g.w;
    // SAFETY: each of the `cg * kw * hp` rows writes `lo + (hi - lo) + (ow - hi) == ow`
    // elements (`lo <= hi <= ow`) at `o`, so all writes end at `body <= len`, then `len -
    // body` zeros end at `len`: each run's room is the rest of `xp`, and runs go in
    // increasing order. A copied run reads input row `y - pt < h` from column `lo + sh -
    // pl` (at least 0 as `lo >= pl - sh`) to `hi + sh - pl <= w`, inside channel `c`, with
    // the rest of `x` readable.
    unsafe {
        let mut o = 0;
        for c in 0..g.cg {
            for kx in 0..g.kw {
                let sh = kx * g.dw;
                let lo = pl.saturating_sub(sh).min(ow);
                let hi = (pl + g.w).saturating_sub(sh).clamp(lo, ow);
                for y in 0..hp {
                    if y < pt || y >= pt + g.h || lo == hi {
                        run(xp.add(o), len - o, None, ow);
                    } else {
                        run(xp.add(o), len - o, None, lo);
                        let at = c * g.h * g.w + (y - pt) * g.w + lo + sh - pl;
                        let src = Some((x.add(at), xlen - at));
                        run(xp.add(o + lo), len - o - lo, src, hi - lo);
                        run(xp.add(o + hi), len - o - hi, None, ow - hi);
                    }
                    o += ow;
                }
            }
        }
        run(xp.add(body), len - body, None, len - body);
    }
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
    let (_, wp) = padded_hw(g);
    let need = scratch_len(g)?;
    let xp = scratch.get_mut(..need).ok_or(oob())?;
    let (t, max_off) = taps(g);
    let sp = spread(g);
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
        let cols = |xj: usize, at: usize, valid: usize, c: &mut [f32], xp: &[f32]| {
            tiles(&t, max_off, xp, xj, wg, bg, c, ohw, at, valid)
        };
        if sp {
            spread_pad(g, x, xp)?;
            // Outputs are consecutive lanes across rows.
            for j in (0..ohw).step_by(NR) {
                cols(j, j, NR.min(ohw - j), c, xp)?;
            }
        } else {
            pad(g, x, xp)?;
            for oy in 0..g.oh {
                for ox in (0..g.ow).step_by(NR) {
                    cols(oy * wp + ox, oy * g.ow + ox, NR.min(g.ow - ox), c, xp)?;
                }
            }
        }
    }
    Ok(())
}

/// All output channels of the `valid <= 16` outputs from `at` of each channel plane (of
/// `ohw` in `c`), reading the layout from `xj` in `xp`.
#[allow(clippy::too_many_arguments)]
fn tiles(
    t: &Taps,
    max_off: usize,
    xp: &[f32],
    xj: usize,
    wg: &[f32],
    bg: Option<&[f32]>,
    c: &mut [f32],
    ohw: usize,
    at: usize,
    valid: usize,
) -> Result<()> {
    let nb = if valid > 8 { 2 } else { 1 };
    let xt = xp.get(xj..xj + max_off + 8 * nb).ok_or(oob())?;
    let og = wg.len() / t.k;
    let mut o = 0;
    while o < og {
        let m = next_m(og - o);
        let wt = wg.get(o * t.k..(o + m) * t.k).ok_or(oob())?;
        let bt = match bg {
            Some(b) => Some(b.get(o..o + m).ok_or(oob())?.as_ptr()),
            None => None,
        };
        // The first output of the tile; channel `o + m - 1`'s plane ends inside `c`.
        let first = o * ohw + at;
        if valid == 0 || at + valid > ohw || (o + m) * ohw > c.len() {
            return Err(oob());
        }
        let d = Dst {
            out: c.get_mut(first..).ok_or(oob())?.as_mut_ptr(),
            ld: ohw,
            valid,
            room: ohw - at,
            bias: bt,
        };
        let (xq, wq) = (xt.as_ptr(), wt.as_ptr());
        // SAFETY: AVX2 and FMA were checked by `conv`; `xt` holds `off(last tap) + 8 * nb`
        // elements, `wt` holds `m * k` and the bias slice `m`; output rows `first + r * ohw ..
        // + room` (`r < m`) are the rest of channel `o + r`'s plane, inside `c` (checked
        // above), where tiles visit outputs in increasing order.
        unsafe {
            match (m, nb) {
                (6, 2) => tile::<6, 2>(xq, wq, *t, d),
                (5, 2) => tile::<5, 2>(xq, wq, *t, d),
                (4, 2) => tile::<4, 2>(xq, wq, *t, d),
                (3, 2) => tile::<3, 2>(xq, wq, *t, d),
                (2, 2) => tile::<2, 2>(xq, wq, *t, d),
                (1, 2) => tile::<1, 2>(xq, wq, *t, d),
                (6, _) => tile::<6, 1>(xq, wq, *t, d),
                (5, _) => tile::<5, 1>(xq, wq, *t, d),
                (4, _) => tile::<4, 1>(xq, wq, *t, d),
                (3, _) => tile::<3, 1>(xq, wq, *t, d),
                (2, _) => tile::<2, 1>(xq, wq, *t, d),
                _ => tile::<1, 1>(xq, wq, *t, d),
            }
        }
        o += m;
    }
    Ok(())
}
