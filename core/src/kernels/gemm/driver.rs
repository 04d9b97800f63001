//! The blocked loops shared by every instruction set: packing of A and B panels and the
//! macro-kernel that walks MR x NR tiles.
//!
//! Every path (packed, direct) computes each element of C the same way: for each block of
//! [`KC`] consecutive `p` (in increasing order) the micro-kernel accumulates the block's
//! products from zero in increasing `p`, then the tile update applies
//! `C = alpha * acc (+ beta * C)` with the caller's beta for the first block and 1 after.
//! Tiles differ only in which lanes hold an element, and lanes are independent, so the bits of
//! an element depend on `k`, `alpha`, `beta` and the instruction set, never on `m`, `n`, the
//! element's position or the path taken.

use super::Gemm;
use crate::{Error, Result};

/// Depth of one block of `p` (rows of packed B, columns of packed A).
pub(crate) const KC: usize = 256;

/// Extra f32 elements reserved per packed buffer so it can start on a 64-byte boundary.
pub(crate) const ALIGN_PAD: usize = 16;

pub(crate) fn oob() -> Error {
    Error::InvalidArgument {
        op: "gemm",
        what: "internal bounds check failed",
    }
}

/// Where one MR x NR tile of C lives and how to update it.
pub(crate) struct Tile<'a> {
    /// C from the tile's top-left element to the end of the buffer.
    pub c: &'a mut [f32],
    pub ldc: usize,
    pub rows: usize,
    pub cols: usize,
    pub alpha: f32,
    pub beta: f32,
}

impl Tile<'_> {
    /// True when the tile's rows and columns lie inside `c` (so raw writes are in bounds).
    pub fn fits(&self, mr: usize, nr: usize) -> bool {
        self.rows >= 1
            && self.rows <= mr
            && self.cols >= 1
            && self.cols <= nr
            && (self.rows - 1)
                .checked_mul(self.ldc)
                .and_then(|x| x.checked_add(self.cols))
                .is_some_and(|need| need <= self.c.len())
    }
}

/// Strided view of one operand for the direct (unpacked) path: element `(r, p)` sits at
/// `r * rs + p * cs`.
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl Strided<'_> {
    /// True when elements `(0..rows, 0..cols)` are all inside `data`.
    pub fn covers(&self, rows: usize, cols: usize) -> bool {
        if rows == 0 || cols == 0 {
            return true;
        }
        (rows - 1)
            .checked_mul(self.rs)
            .and_then(|x| x.checked_add((cols - 1).checked_mul(self.cs)?))
            .is_some_and(|last| last < self.data.len())
    }
}

/// One instruction set's MR x NR micro-kernel.
pub(crate) trait Micro: Copy {
    /// Rows of a tile.
    const MR: usize;
    /// Columns of a tile.
    const NR: usize;
    /// `a` holds MR * kc packed elements (`[p][i]`), `b` NR * kc (`[p][j]`).
    fn packed_tile(&self, kc: usize, a: &[f32], b: &[f32], t: Tile<'_>) -> Result<()>;
    /// `a` is rows x kc, `b` is kc x cols, both strided; `b.cs` may have to be 1 (SIMD).
    fn direct_tile(&self, kc: usize, a: Strided<'_>, b: Strided<'_>, t: Tile<'_>) -> Result<()>;
}

/// Something that can write rows `pc..pc + kc` and columns `jc..jc + nc` of op(B) as NR-wide
/// panels: panel `q` holds columns `jc + q * nr ..` at `dst[q * nr * kc..]`, row-major
/// `[p][j]`, columns past `nc` zero.
pub(crate) trait PackB {
    fn pack(
        &self,
        pc: usize,
        kc: usize,
        jc: usize,
        nc: usize,
        nr: usize,
        dst: &mut [f32],
    ) -> Result<()>;
}

/// op(B) read from a row-major matrix.
pub(crate) struct MatB<'a> {
    pub b: &'a [f32],
    pub ldb: usize,
    pub trans: bool,
    /// AVX2 transposing packer for full 16-wide panels of a transposed B, when available.
    #[cfg(target_arch = "x86_64")]
    pub avx2: Option<super::x86::Avx2>,
}

impl PackB for MatB<'_> {
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
        if dst.len() < panels * nr * kc {
            return Err(oob());
        }
        for (q, panel) in dst.chunks_exact_mut(nr * kc).take(panels).enumerate() {
            let j0 = jc + q * nr;
            let cols = nr.min(jc + nc - j0);
            if !self.trans {
                for (p, d) in panel.chunks_exact_mut(nr).enumerate() {
                    let start = (pc + p) * self.ldb + j0;
                    let src = self.b.get(start..start + cols).ok_or(oob())?;
                    let (head, tail) = d.split_at_mut(cols);
                    head.copy_from_slice(src);
                    tail.fill(0.0);
                }
            } else {
                #[cfg(target_arch = "x86_64")]
                if let (Some(k), 16, 16) = (self.avx2, nr, cols) {
                    let start = j0 * self.ldb + pc;
                    let src = self.b.get(start..).ok_or(oob())?;
                    k.pack_bt16(src, self.ldb, kc, panel)?;
                    continue;
                }
                for j in 0..nr {
                    if j < cols {
                        let start = (j0 + j) * self.ldb + pc;
                        let src = self.b.get(start..start + kc).ok_or(oob())?;
                        for (d, &v) in panel.iter_mut().skip(j).step_by(nr).zip(src) {
                            *d = v;
                        }
                    } else {
                        for d in panel.iter_mut().skip(j).step_by(nr) {
                            *d = 0.0;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Packs rows `ic..ic + mc`, columns `pc..pc + kc` of op(A) into MR-row panels
/// (`[p][i]`, rows past `mc` zero).
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_a<const MR: usize>(
    a: &[f32],
    lda: usize,
    trans: bool,
    ic: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    dst: &mut [f32],
) -> Result<()> {
    let panels = mc.div_ceil(MR);
    if dst.len() < panels * MR * kc {
        return Err(oob());
    }
    for (q, panel) in dst.chunks_exact_mut(MR * kc).take(panels).enumerate() {
        let i0 = ic + q * MR;
        let rows = MR.min(ic + mc - i0);
        if trans {
            for (p, d) in panel.chunks_exact_mut(MR).enumerate() {
                let start = (pc + p) * lda + i0;
                let src = a.get(start..start + rows).ok_or(oob())?;
                let (head, tail) = d.split_at_mut(rows);
                head.copy_from_slice(src);
                tail.fill(0.0);
            }
        } else {
            let mut srcs: [&[f32]; MR] = [&[]; MR];
            for (i, s) in srcs.iter_mut().enumerate().take(rows) {
                let start = (i0 + i) * lda + pc;
                *s = a.get(start..start + kc).ok_or(oob())?;
            }
            for (p, d) in panel.chunks_exact_mut(MR).enumerate() {
                for (dv, s) in d.iter_mut().zip(srcs.iter()) {
                    *dv = s.get(p).copied().unwrap_or(0.0);
                }
            }
        }
    }
    Ok(())
}

/// Splits `scratch` into a 64-byte aligned A buffer of `a_len` and B buffer of `b_len`.
pub(crate) fn split_scratch(
    scratch: &mut [f32],
    a_len: usize,
    b_len: usize,
) -> Result<(&mut [f32], &mut [f32])> {
    let skip_a = align_skip(scratch.as_ptr());
    let rest = scratch.get_mut(skip_a..).ok_or(oob())?;
    let (abuf, rest) = rest.split_at_mut_checked(a_len).ok_or(oob())?;
    let skip_b = align_skip(rest.as_ptr());
    let rest = rest.get_mut(skip_b..).ok_or(oob())?;
    let bbuf = rest.get_mut(..b_len).ok_or(oob())?;
    Ok((abuf, bbuf))
}

fn align_skip(p: *const f32) -> usize {
    let addr = p as usize;
    ((64 - addr % 64) % 64) / core::mem::size_of::<f32>()
}

/// Scratch (f32 elements) for the packed path with blocks `mc` x `nc`.
pub(crate) fn packed_scratch(
    mr: usize,
    nr: usize,
    m: usize,
    n: usize,
    k: usize,
    mc: usize,
    nc: usize,
) -> usize {
    let kc = k.min(KC);
    let a = m.min(mc).div_ceil(mr) * mr * kc;
    let b = n.min(nc).div_ceil(nr) * nr * kc;
    a + b + 2 * ALIGN_PAD
}

/// The packed path: B in KC x NC blocks, A in MC x KC blocks, MR x NR tiles.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_packed<K: Micro, B: PackB, const MR: usize>(
    kern: K,
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &B,
    c: &mut [f32],
    ldc: usize,
    scratch: &mut [f32],
    mc: usize,
    nc: usize,
) -> Result<()> {
    let (m, n, k) = (g.m, g.n, g.k);
    let nr = K::NR;
    if K::MR != MR {
        return Err(oob());
    }
    let kc_max = k.min(KC);
    let a_len = m.min(mc).div_ceil(MR) * MR * kc_max;
    let b_len = n.min(nc).div_ceil(nr) * nr * kc_max;
    let (abuf, bbuf) = split_scratch(scratch, a_len, b_len)?;
    let mut blk = Blocks {
        abuf,
        bbuf,
        c,
        ldc,
        alpha: g.alpha,
        beta: g.beta,
    };
    if m <= mc {
        // A is one block: pack it once per depth block and stream B panels past it.
        let mut pc = 0;
        while pc < k {
            let kcb = KC.min(k - pc);
            blk.beta = if pc == 0 { g.beta } else { 1.0 };
            pack_a::<MR>(a, lda, g.trans_a, 0, m, pc, kcb, blk.abuf)?;
            let mut jc = 0;
            while jc < n {
                let ncb = nc.min(n - jc);
                b.pack(pc, kcb, jc, ncb, nr, blk.bbuf)?;
                blk.tiles::<K, MR>(kern, kcb, 0, m, jc, ncb)?;
                jc += ncb;
            }
            pc += kcb;
        }
        return Ok(());
    }
    // BLIS order: B block (L3) -> A block (L2) -> B micro-panel (L1) x A micro-panels.
    let mut jc = 0;
    while jc < n {
        let ncb = nc.min(n - jc);
        let mut pc = 0;
        while pc < k {
            let kcb = KC.min(k - pc);
            blk.beta = if pc == 0 { g.beta } else { 1.0 };
            b.pack(pc, kcb, jc, ncb, nr, blk.bbuf)?;
            let mut ic = 0;
            while ic < m {
                let mcb = mc.min(m - ic);
                pack_a::<MR>(a, lda, g.trans_a, ic, mcb, pc, kcb, blk.abuf)?;
                blk.tiles::<K, MR>(kern, kcb, ic, mcb, jc, ncb)?;
                ic += mcb;
            }
            pc += kcb;
        }
        jc += ncb;
    }
    Ok(())
}

/// Packed buffers and C for the macro-kernel.
struct Blocks<'s, 'c> {
    abuf: &'s mut [f32],
    bbuf: &'s mut [f32],
    c: &'c mut [f32],
    ldc: usize,
    alpha: f32,
    beta: f32,
}

impl Blocks<'_, '_> {
    /// Runs the micro-kernel over every tile of the packed `mcb x kcb` A block (rows from
    /// `ic`) and `kcb x ncb` B block (columns from `jc`).
    fn tiles<K: Micro, const MR: usize>(
        &mut self,
        kern: K,
        kcb: usize,
        ic: usize,
        mcb: usize,
        jc: usize,
        ncb: usize,
    ) -> Result<()> {
        let nr = K::NR;
        let bpanels = self.bbuf.chunks_exact(nr * kcb).take(ncb.div_ceil(nr));
        for (jq, bp) in bpanels.enumerate() {
            let jr = jq * nr;
            let cols = nr.min(ncb - jr);
            let apanels = self.abuf.chunks_exact(MR * kcb).take(mcb.div_ceil(MR));
            for (iq, ap) in apanels.enumerate() {
                let ir = iq * MR;
                let off = (ic + ir) * self.ldc + jc + jr;
                let t = Tile {
                    c: self.c.get_mut(off..).ok_or(oob())?,
                    ldc: self.ldc,
                    rows: MR.min(mcb - ir),
                    cols,
                    alpha: self.alpha,
                    beta: self.beta,
                };
                kern.packed_tile(kcb, ap, bp, t)?;
            }
        }
        Ok(())
    }
}

/// The direct path: no packing, the micro-kernel reads A and B where they are.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_direct<K: Micro>(
    kern: K,
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) -> Result<()> {
    let (m, n, k) = (g.m, g.n, g.k);
    let (mr, nr) = (K::MR, K::NR);
    let (rsa, csa) = if g.trans_a { (1, lda) } else { (lda, 1) };
    let (rsb, csb) = if g.trans_b { (1, ldb) } else { (ldb, 1) };
    let mut pc = 0;
    while pc < k {
        let kcb = KC.min(k - pc);
        let beta = if pc == 0 { g.beta } else { 1.0 };
        let mut jr = 0;
        while jr < n {
            let cols = nr.min(n - jr);
            let bs = Strided {
                data: b.get(pc * rsb + jr * csb..).ok_or(oob())?,
                rs: rsb,
                cs: csb,
            };
            let mut ir = 0;
            while ir < m {
                let rows = mr.min(m - ir);
                let as_ = Strided {
                    data: a.get(ir * rsa + pc * csa..).ok_or(oob())?,
                    rs: rsa,
                    cs: csa,
                };
                let t = Tile {
                    c: c.get_mut(ir * ldc + jr..).ok_or(oob())?,
                    ldc,
                    rows,
                    cols,
                    alpha: g.alpha,
                    beta,
                };
                kern.direct_tile(kcb, as_, bs, t)?;
                ir += rows;
            }
            jr += cols;
        }
        pc += kcb;
    }
    Ok(())
}

/// Scalar tile update shared by every edge path: `C = alpha * acc (+ beta * C)`.
///
/// `acc` is row-major with row length `nr`. The vector update in the SIMD kernels uses the
/// same two roundings (a multiply, then a multiply-add done as multiply and add), so both give
/// the same bits.
#[inline(always)]
pub(crate) fn update_scalar(t: Tile<'_>, acc: &[f32], nr: usize) {
    let Tile {
        c,
        ldc,
        rows,
        cols,
        alpha,
        beta,
    } = t;
    for (crow, arow) in c
        .chunks_mut(ldc.max(1))
        .zip(acc.chunks_exact(nr))
        .take(rows)
    {
        for (cv, &av) in crow.iter_mut().zip(arow).take(cols) {
            let r = alpha * av;
            *cv = if beta == 0.0 { r } else { r + beta * *cv };
        }
    }
}
