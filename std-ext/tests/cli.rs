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
    let (code, out, err) = born_env(args, &[]);
    (code == Some(0), out, err)
}

/// Runs `born` with extra environment variables: exit code, stdout, stderr.
fn born_env(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_born"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The cores `--threads 0` stands for.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
    // A folder that does not exist yet: it is created before training.
    let plot = data.join("plots/p.png");
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

/// Exports `net` with input dims `dims` to `dir/name`.
fn write_model(net: &Sequential<Cpu>, dims: &[usize], dir: &Path, name: &str) -> PathBuf {
    let (bytes, _) = born_std::export::export(net, &Cpu, "m", dims).unwrap();
    let path = dir.join(name);
    born_std::export::write_model(&path, &bytes).unwrap();
    path
}

#[test]
fn quantize_rejects_non_finite_calibration_and_clips_outliers() {
    let dir = tmp("calib-check");
    let mut rng = Rng::seed(8);
    let model = write_model(&cnn(&mut rng), &[1, 1, 28, 28], &dir, "m.born");
    let clean = Tensor::randn(&[16, 1, 28, 28], &mut rng)
        .unwrap()
        .data()
        .to_vec();
    let calib = dir.join("calib.npy");
    let q = dir.join("q.born");
    let quantize = |data: &[f32], extra: &[&str]| {
        npy::write_npy_f32(&calib, &[16, 1, 28, 28], data).unwrap();
        let mut args = vec![
            "quantize",
            s(&model),
            "--calibration",
            s(&calib),
            "-o",
            s(&q),
        ];
        args.extend_from_slice(extra);
        born_env(&args, &[])
    };
    for (row, element, value, shown) in [
        (3, 17, f32::NAN, "NaN"),
        (5, 0, f32::INFINITY, "inf"),
        (15, 783, f32::NEG_INFINITY, "-inf"),
    ] {
        let mut data = clean.clone();
        data[row * 784 + element] = value;
        let (code, _, err) = quantize(&data, &[]);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "calibration data for input `input`: row {row} holds {shown} at element {element}"
            )) && err.contains(s(&calib)),
            "{err}"
        );
    }
    // A single huge value: clipped to the range of the others, with a warning naming its row,
    // so the model is the one calibrated on data holding that clipped value.
    let mut spiked = clean.clone();
    spiked[5 * 784 + 100] = 1e30;
    let (code, _, err) = quantize(&spiked, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("1 outlier(s) in row(s) 5 (largest magnitude 1e30")
            && err.contains("clipped to"),
        "{err}"
    );
    let clipped_model = std::fs::read(&q).unwrap();
    let others_max = spiked
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 5 * 784 + 100)
        .map(|(_, &v)| v)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut by_hand = spiked.clone();
    by_hand[5 * 784 + 100] = others_max;
    let (code, _, err) = quantize(&by_hand, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("outlier"), "{err}");
    assert_eq!(std::fs::read(&q).unwrap(), clipped_model);
    // --keep-outliers keeps it, and the model differs.
    let (code, _, err) = quantize(&spiked, &["--keep-outliers"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("outliers kept (--keep-outliers)"), "{err}");
    assert_ne!(std::fs::read(&q).unwrap(), clipped_model);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn quantize_converts_other_dtypes_only_with_cast_and_reports_unused_rows() {
    let dir = tmp("calib-dtype");
    let mut rng = Rng::seed(9);
    let q = dir.join("q.born");
    // uint8 pixels for a float model: refused without --cast, converted (and said) with it.
    let model = write_model(&cnn(&mut rng), &[1, 1, 28, 28], &dir, "m.born");
    let calib = dir.join("calib-u8.npy");
    let pixels: Vec<u8> = (0..4 * 784).map(|i| (i % 256) as u8).collect();
    npy::write_npy_u8(&calib, &[4, 1, 28, 28], &pixels).unwrap();
    let args = [
        "quantize",
        s(&model),
        "--calibration",
        s(&calib),
        "-o",
        s(&q),
    ];
    let (code, _, err) = born_env(&args, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("holds uint8 data, the model's input is float32 (--cast converts it"),
        "{err}"
    );
    let mut with_cast = args.to_vec();
    with_cast.push("--cast");
    let (code, _, err) = born_env(&with_cast, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("converted uint8 to float32 (--cast"), "{err}");
    // A model taking 2 rows per input and 5 calibration rows: the fifth is left out, said.
    let model2 = write_model(&cnn(&mut rng), &[2, 1, 28, 28], &dir, "m2.born");
    let calib5 = dir.join("calib5.npy");
    let data = Tensor::randn(&[5, 1, 28, 28], &mut rng).unwrap();
    npy::write_npy_f32(&calib5, &[5, 1, 28, 28], data.data()).unwrap();
    let (code, _, err) = born_env(
        &[
            "quantize",
            s(&model2),
            "--calibration",
            s(&calib5),
            "-o",
            s(&q),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("the last 1 of 5 calibration row(s) do not fill a model input of batch 2"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn absurd_or_unstartable_thread_counts_are_clear_errors() {
    let dir = tmp("threads-bad");
    let mut rng = Rng::seed(9);
    let model = write_model(&mlp(&mut rng), &[2, 784], &dir, "m.born");
    let x = dir.join("x.npy");
    npy::write_npy_f32(&x, &[6, 784], &[0.5; 6 * 784]).unwrap();
    let y = dir.join("y.npy");
    let run = ["run", s(&model), "-i", s(&x), "-o", s(&y), "--threads"];
    let bench = ["bench", s(&model), "--iters", "2", "--threads"];
    for cmd in [&run[..], &bench[..]] {
        let mut args = cmd.to_vec();
        args.push("100000");
        let (code, _, err) = born_env(&args, &[]);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains("--threads 100000 is more than 1024"),
            "{args:?}: {err}"
        );
        // Threads that cannot be started (no room for their stacks) are an error, not a
        // panic (exit code 101).
        args.pop();
        args.push("2");
        let (code, _, err) = born_env(&args, &[("RUST_MIN_STACK", "1125899906842624")]);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains("cannot start 2 worker thread(s)") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    let (code, _, err) = born_env(
        &[
            "train",
            "mnist",
            "--threads",
            "5000",
            "--data",
            s(&dir),
            "--out",
            s(&y),
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--threads 5000 is more than 1024"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn threads_zero_means_all_cores_everywhere() {
    let data = tiny_mnist("threads-zero", 64);
    let mut rng = Rng::seed(10);
    let model = write_model(&mlp(&mut rng), &[2, 784], &data, "m.born");
    let x = data.join("x.npy");
    let xs = Tensor::randn(&[7, 784], &mut rng).unwrap();
    npy::write_npy_f32(&x, &[7, 784], xs.data()).unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "0"] {
        let y = data.join(format!("y{threads}.npy"));
        let (ok, _, err) = born(&[
            "run",
            s(&model),
            "-i",
            s(&x),
            "-o",
            s(&y),
            "--threads",
            threads,
        ]);
        assert!(ok, "{err}");
        outputs.push(read_bits(&y));
    }
    assert_eq!(outputs[0], outputs[1]);
    let n = cores();
    let (ok, out, err) = born(&[
        "bench",
        s(&model),
        "--iters",
        "3",
        "--warmup",
        "1",
        "--threads",
        "0",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(": {n} thread(s) x 3 inferences")),
        "{out}"
    );
    let (ok, out, err) = born(&[
        "train",
        "mnist",
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--threads",
        "0",
        "--data",
        s(&data),
        "--out",
        s(&data.join("t.born")),
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains(&format!("{n} thread(s), {n} shard(s)")),
        "{out}"
    );
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn run_converts_other_element_types_only_with_cast() {
    let dir = tmp("cast");
    let mut rng = Rng::seed(11);
    let model = write_model(&mlp(&mut rng), &[1, 784], &dir, "m.born");
    let values: Vec<u8> = (0..2 * 784).map(|i| (i % 251) as u8).collect();
    let as_f32: Vec<f32> = values.iter().map(|&v| f32::from(v)).collect();
    let reference = dir.join("x_f32.npy");
    npy::write_npy_f32(&reference, &[2, 784], &as_f32).unwrap();
    let y_ref = dir.join("y_ref.npy");
    let (ok, _, err) = born(&["run", s(&model), "-i", s(&reference), "-o", s(&y_ref)]);
    assert!(ok, "{err}");
    assert!(!err.contains("converted"), "{err}");
    let want = read_bits(&y_ref);
    for (name, data) in [
        ("uint8", npy::NpyData::U8(values.clone())),
        (
            "int64",
            npy::NpyData::I64(values.iter().map(|&v| i64::from(v)).collect()),
        ),
        (
            "float64",
            npy::NpyData::F64(values.iter().map(|&v| f64::from(v)).collect()),
        ),
    ] {
        let x = dir.join(format!("x_{name}.npy"));
        npy::write_npy(
            &x,
            &npy::NpyArray {
                shape: vec![2, 784],
                data,
            },
        )
        .unwrap();
        let y = dir.join(format!("y_{name}.npy"));
        let (code, _, err) = born_env(&["run", s(&model), "-i", s(&x), "-o", s(&y)], &[]);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "input `input` ({}) holds {name} data, the model's input is float32 (--cast \
                 converts it)",
                s(&x)
            )),
            "{err}"
        );
        assert!(!y.exists());
        let (ok, _, err) = born(&["run", s(&model), "-i", s(&x), "-o", s(&y), "--cast"]);
        assert!(ok, "{err}");
        assert!(
            err.contains(&format!("converted {name} to float32 (--cast")),
            "{err}"
        );
        assert_eq!(read_bits(&y), want, "{name}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_file_is_named_once_with_its_error_once() {
    let dir = tmp("missing");
    let mut rng = Rng::seed(12);
    let model = write_model(&mlp(&mut rng), &[1, 784], &dir, "m.born");
    let gone = dir.join("gone.npy");
    let gone_model = dir.join("gone.born");
    for args in [
        vec!["inspect", s(&gone_model)],
        vec!["bench", s(&gone_model)],
        vec!["run", s(&model), "-i", s(&gone), "-o", "y.npy"],
        vec![
            "quantize",
            s(&model),
            "--calibration",
            s(&gone),
            "-o",
            "q.born",
        ],
    ] {
        let (code, _, err) = born_env(&args, &[]);
        assert_eq!(code, Some(1), "{err}");
        assert_eq!(err.matches("(os error 2)").count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("gone.").count(), 1, "{args:?}: {err}");
    }
    let (_, _, err) = born_env(&["inspect", s(&gone_model)], &[]);
    assert!(
        err.starts_with(&format!("born: reading the model: {}: ", s(&gone_model))),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn train_checks_its_output_locations_before_training() {
    let data = tiny_mnist("train-out", 64);
    let blocker = data.join("blocker");
    std::fs::write(&blocker, b"a file, not a folder").unwrap();
    let inside = blocker.join("m.born");
    let good = data.join("ok.born");
    for (flag, path, why) in [
        ("--out", &inside, "cannot create the folder"),
        ("--checkpoint", &inside, "cannot create the folder"),
        ("--summary", &inside, "cannot create the folder"),
        ("--out", &data, "cannot write the file"),
    ] {
        let mut args = vec!["train", "mnist", "--model", "mlp", "--epochs", "1"];
        args.extend(["--data", s(&data)]);
        if flag != "--out" {
            args.extend(["--out", s(&good)]);
        }
        args.extend([flag, s(path)]);
        let (code, out, err) = born_env(&args, &[]);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&format!("{flag} {}: {why}", s(path))),
            "{flag}: {err}"
        );
        assert!(!out.contains("training"), "trained before failing: {out}");
    }
    // The probe leaves nothing behind.
    assert!(!good.exists() && !data.join("ok.safetensors").exists());
    std::fs::remove_dir_all(&data).ok();
}

#[test]
fn run_refuses_to_overwrite_its_model_or_inputs() {
    let dir = tmp("overwrite");
    let mut rng = Rng::seed(13);
    let model = write_model(&mlp(&mut rng), &[1, 784], &dir, "m.born");
    let before = std::fs::read(&model).unwrap();
    let x = dir.join("x.npy");
    npy::write_npy_f32(&x, &[1, 784], &[0.25; 784]).unwrap();
    let x_before = std::fs::read(&x).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    // Other spellings of the same files: `sub/..` and `./` are resolved.
    let model_again = dir.join("sub/../m.born");
    let x_again = dir.join("./x.npy");
    for (out, what, named) in [
        (&model, "the model", &model),
        (&model_again, "the model", &model),
        (&x, "an input", &x),
        (&x_again, "an input", &x),
    ] {
        let (code, _, err) = born_env(&["run", s(&model), "-i", s(&x), "-o", s(out)], &[]);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "--output {} is {what} ({}): refusing to overwrite it",
                s(out),
                s(named)
            )),
            "{err}"
        );
    }
    assert_eq!(std::fs::read(&model).unwrap(), before);
    assert_eq!(std::fs::read(&x).unwrap(), x_before);
    let (ok, _, err) = born(&["run", s(&model), "-i", s(&x), "-o", s(&dir.join("y.npy"))]);
    assert!(ok, "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The PyTorch-exported MNIST CNN in the data directory (`None`, with a message, when the
/// data directory does not hold it).
fn mnist_cnn_onnx() -> Option<PathBuf> {
    let dir = born_std::data::data_dir()
        .map(|d| d.join("onnx/mnist-cnn"))
        .filter(|d| d.join("model.onnx").exists());
    if dir.is_none() {
        eprintln!("no onnx/mnist-cnn in the data directory (set BORN_DATA): skipping");
    }
    dir
}

/// Index of the largest value of each row of 10 logits.
fn argmax10(p: &Path) -> Vec<usize> {
    let a = npy::read_npy(p).unwrap();
    assert_eq!(a.shape, [100, 10], "{}", p.display());
    a.to_f32()
        .chunks_exact(10)
        .map(|r| (0..10).max_by(|&i, &j| r[i].total_cmp(&r[j])).unwrap())
        .collect()
}

#[test]
fn convert_onnx_then_run_matches_pytorch() {
    let Some(src) = mnist_cnn_onnx() else { return };
    let dir = tmp("convert");
    let images = src.join("t10k_first100_images.npy");
    let want = npy::read_npy(&src.join("t10k_first100_logits.npy"))
        .unwrap()
        .to_f32();
    let atol = 1e-5 * want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    // Batch 1: `born run` runs the 100 images one at a time; batch 8: 13 chunks, the last
    // padded.
    for batch in ["1", "8"] {
        let model = dir.join(format!("cnn{batch}.born"));
        let shape = format!("image={batch},1,28,28");
        let (ok, out, err) = born(&[
            "convert",
            s(&src.join("model.onnx")),
            "-o",
            s(&model),
            "--input-shape",
            &shape,
            "--name",
            "mnist-cnn",
        ]);
        assert!(ok, "{err}");
        // The batch is given, so no dimension was bound on the user's behalf.
        assert!(!err.contains("note:"), "{err}");
        assert!(
            out.contains(&format!("wrote {}: ", s(&model)))
                && out.contains(" ops, ")
                && out.contains(" tensors, weights ")
                && out.contains(" bytes, arena "),
            "{out}"
        );
        let (ok, info, err) = born(&["inspect", s(&model)]);
        assert!(ok, "{err}");
        assert!(info.contains("model     mnist-cnn"), "{info}");
        assert!(
            info.contains(&format!("image F32[{batch},1,28,28]")),
            "{info}"
        );
        let y = dir.join(format!("y{batch}.npy"));
        let (ok, _, err) = born(&["run", s(&model), "-i", s(&images), "-o", s(&y)]);
        assert!(ok, "{err}");
        let got = npy::read_npy(&y).unwrap();
        assert_eq!(got.shape, [100, 10]);
        for (k, (g, w)) in got.to_f32().iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= atol + 1e-4 * w.abs(),
                "batch {batch}, logit {k}: {g} vs PyTorch's {w}"
            );
        }
    }
    // Without --input-shape the dynamic batch is bound to 1, and a note says so.
    let model = dir.join("cnn.born");
    let (ok, out, err) = born(&["convert", s(&src.join("model.onnx")), "-o", s(&model)]);
    assert!(ok, "{err}");
    assert!(
        err.contains("born: note: input `image`: dynamic dimension 0"),
        "{err}"
    );
    assert!(out.contains("wrote"), "{out}");
    let (ok, info, err) = born(&["inspect", s(&model)]);
    assert!(ok, "{err}");
    assert!(info.contains("image F32[1,1,28,28]"), "{info}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_rejects_bad_requests_clearly() {
    let Some(src) = mnist_cnn_onnx() else { return };
    let dir = tmp("convert-bad");
    let onnx = dir.join("model.onnx");
    std::fs::copy(src.join("model.onnx"), &onnx).unwrap();
    let before = std::fs::read(&onnx).unwrap();
    let out = dir.join("m.born");
    let calib = dir.join("calib.npy");
    npy::write_npy_f32(&calib, &[2, 1, 28, 28], &[0.5; 2 * 784]).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--input-shape", "picture=1,1,28,28"],
            "the model has no input `picture` (inputs: image)",
        ),
        (
            &["--input-shape", "image1,1,28,28"],
            "no `=` in `image1,1,28,28`",
        ),
        (
            &["--input-shape", "image=1,x,28,28"],
            "dimension `x` of `image=1,x,28,28` is not a positive integer",
        ),
        (&["--input-shape", "image="], "no dimensions after `=`"),
        (&["--input-shape", "=1,1,28,28"], "no input name before `=`"),
        (
            &["--input-shape", "image=1,0,28,28"],
            "dimension `0` of `image=1,0,28,28` is not a positive integer",
        ),
        (
            &["--input-shape", "image=1,28,28"],
            "given 3 dimensions, the model declares 4",
        ),
        (
            &[
                "--input-shape",
                "image=1,1,28,28",
                "--input-shape",
                "image=2,1,28,28",
            ],
            "--input-shape given twice for input `image`",
        ),
        (&["--quantize", "int8"], "--calibration"),
        (
            &["--quantize", "int4", "--calibration", s(&calib)],
            "invalid value 'int4' for '--quantize",
        ),
        (&["--calibration", s(&calib)], "--quantize"),
        (&["--keep-outliers"], "--quantize"),
    ];
    for &(extra, why) in cases {
        let mut args = vec!["convert", s(&onnx), "-o", s(&out)];
        args.extend_from_slice(extra);
        let (code, stdout, err) = born_env(&args, &[]);
        assert!(code.is_some_and(|c| c != 0), "{extra:?}: {code:?} {err}");
        assert!(err.contains(why), "{extra:?}: {err}");
        assert!(!err.contains("panicked"), "{extra:?}: {err}");
        assert!(!stdout.contains("wrote"), "{extra:?}: {stdout}");
        assert!(!out.exists(), "{extra:?} wrote {}", s(&out));
    }
    // The input model (however spelled) and the calibration file are never overwritten.
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let onnx_again = dir.join("sub/../model.onnx");
    for (target, what, named) in [
        (&onnx, "the model", &onnx),
        (&onnx_again, "the model", &onnx),
        (&calib, "an input", &calib),
    ] {
        let (code, _, err) = born_env(
            &[
                "convert",
                s(&onnx),
                "-o",
                s(target),
                "--quantize",
                "int8",
                "--calibration",
                s(&calib),
            ],
            &[],
        );
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "--output {} is {what} ({}): refusing to overwrite it",
                s(target),
                s(named)
            )),
            "{err}"
        );
    }
    assert_eq!(std::fs::read(&onnx).unwrap(), before);
    // The calibration data is checked as `born quantize` checks it.
    let mut bad = vec![0.5f32; 2 * 784];
    bad[784 + 3] = f32::NAN;
    npy::write_npy_f32(&calib, &[2, 1, 28, 28], &bad).unwrap();
    let (code, _, err) = born_env(
        &[
            "convert",
            s(&onnx),
            "-o",
            s(&out),
            "--quantize",
            "int8",
            "--calibration",
            s(&calib),
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("row 1 holds NaN at element 3; calibration values must be finite"),
        "{err}"
    );
    npy::write_npy_f32(&calib, &[2, 28, 28], &[0.5; 2 * 784]).unwrap();
    let (code, _, err) = born_env(
        &[
            "convert",
            s(&onnx),
            "-o",
            s(&out),
            "--quantize",
            "int8",
            "--calibration",
            s(&calib),
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("does not stack inputs of the model's shape"),
        "{err}"
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_quantize_int8_agrees_with_f32() {
    let Some(src) = mnist_cnn_onnx() else { return };
    let dir = tmp("convert-int8");
    let images = src.join("t10k_first100_images.npy");
    let (f32_model, int8_model) = (dir.join("cnn.born"), dir.join("cnn.int8.born"));
    let onnx = src.join("model.onnx");
    let shape = ["--input-shape", "image=1,1,28,28"];
    let mut args = vec!["convert", s(&onnx), "-o", s(&f32_model)];
    args.extend(shape);
    let (ok, _, err) = born(&args);
    assert!(ok, "{err}");
    // One pixel of 1e30 among the calibration images is clipped, with a warning.
    let mut calib = npy::read_npy(&images).unwrap().to_f32();
    calib[5 * 784 + 400] = 1e30;
    let cpath = dir.join("calib.npy");
    npy::write_npy_f32(&cpath, &[100, 1, 28, 28], &calib).unwrap();
    let mut args = vec!["convert", s(&onnx), "-o", s(&int8_model)];
    args.extend(shape);
    args.extend(["--quantize", "int8", "--calibration", s(&cpath)]);
    let (ok, out, err) = born(&args);
    assert!(ok, "{err}");
    assert!(
        err.contains("holds 1 outlier(s) in row(s) 5") && err.contains("outliers clipped"),
        "{err}"
    );
    assert!(out.contains("quantized with 100 inputs (MinMax)"), "{out}");
    assert!(
        out.contains(&format!("wrote {}: ", s(&int8_model))),
        "{out}"
    );
    let (ok, info, err) = born(&["inspect", s(&int8_model)]);
    assert!(ok, "{err}");
    assert!(
        info.contains("QConv2d") && info.contains("QFullyConnected"),
        "{info}"
    );
    assert!(info.contains("image F32[1,1,28,28]"), "{info}");
    let bytes = AlignedBytes::from_slice(&std::fs::read(&int8_model).unwrap());
    let m = Model::from_bytes(&bytes).unwrap();
    let int8_weights = (0..m.n_tensors())
        .filter(|&k| {
            let t = m.tensor(k).unwrap();
            t.dtype == born_core::DType::I8
                && matches!(t.storage, born_core::model::Storage::Const { .. })
        })
        .count();
    assert!(int8_weights >= 3, "{int8_weights} int8 weight tensors");
    let (yf, yq) = (dir.join("yf.npy"), dir.join("yq.npy"));
    for (model, y) in [(&f32_model, &yf), (&int8_model, &yq)] {
        let (ok, _, err) = born(&["run", s(model), "-i", s(&images), "-o", s(y)]);
        assert!(ok, "{err}");
    }
    let (f, q) = (argmax10(&yf), argmax10(&yq));
    let agree = f.iter().zip(&q).filter(|(a, b)| a == b).count();
    assert!(agree >= 95, "int8 agrees with f32 on {agree} of 100 images");
    std::fs::remove_dir_all(&dir).ok();
}
