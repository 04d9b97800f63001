//! ONNX import: an ONNX model (from PyTorch's `torch.onnx.export`, onnxruntime's
//! quantizer...) converted once, on the host, into a born [`Graph`] and a `.born` file.
//!
//! [`convert`] reads the protobuf (initializers inline or in external data files beside the
//! model), orders the nodes, drops those no output depends on, checks that every remaining
//! operator has a translation (one error lists every unsupported operator type with its
//! nodes), binds dynamic input dimensions ([`Options::input_shapes`], else 1), translates
//! each node into born ops with static shapes, folds every node whose inputs are all known
//! (shape arithmetic as PyTorch exports it, `Constant` and `Identity` nodes) by running
//! born's own interpreter on it, fuses what born's kernels fuse (BatchNormalization into
//! the convolution before it, ReLU into a convolution or fully connected layer, constant-B
//! `Gemm`/`MatMul` into a fully connected layer), and plans the arena.
//!
//! The operator list and the conformance figures are in `docs/ONNX_SUPPORT.md`.
//!
//! [`Graph`]: born_core::model::graph::Graph

mod attrs;
mod control;
mod convert;
pub mod error;
mod model;
mod ops;
#[allow(missing_docs)]
pub mod proto;
pub mod tensor;

pub use convert::{convert_bytes, convert_file, Converted, Options};
pub use error::{OnnxError, Result, Unsupported};
pub use tensor::Const;

use std::path::Path;

/// Converts the ONNX file at `path` to `.born` bytes (planned, validated by reloading);
/// also returns the converter's notes.
pub fn convert(path: &Path, opts: &Options) -> Result<(Vec<u8>, Vec<String>)> {
    let c = convert_file(path, opts)?;
    let (bytes, _) = crate::export::encode_planned(&c.graph)?;
    Ok((bytes, c.notes))
}

/// Decodes a serialized ONNX `TensorProto` (the `.pb` files of the ONNX backend tests).
pub fn read_tensor(bytes: &[u8]) -> Result<Const> {
    use prost::Message;
    let t = proto::TensorProto::decode(bytes).map_err(|e| OnnxError::Decode {
        what: "TensorProto",
        detail: e.to_string(),
    })?;
    tensor::from_proto(&t, None)
}

/// Operator types (default domain) that have a translation.
pub fn supported_ops() -> Vec<&'static str> {
    ops::supported().collect()
}
