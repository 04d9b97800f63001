//! The records of a `.born` file: the fixed preamble and the postcard-encoded structures.
//!
//! `docs/FORMAT.md` documents the layout byte by byte. Changing any type here (its fields,
//! their order, or the order of enum variants) changes the format and needs a new
//! [`VERSION`].

use crate::dtype::DType;
use crate::shape::{Shape, MAX_RANK};
use serde::{Deserialize, Serialize};

/// The first four bytes of every `.born` file.
pub const MAGIC: [u8; 4] = *b"BORN";
/// The format version this crate reads and writes.
pub const VERSION: u16 = 2;
/// Length of the fixed preamble at the start of the file.
pub const PREAMBLE_LEN: usize = 64;
/// Length of the CRC-32 that ends the file.
pub const CRC_LEN: usize = 4;
/// Alignment (bytes) of the weights section, of every constant inside it, of every arena
/// offset, and of the model bytes in memory.
pub const ALIGN: usize = 16;
/// Most operands (inputs plus outputs) one op lists.
pub const MAX_OPERANDS: usize = 64;
/// Most graph inputs, and most graph outputs, a model has.
pub const MAX_IO: usize = 8;

/// The sections of a file, in the order they appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Section {
    /// The fixed 64-byte preamble.
    Preamble,
    /// Postcard [`Meta`].
    Meta,
    /// `n_tensors` little-endian `u32` offsets into [`Section::Tensors`].
    TensorIndex,
    /// Postcard [`TensorDef`] records, back to back.
    Tensors,
    /// `n_ops` little-endian `u32` offsets into [`Section::Ops`].
    OpIndex,
    /// Postcard [`OpDef`] records in execution order.
    Ops,
    /// Constant data, aligned to [`ALIGN`].
    Weights,
    /// The trailing CRC-32.
    Checksum,
}

/// The sections listed in the preamble, in file order.
pub const SECTIONS: [Section; 6] = [
    Section::Meta,
    Section::TensorIndex,
    Section::Tensors,
    Section::OpIndex,
    Section::Ops,
    Section::Weights,
];

/// Model-wide facts (the [`Section::Meta`] record).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta<'a> {
    /// Model name.
    #[serde(borrow)]
    pub name: &'a str,
    /// What wrote the file (e.g. `born-std 0.1.0 export`).
    #[serde(borrow)]
    pub producer: &'a str,
    /// Number of tensor records.
    pub n_tensors: u32,
    /// Number of op records.
    pub n_ops: u32,
    /// Number of graph inputs (tensors with role [`Role::Input`]).
    pub n_inputs: u8,
    /// Number of graph outputs (tensors with role [`Role::Output`]).
    pub n_outputs: u8,
    /// Bytes of arena the planned activations need.
    pub arena_len: u32,
    /// Bytes the activations would need with no reuse (reported, not used).
    pub naive_arena_len: u32,
    /// Bytes of the state region (tensors that persist across invokes).
    pub state_len: u32,
}

/// Dimensions as stored: rank and up to [`MAX_RANK`] extents (unused slots zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// Number of dimensions.
    pub rank: u8,
    /// Extents, outermost first.
    pub dims: [u32; MAX_RANK],
}

impl Dims {
    /// Stored form of `shape`; `None` when an extent does not fit `u32`.
    pub fn from_shape(shape: &Shape) -> Option<Dims> {
        let mut dims = [0u32; MAX_RANK];
        for (d, &s) in dims.iter_mut().zip(shape.dims()) {
            *d = u32::try_from(s).ok()?;
        }
        Some(Dims {
            rank: shape.rank() as u8,
            dims,
        })
    }

    /// The shape these dimensions describe; `None` when the rank is out of range or an
    /// unused slot is not zero.
    pub fn to_shape(&self) -> Option<Shape> {
        let rank = usize::from(self.rank);
        if rank > MAX_RANK || self.dims[rank..].iter().any(|&d| d != 0) {
            return None;
        }
        let mut dims = [0usize; MAX_RANK];
        for (d, &s) in dims.iter_mut().zip(&self.dims[..rank]) {
            *d = s as usize;
        }
        Shape::new(&dims[..rank]).ok()
    }
}

/// Where a tensor's bytes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Storage {
    /// Read-only bytes inside the weights section.
    Const {
        /// Byte offset from the start of the weights section (multiple of [`ALIGN`]).
        offset: u32,
        /// Byte length (elements times element size).
        len: u32,
    },
    /// A region of the interpreter's arena, live over a span of the execution.
    Arena {
        /// Byte offset in the arena (multiple of [`ALIGN`]); the length is elements times
        /// element size.
        offset: u32,
        /// Position where it is written: 0 for graph inputs, `i + 1` for the output of op `i`.
        first: u32,
        /// Last position where it is read: `j + 1` for a last read by op `j`, `n_ops + 1`
        /// for graph outputs.
        last: u32,
    },
    /// A region of the interpreter's state, which keeps its bytes from one invoke to the
    /// next (zero after `Interpreter::new` and `reset_state`); any op may read it, and ops
    /// listing it as an output overwrite it in execution order.
    State {
        /// Byte offset in the state region (multiple of [`ALIGN`]).
        offset: u32,
    },
}

/// What a tensor is to the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Neither input nor output.
    Internal,
    /// Graph input number `k` (0-based).
    Input(u8),
    /// Graph output number `k` (0-based).
    Output(u8),
}

/// How an integer tensor maps to real values (`real = scale * (q - zero_point)`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Quant {
    /// Not quantized (f32 tensors, raw integers such as indices).
    None,
    /// One scale and zero point for the whole tensor.
    PerTensor {
        /// Real value of one step.
        scale: f32,
        /// Integer that represents real zero.
        zero_point: i32,
    },
    /// One scale per index along `axis`, zero points all zero (symmetric weights).
    PerChannel {
        /// The channel axis.
        axis: u8,
        /// Byte offset in the weights section of `dims[axis]` little-endian f32 scales.
        scales: u32,
    },
}

/// One tensor record.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorDef<'a> {
    /// Name, possibly empty (unique names are not required; graph inputs and outputs are
    /// found by name).
    #[serde(borrow)]
    pub name: &'a str,
    /// Element type.
    pub dtype: DType,
    /// Dimensions.
    pub dims: Dims,
    /// Where the bytes are.
    pub storage: Storage,
    /// Input, output or internal.
    pub role: Role,
    /// Quantization parameters.
    pub quant: Quant,
}

impl TensorDef<'_> {
    /// Bytes of the tensor's data (elements times element size; 0 for invalid dims, which
    /// the loader rejects).
    pub fn byte_len(&self) -> usize {
        self.dims
            .to_shape()
            .map_or(0, |s| s.numel().saturating_mul(self.dtype.size()))
    }
}

impl Quant {
    /// `(scale, zero_point)` of per-tensor quantization, `None` otherwise.
    pub fn per_tensor(&self) -> Option<(f32, i32)> {
        match *self {
            Quant::PerTensor { scale, zero_point } => Some((scale, zero_point)),
            _ => None,
        }
    }
}

/// Sentinel operand id: an optional input that is absent.
pub const ABSENT: u32 = u32::MAX;

/// One op record: a stable numeric op id (see [`crate::ops`]), the op's attribute record
/// (postcard bytes of its `Attrs` type, validated by the op's `prepare`), and its operand
/// lists. Everything is borrowed from the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpDef<'a> {
    /// Which op ([`crate::ops::Op::ID`]).
    pub op: u16,
    /// Postcard-encoded attributes of the op.
    #[serde(borrow)]
    pub attrs: &'a [u8],
    /// Tensor ids read, as little-endian `u32`s ([`ABSENT`] for a missing optional input).
    #[serde(borrow)]
    pub inputs: &'a [u8],
    /// Tensor ids written, as little-endian `u32`s.
    #[serde(borrow)]
    pub outputs: &'a [u8],
}

/// `u32` number `k` of a little-endian list; `None` past the end.
pub fn id_at(list: &[u8], k: usize) -> Option<u32> {
    let b = list.get(4 * k..4 * k + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl OpDef<'_> {
    /// Number of inputs listed (absent ones included).
    pub fn n_inputs(&self) -> usize {
        self.inputs.len() / 4
    }

    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.outputs.len() / 4
    }

    /// Input `k`'s tensor id; `None` past the end or when absent.
    pub fn input(&self, k: usize) -> Option<u32> {
        id_at(self.inputs, k).filter(|&i| i != ABSENT)
    }

    /// Output `k`'s tensor id.
    pub fn output(&self, k: usize) -> Option<u32> {
        id_at(self.outputs, k)
    }

    /// The input ids in order ([`ABSENT`] kept).
    pub fn input_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.inputs
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The output ids in order.
    pub fn output_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.outputs
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Section offsets and lengths, as read from the preamble.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Layout {
    /// `[offset, len]` of each of [`SECTIONS`], in bytes from the start of the file.
    pub sections: [[u32; 2]; 6],
    /// Total file length including the CRC.
    pub file_len: u32,
}

impl Layout {
    /// `[offset, len]` of `s` (the preamble and checksum are not listed: zeros).
    pub fn get(&self, s: Section) -> [u32; 2] {
        SECTIONS
            .iter()
            .position(|&x| x == s)
            .map_or([0, 0], |i| self.sections[i])
    }
}

/// The IEEE CRC-32 (reflected polynomial `0xEDB88320`, initial and final XOR `0xFFFFFFFF`)
/// of `bytes`: the checksum of a model file. With feature `std` it is `crc32fast`'s
/// (16 KB of slicing tables), without it [`crc32_bytewise`] (a 1 KB table); same value.
pub fn crc32(bytes: &[u8]) -> u32 {
    #[cfg(feature = "std")]
    {
        crc32fast::hash(bytes)
    }
    #[cfg(not(feature = "std"))]
    {
        crc32_bytewise(bytes)
    }
}

/// The 256-entry table of [`crc32_bytewise`], built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut b = 0;
        while b < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            b += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// [`crc32`] one byte at a time with a 256-entry (1 KB) table: small code for
/// microcontrollers.
pub fn crc32_bytewise(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = CRC_TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8);
    }
    !c
}
