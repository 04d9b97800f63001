//! The error type of born-std's model tools.

use std::path::PathBuf;

/// What went wrong in export, quantization, planning or model file handling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// born-core rejected something (a shape, a model, an arena size...).
    #[error("{0}")]
    Core(#[from] born_core::Error),
    /// The memory planner rejected its request.
    #[error("memory plan: {0}")]
    Plan(#[from] crate::plan::PlanError),
    /// A `.npy` file could not be read or written.
    #[error("{0}")]
    Npy(#[from] crate::npy::NpyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A request that does not fit the model (wrong input count, batch sizes...).
    #[error("{0}")]
    Invalid(String),
    /// A data set could not be loaded.
    #[error("{0}")]
    Data(#[from] crate::data::DataError),
    /// Training produced a non-finite loss; the update it would have caused was not applied.
    #[error(
        "loss became {loss} at epoch {epoch}, batch {step}: training stopped ({})",
        match checkpoint {
            Some(p) => format!("last good checkpoint kept at {}", p.display()),
            None => "no checkpoint had been written yet".to_string(),
        }
    )]
    NonFiniteLoss {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        step: usize,
        /// The loss value (NaN or infinite).
        loss: f32,
        /// The last checkpoint written before, left untouched.
        checkpoint: Option<PathBuf>,
    },
}

/// Result alias of born-std's model tools.
pub type Result<T> = std::result::Result<T, Error>;
