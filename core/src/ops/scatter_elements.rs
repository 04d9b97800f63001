//! `ScatterElements`: a tensor with elements replaced (or combined with updates by a
//! reduction) at positions picked along an axis by a same-rank index tensor (ONNX
//! `ScatterElements` and the older `Scatter`; data of any element type, indices `i32` or
//! `i64`).

use super::io::misaligned;
use super::movement::{self, by_size};
use super::numeric::{by_numeric, code, numeric};
use super::{Io, Op, Prepare};
use crate::dtype::{DType, Element};
use crate::error::Result;
use crate::kernels::tensor::{self, Combine, Reduction};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// ScatterElements; inputs `data` (any element type), `indices` (`i32` or `i64`, of
/// `data`'s rank, each dimension off the axis at most `data`'s) and `updates` (`data`'s
/// element type, `indices`' shape); output of `data`'s type and shape: `data` with, for
/// every position `j` of `indices`, the element at `j` with its coordinate along the axis
/// replaced by `indices[j]` set to `updates[j]` (or combined with it by the reduction,
/// which needs `f32`, `f64` or an integer type). Repeated positions take their updates in
/// the row-major order of `indices`. An index outside `-len..len` of the axis is an error
/// at invoke (the output then holds a copy of `data`).
pub struct ScatterElements;

/// Attributes of [`ScatterElements`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScatterElementsAttrs {
    /// The axis of `data` indexed (negative counts from the end).
    pub axis: i32,
    /// How an update combines with the element it lands on.
    pub reduction: Reduction,
}

/// Prepared params of [`ScatterElements`]: element size and type (index in
/// [`DType::ALL`]), axis, reduction (0 none, 1 add, 2 mul, 3 max, 4 min) and whether the
/// indices are `i64` (1) or `i32` (0).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ScatterElementsParams {
    size: u32,
    dtype: u32,
    axis: u32,
    reduction: u32,
    wide: u32,
}

/// `r` as a params word.
pub(crate) fn reduction_code(r: Reduction) -> u32 {
    match r {
        Reduction::None => 0,
        Reduction::Add => 1,
        Reduction::Mul => 2,
        Reduction::Max => 3,
        Reduction::Min => 4,
    }
}

/// The reduction of a params word.
pub(crate) fn reduction_of(code: u32) -> Reduction {
    match code {
        1 => Reduction::Add,
        2 => Reduction::Mul,
        3 => Reduction::Max,
        4 => Reduction::Min,
        _ => Reduction::None,
    }
}

/// Checks that a scatter of `dtype` (operand 0) can apply reduction `r` (a [`numeric`]
/// type); returns the element type's params word.
pub(crate) fn check_reduction(cx: &Prepare<'_, '_>, dtype: DType, r: Reduction) -> R<u32> {
    if r != Reduction::None && !numeric(dtype) {
        return Err(ModelError::DType {
            op: cx.index(),
            operand: 0,
            expected: DType::F32,
            got: dtype,
        });
    }
    Ok(code(dtype))
}

/// Checks that input 2 (the updates) has `data`'s element type and `shape`.
pub(crate) fn check_updates(
    cx: &Prepare<'_, '_>,
    dtype: DType,
    shape: crate::shape::Shape,
) -> R<()> {
    let u = cx.typed(2, dtype)?;
    if u != shape {
        return Err(cx.shape_err(2, "shape differs from the one the indices imply"));
    }
    Ok(())
}

/// `bytes` as `T`s.
pub(crate) fn view<T: bytemuck::Pod>(bytes: &[u8]) -> Result<&[T]> {
    bytemuck::try_cast_slice(bytes).map_err(|_| misaligned())
}

/// Copies `data` (input 0) into output 0 and scatters input 2 at the indices (input 1,
/// `I`) with `f`.
fn scatter<T: bytemuck::Pod, I: Element + Into<i64>>(
    p: &ScatterElementsParams,
    io: &mut Io<'_>,
    f: impl Fn(T, T) -> T,
) -> Result<()> {
    let x: &[T] = view(movement::input_bytes(io, 0)?)?;
    let upd: &[T] = view(movement::input_bytes(io, 2)?)?;
    let idx = io.input::<I>(1)?;
    let (xs, is) = (io.shape(0), io.shape(1));
    let out: &mut [T] = bytemuck::try_cast_slice_mut(io.out_bytes(0)?).map_err(|_| misaligned())?;
    if out.len() != x.len() {
        return Err(misaligned());
    }
    out.copy_from_slice(x);
    let axis = i64::from(p.axis);
    tensor::scatter_elements(out, xs.dims(), axis, idx, is.dims(), upd, f)
}

/// [`scatter`] with either index type.
fn by_index<T: bytemuck::Pod>(
    p: &ScatterElementsParams,
    io: &mut Io<'_>,
    f: impl Fn(T, T) -> T,
) -> Result<()> {
    if p.wide != 0 {
        scatter::<T, i64>(p, io, f)
    } else {
        scatter::<T, i32>(p, io, f)
    }
}

/// Without a reduction: elements of `N` bytes, whatever their type.
fn replace<const N: usize>(p: &ScatterElementsParams, io: &mut Io<'_>) -> Result<()> {
    by_index::<[u8; N]>(p, io, |_, u| u)
}

/// With a reduction, computed on `T`.
fn reduce<T: bytemuck::Pod + Combine>(p: &ScatterElementsParams, io: &mut Io<'_>) -> Result<()> {
    let r = reduction_of(p.reduction);
    by_index::<T>(p, io, |e, u| r.apply(e, u))
}

impl Op for ScatterElements {
    const ID: u16 = 110;
    const NAME: &'static str = "ScatterElements";
    const INPUTS: (usize, usize) = (3, 3);
    type Attrs = ScatterElementsAttrs;
    type Params = ScatterElementsParams;

    fn prepare(a: &ScatterElementsAttrs, cx: &mut Prepare<'_, '_>) -> R<ScatterElementsParams> {
        let x = cx.input(0)?;
        let (axis, wide, idx) = super::gather_elements::element_indices(
            cx,
            a.axis,
            "scatter axis out of range",
            "a dimension off the scatter axis exceeds the data's",
        )?;
        check_updates(cx, x.dtype, idx)?;
        let dtype = check_reduction(cx, x.dtype, a.reduction)?;
        cx.set_output(0, x.dtype, x.shape)?;
        Ok(ScatterElementsParams {
            size: movement::size_word(x.dtype),
            dtype,
            axis: axis as u32,
            reduction: reduction_code(a.reduction),
            wide: u32::from(wide),
        })
    }

    fn eval(p: &ScatterElementsParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        if reduction_of(p.reduction) == Reduction::None {
            return by_size!(p.size, replace(p, io));
        }
        by_numeric!(p.dtype, reduce(p, io))
    }
}
