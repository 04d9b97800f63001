//! # born-core
//!
//! The `#![no_std]` heart of Born: tensors that are views into caller-owned memory, a bump
//! [`arena`] over a caller-supplied buffer, f32 [`kernels`] that each have a portable
//! reference twin, and (with feature `alloc`) owned tensors, the `backend::Backend` seam
//! and the `nn` modules.
//!
//! Nothing here needs a heap unless feature `alloc` is on, nothing panics on bad shapes or
//! sizes (every fallible call returns [`Error`]), and the same inputs give the same bits on
//! every run.
//!
//! Features:
//! - `alloc`: owned `Tensor`, the `nn` modules and the `backend::Cpu` backend.
//! - `std`: runtime CPU feature detection (AVX2 + FMA on x86_64); implies `alloc`.
//! - `train`: reverse-mode autodiff, losses, optimizers and schedules; implies `alloc`.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod arena;
#[cfg(feature = "alloc")]
pub mod backend;
pub mod dtype;
pub mod error;
pub mod interp;
pub mod kernels;
pub mod model;
#[cfg(feature = "alloc")]
pub mod nn;
pub mod ops;
/// int8 quantization parameters and TFLite fixed-point requantization.
pub mod quant;
pub mod rng;
pub mod shape;
pub mod tensor;
#[cfg(feature = "train")]
pub mod train;

pub use arena::Arena;
pub use dtype::{DType, Element};
pub use error::{Error, Result};
pub use interp::Interpreter;
pub use model::{Model, ModelError};
pub use ops::OpResolver;
pub use rng::Rng;
pub use shape::{Shape, MAX_RANK};
#[cfg(feature = "alloc")]
pub use tensor::Tensor;
pub use tensor::{TensorView, TensorViewMut};
