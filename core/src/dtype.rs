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
}

impl DType {
    /// Size of one element in bytes.
    pub const fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F16 | DType::I16 => 2,
            DType::I64 => 8,
        }
    }

    /// Every element type, in wire order.
    pub const ALL: [DType; 8] = [
        DType::F32,
        DType::I8,
        DType::U8,
        DType::I32,
        DType::F16,
        DType::I16,
        DType::I64,
        DType::Bool,
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
        }
    }

    /// True when a slice of `T` may view a tensor of this type: `T`'s own type, or `u8`
    /// for [`DType::Bool`] and `u16` for [`DType::F16`] (their storage).
    pub fn viewable_as<T: Element>(self) -> bool {
        T::DTYPE == self
            || (self == DType::Bool && T::DTYPE == DType::U8)
            || (self == DType::F16 && T::IS_U16)
    }
}

/// A type a tensor can hold: plain old data whose every bit pattern is valid.
pub trait Element:
    bytemuck::Pod + Default + PartialEq + PartialOrd + Debug + Send + Sync + 'static
{
    /// The [`DType`] tag of this type.
    const DTYPE: DType;
    /// True for `u16`, the storage of [`DType::F16`] (which has no tag of its own).
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
impl Element for u16 {
    const DTYPE: DType = DType::F16;
    const IS_U16: bool = true;
}
