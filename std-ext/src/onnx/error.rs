//! What can go wrong reading or converting an ONNX model.

use std::fmt;
use std::path::PathBuf;

/// One node the converter has no translation for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// Operator type (`Conv`, `If`...).
    pub op_type: String,
    /// Operator domain (`""` is the default `ai.onnx` domain).
    pub domain: String,
    /// The opset version of that domain the model imports.
    pub opset: i64,
    /// Names of the nodes (or their index, `#k`, when unnamed).
    pub nodes: Vec<String>,
}

/// An ONNX import failure. Each variant names the node, tensor or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are not a valid ONNX protobuf message.
    #[error("not a valid ONNX protobuf ({what}): {detail}")]
    Decode {
        /// Which message.
        what: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// The model is structurally wrong (a dangling input, a cycle, a duplicate name...).
    #[error("malformed model: {0}")]
    Malformed(String),
    /// A tensor's data is wrong (length, element type, external data location).
    #[error("tensor `{tensor}`: {what}")]
    Tensor {
        /// The tensor's name.
        tensor: String,
        /// What is wrong.
        what: String,
    },
    /// Some nodes have no translation; every one is listed.
    #[error("{}", UnsupportedList(.0))]
    Unsupported(Vec<Unsupported>),
    /// A node's attributes or inputs are outside what its translation handles, or break the
    /// operator's rules.
    #[error("node `{node}` ({op_type}): {what}")]
    Node {
        /// The node's name (or `#k`).
        node: String,
        /// Its operator type.
        op_type: String,
        /// What is wrong.
        what: String,
    },
    /// A node needs an input known at convert time (a reshape's target shape, reduction
    /// axes...) that is computed at run time.
    #[error(
        "node `{node}` ({op_type}): input `{input}` must be known when converting (an \
         initializer, a Constant, or computed from those and shapes), it is computed at run time"
    )]
    NotConstant {
        /// The node's name (or `#k`).
        node: String,
        /// Its operator type.
        op_type: String,
        /// The input's value name.
        input: String,
    },
    /// A graph input's shape could not be fixed (bad `--input-shape`, unknown input name).
    #[error("input shape: {0}")]
    InputShape(String),
    /// born rejected the converted graph or a folded constant.
    #[error("{0}")]
    Born(#[from] crate::error::Error),
}

impl From<born_core::Error> for OnnxError {
    fn from(e: born_core::Error) -> OnnxError {
        OnnxError::Born(crate::error::Error::Core(e))
    }
}

struct UnsupportedList<'a>(&'a [Unsupported]);

impl fmt::Display for UnsupportedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} unsupported operator type(s):", self.0.len())?;
        for u in self.0 {
            let domain = if u.domain.is_empty() {
                "ai.onnx"
            } else {
                &u.domain
            };
            write!(
                f,
                "\n  {} (domain {domain}, opset {}): {}",
                u.op_type,
                u.opset,
                u.nodes.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Result alias of the ONNX importer.
pub type Result<T> = std::result::Result<T, OnnxError>;
