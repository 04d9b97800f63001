//! Runs a validated [`Model`] in a caller-supplied arena, TFLite Micro style: everything is
//! sized and prepared when the interpreter is made, and [`Interpreter::invoke`] allocates
//! nothing and decodes nothing.
//!
//! [`Interpreter::new`] runs every op's `prepare` once and writes, at the start of the
//! arena, a node table (each node's op, its operand list and its prepared params) and a
//! tensor table (where each tensor's bytes are, its element type and shape). After them come
//! the state region (tensors that persist across invokes), the planned activations (at the
//! offsets stored in the file) and the largest scratch buffer any node needs on this CPU.
//! [`Interpreter::arena_len`] says how many bytes that is before anything is allocated.
//!
//! ```no_run
//! # fn run(bytes: &[u8]) -> born_core::Result<()> {
//! use born_core::{Interpreter, Model};
//! let model = Model::from_bytes(bytes)?;
//! let mut arena = [0u8; 64 * 1024];
//! let mut interp = Interpreter::new(&model, &mut arena)?;
//! interp.input_mut::<f32>(0)?.fill(0.5);
//! interp.invoke()?;
//! let logits: &[f32] = interp.output(0)?;
//! # let _ = logits; Ok(()) }
//! ```

mod tables;

use crate::arena::Arena;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::model::format::ALIGN;
use crate::model::{Model, TensorDef};
use crate::ops::io::{bind, misaligned, Buffers, Io, Slot, BUF_CONST, BUF_STATE};
use crate::ops::{OpResolver, Table};
use tables::{Node, Sizes};

/// One model bound to one arena. Many interpreters (one per thread) may share a model.
pub struct Interpreter<'m, 'a> {
    model: &'m Model<'m>,
    ops: Table<'a>,
    nodes: &'a [Node],
    slots: &'a [Slot],
    operands: &'a [u32],
    state: &'a mut [u8],
    act: &'a mut [u8],
    scratch: &'a mut [u8],
}

impl<'m, 'a> Interpreter<'m, 'a> {
    /// Bytes of scratch (beyond the planned activations) the kernels of `model` need on this
    /// CPU: the largest over its ops.
    pub fn scratch_len(model: &Model<'_>) -> Result<usize> {
        Ok(Sizes::of(model, &crate::ops::ALL.table())?.scratch)
    }

    /// Bytes a buffer passed to [`Interpreter::new`] must have for `model`: node and tensor
    /// tables, state, planned activations, kernel scratch, and room to align the start.
    pub fn arena_len(model: &Model<'_>) -> Result<usize> {
        Sizes::of(model, &crate::ops::ALL.table())?.total()
    }

    /// [`Interpreter::arena_len`] for an interpreter made with [`Interpreter::with_ops`].
    pub fn arena_len_with(model: &Model<'_>, ops: Table<'_>) -> Result<usize> {
        Sizes::of(model, &ops)?.total()
    }

    /// Binds `model` to `arena` with every op ([`OpResolver::all`]);
    /// [`Error::ArenaTooSmall`] if it holds fewer than [`Interpreter::arena_len`] bytes. The
    /// state is zeroed.
    pub fn new(model: &'m Model<'m>, arena: &'a mut [u8]) -> Result<Self> {
        Self::with_ops(model, arena, &crate::ops::ALL)
    }

    /// Like [`Interpreter::new`] with only the ops `ops` registers (firmware links just
    /// those); [`ModelError::UnknownOp`](crate::ModelError::UnknownOp) naming the op if the
    /// model has one `ops` lacks.
    pub fn with_ops<const N: usize>(
        model: &'m Model<'m>,
        arena: &'a mut [u8],
        ops: &'a OpResolver<N>,
    ) -> Result<Self> {
        Self::with_table(model, arena, ops.table())
    }

    /// [`Interpreter::with_ops`] through a resolver's [`Table`] (what code that holds
    /// resolvers of different capacities passes around).
    pub fn with_table(model: &'m Model<'m>, arena: &'a mut [u8], table: Table<'a>) -> Result<Self> {
        let sizes = Sizes::of(model, &table)?;
        let arena = Arena::new(arena);
        let nodes = tables::alloc::<Node>(&arena, model.n_ops())?;
        let slots = tables::alloc::<Slot>(&arena, model.n_tensors())?;
        let operands = tables::alloc::<u32>(&arena, sizes.operands)?;
        let state = arena.alloc_bytes(model.state_len(), ALIGN)?;
        let act = arena.alloc_bytes(model.arena_len(), ALIGN)?;
        let scratch = arena.alloc_bytes(sizes.scratch, ALIGN)?;
        tables::fill(model, &table, nodes, slots, operands)?;
        state.fill(0);
        Ok(Interpreter {
            model,
            ops: table,
            nodes,
            slots,
            operands,
            state,
            act,
            scratch,
        })
    }

    /// The model this interpreter runs.
    pub fn model(&self) -> &'m Model<'m> {
        self.model
    }

    fn io(&self, ids: &[u32], k: usize, what: &'static str) -> Result<TensorDef<'m>> {
        self.model.tensor(Self::id(ids, k, what)? as usize)
    }

    fn id(ids: &[u32], k: usize, what: &'static str) -> Result<u32> {
        ids.get(k).copied().ok_or(Error::IndexOutOfRange {
            op: "interpreter",
            what,
            index: k,
            len: ids.len(),
        })
    }

    /// Record of graph input `k` (name, dtype, shape, quantization).
    pub fn input_def(&self, k: usize) -> Result<TensorDef<'m>> {
        self.io(self.model.inputs(), k, "graph input")
    }

    /// Record of graph output `k`.
    pub fn output_def(&self, k: usize) -> Result<TensorDef<'m>> {
        self.io(self.model.outputs(), k, "graph output")
    }

    fn slot<T: Element>(&self, id: u32) -> Result<Slot> {
        let s = *self.slots.get(id as usize).ok_or(misaligned())?;
        if !s.dtype().viewable_as::<T>() {
            return Err(Error::InvalidArgument {
                op: "interpreter",
                what: "element type differs from the tensor's",
            });
        }
        Ok(s)
    }

    /// Graph input `k` as a mutable slice of `T` to fill before [`Interpreter::invoke`];
    /// errors if `k` is out of range or `T` is not the input's element type.
    pub fn input_mut<T: Element>(&mut self, k: usize) -> Result<&mut [T]> {
        let s = self.slot::<T>(Self::id(self.model.inputs(), k, "graph input")?)?;
        typed_mut(self.act, &s)
    }

    /// Graph input `k`'s bytes (little-endian elements of any type).
    pub fn input_raw_mut(&mut self, k: usize) -> Result<&mut [u8]> {
        let id = Self::id(self.model.inputs(), k, "graph input")?;
        let s = *self.slots.get(id as usize).ok_or(misaligned())?;
        typed_mut(self.act, &s)
    }

    /// Graph output `k`'s bytes after [`Interpreter::invoke`].
    pub fn output_raw(&self, k: usize) -> Result<&[u8]> {
        let id = Self::id(self.model.outputs(), k, "graph output")?;
        let s = *self.slots.get(id as usize).ok_or(misaligned())?;
        bytes_of(self.act, &s)
    }

    /// Graph input named `name` (see [`Interpreter::input_mut`]).
    pub fn input_by_name<T: Element>(&mut self, name: &str) -> Result<&mut [T]> {
        let k = self.model.input_index(name).ok_or(Error::InvalidArgument {
            op: "interpreter",
            what: "no graph input has that name",
        })?;
        self.input_mut(k)
    }

    /// Graph output `k` after [`Interpreter::invoke`].
    pub fn output<T: Element>(&self, k: usize) -> Result<&[T]> {
        let s = self.slot::<T>(Self::id(self.model.outputs(), k, "graph output")?)?;
        typed(self.act, &s)
    }

    /// Tensor `id` as it is now: constants from the model, state from the state region,
    /// activations from the arena. Intermediate tensors hold their values only until the
    /// plan reuses their bytes; with a plan that reuses nothing (as calibration uses) every
    /// tensor keeps its value after `invoke`.
    pub fn tensor<T: Element>(&self, id: usize) -> Result<&[T]> {
        let s = self.slot::<T>(u32::try_from(id).map_err(|_| misaligned())?)?;
        match s.buf {
            BUF_CONST => typed(self.model.weights(), &s),
            BUF_STATE => typed(self.state, &s),
            _ => typed(self.act, &s),
        }
    }

    /// Tensor ids of the state tensors, in id order.
    pub fn state_ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.buf == BUF_STATE)
            .map(|(i, _)| i)
    }

    fn state_slot<T: Element>(&self, k: usize) -> Result<Slot> {
        let n = self.state_ids().count();
        let id = self.state_ids().nth(k).ok_or(Error::IndexOutOfRange {
            op: "interpreter",
            what: "state tensor",
            index: k,
            len: n,
        })?;
        self.slot::<T>(id as u32)
    }

    /// State tensor `k` (in id order) as it is now.
    pub fn state<T: Element>(&self, k: usize) -> Result<&[T]> {
        let s = self.state_slot::<T>(k)?;
        typed(self.state, &s)
    }

    /// State tensor `k` (in id order), to read or set between invokes.
    pub fn state_mut<T: Element>(&mut self, k: usize) -> Result<&mut [T]> {
        let s = self.state_slot::<T>(k)?;
        typed_mut(self.state, &s)
    }

    /// Zeroes every state tensor (as after [`Interpreter::new`]).
    pub fn reset_state(&mut self) {
        self.state.fill(0);
    }

    /// Runs every node in order. Allocates nothing and decodes nothing; the model was
    /// validated at load, so an error here comes from the input values (e.g. an embedding
    /// id out of range).
    pub fn invoke(&mut self) -> Result<()> {
        for node in self.nodes {
            let reg = self.ops.get(node.reg as usize).ok_or(misaligned())?;
            let (n_in, n_out) = (usize::from(node.n_in), usize::from(node.n_out));
            let ids = self
                .operands
                .get(node.first as usize..node.first as usize + n_in + n_out)
                .ok_or(misaligned())?;
            let bufs = Buffers {
                arena: &mut *self.act,
                state: &mut *self.state,
                weights: self.model.weights(),
            };
            let mut io = Io::empty();
            bind(&mut io, bufs, self.slots, &ids[..n_in], &ids[n_in..])?;
            (reg.eval)(&node.params, &mut io, &mut *self.scratch)?;
        }
        Ok(())
    }
}

fn bytes_of<'x>(buf: &'x [u8], s: &Slot) -> Result<&'x [u8]> {
    buf.get(s.off as usize..s.off as usize + s.len as usize)
        .ok_or(misaligned())
}

fn typed<'x, T: Element>(buf: &'x [u8], s: &Slot) -> Result<&'x [T]> {
    bytemuck::try_cast_slice(bytes_of(buf, s)?).map_err(|_| misaligned())
}

fn typed_mut<'x, T: Element>(buf: &'x mut [u8], s: &Slot) -> Result<&'x mut [T]> {
    if s.buf == BUF_CONST {
        return Err(Error::InvalidArgument {
            op: "interpreter",
            what: "tensor is a constant",
        });
    }
    let b = buf
        .get_mut(s.off as usize..s.off as usize + s.len as usize)
        .ok_or(misaligned())?;
    bytemuck::try_cast_slice_mut(b).map_err(|_| misaligned())
}
