//! `born_std::data`: MNIST and Fashion-MNIST from the shared data directory, and IDX files
//! corrupted on purpose.

use born_std::data::{
    data_dir, load_fashion_mnist, load_mnist, read_idx_u8, DataError, Mnist, Split,
};
use std::path::{Path, PathBuf};

/// The data directory, or `None` (with a note) when this machine has none.
fn shared() -> Option<PathBuf> {
    let dir = data_dir();
    if dir.is_none() {
        eprintln!("no data directory (set BORN_DATA): skipping");
    }
    dir
}

#[test]
fn mnist_test_split() {
    let Some(dir) = shared() else { return };
    let m = load_mnist(&dir, Split::Test).unwrap();
    assert_eq!(m.len, 10_000);
    assert_eq!(m.labels.len(), 10_000);
    assert_eq!(m.images.len(), 10_000 * Mnist::PIXELS);
    assert_eq!(m.labels[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert!(m.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
    assert!(m.images.contains(&1.0) && m.images.contains(&0.0));
    // Every class is present, about 1,000 of each.
    let mut counts = [0usize; 10];
    for &l in &m.labels {
        counts[l as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| (850..1200).contains(&c)),
        "{counts:?}"
    );
    let first = m.image(0).unwrap();
    assert_eq!(first.len(), 784);
    assert!(m.image(10_000).is_none());
}

#[test]
fn mnist_train_split() {
    let Some(dir) = shared() else { return };
    let m = load_mnist(&dir, Split::Train).unwrap();
    assert_eq!(m.len, 60_000);
    assert_eq!(m.labels[..5], [5, 0, 4, 1, 9]);
}

#[test]
fn fashion_mnist_test_split() {
    let Some(dir) = shared() else { return };
    let m = load_fashion_mnist(&dir, Split::Test).unwrap();
    assert_eq!(m.len, 10_000);
    assert_eq!(m.images.len(), 10_000 * 784);
    // Fashion-MNIST's first test item is an ankle boot (class 9).
    assert_eq!(m.labels[0], 9);
    assert!(m.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
}

/// A scratch data directory holding `mnist/` with the given test-split files (raw bytes).
fn fake_dir(name: &str, images: &[u8], labels: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("born-std-data-{}-{name}", std::process::id()));
    let mnist = dir.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    std::fs::write(mnist.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(mnist.join("t10k-labels-idx1-ubyte"), labels).unwrap();
    dir
}

fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = magic.to_be_bytes().to_vec();
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn images(n: u32) -> Vec<u8> {
    let pixels: Vec<u8> = (0..n as usize * 784).map(|i| (i % 256) as u8).collect();
    idx(0x803, &[n, 28, 28], &pixels)
}

#[test]
fn small_valid_files_load() {
    let dir = fake_dir("valid", &images(2), &idx(0x801, &[2], &[3, 9]));
    let m = load_mnist(&dir, Split::Test).unwrap();
    assert_eq!((m.len, m.labels.clone()), (2, vec![3, 9]));
    assert_eq!(m.images[255], 1.0);
    assert_eq!(m.images[51], 51.0 / 255.0);
    std::fs::remove_dir_all(dir).unwrap();
}

fn err_of(name: &str, images: &[u8], labels: &[u8]) -> (DataError, PathBuf) {
    let dir = fake_dir(name, images, labels);
    let err = load_mnist(&dir, Split::Test).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    (err, dir.join("mnist"))
}

#[test]
fn corrupted_files_give_the_right_error() {
    let labels = idx(0x801, &[2], &[3, 9]);

    let (err, dir) = err_of("magic", &idx(0x0d03, &[2, 28, 28], &[0; 1568]), &labels);
    assert!(
        matches!(&err, DataError::BadMagic { path, expected: 0x803, got: 0x0d03 }
            if *path == dir.join("t10k-images-idx3-ubyte")),
        "{err}"
    );
    assert!(err.to_string().contains("t10k-images-idx3-ubyte"), "{err}");

    let mut short = images(2);
    short.truncate(short.len() - 1);
    let (err, _) = err_of("short", &short, &labels);
    assert!(
        matches!(
            err,
            DataError::Truncated {
                needed: 1584,
                got: 1583,
                ..
            }
        ),
        "{err}"
    );

    let mut long = images(2);
    long.push(0);
    let (err, _) = err_of("long", &long, &labels);
    assert!(
        matches!(err, DataError::TrailingBytes { extra: 1, .. }),
        "{err}"
    );

    let (err, _) = err_of("dims", &idx(0x803, &[2, 14, 56], &[0; 1568]), &labels);
    assert!(
        matches!(&err, DataError::BadDims { got, .. } if *got == vec![2, 14, 56]),
        "{err}"
    );

    // Labels with the images' magic (3 dims).
    let (err, dir) = err_of("labeldims", &images(2), &images(2));
    assert!(
        matches!(&err, DataError::BadDims { path, .. } if *path == dir.join("t10k-labels-idx1-ubyte")),
        "{err}"
    );

    let (err, _) = err_of("count", &images(2), &idx(0x801, &[3], &[1, 2, 3]));
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 2,
                labels: 3,
                ..
            }
        ),
        "{err}"
    );

    let (err, _) = err_of("label", &images(2), &idx(0x801, &[2], &[3, 10]));
    assert!(
        matches!(
            err,
            DataError::BadLabel {
                index: 1,
                label: 10,
                ..
            }
        ),
        "{err}"
    );

    let (err, _) = err_of("empty", &[], &labels);
    assert!(
        matches!(
            err,
            DataError::Truncated {
                needed: 4,
                got: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn missing_and_gzip_errors() {
    let dir = std::env::temp_dir().join(format!("born-std-data-{}-missing", std::process::id()));
    std::fs::create_dir_all(dir.join("mnist")).unwrap();
    let err = load_mnist(&dir, Split::Train).unwrap_err();
    assert!(
        matches!(&err, DataError::Missing { name, .. } if name == "train-images-idx3-ubyte"),
        "{err}"
    );
    // A .gz file that is not gzip.
    let gz = dir.join("mnist/x-idx1-ubyte.gz");
    std::fs::write(&gz, idx(0x801, &[1], &[1])).unwrap();
    let err = read_idx_u8(&gz).unwrap_err();
    assert!(
        matches!(&err, DataError::Io { path, .. } if *path == gz),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let err = read_idx_u8(Path::new("/nonexistent-dir/x")).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
}
