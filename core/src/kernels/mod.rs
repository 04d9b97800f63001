//! f32 compute kernels, one module per op family.
//!
//! Each family exposes a dispatching entry point (which picks the fastest path this CPU
//! supports) and a `*_reference` twin: plain scalar code that is the specification the fast
//! paths are tested against. Kernels work on contiguous slices plus explicit dimensions and
//! check every length before touching memory, returning [`crate::Error`] instead of
//! panicking. None of them allocates.

pub mod activation;
pub mod compare;
pub mod conv;
pub mod cpu;
pub mod elementwise;
pub mod gather;
pub mod gemm;
#[cfg(feature = "train")]
pub mod grad;
pub mod grid_sample;
pub mod int8;
pub mod math;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod resize;
pub mod softmax;
pub mod tensor;
pub mod unary;

/// [`crate::Error::BufferTooSmall`] unless a buffer of `len` elements holds the `needed` ones.
pub(crate) fn check_len(
    op: &'static str,
    what: &'static str,
    needed: usize,
    len: usize,
) -> crate::Result<()> {
    if len < needed {
        return Err(crate::Error::BufferTooSmall {
            op,
            what,
            needed,
            len,
        });
    }
    Ok(())
}
