//! # born-std
//!
//! Born on an operating system: what `born-core` leaves out because it needs threads, files
//! or a network. It turns on born-core's `std` feature (runtime CPU feature detection, so the
//! AVX2+FMA kernels are used wherever the CPU has them) and re-exports the core crate, so a
//! host application depends on this crate alone.
//!
//! - [`npy`]: NumPy `.npy` read and write.
//! - [`data`]: the reference data directory and the MNIST / Fashion-MNIST IDX loaders.
//! - [`onnx`]: ONNX import (`born convert`): ONNX models to born graphs and `.born` files.
//! - [`plan`]: the greedy arena planner that places activation tensors at conversion time.
//! - [`export`]: nn modules and graphs to `.born` files with that plan; aligned file loading.
//! - [`quantize`]: post-training int8 quantization with calibration (TFLite's int8 scheme).
//! - [`pool`]: one model, many threads, an arena per concurrent inference.
//! - [`train`]: the multi-threaded training loop, the MNIST models, export of the result.
//! - the `born` command-line tool: `demo`, `train`, `inspect`, `run`, `quantize`, `bench`.
#![deny(missing_docs)]

pub use born_core as core;

pub mod checkpoint;
pub mod data;
pub mod error;
pub mod export;
pub mod npy;
pub mod onnx;
pub mod plan;
pub mod plot;
pub mod pool;
pub mod quantize;
pub mod train;

pub use error::{Error, Result};
pub use pool::Pool;
