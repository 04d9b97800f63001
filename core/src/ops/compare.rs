//! `Compare`: broadcasting comparisons of two f32, f64, integer (i8, u8, i16, u16, i32,
//! u32, i64, u64) or bool tensors, giving bool.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::compare::{self as kernel, CompareOp};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Element-wise comparison `a op b` with NumPy broadcasting; inputs `a`, `b` of one element
/// type (f32, i32 or i64), output bool of the broadcast shape. Float comparisons follow
/// IEEE 754 (anything compared with NaN is false, `-0 == +0`). An input 0 of another
/// element type is refused as a [`ModelError::DType`] naming f32 as the expected type; an
/// input 1 whose type differs from input 0's names input 0's type.
pub struct Compare;

/// The comparisons in code order: Equal 0, Less 1, LessOrEqual 2, Greater 3,
/// GreaterOrEqual 4 (codes are never reused or renumbered).
const CODES: [CompareOp; 5] = [
    CompareOp::Equal,
    CompareOp::Less,
    CompareOp::LessOrEqual,
    CompareOp::Greater,
    CompareOp::GreaterOrEqual,
];

/// Attributes of [`Compare`]: the comparison's code (Equal 0, Less 1, LessOrEqual 2,
/// Greater 3, GreaterOrEqual 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareAttrs {
    /// The comparison's code.
    pub op: u32,
}

impl CompareAttrs {
    /// The record of `op`.
    pub fn new(op: CompareOp) -> Self {
        let code = CODES.iter().position(|&c| c == op).unwrap_or(0);
        CompareAttrs { op: code as u32 }
    }

    /// The comparison, `None` for an unknown code.
    pub fn op(&self) -> Option<CompareOp> {
        CODES.get(usize::try_from(self.op).ok()?).copied()
    }
}

impl From<CompareOp> for CompareAttrs {
    fn from(op: CompareOp) -> Self {
        CompareAttrs::new(op)
    }
}

/// Prepared params of [`Compare`]: the comparison's code and the element type (f32 0,
/// i32 1, i64 2).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CompareParams {
    op: u32,
    dtype: u32,
}

fn run<T: crate::dtype::Element + Copy>(op: CompareOp, io: &mut Io<'_>) -> Result<()> {
    let (a, b) = (io.input::<T>(0)?, io.input::<T>(1)?);
    let (sa, sb, so) = (io.shape(0), io.shape(1), io.out_shape(0));
    kernel::compare(op, a, &sa, b, &sb, io.out::<u8>(0)?, &so)
}

impl Op for Compare {
    const ID: u16 = 53;
    const NAME: &'static str = "Compare";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = CompareAttrs;
    type Params = CompareParams;

    fn prepare(a: &CompareAttrs, cx: &mut Prepare<'_, '_>) -> R<CompareParams> {
        a.op().ok_or(cx.attr_err("unknown comparison code"))?;
        let x = cx.input(0)?;
        let dtype = match x.dtype {
            DType::F32 => 0,
            DType::I32 => 1,
            DType::I64 => 2,
            DType::I8 => 3,
            DType::U8 => 4,
            DType::I16 => 5,
            // Bools are bytes 0 and 1: compared as such (Equal is the ONNX use).
            DType::Bool => 4,
            DType::U16 => 6,
            DType::U32 => 7,
            DType::U64 => 8,
            DType::F64 => 9,
            got => {
                return Err(ModelError::DType {
                    op: cx.index(),
                    operand: 0,
                    expected: DType::F32,
                    got,
                })
            }
        };
        let y = cx.typed(1, x.dtype)?;
        let s = x
            .shape
            .broadcast(&y)
            .map_err(|_| cx.shape_err(1, "does not broadcast with operand 0"))?;
        cx.set_output(0, DType::Bool, s)?;
        Ok(CompareParams { op: a.op, dtype })
    }

    fn eval(p: &CompareParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let op = CODES
            .get(p.op as usize)
            .copied()
            .ok_or(Error::InvalidArgument {
                op: "Compare",
                what: "unknown comparison code",
            })?;
        match p.dtype {
            0 => run::<f32>(op, io),
            1 => run::<i32>(op, io),
            2 => run::<i64>(op, io),
            3 => run::<i8>(op, io),
            4 => run::<u8>(op, io),
            5 => run::<i16>(op, io),
            6 => run::<u16>(op, io),
            7 => run::<u32>(op, io),
            8 => run::<u64>(op, io),
            _ => run::<f64>(op, io),
        }
    }
}
