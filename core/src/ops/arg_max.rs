//! `ArgMax`: the index of the largest f32 along an axis, as i64 (ONNX `ArgMax`).
//!
//! Ties go to the first occurrence (the smallest index), and NaN counts as larger than
//! every number, so the first NaN wins (`numpy.argmax`); `+0.0` and `-0.0` tie. ONNX's
//! `select_last_index` is not supported (its default, first index, is what this computes).

use super::softmax::resolve_axis;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::reduce;
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Index of the first largest element along `axis`; input `x` f32, output i64 (the input's
/// shape with the axis set to 1, or removed without `keepdims`).
pub struct ArgMax;

/// Attributes of [`ArgMax`] and [`ArgMin`](super::arg_min::ArgMin).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgAttrs {
    /// The axis (negative counts from the end).
    pub axis: i32,
    /// Keep the axis as extent 1 (ONNX `keepdims`).
    pub keepdims: bool,
}

impl Default for ArgAttrs {
    /// The ONNX defaults: axis 0, `keepdims`.
    fn default() -> Self {
        ArgAttrs {
            axis: 0,
            keepdims: true,
        }
    }
}

/// `[outer, len, inner]` of an arg reduction (prepared params).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ArgParams {
    outer: u32,
    len: u32,
    inner: u32,
}

/// The rules of ArgMax and ArgMin (`axis_err` names the op in the attribute error).
pub(crate) fn prepare_arg(
    a: &ArgAttrs,
    cx: &mut Prepare<'_, '_>,
    axis_err: &'static str,
) -> R<ArgParams> {
    let s = cx.typed(0, DType::F32)?;
    s.checked_numel().map_err(|e| cx.kernel_err(e))?;
    let d = s.dims();
    let axis = resolve_axis(i64::from(a.axis), d.len()).ok_or(cx.attr_err(axis_err))?;
    let len = d[axis];
    if len == 0 {
        return Err(cx.shape_err(0, "reduced axis must not be empty"));
    }
    // The kernel counts in i32.
    if len > 1 << 31 {
        return Err(cx.shape_err(0, "reduced axis too long for i32 indices"));
    }
    let mut out = [0usize; MAX_RANK];
    let mut rank = 0;
    for (k, &e) in d.iter().enumerate() {
        if k != axis || a.keepdims {
            out[rank] = if k == axis { 1 } else { e };
            rank += 1;
        }
    }
    let out = cx.shape(&out[..rank])?;
    cx.set_output(0, DType::I64, out)?;
    let word = |v: usize| u32::try_from(v).map_err(|_| cx.attr_err("sizes overflow"));
    Ok(ArgParams {
        outer: word(d[..axis].iter().product())?,
        len: word(len)?,
        inner: word(d[axis + 1..].iter().product())?,
    })
}

/// The kernel signature of [`reduce::argmax`] and [`reduce::argmin`].
pub(crate) type ArgFn = fn(&[f32], usize, usize, usize, &mut [i32]) -> Result<()>;

/// Runs `f` into the first half of output 0's bytes as i32, then widens the indices to i64
/// in place, last first (index `i` moves from bytes `4i..` to `8i..`, never over an index
/// not yet moved).
pub(crate) fn eval_arg(p: &ArgParams, io: &mut Io<'_>, f: ArgFn) -> Result<()> {
    let x = io.input::<f32>(0)?;
    let (outer, len, inner) = (p.outer as usize, p.len as usize, p.inner as usize);
    let n = outer * inner;
    let bytes = io.out_bytes(0)?;
    if bytes.len() != n * 8 {
        return Err(super::io::misaligned());
    }
    let narrow: &mut [i32] =
        bytemuck::try_cast_slice_mut(&mut bytes[..n * 4]).map_err(|_| super::io::misaligned())?;
    f(x, outer, len, inner, narrow)?;
    for i in (0..n).rev() {
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[4 * i..4 * i + 4]);
        let v = i64::from(i32::from_le_bytes(w));
        bytes[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
    }
    Ok(())
}

impl Op for ArgMax {
    const ID: u16 = 57;
    const NAME: &'static str = "ArgMax";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ArgAttrs;
    type Params = ArgParams;

    fn prepare(a: &ArgAttrs, cx: &mut Prepare<'_, '_>) -> R<ArgParams> {
        prepare_arg(a, cx, "argmax axis out of range")
    }

    fn eval(p: &ArgParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        eval_arg(p, io, reduce::argmax)
    }
}
