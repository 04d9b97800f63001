//! The one error type of born-core.
//!
//! Every fallible operation returns [`Result<T>`]. Each variant names the operation (a static
//! string such as `"gemm"` or `"conv2d"`) and the values that were wrong, so a message reads
//! like `conv2d: input has 3 channels, weight expects 4`.

pub use crate::model::ModelError;
use crate::shape::Shape;
use core::fmt;

/// Result alias used across born-core.
pub type Result<T> = core::result::Result<T, Error>;

/// What went wrong, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// A shape would have more dimensions than [`crate::shape::MAX_RANK`].
    RankTooLarge {
        /// Operation that built the shape.
        op: &'static str,
        /// The rank that was asked for.
        rank: usize,
    },
    /// A dimension is zero where the operation needs at least one element.
    ZeroDim {
        /// Operation that rejected it.
        op: &'static str,
        /// Which dimension or parameter (e.g. `"kernel height"`).
        what: &'static str,
    },
    /// Two shapes that must agree do not.
    ShapeMismatch {
        /// Operation that compared them.
        op: &'static str,
        /// Shape the operation expected.
        expected: Shape,
        /// Shape it got.
        got: Shape,
    },
    /// Two shapes cannot be broadcast together (NumPy rules).
    BroadcastMismatch {
        /// Operation that tried to broadcast.
        op: &'static str,
        /// Left operand's shape.
        lhs: Shape,
        /// Right operand's shape.
        rhs: Shape,
    },
    /// A single dimension or count has the wrong value.
    DimMismatch {
        /// Operation that checked it.
        op: &'static str,
        /// What the value is (e.g. `"input channels"`).
        what: &'static str,
        /// Value the operation expected.
        expected: usize,
        /// Value it got.
        got: usize,
    },
    /// A buffer is shorter than its shape and strides need.
    BufferTooSmall {
        /// Operation that checked it.
        op: &'static str,
        /// Which buffer (e.g. `"output"`).
        what: &'static str,
        /// Elements needed.
        needed: usize,
        /// Elements present.
        len: usize,
    },
    /// An axis is not below the rank of the tensor it indexes.
    AxisOutOfRange {
        /// Operation that took the axis.
        op: &'static str,
        /// The axis that was asked for.
        axis: usize,
        /// Rank of the tensor.
        rank: usize,
    },
    /// An index (token id, slice bound, ...) is out of range.
    IndexOutOfRange {
        /// Operation that took the index.
        op: &'static str,
        /// What the index selects (e.g. `"embedding row"`).
        what: &'static str,
        /// The index that was asked for.
        index: usize,
        /// Exclusive upper bound.
        len: usize,
    },
    /// The operation needs a contiguous (row-major, unit-stride) tensor.
    NotContiguous {
        /// Operation that needed it.
        op: &'static str,
    },
    /// The arena has not enough free bytes for an allocation.
    ArenaTooSmall {
        /// Bytes the allocation needed, alignment padding included.
        needed: usize,
        /// Bytes still free in the arena.
        available: usize,
    },
    /// A size computation overflowed `usize`.
    Overflow {
        /// Operation whose sizes overflowed.
        op: &'static str,
    },
    /// A parameter is outside its valid range (e.g. a stride of 0, dropout p >= 1).
    InvalidArgument {
        /// Operation that took the parameter.
        op: &'static str,
        /// Which parameter and what is wrong with it.
        what: &'static str,
    },
    /// A `.born` model file is malformed (see [`ModelError`]).
    Model(ModelError),
}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Error {
        Error::Model(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::RankTooLarge { op, rank } => write!(
                f,
                "{op}: rank {rank} exceeds the maximum of {}",
                crate::shape::MAX_RANK
            ),
            Error::ZeroDim { op, what } => write!(f, "{op}: {what} must not be zero"),
            Error::ShapeMismatch { op, expected, got } => {
                write!(f, "{op}: expected shape {expected}, got {got}")
            }
            Error::BroadcastMismatch { op, lhs, rhs } => {
                write!(
                    f,
                    "{op}: shapes {lhs} and {rhs} cannot be broadcast together"
                )
            }
            Error::DimMismatch {
                op,
                what,
                expected,
                got,
            } => write!(f, "{op}: {what} is {got}, expected {expected}"),
            Error::BufferTooSmall {
                op,
                what,
                needed,
                len,
            } => write!(
                f,
                "{op}: {what} buffer holds {len} elements, {needed} needed"
            ),
            Error::AxisOutOfRange { op, axis, rank } => {
                write!(f, "{op}: axis {axis} out of range for rank {rank}")
            }
            Error::IndexOutOfRange {
                op,
                what,
                index,
                len,
            } => write!(f, "{op}: {what} {index} out of range (< {len})"),
            Error::NotContiguous { op } => write!(f, "{op}: tensor must be contiguous"),
            Error::ArenaTooSmall { needed, available } => write!(
                f,
                "arena too small: {needed} bytes needed, {available} bytes free"
            ),
            Error::Overflow { op } => write!(f, "{op}: size computation overflowed"),
            Error::InvalidArgument { op, what } => write!(f, "{op}: invalid argument: {what}"),
            Error::Model(e) => write!(f, "model: {e}"),
        }
    }
}

impl core::error::Error for Error {}
