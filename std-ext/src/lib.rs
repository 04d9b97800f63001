//! # born-std
//!
//! Born on an operating system: what `born-core` leaves out because it needs threads, files
//! or a network. It turns on born-core's `std` feature (runtime CPU feature detection, so the
//! AVX2+FMA kernels are used wherever the CPU has them) and re-exports the core crate, so a
//! host application depends on this crate alone.
//!
//! - [`npy`]: NumPy `.npy` read and write.
//! - [`data`]: the reference data directory and the MNIST / Fashion-MNIST IDX loaders.
//! - [`plan`]: the greedy arena planner that places activation tensors at conversion time.
#![deny(missing_docs)]

pub use born_core as core;

pub mod data;
pub mod npy;
pub mod plan;
