//! `Embedding`: rows of a table picked by integer ids.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::gather;
use crate::model::ModelError;
use crate::shape::MAX_RANK;

/// Rows of a table; inputs `table [V, D]` (f32), `ids` (i32); output `ids.shape + [D]`.
/// An id outside `0..V` is an error at invoke.
pub struct Embedding;

impl Op for Embedding {
    const ID: u16 = 14;
    const NAME: &'static str = "Embedding";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = ();
    type Params = [u32; 2];

    fn prepare(_: &(), cx: &mut Prepare<'_, '_>) -> core::result::Result<[u32; 2], ModelError> {
        let t = cx.typed(0, DType::F32)?;
        let ids = cx.typed(1, DType::I32)?;
        let [v, d] = match *t.dims() {
            [v, d] if v > 0 && d > 0 => [v, d],
            _ => return Err(cx.shape_err(0, "table must be [rows, dim], both non-zero")),
        };
        if ids.rank() >= MAX_RANK {
            return Err(cx.shape_err(1, "ids rank leaves no room for the embedding axis"));
        }
        let mut dims = [0usize; MAX_RANK];
        dims[..ids.rank()].copy_from_slice(ids.dims());
        dims[ids.rank()] = d;
        let out = cx.shape(&dims[..=ids.rank()])?;
        cx.set_output(0, DType::F32, out)?;
        Ok([v as u32, d as u32])
    }

    fn eval(p: &[u32; 2], io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let (table, ids) = (io.input::<f32>(0)?, io.input::<i32>(1)?);
        gather::embedding(table, p[0] as usize, p[1] as usize, ids, io.out(0)?)
    }
}
