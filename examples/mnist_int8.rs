//! The PyTorch-trained MNIST CNN rebuilt from nn modules, exported to `.born`, quantized to
//! int8 with calibration data, and evaluated on the 10,000 test images.
//!
//! Usage: `mnist_int8 <weights-dir> <out-dir>` where `<weights-dir>` holds the `.npy`
//! parameters written by `scripts/mnist_cnn_weights.py` and the MNIST files are found
//! through `BORN_DATA` (see `born_std::data`). Writes `mnist_cnn.born`,
//! `mnist_cnn.int8.born`, `mnist_mlp.born` (fixed-seed weights, for timing) and
//! `mnist_mlp.int8.born` into `<out-dir>`, plus `t10k_images.npy`/`t10k_labels.npy`.
//! Exits non-zero unless the f32 model reproduces PyTorch's logits and the int8 model's
//! accuracy is within 0.5 percentage points of the f32 model's.

use born_core::backend::Cpu;
use born_core::model::graph::AlignedBytes;
use born_core::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential};
use born_core::{Interpreter, Model, Rng, Tensor};
use born_std::data::{self, Split};
use born_std::npy;
use born_std::quantize::{self, Method};
use std::error::Error;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn Error>>;

fn cnn(rng: &mut Rng) -> Res<Sequential<Cpu>> {
    Ok(Sequential::new()
        .push(Conv2d::new(1, 16, 3, &Cpu, rng)?.padding(1))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Conv2d::new(16, 32, 3, &Cpu, rng)?.padding(1))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(32 * 7 * 7, 64, &Cpu, rng)?)
        .push(ReLU)
        .push(Linear::new(64, 10, &Cpu, rng)?))
}

/// Loads the PyTorch parameters (`conv1.weight` ...) into the Sequential's slots.
fn load_weights(model: &mut Sequential<Cpu>, dir: &Path) -> Res<()> {
    let map = [("0", "conv1"), ("3", "conv2"), ("7", "fc1"), ("9", "fc2")];
    let mut err: Option<Box<dyn Error>> = None;
    model.visit_params_mut(&mut |name, t| {
        let (layer, what) = name.split_once('.').unwrap_or((name, ""));
        let Some((_, torch)) = map.iter().find(|(l, _)| *l == layer) else {
            err = Some(format!("unexpected parameter {name}").into());
            return;
        };
        let path = dir.join(format!("{torch}.{what}.npy"));
        match npy::read_npy(&path) {
            Ok(a) if a.shape == t.dims() => t.data_mut().copy_from_slice(&a.to_f32()),
            Ok(a) => {
                err = Some(
                    format!(
                        "{}: shape {:?}, expected {:?}",
                        path.display(),
                        a.shape,
                        t.dims()
                    )
                    .into(),
                )
            }
            Err(e) => err = Some(e.into()),
        }
    });
    err.map_or(Ok(()), Err)
}

/// Runs `bytes` on every image, returns the accuracy in percent.
fn accuracy(bytes: &[u8], images: &[f32], labels: &[u8]) -> Res<f64> {
    let model = Model::from_bytes(bytes)?;
    let mut arena = vec![0u8; Interpreter::arena_len(&model)?];
    let mut it = Interpreter::new(&model, &mut arena)?;
    let mut correct = 0usize;
    for (img, &label) in images.chunks_exact(784).zip(labels) {
        it.input_mut::<f32>(0)?.copy_from_slice(img);
        it.invoke()?;
        let logits: &[f32] = it.output(0)?;
        let pred = (0..10).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
        correct += usize::from(pred == usize::from(label));
    }
    Ok(100.0 * correct as f64 / labels.len() as f64)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(wdir), Some(out)) = (args.get(1), args.get(2)) else {
        return Err("usage: mnist_int8 <weights-dir> <out-dir>".into());
    };
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    let ddir = data::data_dir().ok_or("no data directory: set BORN_DATA")?;
    let test = data::load_mnist(&ddir, Split::Test)?;
    let train = data::load_mnist(&ddir, Split::Train)?;

    let mut rng = Rng::seed(0);
    let mut model = cnn(&mut rng)?;
    load_weights(&mut model, Path::new(wdir))?;

    // The eager model against PyTorch's logits for the first 100 test images.
    let refdir = ddir.join("onnx/mnist-cnn");
    let imgs = npy::read_npy(&refdir.join("t10k_first100_images.npy"))?;
    let want = npy::read_npy(&refdir.join("t10k_first100_logits.npy"))?.to_f32();
    let got = model.forward(&Cpu, &Tensor::from_vec(imgs.to_f32(), &imgs.shape)?)?;
    let max_diff = got
        .data()
        .iter()
        .zip(&want)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    println!("eager f32 vs PyTorch logits (first 100 test images): max |diff| = {max_diff:.2e}");
    if max_diff > 1e-4 {
        return Err("the rebuilt CNN does not reproduce PyTorch's logits".into());
    }

    let (f32_bytes, plan) = born_std::export::export(&model, &Cpu, "mnist-cnn", &[1, 1, 28, 28])?;
    born_std::export::write_model(&out.join("mnist_cnn.born"), &f32_bytes)?;
    println!(
        "mnist_cnn.born: {} bytes, arena {} bytes (no reuse {})",
        f32_bytes.len(),
        plan.arena_len,
        plan.naive_len
    );

    let calib = &train.images[..1000 * 784];
    let g = born_core::model::graph::Graph::from_model(&Model::from_bytes(
        &AlignedBytes::from_slice(&f32_bytes),
    )?)?;
    let acc_f32 = accuracy(
        &AlignedBytes::from_slice(&f32_bytes),
        &test.images,
        &test.labels,
    )?;
    println!(
        "f32  accuracy on {} test images: {acc_f32:.2}% (PyTorch: 98.68%)",
        test.len
    );
    let mut worst: f64 = 0.0;
    for (method, file) in [
        (Method::MinMax, "mnist_cnn.int8.born"),
        (Method::Percentile(99.99), "mnist_cnn.int8-p9999.born"),
    ] {
        let (q, report) = quantize::quantize(&g, calib, method, &mut |_, _| {})?;
        let (qbytes, qplan) = born_std::export::encode_planned(&q)?;
        born_std::export::write_model(&out.join(file), &qbytes)?;
        let acc = accuracy(
            &AlignedBytes::from_slice(&qbytes),
            &test.images,
            &test.labels,
        )?;
        println!(
            "int8 accuracy ({method:?}, 1000 calibration images): {acc:.2}% ({:+.2} pp); {} int8 ops; {} bytes, arena {} bytes",
            acc - acc_f32, report.int8_ops, qbytes.len(), qplan.arena_len
        );
        worst = worst.max((acc - acc_f32).abs());
    }

    // A fixed-seed MLP of the usual MNIST shape, for timing only.
    let mlp = Sequential::new()
        .push(Linear::new(784, 128, &Cpu, &mut rng)?)
        .push(ReLU)
        .push(Linear::new(128, 10, &Cpu, &mut rng)?);
    let (mlp_bytes, _) = born_std::export::export(&mlp, &Cpu, "mnist-mlp", &[1, 784])?;
    born_std::export::write_model(&out.join("mnist_mlp.born"), &mlp_bytes)?;
    let gm = born_core::model::graph::Graph::from_model(&Model::from_bytes(
        &AlignedBytes::from_slice(&mlp_bytes),
    )?)?;
    let (qm, _) = quantize::quantize(&gm, calib, Method::MinMax, &mut |_, _| {})?;
    born_std::export::write_model(
        &out.join("mnist_mlp.int8.born"),
        &born_std::export::encode_planned(&qm)?.0,
    )?;

    npy::write_npy_f32(
        &out.join("t10k_images.npy"),
        &[test.len, 1, 28, 28],
        &test.images,
    )?;
    npy::write_npy_u8(&out.join("t10k_labels.npy"), &[test.len], &test.labels)?;
    if worst > 0.5 {
        return Err(format!("int8 accuracy differs from f32 by {worst:.2} pp (> 0.5)").into());
    }
    Ok(())
}
