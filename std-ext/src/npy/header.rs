//! The `.npy` header: magic, version, and the Python dict literal that describes the array.
//!
//! Format (NumPy's `numpy.lib.format`): `\x93NUMPY`, major and minor version bytes, the
//! header length (u16 little-endian for version 1.0, u32 for 2.0 and 3.0), then the header:
//! a Python dict literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
//! padded with spaces and ending in `\n`. The data follows.

use super::{Dtype, NpyError};

/// The six magic bytes every `.npy` file starts with.
pub(crate) const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// What a header says about the array that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Byte offset of the data in the file.
    pub data_offset: usize,
}

/// Parses magic, version and header dict; never reads past `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Result<Header, NpyError> {
    let magic = bytes.get(..6).ok_or(NpyError::Truncated {
        what: "magic",
        needed: 6,
        got: bytes.len(),
    })?;
    if magic != MAGIC {
        let mut got = [0u8; 6];
        got.copy_from_slice(magic);
        return Err(NpyError::BadMagic { got });
    }
    let (major, minor) = match bytes.get(6..8) {
        Some(&[major, minor]) => (major, minor),
        _ => {
            return Err(NpyError::Truncated {
                what: "version",
                needed: 8,
                got: bytes.len(),
            })
        }
    };
    let (len_size, utf8) = match (major, minor) {
        (1, 0) => (2usize, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    let start = 8 + len_size;
    let len_bytes = bytes.get(8..start).ok_or(NpyError::Truncated {
        what: "header length",
        needed: start,
        got: bytes.len(),
    })?;
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let end = start.checked_add(header_len).ok_or(NpyError::Overflow)?;
    let text = bytes.get(start..end).ok_or(NpyError::Truncated {
        what: "header",
        needed: end,
        got: bytes.len(),
    })?;
    let text = if utf8 {
        std::str::from_utf8(text).map_err(|_| bad("header is not UTF-8"))?
    } else {
        if !text.is_ascii() {
            return Err(bad("header is not ASCII"));
        }
        std::str::from_utf8(text).map_err(|_| bad("header is not ASCII"))?
    };
    let (dtype, shape) = parse_dict(text)?;
    Ok(Header {
        dtype,
        shape,
        data_offset: end,
    })
}

/// Builds magic, version, length and padded header dict for an array (version 1.0 when the
/// header fits a u16 length, else 2.0), so that the data starts at a multiple of 64 bytes;
/// the bytes are those `numpy.save` writes for the same array.
pub(crate) fn format(dtype: Dtype, shape: &[usize]) -> Result<Vec<u8>, NpyError> {
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    };
    // Byte for byte what `numpy.save` writes: the dict, spaces that leave room for the first
    // dimension to grow to 21 digits, then padding to a multiple of 64 (a full 64 when
    // already aligned) ending in '\n'.
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {dims}, }}",
        dtype.descr()
    );
    if let Some(d0) = shape.first() {
        let digits = d0.to_string().len();
        dict.extend(std::iter::repeat_n(' ', 21usize.saturating_sub(digits)));
    }
    // Header length (dict + padding + '\n') after a prefix of magic (6), version (2) and
    // length field (2 or 4 bytes).
    let padded = |prefix: usize| {
        let unpadded = dict.len() + 1;
        unpadded + 64 - (prefix + unpadded) % 64
    };
    let (version, len_size) = if padded(10) <= usize::from(u16::MAX) {
        (1u8, 2usize)
    } else {
        (2u8, 4usize)
    };
    let header_len = padded(8 + len_size);
    let mut out = Vec::with_capacity(8 + len_size + header_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if len_size == 2 {
        let len = u16::try_from(header_len).map_err(|_| NpyError::Overflow)?;
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        let len = u32::try_from(header_len).map_err(|_| NpyError::Overflow)?;
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(8 + len_size + header_len - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

fn bad(what: &str) -> NpyError {
    NpyError::BadHeader(what.to_string())
}

/// A value in the header dict.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// Parses `{'descr': ..., 'fortran_order': ..., 'shape': (...)}`; every key exactly once.
fn parse_dict(text: &str) -> Result<(Dtype, Vec<usize>), NpyError> {
    let mut p = Parser { rest: text.trim() };
    p.expect('{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.skip_ws();
        if p.eat('}') {
            break;
        }
        let key = p.string()?;
        p.skip_ws();
        p.expect(':')?;
        p.skip_ws();
        let value = p.value()?;
        let slot_taken = match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr.replace(s).is_some(),
            ("fortran_order", Value::Bool(b)) => fortran.replace(b).is_some(),
            ("shape", Value::Tuple(t)) => shape.replace(t).is_some(),
            ("descr" | "fortran_order" | "shape", _) => {
                return Err(NpyError::BadHeader(format!(
                    "key '{key}' has a value of the wrong type"
                )))
            }
            _ => return Err(NpyError::BadHeader(format!("unknown key '{key}'"))),
        };
        if slot_taken {
            return Err(NpyError::BadHeader(format!("key '{key}' appears twice")));
        }
        p.skip_ws();
        if !p.eat(',') {
            p.skip_ws();
            p.expect('}')?;
            break;
        }
    }
    if !p.rest.trim().is_empty() {
        return Err(bad("text after the closing '}'"));
    }
    let descr = descr.ok_or_else(|| bad("missing key 'descr'"))?;
    let fortran = fortran.ok_or_else(|| bad("missing key 'fortran_order'"))?;
    let shape = shape.ok_or_else(|| bad("missing key 'shape'"))?;
    if fortran {
        return Err(NpyError::FortranOrder);
    }
    let dtype = Dtype::from_descr(&descr).ok_or(NpyError::UnsupportedDtype(descr))?;
    Ok((dtype, shape))
}

/// A cursor over the header text.
struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(NpyError::BadHeader(format!(
                "expected '{c}' at '{}'",
                self.rest.chars().take(16).collect::<String>()
            )))
        }
    }

    /// A quoted string without escapes (NumPy never writes any in these keys and values).
    fn string(&mut self) -> Result<String, NpyError> {
        let quote = match self.rest.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(bad("expected a quoted string")),
        };
        let body = self.rest.get(quote.len_utf8()..).unwrap_or_default();
        let (s, rest) = body
            .split_once(quote)
            .ok_or_else(|| bad("unterminated string"))?;
        let s = s.to_string();
        self.rest = rest;
        Ok(s)
    }

    fn value(&mut self) -> Result<Value, NpyError> {
        if self.rest.starts_with(['\'', '"']) {
            return self.string().map(Value::Str);
        }
        if let Some(rest) = self.rest.strip_prefix("True") {
            self.rest = rest;
            return Ok(Value::Bool(true));
        }
        if let Some(rest) = self.rest.strip_prefix("False") {
            self.rest = rest;
            return Ok(Value::Bool(false));
        }
        self.expect('(')?;
        let mut dims = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(')') {
                break;
            }
            dims.push(self.integer()?);
            self.skip_ws();
            if !self.eat(',') {
                self.skip_ws();
                self.expect(')')?;
                break;
            }
        }
        Ok(Value::Tuple(dims))
    }

    /// A non-negative decimal integer, optionally with Python 2's `L` suffix.
    fn integer(&mut self) -> Result<usize, NpyError> {
        let digits = self.rest.len()
            - self
                .rest
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        if digits == 0 {
            return Err(bad("expected a dimension (non-negative integer)"));
        }
        let (number, rest) = self
            .rest
            .split_at_checked(digits)
            .ok_or_else(|| bad("expected a dimension (non-negative integer)"))?;
        let n = number.parse::<usize>().map_err(|_| NpyError::Overflow)?;
        self.rest = rest;
        if let Some(rest) = self.rest.strip_prefix('L') {
            self.rest = rest;
        }
        Ok(n)
    }
}
