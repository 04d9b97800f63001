//! Training (feature `train`): reverse-mode autodiff, losses, optimizers and learning-rate
//! schedules.
//!
//! Firmware builds leave the feature off and link none of it.

pub mod optim;
