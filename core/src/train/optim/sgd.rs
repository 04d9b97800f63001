//! Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
//! decay: the update of `torch.optim.SGD` (its single-tensor path, `maximize=False`).

use super::common::{check, check_lengths, valid_lr, Slots};
use super::Optimizer;
use crate::error::{Error, Result};
use alloc::vec;
use alloc::vec::Vec;

const OP: &str = "sgd";

/// Stochastic gradient descent, as `torch.optim.SGD` computes it. Per element, with `g` the
/// gradient and `p` the parameter:
///
/// ```text
/// g = g + weight_decay * p                           (if weight_decay != 0)
/// if momentum != 0:
///     b = g                                          (first update of this index)
///     b = momentum * b + (1 - dampening) * g         (later updates)
///     g = g + momentum * b  if nesterov, else  g = b
/// p = p - lr * g
/// ```
///
/// All arithmetic is f32. The momentum buffer of a parameter is created on its first update
/// (only when `momentum != 0`; the length is recorded either way).
#[derive(Clone, Debug)]
pub struct Sgd {
    lr: f32,
    momentum: f32,
    dampening: f32,
    nesterov: bool,
    weight_decay: f32,
    buffers: Slots<Vec<f32>>,
}

/// Settings of an [`Sgd`], with PyTorch's defaults: `lr = 1e-3`, `momentum = 0`,
/// `dampening = 0`, `nesterov = false`, `weight_decay = 0`. [`SgdBuilder::build`] validates
/// them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdBuilder {
    lr: f32,
    momentum: f32,
    dampening: f32,
    nesterov: bool,
    weight_decay: f32,
}

impl Default for SgdBuilder {
    fn default() -> Self {
        SgdBuilder {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl SgdBuilder {
    /// Learning rate: finite and `>= 0`.
    pub fn lr(mut self, lr: f32) -> Self {
        self.lr = lr;
        self
    }

    /// Momentum factor: finite and `>= 0` (0 turns momentum off).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Dampening of the gradient's share in the momentum buffer: in `[0, 1]` (PyTorch does not
    /// check the range).
    pub fn dampening(mut self, dampening: f32) -> Self {
        self.dampening = dampening;
        self
    }

    /// Nesterov momentum: needs `momentum > 0` and `dampening == 0`.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// L2 penalty added to the gradient (`g + weight_decay * p`): finite and `>= 0`.
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Checks the settings and makes the optimizer. Errors: `InvalidArgument { op: "sgd" }`
    /// for a setting outside the range its setter states, or `nesterov` without
    /// `momentum > 0` and `dampening == 0`.
    pub fn build(self) -> Result<Sgd> {
        let lr = check(OP, self.lr, valid_lr, "lr must be finite and >= 0")?;
        let momentum = check(
            OP,
            self.momentum,
            |m| m.is_finite() && m >= 0.0,
            "momentum must be finite and >= 0",
        )?;
        let dampening = check(
            OP,
            self.dampening,
            |d| (0.0..=1.0).contains(&d),
            "dampening must be in [0, 1]",
        )?;
        let weight_decay = check(
            OP,
            self.weight_decay,
            |w| w.is_finite() && w >= 0.0,
            "weight_decay must be finite and >= 0",
        )?;
        if self.nesterov && (momentum <= 0.0 || dampening != 0.0) {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "nesterov momentum requires momentum > 0 and dampening == 0",
            });
        }
        Ok(Sgd {
            lr,
            momentum,
            dampening,
            nesterov: self.nesterov,
            weight_decay,
            buffers: Slots::new(),
        })
    }
}

impl Sgd {
    /// Settings with PyTorch's defaults, to adjust and [`SgdBuilder::build`].
    pub fn builder() -> SgdBuilder {
        SgdBuilder::default()
    }

    /// Plain SGD (`p -= lr * g`). Error: `InvalidArgument` unless `lr` is finite and `>= 0`.
    pub fn new(lr: f32) -> Result<Sgd> {
        Sgd::builder().lr(lr).build()
    }

    /// Forgets every parameter's momentum buffer and recorded length; the next update of an
    /// index starts afresh.
    pub fn reset(&mut self) {
        self.buffers.clear();
    }
}

impl Optimizer for Sgd {
    /// SGD keeps no per-step state: nothing to do.
    fn begin_step(&mut self) {}

    fn update(&mut self, index: usize, param: &mut [f32], grad: &[f32]) -> Result<()> {
        check_lengths(OP, param, grad)?;
        let momentum = self.momentum;
        let make = |len: usize| {
            if momentum != 0.0 {
                vec![0.0; len]
            } else {
                Vec::new()
            }
        };
        let (buf, first) = self.buffers.get(OP, index, param.len(), make)?;
        let neg_lr = -self.lr;
        let wd = self.weight_decay;
        let decayed = |p: f32, g: f32| if wd != 0.0 { g + wd * p } else { g };
        if momentum == 0.0 {
            for (p, &g) in param.iter_mut().zip(grad) {
                let d = decayed(*p, g);
                *p += neg_lr * d;
            }
            return Ok(());
        }
        let keep = 1.0 - self.dampening;
        let nesterov = self.nesterov;
        for ((p, &g), b) in param.iter_mut().zip(grad).zip(buf.iter_mut()) {
            let d = decayed(*p, g);
            *b = if first { d } else { *b * momentum + keep * d };
            let step = if nesterov { d + momentum * *b } else { *b };
            *p += neg_lr * step;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    /// Sets the learning rate as given (not validated: a negative or NaN rate is used as is).
    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}
