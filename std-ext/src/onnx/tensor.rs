//! Constant tensors: ONNX `TensorProto` (inline or external data) to born element types.

use super::error::{OnnxError, Result};
use super::proto::{tensor_proto, TensorProto};
use born_core::dtype::DType;
use std::path::Path;

/// A tensor whose value is known when converting: an initializer, a `Constant` node, or a
/// value folded from other constants. Bytes are little-endian, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    /// Element type.
    pub dtype: DType,
    /// Dimensions (empty for a scalar).
    pub dims: Vec<usize>,
    /// `numel * dtype.size()` bytes.
    pub bytes: Vec<u8>,
}

impl Const {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    /// A constant from values of a plain element type.
    pub fn from_values<T: born_core::dtype::Element>(dims: Vec<usize>, values: &[T]) -> Const {
        Const {
            dtype: T::DTYPE,
            dims,
            bytes: bytemuck::cast_slice(values).to_vec(),
        }
    }

    /// The values as `i64` (integer and bool tensors); `None` for float tensors.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        let b = &self.bytes;
        Some(match self.dtype {
            DType::I64 => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
            DType::I32 => b
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                .collect(),
            DType::I16 => b
                .chunks_exact(2)
                .map(|c| i64::from(i16::from_le_bytes([c[0], c[1]])))
                .collect(),
            DType::I8 => b.iter().map(|&v| i64::from(v as i8)).collect(),
            DType::U8 | DType::Bool => b.iter().map(|&v| i64::from(v)).collect(),
            DType::U16 => b
                .chunks_exact(2)
                .map(|c| i64::from(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            DType::U32 => b
                .chunks_exact(4)
                .map(|c| i64::from(u32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                .collect(),
            // Values above i64::MAX wrap (they are never shapes or axes).
            DType::U64 => b
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as i64)
                .collect(),
            DType::F32 | DType::F16 | DType::F64 => return None,
        })
    }

    /// The values as `f32` (every element type; integers converted).
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            DType::F32 => f32s(&self.bytes),
            DType::F16 => self
                .bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DType::F64 => self
                .bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
                .collect(),
            _ => self
                .to_i64()
                .unwrap_or_default()
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        }
    }
}

/// Little-endian `f32` values of `bytes` (a trailing partial value is ignored).
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// ONNX `TensorProto.DataType` codes of the element types born has.
pub fn dtype_of(code: i32) -> Option<DType> {
    use tensor_proto::DataType as T;
    Some(match T::try_from(code).ok()? {
        T::Float => DType::F32,
        T::Uint8 => DType::U8,
        T::Int8 => DType::I8,
        T::Int16 => DType::I16,
        T::Int32 => DType::I32,
        T::Int64 => DType::I64,
        T::Bool => DType::Bool,
        T::Float16 => DType::F16,
        T::Double => DType::F64,
        T::Uint16 => DType::U16,
        T::Uint32 => DType::U32,
        T::Uint64 => DType::U64,
        _ => return None,
    })
}

/// The ONNX code of a born element type.
pub fn code_of(d: DType) -> i32 {
    use tensor_proto::DataType as T;
    (match d {
        DType::F32 => T::Float,
        DType::U8 => T::Uint8,
        DType::I8 => T::Int8,
        DType::I16 => T::Int16,
        DType::I32 => T::Int32,
        DType::I64 => T::Int64,
        DType::Bool => T::Bool,
        DType::F16 => T::Float16,
        DType::F64 => T::Double,
        DType::U16 => T::Uint16,
        DType::U32 => T::Uint32,
        DType::U64 => T::Uint64,
    }) as i32
}

/// The ONNX name of element type `code` (`DOUBLE`, `STRING`...), for errors.
pub fn type_name(code: i32) -> String {
    tensor_proto::DataType::try_from(code)
        .map(|t| t.as_str_name().to_string())
        .unwrap_or_else(|_| format!("type code {code}"))
}

/// Largest constant the importer accepts (bytes): the weights section addresses its
/// constants with 32-bit offsets, so anything bigger is an absurd dimension, not a model.
pub const MAX_CONST_BYTES: usize = u32::MAX as usize;

/// Largest value the converter computes itself (`ConstantOfShape`, `Range`, folded
/// nodes), in bytes.
pub const MAX_COMPUTED_BYTES: usize = 1 << 28;

/// Largest run-time tensor (bytes): arena offsets are 32-bit.
pub const MAX_TENSOR_BYTES: usize = u32::MAX as usize;

/// Bytes of `dims` elements of `elem` bytes each; `None` on overflow or above `limit`.
pub fn bytes_of(dims: &[usize], elem: usize, limit: usize) -> Option<usize> {
    dims.iter()
        .try_fold(elem, |acc, &d| acc.checked_mul(d))
        .filter(|&b| b <= limit)
}

/// Dimensions of a tensor's declared `dims`, checked (non-negative, product in range).
pub fn checked_dims(name: &str, dims: &[i64], elem: usize) -> Result<Vec<usize>> {
    let bad = |what: String| OnnxError::Tensor {
        tensor: name.to_string(),
        what,
    };
    let mut bytes = elem;
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = usize::try_from(d).map_err(|_| bad(format!("negative dimension {d}")))?;
        bytes = bytes
            .checked_mul(d)
            .filter(|&b| b <= MAX_CONST_BYTES)
            .ok_or_else(|| bad(format!("dimensions {dims:?} are too large")))?;
        out.push(d);
    }
    Ok(out)
}

/// Decodes `t` into a [`Const`]. `dir` is the folder of the model file, where external
/// data files are looked up; a location outside that folder is refused.
pub fn from_proto(t: &TensorProto, dir: Option<&Path>) -> Result<Const> {
    let name = t.name();
    let bad = |what: String| OnnxError::Tensor {
        tensor: name.to_string(),
        what,
    };
    let code = t.data_type();
    let dtype = dtype_of(code).ok_or_else(|| {
        bad(format!(
            "element type {} is not supported by born",
            type_name(code)
        ))
    })?;
    let dims = checked_dims(name, &t.dims, dtype.size())?;
    let n: usize = dims.iter().product();
    let want = n * dtype.size();
    let external = t.data_location() == tensor_proto::DataLocation::External;
    let bytes = if external {
        read_external(t, dir, want)?
    } else if let Some(raw) = &t.raw_data {
        raw.clone()
    } else {
        typed_bytes(t, dtype, n).map_err(bad)?
    };
    if bytes.len() != want {
        return Err(bad(format!(
            "holds {} bytes, its dimensions {dims:?} of {dtype:?} need {want}",
            bytes.len()
        )));
    }
    Ok(Const { dtype, dims, bytes })
}

/// The bytes of a tensor stored in the typed repeated fields.
fn typed_bytes(t: &TensorProto, dtype: DType, n: usize) -> std::result::Result<Vec<u8>, String> {
    let count = |got: usize| {
        if got == n {
            Ok(())
        } else {
            Err(format!("holds {got} values, its dimensions need {n}"))
        }
    };
    Ok(match dtype {
        DType::F32 => {
            count(t.float_data.len())?;
            bytemuck::cast_slice(&t.float_data).to_vec()
        }
        DType::I64 => {
            count(t.int64_data.len())?;
            bytemuck::cast_slice(&t.int64_data).to_vec()
        }
        DType::I32 => {
            count(t.int32_data.len())?;
            bytemuck::cast_slice(&t.int32_data).to_vec()
        }
        DType::F64 => {
            count(t.double_data.len())?;
            bytemuck::cast_slice(&t.double_data).to_vec()
        }
        // uint64_data holds UINT32 and UINT64.
        DType::U64 => {
            count(t.uint64_data.len())?;
            bytemuck::cast_slice(&t.uint64_data).to_vec()
        }
        DType::U32 => {
            count(t.uint64_data.len())?;
            t.uint64_data
                .iter()
                .flat_map(|&v| (v as u32).to_le_bytes())
                .collect()
        }
        // int32_data holds every narrower type, one value per entry (FLOAT16 as its bits).
        DType::I16 | DType::F16 | DType::U16 => {
            count(t.int32_data.len())?;
            t.int32_data
                .iter()
                .flat_map(|&v| (v as u16).to_le_bytes())
                .collect()
        }
        DType::I8 | DType::U8 | DType::Bool => {
            count(t.int32_data.len())?;
            t.int32_data.iter().map(|&v| v as u8).collect()
        }
    })
}

/// The bytes of an external-data tensor: `location` (relative, inside `dir`), `offset`
/// and `length` keys.
fn read_external(t: &TensorProto, dir: Option<&Path>, want: usize) -> Result<Vec<u8>> {
    let name = t.name();
    let bad = |what: String| OnnxError::Tensor {
        tensor: name.to_string(),
        what,
    };
    let (mut location, mut offset, mut length) = (None, 0u64, None);
    for e in &t.external_data {
        match e.key() {
            "location" => location = Some(e.value().to_string()),
            "offset" => {
                offset = e
                    .value()
                    .parse()
                    .map_err(|_| bad(format!("external data offset `{}`", e.value())))?
            }
            "length" => {
                length = Some(
                    e.value()
                        .parse::<u64>()
                        .map_err(|_| bad(format!("external data length `{}`", e.value())))?,
                )
            }
            _ => {}
        }
    }
    let location = location.ok_or_else(|| bad("external data has no location".into()))?;
    let dir = dir.ok_or_else(|| {
        bad("external data needs the model's folder (convert from a file path)".into())
    })?;
    let rel = Path::new(&location);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(bad(format!(
            "external data location `{location}` points outside the model's folder"
        )));
    }
    let path = dir.join(rel);
    let canon_dir = dir.canonicalize().map_err(|source| OnnxError::Io {
        path: dir.into(),
        source,
    })?;
    let canon = path.canonicalize().map_err(|source| OnnxError::Io {
        path: path.clone(),
        source,
    })?;
    if !canon.starts_with(&canon_dir) {
        return Err(bad(format!(
            "external data location `{location}` points outside the model's folder"
        )));
    }
    let len = length.unwrap_or(want as u64);
    if len != want as u64 {
        return Err(bad(format!(
            "external data length {len} differs from the {want} bytes its dimensions need"
        )));
    }
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| OnnxError::Io {
        path: path.clone(),
        source,
    };
    let mut f = std::fs::File::open(&canon).map_err(io)?;
    let size = f.metadata().map_err(io)?.len();
    if offset.checked_add(len).is_none_or(|end| end > size) {
        return Err(bad(format!(
            "external data [{offset}, +{len}) runs past the end of `{location}` ({size} bytes)"
        )));
    }
    f.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut bytes = vec![0u8; want];
    f.read_exact(&mut bytes).map_err(io)?;
    Ok(bytes)
}
