//! What can be wrong with a `.born` file, and where.

use super::format::Section;
use crate::dtype::DType;
use crate::shape::Shape;
use core::fmt;

/// Why [`Model::from_bytes`](super::Model::from_bytes) rejected a file. Tensor and op
/// numbers are indices into the file's tensor and op tables; operands count from 0 in the
/// order the op lists its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ModelError {
    /// The bytes end before a section does.
    Truncated {
        /// Section that does not fit.
        section: Section,
        /// Bytes the section needs from the start of the file.
        needed: usize,
        /// Bytes present.
        len: usize,
    },
    /// The file does not start with `BORN`.
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// A format version this build cannot read.
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// The preamble's file length is not the length of the bytes.
    FileLength {
        /// Length the preamble declares.
        declared: usize,
        /// Length of the bytes given.
        actual: usize,
    },
    /// The CRC-32 at the end does not match the contents.
    Checksum {
        /// CRC stored in the file.
        stored: u32,
        /// CRC of the bytes.
        computed: u32,
    },
    /// A section lies outside the file, out of order, or over another one.
    SectionBounds {
        /// The section.
        section: Section,
    },
    /// Something that must be aligned to [`ALIGN`](super::format::ALIGN) bytes is not.
    Misaligned {
        /// What (`"model bytes in memory"`, `"weights section"`, `"constant"`, ...).
        what: &'static str,
        /// Its offset or address.
        offset: usize,
    },
    /// A record does not decode, or does not fill exactly its slot.
    Decode {
        /// Section holding the record.
        section: Section,
        /// Record number within the section (0 for the meta record).
        index: usize,
    },
    /// A count disagrees with the data (index length vs. record count, inputs listed vs.
    /// inputs found, ...).
    Count {
        /// What was counted.
        what: &'static str,
        /// Count the file declares.
        declared: usize,
        /// Count found.
        found: usize,
    },
    /// A tensor record is invalid by itself.
    Tensor {
        /// The tensor.
        tensor: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A constant's bytes lie outside the weights section or do not match its shape.
    ConstOutOfRange {
        /// The tensor.
        tensor: usize,
        /// Byte offset in the weights section.
        offset: usize,
        /// Byte length.
        len: usize,
        /// Length of the weights section.
        weights_len: usize,
    },
    /// An arena tensor does not fit in the planned arena.
    ArenaOutOfRange {
        /// The tensor.
        tensor: usize,
        /// Byte offset.
        offset: usize,
        /// Byte length.
        len: usize,
        /// Planned arena length.
        arena_len: usize,
    },
    /// Two tensors that are live at the same time share arena bytes.
    ArenaOverlap {
        /// One tensor.
        a: usize,
        /// The other.
        b: usize,
    },
    /// A tensor's lifetime does not match how the ops use it.
    Lifetime {
        /// The tensor.
        tensor: usize,
        /// The op where the mismatch shows.
        op: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// An op lists a tensor id past the end of the tensor table.
    OperandIndex {
        /// The op.
        op: usize,
        /// Operand number (inputs first, the output last).
        operand: usize,
        /// The id listed.
        tensor: usize,
        /// Number of tensors.
        n_tensors: usize,
    },
    /// An op has the wrong number of inputs.
    Arity {
        /// The op.
        op: usize,
        /// Its kind.
        kind: &'static str,
        /// Fewest inputs it takes.
        min: usize,
        /// Most inputs it takes.
        max: usize,
        /// Inputs listed.
        got: usize,
    },
    /// An operand has the wrong element type.
    DType {
        /// The op.
        op: usize,
        /// Operand number (inputs first, the output last).
        operand: usize,
        /// Element type the op needs.
        expected: DType,
        /// Element type found.
        got: DType,
    },
    /// An input's shape does not fit the op or the other inputs.
    OperandShape {
        /// The op.
        op: usize,
        /// Operand number.
        operand: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// The output tensor's shape is not the one the op produces.
    OutputShape {
        /// The op.
        op: usize,
        /// Shape the op produces from its inputs.
        expected: Shape,
        /// Shape of the output tensor.
        got: Shape,
    },
    /// An attribute is out of range (stride 0, groups not dividing channels, ...).
    Attribute {
        /// The op.
        op: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// Quantization parameters are missing or inconsistent.
    Quantization {
        /// The op.
        op: usize,
        /// Operand number.
        operand: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// An op record names an op id that no registered op has (unknown to this build, or
    /// left out of the [`OpResolver`](crate::ops::OpResolver) in use).
    UnknownOp {
        /// The op.
        op: usize,
        /// Its op id.
        id: u16,
    },
    /// An op has the wrong number of outputs.
    Outputs {
        /// The op.
        op: usize,
        /// Its kind.
        kind: &'static str,
        /// Fewest outputs it writes.
        min: usize,
        /// Most outputs it writes.
        max: usize,
        /// Outputs listed.
        got: usize,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ModelError::*;
        match *self {
            Truncated {
                section,
                needed,
                len,
            } => write!(
                f,
                "truncated: {section:?} section needs {needed} bytes, file has {len}"
            ),
            BadMagic { found } => write!(f, "not a .born file (magic {found:02x?})"),
            UnsupportedVersion { found, supported } => {
                write!(
                    f,
                    "format version {found} unsupported (this build reads {supported}); \
                     re-export the model with this build (from its nn modules, checkpoint \
                     or ONNX file) to convert it"
                )
            }
            FileLength { declared, actual } => {
                write!(
                    f,
                    "file length {actual} differs from the declared {declared}"
                )
            }
            Checksum { stored, computed } => write!(
                f,
                "checksum mismatch: stored {stored:#010x}, contents give {computed:#010x}"
            ),
            SectionBounds { section } => {
                write!(f, "{section:?} section out of bounds or out of order")
            }
            Misaligned { what, offset } => write!(f, "{what} at {offset:#x} is not aligned"),
            Decode { section, index } => write!(f, "{section:?} record {index} is malformed"),
            Count {
                what,
                declared,
                found,
            } => write!(f, "{what}: {declared} declared, {found} found"),
            Tensor { tensor, what } => write!(f, "tensor {tensor}: {what}"),
            ConstOutOfRange {
                tensor,
                offset,
                len,
                weights_len,
            } => write!(
                f,
                "tensor {tensor}: constant bytes {offset}..+{len} outside the {weights_len}-byte \
                 weights section or not its size"
            ),
            ArenaOutOfRange {
                tensor,
                offset,
                len,
                arena_len,
            } => write!(
                f,
                "tensor {tensor}: arena bytes {offset}..+{len} outside the {arena_len}-byte arena"
            ),
            ArenaOverlap { a, b } => {
                write!(
                    f,
                    "tensors {a} and {b} are live together and share arena bytes"
                )
            }
            Lifetime { tensor, op, what } => write!(f, "tensor {tensor} at op {op}: {what}"),
            OperandIndex {
                op,
                operand,
                tensor,
                n_tensors,
            } => write!(
                f,
                "op {op} operand {operand}: tensor {tensor} out of range (< {n_tensors})"
            ),
            Arity {
                op,
                kind,
                min,
                max,
                got,
            } => write!(f, "op {op} ({kind}): {got} inputs, takes {min}..={max}"),
            DType {
                op,
                operand,
                expected,
                got,
            } => write!(
                f,
                "op {op} operand {operand}: dtype {got:?}, expected {expected:?}"
            ),
            OperandShape { op, operand, what } => write!(f, "op {op} operand {operand}: {what}"),
            OutputShape { op, expected, got } => {
                write!(f, "op {op}: output shape {got}, the op produces {expected}")
            }
            Attribute { op, what } => write!(f, "op {op}: {what}"),
            Quantization { op, operand, what } => {
                write!(f, "op {op} operand {operand}: quantization: {what}")
            }
            UnknownOp { op, id } => write!(
                f,
                "op {op}: op id {id} is not registered (unknown to this build or not in the \
                 OpResolver)"
            ),
            Outputs {
                op,
                kind,
                min,
                max,
                got,
            } => write!(f, "op {op} ({kind}): {got} outputs, writes {min}..={max}"),
        }
    }
}
