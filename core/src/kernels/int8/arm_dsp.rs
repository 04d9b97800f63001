//! Cortex-M4/M7 (ARMv7E-M DSP extension) inner product: four int8 per 32-bit load, unpacked
//! into pairs of i16 by `SXTB16` / `SXTAB16` (the latter adding `-zp` to each half, exact
//! since `x - zp` is in `[-255, 255]`), and two dual 16-bit multiply-accumulates `SMLAD` per
//! word. `SMLAD` wraps its 32-bit sum (it only sets the Q flag), like the scalar sum, so the
//! result equals [`super::dot::dot_portable`] bit for bit. An input that many weight rows
//! share (a fully connected layer's, a convolution's receptive field) is offset-extended
//! once into scratch ([`extend`]), so the loop over four rows ([`dot4_extended`]) loads it
//! already paired with `LDRD`.

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

/// One input word against the four rows: offset-extend the word of `x` (`SXTAB16`, the
/// offset on the stack), then per row (1, 0, 3, 2: rows 1 and 3 at `stride` past 0 and 2) load
/// a word, extend its even and odd bytes and `SMLAD` them into that row's sum.
macro_rules! dsp_word {
    () => {
        concat!(
            "ldr {u}, [sp]\n",
            "ldr {xo}, [{x}], #4\n",
            "sxtab16 {xe}, {u}, {xo}\n",
            "sxtab16 {xo}, {u}, {xo}, ror #8\n",
            "ldr {t}, [{a}, {s}]\n",
            "sxtb16 {u}, {t}\n smlad {acc1}, {xe}, {u}, {acc1}\n",
            "sxtb16 {t}, {t}, ror #8\n smlad {acc1}, {xo}, {t}, {acc1}\n",
            "ldr {t}, [{a}], #4\n",
            "sxtb16 {u}, {t}\n smlad {acc0}, {xe}, {u}, {acc0}\n",
            "sxtb16 {t}, {t}, ror #8\n smlad {acc0}, {xo}, {t}, {acc0}\n",
            "ldr {t}, [{c}, {s}]\n",
            "sxtb16 {u}, {t}\n smlad {acc3}, {xe}, {u}, {acc3}\n",
            "sxtb16 {t}, {t}, ror #8\n smlad {acc3}, {xo}, {t}, {acc3}\n",
            "ldr {t}, [{c}], #4\n",
            "sxtb16 {u}, {t}\n smlad {acc2}, {xe}, {u}, {acc2}\n",
            "sxtb16 {t}, {t}, ror #8\n smlad {acc2}, {xo}, {t}, {acc2}\n",
        )
    };
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
    let steps = n / 8;
    let full = steps * 8;
    let xt = x.get(full..).unwrap_or(&[]);
    let mut acc = [0i32; 4];
    if steps > 0 {
        let [a0, a1, a2, a3] = &mut acc;
        let at = |r: &[i8]| r.as_ptr() as usize;
        let stride = at(w[1]).wrapping_sub(at(w[0]));
        let even =
            at(w[3]).wrapping_sub(at(w[2])) == stride && at(w[2]).wrapping_sub(at(w[1])) == stride;
        if !even {
            return w.map(|r| dot(x, r, zp));
        }
        // `x` end (the loop's stop) and the offset, kept on the stack by the asm.
        let params = [offset, x.as_ptr().wrapping_add(full) as u32];
        // SAFETY: each iteration reads 8 bytes of `x` and of each row, `steps >= 1` times:
        // `steps * 8 = full <= n`, and `x` and the four rows hold `n` bytes each (checked
        // above). Rows 1 and 3 are read at `stride` past rows 0 and 2, which is where they are
        // (`even`, checked above). Loads are unaligned LDR (allowed on Armv7E-M/Armv7-A for
        // LDR). The two parameter words are pushed first and popped (sp restored) last;
        // every register the asm writes is a declared output; program memory is only read;
        // the flags are not preserved.
        unsafe {
            asm!(
                "ldr {u}, [{t}, #4]",
                "push {{{u}}}",
                "ldr {u}, [{t}]",
                "push {{{u}}}",
                "2:",
                dsp_word!(),
                dsp_word!(),
                "ldr {u}, [sp, #4]",
                "cmp {x}, {u}",
                "bne 2b",
                "add sp, sp, #8",
                t = inout(reg) params.as_ptr() => _,
                x = inout(reg) x.as_ptr() => _,
                a = inout(reg) w[0].as_ptr() => _,
                c = inout(reg) w[2].as_ptr() => _,
                s = in(reg) stride,
                acc0 = inout(reg) *a0,
                acc1 = inout(reg) *a1,
                acc2 = inout(reg) *a2,
                acc3 = inout(reg) *a3,
                xe = out(reg) _,
                xo = out(reg) _,
                u = out(reg) _,
                options(readonly),
            );
        }
    }
    let mut i = 0;
    acc.map(|s| {
        let r = w[i].get(full..).unwrap_or(&[]);
        i += 1;
        s.wrapping_add(super::dot::dot_portable(xt, r, zp))
    })
}

/// Offset-extends each whole word of `x` (four int8) into `ext`: `ext[2i]` holds bytes 0 and
/// 2 of word `i`, `ext[2i + 1]` bytes 1 and 3, each as an `i16` with `-zp` added (exact:
/// `x - zp` is in `[-255, 255]` for `zp` in `[-128, 127]`). Fills
/// `min(x.len() / 4, ext.len() / 2)` word pairs.
pub(super) fn extend(x: &[i8], zp: i32, ext: &mut [u32]) {
    let neg = (zp.wrapping_neg() as u32) & 0xffff;
    let offset = neg | (neg << 16);
    for (xc, e) in x.chunks_exact(4).zip(ext.chunks_exact_mut(2)) {
        let (&[x0, x1, x2, x3], [e0, e1]) = (xc, e) else {
            continue;
        };
        let xw = u32::from_le_bytes([x0 as u8, x1 as u8, x2 as u8, x3 as u8]);
        *e0 = sxtab16(offset, xw);
        *e1 = sxtab16_ror8(offset, xw);
    }
}

/// One pre-extended input word pair against the four rows: `LDRD` the pair into r4/r5, then per row
/// (1, 0, 3, 2: rows 1 and 3 at `stride` past 0 and 2) load a word, extend its even and odd
/// bytes and `SMLAD` them into that row's sum.
macro_rules! ext_word {
    () => {
        concat!(
            "ldrd r4, r5, [{x}], #8\n",
            "ldr {t}, [{a}, {s}]\n",
            "sxtb16 {u}, {t}\n smlad {acc1}, r4, {u}, {acc1}\n",
            "sxtb16 {t}, {t}, ror #8\n smlad {acc1}, r5, {t}, {acc1}\n",
            "ldr {t}, [{a}], #4\n",
            "sxtb16 {u}, {t}\n smlad {acc0}, r4, {u}, {acc0}\n",
            "sxtb16 {t}, {t}, ror #8\n smlad {acc0}, r5, {t}, {acc0}\n",
            "ldr {t}, [{c}, {s}]\n",
            "sxtb16 {u}, {t}\n smlad {acc3}, r4, {u}, {acc3}\n",
            "sxtb16 {t}, {t}, ror #8\n smlad {acc3}, r5, {t}, {acc3}\n",
            "ldr {t}, [{c}], #4\n",
            "sxtb16 {u}, {t}\n smlad {acc2}, r4, {u}, {acc2}\n",
            "sxtb16 {t}, {t}, ror #8\n smlad {acc2}, r5, {t}, {acc2}\n",
        )
    };
}

/// The four rows of `q` (consecutive, `x.len()` bytes each) against `x` as [`dot4`] gives
/// them, with the input's words already extended by [`extend`] into `ext` (which must
/// cover at least the whole words of `x`, else this is [`dot4`]): 21 instructions per 16
/// MACs plus 3 per 128 for the loop, against [`dot4`]'s 24 and 3 per 32. Same bits.
#[inline(always)]
pub(super) fn dot4_extended(ext: &[u32], x: &[i8], q: &[i8], zp: i32) -> [i32; 4] {
    let n = x.len();
    let row = |i: usize| q.get(i * n..(i + 1) * n).unwrap_or(&[]);
    if q.len() != 4 * n || ext.len() < 2 * (n / 4) {
        return dot4(x, [row(0), row(1), row(2), row(3)], zp);
    }
    let stride = n;
    let steps = n / 16;
    let full = steps * 16;
    let mut acc = [0i32; 4];
    if steps > 0 {
        let [a0, a1, a2, a3] = &mut acc;
        // The loop's stop: past the `2 * full / 4` words of `ext` it reads.
        let end = ext.as_ptr().wrapping_add(full / 2) as u32;
        // The loop body is two blocks of four words; an odd number of blocks enters at the
        // second (every block advances the same pointers, so any block can come first).
        // SAFETY: each block reads 8 words of `ext` and 16 bytes of each row, `steps >= 1`
        // times in all: `ext` holds at least `2 * (n / 4) >= full / 2` words and the rows `n >= full`
        // bytes each (checked above). `ext` is a `u32` slice, so every `LDRD` is word-aligned
        // as the instruction requires; the row loads are unaligned `LDR` (allowed on
        // Armv7E-M). Rows 1 and 3 are read at `stride = n` past rows 0 and 2, which is where
        // they are in `q` (`4 * n` bytes, checked above). The end pointer is pushed first and popped (sp
        // restored) last; every register the asm writes is a declared output; program memory
        // is only read; the flags are not preserved.
        unsafe {
            asm!(
                "push {{{t}}}",
                "cmp {u}, #0",
                "bne 3f",
                "2:",
                ext_word!(),
                ext_word!(),
                ext_word!(),
                ext_word!(),
                "3:",
                ext_word!(),
                ext_word!(),
                ext_word!(),
                ext_word!(),
                "ldr {u}, [sp]",
                "cmp {x}, {u}",
                "bne 2b",
                "add sp, sp, #4",
                t = inout(reg) end => _,
                x = inout(reg) ext.as_ptr() => _,
                a = inout(reg) q.as_ptr() => _,
                c = inout(reg) q.as_ptr().wrapping_add(2 * n) => _,
                s = in(reg) stride,
                acc0 = inout(reg) *a0,
                acc1 = inout(reg) *a1,
                acc2 = inout(reg) *a2,
                acc3 = inout(reg) *a3,
                // The extended pair: A32's `LDRD` wants an even register and its successor.
                out("r4") _,
                out("r5") _,
                u = inout(reg) steps % 2 => _,
                options(readonly),
            );
        }
    }
    if full == n {
        return acc;
    }
    // The last `n % 16` elements: through `dot4`'s two-word loop and its scalar tail.
    let tail = dot4(
        x.get(full..).unwrap_or(&[]),
        [0, 1, 2, 3].map(|i| row(i).get(full..).unwrap_or(&[])),
        zp,
    );
    for (s, t) in acc.iter_mut().zip(tail) {
        *s = s.wrapping_add(t);
    }
    acc
}
