//! What an op's `prepare` sees of its operands, and what it declares.

use crate::dtype::DType;
use crate::error::Error;
use crate::model::{ModelError, Quant};
use crate::shape::Shape;

/// One input as `prepare` sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Operand<'a> {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Shape,
    /// Quantization parameters.
    pub quant: Quant,
    /// The bytes of a constant (little-endian elements); `None` for activations and state.
    pub data: Option<&'a [u8]>,
}

/// An output slot: what the file (or graph) already says of it, and what the op declares.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct OutSlot {
    /// Quantization of the output tensor, when known (the loader knows it; the graph
    /// builder does not until the quantizer sets it).
    pub quant: Option<Quant>,
    /// What the op declared.
    pub declared: Option<(DType, Shape)>,
}

/// The context of one op's [`Op::prepare`](super::Op::prepare).
pub struct Prepare<'a, 'b> {
    pub(crate) op: usize,
    pub(crate) name: &'static str,
    pub(crate) ins: &'b [Option<Operand<'a>>],
    pub(crate) outs: &'b mut [OutSlot],
    pub(crate) scratch: usize,
}

type R<T> = core::result::Result<T, ModelError>;

impl<'a> Prepare<'a, '_> {
    /// The op's index in the model (for errors).
    pub fn index(&self) -> usize {
        self.op
    }

    /// Number of inputs listed (absent ones included).
    pub fn n_inputs(&self) -> usize {
        self.ins.len()
    }

    /// Number of outputs listed.
    pub fn n_outputs(&self) -> usize {
        self.outs.len()
    }

    /// Input `k`; an error when it is absent or past the end.
    pub fn input(&self, k: usize) -> R<Operand<'a>> {
        self.opt_input(k).ok_or(ModelError::Arity {
            op: self.op,
            kind: self.name,
            min: k + 1,
            max: k + 1,
            got: self.ins.len(),
        })
    }

    /// Input `k`, `None` when absent or not listed.
    pub fn opt_input(&self, k: usize) -> Option<Operand<'a>> {
        self.ins.get(k).copied().flatten()
    }

    /// Shape of input `k` after checking its element type is `dtype`.
    pub fn typed(&self, k: usize, dtype: DType) -> R<Shape> {
        let x = self.input(k)?;
        if x.dtype != dtype {
            return Err(ModelError::DType {
                op: self.op,
                operand: k,
                expected: dtype,
                got: x.dtype,
            });
        }
        Ok(x.shape)
    }

    /// `[n, c, h, w]` of input `k` of element type `dtype`.
    pub fn nchw(&self, k: usize, dtype: DType) -> R<[usize; 4]> {
        match *self.typed(k, dtype)?.dims() {
            [n, c, h, w] => Ok([n, c, h, w]),
            _ => Err(self.shape_err(k, "must have rank 4 (NCHW)")),
        }
    }

    /// Checks that input `k` is a `[len]` vector of `dtype` (a bias, a scale, a table).
    pub fn vector(&self, k: usize, dtype: DType, len: usize) -> R<()> {
        if self.typed(k, dtype)?.dims() != [len] {
            return Err(self.shape_err(k, "must be a vector of one value per channel"));
        }
        Ok(())
    }

    /// The bytes of input `k`, which must be a constant.
    pub fn constant(&self, k: usize) -> R<&'a [u8]> {
        self.input(k)?.data.ok_or(ModelError::OperandShape {
            op: self.op,
            operand: k,
            what: "must be a constant",
        })
    }

    /// `(scale, zero_point)` of input `k`, which must be quantized per tensor.
    pub fn per_tensor(&self, k: usize) -> R<(f32, i32)> {
        self.input(k)?
            .quant
            .per_tensor()
            .ok_or(self.quant_err(k, "needs per-tensor scale and zero point"))
    }

    /// `(scale, zero_point)` of output `k` when the output's quantization is known: `None`
    /// while a graph is being built (the file's records are checked at load).
    pub fn output_per_tensor(&self, k: usize) -> R<Option<(f32, i32)>> {
        match self.outs.get(k).and_then(|o| o.quant) {
            None => Ok(None),
            Some(q) => q
                .per_tensor()
                .map(Some)
                .ok_or(self.quant_err(self.ins.len() + k, "needs per-tensor scale and zero point")),
        }
    }

    /// Declares output `k`'s element type and shape.
    pub fn set_output(&mut self, k: usize, dtype: DType, shape: Shape) -> R<()> {
        let (op, name, got) = (self.op, self.name, self.outs.len());
        let slot = self.outs.get_mut(k).ok_or(ModelError::Outputs {
            op,
            kind: name,
            min: k + 1,
            max: k + 1,
            got,
        })?;
        slot.declared = Some((dtype, shape));
        Ok(())
    }

    /// Reports the scratch bytes the node's `eval` needs.
    pub fn set_scratch(&mut self, bytes: usize) {
        self.scratch = bytes;
    }

    /// [`ModelError::OperandShape`] for operand `k`.
    pub fn shape_err(&self, k: usize, what: &'static str) -> ModelError {
        ModelError::OperandShape {
            op: self.op,
            operand: k,
            what,
        }
    }

    /// [`ModelError::Attribute`].
    pub fn attr_err(&self, what: &'static str) -> ModelError {
        ModelError::Attribute { op: self.op, what }
    }

    /// [`ModelError::Quantization`] for operand `k`.
    pub fn quant_err(&self, k: usize, what: &'static str) -> ModelError {
        ModelError::Quantization {
            op: self.op,
            operand: k,
            what,
        }
    }

    /// An attribute error carrying the static text of a kernel's geometry error.
    pub fn kernel_err(&self, e: Error) -> ModelError {
        self.attr_err(reason(e))
    }

    /// Shape `dims`, or an attribute error.
    pub fn shape(&self, dims: &[usize]) -> R<Shape> {
        Shape::new(dims).map_err(|e| self.kernel_err(e))
    }
}

/// The static text a kernel error carries.
fn reason(e: Error) -> &'static str {
    match e {
        Error::ZeroDim { what, .. }
        | Error::DimMismatch { what, .. }
        | Error::InvalidArgument { what, .. }
        | Error::IndexOutOfRange { what, .. }
        | Error::BufferTooSmall { what, .. } => what,
        Error::Overflow { .. } => "sizes overflow",
        _ => "geometry does not fit the input",
    }
}

/// Checks `eps` of a normalisation: finite and non-negative.
pub(crate) fn check_eps(cx: &Prepare<'_, '_>, eps: f32) -> R<()> {
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(cx.attr_err("eps must be finite and non-negative"));
    }
    Ok(())
}
