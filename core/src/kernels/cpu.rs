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

/// An instruction-set path a kernel can run. The plain kernel entry points pick
/// [`Isa::detect`]; the `*_with` / `*_for` variants take one explicitly, which is how tests
/// reach every path the CPU has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust in fixed-width chunks that LLVM vectorises where the target allows (and
    /// that runs as straight FPU code on microcontrollers).
    Generic,
    /// x86_64 with AVX2 and FMA.
    Avx2Fma,
    /// aarch64 NEON.
    Neon,
}

impl Isa {
    /// Every path, available here or not.
    pub const ALL: [Isa; 3] = [Isa::Generic, Isa::Avx2Fma, Isa::Neon];

    /// Whether this CPU can run the path ([`Isa::Generic`] always can).
    pub fn is_available(self) -> bool {
        match self {
            Isa::Generic => true,
            Isa::Avx2Fma => has_avx2_fma(),
            Isa::Neon => has_neon(),
        }
    }

    /// The fastest available path.
    pub fn detect() -> Isa {
        if has_avx2_fma() {
            Isa::Avx2Fma
        } else if has_neon() {
            Isa::Neon
        } else {
            Isa::Generic
        }
    }
}
