//! Training hyperparameters and the optimizer and schedule they name.

use crate::data::Mnist;
use born_core::nn::Module;
use born_core::train::optim::{Adam, AdamW, LrSchedule, Optimizer, Sgd};
use std::path::PathBuf;

/// Which optimizer [`TrainConfig::optimizer`] builds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// SGD with the given momentum (0 for none), Nesterov momentum when `nesterov`.
    Sgd {
        /// Momentum factor.
        momentum: f32,
        /// Nesterov momentum (needs `momentum > 0`).
        nesterov: bool,
    },
    /// Adam (betas 0.9 / 0.999, eps 1e-8); weight decay added to the gradient (L2).
    Adam,
    /// AdamW: Adam with decoupled weight decay.
    AdamW,
}

/// How the learning rate moves over the run (after the warmup, if any).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScheduleKind {
    /// The base rate throughout.
    Constant,
    /// Multiplied by `gamma` every `epochs` epochs.
    Step {
        /// Epochs between decays.
        epochs: usize,
        /// Decay factor.
        gamma: f32,
    },
    /// Cosine annealing from the base rate to 0 over all steps of the run.
    Cosine,
}

/// Hyperparameters of [`super::fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per optimizer step.
    pub batch_size: usize,
    /// Base learning rate.
    pub lr: f32,
    /// Weight decay (L2 for SGD and Adam, decoupled for AdamW).
    pub weight_decay: f32,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// The learning-rate schedule.
    pub schedule: ScheduleKind,
    /// Steps of linear warmup from `lr / 10` before the schedule (0 for none).
    pub warmup_steps: usize,
    /// Clip the global gradient norm to this value, if set.
    pub clip_norm: Option<f32>,
    /// Seed of the initialisation, shuffling and dropout.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Parts each batch is cut into for parallel gradient computation. Results depend on
    /// the shard count, not on the thread count.
    pub shards: usize,
    /// Where to save a safetensors checkpoint after each epoch.
    pub checkpoint: Option<PathBuf>,
}

impl Default for TrainConfig {
    /// Adam, lr 1e-3, batch 64, cosine schedule, 1 epoch, seed 0, one thread and one shard.
    fn default() -> Self {
        TrainConfig {
            epochs: 1,
            batch_size: 64,
            lr: 1e-3,
            weight_decay: 0.0,
            optimizer: OptimizerKind::Adam,
            schedule: ScheduleKind::Cosine,
            warmup_steps: 0,
            clip_norm: None,
            seed: 0,
            threads: 1,
            shards: 1,
            checkpoint: None,
        }
    }
}

impl TrainConfig {
    /// The optimizer this configuration names, at the base learning rate.
    pub fn optimizer(&self) -> born_core::Result<Box<dyn Optimizer + Send>> {
        Ok(match self.optimizer {
            OptimizerKind::Sgd { momentum, nesterov } => Box::new(
                Sgd::builder()
                    .lr(self.lr)
                    .momentum(momentum)
                    .nesterov(nesterov)
                    .weight_decay(self.weight_decay)
                    .build()?,
            ),
            OptimizerKind::Adam => Box::new(
                Adam::builder()
                    .lr(self.lr)
                    .weight_decay(self.weight_decay)
                    .build()?,
            ),
            OptimizerKind::AdamW => Box::new(
                AdamW::builder()
                    .lr(self.lr)
                    .weight_decay(self.weight_decay)
                    .build()?,
            ),
        })
    }

    /// The learning-rate schedule over a run of `steps_per_epoch * epochs` steps.
    pub fn schedule(&self, steps_per_epoch: usize) -> born_core::Result<LrSchedule> {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let total = clamp(steps_per_epoch.saturating_mul(self.epochs));
        let main = match self.schedule {
            ScheduleKind::Constant => LrSchedule::constant(self.lr)?,
            ScheduleKind::Step { epochs, gamma } => LrSchedule::step(
                self.lr,
                clamp(steps_per_epoch.saturating_mul(epochs)),
                gamma,
            )?,
            ScheduleKind::Cosine => LrSchedule::cosine(
                self.lr,
                total.saturating_sub(clamp(self.warmup_steps)).max(1),
                0.0,
            )?,
        };
        if self.warmup_steps == 0 {
            Ok(main)
        } else {
            main.with_warmup(0.1, clamp(self.warmup_steps))
        }
    }
}

/// [`super::fit`] with the optimizer and schedule `cfg` names.
pub fn train<M: Module<super::Ad> + Sync + ?Sized>(
    model: &mut M,
    train: &Mnist,
    test: &Mnist,
    cfg: &TrainConfig,
    observer: &mut dyn FnMut(&super::Event),
) -> crate::Result<Vec<super::EpochStats>> {
    let mut opt = cfg.optimizer()?;
    let schedule = cfg.schedule(train.len.div_ceil(cfg.batch_size.max(1)))?;
    let lr_at = |s: usize| schedule.lr_at(u32::try_from(s).unwrap_or(u32::MAX));
    super::fit(model, train, test, cfg, &mut *opt, &lr_at, observer)
}
