//! The reference data directory and the MNIST / Fashion-MNIST loaders.
//!
//! [`data_dir`] finds the folder that holds `mnist/`, `fashion-mnist/`, `onnx/`, ...;
//! [`load_mnist`] and [`load_fashion_mnist`] read the four standard IDX files from it (plain
//! or gzip-compressed), checking magic numbers, dimensions and lengths, and return pixels
//! scaled to `[0, 1]`.

mod idx;

use std::path::{Path, PathBuf};

pub use idx::{read_idx_u8, IdxU8};

/// Environment variable that names the data directory.
pub const DATA_ENV: &str = "BORN_DATA";

/// The data directory, or `None` when none is found.
///
/// Lookup order:
/// 1. the environment variable `BORN_DATA`, if set (returned as is, even when the folder does
///    not exist: the loaders then fail naming the missing file);
/// 2. `../shared/data` relative to the current directory (a crate folder during
///    `cargo test`, so the project root's sibling `shared/data`);
/// 3. `../../shared/data` relative to this crate's source folder (`CARGO_MANIFEST_DIR`, fixed
///    at compile time), so tests of any crate in the workspace find it;
/// 4. `shared/data` in each ancestor of this crate's source folder, nearest first (covers a
///    git worktree nested below the main checkout).
///
/// Only folders that exist are returned in steps 2 to 4.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_ENV) {
        return Some(PathBuf::from(dir));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("../shared/data"));
    }
    candidates.push(manifest.join("../../shared/data"));
    candidates.extend(manifest.ancestors().map(|a| a.join("shared/data")));
    candidates.into_iter().find(|c| c.is_dir())
}

/// Which part of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training images (60,000 for MNIST and Fashion-MNIST), files `train-*`.
    Train,
    /// The test images (10,000), files `t10k-*`.
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// An MNIST-layout data set held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// `len * 784` pixels, image after image, row-major 28x28, each `byte / 255.0`.
    pub images: Vec<f32>,
    /// `len` labels, each in `0..10`.
    pub labels: Vec<u8>,
    /// Number of images.
    pub len: usize,
}

impl Mnist {
    /// Image height and width.
    pub const SIDE: usize = 28;
    /// Pixels per image (28 * 28).
    pub const PIXELS: usize = 784;

    /// The pixels of image `i`, or `None` when `i >= len`.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(Self::PIXELS)?;
        self.images.get(start..start.checked_add(Self::PIXELS)?)
    }
}

/// What went wrong loading a data set.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Neither `name` nor `name.gz` exists in `dir`.
    #[error(
        "{name} (or {name}.gz) not found in {dir}: set BORN_DATA (or pass --data) to a \
         directory with mnist/ and fashion-mnist/ holding the original IDX files, as \
         published with MNIST (yann.lecun.com/exdb/mnist, or any mirror) and Fashion-MNIST \
         (github.com/zalandoresearch/fashion-mnist)"
    )]
    Missing {
        /// Folder searched.
        dir: PathBuf,
        /// File name without `.gz`.
        name: String,
    },
    /// Reading (or decompressing) the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The IDX magic number is not the one expected.
    #[error("{path}: IDX magic is {got:#010x}, expected {expected:#010x}")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Magic expected (`0x0000_0803` for images, `0x0000_0801` for labels).
        expected: u32,
        /// Magic found.
        got: u32,
    },
    /// The file ends before its header or data does.
    #[error("{path}: truncated, {needed} bytes needed, {got} present")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header says the file has.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The file is longer than its header says.
    #[error("{path}: {extra} bytes after the data")]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Extra bytes.
        extra: usize,
    },
    /// The dimensions are not the ones the data set has.
    #[error("{path}: dimensions {got:?}, expected {expected}")]
    BadDims {
        /// The file.
        path: PathBuf,
        /// What was expected, in words.
        expected: &'static str,
        /// Dimensions found.
        got: Vec<usize>,
    },
    /// The image and label files hold different numbers of items.
    #[error("{images} images in {images_path} but {labels} labels in {labels_path}")]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Its count.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Its count.
        labels: usize,
    },
    /// A label is not a class index `0..10`.
    #[error("{path}: label {label} at index {index} is not in 0..10")]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Position of the label.
        index: usize,
        /// Its value.
        label: u8,
    },
    /// A size computed from the header does not fit in `usize`.
    #[error("{path}: size overflows usize")]
    Overflow {
        /// The file.
        path: PathBuf,
    },
}

/// Loads MNIST from `dir/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
///
/// `dir` is the data directory (see [`data_dir`]). Errors: [`DataError::Missing`] when a file
/// is absent; [`DataError::Io`]; for a file whose contents are wrong, [`DataError::BadMagic`],
/// [`DataError::Truncated`], [`DataError::TrailingBytes`], [`DataError::BadDims`] (images not
/// 28x28), [`DataError::CountMismatch`], [`DataError::BadLabel`], each naming the file.
pub fn load_mnist(dir: &Path, split: Split) -> Result<Mnist, DataError> {
    load_mnist_layout(&dir.join("mnist"), split)
}

/// Loads Fashion-MNIST from `dir/fashion-mnist/` (same files and errors as [`load_mnist`]).
pub fn load_fashion_mnist(dir: &Path, split: Split) -> Result<Mnist, DataError> {
    load_mnist_layout(&dir.join("fashion-mnist"), split)
}

/// Loads the image and label files of `split` from `folder`.
fn load_mnist_layout(folder: &Path, split: Split) -> Result<Mnist, DataError> {
    let images_name = format!("{}-images-idx3-ubyte", split.prefix());
    let labels_name = format!("{}-labels-idx1-ubyte", split.prefix());
    let images_path = idx::find(folder, &images_name)?;
    let labels_path = idx::find(folder, &labels_name)?;
    let images = read_idx_u8(&images_path)?;
    let labels = read_idx_u8(&labels_path)?;
    let n = match images.dims.as_slice() {
        &[n, Mnist::SIDE, Mnist::SIDE] => n,
        _ => {
            return Err(DataError::BadDims {
                path: images_path,
                expected: "[N, 28, 28] (magic 0x00000803)",
                got: images.dims,
            })
        }
    };
    let n_labels = match labels.dims.as_slice() {
        &[n] => n,
        _ => {
            return Err(DataError::BadDims {
                path: labels_path,
                expected: "[N] (magic 0x00000801)",
                got: labels.dims,
            })
        }
    };
    if n != n_labels {
        return Err(DataError::CountMismatch {
            images_path,
            images: n,
            labels_path,
            labels: n_labels,
        });
    }
    if let Some((index, &label)) = labels.data.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(DataError::BadLabel {
            path: labels_path,
            index,
            label,
        });
    }
    Ok(Mnist {
        images: images.data.iter().map(|&p| f32::from(p) / 255.0).collect(),
        labels: labels.data,
        len: n,
    })
}
