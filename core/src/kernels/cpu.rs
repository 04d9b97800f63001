//! Which instruction-set extensions the fast paths may use on this CPU.
//!
//! With feature `std` the answer comes from runtime detection (cached by the standard
//! library); without it, from the target features the crate was compiled with
//! (`-C target-feature` / `-C target-cpu`).

/// True when AVX2 and FMA may be used (x86_64 only).
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True when NEON may be used (always on aarch64, where it is part of the base ISA).
#[inline]
pub fn has_neon() -> bool {
    cfg!(all(target_arch = "aarch64", target_feature = "neon"))
}
