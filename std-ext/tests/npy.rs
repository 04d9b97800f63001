//! `born_std::npy`: files written by NumPy (std-ext/tests/fixtures/npy, made by
//! scripts/fixtures/npy_files.py), round trips, and bad bytes.

use born_std::npy::{
    read_npy, read_npy_bytes, write_npy, write_npy_f32, write_npy_i32, write_npy_i8, write_npy_u8,
    NpyArray, NpyData, NpyError,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npy")
}

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(m) => m,
        other => panic!("expected.json is not an object: {other}"),
    }
}

/// A fresh scratch folder under the target's temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("born-std-npy-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn values_f64(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn values_i64(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn reads_every_numpy_fixture() {
    let exp = expected();
    assert_eq!(exp.len(), 13);
    for (name, e) in &exp {
        let path = fixtures().join(format!("{name}.npy"));
        let result = read_npy(&path);
        if let Some(kind) = e.get("error") {
            let err = result.expect_err(name);
            let NpyError::InFile { path: p, source } = err else {
                panic!("{name}: {err}")
            };
            assert_eq!(p, path);
            match (kind.as_str().unwrap(), *source) {
                ("FortranOrder", NpyError::FortranOrder) => {}
                ("UnsupportedDtype", NpyError::UnsupportedDtype(d)) => {
                    assert_eq!(d, e["dtype"].as_str().unwrap())
                }
                (k, other) => panic!("{name}: expected {k}, got {other:?}"),
            }
            continue;
        }
        let a = result.unwrap_or_else(|err| panic!("{name}: {err}"));
        let shape: Vec<usize> = values_i64(&e["shape"])
            .iter()
            .map(|&d| d as usize)
            .collect();
        assert_eq!(a.shape, shape, "{name}");
        assert_eq!(a.data.descr(), e["dtype"].as_str().unwrap(), "{name}");
        let v = &e["values"];
        match &a.data {
            NpyData::F32(x) => {
                let want: Vec<f32> = values_f64(v).iter().map(|&f| f as f32).collect();
                assert_eq!(bits32(x), bits32(&want), "{name}");
            }
            NpyData::F64(x) => assert_eq!(x, &values_f64(v), "{name}"),
            NpyData::I8(x) => assert_eq!(widen(x), values_i64(v), "{name}"),
            NpyData::U8(x) => assert_eq!(widen(x), values_i64(v), "{name}"),
            NpyData::I32(x) => assert_eq!(widen(x), values_i64(v), "{name}"),
            NpyData::I64(x) => assert_eq!(x, &values_i64(v), "{name}"),
        }
        assert_eq!(a.data.len(), shape.iter().product::<usize>(), "{name}");
        // to_f32 agrees with an f64 -> f32 cast of the expected values, for every dtype.
        let want: Vec<f32> = values_f64(v).iter().map(|&f| f as f32).collect();
        assert_eq!(bits32(&a.to_f32()), bits32(&want), "{name}");
    }
}

fn bits32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn widen<T: Copy + Into<i64>>(v: &[T]) -> Vec<i64> {
    v.iter().map(|&x| x.into()).collect()
}

#[test]
fn writes_the_bytes_numpy_writes() {
    for name in [
        "f32_2x3",
        "f64_3",
        "i8_2x2",
        "u8_4",
        "i32_2x1x2",
        "i64_3",
        "f32_scalar",
        "f32_0x3",
    ] {
        let numpy = std::fs::read(fixtures().join(format!("{name}.npy"))).unwrap();
        let a = read_npy_bytes(&numpy).unwrap();
        assert_eq!(a.to_bytes().unwrap(), numpy, "{name}");
    }
}

#[test]
fn round_trips_through_files() {
    let dir = scratch("roundtrip");
    let f: Vec<f32> = (0..24).map(|i| i as f32 * 0.37 - 3.0).collect();
    let p = dir.join("f.npy");
    write_npy_f32(&p, &[2, 3, 4], &f).unwrap();
    let a = read_npy(&p).unwrap();
    assert_eq!(a.shape, vec![2, 3, 4]);
    assert_eq!(a.data, NpyData::F32(f));

    let p = dir.join("i8.npy");
    write_npy_i8(&p, &[3], &[-128, 0, 127]).unwrap();
    assert_eq!(read_npy(&p).unwrap().data, NpyData::I8(vec![-128, 0, 127]));

    let p = dir.join("u8.npy");
    write_npy_u8(&p, &[2, 2], &[0, 1, 254, 255]).unwrap();
    assert_eq!(
        read_npy(&p).unwrap().data,
        NpyData::U8(vec![0, 1, 254, 255])
    );

    let p = dir.join("i32.npy");
    write_npy_i32(&p, &[1, 2], &[i32::MIN, i32::MAX]).unwrap();
    let a = read_npy(&p).unwrap();
    assert_eq!(
        (a.shape.clone(), a.data.clone()),
        (vec![1, 2], NpyData::I32(vec![i32::MIN, i32::MAX]))
    );

    for array in [
        NpyArray {
            shape: vec![],
            data: NpyData::F64(vec![-0.5]),
        },
        NpyArray {
            shape: vec![2, 0, 5],
            data: NpyData::I64(vec![]),
        },
        NpyArray {
            shape: vec![2],
            data: NpyData::I64(vec![i64::MIN, i64::MAX]),
        },
    ] {
        let p = dir.join("any.npy");
        write_npy(&p, &array).unwrap();
        assert_eq!(read_npy(&p).unwrap(), array);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn long_headers_use_version_2() {
    // 30,000 dimensions of 1: the header no longer fits a u16 length.
    let shape = vec![1usize; 30_000];
    let a = NpyArray {
        shape,
        data: NpyData::U8(vec![7]),
    };
    let bytes = a.to_bytes().unwrap();
    assert_eq!(&bytes[6..8], &[2, 0]);
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    assert_eq!((12 + len) % 64, 0);
    assert_eq!(read_npy_bytes(&bytes).unwrap(), a);
}

#[test]
fn writers_check_shape_against_length() {
    let p = scratch("mismatch").join("x.npy");
    let err = write_npy_f32(&p, &[2, 3], &[0.0; 5]).unwrap_err();
    assert!(
        matches!(
            err,
            NpyError::ShapeMismatch {
                expected: 6,
                got: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(!p.exists());
    let a = NpyArray {
        shape: vec![usize::MAX, 2],
        data: NpyData::U8(vec![]),
    };
    assert!(matches!(a.to_bytes(), Err(NpyError::Overflow)));
    let err = write_npy_u8(Path::new("/nonexistent-dir/x.npy"), &[1], &[1]).unwrap_err();
    assert!(
        matches!(&err, NpyError::Io { path, .. } if path == Path::new("/nonexistent-dir/x.npy"))
    );
}

#[test]
fn missing_file_names_the_path() {
    let p = Path::new("/nonexistent-dir/missing.npy");
    let err = read_npy(p).unwrap_err();
    assert!(err.to_string().contains("missing.npy"), "{err}");
    assert!(matches!(err, NpyError::Io { .. }));
}

fn good() -> Vec<u8> {
    std::fs::read(fixtures().join("f32_2x3.npy")).unwrap()
}

/// Replaces the header dict (keeping version 1.0 and a valid length).
fn with_dict(dict: &str) -> Vec<u8> {
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    let text = format!("{dict}\n");
    b.extend_from_slice(&(text.len() as u16).to_le_bytes());
    b.extend_from_slice(text.as_bytes());
    b
}

#[test]
fn bad_bytes_are_errors_not_panics() {
    let good = good();
    // Every truncation of a valid file is an error.
    for n in 0..good.len() {
        let err = read_npy_bytes(&good[..n]).unwrap_err();
        match err {
            NpyError::Truncated { .. } => assert!(n < 128, "{n}"),
            NpyError::DataLength {
                expected: 24, got, ..
            } => assert_eq!(got, n - 128),
            other => panic!("truncated to {n}: {other:?}"),
        }
    }
    assert!(matches!(
        read_npy_bytes(&good[..5]),
        Err(NpyError::Truncated { what: "magic", .. })
    ));
    assert!(matches!(
        read_npy_bytes(&good[..9]),
        Err(NpyError::Truncated {
            what: "header length",
            ..
        })
    ));
    assert!(matches!(
        read_npy_bytes(&good[..60]),
        Err(NpyError::Truncated {
            what: "header",
            needed: 128,
            got: 60
        })
    ));
    // Data longer than the shape.
    let mut long = good.clone();
    long.extend_from_slice(&[0; 4]);
    assert!(matches!(
        read_npy_bytes(&long),
        Err(NpyError::DataLength {
            expected: 24,
            got: 28,
            ..
        })
    ));

    let mut magic = good.clone();
    magic[1] = b'X';
    assert!(
        matches!(read_npy_bytes(&magic), Err(NpyError::BadMagic { got }) if &got == b"\x93XUMPY")
    );
    let mut version = good.clone();
    version[6] = 4;
    assert!(matches!(
        read_npy_bytes(&version),
        Err(NpyError::UnsupportedVersion { major: 4, minor: 0 })
    ));

    let header_err = |dict: &str| read_npy_bytes(&with_dict(dict)).unwrap_err();
    for dict in [
        "",
        "{",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'shape': (1,)}",
        "{'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
        "{'descr': 4, 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2}",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} trailing",
    ] {
        assert!(
            matches!(header_err(dict), NpyError::BadHeader(_)),
            "{dict}: {:?}",
            header_err(dict)
        );
    }
    assert!(matches!(
        header_err("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}"),
        NpyError::Overflow
    ));
    assert!(matches!(
        header_err("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"),
        NpyError::Overflow
    ));
    assert!(
        matches!(header_err("{'descr': '>f4', 'fortran_order': False, 'shape': (1,)}"), NpyError::UnsupportedDtype(d) if d == ">f4")
    );
    assert!(matches!(
        header_err("{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}"),
        NpyError::FortranOrder
    ));
    // A huge shape whose data is absent: rejected before anything is allocated.
    assert!(matches!(
        header_err("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000)}"),
        NpyError::DataLength {
            expected: 8_000_000_000_000,
            got: 0,
            ..
        }
    ));
    // Python 2 long suffix and double quotes are accepted.
    let mut b = with_dict("{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2L,)}");
    b.extend_from_slice(&[3, 4]);
    assert_eq!(read_npy_bytes(&b).unwrap().data, NpyData::U8(vec![3, 4]));
    // Non-ASCII header in version 1.0.
    let mut b = with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}");
    b[12] = 0xc3;
    assert!(matches!(read_npy_bytes(&b), Err(NpyError::BadHeader(_))));
}

#[test]
fn reads_mnist_cnn_images_from_the_data_dir() {
    let Some(dir) = born_std::data::data_dir() else {
        eprintln!("no data directory (set BORN_DATA): skipping");
        return;
    };
    let path = dir.join("onnx/mnist-cnn/t10k_first100_images.npy");
    if !path.exists() {
        eprintln!("{} absent: skipping", path.display());
        return;
    }
    let a = read_npy(&path).unwrap();
    assert_eq!(a.shape, vec![100, 1, 28, 28]);
    let x = a.to_f32();
    assert_eq!(x.len(), 100 * 784);
    assert!(x.iter().all(|&p| (0.0..=1.0).contains(&p)));
    // The same images as MNIST's t10k file, when present.
    if let Ok(m) = born_std::data::load_mnist(&dir, born_std::data::Split::Test) {
        assert_eq!(&x[..], &m.images[..100 * 784]);
    }
    let logits = read_npy(&dir.join("onnx/mnist-cnn/t10k_first100_logits.npy")).unwrap();
    assert_eq!(logits.shape, vec![100, 10]);
}

proptest::proptest! {
    /// Random byte edits and truncations of a valid file give a value or an error, never a
    /// panic.
    #[test]
    fn mutated_files_never_panic(
        edits in proptest::collection::vec((0usize..200, proptest::num::u8::ANY), 1..6),
        cut in 0usize..200,
    ) {
        let mut b = good();
        for (at, byte) in edits {
            if let Some(slot) = b.get_mut(at) {
                *slot = byte;
            }
        }
        b.truncate(cut.max(100));
        let _ = read_npy_bytes(&b);
    }
}
