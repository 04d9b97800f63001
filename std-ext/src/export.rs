//! From graphs and nn modules to `.born` files, with the greedy memory plan.

use crate::error::{Error, Result};
use crate::plan::{self, Buffer};
use born_core::backend::Backend;
use born_core::model::format::ALIGN;
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::nn::{self, Module};
use std::path::Path;

/// Arena sizes of a planned model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanReport {
    /// Bytes of arena the greedy plan needs.
    pub arena_len: usize,
    /// Bytes the activations need with no reuse.
    pub naive_len: usize,
}

/// Plans `g`'s activations greedily (largest first, in-place reuse where an op allows it)
/// and encodes it. The encoder reloads the bytes, so the plan is validated too.
pub fn encode_planned(g: &Graph) -> Result<(Vec<u8>, PlanReport)> {
    let lifetimes = g.lifetimes()?;
    let buffers: Vec<Buffer> = lifetimes
        .iter()
        .map(|l| Buffer {
            size: l.size,
            first: l.first,
            last: l.last,
            reuse_of: l.reuse_of,
        })
        .collect();
    let p = plan::plan(&buffers, ALIGN)?;
    let bytes = g.encode(&p.offsets, p.arena_len)?;
    let report = PlanReport {
        arena_len: p.arena_len.div_ceil(ALIGN) * ALIGN,
        naive_len: p.naive_len,
    };
    Ok((bytes, report))
}

/// `.born` bytes of `module` for one f32 input of shape `input_dims` (see
/// [`born_core::nn::to_graph`]), with the greedy memory plan.
pub fn export<B: Backend, M: Module<B> + ?Sized>(
    module: &M,
    backend: &B,
    name: &str,
    input_dims: &[usize],
) -> Result<(Vec<u8>, PlanReport)> {
    encode_planned(&nn::to_graph(module, backend, name, input_dims)?)
}

/// Reads a model file into memory aligned as [`born_core::Model::from_bytes`] needs.
pub fn read_model(path: &Path) -> Result<AlignedBytes> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    Ok(AlignedBytes::from_slice(&bytes))
}

/// Writes `bytes` to `path`.
pub fn write_model(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}
