//! Checkpoints: a module's parameters in a [safetensors] file, the format PyTorch
//! (`safetensors.torch.save_file(model.state_dict(), path)`) and Hugging Face use.
//!
//! A checkpoint maps each parameter name of [`Module::visit_params`] (`0.weight`,
//! `0.bias`, ... as in PyTorch's `state_dict`) to a little-endian F32 tensor of the
//! parameter's shape, plus optional string metadata (`__metadata__`).
//!
//! ```no_run
//! use born_std::checkpoint;
//! # fn demo<B: born_std::core::backend::Backend, M: born_std::core::nn::Module<B>>(
//! #     backend: &B, model: &mut M) -> born_std::Result<()> {
//! checkpoint::save_with_metadata(backend, model, "model.safetensors".as_ref(), &[("epoch", "3")])?;
//! checkpoint::load(backend, model, "model.safetensors".as_ref())?;
//! # Ok(()) }
//! ```
//!
//! Content problems (a missing or unexpected tensor, a shape or dtype that does not fit, a
//! corrupt file) come back as [`Error::Io`] with the file's path and an
//! [`std::io::ErrorKind::InvalidData`] error that wraps a [`CheckpointError`];
//! [`checkpoint_error`] gets the latter back for callers that want to match on it.
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use born_core::backend::Backend;
use born_core::nn::Module;
use born_core::Tensor;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{Error, Result};

/// Why a checkpoint could not be written or does not fit the module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The file lacks tensors the module has (in the module's parameter order).
    #[error("checkpoint lacks {}", name_list(.names))]
    Missing {
        /// The parameter names with no tensor in the file.
        names: Vec<String>,
    },
    /// The file holds tensors the module has no parameter for (sorted by name).
    #[error("checkpoint has tensors the module does not: {}", name_list(.names))]
    Unexpected {
        /// The names in the file that match no parameter.
        names: Vec<String>,
    },
    /// A tensor's shape differs from its parameter's.
    #[error("tensor `{name}` has shape {got:?}, the module expects {expected:?}")]
    Shape {
        /// The parameter name.
        name: String,
        /// The parameter's shape in the module.
        expected: Vec<usize>,
        /// The tensor's shape in the file.
        got: Vec<usize>,
    },
    /// A tensor is not F32.
    #[error("tensor `{name}` is {dtype}, only F32 is supported")]
    Dtype {
        /// The parameter name.
        name: String,
        /// The tensor's dtype as safetensors names it (`F16`, `BF16`, `F64`...).
        dtype: String,
    },
    /// The module visits the same parameter name twice, so a checkpoint cannot tell them apart.
    #[error("the module has two parameters named `{0}`")]
    DuplicateName(String),
    /// The safetensors encoder refused the parameters (e.g. a header over its 100 MB limit).
    #[error("cannot encode the checkpoint: {0}")]
    Encode(String),
    /// The bytes are not a valid safetensors file (truncated, bad header, bad offsets...).
    #[error("not a valid safetensors file: {0}")]
    Corrupt(String),
}

/// `` `a`, `b` `` for error messages.
fn name_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// The [`CheckpointError`] inside `err`, when `err` came from this module's content checks.
pub fn checkpoint_error(err: &Error) -> Option<&CheckpointError> {
    match err {
        Error::Io { source, .. } => source.get_ref()?.downcast_ref::<CheckpointError>(),
        _ => None,
    }
}

fn content_error(path: &Path, e: CheckpointError) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    }
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes every parameter of `module` (from [`Module::visit_params`]) to `path` as a
/// safetensors file, without metadata. See [`save_with_metadata`].
pub fn save<B: Backend, M: Module<B> + ?Sized>(backend: &B, module: &M, path: &Path) -> Result<()> {
    save_with_metadata(backend, module, path, &[])
}

/// Writes every parameter of `module` to `path` as a safetensors file: each name of
/// [`Module::visit_params`] maps to an F32 tensor of the parameter's shape, and `metadata`
/// becomes the file's `__metadata__` string map (a repeated key keeps its last value).
///
/// The file is written atomically: the bytes go to a temporary file in the same directory,
/// which is flushed to disk and then renamed over `path`, so an interrupted save leaves any
/// previous file at `path` intact.
///
/// Errors: [`Error::Core`] when a parameter cannot be copied to the host, [`Error::Io`]
/// when the file cannot be written, and [`Error::Io`] wrapping
/// [`CheckpointError::DuplicateName`] when the module names two parameters alike or
/// [`CheckpointError::Encode`] when the safetensors encoder refuses the tensors.
pub fn save_with_metadata<B: Backend, M: Module<B> + ?Sized>(
    backend: &B,
    module: &M,
    path: &Path,
    metadata: &[(&str, &str)],
) -> Result<()> {
    let bytes = to_bytes(backend, module, metadata).map_err(|e| match e {
        SaveError::Core(e) => Error::Core(e),
        SaveError::Checkpoint(e) => content_error(path, e),
    })?;
    write_atomic(path, &bytes)
}

enum SaveError {
    Core(born_core::Error),
    Checkpoint(CheckpointError),
}

/// The safetensors bytes of `module`'s parameters.
fn to_bytes<B: Backend, M: Module<B> + ?Sized>(
    backend: &B,
    module: &M,
    metadata: &[(&str, &str)],
) -> std::result::Result<Vec<u8>, SaveError> {
    let mut params: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut first_err: Option<SaveError> = None;
    module.visit_params(&mut |name, t| {
        if first_err.is_some() {
            return;
        }
        if params.iter().any(|(n, _, _)| n == name) {
            first_err = Some(SaveError::Checkpoint(CheckpointError::DuplicateName(
                name.to_string(),
            )));
            return;
        }
        match backend.to_host(t) {
            Ok(h) => {
                let bytes: Vec<u8> = h.data().iter().flat_map(|v| v.to_le_bytes()).collect();
                params.push((name.to_string(), h.dims().to_vec(), bytes));
            }
            Err(e) => first_err = Some(SaveError::Core(e)),
        }
    });
    if let Some(e) = first_err {
        return Err(e);
    }
    let mut views = Vec::with_capacity(params.len());
    for (name, dims, bytes) in &params {
        let view = TensorView::new(Dtype::F32, dims.clone(), bytes)
            .map_err(|e| SaveError::Checkpoint(CheckpointError::Encode(e.to_string())))?;
        views.push((name.as_str(), view));
    }
    let info = if metadata.is_empty() {
        None
    } else {
        Some(
            metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        )
    };
    safetensors::serialize(views, info)
        .map_err(|e| SaveError::Checkpoint(CheckpointError::Encode(e.to_string())))
}

/// Distinguishes temporary files of concurrent saves within one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io_error(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);
    let written = (|| -> io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    // Make the rename itself durable where the platform allows syncing a directory.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads `path` and checks that it is a valid safetensors file.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| io_error(path, e))
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes)
        .map_err(|e| content_error(path, CheckpointError::Corrupt(e.to_string())))
}

/// Fills every parameter of `module` (through [`Module::visit_params_mut`]) from the
/// safetensors file at `path`, e.g. one written by [`save`] or by PyTorch's
/// `safetensors.torch.save_file(model.state_dict(), path)`.
///
/// The file must hold exactly the module's parameter names, each an F32 tensor of the
/// parameter's shape. Everything is checked and every new tensor is placed on `backend`
/// before the first parameter is replaced, so on any error the module is left unchanged.
///
/// Errors: [`Error::Io`] when the file cannot be read; [`Error::Io`] wrapping a
/// [`CheckpointError`] (see [`checkpoint_error`]) for a corrupt or truncated file
/// ([`CheckpointError::Corrupt`]), missing names ([`CheckpointError::Missing`]), a
/// non-F32 tensor ([`CheckpointError::Dtype`]), a wrong shape ([`CheckpointError::Shape`]),
/// names the module lacks ([`CheckpointError::Unexpected`]) or a module that names two
/// parameters alike ([`CheckpointError::DuplicateName`]); [`Error::Core`] when the backend
/// rejects a tensor.
pub fn load<B: Backend, M: Module<B> + ?Sized>(
    backend: &B,
    module: &mut M,
    path: &Path,
) -> Result<()> {
    let bytes = read_file(path)?;
    let st = parse(path, &bytes)?;

    let mut wanted: Vec<(String, Vec<usize>)> = Vec::new();
    module.visit_params(&mut |name, t| {
        wanted.push((name.to_string(), backend.shape(t).dims().to_vec()));
    });
    for (i, (name, _)) in wanted.iter().enumerate() {
        if wanted[..i].iter().any(|(n, _)| n == name) {
            return Err(content_error(
                path,
                CheckpointError::DuplicateName(name.clone()),
            ));
        }
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(n, _)| st.tensor(n).is_err())
        .map(|(n, _)| n.clone())
        .collect();
    if !missing.is_empty() {
        return Err(content_error(
            path,
            CheckpointError::Missing { names: missing },
        ));
    }
    let mut unexpected: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| !wanted.iter().any(|(w, _)| w == n))
        .map(str::to_string)
        .collect();
    if !unexpected.is_empty() {
        unexpected.sort();
        return Err(content_error(
            path,
            CheckpointError::Unexpected { names: unexpected },
        ));
    }

    let mut fresh: HashMap<String, B::Tensor> = HashMap::with_capacity(wanted.len());
    for (name, dims) in &wanted {
        let view = st
            .tensor(name)
            .map_err(|e| content_error(path, CheckpointError::Corrupt(e.to_string())))?;
        if view.dtype() != Dtype::F32 {
            return Err(content_error(
                path,
                CheckpointError::Dtype {
                    name: name.clone(),
                    dtype: view.dtype().to_string(),
                },
            ));
        }
        if view.shape() != dims.as_slice() {
            return Err(content_error(
                path,
                CheckpointError::Shape {
                    name: name.clone(),
                    expected: dims.clone(),
                    got: view.shape().to_vec(),
                },
            ));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        let host = Tensor::from_vec(data, dims)?;
        fresh.insert(name.clone(), backend.to_device(&host)?);
    }
    module.visit_params_mut(&mut |name, t| {
        if let Some(new) = fresh.remove(name) {
            *t = new;
        }
    });
    Ok(())
}

/// The `__metadata__` string map of the safetensors file at `path` (empty when it has
/// none). The whole file is read and validated, as by [`load`].
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    let bytes = read_file(path)?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| content_error(path, CheckpointError::Corrupt(e.to_string())))?;
    Ok(meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}
