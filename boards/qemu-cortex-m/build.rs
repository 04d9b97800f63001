//! Picks the memory map and the model set for the target, links cortex-m-rt's `link.x`, and
//! embeds the models, test images and host predictions (`mnist_fw::gen`).

use std::path::PathBuf;

use mnist_fw::gen::{generate, Board};

/// FLASH and RAM of the board a target runs on under QEMU.
fn memory(target: &str) -> (&'static str, &'static str) {
    match target {
        // micro:bit (nRF51822): 256 KB flash at 0, 16 KB RAM at 0x2000_0000.
        "thumbv6m-none-eabi" => ("256K", "16K"),
        // MPS2 AN385/AN386/AN500: 4 MB SSRAM1 at 0 (code), 4 MB SSRAM2/3 at 0x2000_0000.
        _ => ("4M", "4M"),
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let (flash, ram) = memory(&target);
    let memory_x = format!(
        "MEMORY\n{{\n  FLASH : ORIGIN = 0x00000000, LENGTH = {flash}\n  RAM : ORIGIN = 0x20000000, LENGTH = {ram}\n}}\n"
    );
    std::fs::write(out.join("memory.x"), memory_x).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    println!("cargo:rustc-env=BORN_FW_TARGET={target}");

    // The f32 MLP (400 KB) does not fit the micro:bit's 256 KB flash: the M0 gets the int8
    // MLP and 100 images; the MPS2 boards every model and 300 images.
    let board = if target == "thumbv6m-none-eabi" {
        Board {
            models: &["mlp.int8"],
            images: 100,
        }
    } else {
        Board {
            models: &["mlp.int8", "mlp", "cnn.int8", "cnn"],
            images: 300,
        }
    };
    if let Err(e) = generate(&board) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
