//! Build-time side (feature `gen`, host only): what a board crate's `build.rs` calls to embed
//! models and test images.
//!
//! [`generate`] reads, from the directory `scripts/board-models.sh` fills
//! (`BORN_BOARD_MODELS`, default `<repo>/target/board-models`), the models of the board's
//! set and the first images of `t10k-images.u8` / `t10k-labels.u8`; runs the host
//! interpreter on every image to record the class it predicts; and writes into `OUT_DIR`
//! the embedded files plus `board.rs`, which the firmware `include!`s:
//!
//! ```text
//! pub const ARENA_LEN: usize;             // static arena bytes: the largest host arena_len
//! pub const PASSES: u32;                  // BORN_BOARD_RUNS
//! pub static OPS: born_core::OpResolver<K>; // exactly the ops the embedded models use
//! pub static IMAGES: &[u8]; pub static LABELS: &[u8];
//! pub fn cases() -> [mnist_fw::Case<'static>; N];
//! ```
//!
//! Environment (all read at build time, all tracked with `rerun-if-env-changed`):
//! - `BORN_BOARD_MODELS`: the model directory.
//! - `BORN_BOARD_IMAGES`: images to embed (default: the board's; at most the 1000 the
//!   directory holds).
//! - `BORN_BOARD_RUNS`: passes over the images (default 1); for instruction counting, runs
//!   with 2 and 1 passes differ by one pass.
//! - `BORN_BOARD_ONLY`: comma-separated model names (`mlp.int8,cnn`) replacing the board's
//!   set.
//! - `BORN_BOARD_CORRUPT`: a byte offset; that byte of the first embedded model is inverted
//!   (the loader must then reject it). The expected predictions still come from the intact
//!   model.
//!
//! The arena: `Interpreter::arena_len` is the model's planned activations (the same on every
//! CPU) plus the largest kernel scratch on the CPU it runs on. The build script can only ask
//! the host; on bare-metal targets born-core's f32 GEMM and conv run direct kernels with no
//! scratch and its int8 conv scratch is at most the host's, so the host value is an upper
//! bound there. The firmware still calls `arena_len` on the target and fails with
//! [`FwError::ArenaTooSmall`](crate::FwError::ArenaTooSmall) if the bound ever is not one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use born_core::model::graph::AlignedBytes;
use born_core::{Interpreter, Model};

use crate::{argmax, IMAGE_PIXELS};

/// What a board embeds unless the environment says otherwise.
#[derive(Clone, Copy, Debug)]
pub struct Board<'a> {
    /// Model names (files `<name>.born` in the model directory), run in this order.
    pub models: &'a [&'a str],
    /// Test images to embed.
    pub images: usize,
}

/// What [`generate`] embedded, for the build script to print or check.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The `board.rs` to `include!`.
    pub source: PathBuf,
    /// The static arena's bytes.
    pub arena_len: usize,
    /// Embedded model names.
    pub models: Vec<String>,
    /// Embedded images.
    pub images: usize,
    /// Names of the ops `OPS` registers (what the embedded models use), in id order.
    pub ops: Vec<&'static str>,
}

fn env(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a valid number")),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    println!("cargo:rerun-if-changed={}", path.display());
    std::fs::read(path).map_err(|e| {
        format!(
            "cannot read {}: {e}; run scripts/board-models.sh from the repository root to make the \
             board models (or point BORN_BOARD_MODELS at a directory holding them)",
            path.display()
        )
    })
}

/// The ops the generated resolver can register: id, name and the path of the op's type,
/// which `board.rs` names in `.with::<path>()`. Each line is written once as `module::Type`
/// and the id and name come from the type itself, so they cannot disagree with born-core; a
/// test checks every line against `born_core::ops::ALL`. A model with an op missing here
/// fails [`generate`] with a message naming the op: add its line.
macro_rules! op_paths {
    ($($module:ident::$op:ident),* $(,)?) => {
        pub(crate) const OP_PATHS: &[(u16, &str, &str)] = &[$((
            <born_core::ops::$module::$op as born_core::ops::Op>::ID,
            <born_core::ops::$module::$op as born_core::ops::Op>::NAME,
            concat!("born_core::ops::", stringify!($module), "::", stringify!($op)),
        )),*];
    };
}

op_paths! {
    fully_connected::FullyConnected,
    conv2d::Conv2d,
    pool::MaxPool2d,
    pool::AvgPool2d,
    pool::GlobalAvgPool2d,
    activation::Activation,
    softmax::Softmax,
    softmax::LogSoftmax,
    norm::LayerNorm,
    norm::RmsNorm,
    norm::BatchNorm,
    binary::Binary,
    reshape::Reshape,
    embedding::Embedding,
    quantize::Quantize,
    quantize::Dequantize,
    q_fully_connected::QFullyConnected,
    q_conv2d::QConv2d,
    q_pool::QMaxPool2d,
    q_pool::QAvgPool2d,
    q_add::QAdd,
    q_softmax::QSoftmax,
    split::Split,
}

/// Name and Rust path of the type of op `id`
/// (`born_core::ops::fully_connected::FullyConnected`).
pub fn op_path(id: u16) -> Result<(&'static str, &'static str), String> {
    match OP_PATHS.iter().find(|(i, _, _)| *i == id) {
        Some(&(_, name, path)) => Ok((name, path)),
        None => {
            let name = born_core::ops::ALL
                .table()
                .find(id)
                .map_or("unknown to born-core", |(_, r)| r.name);
            Err(format!(
                "op id {id} ({name}) has no line in mnist_fw::gen's op table (op_paths!)"
            ))
        }
    }
}

/// The Rust expression of a `born_core::OpResolver<N>` registering exactly the ops `ids`
/// (each once, in ascending id order), and the names of those ops (`N` of them).
pub fn resolver_source(ids: &[u16]) -> Result<(String, Vec<&'static str>), String> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut src = String::from("born_core::OpResolver::new()");
    let mut names = Vec::with_capacity(ids.len());
    for &id in &ids {
        let (name, path) = op_path(id)?;
        write!(src, "\n    .with::<{path}>()").map_err(|e| e.to_string())?;
        names.push(name);
    }
    Ok((src, names))
}

/// The class the host interpreter predicts for each image (pixels / 255).
pub fn host_predictions(model: &Model<'_>, images: &[u8]) -> Result<Vec<u8>, String> {
    let name = model.meta().name;
    let mut arena = vec![0u8; Interpreter::arena_len(model).map_err(|e| e.to_string())?];
    let mut it = Interpreter::new(model, &mut arena).map_err(|e| format!("{name}: {e}"))?;
    let mut out = Vec::with_capacity(images.len() / IMAGE_PIXELS);
    for img in images.chunks_exact(IMAGE_PIXELS) {
        let x = it.input_mut::<f32>(0).map_err(|e| format!("{name}: {e}"))?;
        crate::fill_input(x, img).map_err(|e| format!("{name}: {e}"))?;
        it.invoke().map_err(|e| format!("{name}: {e}"))?;
        let y = it.output::<f32>(0).map_err(|e| format!("{name}: {e}"))?;
        let class = argmax(y).ok_or_else(|| format!("{name}: empty output"))?;
        out.push(u8::try_from(class).map_err(|_| format!("{name}: class {class}"))?);
    }
    Ok(out)
}

/// Default model directory: `target/board-models` at the repository root, found from the
/// board crate's manifest directory (`boards/<crate>`).
fn default_model_dir() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    manifest
        .unwrap_or_default()
        .join("../../target/board-models")
}

/// What [`generate_with`] embeds and where it writes: [`Config::from_env`] fills it from a
/// [`Board`] and the environment variables above.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the embedded files and `board.rs` go (`OUT_DIR`).
    pub out: PathBuf,
    /// The model directory (`BORN_BOARD_MODELS`).
    pub dir: PathBuf,
    /// Model names, in run order.
    pub names: Vec<String>,
    /// Test images to embed.
    pub images: usize,
    /// Passes over the images.
    pub passes: u32,
    /// Byte of the first model to invert (`BORN_BOARD_CORRUPT`).
    pub corrupt: Option<usize>,
}

impl Config {
    /// `board` overridden by the environment (`OUT_DIR`, `BORN_BOARD_*`).
    pub fn from_env(board: &Board<'_>) -> Result<Config, String> {
        let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
        let dir = env("BORN_BOARD_MODELS")
            .map(PathBuf::from)
            .unwrap_or_else(default_model_dir);
        let images: usize = parse("BORN_BOARD_IMAGES", board.images)?;
        let passes: u32 = parse("BORN_BOARD_RUNS", 1)?;
        let names: Vec<String> = match env("BORN_BOARD_ONLY") {
            Some(list) => list
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            None => board.models.iter().map(|s| s.to_string()).collect(),
        };
        let corrupt: Option<usize> = match env("BORN_BOARD_CORRUPT") {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse()
                    .map_err(|_| format!("BORN_BOARD_CORRUPT={v:?} is not a byte offset"))?,
            ),
        };
        Ok(Config {
            out,
            dir,
            names,
            images,
            passes,
            corrupt,
        })
    }
}

/// Writes the embedded files and `board.rs` into `OUT_DIR` for `board` (overridden by the
/// environment variables above). Errors name what is missing or wrong; a build script
/// should print the message and fail.
pub fn generate(board: &Board<'_>) -> Result<Generated, String> {
    generate_with(&Config::from_env(board)?)
}

/// [`generate`] with the settings given rather than read from the environment.
pub fn generate_with(cfg: &Config) -> Result<Generated, String> {
    let Config {
        out,
        dir,
        names,
        images: n_images,
        passes,
        corrupt,
    } = cfg.clone();
    if passes == 0 {
        return Err("BORN_BOARD_RUNS must be at least 1".into());
    }
    if names.is_empty() {
        return Err("no model to embed".into());
    }

    let all_images = read(&dir.join("t10k-images.u8"))?;
    let all_labels = read(&dir.join("t10k-labels.u8"))?;
    if all_images.len() != all_labels.len() * IMAGE_PIXELS {
        return Err(format!(
            "{}: {} image bytes for {} labels",
            dir.display(),
            all_images.len(),
            all_labels.len()
        ));
    }
    if n_images == 0 || n_images > all_labels.len() {
        return Err(format!(
            "BORN_BOARD_IMAGES={n_images}: must be between 1 and {}",
            all_labels.len()
        ));
    }
    let images = &all_images[..n_images * IMAGE_PIXELS];
    let labels = &all_labels[..n_images];
    write(&out.join("images.u8"), images)?;
    write(&out.join("labels.u8"), labels)?;

    let mut arena_len = 0usize;
    let mut op_ids: Vec<u16> = Vec::new();
    let mut cases = String::new();
    for (k, name) in names.iter().enumerate() {
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(format!(
                "model name {name:?}: use letters, digits, '.', '-', '_'"
            ));
        }
        let bytes = read(&dir.join(format!("{name}.born")))?;
        let aligned = AlignedBytes::from_slice(&bytes);
        let model = Model::from_bytes(&aligned).map_err(|e| format!("{name}.born: {e}"))?;
        for i in 0..model.n_ops() {
            let op = model.op(i).map_err(|e| format!("{name}.born: {e}"))?;
            op_ids.push(op.op);
        }
        arena_len = arena_len.max(Interpreter::arena_len(&model).map_err(|e| e.to_string())?);
        let expected = host_predictions(&model, images)?;

        let mut embedded = bytes.clone();
        if let (0, Some(at)) = (k, corrupt) {
            let len = embedded.len();
            let b = embedded.get_mut(at).ok_or_else(|| {
                format!("BORN_BOARD_CORRUPT={at} is past the end of {name}.born ({len} bytes)")
            })?;
            *b = !*b;
        }
        let model_file = out.join(format!("{name}.born"));
        let expected_file = out.join(format!("{name}.expected"));
        write(&model_file, &embedded)?;
        write(&expected_file, &expected)?;
        writeln!(
            cases,
            "        mnist_fw::Case {{ name: {name:?}, model: born_core::include_model!({:?}), expected: include_bytes!({:?}) }},",
            model_file.display().to_string(),
            expected_file.display().to_string(),
        )
        .map_err(|e| e.to_string())?;
    }

    let (ops, op_names) = resolver_source(&op_ids)?;
    let n_ops = op_names.len();
    let src = format!(
        "// Generated by mnist_fw::gen from {dir}; do not edit.\n\
         /// Bytes of the static arena (the largest host `Interpreter::arena_len`).\n\
         pub const ARENA_LEN: usize = {arena_len};\n\
         /// Passes over the test images (BORN_BOARD_RUNS).\n\
         pub const PASSES: u32 = {passes};\n\
         /// The ops the embedded models use, and no others: the firmware loads and runs\n\
         /// the models with `OPS.table()`, so only these ops' rules and kernels are linked.\n\
         pub static OPS: born_core::OpResolver<{n_ops}> = {ops};\n\
         /// The first {n_images} MNIST test images, 784 bytes each.\n\
         pub static IMAGES: &[u8] = include_bytes!({images:?});\n\
         /// Their labels.\n\
         pub static LABELS: &[u8] = include_bytes!({labels:?});\n\
         /// The embedded models with the host's predictions.\n\
         pub fn cases() -> [mnist_fw::Case<'static>; {n}] {{\n    [\n{cases}    ]\n}}\n",
        dir = dir.display(),
        images = out.join("images.u8").display().to_string(),
        labels = out.join("labels.u8").display().to_string(),
        n = names.len(),
    );
    let source = out.join("board.rs");
    write(&source, src.as_bytes())?;
    Ok(Generated {
        source,
        arena_len,
        models: names,
        images: n_images,
        ops: op_names,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
