//! Cast (ONNX `Cast`, `numpy.astype`) between f32, f16, f64, i8, u8, i16, u16, i32, u32,
//! i64, u64 and bool, on little-endian byte buffers.
//!
//! Elements are read and written as little-endian bytes one at a time, so the buffers need
//! no alignment. Each (source, destination) pair is its own monomorphised loop; the
//! conversion rules are on [`cast`].

use crate::error::{Error, Result};
use half::f16;

/// An element type [`cast`] converts between. (A model's [`crate::DType`] maps onto it.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastType {
    /// 32-bit IEEE float.
    F32,
    /// 16-bit IEEE float (binary16), stored as its `u16` bits.
    F16,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Boolean, one byte: 0 is false, anything else true (written as 1).
    Bool,
    /// 64-bit IEEE float.
    F64,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
}

impl CastType {
    /// Size of one element in bytes.
    pub const fn size(self) -> usize {
        match self {
            CastType::I8 | CastType::U8 | CastType::Bool => 1,
            CastType::F16 | CastType::I16 | CastType::U16 => 2,
            CastType::F32 | CastType::I32 | CastType::U32 => 4,
            CastType::I64 | CastType::F64 | CastType::U64 => 8,
        }
    }
}

/// A value in transit: every source type is exactly one of these.
#[derive(Clone, Copy)]
enum Value {
    /// A float value (f32 and f16 sources are exact in f64).
    Float(f64),
    /// An integer value (every integer type fits i128).
    Int(i128),
}

/// One element type's byte encoding and conversions.
trait Lane {
    const SIZE: usize;
    fn load(b: &[u8]) -> Value;
    fn store(v: Value, b: &mut [u8]);
}

/// The first `N` bytes of `b` (which the caller made `N` long).
#[inline(always)]
fn bytes<const N: usize>(b: &[u8]) -> [u8; N] {
    b.first_chunk::<N>().copied().unwrap_or([0; N])
}

impl Lane for f32 {
    const SIZE: usize = 4;
    #[inline(always)]
    fn load(b: &[u8]) -> Value {
        Value::Float(f64::from(f32::from_le_bytes(bytes(b))))
    }
    #[inline(always)]
    fn store(v: Value, b: &mut [u8]) {
        let x = match v {
            Value::Float(f) => f as f32,
            Value::Int(i) => i as f32,
        };
        b.copy_from_slice(&x.to_le_bytes());
    }
}

impl Lane for f16 {
    const SIZE: usize = 2;
    #[inline(always)]
    fn load(b: &[u8]) -> Value {
        Value::Float(f16::from_bits(u16::from_le_bytes(bytes(b))).to_f64())
    }
    #[inline(always)]
    fn store(v: Value, b: &mut [u8]) {
        let x = match v {
            Value::Float(f) => f16::from_f64(f),
            Value::Int(i) => f16::from_f32(i as f32),
        };
        b.copy_from_slice(&x.to_bits().to_le_bytes());
    }
}

/// Integers: widened to i64 on load; on store, `as` wraps integers and truncates and
/// saturates floats.
macro_rules! int_lane {
    ($($t:ty),*) => {$(
        impl Lane for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            #[inline(always)]
            fn load(b: &[u8]) -> Value {
                Value::Int(i128::from(<$t>::from_le_bytes(bytes(b))))
            }
            #[inline(always)]
            fn store(v: Value, b: &mut [u8]) {
                let x = match v {
                    Value::Float(f) => f as $t,
                    Value::Int(i) => i as $t,
                };
                b.copy_from_slice(&x.to_le_bytes());
            }
        }
    )*};
}
int_lane!(i8, u8, i16, u16, i32, u32, i64, u64);

impl Lane for f64 {
    const SIZE: usize = 8;
    #[inline(always)]
    fn load(b: &[u8]) -> Value {
        Value::Float(f64::from_le_bytes(bytes(b)))
    }
    #[inline(always)]
    fn store(v: Value, b: &mut [u8]) {
        let x = match v {
            Value::Float(f) => f,
            Value::Int(i) => i as f64,
        };
        b.copy_from_slice(&x.to_le_bytes());
    }
}

impl Lane for bool {
    const SIZE: usize = 1;
    #[inline(always)]
    fn load(b: &[u8]) -> Value {
        Value::Int(i128::from(b.first().is_some_and(|&v| v != 0)))
    }
    #[inline(always)]
    fn store(v: Value, b: &mut [u8]) {
        let x = match v {
            Value::Float(f) => f != 0.0,
            Value::Int(i) => i != 0,
        };
        b.copy_from_slice(&[u8::from(x)]);
    }
}

/// The loop for one (source, destination) pair.
fn run<S: Lane, D: Lane>(src: &[u8], dst: &mut [u8]) {
    for (s, d) in src.chunks_exact(S::SIZE).zip(dst.chunks_exact_mut(D::SIZE)) {
        D::store(S::load(s), d);
    }
}

/// Dispatches on the destination type for source `S`.
fn run_from<S: Lane>(src: &[u8], dst: &mut [u8], to: CastType) {
    match to {
        CastType::F32 => run::<S, f32>(src, dst),
        CastType::F16 => run::<S, f16>(src, dst),
        CastType::I8 => run::<S, i8>(src, dst),
        CastType::U8 => run::<S, u8>(src, dst),
        CastType::I16 => run::<S, i16>(src, dst),
        CastType::I32 => run::<S, i32>(src, dst),
        CastType::I64 => run::<S, i64>(src, dst),
        CastType::Bool => run::<S, bool>(src, dst),
        CastType::F64 => run::<S, f64>(src, dst),
        CastType::U16 => run::<S, u16>(src, dst),
        CastType::U32 => run::<S, u32>(src, dst),
        CastType::U64 => run::<S, u64>(src, dst),
    }
}

/// Converts `n` elements of type `from` in `src` to type `to` in `dst`, both little-endian
/// and needing no alignment (ONNX `Cast`, `numpy.astype`):
/// - Same type to same type: the bytes are copied unchanged (NaN payloads included), except
///   bool, which is normalised to 0/1 like any cast to bool.
/// - Float to float: f16 to f32 is exact; f32 to f16 rounds to nearest, ties to even
///   (`half::f16::from_f32`), overflowing to ±inf; NaN stays NaN.
/// - Float to integer: truncates toward zero and saturates at the destination's bounds;
///   NaN becomes 0 (Rust's `as`). NumPy leaves NaN and out-of-range values undefined (the
///   result depends on the platform), so this pins one choice.
/// - Integer to integer: wraps, keeping the low bits of the two's complement value (as C
///   compilers and NumPy's `astype` do on two's-complement machines): 300 as u8 is 44, -1
///   as u8 is 255, 200u8 as i8 is -56.
/// - Integer to float: rounds to nearest, ties to even, once. Integers reach f16 through
///   f32: that step is exact below 2^24 in magnitude, and anything larger is ±inf in f16
///   either way.
/// - Anything to bool: `x != 0` (so NaN is true, -0.0 false); bool to anything: 0 or 1.
///   Reading a bool, any non-zero byte is true.
///
/// Errors: [`Error::DimMismatch`] when `src` is not `n * from.size()` bytes (`"input
/// bytes"`) or `dst` not `n * to.size()` (`"output bytes"`); [`Error::Overflow`].
pub fn cast(src: &[u8], from: CastType, dst: &mut [u8], to: CastType, n: usize) -> Result<()> {
    let op = "cast";
    let overflow = Error::Overflow { op };
    let needed_src = n.checked_mul(from.size()).ok_or(overflow)?;
    let needed_dst = n.checked_mul(to.size()).ok_or(overflow)?;
    super::check_eq(op, "input bytes", needed_src, src.len())?;
    super::check_eq(op, "output bytes", needed_dst, dst.len())?;
    if from == to && from != CastType::Bool {
        dst.copy_from_slice(src);
        return Ok(());
    }
    match from {
        CastType::F32 => run_from::<f32>(src, dst, to),
        CastType::F16 => run_from::<f16>(src, dst, to),
        CastType::I8 => run_from::<i8>(src, dst, to),
        CastType::U8 => run_from::<u8>(src, dst, to),
        CastType::I16 => run_from::<i16>(src, dst, to),
        CastType::I32 => run_from::<i32>(src, dst, to),
        CastType::I64 => run_from::<i64>(src, dst, to),
        CastType::Bool => run_from::<bool>(src, dst, to),
        CastType::F64 => run_from::<f64>(src, dst, to),
        CastType::U16 => run_from::<u16>(src, dst, to),
        CastType::U32 => run_from::<u32>(src, dst, to),
        CastType::U64 => run_from::<u64>(src, dst, to),
    }
    Ok(())
}
