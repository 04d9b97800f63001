//! `Transpose`: the axes of a tensor permuted (ONNX `Transpose`; any element type).

use super::movement::{self, by_size};
use super::{Io, Op, Prepare};
use crate::error::Result;
use crate::kernels::tensor;
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

/// Transpose; input `x`, output with axis `i` being input axis `perm[i]`.
pub struct Transpose;

/// Attributes of [`Transpose`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransposeAttrs {
    /// Entries of `perm` used: the input's rank, or 0 for ONNX's default, the axes reversed.
    pub rank: u8,
    /// Output axis `i` is input axis `perm[i]`; entries past `rank` are 0.
    pub perm: [u8; MAX_RANK],
}

impl TransposeAttrs {
    /// ONNX's default: the axes reversed, whatever the rank.
    pub const REVERSE: TransposeAttrs = TransposeAttrs {
        rank: 0,
        perm: [0; MAX_RANK],
    };

    /// The attributes of permutation `perm`; `None` past [`MAX_RANK`] entries or for an
    /// entry above 255 (whether it is a permutation is checked against the input).
    pub fn new(perm: &[usize]) -> Option<TransposeAttrs> {
        let mut a = TransposeAttrs {
            rank: u8::try_from(perm.len()).ok()?,
            perm: [0; MAX_RANK],
        };
        for (o, &p) in a.perm.get_mut(..perm.len())?.iter_mut().zip(perm) {
            *o = u8::try_from(p).ok()?;
        }
        Some(a)
    }
}

/// Prepared params of [`Transpose`]: element size, rank and the permutation.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TransposeParams {
    size: u32,
    rank: u32,
    perm: [u32; MAX_RANK],
}

fn run<const N: usize>(p: &TransposeParams, io: &mut Io<'_>) -> Result<()> {
    let x = movement::input::<N>(io, 0)?;
    let shape = io.shape(0);
    let perm = p.perm.map(|a| a as usize);
    let rank = (p.rank as usize).min(MAX_RANK);
    tensor::transpose(
        x,
        shape.dims(),
        &perm[..rank],
        movement::output::<N>(io, 0)?,
    )
}

impl Op for Transpose {
    const ID: u16 = 30;
    const NAME: &'static str = "Transpose";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = TransposeAttrs;
    type Params = TransposeParams;

    fn prepare(
        a: &TransposeAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<TransposeParams, ModelError> {
        let x = cx.input(0)?;
        let d = x.shape.dims();
        let r = d.len();
        let used = movement::used(
            cx,
            &a.perm,
            a.rank,
            "perm entries past its length must be 0",
        )?;
        let mut perm = [0u32; MAX_RANK];
        if used.is_empty() {
            for (i, p) in perm.iter_mut().take(r).enumerate() {
                *p = (r - 1 - i) as u32;
            }
        } else {
            if used.len() != r {
                return Err(cx.attr_err("perm length differs from the input's rank"));
            }
            let mut seen = [false; MAX_RANK];
            for (o, &p) in perm.iter_mut().zip(used) {
                match seen.get_mut(usize::from(p)) {
                    Some(s) if usize::from(p) < r && !*s => *s = true,
                    _ => return Err(cx.attr_err("perm is not a permutation of the input's axes")),
                }
                *o = u32::from(p);
            }
        }
        let mut dims = [0usize; MAX_RANK];
        for (o, &p) in dims.iter_mut().zip(&perm[..r]) {
            *o = d[p as usize];
        }
        let out = cx.shape(&dims[..r])?;
        cx.set_output(0, x.dtype, out)?;
        Ok(TransposeParams {
            size: movement::size_word(x.dtype),
            rank: r as u32,
            perm,
        })
    }

    fn eval(p: &TransposeParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        by_size!(p.size, run(p, io))
    }
}
