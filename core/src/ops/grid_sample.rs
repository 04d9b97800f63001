//! `GridSample`: an f32 tensor sampled at the points of a run-time grid of normalized
//! coordinates (ONNX `GridSample`): nearest, linear or cubic filters, zeros, border or
//! reflection padding, corners aligned or not. The kernel (and the exact arithmetic) is
//! [`kernels::grid_sample`](crate::kernels::grid_sample).

use super::movement;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::grid_sample::{self, Mode, Padding, Sampler};
use crate::model::ModelError;
use crate::shape::MAX_RANK;

type R<T> = core::result::Result<T, ModelError>;

/// GridSample; inputs `x` (f32 `[N, C, D1, .., Dr]`, `r` from 1 to
/// [`MAX_SPATIAL`](grid_sample::MAX_SPATIAL)) and
/// `grid` (f32 `[N, O1, .., Or, r]`, the last axis holding each point's coordinates in
/// reverse axis order, `x` first); output `[N, C, O1, .., Or]`. Its attributes are the
/// kernel's [`Sampler`]. A grid point with a NaN or infinite coordinate gives 0 in every
/// channel.
pub struct GridSample;

/// Prepared params of [`GridSample`]: filter (0 nearest, 1 linear, 2 cubic), padding
/// (0 zeros, 1 border, 2 reflection), aligned corners (0 or 1), 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GridSampleParams {
    modes: [u8; 4],
}

impl GridSampleParams {
    fn sampler(&self) -> Sampler {
        let [mode, padding, align, _] = self.modes;
        Sampler {
            mode: match mode {
                1 => Mode::Linear,
                2 => Mode::Cubic,
                _ => Mode::Nearest,
            },
            padding: match padding {
                1 => Padding::Border,
                2 => Padding::Reflection,
                _ => Padding::Zeros,
            },
            align_corners: align != 0,
        }
    }
}

impl Op for GridSample {
    const ID: u16 = 113;
    const NAME: &'static str = "GridSample";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = Sampler;
    type Params = GridSampleParams;

    fn prepare(a: &Sampler, cx: &mut Prepare<'_, '_>) -> R<GridSampleParams> {
        let x = cx.typed(0, DType::F32)?;
        let d = x.dims();
        let rank = d.len();
        if !(3..=MAX_RANK).contains(&rank) {
            return Err(cx.shape_err(0, "must have N, C and 1 to 4 spatial axes"));
        }
        let grid = cx.typed(1, DType::F32)?;
        let g = grid.dims();
        if g.len() != rank {
            return Err(cx.shape_err(1, "rank differs from the input's"));
        }
        if g.first() != d.first() {
            return Err(cx.shape_err(1, "batch extent differs from the input's"));
        }
        if g.last() != Some(&(rank - 2)) {
            return Err(cx.shape_err(1, "last extent must be the number of spatial axes"));
        }
        let mut dims = [0usize; MAX_RANK];
        dims[..2].copy_from_slice(&d[..2]);
        dims[2..rank].copy_from_slice(&g[1..rank - 1]);
        let dims = &dims[..rank];
        let shape = movement::out_shape(dims, DType::F32)
            .ok_or(cx.shape_err(1, "output size does not fit 32 bits"))?;
        if shape.numel() > 0 && d[2..].contains(&0) {
            return Err(cx.shape_err(0, "a spatial extent is 0 (nothing to sample)"));
        }
        cx.set_output(0, DType::F32, shape)?;
        let mode = match a.mode {
            Mode::Nearest => 0,
            Mode::Linear => 1,
            Mode::Cubic => 2,
        };
        let padding = match a.padding {
            Padding::Zeros => 0,
            Padding::Border => 1,
            Padding::Reflection => 2,
        };
        Ok(GridSampleParams {
            modes: [mode, padding, u8::from(a.align_corners), 0],
        })
    }

    fn eval(p: &GridSampleParams, io: &mut Io<'_>, _scratch: &mut [u8]) -> Result<()> {
        let (xs, gs) = (io.shape(0), io.shape(1));
        let x = io.input::<f32>(0)?;
        let grid = io.input::<f32>(1)?;
        let out = io.out::<f32>(0)?;
        grid_sample::grid_sample(&p.sampler(), x, xs.dims(), grid, gs.dims(), out)
    }
}
