//! For the board (target_os = "none"): finds the model to embed, validates it with born-core
//! on the host (loader, kernels the firmware links, input/output shapes), sizes the static
//! arena from it, and passes the linker script. For the host (tests) it does nothing.
//!
//! The model is `$BORN_MODEL` (relative paths are taken from the repository root) or else
//! `target/board-models/mlp.int8.born`, which `scripts/board-models.sh` writes.

use born_core::model::graph::AlignedBytes;
use born_core::{DType, Interpreter, Model};
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::exit;

#[path = "src/ops.rs"]
mod ops;

const DEFAULT_MODEL: &str = "target/board-models/mlp.int8.born";

fn fail(msg: &str) -> ! {
    eprintln!("\nerror: {msg}\n");
    exit(1);
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/ops.rs");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-env-changed=BORN_MODEL");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set")));
    let repo = fs::canonicalize(manifest.join("../..")).unwrap_or_else(|_| manifest.join("../.."));

    let (path, from_env) = match env::var("BORN_MODEL") {
        Ok(p) if !p.is_empty() => (repo.join(p), true),
        _ => (repo.join(DEFAULT_MODEL), false),
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let path = fs::canonicalize(&path).unwrap_or_else(|_| {
        if from_env {
            fail(&format!(
                "BORN_MODEL points at {}, which does not exist",
                path.display()
            ))
        }
        fail(&format!(
            "the firmware embeds a .born model and {} does not exist.\n  \
             Make the board models first:   bash scripts/board-models.sh   (from the repository root)\n  \
             or point BORN_MODEL at any .born file (28x28 f32 input, 10 f32 logits):\n    \
             BORN_MODEL=path/to/model.born cargo fw",
            path.display()
        ))
    });
    let arena = check_model(&path);

    // include_model! takes a path; an absolute one works from any source file.
    let path_str = path
        .to_str()
        .unwrap_or_else(|| fail("the model path is not valid UTF-8"));
    println!("cargo:rustc-env=BORN_MODEL_FILE={path_str}");
    let info = format!(
        "/// Bytes of the static arena: `Interpreter::arena_len` of the model, computed by\n\
         /// build.rs on the host (an upper bound of what the Cortex-M build needs).\n\
         pub const ARENA_LEN: usize = {arena};\n"
    );
    write(&out.join("model_info.rs"), info.as_bytes());

    // Linker script: cortex-m-rt's link.x includes memory.x, found in OUT_DIR.
    let memory = fs::read(manifest.join("memory.x"))
        .unwrap_or_else(|e| fail(&format!("cannot read memory.x: {e}")));
    write(&out.join("memory.x"), &memory);
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = fs::write(path, bytes) {
        fail(&format!("cannot write {}: {e}", path.display()))
    }
}

/// Validates the model as the firmware will use it and returns the arena bytes it needs.
///
/// The kernels' scratch depends on the CPU path: on the host the f32 GEMM and convolution may
/// pack (AVX2, NEON), while on Cortex-M (`target_os = "none"`) they run unpacked with no
/// scratch, and int8 convolution sizes its scratch as the larger of the portable and the
/// detected path. So the host's `Interpreter::arena_len` is at least what the board needs;
/// the difference is the host-only packing scratch (0 for the MLPs).
fn check_model(path: &Path) -> usize {
    let bytes =
        fs::read(path).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
    let bytes = AlignedBytes::from_slice(&bytes);
    // With every op first, so that a damaged file is reported as such.
    if let Err(e) = Model::from_bytes(&bytes) {
        fail(&format!(
            "{} is not a valid .born model: {e}",
            path.display()
        ))
    }
    // The firmware loads it with only the ops of src/ops.rs: check that it can.
    let model = Model::from_bytes_with(&bytes, ops::MNIST_OPS.table()).unwrap_or_else(|e| {
        fail(&format!(
            "{}: {e} (the firmware links the ops of boards/stm32f4-mnist/src/ops.rs)",
            path.display()
        ))
    });
    let len = Interpreter::arena_len_with(&model, ops::MNIST_OPS.table())
        .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    let mut arena = vec![0u8; len];
    let it = Interpreter::with_ops(&model, &mut arena, &ops::MNIST_OPS)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    for (what, def, n) in [
        ("input", it.input_def(0), 28 * 28),
        ("output", it.output_def(0), 10),
    ] {
        let def = def.unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
        let numel = model.shape(&def).numel();
        if def.dtype != DType::F32 || numel != n {
            fail(&format!(
                "{}: {what} is {:?} with {numel} elements; the firmware needs {n} f32",
                path.display(),
                def.dtype
            ));
        }
    }
    // The board has 128 KiB of RAM; leave room for the stack and the HAL.
    const RAM_BUDGET: usize = 112 * 1024;
    if len > RAM_BUDGET {
        fail(&format!(
            "{} needs a {len}-byte arena; the STM32F411 has 128 KiB of RAM ({RAM_BUDGET} for the arena)",
            path.display()
        ));
    }
    len
}
