//! The prepared tables an interpreter keeps in its arena: one [`Node`] per op, one
//! [`Slot`] per tensor, and the flat list of operand ids the nodes index.

use crate::arena::Arena;
use crate::error::{Error, Result};
use crate::model::format::ALIGN;
use crate::model::validate::check_op;
use crate::model::{Model, Storage};
use crate::ops::io::{misaligned, Slot, BUF_ARENA, BUF_CONST, BUF_STATE};
use crate::ops::{Table, PARAM_WORDS};

/// One prepared op: which registered op runs it, where its operand ids start in the
/// operand list, how many inputs and outputs it has, and its params.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Node {
    pub reg: u32,
    pub first: u32,
    pub n_in: u16,
    pub n_out: u16,
    pub params: [u32; PARAM_WORDS],
}

/// What an interpreter's arena holds for a model, in bytes (and operand ids).
pub(super) struct Sizes {
    nodes: usize,
    slots: usize,
    /// Operand ids over all nodes.
    pub operands: usize,
    state: usize,
    act: usize,
    /// The largest scratch any node needs, rounded to [`ALIGN`].
    pub scratch: usize,
}

fn round(n: usize) -> Option<usize> {
    n.checked_add(ALIGN - 1).map(|v| v / ALIGN * ALIGN)
}

fn overflow() -> Error {
    Error::Overflow { op: "interpreter" }
}

impl Sizes {
    /// Runs every op's `prepare` through `ops` to size the tables and scratch.
    pub fn of(model: &Model<'_>, ops: &Table<'_>) -> Result<Sizes> {
        let (mut operands, mut scratch) = (0usize, 0usize);
        for i in 0..model.n_ops() {
            let (_, _, s) = check_op(model, i, ops)?;
            let d = model.op(i)?;
            operands += d.n_inputs() + d.n_outputs();
            scratch = scratch.max(s);
        }
        Ok(Sizes {
            nodes: model.n_ops() * core::mem::size_of::<Node>(),
            slots: model.n_tensors() * core::mem::size_of::<Slot>(),
            operands,
            state: model.state_len(),
            act: model.arena_len(),
            scratch: round(scratch).ok_or(overflow())?,
        })
    }

    /// Bytes of arena for all of it, each part aligned, plus room to align the start.
    pub fn total(&self) -> Result<usize> {
        [
            self.nodes,
            self.slots,
            self.operands * 4,
            self.state,
            self.act,
            self.scratch,
        ]
        .iter()
        .try_fold(ALIGN - 1, |acc, &n| acc.checked_add(round(n)?))
        .ok_or(overflow())
    }
}

/// `n` zeroed values of `T` from `arena`.
pub(super) fn alloc<'a, T: bytemuck::Pod>(arena: &Arena<'a>, n: usize) -> Result<&'a mut [T]> {
    let bytes = n.checked_mul(core::mem::size_of::<T>()).ok_or(overflow())?;
    let b = arena.alloc_bytes(bytes, ALIGN)?;
    b.fill(0);
    bytemuck::try_cast_slice_mut(b).map_err(|_| misaligned())
}

/// Prepares every node and describes every tensor.
pub(super) fn fill(
    model: &Model<'_>,
    ops: &Table<'_>,
    nodes: &mut [Node],
    slots: &mut [Slot],
    operands: &mut [u32],
) -> Result<()> {
    for (id, slot) in slots.iter_mut().enumerate() {
        let t = model.tensor(id)?;
        let shape = model.shape(&t);
        let (buf, off) = match t.storage {
            Storage::Const { offset, .. } => (BUF_CONST, offset),
            Storage::Arena { offset, .. } => (BUF_ARENA, offset),
            Storage::State { offset } => (BUF_STATE, offset),
        };
        let mut dims = [0u32; crate::shape::MAX_RANK];
        for (d, &s) in dims.iter_mut().zip(shape.dims()) {
            *d = s as u32;
        }
        *slot = Slot {
            buf,
            dtype: crate::dtype::DType::ALL
                .iter()
                .position(|&d| d == t.dtype)
                .unwrap_or(0) as u8,
            rank: shape.rank() as u8,
            pad: 0,
            off,
            len: t.byte_len() as u32,
            dims,
        };
    }
    let mut at = 0usize;
    for (i, node) in nodes.iter_mut().enumerate() {
        let (reg, params, _) = check_op(model, i, ops)?;
        let d = model.op(i)?;
        let ids = d.input_ids().chain(d.output_ids());
        let n = d.n_inputs() + d.n_outputs();
        let dst = operands.get_mut(at..at + n).ok_or(misaligned())?;
        for (o, id) in dst.iter_mut().zip(ids) {
            *o = id;
        }
        *node = Node {
            reg: reg as u32,
            first: at as u32,
            n_in: d.n_inputs() as u16,
            n_out: d.n_outputs() as u16,
            params,
        };
        at += n;
    }
    Ok(())
}
