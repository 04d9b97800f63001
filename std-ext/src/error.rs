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
}

/// Result alias of born-std's model tools.
pub type Result<T> = std::result::Result<T, Error>;
