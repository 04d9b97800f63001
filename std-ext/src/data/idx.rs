//! IDX files (the format of MNIST): a big-endian header, then unsigned bytes.
//!
//! Header: two zero bytes, a type code (`0x08` = unsigned byte, the only one supported
//! here), the number of dimensions `d`, then `d` big-endian u32 sizes.

use super::DataError;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Decompressed files larger than this are refused (MNIST's largest is 47 MB).
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxU8 {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The bytes, row-major; `dims.iter().product()` of them.
    pub data: Vec<u8>,
}

/// `folder/name` if it exists, else `folder/name.gz`, else [`DataError::Missing`].
pub(super) fn find(folder: &Path, name: &str) -> Result<PathBuf, DataError> {
    let plain = folder.join(name);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = folder.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(DataError::Missing {
        dir: folder.to_path_buf(),
        name: name.to_string(),
    })
}

/// Reads an unsigned-byte IDX file, gunzipping it first when its name ends in `.gz`.
///
/// Errors: [`DataError::Io`] (also for a corrupt gzip stream or one over 1 GiB
/// decompressed), [`DataError::BadMagic`] (not `0x000008dd`: two zero bytes, type `0x08`),
/// [`DataError::Truncated`], [`DataError::TrailingBytes`], [`DataError::Overflow`].
pub fn read_idx_u8(path: &Path) -> Result<IdxU8, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out)
            .map_err(io)?;
        if out.len() as u64 > MAX_DECOMPRESSED {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "decompresses to more than 1 GiB",
            )));
        }
        out
    } else {
        raw
    };
    parse(&bytes, path)
}

/// Parses IDX bytes; `path` only names the file in errors.
pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<IdxU8, DataError> {
    let truncated = |needed| DataError::Truncated {
        path: path.to_path_buf(),
        needed,
        got: bytes.len(),
    };
    let magic = be_u32(bytes, 0).ok_or_else(|| truncated(4))?;
    let ndim = usize::from(magic.to_be_bytes()[3]);
    if magic >> 8 != 0x08 || ndim == 0 {
        // Report the magic a caller most likely meant: same dimension count, byte type.
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: 0x0800 | (magic & 0xff).max(1),
            got: magic,
        });
    }
    let header = 4 + 4 * ndim;
    let dims = (0..ndim)
        .map(|k| be_u32(bytes, 4 + 4 * k))
        .collect::<Option<Vec<u32>>>()
        .ok_or_else(|| truncated(header))?;
    let overflow = || DataError::Overflow {
        path: path.to_path_buf(),
    };
    let dims = dims
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| overflow()))
        .collect::<Result<Vec<usize>, DataError>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    let needed = header.checked_add(count).ok_or_else(overflow)?;
    let data = bytes.get(header..needed).ok_or_else(|| truncated(needed))?;
    if bytes.len() > needed {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            extra: bytes.len() - needed,
        });
    }
    Ok(IdxU8 {
        dims,
        data: data.to_vec(),
    })
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("x-idx1-ubyte")
    }

    #[test]
    fn parses_a_small_file() {
        let bytes = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
        let idx = parse(&bytes, p()).unwrap();
        assert_eq!(idx.dims, vec![2, 3]);
        assert_eq!(idx.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn rejects_bad_bytes() {
        assert!(matches!(
            parse(&[0, 0], p()),
            Err(DataError::Truncated { needed: 4, .. })
        ));
        assert!(matches!(
            parse(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], p()),
            Err(DataError::BadMagic {
                got: 0x0d01,
                expected: 0x0801,
                ..
            })
        ));
        assert!(matches!(
            parse(&[0, 0, 8, 0], p()),
            Err(DataError::BadMagic { .. })
        ));
        assert!(matches!(
            parse(&[0, 0, 8, 2, 0, 0, 0, 2], p()),
            Err(DataError::Truncated { needed: 12, .. })
        ));
        assert!(matches!(
            parse(&[0, 0, 8, 1, 0, 0, 0, 3, 1, 2], p()),
            Err(DataError::Truncated {
                needed: 11,
                got: 10,
                ..
            })
        ));
        assert!(matches!(
            parse(&[0, 0, 8, 1, 0, 0, 0, 1, 1, 2], p()),
            Err(DataError::TrailingBytes { extra: 1, .. })
        ));
        // 255 dims of 0xffffffff: the element count overflows, no allocation is attempted.
        let mut huge = vec![0, 0, 8, 255];
        for _ in 0..255 {
            huge.extend_from_slice(&[0xff; 4]);
        }
        assert!(matches!(parse(&huge, p()), Err(DataError::Overflow { .. })));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes after a plausible magic give a value or an error, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(
            ndim in 0u8..5,
            rest in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = vec![0, 0, 8, ndim];
            bytes.extend_from_slice(&rest);
            if let Ok(idx) = parse(&bytes, Path::new("x")) {
                prop_assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
            }
        }
    }
}
