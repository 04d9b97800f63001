//! `Tile`: a tensor repeated along each axis (ONNX `Tile` with constant repeats,
//! `numpy.tile`; any element type).

use super::movement::{self, by_size};
use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

/// Tile; input `x`, output with `repeats[a] * x.shape[a]` elements along axis `a` (a repeat
/// of 0 gives an empty output).
pub struct Tile;

/// Attributes of [`Tile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileAttrs {
    /// Entries of `repeats` used: the input's rank.
    pub rank: u8,
    /// Copies along each axis; entries past `rank` are 0.
    pub repeats: [u32; MAX_RANK],
}

impl TileAttrs {
    /// The attributes of `repeats`; `None` past [`MAX_RANK`] entries or for a repeat above
    /// `u32::MAX`.
    pub fn new(repeats: &[usize]) -> Option<TileAttrs> {
        let mut a = TileAttrs {
            rank: u8::try_from(repeats.len()).ok()?,
            repeats: [0; MAX_RANK],
        };
        for (o, &r) in a.repeats.get_mut(..repeats.len())?.iter_mut().zip(repeats) {
            *o = u32::try_from(r).ok()?;
        }
        Some(a)
    }
}

/// Prepared params of [`Tile`]: the element size and the repeats.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TileParams {
    size: u32,
    repeats: [u32; MAX_RANK],
}

fn run<const N: usize>(p: &TileParams, io: &mut Io<'_>) -> Result<()> {
    let x = movement::input::<N>(io, 0)?;
    let shape = io.shape(0);
    let repeats = p.repeats.map(|r| r as usize);
    let r = shape.rank();
    tensor::tile(
        x,
        shape.dims(),
        &repeats[..r],
        movement::output::<N>(io, 0)?,
    )
}

impl Op for Tile {
    const ID: u16 = 37;
    const NAME: &'static str = "Tile";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = TileAttrs;
    type Params = TileParams;

    fn prepare(
        a: &TileAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<TileParams, ModelError> {
        let x = cx.input(0)?;
        let d = x.shape.dims();
        if usize::from(a.rank) != d.len() {
            return Err(cx.attr_err("repeats length differs from the input's rank"));
        }
        let repeats = movement::used(cx, &a.repeats, a.rank, "repeats past its length must be 0")?;
        let mut dims = [0usize; MAX_RANK];
        let overflow = cx.attr_err("output size overflows");
        for ((o, &n), &r) in dims.iter_mut().zip(d).zip(repeats) {
            *o = n.checked_mul(r as usize).ok_or(overflow)?;
        }
        let out = movement::out_shape(&dims[..d.len()], x.dtype).ok_or(overflow)?;
        cx.set_output(0, x.dtype, out)?;
        Ok(TileParams {
            size: movement::size_word(x.dtype),
            repeats: a.repeats,
        })
    }

    fn eval(p: &TileParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        by_size!(p.size, run(p, io))
    }
}
