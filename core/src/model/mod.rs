//! The `.born` model format and its loader.
//!
//! A model is one byte buffer (a file on a host, `include_bytes!` in firmware): a fixed
//! preamble, postcard-encoded records (meta, tensors, ops, each table indexed for random
//! access), a weights section aligned so constants are used in place, and a CRC-32.
//! `docs/FORMAT.md` has the byte-level layout.
//!
//! [`Model::from_bytes`] checks everything before anything runs: checksum, every offset and
//! length, op arity, element types and shapes, quantization parameters, tensor lifetimes and
//! the arena plan (no two live tensors share bytes). It needs no heap and copies nothing: the
//! [`Model`] borrows the bytes. After a successful load, running the model cannot fail on
//! the model's account.

mod error;
pub mod format;
#[cfg(feature = "alloc")]
pub mod graph;
pub(crate) mod validate;

pub use error::ModelError;
pub use format::{Meta, OpDef, Quant, Role, Section, Storage, TensorDef};

use crate::error::Result;
use crate::shape::Shape;
use format::{Layout, ALIGN, MAX_IO};
use serde::Deserialize;

/// A validated model borrowing its bytes. `Send + Sync`: one model serves any number of
/// interpreters on any number of threads.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    bytes: &'a [u8],
    layout: Layout,
    meta: Meta<'a>,
    inputs: [u32; MAX_IO],
    outputs: [u32; MAX_IO],
}

impl<'a> Model<'a> {
    /// Validates `bytes` as a `.born` model (see the [module docs](self)) and borrows them.
    ///
    /// `bytes` must start at an address that is a multiple of 16 so that weights can be
    /// used in place: use [`include_model!`](crate::include_model) in firmware and an
    /// aligned buffer on a host. Every defect gives [`Error::Model`](crate::Error::Model)
    /// with a [`ModelError`] that names the section, tensor or op at fault.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>> {
        Ok(validate::validate(bytes, &crate::ops::ALL.table())?)
    }

    /// Like [`Model::from_bytes`] with only the ops `ops` registers: firmware that loads
    /// through its own resolver links only those ops' rules. An op the resolver lacks is
    /// [`ModelError::UnknownOp`].
    pub fn from_bytes_with(bytes: &'a [u8], ops: crate::ops::Table<'_>) -> Result<Model<'a>> {
        Ok(validate::validate(bytes, &ops)?)
    }

    /// Model-wide facts: name, producer, counts, planned arena length.
    pub fn meta(&self) -> &Meta<'a> {
        &self.meta
    }

    /// Number of tensors.
    pub fn n_tensors(&self) -> usize {
        self.meta.n_tensors as usize
    }

    /// Number of ops.
    pub fn n_ops(&self) -> usize {
        self.meta.n_ops as usize
    }

    /// Bytes of arena the planned activations need (the interpreter adds kernel scratch; see
    /// [`Interpreter::arena_len`](crate::interp::Interpreter::arena_len)).
    pub fn arena_len(&self) -> usize {
        self.meta.arena_len as usize
    }

    /// Tensor record `id`; [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) past
    /// the end.
    pub fn tensor(&self, id: usize) -> Result<TensorDef<'a>> {
        check_id("tensor id", id, self.n_tensors())?;
        Ok(self.record(format::Section::TensorIndex, format::Section::Tensors, id)?)
    }

    /// Op record `i` (ops run in index order); [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange)
    /// past the end.
    pub fn op(&self, i: usize) -> Result<OpDef<'a>> {
        check_id("op index", i, self.n_ops())?;
        Ok(self.op_record(i)?)
    }

    pub(crate) fn op_record(&self, i: usize) -> core::result::Result<OpDef<'a>, ModelError> {
        self.record(format::Section::OpIndex, format::Section::Ops, i)
    }

    /// Bytes of the state region (tensors that persist across invokes).
    pub fn state_len(&self) -> usize {
        self.meta.state_len as usize
    }

    /// Tensor ids of the graph inputs, in input order.
    pub fn inputs(&self) -> &[u32] {
        &self.inputs[..usize::from(self.meta.n_inputs).min(MAX_IO)]
    }

    /// Tensor ids of the graph outputs, in output order.
    pub fn outputs(&self) -> &[u32] {
        &self.outputs[..usize::from(self.meta.n_outputs).min(MAX_IO)]
    }

    /// Position of the graph input named `name`.
    pub fn input_index(&self, name: &str) -> Option<usize> {
        self.find(self.inputs(), name)
    }

    /// Position of the graph output named `name`.
    pub fn output_index(&self, name: &str) -> Option<usize> {
        self.find(self.outputs(), name)
    }

    fn find(&self, ids: &[u32], name: &str) -> Option<usize> {
        ids.iter()
            .position(|&id| self.tensor(id as usize).is_ok_and(|t| t.name == name))
    }

    /// The weights section (constants are slices of it).
    pub fn weights(&self) -> &'a [u8] {
        self.section(format::Section::Weights)
    }

    /// The bytes of constant tensor `t` (empty for arena tensors).
    pub fn const_bytes(&self, t: &TensorDef<'_>) -> &'a [u8] {
        match t.storage {
            Storage::Const { offset, len } => span(self.weights(), offset as usize, len as usize),
            Storage::Arena { .. } | Storage::State { .. } => &[],
        }
    }

    /// The per-channel scales of a [`Quant::PerChannel`] tensor (empty otherwise), as
    /// little-endian f32 bytes.
    pub fn channel_scales(&self, t: &TensorDef<'_>) -> &'a [u8] {
        match (t.quant, t.dims.to_shape()) {
            (Quant::PerChannel { axis, scales }, Some(s)) => {
                let n = s.dims().get(usize::from(axis)).copied().unwrap_or(0) * 4;
                span(self.weights(), scales as usize, n)
            }
            _ => &[],
        }
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Shape of tensor `t` (validated at load).
    pub fn shape(&self, t: &TensorDef<'_>) -> Shape {
        t.dims.to_shape().unwrap_or_default()
    }

    fn section(&self, s: format::Section) -> &'a [u8] {
        let [off, len] = self.layout.get(s);
        span(self.bytes, off as usize, len as usize)
    }

    fn record<T: Deserialize<'a>>(
        &self,
        index: format::Section,
        data: format::Section,
        i: usize,
    ) -> core::result::Result<T, ModelError> {
        read_record(self.section(index), self.section(data), data, i)
    }
}

/// `bytes[off..off + len]`, empty when out of range (the loader has checked every range it
/// hands out).
fn span(bytes: &[u8], off: usize, len: usize) -> &[u8] {
    bytes.get(off..off.saturating_add(len)).unwrap_or(&[])
}

fn check_id(what: &'static str, index: usize, len: usize) -> Result<()> {
    if index >= len {
        return Err(crate::Error::IndexOutOfRange {
            op: "model",
            what,
            index,
            len,
        });
    }
    Ok(())
}

/// Record `i` of a table: the index holds little-endian u32 start offsets; a record ends where
/// the next starts (the last at the end of `data`) and must decode to exactly that length.
pub(crate) fn read_record<'a, T: Deserialize<'a>>(
    index: &[u8],
    data: &'a [u8],
    section: format::Section,
    i: usize,
) -> core::result::Result<T, ModelError> {
    let bad = ModelError::Decode { section, index: i };
    let n = index.len() / 4;
    if i >= n {
        return Err(bad);
    }
    let at = |k: usize| -> Option<usize> {
        let b = index.get(4 * k..4 * k + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let start = at(i).ok_or(bad)?;
    let end = if i + 1 < n {
        at(i + 1).ok_or(bad)?
    } else {
        data.len()
    };
    let slot = data.get(start..end).ok_or(bad)?;
    match postcard::take_from_bytes::<T>(slot) {
        Ok((v, [])) => Ok(v),
        _ => Err(bad),
    }
}

/// Embeds a `.born` file in the binary at a 16-byte aligned address, as
/// [`Model::from_bytes`] requires: `let model = Model::from_bytes(include_model!("m.born"))?;`
#[macro_export]
macro_rules! include_model {
    ($path:expr) => {{
        #[repr(C, align(16))]
        struct Aligned<B: ?Sized>(B);
        static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!($path));
        &ALIGNED.0
    }};
}

const _: () = assert!(ALIGN == 16, "include_model! aligns to 16");
