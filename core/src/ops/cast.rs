//! `Cast`: elements converted to another element type (ONNX `Cast`, `numpy.astype`).

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::tensor::{self, CastType};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

/// Cast; input `x` of any element type, output of its shape in `attrs.to`, converted by
/// the rules of [`tensor::cast`] (floats to integers truncate and saturate, integers wrap,
/// anything to bool is `x != 0`).
pub struct Cast;

/// Attributes of [`Cast`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CastAttrs {
    /// The output's element type.
    pub to: DType,
}

/// The cast kernel's name for element type `d`.
pub const fn cast_type(d: DType) -> CastType {
    match d {
        DType::F32 => CastType::F32,
        DType::F16 => CastType::F16,
        DType::I8 => CastType::I8,
        DType::U8 => CastType::U8,
        DType::I16 => CastType::I16,
        DType::I32 => CastType::I32,
        DType::I64 => CastType::I64,
        DType::Bool => CastType::Bool,
        DType::F64 => CastType::F64,
        DType::U16 => CastType::U16,
        DType::U32 => CastType::U32,
        DType::U64 => CastType::U64,
    }
}

/// Prepared params of [`Cast`]: the source and destination types as indices into
/// [`DType::ALL`].
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CastParams {
    from: u32,
    to: u32,
}

/// Index of `d` in [`DType::ALL`].
fn code(d: DType) -> u32 {
    DType::ALL.iter().position(|&t| t == d).unwrap_or(0) as u32
}

/// The type with index `c` in [`DType::ALL`].
fn of_code(c: u32) -> Result<CastType> {
    DType::ALL
        .get(c as usize)
        .map(|&d| cast_type(d))
        .ok_or(super::io::misaligned())
}

impl Op for Cast {
    const ID: u16 = 39;
    const NAME: &'static str = "Cast";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = CastAttrs;
    type Params = CastParams;

    fn prepare(
        a: &CastAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<CastParams, ModelError> {
        let x = cx.input(0)?;
        let bytes = x
            .shape
            .checked_numel()
            .ok()
            .and_then(|n| n.checked_mul(a.to.size()));
        if bytes.and_then(|b| u32::try_from(b).ok()).is_none() {
            return Err(cx.shape_err(0, "output size does not fit 32 bits"));
        }
        cx.set_output(0, a.to, x.shape)?;
        Ok(CastParams {
            from: code(x.dtype),
            to: code(a.to),
        })
    }

    fn eval(p: &CastParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (from, to) = (of_code(p.from)?, of_code(p.to)?);
        let x = super::movement::input_bytes(io, 0)?;
        let n = io.shape(0).checked_numel()?;
        tensor::cast(x, from, io.out_bytes(0)?, to, n)
    }
}
