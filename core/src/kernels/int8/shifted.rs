//! Stride-1 int8 convolution as a register-tiled implicit GEMM over the padded input, on
//! AVX2.
//!
//! # Data
//! The taps of a convolution are taken in pairs, and the input is copied once into `xq`,
//! whose i32 words hold two int8 values widened to i16 (low half: first tap of a pair), so
//! that one `_mm256_madd_epi16` of 8 words with a broadcast weight pair adds two taps'
//! products for 8 output positions:
//! - channel pairs (`c_in / groups > 1`): word `(cp, y, x)` holds channels `2 cp` and
//!   `2 cp + 1` at padded position `(y, x)`; a missing last channel has weight 0;
//! - column pairs (`c_in / groups == 1`): word `(y, x)` holds padded columns `x` and
//!   `x + dw`; a missing last column of the kernel has weight 0.
//!
//! Padding takes the value `input_zero_point`. With stride 1, output position `(oy, ox)` and
//! a tap pair at offset `off` (in words) read word `oy * wp + ox + off` of `xq`, so each row
//! of B is a contiguous run of `xq` and nothing is packed per tile.
//!
//! # Arithmetic
//! The accumulator is `Σ x * w` over the taps (padding taps included, as `zp * w`); the
//! per-channel correction `bias - zp * Σ w` computed once per call makes it `bias + Σ (x -
//! zp) * w`, which is the reference's accumulator: every step is an exact product or a sum
//! modulo 2^32. Requantization runs on 8 lanes at once with the reference's integer steps
//! (see [`requant8`]), so every output has the reference's bits.
//!
//! # Tiles
//! Up to 6 output channels by 16 (or 8) consecutive columns of one output row: 12 (or 6)
//! i32 accumulators; the lanes of a row's last tile past `ow` are computed and dropped.
//!
//! Scratch (i32): `xq`, followed by the words the last tile reads past it (zeros), then the
//! packed weight pairs of one group (`c_out / groups * pairs`) and the corrections
//! (`c_out / groups`).

use super::{oob, Requant};
use crate::kernels::conv::Geom;
use crate::{Error, Result};
use core::arch::x86_64::*;

const CONV: &str = "int8_conv2d";
/// Output positions per tile (two vectors of 8 words).
const NR: usize = 16;
/// Most output channels per tile.
const MR: usize = 6;
/// Larger padded inputs (in words) are left to the patch strategy.
const MAX_WORDS: usize = 1 << 16;

/// The pairing and the sizes of the tap-pair loop, in words of `xq`.
#[derive(Clone, Copy, Debug)]
struct Plan {
    hp: usize,
    wp: usize,
    /// Column pairs (`cg == 1`) rather than channel pairs.
    cols: bool,
    /// Planes of `xq`: `ceil(cg / 2)`, or 1 for column pairs.
    planes: usize,
    /// Tap pairs per kernel row: `kw`, or `ceil(kw / 2)` for column pairs.
    kwq: usize,
    /// Step between the tap pairs of a kernel row: `dw`, or `2 dw` for column pairs.
    kstep: usize,
    /// Tap pairs per output channel: `planes * kh * kwq`.
    pairs: usize,
    /// Offset of the last tap pair.
    max_off: usize,
    /// Words of `xq` including the zeros read past its planes.
    xq_len: usize,
}

impl Plan {
    fn new(g: &Geom) -> Result<Plan> {
        let of = Error::Overflow { op: CONV };
        let [pt, pl, pb, pr] = g.pads;
        // Both sums were checked when the geometry was built.
        let (hp, wp) = (g.h + pt + pb, g.w + pl + pr);
        let cols = g.cg == 1;
        let (planes, kwq, kstep) = if cols {
            (1, g.kw.div_ceil(2), 2 * g.dw)
        } else {
            (g.cg.div_ceil(2), g.kw, g.dw)
        };
        let plane = hp.checked_mul(wp).ok_or(of)?;
        let body = planes.checked_mul(plane).ok_or(of)?;
        let pairs = planes
            .checked_mul(g.kh)
            .and_then(|v| v.checked_mul(kwq))
            .ok_or(of)?;
        // Below `body`: every dilated tap fits the padded input.
        let max_off = (planes - 1) * plane + (g.kh - 1) * g.dh * wp + (kwq - 1) * kstep;
        // The last tile of the last output row starts at column `lx`, reads 8 or 16 words.
        let lx = (g.ow - 1) / NR * NR;
        let lanes = if g.ow - lx > 8 { NR } else { 8 };
        let reach = (g.oh - 1) * wp + lx + max_off + lanes;
        Ok(Plan {
            hp,
            wp,
            cols,
            planes,
            kwq,
            kstep,
            pairs,
            max_off,
            xq_len: body.max(reach),
        })
    }
}

/// Whether the strategy suits `g` (the caller checks the instruction set): stride 1, not
/// depthwise, output rows of at least 8 columns making up at least half of each padded row,
/// and a padded input that fits the cache.
pub(super) fn applies(g: &Geom) -> bool {
    let [pt, pl, pb, pr] = g.pads;
    let (hp, wp) = (g.h + pt + pb, g.w + pl + pr);
    let planes = g.cg.div_ceil(2);
    g.sh == 1
        && g.sw == 1
        && !(g.cg == 1 && g.groups > 1)
        && g.ow >= 8
        && 2 * g.ow >= wp
        && planes
            .checked_mul(hp)
            .and_then(|v| v.checked_mul(wp))
            .is_some_and(|v| v <= MAX_WORDS)
}

/// i32 scratch words the strategy needs.
pub(super) fn scratch_len(g: &Geom) -> Result<usize> {
    let p = Plan::new(g)?;
    let of = Error::Overflow { op: CONV };
    g.og.checked_mul(p.pairs)
        .and_then(|v| v.checked_add(g.og))
        .and_then(|v| v.checked_add(p.xq_len))
        .ok_or(of)
}

/// Two int8 values widened to i16 in one word, `a` in the low half.
#[inline]
fn word(a: i8, b: i8) -> i32 {
    (i32::from(a) & 0xffff) | (i32::from(b) << 16)
}

/// Fills `xq` (`p.xq_len` words) from the group input `x` (`cg` planes of `h x w`).
fn fill_xq(g: &Geom, p: &Plan, zp: i8, x: &[i8], xq: &mut [i32]) -> Result<()> {
    let plane = g.h * g.w;
    let hw = p.hp * p.wp;
    let pad = word(zp, zp);
    let (body, tail) = xq.split_at_mut_checked(p.planes * hw).ok_or(oob(CONV))?;
    tail.fill(0);
    for (q, dst) in body.chunks_exact_mut(hw).enumerate() {
        let (ca, cb, db) = if p.cols {
            (0, 0, g.dw)
        } else {
            (2 * q, 2 * q + 1, 0)
        };
        let xa = x.get(ca * plane..(ca + 1) * plane).ok_or(oob(CONV))?;
        // A missing second channel reads the first one (its weight is 0).
        let xb = x
            .get(cb * plane..(cb + 1) * plane)
            .unwrap_or(xa)
            .get(..plane)
            .ok_or(oob(CONV))?;
        for (y, drow) in dst.chunks_exact_mut(p.wp).enumerate() {
            let iy = y.wrapping_sub(g.pt);
            if iy >= g.h {
                drow.fill(pad);
                continue;
            }
            let ra = xa.get(iy * g.w..(iy + 1) * g.w).ok_or(oob(CONV))?;
            let rb = xb.get(iy * g.w..(iy + 1) * g.w).ok_or(oob(CONV))?;
            // Padded column `x` of the first value, `x + db` of the second.
            let at = |r: &[i8], xc: usize| -> i8 {
                xc.checked_sub(g.pl)
                    .and_then(|i| r.get(i))
                    .copied()
                    .unwrap_or(zp)
            };
            let (lo, hi) = (g.pl, g.pl + g.w);
            let (head, rest) = drow.split_at_mut_checked(lo).ok_or(oob(CONV))?;
            let (mid, tail) = rest.split_at_mut_checked(g.w).ok_or(oob(CONV))?;
            for (xc, d) in head.iter_mut().enumerate() {
                *d = word(zp, at(rb, xc + db));
            }
            if db == 0 {
                for ((d, &a), &b) in mid.iter_mut().zip(ra).zip(rb) {
                    *d = word(a, b);
                }
            } else {
                // Column pairs: `ra == rb`, the second value `db` columns on.
                let ahead = rb.get(db.min(g.w)..).unwrap_or(&[]);
                let (near, far) = mid.split_at_mut(ahead.len().min(g.w));
                for ((d, &a), &b) in near.iter_mut().zip(ra).zip(ahead) {
                    *d = word(a, b);
                }
                let rest = ra.get(near.len()..).unwrap_or(&[]);
                for (d, &a) in far.iter_mut().zip(rest) {
                    *d = word(a, zp);
                }
            }
            for (i, d) in tail.iter_mut().enumerate() {
                *d = word(zp, at(rb, hi + i + db));
            }
        }
    }
    Ok(())
}

/// Packs the weight pairs of output channels `w` (`og` rows of `cg * kh * kw`) into `wq`
/// (`og * pairs` words, pair order of [`Plan`]) and writes `bias - zp * Σ w` to `corr`.
fn pack_weights(
    g: &Geom,
    p: &Plan,
    zp: i32,
    w: &[i8],
    bias: Option<&[i32]>,
    wq: &mut [i32],
    corr: &mut [i32],
) -> Result<()> {
    let k = g.cg * g.kh * g.kw;
    let ksz = g.kh * g.kw;
    let rows = w.chunks_exact(k).zip(wq.chunks_exact_mut(p.pairs));
    for (o, ((wr, qr), cr)) in rows.zip(corr.iter_mut()).enumerate() {
        if p.cols {
            // One channel: kernel row `ky` gives pairs of adjacent columns, the last one
            // padded with a zero weight when `kw` is odd.
            let qrows = qr.chunks_exact_mut(p.kwq);
            for (wrow, qrow) in wr.chunks_exact(g.kw).zip(qrows) {
                let pairs = wrow.chunks_exact(2);
                let last = pairs.remainder().first().copied();
                let (full, rest) = qrow.split_at_mut(pairs.len());
                for (q, pr) in full.iter_mut().zip(pairs) {
                    let (Some(&a), Some(&b)) = (pr.first(), pr.get(1)) else {
                        return Err(oob(CONV));
                    };
                    *q = word(a, b);
                }
                if let (Some(q), Some(a)) = (rest.first_mut(), last) {
                    *q = word(a, 0);
                }
            }
        } else {
            // Channels `2 cp` and `2 cp + 1` at the same tap; a missing last channel has
            // weight 0.
            let qplanes = qr.chunks_exact_mut(ksz);
            for (cp, qp) in qplanes.enumerate() {
                let a = wr.get(2 * cp * ksz..(2 * cp + 1) * ksz).ok_or(oob(CONV))?;
                match wr.get((2 * cp + 1) * ksz..(2 * cp + 2) * ksz) {
                    Some(b) => {
                        for ((q, &va), &vb) in qp.iter_mut().zip(a).zip(b) {
                            *q = word(va, vb);
                        }
                    }
                    None => {
                        for (q, &va) in qp.iter_mut().zip(a) {
                            *q = word(va, 0);
                        }
                    }
                }
            }
        }
        let sum = wr.iter().fold(0i32, |a, &v| a.wrapping_add(i32::from(v)));
        let b = bias.and_then(|b| b.get(o).copied()).unwrap_or(0);
        *cr = b.wrapping_sub(zp.wrapping_mul(sum));
    }
    Ok(())
}

/// The tap-pair loop of a tile.
#[derive(Clone, Copy)]
struct Taps {
    planes: usize,
    kh: usize,
    kwq: usize,
    plane: usize,
    /// `dh * wp`.
    row: usize,
    kstep: usize,
    pairs: usize,
}

/// Where a tile's results go and how they are requantized: row `r` of the tile goes to
/// `out + r * ld` (its first `valid` bytes), with `corr[r]`, `mult[r]`, `shift[r]`.
#[derive(Clone, Copy)]
struct Dst {
    out: *mut i8,
    ld: usize,
    valid: usize,
    corr: *const i32,
    mult: *const i32,
    shift: *const i32,
    rq: Requant,
}

/// [`Requant::apply`] (`multiply_by_quantized_multiplier`, `+ zp`, clamp) on 8 lanes, for
/// `m != i32::MIN` and `s` in `[-31, 30]`, with the same bits:
/// - `x * 2^left` wraps (`_mm256_sll_epi32`);
/// - the rounding doubling high multiply `trunc((a b + nudge) / 2^31)` equals `floor((a b +
///   2^30) / 2^31)` for both signs of `a b` (for `a b < 0` the truncation adds `2^31 - 1`
///   to `a b + 1 - 2^30`), i.e. bits 31..62 of `a b + 2^30`; only `a == b == i32::MIN`
///   saturates, which `m != i32::MIN` excludes;
/// - the rounding division by `2^right` is the reference's mask / threshold formula;
/// - clamping to `[-2^16, 2^16]` before adding the zero point changes nothing after the
///   final clamp (an i8 range) and leaves no sum that could saturate.
///
/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2,fma")]
unsafe fn requant8(x: __m256i, m: i32, s: i32, rq: Requant) -> __m256i {
    let left = s.max(0);
    let right = (-s).clamp(0, 31);
    let mask = ((1i64 << right) - 1) as i32;
    let x = _mm256_sll_epi32(x, _mm_cvtsi32_si128(left));
    let mv = _mm256_set1_epi32(m);
    let nudge = _mm256_set1_epi64x(1 << 30);
    let even = _mm256_add_epi64(_mm256_mul_epi32(x, mv), nudge);
    let odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64::<32>(x), mv), nudge);
    let hm = _mm256_blend_epi32::<0b1010_1010>(
        _mm256_srli_epi64::<31>(even),
        _mm256_slli_epi64::<1>(odd),
    );
    let zero = _mm256_setzero_si256();
    let rem = _mm256_and_si256(hm, _mm256_set1_epi32(mask));
    let thr = _mm256_sub_epi32(_mm256_set1_epi32(mask >> 1), _mm256_cmpgt_epi32(zero, hm));
    let q = _mm256_sra_epi32(hm, _mm_cvtsi32_si128(right));
    let v = _mm256_sub_epi32(q, _mm256_cmpgt_epi32(rem, thr));
    let v = _mm256_min_epi32(
        _mm256_max_epi32(v, _mm256_set1_epi32(-65536)),
        _mm256_set1_epi32(65536),
    );
    let v = _mm256_add_epi32(v, _mm256_set1_epi32(rq.zp));
    _mm256_min_epi32(
        _mm256_max_epi32(v, _mm256_set1_epi32(rq.lo)),
        _mm256_set1_epi32(rq.hi),
    )
}

/// One tile: `M` output channels by `8 * NB` positions (`d.valid` of them stored).
///
/// # Safety
/// The CPU supports AVX2; `x` is valid for reads of `off(last pair) + 8 * NB` words, `w`
/// for `M * t.pairs`, `d.corr`, `d.mult` and `d.shift` for `M` each, and `d.out + r * d.ld`
/// for writes of `d.valid <= 8 * NB` bytes for each `r < M`.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const M: usize, const NB: usize>(x: *const i32, w: *const i32, t: Taps, d: Dst) {
    // SAFETY: every pair offset is at most `off(last pair)`, so each 8-word load ends within
    // the readable words; weight reads stay below `M * pairs`; per-row reads below `M`; full
    // stores write `8 * NB == valid` bytes, partial ones go through `tmp`; the caller ensures
    // AVX2.
    unsafe {
        let mut a = [[_mm256_setzero_si256(); NB]; M];
        let mut p = 0;
        for c in 0..t.planes {
            for ky in 0..t.kh {
                let xr = x.add(c * t.plane + ky * t.row);
                for kq in 0..t.kwq {
                    let s = xr.add(kq * t.kstep);
                    let mut b = [_mm256_setzero_si256(); NB];
                    for (v, bv) in b.iter_mut().enumerate() {
                        *bv = _mm256_loadu_si256(s.add(8 * v) as *const __m256i);
                    }
                    for (r, ar) in a.iter_mut().enumerate() {
                        let wv = _mm256_set1_epi32(*w.add(r * t.pairs + p));
                        for (acc, &bv) in ar.iter_mut().zip(&b) {
                            *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(bv, wv));
                        }
                    }
                    p += 1;
                }
            }
        }
        for (r, ar) in a.iter().enumerate() {
            let corr = _mm256_set1_epi32(*d.corr.add(r));
            let (m, s) = (*d.mult.add(r), *d.shift.add(r));
            let mut v = [_mm256_setzero_si256(); 2];
            for (vv, &acc) in v.iter_mut().zip(ar) {
                let acc = _mm256_add_epi32(acc, corr);
                *vv = if m == i32::MIN {
                    let mut l = [0i32; 8];
                    _mm256_storeu_si256(l.as_mut_ptr() as *mut __m256i, acc);
                    let l = l.map(|e| i32::from(d.rq.apply(e, m, s)));
                    _mm256_loadu_si256(l.as_ptr() as *const __m256i)
                } else {
                    requant8(acc, m, s, d.rq)
                };
            }
            if NB == 1 {
                v[1] = v[0];
            }
            // Bytes of lanes 0..4 | 0..4 of v1 | .. in each 128-bit half, then in order.
            let b16 = _mm256_packs_epi32(v[0], v[1]);
            let b8 = _mm256_packs_epi16(b16, b16);
            let b8 = _mm256_permutevar8x32_epi32(b8, _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0));
            let row = d.out.add(r * d.ld);
            let lo = _mm256_castsi256_si128(b8);
            if d.valid == 16 {
                _mm_storeu_si128(row as *mut __m128i, lo);
            } else if d.valid == 8 && NB == 1 {
                _mm_storel_epi64(row as *mut __m128i, lo);
            } else {
                let mut tmp = [0i8; 16];
                _mm_storeu_si128(tmp.as_mut_ptr() as *mut __m128i, lo);
                core::ptr::copy_nonoverlapping(tmp.as_ptr(), row, d.valid);
            }
        }
    }
}

/// Splits the output channels into tiles of 6, ending with 4 + 4 rather than 6 + 2.
fn next_m(left: usize) -> usize {
    match left {
        0..=6 => left,
        8 => 4,
        _ => MR,
    }
}

/// The whole convolution; buffers were validated by the caller, `scratch` holds
/// [`scratch_len`] words.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv(
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
    if !crate::kernels::cpu::has_avx2_fma() {
        return Err(oob(CONV));
    }
    let p = Plan::new(g)?;
    let (xq, rest) = scratch.split_at_mut_checked(p.xq_len).ok_or(oob(CONV))?;
    let (wq, rest) = rest.split_at_mut_checked(g.og * p.pairs).ok_or(oob(CONV))?;
    let corr = rest.get_mut(..g.og).ok_or(oob(CONV))?;
    let t = Taps {
        planes: p.planes,
        kh: g.kh,
        kwq: p.kwq,
        plane: p.hp * p.wp,
        row: g.dh * p.wp,
        kstep: p.kstep,
        pairs: p.pairs,
    };
    // Validated to be in [-128, 127].
    let zp8 = zp.clamp(-128, 127) as i8;
    let (plane, ohw, k) = (g.h * g.w, g.oh * g.ow, g.cg * g.kh * g.kw);
    for grp in 0..g.groups {
        let o0 = grp * g.og;
        let wg = w.get(o0 * k..(o0 + g.og) * k).ok_or(oob(CONV))?;
        let bg = match bias {
            Some(b) => Some(b.get(o0..o0 + g.og).ok_or(oob(CONV))?),
            None => None,
        };
        let ms = multiplier.get(o0..o0 + g.og).ok_or(oob(CONV))?;
        let ss = shift.get(o0..o0 + g.og).ok_or(oob(CONV))?;
        pack_weights(g, &p, zp, wg, bg, wq, corr)?;
        for n in 0..g.n {
            let xb = (n * g.c + grp * g.cg) * plane;
            fill_xq(
                g,
                &p,
                zp8,
                x.get(xb..xb + g.cg * plane).ok_or(oob(CONV))?,
                xq,
            )?;
            let ob = (n * g.o + o0) * ohw;
            let og = out.get_mut(ob..ob + g.og * ohw).ok_or(oob(CONV))?;
            for oy in 0..g.oh {
                let mut ox = 0;
                while ox < g.ow {
                    let valid = NR.min(g.ow - ox);
                    let nb = if valid > 8 { 2 } else { 1 };
                    let j0 = oy * p.wp + ox;
                    let xt = xq.get(j0..j0 + p.max_off + 8 * nb).ok_or(oob(CONV))?;
                    let mut o = 0;
                    while o < g.og {
                        let m = next_m(g.og - o);
                        let wt = wq.get(o * p.pairs..(o + m) * p.pairs).ok_or(oob(CONV))?;
                        let at = o * ohw + oy * g.ow + ox;
                        if at + (m - 1) * ohw + valid > og.len() {
                            return Err(oob(CONV));
                        }
                        let d = Dst {
                            out: og.get_mut(at..).ok_or(oob(CONV))?.as_mut_ptr(),
                            ld: ohw,
                            valid,
                            corr: corr.get(o..o + m).ok_or(oob(CONV))?.as_ptr(),
                            mult: ms.get(o..o + m).ok_or(oob(CONV))?.as_ptr(),
                            shift: ss.get(o..o + m).ok_or(oob(CONV))?.as_ptr(),
                            rq: *rq,
                        };
                        let (xp, wp) = (xt.as_ptr(), wt.as_ptr());
                        // SAFETY: AVX2 was checked above; `xt` holds `off(last pair) + 8 * nb`
                        // words, `wt` holds `m * pairs`, the per-row slices `m` each, and
                        // output rows `at + r * ohw .. + valid` (`r < m`) lie inside `og`.
                        unsafe {
                            match (m, nb) {
                                (6, 2) => tile::<6, 2>(xp, wp, t, d),
                                (5, 2) => tile::<5, 2>(xp, wp, t, d),
                                (4, 2) => tile::<4, 2>(xp, wp, t, d),
                                (3, 2) => tile::<3, 2>(xp, wp, t, d),
                                (2, 2) => tile::<2, 2>(xp, wp, t, d),
                                (1, 2) => tile::<1, 2>(xp, wp, t, d),
                                (6, _) => tile::<6, 1>(xp, wp, t, d),
                                (5, _) => tile::<5, 1>(xp, wp, t, d),
                                (4, _) => tile::<4, 1>(xp, wp, t, d),
                                (3, _) => tile::<3, 1>(xp, wp, t, d),
                                (2, _) => tile::<2, 1>(xp, wp, t, d),
                                _ => tile::<1, 1>(xp, wp, t, d),
                            }
                        }
                        o += m;
                    }
                    ox += valid;
                }
            }
        }
    }
    Ok(())
}
