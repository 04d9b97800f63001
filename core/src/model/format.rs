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
pub const VERSION: u16 = 1;
/// Length of the fixed preamble at the start of the file.
pub const PREAMBLE_LEN: usize = 64;
/// Length of the CRC-32 that ends the file.
pub const CRC_LEN: usize = 4;
/// Alignment (bytes) of the weights section, of every constant inside it, of every arena
/// offset, and of the model bytes in memory.
pub const ALIGN: usize = 16;
/// Most inputs an op takes.
pub const MAX_OP_INPUTS: usize = 6;
/// Most graph inputs, and most graph outputs, a model has.
pub const MAX_IO: usize = 8;

/// The sections of a file, in the order they appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Name (unique names are not required; graph inputs and outputs are found by name).
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

/// Activation applied in place to the output of a fully connected or conv op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FusedAct {
    /// None.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

/// Element-wise function of an [`Op::Activation`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ActKind {
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` if positive, else `alpha * x`.
    LeakyRelu(f32),
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Exact (erf) GELU.
    Gelu,
    /// Tanh-approximated GELU.
    GeluTanh,
    /// `x * sigmoid(x)`.
    Silu,
}

/// Element-wise binary function of an [`Op::Binary`] (NumPy broadcasting).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinKind {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
    /// `max(a, b)`.
    Max,
    /// `min(a, b)`.
    Min,
}

/// Convolution attributes (NCHW input, OIHW weight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvAttrs {
    /// `[height, width]` steps.
    pub stride: [u32; 2],
    /// `[top, left, bottom, right]` zero padding.
    pub padding: [u32; 4],
    /// `[height, width]` tap spacing.
    pub dilation: [u32; 2],
    /// Channel groups.
    pub groups: u32,
}

/// Pooling attributes (NCHW).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolAttrs {
    /// `[height, width]` window.
    pub kernel: [u32; 2],
    /// `[height, width]` steps.
    pub stride: [u32; 2],
    /// `[top, left, bottom, right]` padding.
    pub padding: [u32; 4],
    /// `[height, width]` tap spacing.
    pub dilation: [u32; 2],
    /// Round the output size up (PyTorch `ceil_mode`).
    pub ceil_mode: bool,
    /// Average pooling divides by the full window, padding included.
    pub count_include_pad: bool,
}

/// Requantization of int8 add, as in TFLite's int8 `ADD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QAddAttrs {
    /// Left shift applied to both inputs before scaling (20 in TFLite).
    pub left_shift: i32,
    /// Fixed-point multiplier of input 1.
    pub input1_multiplier: i32,
    /// Shift of input 1.
    pub input1_shift: i32,
    /// Fixed-point multiplier of input 2.
    pub input2_multiplier: i32,
    /// Shift of input 2.
    pub input2_shift: i32,
    /// Fixed-point multiplier of the sum.
    pub output_multiplier: i32,
    /// Shift of the sum.
    pub output_shift: i32,
    /// Lower clamp of the output.
    pub act_min: i8,
    /// Upper clamp of the output.
    pub act_max: i8,
}

/// One operation with its attributes. Inputs, in order, are listed at each variant; the
/// single output follows from the inputs (see `docs/FORMAT.md`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// `y = x W^T (+ b)` then `act`; inputs `x [.., K]`, `W [N, K]`, optional `b [N]`.
    FullyConnected {
        /// Fused activation.
        act: FusedAct,
    },
    /// 2-D convolution then `act`; inputs `x [N,C,H,W]`, `W [O,C/g,KH,KW]`, optional `b [O]`.
    Conv2d {
        /// Geometry.
        conv: ConvAttrs,
        /// Fused activation.
        act: FusedAct,
    },
    /// Max pooling; input `x [N,C,H,W]`.
    MaxPool2d(PoolAttrs),
    /// Average pooling; input `x [N,C,H,W]`.
    AvgPool2d(PoolAttrs),
    /// Mean over H and W; input `x [N,C,H,W]`, output `[N,C]`.
    GlobalAvgPool2d,
    /// Element-wise activation; input `x`.
    Activation(ActKind),
    /// Softmax over the last axis; input `x`.
    Softmax,
    /// Log-softmax over the last axis; input `x`.
    LogSoftmax,
    /// Layer normalisation over the last axis; inputs `x`, `gamma [D]`, `beta [D]`.
    LayerNorm {
        /// Added to the variance.
        eps: f32,
    },
    /// RMS normalisation over the last axis; inputs `x`, `gamma [D]`.
    RmsNorm {
        /// Added to the mean square.
        eps: f32,
    },
    /// Inference batch normalisation along axis 1; inputs `x [N, C, ..]`, `mean [C]`,
    /// `var [C]`, `gamma [C]`, `beta [C]`.
    BatchNorm {
        /// Added to the variance.
        eps: f32,
    },
    /// Broadcasting binary op; inputs `a`, `b`.
    Binary(BinKind),
    /// Same elements, the output tensor's shape; input `x`.
    Reshape,
    /// Rows of a table; inputs `table [V, D]` (f32), `ids` (i32), output `ids.shape + [D]`.
    Embedding,
    /// f32 to int8 with the output's per-tensor parameters; input `x`.
    Quantize,
    /// int8 to f32 with the input's per-tensor parameters; input `q`.
    Dequantize,
    /// int8 fully connected; inputs `x`, `W`, bias (i32 or absent), multipliers `[N]` (i32),
    /// shifts `[N]` (i32).
    QFullyConnected {
        /// Lower clamp of the output (fused activation).
        act_min: i8,
        /// Upper clamp of the output.
        act_max: i8,
    },
    /// int8 convolution; inputs as [`Op::Conv2d`] plus multipliers and shifts `[O]`.
    QConv2d {
        /// Geometry.
        conv: ConvAttrs,
        /// Lower clamp of the output.
        act_min: i8,
        /// Upper clamp of the output.
        act_max: i8,
    },
    /// int8 max pooling (same quantization in and out).
    QMaxPool2d(PoolAttrs),
    /// int8 average pooling (same quantization in and out).
    QAvgPool2d(PoolAttrs),
    /// int8 addition of two tensors of one shape (or a one-element `b`).
    QAdd(QAddAttrs),
    /// int8 softmax over the last axis (output scale 1/256, zero point -128).
    QSoftmax {
        /// Fixed-point multiplier of `beta * input_scale`.
        beta_multiplier: i32,
        /// Its left shift.
        beta_left_shift: i32,
        /// Smallest input difference that still contributes.
        diff_min: i32,
    },
}

/// An op and the tensors it reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpDef {
    /// What to compute.
    pub op: Op,
    /// How many entries of `inputs` are used.
    pub n_inputs: u8,
    /// Tensor ids read, in the order the op lists them; unused slots are zero.
    pub inputs: [u32; MAX_OP_INPUTS],
    /// Tensor id written.
    pub output: u32,
}

impl OpDef {
    /// The tensor ids read (the used part of `inputs`).
    pub fn inputs(&self) -> &[u32] {
        let n = usize::from(self.n_inputs).min(MAX_OP_INPUTS);
        &self.inputs[..n]
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
