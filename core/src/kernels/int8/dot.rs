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
