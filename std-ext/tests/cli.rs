//! The `born` binary end to end: models built in Rust, exported, run through the CLI with
//! `.npy` files (including batch chunking and threads), quantized, inspected and benched.

use born_core::backend::Cpu;
use born_core::model::graph::AlignedBytes;
use born_core::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential};
use born_core::{Interpreter, Model, Rng, Tensor};
use born_std::npy;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("born-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn born(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_born"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mlp(rng: &mut Rng) -> Sequential<Cpu> {
    Sequential::new()
        .push(Linear::new(784, 64, &Cpu, rng).unwrap())
        .push(ReLU)
        .push(Linear::new(64, 10, &Cpu, rng).unwrap())
}

fn cnn(rng: &mut Rng) -> Sequential<Cpu> {
    Sequential::new()
        .push(Conv2d::new(1, 8, 3, &Cpu, rng).unwrap().padding(1))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Conv2d::new(8, 16, 3, &Cpu, rng).unwrap().padding(1))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(16 * 7 * 7, 10, &Cpu, rng).unwrap())
}

/// Eager outputs of `rows` rows of `x` run as the CLI does: chunks of `batch` rows, the
/// last padded with zeros, padding rows dropped.
fn eager_chunked(
    net: &Sequential<Cpu>,
    x: &[f32],
    row: &[usize],
    rows: usize,
    batch: usize,
) -> Vec<u32> {
    let per: usize = row.iter().product();
    let mut out = Vec::new();
    for c in 0..rows.div_ceil(batch) {
        let mut chunk = vec![0.0f32; batch * per];
        let lo = c * batch * per;
        let hi = ((c + 1) * batch * per).min(x.len());
        chunk[..hi - lo].copy_from_slice(&x[lo..hi]);
        let mut dims = vec![batch];
        dims.extend_from_slice(row);
        let y = net
            .forward(&Cpu, &Tensor::from_vec(chunk, &dims).unwrap())
            .unwrap();
        let keep = (rows - c * batch).min(batch) * (y.data().len() / batch);
        out.extend(y.data()[..keep].iter().map(|v| v.to_bits()));
    }
    out
}

fn read_bits(p: &Path) -> (Vec<usize>, Vec<u32>) {
    let a = npy::read_npy(p).unwrap();
    (
        a.shape.clone(),
        a.to_f32().iter().map(|v| v.to_bits()).collect(),
    )
}

fn round_trip(net: &Sequential<Cpu>, row: &[usize], dir: &Path, rng: &mut Rng) {
    std::fs::create_dir_all(dir).unwrap();
    let batch = 2;
    let rows = 5;
    let mut dims = vec![batch];
    dims.extend_from_slice(row);
    let (bytes, plan) = born_std::export::export(net, &Cpu, "m", &dims).unwrap();
    assert!(plan.arena_len <= plan.naive_len);
    let model = dir.join("m.born");
    born_std::export::write_model(&model, &bytes).unwrap();
    let mut xdims = vec![rows];
    xdims.extend_from_slice(row);
    let x = Tensor::randn(&xdims, rng).unwrap();
    let xin = dir.join("x.npy");
    npy::write_npy_f32(&xin, &xdims, x.data()).unwrap();
    let want = eager_chunked(net, x.data(), row, rows, batch);
    for (threads, input) in [
        ("1", s(&xin).to_string()),
        ("3", format!("input={}", s(&xin))),
    ] {
        let y = dir.join(format!("y{threads}.npy"));
        let (ok, _, err) = born(&[
            "run",
            s(&model),
            "--input",
            &input,
            "--output",
            s(&y),
            "--threads",
            threads,
        ]);
        assert!(ok, "{err}");
        let (shape, got) = read_bits(&y);
        assert_eq!(shape, [rows, 10]);
        assert_eq!(
            got, want,
            "born run output differs from the eager forward pass"
        );
    }
    let (ok, out, err) = born(&["inspect", s(&model)]);
    assert!(ok, "{err}");
    assert!(
        out.contains("arena") && out.contains("FullyConnected"),
        "{out}"
    );
}

#[test]
fn mlp_and_cnn_round_trip_through_the_cli() {
    let dir = tmp("roundtrip");
    let mut rng = Rng::seed(5);
    round_trip(&mlp(&mut rng), &[784], &dir.join("mlp"), &mut rng);
    round_trip(&cnn(&mut rng), &[1, 28, 28], &dir.join("cnn"), &mut rng);
}

#[test]
fn quantize_then_run_matches_the_library() {
    let dir = tmp("quantize");
    let mut rng = Rng::seed(6);
    let net = cnn(&mut rng);
    let (bytes, _) = born_std::export::export(&net, &Cpu, "m", &[1, 1, 28, 28]).unwrap();
    let model = dir.join("m.born");
    born_std::export::write_model(&model, &bytes).unwrap();
    let calib = Tensor::randn(&[16, 1, 28, 28], &mut rng).unwrap();
    let cpath = dir.join("calib.npy");
    npy::write_npy_f32(&cpath, &[16, 1, 28, 28], calib.data()).unwrap();
    let q = dir.join("m.int8.born");
    let (ok, out, err) = born(&[
        "quantize",
        s(&model),
        "--calibration",
        s(&cpath),
        "-o",
        s(&q),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("int8 ops"), "{out}");
    let (ok, _, err) = born(&[
        "run",
        s(&q),
        "--input",
        s(&cpath),
        "--output",
        s(&dir.join("y.npy")),
    ]);
    assert!(ok, "{err}");
    let (shape, got) = read_bits(&dir.join("y.npy"));
    assert_eq!(shape, [16, 10]);
    let qbytes = AlignedBytes::from_slice(&std::fs::read(&q).unwrap());
    let m = Model::from_bytes(&qbytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let mut it = Interpreter::new(&m, &mut arena).unwrap();
    let mut want = Vec::new();
    for img in calib.data().chunks_exact(784) {
        it.input_mut::<f32>(0).unwrap().copy_from_slice(img);
        it.invoke().unwrap();
        want.extend(it.output::<f32>(0).unwrap().iter().map(|v| v.to_bits()));
    }
    assert_eq!(got, want);
    let (ok, out, err) = born(&[
        "bench",
        s(&q),
        "--iters",
        "20",
        "--warmup",
        "2",
        "--threads",
        "2",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("p99") && out.contains("inferences/s"), "{out}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tmp("bad");
    let mut rng = Rng::seed(7);
    let (bytes, _) = born_std::export::export(&mlp(&mut rng), &Cpu, "m", &[1, 784]).unwrap();
    let model = dir.join("m.born");
    born_std::export::write_model(&model, &bytes).unwrap();
    let x = dir.join("x.npy");
    npy::write_npy_f32(&x, &[3, 100], &[0.0; 300]).unwrap();
    let (ok, _, err) = born(&[
        "run",
        s(&model),
        "--input",
        s(&x),
        "--output",
        s(&dir.join("y.npy")),
    ]);
    assert!(!ok);
    assert!(err.contains("does not match the model's"), "{err}");
    let junk = dir.join("junk.born");
    std::fs::write(&junk, b"BORN but not really a model").unwrap();
    let (ok, _, err) = born(&["inspect", s(&junk)]);
    assert!(!ok);
    assert!(
        err.contains("truncated") || err.contains("version"),
        "{err}"
    );
}

/// An IDX file: magic, big-endian dimensions, bytes.
fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = magic.to_be_bytes().to_vec();
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// A data directory with a small MNIST (`n` training and `n / 2` test images) whose label is
/// the brightest of ten horizontal bands.
fn tiny_mnist(name: &str, n: u32) -> PathBuf {
    let dir = tmp(name);
    let mnist = dir.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    let mut rng = Rng::seed(5);
    for (split, count) in [("train", n), ("t10k", n / 2)] {
        let mut px = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..count {
            let label = rng.below(10) as usize;
            for p in 0..784 {
                let band = p / 28;
                let hot = band >= label * 2 + 4 && band < label * 2 + 6;
                px.push(if hot { 200 } else { (rng.below(60)) as u8 });
            }
            labels.push(label as u8);
        }
        std::fs::write(
            mnist.join(format!("{split}-images-idx3-ubyte")),
            idx(0x803, &[count, 28, 28], &px),
        )
        .unwrap();
        std::fs::write(
            mnist.join(format!("{split}-labels-idx1-ubyte")),
            idx(0x801, &[count], &labels),
        )
        .unwrap();
    }
    dir
}

#[test]
fn train_writes_model_checkpoint_summary_and_plot() {
    let data = tiny_mnist("train", 256);
    let out = data.join("m.born");
    let summary = data.join("s.json");
    let plot = data.join("p.png");
    let (ok, stdout, stderr) = born(&[
        "train",
        "mnist",
        "--model",
        "mlp",
        "--epochs",
        "2",
        "--batch",
        "32",
        "--lr",
        "0.003",
        "--threads",
        "2",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--int8",
        s(&data.join("q.born")),
        "--summary",
        s(&summary),
        "--plot",
        s(&plot),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("epoch 2/2"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(v["epochs"].as_array().unwrap().len(), 2);
    assert!(v["test_accuracy"].as_f64().unwrap() > 0.8, "{v}");
    assert!(v["train_seconds"].as_f64().unwrap() > 0.0);
    assert!(data.join("m.safetensors").exists() && plot.exists());
    // The written models load, with the image/logits contract.
    for f in ["m.born", "q.born"] {
        let bytes = AlignedBytes::from_slice(&std::fs::read(data.join(f)).unwrap());
        let m = Model::from_bytes(&bytes).unwrap();
        assert_eq!(
            (m.input_index("image"), m.output_index("logits")),
            (Some(0), Some(0))
        );
    }
    // Resuming from the checkpoint continues from the trained weights.
    let (ok, stdout, stderr) = born(&[
        "train",
        "mnist",
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--data",
        s(&data),
        "--out",
        s(&data.join("m2.born")),
        "--resume",
        s(&data.join("m.safetensors")),
    ]);
    assert!(ok && stdout.contains("resumed from"), "{stdout}\n{stderr}");
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn train_rejects_bad_requests_clearly() {
    let empty = tmp("train-empty");
    let (ok, _, err) = born(&["train", "mnist", "--data", s(&empty), "--out", "x.born"]);
    assert!(
        !ok && err.contains("not found") && err.contains("BORN_DATA"),
        "{err}"
    );
    let data = tiny_mnist("train-bad", 64);
    let x = data.join("x.born");
    for (args, want) in [
        (vec!["train", "digits"], "unknown data set"),
        (vec!["train", "mnist", "--model", "rnn"], "unknown model"),
        (
            vec!["train", "mnist", "--optimizer", "lbfgs"],
            "unknown optimizer",
        ),
        (
            vec!["train", "mnist", "--schedule", "linear"],
            "unknown schedule",
        ),
        (vec!["train", "mnist", "--batch", "0"], "at least 1"),
        (vec!["train", "mnist", "--lr=-1"], "lr"),
    ] {
        let mut a = args.clone();
        a.extend(["--data", s(&data), "--out", s(&x), "--epochs", "1"]);
        let (ok, _, err) = born(&a);
        assert!(!ok && err.contains(want), "{args:?}: {err}");
    }
    // A corrupt header names the file.
    std::fs::write(data.join("mnist/train-labels-idx1-ubyte"), [0u8, 0, 9, 9]).unwrap();
    let (ok, _, err) = born(&["train", "mnist", "--data", s(&data), "--out", "x.born"]);
    assert!(!ok && err.contains("train-labels-idx1-ubyte"), "{err}");
    std::fs::remove_dir_all(&data).ok();
    std::fs::remove_dir_all(&empty).ok();
}
