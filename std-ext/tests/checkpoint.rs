//! `born_std::checkpoint`: a safetensors file written by Python (std-ext/tests/fixtures,
//! made by scripts/fixtures/safetensors.py) loads into the Born model and gives NumPy's
//! forward output; save/load round trips bit for bit; each content problem is named.
//!
//! `round_trip_bits` leaves `target/tmp/checkpoint/born_mlp.safetensors` behind (the
//! fixture's parameters saved by Born); `python3 scripts/fixtures/safetensors.py verify
//! <that file>` checks that Python reads it back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use born_std::checkpoint::{
    checkpoint_error, load, read_metadata, save, save_with_metadata, CheckpointError,
};
use born_std::core::backend::{Backend, Cpu};
use born_std::core::nn::{Linear, Module, ReLU, Sequential};
use born_std::core::{Rng, Tensor};
use born_std::Error;
use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("checkpoint");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Sequential(Linear(4, 3), ReLU, Linear(3, 2)) with seeded random parameters.
fn mlp(seed: u64) -> Sequential<Cpu> {
    let mut rng = Rng::seed(seed);
    Sequential::new()
        .push(Linear::new(4, 3, &Cpu, &mut rng).unwrap())
        .push(ReLU)
        .push(Linear::new(3, 2, &Cpu, &mut rng).unwrap())
}

/// name -> (dims, values) of every parameter.
fn params(m: &Sequential<Cpu>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    m.visit_params(&mut |name, t| {
        let h = Cpu.to_host(t).unwrap();
        out.push((name.to_string(), h.dims().to_vec(), h.data().to_vec()));
    });
    out
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// Writes a safetensors file of the given (name, dtype, shape, bytes) tensors.
fn write_raw(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn f32_bytes(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
}

/// The four tensors the MLP expects, with `edit` applied to the list.
fn mlp_file(path: &Path, edit: impl FnOnce(&mut Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)>)) {
    let mut t = vec![
        ("0.weight", Dtype::F32, vec![3, 4], f32_bytes(12)),
        ("0.bias", Dtype::F32, vec![3], f32_bytes(3)),
        ("2.weight", Dtype::F32, vec![2, 3], f32_bytes(6)),
        ("2.bias", Dtype::F32, vec![2], f32_bytes(2)),
    ];
    edit(&mut t);
    write_raw(path, &t);
}

fn content_err(err: &Error) -> &CheckpointError {
    checkpoint_error(err).unwrap_or_else(|| panic!("not a checkpoint content error: {err}"))
}

#[test]
fn loads_python_file_and_matches_numpy_forward() {
    let mut model = mlp(1);
    load(&Cpu, &mut model, &fixture("mlp.safetensors")).unwrap();

    let io: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("mlp_io.json")).unwrap()).unwrap();
    let x = Tensor::from_vec(floats(&io["input"]), &dims(&io["input_shape"])).unwrap();
    let want = floats(&io["output"]);
    let y = model.forward(&Cpu, &Cpu.to_device(&x).unwrap()).unwrap();
    let y = Cpu.to_host(&y).unwrap();
    assert_eq!(y.dims(), dims(&io["output_shape"]).as_slice());
    for (i, (g, w)) in y.data().iter().zip(&want).enumerate() {
        // Four- and three-term dot products in f32: a few ulps at most.
        assert!(
            (g - w).abs() <= 1e-6 + 1e-6 * w.abs(),
            "output {i}: {g} vs {w}"
        );
    }
    let meta = read_metadata(&fixture("mlp.safetensors")).unwrap();
    assert_eq!(meta.get("format").map(String::as_str), Some("pt"));
}

#[test]
fn round_trip_bits() {
    // Python's parameters, saved by Born, loaded into a model with other values.
    let mut from_python = mlp(2);
    load(&Cpu, &mut from_python, &fixture("mlp.safetensors")).unwrap();
    let path = scratch("born_mlp.safetensors");
    save_with_metadata(
        &Cpu,
        &from_python,
        &path,
        &[("format", "pt"), ("epoch", "3")],
    )
    .unwrap();
    let mut other = mlp(3);
    assert_ne!(params(&other), params(&from_python));
    load(&Cpu, &mut other, &path).unwrap();
    let (a, b) = (params(&from_python), params(&other));
    assert_eq!(a.len(), 4);
    for ((na, da, va), (nb, db, vb)) in a.iter().zip(&b) {
        assert_eq!((na, da), (nb, db));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(va), bits(vb), "{na}");
    }
    let meta = read_metadata(&path).unwrap();
    assert_eq!(meta.len(), 2);
    assert_eq!(meta["epoch"], "3");

    // Odd values survive too (NaN payloads, -0, subnormals, infinities).
    let mut odd = mlp(4);
    let specials = [
        f32::from_bits(0x7fc0_1234),
        -0.0,
        f32::MIN_POSITIVE / 8.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
    ];
    odd.visit_params_mut(&mut |name, t| {
        if name == "0.weight" {
            let mut v = Cpu.to_host(t).unwrap().data().to_vec();
            v[..specials.len()].copy_from_slice(&specials);
            *t = Cpu
                .to_device(&Tensor::from_vec(v, &[3, 4]).unwrap())
                .unwrap();
        }
    });
    let odd_path = scratch("odd.safetensors");
    save(&Cpu, &odd, &odd_path).unwrap();
    assert!(read_metadata(&odd_path).unwrap().is_empty());
    let mut back = mlp(5);
    load(&Cpu, &mut back, &odd_path).unwrap();
    let bits = |m: &Sequential<Cpu>| {
        params(m)
            .into_iter()
            .map(|(n, d, v)| (n, d, v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&odd), bits(&back));
}

#[test]
fn save_replaces_atomically() {
    let path = scratch("replace.safetensors");
    save(&Cpu, &mlp(6), &path).unwrap();
    save(&Cpu, &mlp(7), &path).unwrap();
    let mut m = mlp(8);
    load(&Cpu, &mut m, &path).unwrap();
    assert_eq!(params(&m), params(&mlp(7)));
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains("replace.safetensors.tmp")
        })
        .collect();
    assert!(leftovers.is_empty());
    // A folder that does not exist: an I/O error naming the requested path.
    let bad = scratch("no/such/dir/m.safetensors");
    let err = save(&Cpu, &mlp(6), &bad).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if *path == bad),
        "{err}"
    );
    assert!(checkpoint_error(&err).is_none());
}

#[test]
fn missing_tensor() {
    let path = scratch("missing.safetensors");
    mlp_file(&path, |t| {
        t.retain(|x| x.0 != "2.bias");
    });
    let mut m = mlp(9);
    let before = params(&m);
    let err = load(&Cpu, &mut m, &path).unwrap_err();
    assert_eq!(
        content_err(&err),
        &CheckpointError::Missing {
            names: vec!["2.bias".into()]
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("missing.safetensors") && msg.contains("`2.bias`"),
        "{msg}"
    );
    assert_eq!(params(&m), before, "the module changed on error");
}

#[test]
fn extra_tensors() {
    let path = scratch("extra.safetensors");
    mlp_file(&path, |t| {
        t.push(("4.weight", Dtype::F32, vec![1], f32_bytes(1)));
        t.push(("1.running_mean", Dtype::F32, vec![1], f32_bytes(1)));
    });
    let err = load(&Cpu, &mut mlp(10), &path).unwrap_err();
    assert_eq!(
        content_err(&err),
        &CheckpointError::Unexpected {
            names: vec!["1.running_mean".into(), "4.weight".into()]
        }
    );
}

#[test]
fn wrong_shape() {
    let path = scratch("shape.safetensors");
    mlp_file(&path, |t| {
        // Same element count, transposed: must not slip through.
        t[0].2 = vec![4, 3];
    });
    let mut m = mlp(11);
    let before = params(&m);
    let err = load(&Cpu, &mut m, &path).unwrap_err();
    assert_eq!(
        content_err(&err),
        &CheckpointError::Shape {
            name: "0.weight".into(),
            expected: vec![3, 4],
            got: vec![4, 3],
        }
    );
    assert!(err.to_string().contains("0.weight"), "{err}");
    assert_eq!(params(&m), before);
}

#[test]
fn wrong_dtype() {
    let path = scratch("dtype.safetensors");
    mlp_file(&path, |t| {
        t[3] = ("2.bias", Dtype::F64, vec![2], vec![0; 16]);
    });
    let err = load(&Cpu, &mut mlp(12), &path).unwrap_err();
    assert_eq!(
        content_err(&err),
        &CheckpointError::Dtype {
            name: "2.bias".into(),
            dtype: "F64".into()
        }
    );
}

#[test]
fn truncated_and_garbage_files() {
    let good = std::fs::read(fixture("mlp.safetensors")).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("header_only_length", good[..8].to_vec()),
        ("cut_in_header", good[..40].to_vec()),
        ("cut_in_data", good[..good.len() - 1].to_vec()),
        ("trailing_byte", [good.as_slice(), &[0]].concat()),
        (
            "garbage",
            (0..400u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect(),
        ),
        ("huge_header_length", {
            let mut b = good.clone();
            b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
            b
        }),
        ("bad_json", {
            let mut b = good.clone();
            b[8] = b'[';
            b
        }),
    ];
    cases.push(("not_utf8", {
        let mut b = good.clone();
        b[10] = 0xff;
        b
    }));
    for (name, bytes) in cases {
        let path = scratch(&format!("{name}.safetensors"));
        std::fs::write(&path, &bytes).unwrap();
        let mut m = mlp(13);
        let before = params(&m);
        let err = load(&Cpu, &mut m, &path).unwrap_err();
        assert!(
            matches!(content_err(&err), CheckpointError::Corrupt(_)),
            "{name}: {err}"
        );
        assert_eq!(params(&m), before, "{name}");
        let err = read_metadata(&path).unwrap_err();
        assert!(
            matches!(content_err(&err), CheckpointError::Corrupt(_)),
            "{name}"
        );
    }
}

#[test]
fn unreadable_file() {
    let path = scratch("does_not_exist.safetensors");
    let err = load(&Cpu, &mut mlp(14), &path).unwrap_err();
    match &err {
        Error::Io { path: p, source } => {
            assert_eq!(p, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other}"),
    }
    assert!(checkpoint_error(&err).is_none());
}

/// A module that names two parameters alike.
struct Twice(Linear<Cpu>);

impl Module<Cpu> for Twice {
    fn forward(
        &self,
        backend: &Cpu,
        x: &<Cpu as Backend>::Tensor,
    ) -> born_std::core::Result<<Cpu as Backend>::Tensor> {
        self.0.forward(backend, x)
    }
    fn visit_params(&self, f: &mut dyn FnMut(&str, &<Cpu as Backend>::Tensor)) {
        f("w", &self.0.weight);
        f("w", &self.0.weight);
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut <Cpu as Backend>::Tensor)) {
        f("w", &mut self.0.weight);
    }
    fn describe(&self) -> String {
        "Twice".into()
    }
}

#[test]
fn duplicate_parameter_names() {
    let m = Twice(Linear::new(2, 2, &Cpu, &mut Rng::seed(0)).unwrap());
    let path = scratch("dup.safetensors");
    let _ = std::fs::remove_file(&path);
    let err = save(&Cpu, &m, &path).unwrap_err();
    assert_eq!(
        content_err(&err),
        &CheckpointError::DuplicateName("w".into())
    );
    assert!(!path.exists());
    write_raw(&path, &[("w", Dtype::F32, vec![2, 2], f32_bytes(4))]);
    let mut m = m;
    let err = load(&Cpu, &mut m, &path).unwrap_err();
    assert_eq!(
        content_err(&err),
        &CheckpointError::DuplicateName("w".into())
    );
}

#[test]
fn python_fixture_names_match_the_born_model() {
    // The fixture has exactly the Born model's names and shapes (PyTorch state_dict order
    // aside): a check that the two sides describe the same network.
    let bytes = std::fs::read(fixture("mlp.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let file: HashMap<String, Vec<usize>> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec()))
        .collect();
    let born: HashMap<String, Vec<usize>> = params(&mlp(0))
        .into_iter()
        .map(|(n, d, _)| (n, d))
        .collect();
    assert_eq!(file, born);
}
