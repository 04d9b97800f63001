//! Borrowing an op's operands out of the arena without unsafe code: the output's bytes are
//! split off mutably and every input comes from the bytes before or after it (the loader
//! has proven that live tensors do not overlap), or from the model's constants.

use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::model::format::MAX_OP_INPUTS;
use crate::model::{Model, ModelError, OpDef, Storage, TensorDef};
use crate::shape::Shape;

/// One input of an op.
#[derive(Clone, Copy)]
pub(crate) struct In<'x, 'm> {
    /// Its record.
    pub def: TensorDef<'m>,
    /// Its shape.
    pub shape: Shape,
    /// Its bytes; `None` when it is the output's own bytes (an in-place op).
    pub bytes: Option<&'x [u8]>,
}

impl<'x> In<'x, '_> {
    /// The bytes as `T`; an in-place input has none (the caller works on the output).
    pub fn data<T: Element>(&self) -> Result<&'x [T]> {
        check_dtype::<T>(&self.def)?;
        let b = self.bytes.ok_or(Error::InvalidArgument {
            op: "interpreter",
            what: "operand shares the output's bytes",
        })?;
        bytemuck::try_cast_slice(b).map_err(|_| misaligned())
    }
}

/// The error for bytes that do not line up with the validated plan (unreachable after a
/// successful load).
pub(crate) fn misaligned() -> Error {
    Error::Model(ModelError::Misaligned {
        what: "tensor bytes",
        offset: 0,
    })
}

/// [`Error::InvalidArgument`] unless `T` is `t`'s element type.
pub(crate) fn check_dtype<T: Element>(t: &TensorDef<'_>) -> Result<()> {
    if t.dtype != T::DTYPE {
        return Err(Error::InvalidArgument {
            op: "interpreter",
            what: "element type differs from the tensor's",
        });
    }
    Ok(())
}

/// Inputs and the output of one op, borrowed from `act` and the model.
pub(crate) struct Operands<'x, 'm> {
    pub ins: [Option<In<'x, 'm>>; MAX_OP_INPUTS],
    pub n: usize,
    pub out_def: TensorDef<'m>,
    pub out_shape: Shape,
    pub out: &'x mut [u8],
}

impl<'x, 'm> Operands<'x, 'm> {
    /// Input `k`.
    pub fn input(&self, k: usize) -> Result<In<'x, 'm>> {
        self.ins
            .get(k)
            .copied()
            .flatten()
            .ok_or(Error::IndexOutOfRange {
                op: "interpreter",
                what: "op input",
                index: k,
                len: self.n,
            })
    }

    /// Input `k`'s data as `T`, or `None` when the op has fewer inputs.
    pub fn opt<T: Element>(&self, k: usize) -> Result<Option<&'x [T]>> {
        if k >= self.n {
            return Ok(None);
        }
        self.input(k)?.data().map(Some)
    }

    /// The output as `T`.
    pub fn out<T: Element>(&mut self) -> Result<&mut [T]> {
        check_dtype::<T>(&self.out_def)?;
        bytemuck::try_cast_slice_mut(&mut *self.out).map_err(|_| misaligned())
    }
}

/// Splits `act` into op `def`'s output and inputs.
pub(crate) fn borrow<'x, 'm>(
    model: &Model<'m>,
    def: &OpDef,
    act: &'x mut [u8],
) -> Result<Operands<'x, 'm>>
where
    'm: 'x,
{
    let out_def = model.tensor(def.output as usize)?;
    let out_shape = model.shape(&out_def);
    let (oo, ol) = match out_def.storage {
        Storage::Arena { offset, .. } => (offset as usize, out_def.byte_len()),
        Storage::Const { .. } => return Err(misaligned()),
    };
    let (lo, rest) = act.split_at_mut_checked(oo).ok_or(misaligned())?;
    let (out, hi) = rest.split_at_mut_checked(ol).ok_or(misaligned())?;
    let (lo, hi): (&'x [u8], &'x [u8]) = (lo, hi);
    let mut ins = [None; MAX_OP_INPUTS];
    for (slot, &id) in ins.iter_mut().zip(def.inputs()) {
        let t = model.tensor(id as usize)?;
        let bytes = match t.storage {
            Storage::Const { .. } => Some(model.const_bytes(&t)),
            Storage::Arena { offset, .. } => {
                let (o, l) = (offset as usize, t.byte_len());
                if o + l <= oo {
                    Some(lo.get(o..o + l).ok_or(misaligned())?)
                } else if o >= oo + ol {
                    Some(hi.get(o - oo - ol..o - oo - ol + l).ok_or(misaligned())?)
                } else if o == oo {
                    None
                } else {
                    return Err(misaligned());
                }
            }
        };
        *slot = Some(In {
            def: t,
            shape: model.shape(&t),
            bytes,
        });
    }
    Ok(Operands {
        ins,
        n: def.inputs().len(),
        out_def,
        out_shape,
        out,
    })
}
