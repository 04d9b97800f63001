//! Element types a tensor can hold.

use core::fmt::Debug;

/// The element type of a tensor, as stored in models and reported in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DType {
    /// 32-bit IEEE float.
    F32,
    /// Signed 8-bit integer (quantized values).
    I8,
    /// Unsigned 8-bit integer (raw pixels, quantized values).
    U8,
    /// Signed 32-bit integer (indices, quantized biases and accumulators).
    I32,
    /// IEEE half precision, for storage (ops compute in f32).
    F16,
    /// Signed 16-bit integer.
    I16,
    /// Signed 64-bit integer (ONNX indices and shapes).
    I64,
    /// Boolean stored as one byte, 0 or 1 (read and written as `u8`).
    Bool,
    /// 64-bit IEEE float (storage and casts; ONNX models' double tensors).
    F64,
    /// Unsigned 16-bit integer (read and written as `u16`, like [`DType::F16`]'s bits).
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
}

impl DType {
    /// Size of one element in bytes.
    pub const fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F16 | DType::I16 | DType::U16 => 2,
            DType::I64 | DType::F64 | DType::U64 => 8,
        }
    }

    /// Every element type, in wire order.
    pub const ALL: [DType; 12] = [
        DType::F32,
        DType::I8,
        DType::U8,
        DType::I32,
        DType::F16,
        DType::I16,
        DType::I64,
        DType::Bool,
        DType::F64,
        DType::U16,
        DType::U32,
        DType::U64,
    ];

    /// The type's name as NumPy spells it (`"float32"`, `"bool"`).
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::I32 => "int32",
            DType::F16 => "float16",
            DType::I16 => "int16",
            DType::I64 => "int64",
            DType::Bool => "bool",
            DType::F64 => "float64",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
        }
    }

    /// True when a slice of `T` may view a tensor of this type: `T`'s own type, or `u8`
    /// for [`DType::Bool`] and `u16` for [`DType::F16`] and [`DType::U16`] (their storage).
    pub fn viewable_as<T: Element>(self) -> bool {
        T::DTYPE == self
            || (self == DType::Bool && T::DTYPE == DType::U8)
            || (matches!(self, DType::F16 | DType::U16) && T::IS_U16)
    }
}

/// A type a tensor can hold: plain old data whose every bit pattern is valid.
pub trait Element:
    bytemuck::Pod + Default + PartialEq + PartialOrd + Debug + Send + Sync + 'static
{
    /// The [`DType`] tag of this type.
    const DTYPE: DType;
    /// True for `u16`, the storage of [`DType::F16`] and [`DType::U16`].
    const IS_U16: bool = false;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
}
impl Element for i8 {
    const DTYPE: DType = DType::I8;
}
impl Element for u8 {
    const DTYPE: DType = DType::U8;
}
impl Element for i32 {
    const DTYPE: DType = DType::I32;
}
impl Element for i16 {
    const DTYPE: DType = DType::I16;
}
impl Element for i64 {
    const DTYPE: DType = DType::I64;
}
impl Element for f64 {
    const DTYPE: DType = DType::F64;
}
impl Element for u32 {
    const DTYPE: DType = DType::U32;
}
impl Element for u64 {
    const DTYPE: DType = DType::U64;
}
impl Element for u16 {
    const DTYPE: DType = DType::F16;
    const IS_U16: bool = true;
}
