//! Cortex-M4/M7 (ARMv7E-M DSP extension) inner product: four int8 per 32-bit load, unpacked
//! into pairs of i16 by `SXTB16` / `SXTAB16` (the latter adding `-zp` to each half, exact
//! since `x - zp` is in `[-255, 255]`), and two dual 16-bit multiply-accumulates `SMLAD` per
//! word. `SMLAD` wraps its 32-bit sum (it only sets the Q flag), like the scalar sum, so the
//! result equals [`super::dot::dot_portable`] bit for bit.

use core::arch::asm;

/// `SXTB16 r, x`: bytes 0 and 2 of `x` sign-extended into the two halfwords.
#[inline(always)]
fn sxtb16(x: u32) -> u32 {
    let r: u32;
    // SAFETY: a register-only DSP instruction; the module is compiled only when the target
    // has the DSP extension.
    unsafe {
        asm!("sxtb16 {r}, {x}", r = lateout(reg) r, x = in(reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    r
}

/// `SXTB16 r, x, ROR #8`: bytes 1 and 3.
#[inline(always)]
fn sxtb16_ror8(x: u32) -> u32 {
    let r: u32;
    // SAFETY: as in `sxtb16`.
    unsafe {
        asm!("sxtb16 {r}, {x}, ror #8", r = lateout(reg) r, x = in(reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    r
}

/// `SXTAB16 r, a, x`: halfwords of `a` plus bytes 0 and 2 of `x`, sign-extended.
#[inline(always)]
fn sxtab16(a: u32, x: u32) -> u32 {
    let r: u32;
    // SAFETY: as in `sxtb16`.
    unsafe {
        asm!("sxtab16 {r}, {a}, {x}", r = lateout(reg) r, a = in(reg) a, x = in(reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    r
}

/// `SXTAB16 r, a, x, ROR #8`: halfwords of `a` plus bytes 1 and 3 of `x`.
#[inline(always)]
fn sxtab16_ror8(a: u32, x: u32) -> u32 {
    let r: u32;
    // SAFETY: as in `sxtb16`.
    unsafe {
        asm!("sxtab16 {r}, {a}, {x}, ror #8", r = lateout(reg) r, a = in(reg) a, x = in(reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    r
}

/// `SMLAD r, a, b, acc`: `acc + a.lo * b.lo + a.hi * b.hi` (wrapping; sets only Q).
#[inline(always)]
fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: as in `sxtb16`; SMLAD writes only the Q flag, which no Rust code reads.
    unsafe {
        asm!("smlad {r}, {a}, {b}, {c}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, c = in(reg) acc, options(pure, nomem, nostack))
    };
    r
}

/// DSP twin of [`super::dot::dot_portable`]; `zp` must be in `[-128, 127]`.
pub(super) fn dot(x: &[i8], w: &[i8], zp: i32) -> i32 {
    let n = x.len().min(w.len());
    let (x, w) = (x.get(..n).unwrap_or(&[]), w.get(..n).unwrap_or(&[]));
    let xs = x.chunks_exact(4);
    let ws = w.chunks_exact(4);
    let (xt, wt) = (xs.remainder(), ws.remainder());
    let neg = (zp.wrapping_neg() as u32) & 0xffff;
    let offset = neg | (neg << 16);
    let mut acc = 0i32;
    for (xc, wc) in xs.zip(ws) {
        let (&[x0, x1, x2, x3], &[w0, w1, w2, w3]) = (xc, wc) else {
            continue;
        };
        let xw = u32::from_le_bytes([x0 as u8, x1 as u8, x2 as u8, x3 as u8]);
        let ww = u32::from_le_bytes([w0 as u8, w1 as u8, w2 as u8, w3 as u8]);
        acc = smlad(sxtab16(offset, xw), sxtb16(ww), acc);
        acc = smlad(sxtab16_ror8(offset, xw), sxtb16_ror8(ww), acc);
    }
    acc.wrapping_add(super::dot::dot_portable(xt, wt, zp))
}

/// Four inner products of `x` with `w[0..4]` (each over `min` of the lengths), as four
/// [`dot`] calls would give them bit for bit (wrapping sums, same products), but each word of
/// `x` is loaded and offset-extended (`SXTAB16`) once for the four rows, the way CMSIS-NN's
/// `arm_nn_vec_mat_mult_t_s8` shares its input.
pub(super) fn dot4(x: &[i8], w: [&[i8]; 4], zp: i32) -> [i32; 4] {
    let n = w.iter().fold(x.len(), |n, r| n.min(r.len()));
    if w.iter().any(|r| r.len() != n) || x.len() != n {
        return w.map(|r| dot(x, r, zp));
    }
    let neg = (zp.wrapping_neg() as u32) & 0xffff;
    let offset = neg | (neg << 16);
    let (xc, xt) = x.as_chunks::<4>();
    let full = xc.len() * 4;
    let [w0, w1, w2, w3] = w.map(|r| r.get(..full).unwrap_or(&[]).as_chunks::<4>().0);
    let mut acc = [0i32; 4];
    for ((((xv, a), b), c), d) in xc.iter().zip(w0).zip(w1).zip(w2).zip(w3) {
        let xw = u32::from_le_bytes(xv.map(|v| v as u8));
        let (xe, xo) = (sxtab16(offset, xw), sxtab16_ror8(offset, xw));
        for (s, r) in acc.iter_mut().zip([a, b, c, d]) {
            let ww = u32::from_le_bytes(r.map(|v| v as u8));
            *s = smlad(xo, sxtb16_ror8(ww), smlad(xe, sxtb16(ww), *s));
        }
    }
    let mut i = 0;
    acc.map(|s| {
        let r = w[i].get(full..).unwrap_or(&[]);
        i += 1;
        s.wrapping_add(super::dot::dot_portable(xt, r, zp))
    })
}
