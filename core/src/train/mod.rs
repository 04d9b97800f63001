//! Training (feature `train`): reverse-mode autodiff, losses, optimizers and learning-rate
//! schedules.
//!
//! [`Autodiff`] wraps a backend (usually [`crate::backend::Cpu`]) and records a graph of the
//! operations as they run; the nn modules built on it get trainable parameters unchanged:
//!
//! ```
//! use born_core::backend::{Backend, Cpu};
//! use born_core::nn::{Linear, Module, ReLU, Sequential};
//! use born_core::train::{apply_grads, loss, optim::Adam, param_grads, Autodiff};
//! use born_core::{Rng, Tensor};
//!
//! let backend = Autodiff::new(Cpu);
//! let mut rng = Rng::seed(0);
//! let mut model = Sequential::new()
//!     .push(Linear::new(4, 8, &backend, &mut rng)?)
//!     .push(ReLU)
//!     .push(Linear::new(8, 3, &backend, &mut rng)?);
//! let x = backend.constant(&Tensor::randn(&[5, 4], &mut rng)?)?;
//! let labels = Tensor::from_vec(vec![0, 1, 2, 1, 0], &[5])?;
//! let mut opt = Adam::new(1e-2)?;
//! for _ in 0..10 {
//!     let logits = model.forward_train(&backend, &x, &mut rng)?;
//!     let loss = loss::cross_entropy(&backend, &logits, &labels)?;
//!     let grads = backend.backward(&loss)?;
//!     let g = param_grads(&model, &grads);
//!     apply_grads(&mut model, &g, &mut opt)?;
//! }
//! // Evaluation records nothing.
//! let eval = backend.no_grad();
//! let logits = model.forward(&eval, &x)?;
//! assert!(!logits.requires_grad());
//! # Ok::<(), born_core::Error>(())
//! ```
//!
//! Gradients are accumulated in an order fixed by the graph, so the same seed gives the same
//! bits on every run.

mod autodiff;
mod graph;
pub mod loss;
pub mod optim;
mod step;
mod var;

pub use autodiff::Autodiff;
pub use graph::Gradients;
pub use step::{apply_grads, param_grads};
pub use var::Var;
