//! What each op means: one module per op (or per small family), each holding the op's
//! attribute record, its dtype/shape rules, its `prepare` and its `eval`.
//!
//! An op is a type implementing [`Op`]. Its [`Op::prepare`] is the one definition of its
//! rules: the loader runs it to validate a file, the graph builder runs it to infer output
//! shapes, and [`Interpreter::new`](crate::interp::Interpreter::new) runs it once per node to
//! compute the node's [`Op::Params`] and scratch size. [`Op::eval`] then runs the node from
//! those params alone: nothing is decoded during `invoke`.
//!
//! An [`OpResolver`] is a `const` table of registered ops, as TFLite Micro's
//! `MicroMutableOpResolver`: firmware registers the ops its model uses, so the linker keeps
//! only their rules and kernels. `docs/ARCHITECTURE.md` walks through adding an op.

pub(crate) mod io;
pub(crate) mod prepare;
pub(crate) mod registry;

pub mod activation;
pub mod binary;
pub mod conv2d;
pub mod conv_transpose;
pub mod embedding;
pub mod fully_connected;
pub mod grid_sample;
pub mod norm;
pub mod pool;
pub mod q_add;
pub mod q_conv2d;
pub mod q_fully_connected;
pub mod q_pool;
pub mod q_softmax;
pub mod quantize;
pub mod reshape;
pub mod resize;
pub mod softmax;
pub mod split;
// Data-movement ops (modules):
pub mod cast;
pub mod concat;
pub mod expand;
pub mod gather;
pub mod gather_elements;
pub mod gather_nd;
pub(crate) mod movement;
pub(crate) mod numeric;
pub mod pad;
pub mod scatter_elements;
pub mod scatter_nd;
pub mod slice;
pub mod tile;
pub mod top_k;
pub mod transpose;
pub mod where_select;
// Math ops (modules):
pub mod arg_max;
pub mod arg_min;
pub mod compare;
pub mod gemm;
pub mod logical;
pub mod matmul;
pub mod modulo;
pub mod not;
pub mod reduce;
pub mod unary;

pub use io::{Io, MAX_INPUTS, MAX_OUTPUTS};
pub use prepare::{Operand, Prepare};
pub use registry::{OpReg, OpResolver, Table, PARAM_WORDS};

use crate::error::Result;
use crate::model::ModelError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One op: what it is called in files (a stable [`Op::ID`]), its attribute record, its
/// rules and its evaluation.
pub trait Op: 'static {
    /// The op's stable numeric id in `.born` files (never reused for another op).
    const ID: u16;
    /// Its name (in errors and `born inspect`).
    const NAME: &'static str;
    /// Fewest and most inputs (absent optional inputs count).
    const INPUTS: (usize, usize);
    /// Fewest and most outputs.
    const OUTPUTS: (usize, usize) = (1, 1);
    /// True when output 0 may share input 0's bytes (the planner may then give both one
    /// arena slot and [`Io::input_bytes`] returns `None` for input 0).
    const IN_PLACE: bool = false;
    /// The attribute record stored in the file (postcard).
    type Attrs: Serialize + DeserializeOwned + Copy + PartialEq + core::fmt::Debug;
    /// What [`Op::prepare`] computes once per node for [`Op::eval`]: at most
    /// [`PARAM_WORDS`] 4-byte words.
    type Params: bytemuck::Pod;

    /// Checks the attributes and the inputs (element types, shapes, quantization, constant
    /// tables), declares every output's element type and shape with
    /// [`Prepare::set_output`], reports scratch bytes with [`Prepare::set_scratch`], and
    /// returns the node's params. Errors name the op and operand at fault.
    fn prepare(
        a: &Self::Attrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<Self::Params, ModelError>;

    /// Runs the node. Only errors that depend on input values (an index out of range) may
    /// come from here; everything else was checked by `prepare`.
    fn eval(p: &Self::Params, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()>;
}

macro_rules! all_ops {
    ($($op:ty),* $(,)?) => {
        /// Number of ops born-core defines.
        pub const ALL_LEN: usize = [$(<$op as Op>::ID),*].len();

        impl OpResolver<ALL_LEN> {
            /// Every op born-core defines.
            pub const fn all() -> Self {
                OpResolver::new()$(.with::<$op>())*
            }
        }
    };
}

// The registration list: one line per op.
all_ops! {
    fully_connected::FullyConnected,
    conv2d::Conv2d,
    conv_transpose::ConvTranspose2d,
    pool::MaxPool2d,
    pool::AvgPool2d,
    pool::GlobalAvgPool2d,
    activation::Activation,
    softmax::Softmax,
    softmax::LogSoftmax,
    norm::LayerNorm,
    norm::RmsNorm,
    norm::BatchNorm,
    binary::Binary,
    reshape::Reshape,
    embedding::Embedding,
    quantize::Quantize,
    quantize::Dequantize,
    q_fully_connected::QFullyConnected,
    q_conv2d::QConv2d,
    q_pool::QMaxPool2d,
    q_pool::QAvgPool2d,
    q_add::QAdd,
    q_softmax::QSoftmax,
    split::Split,
    // Data-movement ops (registrations):
    transpose::Transpose,
    concat::Concat,
    slice::Slice,
    gather::Gather,
    gather_elements::GatherElements,
    gather_nd::GatherNd,
    scatter_elements::ScatterElements,
    scatter_nd::ScatterNd,
    top_k::TopK,
    where_select::Where,
    expand::Expand,
    tile::Tile,
    pad::Pad,
    cast::Cast,
    // Math ops (registrations):
    matmul::MatMul,
    gemm::Gemm,
    unary::Unary,
    compare::Compare,
    logical::Logical,
    not::Not,
    reduce::Reduce,
    arg_max::ArgMax,
    arg_min::ArgMin,
    modulo::IntBinary,
    resize::Resize,
    grid_sample::GridSample,
}

/// The resolver with every op, as a `static` (what [`Model::from_bytes`] and
/// [`Interpreter::new`](crate::interp::Interpreter::new) use).
///
/// [`Model::from_bytes`]: crate::model::Model::from_bytes
pub static ALL: OpResolver<ALL_LEN> = OpResolver::all();
