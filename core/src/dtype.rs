//! Element types a tensor can hold.

use core::fmt::Debug;

/// The element type of a tensor, as stored in models and reported in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DType {
    /// 32-bit IEEE float.
    F32,
    /// Signed 8-bit integer (quantized values).
    I8,
    /// Unsigned 8-bit integer (raw pixels, quantized values).
    U8,
    /// Signed 32-bit integer (indices, quantized biases and accumulators).
    I32,
}

impl DType {
    /// Size of one element in bytes.
    pub const fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::I8 | DType::U8 => 1,
        }
    }
}

/// A type a tensor can hold: plain old data whose every bit pattern is valid.
pub trait Element:
    bytemuck::Pod + Default + PartialEq + PartialOrd + Debug + Send + Sync + 'static
{
    /// The [`DType`] tag of this type.
    const DTYPE: DType;
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
