//! Backward (vector-Jacobian product) kernels of the f32 operations, for training (feature
//! `train`).
//!
//! Each function takes the forward operands (or the forward output where that is cheaper),
//! the gradient of the loss with respect to the forward output (`grad_out`), and writes the
//! gradient with respect to the operands. The semantics follow the forward kernels of the
//! same family exactly (padding, dilation, groups, ceil mode, the max-pool tie rule, the
//! normalisations' `eps`). Output buffers are overwritten, never accumulated into, and every
//! sum runs in a fixed order, so the same inputs always give the same bits.
//!
//! As in the rest of [`crate::kernels`], every family has dispatching entry points and
//! `*_reference` twins (plain loops straight from the mathematical definition) that the fast
//! paths are tested against; lengths are checked before anything is written, and nothing
//! allocates (callers pass scratch where a kernel needs it).
//!
//! | module | gradients of |
//! |---|---|
//! | [`conv`] | [`crate::kernels::conv::conv2d`] (input, weight, bias) |
//! | [`pool`] | max, average and global average pooling |
//! | [`activation`] | every [`crate::kernels::activation::Activation`] |
//! | [`softmax`] | softmax and log-softmax along an axis |
//! | [`norm`] | layer norm, RMS norm, inference batch norm |
//! | [`misc`] | broadcast reduction (`sum_to`), linear layers, embedding, cross-entropy |

pub mod activation;
pub mod conv;
pub mod misc;
pub mod norm;
pub mod pool;
pub mod softmax;

use crate::{Error, Result};

/// [`Error::DimMismatch`] unless `expected == got`.
pub(crate) fn check_eq(
    op: &'static str,
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::DimMismatch {
            op,
            what,
            expected,
            got,
        })
    }
}

/// `a * b * ...` or [`Error::Overflow`].
pub(crate) fn product(op: &'static str, xs: &[usize]) -> Result<usize> {
    xs.iter()
        .try_fold(1usize, |acc, &x| acc.checked_mul(x))
        .ok_or(Error::Overflow { op })
}

/// The error for an index the validation already ruled out (never returned in practice).
pub(crate) fn internal(op: &'static str) -> Error {
    Error::InvalidArgument {
        op,
        what: "internal bounds check failed",
    }
}
