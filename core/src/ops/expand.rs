//! `Expand`: a tensor broadcast to a shape (ONNX `Expand` with a constant shape; any
//! element type).

use super::movement::{self, by_size};
use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::format::Dims;
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

/// Expand; input `x`, output of the broadcast of `x`'s shape and `attrs.shape` (as ONNX:
/// both ways, so a target dimension of 1 keeps `x`'s, and the target may have a smaller
/// rank).
pub struct Expand;

/// Attributes of [`Expand`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpandAttrs {
    /// The target shape.
    pub shape: Dims,
}

fn run<const N: usize>(io: &mut Io<'_>) -> Result<()> {
    let x = movement::input::<N>(io, 0)?;
    let (xs, os) = (io.shape(0), io.out_shape(0));
    tensor::expand(x, xs.dims(), movement::output::<N>(io, 0)?, os.dims())
}

impl Op for Expand {
    const ID: u16 = 36;
    const NAME: &'static str = "Expand";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ExpandAttrs;
    /// The element size.
    type Params = u32;

    fn prepare(a: &ExpandAttrs, cx: &mut Prepare<'_, '_>) -> core::result::Result<u32, ModelError> {
        let x = cx.input(0)?;
        let t = a
            .shape
            .to_shape()
            .ok_or(cx.attr_err("expand target rank above 6 or stray dimensions"))?;
        let out = x
            .shape
            .broadcast(&t)
            .map_err(|_| cx.shape_err(0, "does not broadcast with the target shape"))?;
        let out =
            movement::out_shape(out.dims(), x.dtype).ok_or(cx.attr_err("output size overflows"))?;
        cx.set_output(0, x.dtype, out)?;
        Ok(movement::size_word(x.dtype))
    }

    fn eval(size: &u32, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        by_size!(*size, run(io))
    }
}
