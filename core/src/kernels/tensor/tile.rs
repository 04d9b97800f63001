//! Tile (ONNX `Tile`, `numpy.tile` with one repeat per axis).
//!
//! Output axis `a` has `repeats[a] * shape[a]` elements; its coordinate `c` reads input
//! coordinate `c % shape[a]`. Splitting every output axis into a repeat axis and an element
//! axis, `[repeats[0], shape[0], repeats[1], shape[1], ..]`, makes tiling a broadcast (stride
//! 0 along the repeat axes), which the module's index walker runs.

use super::walk::Walk;
use super::{check_eq, numel, strides};
use crate::error::Result;

/// `out = tile(x, repeats)`: `x` has dimensions `shape` and `out` has dimensions
/// `shape[a] * repeats[a]`, holding `repeats[a]` copies of `x` along each axis `a`. A
/// repeat of 0 gives an empty output.
///
/// Errors: [`DimMismatch`](crate::Error::DimMismatch) when `repeats.len() != shape.len()`
/// (`"repeats length"`) or a buffer is not as long as its shape's element count
/// (`"input length"`, `"output length"`); [`RankTooLarge`](crate::Error::RankTooLarge);
/// [`Overflow`](crate::Error::Overflow).
pub fn tile<T: Copy>(x: &[T], shape: &[usize], repeats: &[usize], out: &mut [T]) -> Result<()> {
    let op = "tile";
    let n = numel(op, shape)?;
    check_eq(op, "repeats length", shape.len(), repeats.len())?;
    check_eq(op, "input length", n, x.len())?;
    let st = strides(op, shape)?;
    let mut walk = Walk::<1>::new([0]);
    for ((&d, &r), &s) in shape.iter().zip(repeats).zip(&st) {
        walk.push(op, r, [0])?;
        walk.push(op, d, [s])?;
    }
    check_eq(op, "output length", walk.numel(), out.len())?;
    walk.copy(x, out);
    Ok(())
}
