//! Writes the memory map for QEMU's riscv32 virt machine, links riscv-rt's `link.x`, and
//! embeds the models, test images and host predictions (`mnist_fw::gen`).

use std::path::PathBuf;

use mnist_fw::gen::{generate, Board};

/// Everything in RAM (QEMU loads the ELF there; `-bios none` starts at 0x8000_0000). The
/// virt machine has 128 MB by default; 16 MB is plenty.
const MEMORY_X: &str = "MEMORY
{
  RAM : ORIGIN = 0x80000000, LENGTH = 16M
}
REGION_ALIAS(\"REGION_TEXT\", RAM);
REGION_ALIAS(\"REGION_RODATA\", RAM);
REGION_ALIAS(\"REGION_DATA\", RAM);
REGION_ALIAS(\"REGION_BSS\", RAM);
REGION_ALIAS(\"REGION_HEAP\", RAM);
REGION_ALIAS(\"REGION_STACK\", RAM);
";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("memory.x"), MEMORY_X).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tmemory.x");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-env=BORN_FW_TARGET={target}");

    let board = Board {
        models: &["mlp.int8", "mlp", "cnn.int8", "cnn"],
        images: 300,
    };
    if let Err(e) = generate(&board) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
