//! Learning-rate schedules: a value that maps a step number to a learning rate, with no state.

use super::Optimizer;
use crate::error::{Error, Result};
use crate::kernels::math;

const OP: &str = "lr_schedule";

/// The main schedule, after any warmup.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Decay {
    Constant,
    Step { step_size: u32, gamma: f32 },
    Cosine { t_max: u32, eta_min: f32 },
}

/// Linear warmup over the first `steps` steps.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Warmup {
    start_factor: f32,
    steps: u32,
}

/// A learning-rate schedule: [`LrSchedule::lr_at`] gives the rate for step `s` (0 for the first
/// step) in closed form, so the schedule keeps no state and any step can be asked in any order.
///
/// Main schedules, with `b` the base learning rate and `k` the step counted from the end of
/// the warmup:
/// - constant ([`LrSchedule::constant`]): `b`.
/// - step decay ([`LrSchedule::step`], `torch.optim.lr_scheduler.StepLR`):
///   `b * gamma^floor(k / step_size)`.
/// - cosine annealing ([`LrSchedule::cosine`], `CosineAnnealingLR`'s closed form):
///   `eta_min + (b - eta_min) * (1 + cos(pi * k / t_max)) / 2` for `k <= t_max`, then
///   `eta_min` for every later step. PyTorch's formula would rise again after `t_max` (a cosine
///   period is `2 t_max`); this schedule holds the minimum instead.
///
/// [`LrSchedule::with_warmup`] puts `W` warmup steps in front: for `s < W` the rate is
/// `b * (f + (1 - f) * s / W)` (PyTorch's `LinearLR(start_factor=f, end_factor=1,
/// total_iters=W)`), and from `s = W` on it is the main schedule at `k = s - W`. This is
/// `SequentialLR(schedulers=[LinearLR(..), main], milestones=[W])`: the main schedule starts
/// from its own step 0 (rate `b`) at step `W`, so a cosine reaches `eta_min` at step
/// `W + t_max` and a step decay first decays at step `W + step_size`.
///
/// The arithmetic is f32. The cosine factor is computed as `cos^2(pi/2 * k/t_max)` for
/// `k <= t_max / 2` and `sin^2(pi/2 * (t_max - k)/t_max)` beyond (the same value without the
/// cancellation in `1 + cos` near the end), so rates stay within a few ulp of PyTorch's float64
/// ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    base_lr: f32,
    decay: Decay,
    warmup: Option<Warmup>,
}

fn check_base(base_lr: f32) -> Result<f32> {
    if base_lr.is_finite() && base_lr >= 0.0 {
        Ok(base_lr)
    } else {
        Err(Error::InvalidArgument {
            op: OP,
            what: "base learning rate must be finite and >= 0",
        })
    }
}

impl LrSchedule {
    /// The rate `base_lr` at every step. Error: `InvalidArgument` unless `base_lr` is finite
    /// and `>= 0`.
    pub fn constant(base_lr: f32) -> Result<LrSchedule> {
        Ok(LrSchedule {
            base_lr: check_base(base_lr)?,
            decay: Decay::Constant,
            warmup: None,
        })
    }

    /// `base_lr` multiplied by `gamma` every `step_size` steps (PyTorch's `StepLR`). Errors:
    /// `InvalidArgument` unless `base_lr` is finite and `>= 0` and `0 < gamma <= 1`;
    /// `ZeroDim` for `step_size == 0`.
    pub fn step(base_lr: f32, step_size: u32, gamma: f32) -> Result<LrSchedule> {
        let base_lr = check_base(base_lr)?;
        if step_size == 0 {
            return Err(Error::ZeroDim {
                op: OP,
                what: "step_size",
            });
        }
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "gamma must be in (0, 1]",
            });
        }
        Ok(LrSchedule {
            base_lr,
            decay: Decay::Step { step_size, gamma },
            warmup: None,
        })
    }

    /// Cosine annealing from `base_lr` down to `eta_min` over `t_max` steps, then `eta_min`
    /// (PyTorch's `CosineAnnealingLR` up to step `t_max`). Errors: `InvalidArgument` unless
    /// `base_lr` is finite and `>= 0` and `0 <= eta_min <= base_lr`; `ZeroDim` for
    /// `t_max == 0`.
    pub fn cosine(base_lr: f32, t_max: u32, eta_min: f32) -> Result<LrSchedule> {
        let base_lr = check_base(base_lr)?;
        if t_max == 0 {
            return Err(Error::ZeroDim {
                op: OP,
                what: "t_max",
            });
        }
        if !(eta_min >= 0.0 && eta_min <= base_lr) {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "eta_min must be in [0, base learning rate]",
            });
        }
        Ok(LrSchedule {
            base_lr,
            decay: Decay::Cosine { t_max, eta_min },
            warmup: None,
        })
    }

    /// The same schedule behind a linear warmup of `steps` steps starting at
    /// `start_factor * base_lr` (see the type's doc for the exact rates). Replaces any earlier
    /// warmup. Errors: `InvalidArgument` unless `0 <= start_factor <= 1` (PyTorch's `LinearLR`
    /// also rejects 0, which its recursive form cannot start from; the closed form here can);
    /// `ZeroDim` for `steps == 0`.
    pub fn with_warmup(self, start_factor: f32, steps: u32) -> Result<LrSchedule> {
        if !(0.0..=1.0).contains(&start_factor) {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "warmup start_factor must be in [0, 1]",
            });
        }
        if steps == 0 {
            return Err(Error::ZeroDim {
                op: OP,
                what: "warmup steps",
            });
        }
        Ok(LrSchedule {
            warmup: Some(Warmup {
                start_factor,
                steps,
            }),
            ..self
        })
    }

    /// The base learning rate.
    pub fn base_lr(&self) -> f32 {
        self.base_lr
    }

    /// The learning rate of step `step` (0 for the first step).
    pub fn lr_at(&self, step: u32) -> f32 {
        let b = self.base_lr;
        let mut k = step;
        if let Some(w) = self.warmup {
            if step < w.steps {
                let f = w.start_factor;
                return b * (f + (1.0 - f) * (step as f32 / w.steps as f32));
            }
            k = step - w.steps;
        }
        match self.decay {
            Decay::Constant => b,
            Decay::Step { step_size, gamma } => b * math::pow(gamma, (k / step_size) as f32),
            Decay::Cosine { t_max, eta_min } => {
                if k >= t_max {
                    return eta_min;
                }
                let half_pi = core::f32::consts::FRAC_PI_2;
                let rest = t_max - k;
                let factor = if k <= rest {
                    let c = math::cos(half_pi * (k as f32 / t_max as f32));
                    c * c
                } else {
                    let s = math::sin(half_pi * (rest as f32 / t_max as f32));
                    s * s
                };
                eta_min + (b - eta_min) * factor
            }
        }
    }

    /// Sets `optimizer`'s learning rate to [`LrSchedule::lr_at`]`(step)`; call it before the
    /// step's updates.
    pub fn apply<O: Optimizer + ?Sized>(&self, optimizer: &mut O, step: u32) {
        optimizer.set_learning_rate(self.lr_at(step));
    }
}
