//! Pieces the ops that order or combine values of several element types share (TopK and
//! the scatters' reductions): which types they compute on, and running a kernel generic
//! over the element type on the type a params word names.

use crate::dtype::DType;

/// Whether an op that orders or combines values computes on `d`: the floats `f32` and
/// `f64` and every integer type (not `f16` or `bool`).
pub(crate) fn numeric(d: DType) -> bool {
    matches!(
        d,
        DType::F32
            | DType::F64
            | DType::I8
            | DType::U8
            | DType::I16
            | DType::U16
            | DType::I32
            | DType::U32
            | DType::I64
            | DType::U64
    )
}

/// `d` as a params word: its index in [`DType::ALL`].
pub(crate) fn code(d: DType) -> u32 {
    DType::ALL.iter().position(|&t| t == d).unwrap_or(0) as u32
}

/// Calls `$f::<T>(args..)` with `T` the Rust type of the element type whose [`code`] is
/// `$code` (a `u32` from the params), one of the [`numeric`] types; any other code is the
/// interpreter's "misaligned" error (unreachable after a successful `prepare`).
macro_rules! by_numeric {
    ($code:expr, $f:ident($($arg:expr),* $(,)?)) => {{
        use $crate::dtype::DType;
        match DType::ALL.get($code as usize) {
            Some(DType::F32) => $f::<f32>($($arg),*),
            Some(DType::F64) => $f::<f64>($($arg),*),
            Some(DType::I8) => $f::<i8>($($arg),*),
            Some(DType::U8) => $f::<u8>($($arg),*),
            Some(DType::I16) => $f::<i16>($($arg),*),
            Some(DType::U16) => $f::<u16>($($arg),*),
            Some(DType::I32) => $f::<i32>($($arg),*),
            Some(DType::U32) => $f::<u32>($($arg),*),
            Some(DType::I64) => $f::<i64>($($arg),*),
            Some(DType::U64) => $f::<u64>($($arg),*),
            _ => Err($crate::ops::io::misaligned()),
        }
    }};
}
pub(crate) use by_numeric;
