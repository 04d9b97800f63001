//! The int8 ops.

use super::operands::Operands;
use crate::error::{Error, Result};
use crate::model::{Model, OpDef};

/// i32 scratch elements an int8 op needs.
pub(super) fn scratch_elems(_model: &Model<'_>, _def: &OpDef) -> Result<usize> {
    Ok(0)
}

/// Runs an int8 op.
pub(super) fn run(_def: &OpDef, _o: &mut Operands<'_, '_>, _scratch: &mut [u8]) -> Result<()> {
    Err(Error::InvalidArgument {
        op: "interpreter",
        what: "int8 op",
    })
}
