//! Runs a validated [`Model`] in a caller-supplied arena, TFLite Micro style: everything is
//! sized when the interpreter is made, and [`Interpreter::invoke`] allocates nothing.
//!
//! The arena holds the model's planned activations (at the offsets stored in the file) and
//! after them the largest scratch buffer any kernel needs on this CPU.
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

mod exec;
mod int8;
mod operands;
mod resolver;

pub use resolver::OpResolver;

use crate::arena::Arena;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::model::format::ALIGN;
use crate::model::{Model, Storage, TensorDef};

/// One model bound to one arena. Many interpreters (one per thread) may share a model.
pub struct Interpreter<'m, 'a> {
    model: &'m Model<'m>,
    act: &'a mut [u8],
    scratch: &'a mut [u8],
    ops: OpResolver,
}

impl<'m, 'a> Interpreter<'m, 'a> {
    /// Bytes of scratch (beyond the planned activations) the kernels of `model` need on this
    /// CPU: the largest over its ops.
    pub fn scratch_len(model: &Model<'_>) -> Result<usize> {
        let mut max = 0usize;
        for i in 0..model.n_ops() {
            max = max.max(exec::scratch_bytes(model, &model.op(i)?)?);
        }
        Ok(round_up(max))
    }

    /// Bytes a buffer passed to [`Interpreter::new`] must have for `model`: planned
    /// activations, kernel scratch, and room to align the start.
    pub fn arena_len(model: &Model<'_>) -> Result<usize> {
        model
            .arena_len()
            .checked_add(Self::scratch_len(model)?)
            .and_then(|n| n.checked_add(ALIGN - 1))
            .ok_or(Error::Overflow { op: "interpreter" })
    }

    /// Binds `model` to `arena` with every kernel ([`OpResolver::all`]);
    /// [`Error::ArenaTooSmall`] if it holds fewer than [`Interpreter::arena_len`] bytes. The
    /// arena's contents are zeroed.
    pub fn new(model: &'m Model<'m>, arena: &'a mut [u8]) -> Result<Self> {
        Self::with_ops(model, arena, &OpResolver::all())
    }

    /// Like [`Interpreter::new`] with only the kernels `ops` registers (firmware links just
    /// those); [`Error::InvalidArgument`] naming the op kind if the model has an op `ops`
    /// lacks.
    pub fn with_ops(model: &'m Model<'m>, arena: &'a mut [u8], ops: &OpResolver) -> Result<Self> {
        for i in 0..model.n_ops() {
            let kind = crate::model::ops::kind(&model.op(i)?.op);
            if ops.get(kind).is_none() {
                return Err(Error::InvalidArgument {
                    op: kind.name(),
                    what: "op kind not registered in the OpResolver",
                });
            }
        }
        let scratch_len = Self::scratch_len(model)?;
        let arena = Arena::new(arena);
        let act = arena.alloc_bytes(model.arena_len(), ALIGN)?;
        let scratch = arena.alloc_bytes(scratch_len, ALIGN)?;
        Ok(Interpreter {
            model,
            act,
            scratch,
            ops: *ops,
        })
    }

    /// The model this interpreter runs.
    pub fn model(&self) -> &'m Model<'m> {
        self.model
    }

    fn io(&self, ids: &[u32], k: usize, what: &'static str) -> Result<TensorDef<'m>> {
        let id = *ids.get(k).ok_or(Error::IndexOutOfRange {
            op: "interpreter",
            what,
            index: k,
            len: ids.len(),
        })?;
        self.model.tensor(id as usize)
    }

    /// Record of graph input `k` (name, dtype, shape, quantization).
    pub fn input_def(&self, k: usize) -> Result<TensorDef<'m>> {
        self.io(self.model.inputs(), k, "graph input")
    }

    /// Record of graph output `k`.
    pub fn output_def(&self, k: usize) -> Result<TensorDef<'m>> {
        self.io(self.model.outputs(), k, "graph output")
    }

    /// Graph input `k` as a mutable slice of `T` to fill before [`Interpreter::invoke`];
    /// errors if `k` is out of range or `T` is not the input's element type.
    pub fn input_mut<T: Element>(&mut self, k: usize) -> Result<&mut [T]> {
        let t = self.input_def(k)?;
        typed_mut(self.act, &t)
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
        let t = self.output_def(k)?;
        typed(self.act, &t)
    }

    /// Tensor `id` as it is in the arena now (constants from the model). Intermediate tensors
    /// hold their values only until the plan reuses their bytes; with a plan that reuses
    /// nothing (as calibration uses) every tensor keeps its value after `invoke`.
    pub fn tensor<T: Element>(&self, id: usize) -> Result<&[T]> {
        let t = self.model.tensor(id)?;
        match t.storage {
            Storage::Const { .. } => cast(self.model.const_bytes(&t), &t),
            Storage::Arena { .. } => typed(self.act, &t),
        }
    }

    /// Runs every op in order. Allocates nothing; the model was validated at load, so an
    /// error here comes from the input values (e.g. an embedding id out of range).
    pub fn invoke(&mut self) -> Result<()> {
        for i in 0..self.model.n_ops() {
            let def = self.model.op(i)?;
            let kind = crate::model::ops::kind(&def.op);
            let kernel = self.ops.get(kind).ok_or(Error::InvalidArgument {
                op: kind.name(),
                what: "op kind not registered in the OpResolver",
            })?;
            exec::run(self.model, &def, self.act, self.scratch, kernel)?;
        }
        Ok(())
    }
}

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

fn region(t: &TensorDef<'_>) -> Result<(usize, usize)> {
    match t.storage {
        Storage::Arena { offset, .. } => Ok((offset as usize, t.byte_len())),
        Storage::Const { .. } => Err(Error::InvalidArgument {
            op: "interpreter",
            what: "tensor is a constant",
        }),
    }
}

fn cast<'x, T: Element>(bytes: &'x [u8], t: &TensorDef<'_>) -> Result<&'x [T]> {
    operands::check_dtype::<T>(t)?;
    bytemuck::try_cast_slice(bytes).map_err(|_| operands::misaligned())
}

fn typed<'x, T: Element>(act: &'x [u8], t: &TensorDef<'_>) -> Result<&'x [T]> {
    let (off, len) = region(t)?;
    cast(act.get(off..off + len).ok_or(operands::misaligned())?, t)
}

fn typed_mut<'x, T: Element>(act: &'x mut [u8], t: &TensorDef<'_>) -> Result<&'x mut [T]> {
    operands::check_dtype::<T>(t)?;
    let (off, len) = region(t)?;
    let bytes = act.get_mut(off..off + len).ok_or(operands::misaligned())?;
    bytemuck::try_cast_slice_mut(bytes).map_err(|_| operands::misaligned())
}
