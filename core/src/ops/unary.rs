//! `Unary`: element-wise unary math in f32 (`kernels::unary`: abs, neg, exp, log, sqrt,
//! reciprocal, floor, ceil, round, sign, sin, cos, erf, hard sigmoid, hard swish, clip,
//! softplus), in place when planned so.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::unary::{self as kernel, UnaryOp};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Element-wise unary operation; input `x` (any rank), output of its shape.
pub struct Unary;

/// Attributes of [`Unary`]: the operation as [`UnaryOp::code`] and [`UnaryOp::params`].
/// Operations without parameters must store `[0, 0]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnaryAttrs {
    /// [`UnaryOp::code`] of the operation.
    pub code: u32,
    /// [`UnaryOp::params`] of the operation (`[alpha, beta]` of HardSigmoid, `[min, max]`
    /// of Clip).
    pub params: [f32; 2],
}

impl UnaryAttrs {
    /// The record of `op`.
    pub fn new(op: UnaryOp) -> Self {
        UnaryAttrs {
            code: op.code(),
            params: op.params(),
        }
    }

    /// The operation, `None` for an unknown code.
    pub fn op(&self) -> Option<UnaryOp> {
        UnaryOp::from_parts(self.code, self.params)
    }
}

impl From<UnaryOp> for UnaryAttrs {
    fn from(op: UnaryOp) -> Self {
        UnaryAttrs::new(op)
    }
}

/// Prepared params of [`Unary`]: the code and the parameters' bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct UnaryParams {
    code: u32,
    params: [u32; 2],
    /// Element type: 0 f32, else an integer type (see `binary::type_index`).
    ty: u32,
}

impl Op for Unary {
    const ID: u16 = 52;
    const NAME: &'static str = "Unary";
    const INPUTS: (usize, usize) = (1, 1);
    const IN_PLACE: bool = true;
    type Attrs = UnaryAttrs;
    type Params = UnaryParams;

    fn prepare(a: &UnaryAttrs, cx: &mut Prepare<'_, '_>) -> R<UnaryParams> {
        let op = a.op().ok_or(cx.attr_err("unknown unary op code"))?;
        // Bits, so that a NaN Clip bound (allowed: it gives NaN) compares equal to itself.
        if op.params().map(f32::to_bits) != a.params.map(f32::to_bits) {
            return Err(cx.attr_err("unary params must be 0 for an op without parameters"));
        }
        let x = cx.input(0)?;
        let ty = match super::binary::type_index(x.dtype) {
            Some(0) => 0,
            Some(t) if matches!(op, UnaryOp::Abs | UnaryOp::Neg | UnaryOp::Sign) => t,
            _ => {
                return Err(ModelError::DType {
                    op: cx.index(),
                    operand: 0,
                    expected: DType::F32,
                    got: x.dtype,
                })
            }
        };
        cx.set_output(0, x.dtype, x.shape)?;
        Ok(UnaryParams {
            code: a.code,
            params: a.params.map(f32::to_bits),
            ty,
        })
    }

    fn eval(p: &UnaryParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let op = UnaryOp::from_parts(p.code, p.params.map(f32::from_bits)).ok_or(
            Error::InvalidArgument {
                op: "Unary",
                what: "unknown unary op code",
            },
        )?;
        io.copy_unless_in_place()?;
        if p.ty == 0 {
            kernel::unary_inplace(op, io.out(0)?);
            return Ok(());
        }
        macro_rules! int {
            ($t:ty) => {
                kernel::unary_int_inplace(op, io.out::<$t>(0)?)
            };
        }
        super::binary::by_int_type!(p.ty, int)
    }
}
