//! The int8 inner product `Σ (x[i] - zp) * w[i]` (wrapping `i32`), on every path.

use super::Isa;

/// Portable inner product over `min(x.len(), w.len())` elements. On Arm targets with the
/// DSP extension this is the SMLAD code.
#[inline]
pub(crate) fn dot_generic(x: &[i8], w: &[i8], zp: i32) -> i32 {
    #[cfg(all(target_arch = "arm", any(target_feature = "dsp", feature = "arm-dsp")))]
    {
        super::arm_dsp::dot(x, w, zp)
    }
    #[cfg(not(all(target_arch = "arm", any(target_feature = "dsp", feature = "arm-dsp"))))]
    {
        dot_portable(x, w, zp)
    }
}

/// Plain loop; `(x - zp) * w` is at most 255 * 128 in magnitude, so only the sum can wrap.
#[inline]
pub(crate) fn dot_portable(x: &[i8], w: &[i8], zp: i32) -> i32 {
    let mut acc = 0i32;
    for (&a, &b) in x.iter().zip(w) {
        acc = acc.wrapping_add((i32::from(a) - zp) * i32::from(b));
    }
    acc
}

/// Inner product on `isa`, which the caller has checked is available.
#[inline]
pub(crate) fn dot(isa: Isa, x: &[i8], w: &[i8], zp: i32) -> i32 {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa` is `Avx2Fma` only after `Isa::is_available` confirmed AVX2 and FMA.
        Isa::Avx2Fma => unsafe { super::x86::dot(x, w, zp) },
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => super::aarch64::dot(x, w, zp),
        _ => dot_generic(x, w, zp),
    }
}

/// Four inner products of `x` with `w[0..4]` on `isa` (checked available by the caller).
#[inline]
pub(crate) fn dot4(isa: Isa, x: &[i8], w: [&[i8]; 4], zp: i32) -> [i32; 4] {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa` is `Avx2Fma` only after `Isa::is_available` confirmed AVX2 and FMA.
        Isa::Avx2Fma => unsafe { super::x86::dot4(x, w, zp) },
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => super::aarch64::dot4(x, w, zp),
        _ => dot4_generic(x, w, zp),
    }
}

/// Portable four inner products; on Arm targets with the DSP extension the SMLAD code that
/// shares each word of `x` between the four rows.
#[inline]
fn dot4_generic(x: &[i8], w: [&[i8]; 4], zp: i32) -> [i32; 4] {
    #[cfg(all(target_arch = "arm", any(target_feature = "dsp", feature = "arm-dsp")))]
    {
        super::arm_dsp::dot4(x, w, zp)
    }
    #[cfg(not(all(target_arch = "arm", any(target_feature = "dsp", feature = "arm-dsp"))))]
    {
        w.map(|r| dot_generic(x, r, zp))
    }
}

/// `u32` words of scratch [`Shared::new`] takes for an input of `n` elements: two per whole
/// word of four, on every target (the Arm DSP code fills them; elsewhere they go unused),
/// so a size computed on the host holds on any board.
pub(crate) const fn shared_words(n: usize) -> usize {
    2 * (n / 4)
}

/// One input vector against many weight rows, four at a time. On the Arm DSP path the
/// input's words are offset-extended once into scratch (`arm_dsp::extend`), so each
/// four-row pass loads them ready; elsewhere the rows go to [`dot4`] directly.
pub(crate) struct Shared<'a> {
    isa: Isa,
    x: &'a [i8],
    zp: i32,
    /// The extended words; empty where not used (or when the scratch was short, which
    /// gives the same bits through [`dot4`]).
    #[cfg_attr(
        not(all(target_arch = "arm", any(target_feature = "dsp", feature = "arm-dsp"))),
        allow(dead_code)
    )]
    ext: &'a [u32],
}

impl<'a> Shared<'a> {
    /// Prepares `x` (zero point `zp`, in `[-128, 127]`) for inner products on `isa`,
    /// using the first [`shared_words`]`(x.len())` words of `scratch`.
    pub(crate) fn new(isa: Isa, x: &'a [i8], zp: i32, scratch: &'a mut [u32]) -> Self {
        let words = shared_words(x.len());
        let ext: &'a [u32] = match scratch.get_mut(..words) {
            #[cfg(all(target_arch = "arm", any(target_feature = "dsp", feature = "arm-dsp")))]
            Some(e) if words > 0 && matches!(isa, Isa::Generic) => {
                super::arm_dsp::extend(x, zp, e);
                e
            }
            _ => &[],
        };
        Shared { isa, x, zp, ext }
    }

    /// Inner products of the input with the four consecutive rows of `q` (each
    /// `x.len()` bytes; as [`dot4`]).
    #[inline(always)]
    pub(crate) fn dot4(&self, q: &[i8]) -> [i32; 4] {
        #[cfg(all(target_arch = "arm", any(target_feature = "dsp", feature = "arm-dsp")))]
        if !self.ext.is_empty() {
            return super::arm_dsp::dot4_extended(self.ext, self.x, q, self.zp);
        }
        let n = self.x.len();
        let row = |i: usize| q.get(i * n..(i + 1) * n).unwrap_or(&[]);
        dot4(self.isa, self.x, [row(0), row(1), row(2), row(3)], self.zp)
    }

    /// Inner product of the input with one row (as [`dot`]).
    #[inline]
    pub(crate) fn dot(&self, w: &[i8]) -> i32 {
        dot(self.isa, self.x, w, self.zp)
    }
}
