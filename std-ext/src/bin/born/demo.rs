//! `born demo`: train the MNIST CNN (or reuse its checkpoint), deploy it as f32 and int8
//! `.born` files, and compare them on the 10,000 test images.

use crate::train::{data_dir, load, progress_observer, summary_json, write_plot};
use anyhow::{bail, Context, Result};
use born_std::core::backend::Cpu;
use born_std::core::train::Autodiff;
use born_std::core::Rng;
use born_std::train::{self, EpochStats, MnistModel, TrainConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `born demo` was asked to do.
pub struct Args {
    pub data: Option<PathBuf>,
    pub out_dir: PathBuf,
    pub epochs: usize,
    pub threads: usize,
    pub retrain: bool,
    pub check: bool,
}

/// Epoch records from a summary JSON written by an earlier run.
fn read_history(path: &Path) -> Option<Vec<EpochStats>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let f =
        |e: &serde_json::Value, k: &str| e.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0) as f32;
    v.get("epochs")?
        .as_array()?
        .iter()
        .map(|e| {
            Some(EpochStats {
                epoch: e.get("epoch")?.as_u64()? as usize,
                train_loss: f(e, "train_loss"),
                train_accuracy: f(e, "train_accuracy"),
                test_loss: f(e, "test_loss"),
                test_accuracy: f(e, "test_accuracy"),
                seconds: f(e, "seconds"),
            })
        })
        .collect()
}

/// Images the emulated microcontroller classifies.
const MCU_IMAGES: usize = 100;

/// Runs the int8 model in the QEMU Cortex-M4F firmware (`boards/qemu-cortex-m`) on the first
/// test images, when `qemu-system-arm` and the boards workspace are here; the firmware fails
/// unless every prediction equals the host interpreter's.
fn emulated_cortex_m4(out_dir: &Path, int8: &[u8], test: &born_std::data::Mnist) -> Result<()> {
    let crate_dir = Path::new("boards/qemu-cortex-m");
    let qemu_found = Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !qemu_found || !crate_dir.exists() {
        println!(
            "\n(emulated Cortex-M4F run skipped: it needs qemu-system-arm and the repository's \
             boards/ folder; bash scripts/install-qemu-system.sh installs QEMU)"
        );
        return Ok(());
    }
    let dir = std::fs::canonicalize(out_dir)?.join("board-models");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("cnn.int8.born"), int8)?;
    let n = MCU_IMAGES.min(test.len);
    let pixels: Vec<u8> = test.images[..n * 784]
        .iter()
        .map(|&v| (v * 255.0).round() as u8)
        .collect();
    std::fs::write(dir.join("t10k-images.u8"), pixels)?;
    std::fs::write(dir.join("t10k-labels.u8"), &test.labels[..n])?;
    println!("\nbuilding the Cortex-M4F firmware with the int8 model (boards/qemu-cortex-m)...");
    let target = "thumbv7em-none-eabihf";
    let build = Command::new("cargo")
        // The plain-text report (the default is defmt frames, which need defmt-print).
        .args([
            "build",
            "-q",
            "--release",
            "--features",
            "text",
            "--target",
            target,
        ])
        .current_dir(crate_dir)
        .env("BORN_BOARD_MODELS", &dir)
        .env("BORN_BOARD_ONLY", "cnn.int8")
        .env("BORN_BOARD_IMAGES", n.to_string())
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .context("running cargo for the firmware")?;
    if !build.success() {
        bail!("the firmware build failed (rustup target add {target})");
    }
    let elf = Path::new("boards/target")
        .join(target)
        .join("release/qemu-cortex-m");
    let out = Command::new("qemu-system-arm")
        .args([
            "-machine",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-nographic",
            "-monitor",
            "none",
        ])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(&elf)
        .output()
        .context("running qemu-system-arm")?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        println!("  mps2-an386 (Cortex-M4F, QEMU): {line}");
    }
    if !out.status.success() {
        bail!(
            "the emulated Cortex-M4F disagreed with the host or failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

pub fn run(a: Args) -> Result<()> {
    let dir = data_dir(a.data.as_deref())?;
    let (train_set, test_set) = load("mnist", &dir)?;
    std::fs::create_dir_all(&a.out_dir)
        .with_context(|| format!("creating {}", a.out_dir.display()))?;
    let ckpt = a.out_dir.join("mnist_cnn.safetensors");
    let summary = a.out_dir.join("mnist_cnn.json");
    let ad = Autodiff::new(Cpu);
    let cfg = TrainConfig {
        epochs: a.epochs,
        threads: a.threads,
        shards: a.threads,
        checkpoint: Some(ckpt.clone()),
        ..TrainConfig::default()
    };
    let mut model = MnistModel::Cnn.build(&ad, &mut Rng::seed(cfg.seed))?;
    let history = match read_history(&summary) {
        Some(h) if !a.retrain && ckpt.exists() => {
            born_std::checkpoint::load(&ad, &mut model, &ckpt)
                .context("loading the checkpoint (run with --retrain)")?;
            println!(
                "reusing the trained CNN in {} (--retrain trains again)",
                ckpt.display()
            );
            h
        }
        _ => {
            println!(
                "training the MNIST CNN: {} epochs, Adam lr {}, batch {}, cosine schedule, {} thread(s)",
                cfg.epochs, cfg.lr, cfg.batch_size, cfg.threads
            );
            let h = train::train(
                &mut model,
                &train_set,
                &test_set,
                &cfg,
                &mut progress_observer(cfg.epochs),
            )?;
            std::fs::write(
                &summary,
                summary_json("mnist", MnistModel::Cnn, cfg.threads, &h),
            )
            .with_context(|| format!("writing {}", summary.display()))?;
            h
        }
    };
    let g = train::classifier_graph(&model, &ad, "mnist-cnn")?;
    let [(f32_bytes, _), (int8_bytes, _)] = train::export_f32_and_int8(&g, &train_set, 1000)?;
    let files = [
        ("f32", a.out_dir.join("mnist_cnn.born"), f32_bytes),
        ("int8", a.out_dir.join("mnist_cnn.int8.born"), int8_bytes),
    ];
    println!();
    println!(
        "{:<6} {:>14} {:>12} {:>12} {:>16}   file",
        "model", "test accuracy", "file bytes", "arena bytes", "us / inference"
    );
    let mut accuracies = Vec::new();
    for (kind, path, bytes) in &files {
        born_std::export::write_model(path, bytes)?;
        let e = train::evaluate_born(bytes, &test_set)?;
        accuracies.push(e.accuracy);
        println!(
            "{:<6} {:>13.2}% {:>12} {:>12} {:>16.1}   {}",
            kind,
            e.accuracy * 100.0,
            bytes.len(),
            e.arena_len,
            e.micros,
            path.display()
        );
    }
    if let Some((_, _, int8)) = files.get(1) {
        emulated_cortex_m4(&a.out_dir, int8, &test_set)?;
    }
    let plot = a.out_dir.join("mnist_cnn.png");
    write_plot(&plot, "MNIST CNN", &history)?;
    println!("\nloss and accuracy per epoch: {}", plot.display());
    if let (true, [f, q]) = (a.check, accuracies.as_slice()) {
        if *f < 0.99 || *q < f - 0.005 {
            anyhow::bail!(
                "check failed: f32 {:.2}% (needs >= 99.00%), int8 {:.2}% (needs >= f32 - 0.5 pp)",
                f * 100.0,
                q * 100.0
            );
        }
        println!("check passed: f32 >= 99.00%, int8 within 0.5 pp of f32");
    }
    Ok(())
}
