//! Training on a CPU with threads: the loop, its configuration and the MNIST models.
//!
//! [`fit`] trains any [`born_core::nn::Module`] built on [`Ad`] (born-core's autodiff around
//! the CPU backend) with cross-entropy on MNIST-shaped data, spreading each batch's gradient
//! over threads (rayon) deterministically; [`TrainConfig::optimizer`] and
//! [`TrainConfig::schedule`] build the optimizer and learning-rate schedule it names.

mod config;
mod deploy;
mod fit;
mod models;

pub use config::{train, OptimizerKind, ScheduleKind, TrainConfig};
pub use deploy::{
    classifier_graph, evaluate_born, export_f32_and_int8, BornEval, INPUT_NAME, OUTPUT_NAME,
};
pub use fit::{evaluate, fit, thread_pool};
pub use models::MnistModel;

/// The training backend: born-core's autodiff around its CPU backend.
pub type Ad = born_core::train::Autodiff<born_core::backend::Cpu>;

/// Results of one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size).
    pub train_loss: f32,
    /// Fraction of training images classified correctly during the epoch (before each
    /// batch's update).
    pub train_accuracy: f32,
    /// Mean cross-entropy on the test set after the epoch.
    pub test_loss: f32,
    /// Fraction of test images classified correctly after the epoch.
    pub test_accuracy: f32,
    /// Seconds spent training in this epoch (not evaluating).
    pub seconds: f32,
}

/// Progress reported by [`fit`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// A batch was trained on.
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        step: usize,
        /// Batches per epoch.
        steps: usize,
        /// Mean loss so far this epoch.
        loss: f32,
        /// Training accuracy so far this epoch.
        accuracy: f32,
    },
    /// An epoch ended (after its evaluation).
    Epoch(EpochStats),
}
