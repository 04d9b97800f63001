//! NumPy `.npy` files: read any little-endian, C-order array of the six element types Born
//! uses, and write them back.
//!
//! Supported: format versions 1.0, 2.0 and 3.0; dtypes `<f4`, `<f8`, `<i4`, `<i8`, `|i1`,
//! `|u1` (1-byte types also as `<i1`/`<u1`/`i1`/`u1`). Refused with an [`NpyError`]:
//! big-endian data (`'>f4'`), Fortran order, other dtypes, a header that is not the dict NumPy
//! writes, and data whose length does not match the shape. No input makes these functions
//! panic, and nothing is allocated for the data before its length has been checked against
//! the bytes actually present.
//!
//! Written files use version 1.0 (2.0 when the header needs more than 65,535 bytes), with the
//! data aligned to 64 bytes, as `numpy.save` does.

mod header;

use std::path::{Path, PathBuf};

/// What went wrong reading or writing a `.npy` file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file's contents were rejected; `source` says why.
    #[error("{path}: {source}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// Why the contents were rejected.
        source: Box<NpyError>,
    },
    /// The bytes do not start with `\x93NUMPY`.
    #[error(
        "not a .npy file: magic bytes are {got:02x?}, expected 93 4e 55 4d 50 59 (\\x93NUMPY)"
    )]
    BadMagic {
        /// The first six bytes found.
        got: [u8; 6],
    },
    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)")]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The bytes end inside the magic, version, header length or header.
    #[error("truncated .npy: {what} needs {needed} bytes, only {got} present")]
    Truncated {
        /// The part that was cut.
        what: &'static str,
        /// Bytes needed up to the end of that part.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The header dict is malformed.
    #[error("bad .npy header: {0}")]
    BadHeader(String),
    /// The dtype is not one of the supported little-endian types.
    #[error("unsupported dtype '{0}' (supported: '<f4', '<f8', '<i4', '<i8', '|i1', '|u1')")]
    UnsupportedDtype(String),
    /// The array is stored in Fortran (column-major) order.
    #[error("Fortran-order arrays are not supported (save with np.ascontiguousarray)")]
    FortranOrder,
    /// The data section does not hold exactly `shape`'s elements.
    #[error("data section has {got} bytes, but shape {shape:?} of {dtype} needs {expected}")]
    DataLength {
        /// Shape from the header.
        shape: Vec<usize>,
        /// dtype from the header.
        dtype: &'static str,
        /// Bytes the shape needs.
        expected: usize,
        /// Bytes present after the header.
        got: usize,
    },
    /// A writer was given a shape whose element count differs from the data length.
    #[error("shape {shape:?} holds {expected} elements, but data has {got}")]
    ShapeMismatch {
        /// The shape given.
        shape: Vec<usize>,
        /// Elements the shape holds.
        expected: usize,
        /// Elements given.
        got: usize,
    },
    /// A size computed from the shape does not fit in `usize`.
    #[error("array size overflows usize")]
    Overflow,
}

/// Element type of an array, with its `.npy` descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    F32,
    F64,
    I8,
    U8,
    I32,
    I64,
}

impl Dtype {
    /// The descriptor NumPy writes for this type.
    fn descr(self) -> &'static str {
        match self {
            Dtype::F32 => "<f4",
            Dtype::F64 => "<f8",
            Dtype::I8 => "|i1",
            Dtype::U8 => "|u1",
            Dtype::I32 => "<i4",
            Dtype::I64 => "<i8",
        }
    }

    fn from_descr(descr: &str) -> Option<Dtype> {
        Some(match descr {
            "<f4" => Dtype::F32,
            "<f8" => Dtype::F64,
            "<i4" => Dtype::I32,
            "<i8" => Dtype::I64,
            "|i1" | "<i1" | "i1" => Dtype::I8,
            "|u1" | "<u1" | "u1" => Dtype::U8,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Dtype::I8 | Dtype::U8 => 1,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }
}

/// The elements of an array, in C (row-major) order, typed as in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// `<f4`
    F32(Vec<f32>),
    /// `|i1`
    I8(Vec<i8>),
    /// `|u1`
    U8(Vec<u8>),
    /// `<i4`
    I32(Vec<i32>),
    /// `<i8`
    I64(Vec<i64>),
    /// `<f8`
    F64(Vec<f64>),
}

impl NpyData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            NpyData::F32(v) => v.len(),
            NpyData::I8(v) => v.len(),
            NpyData::U8(v) => v.len(),
            NpyData::I32(v) => v.len(),
            NpyData::I64(v) => v.len(),
            NpyData::F64(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `.npy` descriptor of the element type, e.g. `"<f4"`.
    pub fn descr(&self) -> &'static str {
        self.dtype().descr()
    }

    fn dtype(&self) -> Dtype {
        match self {
            NpyData::F32(_) => Dtype::F32,
            NpyData::I8(_) => Dtype::I8,
            NpyData::U8(_) => Dtype::U8,
            NpyData::I32(_) => Dtype::I32,
            NpyData::I64(_) => Dtype::I64,
            NpyData::F64(_) => Dtype::F64,
        }
    }
}

/// An array read from (or to be written to) a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions, outermost first; empty for a 0-d (scalar) array.
    pub shape: Vec<usize>,
    /// The elements; their count is the product of `shape` in arrays this module returns.
    pub data: NpyData,
}

impl NpyArray {
    /// The elements converted to `f32` with Rust's `as` casts: exact for `f32`, `i8`, `u8`;
    /// rounded to nearest for `f64` and for integers above 2^24 in magnitude.
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            NpyData::F32(v) => v.clone(),
            NpyData::I8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            NpyData::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            NpyData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            NpyData::I64(v) => v.iter().map(|&x| x as f32).collect(),
            NpyData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The file's bytes: header (version 1.0 or 2.0) and little-endian C-order data.
    ///
    /// Errors: [`NpyError::ShapeMismatch`] when the product of `shape` differs from the
    /// number of elements; [`NpyError::Overflow`] when it does not fit in `usize`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, NpyError> {
        match &self.data {
            NpyData::F32(v) => encode(&self.shape, v),
            NpyData::I8(v) => encode(&self.shape, v),
            NpyData::U8(v) => encode(&self.shape, v),
            NpyData::I32(v) => encode(&self.shape, v),
            NpyData::I64(v) => encode(&self.shape, v),
            NpyData::F64(v) => encode(&self.shape, v),
        }
    }
}

/// Reads a `.npy` file.
///
/// Errors: [`NpyError::Io`] when the file cannot be read; [`NpyError::InFile`] wrapping the
/// error of [`read_npy_bytes`] when its contents are rejected. Both name the path.
pub fn read_npy(path: &Path) -> Result<NpyArray, NpyError> {
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_npy_bytes(&bytes).map_err(|e| NpyError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Parses the bytes of a `.npy` file.
///
/// Errors: [`NpyError::BadMagic`], [`NpyError::UnsupportedVersion`], [`NpyError::Truncated`]
/// (inside the header), [`NpyError::BadHeader`], [`NpyError::UnsupportedDtype`],
/// [`NpyError::FortranOrder`], [`NpyError::Overflow`], and [`NpyError::DataLength`] when the
/// bytes after the header are not exactly what the shape needs.
pub fn read_npy_bytes(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    let h = header::parse(bytes)?;
    let count = element_count(&h.shape)?;
    let expected = count
        .checked_mul(h.dtype.size())
        .ok_or(NpyError::Overflow)?;
    let body = bytes.get(h.data_offset..).unwrap_or_default();
    if body.len() != expected {
        return Err(NpyError::DataLength {
            shape: h.shape,
            dtype: h.dtype.descr(),
            expected,
            got: body.len(),
        });
    }
    let data = match h.dtype {
        Dtype::F32 => NpyData::F32(decode(body, f32::from_le_bytes)),
        Dtype::F64 => NpyData::F64(decode(body, f64::from_le_bytes)),
        Dtype::I8 => NpyData::I8(decode(body, i8::from_le_bytes)),
        Dtype::U8 => NpyData::U8(body.to_vec()),
        Dtype::I32 => NpyData::I32(decode(body, i32::from_le_bytes)),
        Dtype::I64 => NpyData::I64(decode(body, i64::from_le_bytes)),
    };
    Ok(NpyArray {
        shape: h.shape,
        data,
    })
}

/// Writes any [`NpyArray`] to `path` (see [`NpyArray::to_bytes`] for errors; I/O failures
/// give [`NpyError::Io`] with the path).
pub fn write_npy(path: &Path, array: &NpyArray) -> Result<(), NpyError> {
    write_bytes(path, array.to_bytes()?)
}

/// Writes `data` as an `<f4` array of `shape`.
///
/// Errors: [`NpyError::ShapeMismatch`] when the product of `shape` is not `data.len()`;
/// [`NpyError::Io`] with the path when writing fails.
pub fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), NpyError> {
    write_bytes(path, encode(shape, data)?)
}

/// Writes `data` as an `|i1` array of `shape`; errors as [`write_npy_f32`].
pub fn write_npy_i8(path: &Path, shape: &[usize], data: &[i8]) -> Result<(), NpyError> {
    write_bytes(path, encode(shape, data)?)
}

/// Writes `data` as a `|u1` array of `shape`; errors as [`write_npy_f32`].
pub fn write_npy_u8(path: &Path, shape: &[usize], data: &[u8]) -> Result<(), NpyError> {
    write_bytes(path, encode(shape, data)?)
}

/// Writes `data` as an `<i4` array of `shape`; errors as [`write_npy_f32`].
pub fn write_npy_i32(path: &Path, shape: &[usize], data: &[i32]) -> Result<(), NpyError> {
    write_bytes(path, encode(shape, data)?)
}

fn write_bytes(path: &Path, bytes: Vec<u8>) -> Result<(), NpyError> {
    std::fs::write(path, bytes).map_err(|source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn element_count(shape: &[usize]) -> Result<usize, NpyError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(NpyError::Overflow)
}

/// Decodes little-endian elements of `N` bytes; `body.len()` is a multiple of `N`.
fn decode<T, const N: usize>(body: &[u8], from_le: fn([u8; N]) -> T) -> Vec<T> {
    body.chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            from_le(b)
        })
        .collect()
}

/// An element type that can be written.
trait Element: Copy {
    const DTYPE: Dtype;
    fn put_le(self, out: &mut Vec<u8>);
}

macro_rules! element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: Dtype = $d;
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
element!(f32, Dtype::F32);
element!(f64, Dtype::F64);
element!(i8, Dtype::I8);
element!(u8, Dtype::U8);
element!(i32, Dtype::I32);
element!(i64, Dtype::I64);

fn encode<T: Element>(shape: &[usize], data: &[T]) -> Result<Vec<u8>, NpyError> {
    let expected = element_count(shape)?;
    if expected != data.len() {
        return Err(NpyError::ShapeMismatch {
            shape: shape.to_vec(),
            expected,
            got: data.len(),
        });
    }
    let mut out = header::format(T::DTYPE, shape)?;
    out.reserve(data.len().saturating_mul(T::DTYPE.size()));
    for &x in data {
        x.put_le(&mut out);
    }
    Ok(out)
}
