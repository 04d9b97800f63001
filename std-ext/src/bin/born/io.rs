//! Loading models and describing tensors for the subcommands.

use anyhow::{Context, Result};
use born_std::core::model::graph::AlignedBytes;
use born_std::core::model::TensorDef;
use born_std::core::Model;
use std::path::Path;

/// The model file's bytes, aligned for loading.
pub fn read(path: &Path) -> Result<AlignedBytes> {
    born_std::export::read_model(path).context("reading the model")
}

/// Validates `bytes` as a model.
pub fn load<'a>(bytes: &'a [u8], path: &Path) -> Result<Model<'a>> {
    Model::from_bytes(bytes).with_context(|| format!("loading {}", path.display()))
}

/// `name dtype[d0,d1]`.
pub fn describe(m: &Model<'_>, t: &TensorDef<'_>) -> String {
    let dims: Vec<String> = m.shape(t).dims().iter().map(|d| d.to_string()).collect();
    format!("{} {:?}[{}]", t.name, t.dtype, dims.join(","))
}

/// A progress bar on standard error (hidden when it is not a terminal).
pub fn progress(len: usize, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
