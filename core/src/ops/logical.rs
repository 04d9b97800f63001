//! `Logical`: broadcasting and / or / xor of two bool tensors.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::compare::{self as kernel, LogicOp};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Element-wise logical op with NumPy broadcasting; inputs `a`, `b` bool (any nonzero byte
/// is true), output bool (0 or 1) of the broadcast shape.
pub struct Logical;

/// The operations in code order: And 0, Or 1, Xor 2 (never reused or renumbered).
const CODES: [LogicOp; 3] = [LogicOp::And, LogicOp::Or, LogicOp::Xor];

/// Attributes of [`Logical`]: the operation's code (And 0, Or 1, Xor 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicalAttrs {
    /// The operation's code.
    pub op: u32,
}

impl LogicalAttrs {
    /// The record of `op`.
    pub fn new(op: LogicOp) -> Self {
        let code = CODES.iter().position(|&c| c == op).unwrap_or(0);
        LogicalAttrs { op: code as u32 }
    }

    /// The operation, `None` for an unknown code.
    pub fn op(&self) -> Option<LogicOp> {
        CODES.get(usize::try_from(self.op).ok()?).copied()
    }
}

impl From<LogicOp> for LogicalAttrs {
    fn from(op: LogicOp) -> Self {
        LogicalAttrs::new(op)
    }
}

impl Op for Logical {
    const ID: u16 = 54;
    const NAME: &'static str = "Logical";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = LogicalAttrs;
    /// The operation's code.
    type Params = u32;

    fn prepare(a: &LogicalAttrs, cx: &mut Prepare<'_, '_>) -> R<u32> {
        a.op().ok_or(cx.attr_err("unknown logical op code"))?;
        let x = cx.typed(0, DType::Bool)?;
        let y = cx.typed(1, DType::Bool)?;
        let s = x
            .broadcast(&y)
            .map_err(|_| cx.shape_err(1, "does not broadcast with operand 0"))?;
        cx.set_output(0, DType::Bool, s)?;
        Ok(a.op)
    }

    fn eval(p: &u32, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let op = CODES
            .get(*p as usize)
            .copied()
            .ok_or(Error::InvalidArgument {
                op: "Logical",
                what: "unknown logical op code",
            })?;
        let (a, b) = (io.input::<u8>(0)?, io.input::<u8>(1)?);
        let (sa, sb, so) = (io.shape(0), io.shape(1), io.out_shape(0));
        kernel::logical(op, a, &sa, b, &sb, io.out::<u8>(0)?, &so)
    }
}
