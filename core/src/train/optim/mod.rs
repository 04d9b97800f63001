//! Optimizers, learning-rate schedules and gradient clipping.
//!
//! Optimizers work on host `f32` slices: the training loop hands each parameter and its
//! gradient to [`Optimizer::update`] under a stable index, after one
//! [`Optimizer::begin_step`] per step.
//!
//! - [`Sgd`] (momentum, dampening, Nesterov, L2 weight decay), [`Adam`] (L2 weight decay) and
//!   [`AdamW`] (decoupled weight decay) compute what `torch.optim.SGD`, `Adam` and `AdamW`
//!   compute, in f32; their builders start from PyTorch's defaults and check every setting.
//!   Per-parameter state is created on the index's first update.
//! - [`LrSchedule`]: constant, step decay or cosine annealing, each with an optional linear
//!   warmup, as a closed-form `step -> learning rate` map.
//! - [`clip_grad_norm`]: scaling by the global L2 norm (`torch.nn.utils.clip_grad_norm_`).
//!
//! `core/tests/optim.rs` replays PyTorch runs recorded by `scripts/fixtures/optim.py`.

use crate::error::Result;

/// A first-order optimizer that updates parameters in place.
pub trait Optimizer {
    /// Starts a new step. Call once per step, before the step's [`Optimizer::update`] calls
    /// (Adam's bias correction counts these).
    fn begin_step(&mut self);

    /// Updates parameter number `index` in place from its gradient. The same index must name
    /// the same parameter on every step; a length different from the first call's for that
    /// index, or `param` and `grad` of different lengths, is an error.
    fn update(&mut self, index: usize, param: &mut [f32], grad: &[f32]) -> Result<()>;

    /// The learning rate the next update uses.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate (schedules call this between steps).
    fn set_learning_rate(&mut self, lr: f32);
}

mod adam;
mod clip;
mod common;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamBuilder, AdamW, AdamWBuilder};
pub use clip::clip_grad_norm;
pub use schedule::LrSchedule;
pub use sgd::{Sgd, SgdBuilder};
