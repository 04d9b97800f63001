//! The shared ONNX models (PyTorch exports) converted by `born_std::onnx` and run by born,
//! against PyTorch's and onnxruntime's stored outputs.

use born_std::npy::{read_npy, NpyData};
use born_std::onnx::{convert, Options};
use born_tests::{run_model, tolerance_ratio};
use std::path::PathBuf;

fn data() -> PathBuf {
    born_std::data::data_dir()
        .expect("reference data (set BORN_DATA)")
        .join("onnx")
}

fn f32s(path: &std::path::Path) -> (Vec<usize>, Vec<f32>) {
    let a = read_npy(path).expect("read npy");
    match a.data {
        NpyData::F32(v) => (a.shape, v),
        _ => panic!("{} is not float32", path.display()),
    }
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn logits(out: &[born_tests::Output]) -> Vec<f32> {
    out[0]
        .2
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Converts `model` at batch `b` (input `input`, per-example dims `dims`) and checks the
/// logits of examples `0..b` of `input.npy`-like `x` against `reference` with the issue's
/// tolerance: `rtol 1e-4`, `atol 1e-5 * max|reference|`.
fn check(model: &str, input: &str, dims: &[usize], x: &[f32], reference: &[f32], b: usize) {
    let mut shape = vec![b];
    shape.extend_from_slice(dims);
    let opts = Options {
        input_shapes: vec![(input.to_string(), shape)],
        ..Options::default()
    };
    let (born, notes) = convert(&data().join(model).join("model.onnx"), &opts)
        .unwrap_or_else(|e| panic!("{model}: {e}"));
    assert!(notes.is_empty(), "{notes:?}");
    let per: usize = dims.iter().product();
    let out = run_model(&born, &[&bytes(&x[..b * per])]).expect("run");
    let got = logits(&out);
    let classes = reference.len() / (x.len() / per);
    let want = &reference[..b * classes];
    assert_eq!(got.len(), want.len());
    let max = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let r = tolerance_ratio(&got, want, 1e-4, 1e-5 * max);
    eprintln!("{model} batch {b}: worst error / tolerance {r:.3}");
    assert!(
        r <= 1.0,
        "{model} batch {b}: error is {r} times the tolerance (max |ref| {max})"
    );
}

#[test]
fn mnist_cnn_matches_pytorch() {
    let dir = data().join("mnist-cnn");
    let (_, x) = f32s(&dir.join("t10k_first100_images.npy"));
    let (_, want) = f32s(&dir.join("t10k_first100_logits.npy"));
    check("mnist-cnn", "image", &[1, 28, 28], &x, &want, 1);
    check("mnist-cnn", "image", &[1, 28, 28], &x, &want, 2);
    check("mnist-cnn", "image", &[1, 28, 28], &x, &want, 100);
}

fn torchvision(model: &str) {
    let dir = data().join(model);
    let (_, x) = f32s(&dir.join("input.npy"));
    let (_, want) = f32s(&dir.join("logits_ort.npy"));
    check(model, "input", &[3, 224, 224], &x, &want, 1);
    check(model, "input", &[3, 224, 224], &x, &want, 2);
}

#[test]
fn resnet18_matches_onnxruntime() {
    torchvision("resnet18");
}

#[test]
fn mobilenet_v2_matches_onnxruntime() {
    torchvision("mobilenet-v2");
}

#[test]
fn efficientnet_b0_matches_onnxruntime() {
    torchvision("efficientnet-b0");
}

/// int64 `.npy` values as little-endian bytes.
fn i64_bytes(path: &std::path::Path) -> (Vec<usize>, Vec<u8>) {
    let a = read_npy(path).expect("read npy");
    match a.data {
        NpyData::I64(v) => (a.shape, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        _ => panic!("{} is not int64", path.display()),
    }
}

/// all-MiniLM-L6-v2 (BERT, 6 layers) on the four tokenized sentences: `last_hidden_state`
/// within 1e-4 of PyTorch's, and the mean-pooled, L2-normalised embeddings within cosine
/// 0.99999 of sentence-transformers', at batch 1, 2 and 4.
#[test]
fn minilm_matches_pytorch() {
    let dir = data().join("all-minilm-l6-v2");
    let names = ["input_ids", "attention_mask", "token_type_ids"];
    let inputs: Vec<(Vec<usize>, Vec<u8>)> = names
        .iter()
        .map(|n| i64_bytes(&dir.join(format!("{n}.npy"))))
        .collect();
    let (hshape, hidden) = f32s(&dir.join("last_hidden_state.npy"));
    let (_, sentences) = f32s(&dir.join("sentence_embeddings.npy"));
    let (n, s, d) = (hshape[0], hshape[1], hshape[2]);
    for b in [1, 2, 4] {
        let opts = Options {
            input_shapes: names.iter().map(|k| (k.to_string(), vec![b, s])).collect(),
            ..Options::default()
        };
        let (born, _) = convert(&dir.join("model.onnx"), &opts).unwrap_or_else(|e| panic!("{e}"));
        let feeds: Vec<&[u8]> = inputs.iter().map(|(_, v)| &v[..b * s * 8]).collect();
        let out = run_model(&born, &feeds).expect("run");
        let got = logits(&out);
        assert_eq!(got.len(), b * s * d);
        let worst = got
            .iter()
            .zip(&hidden)
            .map(|(a, r)| (a - r).abs())
            .fold(0f32, f32::max);
        eprintln!("minilm batch {b}: max |born - torch| {worst:.2e}");
        assert!(
            worst <= 1e-4,
            "batch {b}: last_hidden_state differs by {worst}"
        );
        let mask = &inputs[1].1;
        for e in 0..b {
            let mut pooled = vec![0f64; d];
            let mut count = 0f64;
            for t in 0..s {
                let m = i64::from_le_bytes(mask[(e * s + t) * 8..][..8].try_into().unwrap());
                if m != 0 {
                    count += 1.0;
                    for (p, v) in pooled.iter_mut().zip(&got[(e * s + t) * d..][..d]) {
                        *p += f64::from(*v);
                    }
                }
            }
            let want = &sentences[e * d..][..d];
            let dot: f64 = pooled
                .iter()
                .zip(want)
                .map(|(p, w)| p / count * f64::from(*w))
                .sum();
            let norm: f64 = pooled
                .iter()
                .map(|p| (p / count).powi(2))
                .sum::<f64>()
                .sqrt();
            let wnorm: f64 = want
                .iter()
                .map(|w| f64::from(*w).powi(2))
                .sum::<f64>()
                .sqrt();
            let cos = dot / (norm * wnorm);
            assert!(cos >= 0.99999, "sentence {e} at batch {b}: cosine {cos}");
        }
        assert!(b <= n);
    }
}
