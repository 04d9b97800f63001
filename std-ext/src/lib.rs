//! # born-std
//!
//! Born on an operating system: what `born-core` leaves out because it needs threads, files
//! or a network. It turns on born-core's `std` feature (runtime CPU feature detection, so the
//! AVX2+FMA kernels are used wherever the CPU has them) and re-exports the core crate, so a
//! host application depends on this crate alone.

pub use born_core as core;
