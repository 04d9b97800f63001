//! `Resize`: an f32 tensor interpolated to new extents (ONNX `Resize` and `Upsample`):
//! nearest, linear or cubic filters, every ONNX coordinate transformation, antialiasing.
//! The output extents are fixed in the attributes; the kernel is
//! [`kernels::resize`](crate::kernels::resize).

use super::movement;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::resize::{self, Axis, Coord, Interp, Method, Nearest};
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// Resize; input `x` (f32, any rank up to [`MAX_RANK`]), output of the extents
/// [`ResizeAttrs::out`]. The resized axes are processed one after another (in increasing
/// order; axes whose resize is an identity are skipped), through scratch holding the
/// intermediate results.
pub struct Resize;

/// Where the scale of each resized axis comes from (the scale maps output coordinates to
/// input coordinates; the output extents are [`ResizeAttrs::out`] whatever it is).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Scales {
    /// `scales[a]` along axis `a`: finite and positive on resized axes, 0 on the others
    /// and past the rank.
    Given([f32; MAX_RANK]),
    /// Output extent over input extent along each resized axis (in f64).
    Sizes,
    /// Output over input extent of axis `k` (a resized axis), along every resized axis:
    /// sizes that keep the input's aspect ratio.
    SizesOf(u8),
}

/// Attributes of [`Resize`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResizeAttrs {
    /// The input's rank.
    pub rank: u8,
    /// Output extent along each axis; entries past `rank` are 0.
    pub out: [u32; MAX_RANK],
    /// The resized axes (bit `a` for axis `a`, below `rank`); every other axis keeps its
    /// extent and is copied.
    pub axes: u8,
    /// The scale of each resized axis.
    pub scales: Scales,
    /// Crop start of each resized axis, a fraction of `extent - 1`, for
    /// [`Coord::TfCropAndResize`] (finite); 0 on other axes and under other
    /// transformations.
    pub roi_start: [f32; MAX_RANK],
    /// Crop end, as `roi_start`.
    pub roi_end: [f32; MAX_RANK],
    /// The filter.
    pub interp: Interp,
    /// The coordinate transformation.
    pub coord: Coord,
    /// The cubic kernel's coefficient (finite; ignored by the other filters).
    pub cubic_a: f32,
    /// [`Method::exclude_outside`].
    pub exclude_outside: bool,
    /// [`Method::antialias`] (linear and cubic only).
    pub antialias: bool,
    /// [`Method::extrapolation`].
    pub extrapolation: f32,
}

impl ResizeAttrs {
    /// A resize of every axis to the extents `out` with `interp` and `coord`, the scales
    /// from `scales`; no crop, cubic coefficient -0.75, no exclusion, no antialiasing,
    /// extrapolation 0. `None` when `out` has more than [`MAX_RANK`] entries or one above
    /// `u32::MAX`.
    pub fn new(interp: Interp, coord: Coord, out: &[usize], scales: Scales) -> Option<Self> {
        let mut o = [0u32; MAX_RANK];
        for (d, &n) in o.get_mut(..out.len())?.iter_mut().zip(out) {
            *d = u32::try_from(n).ok()?;
        }
        Some(ResizeAttrs {
            rank: out.len() as u8,
            out: o,
            axes: ((1u16 << out.len()) - 1) as u8,
            scales,
            roi_start: [0.0; MAX_RANK],
            roi_end: [0.0; MAX_RANK],
            interp,
            coord,
            cubic_a: -0.75,
            exclude_outside: false,
            antialias: false,
            extrapolation: 0.0,
        })
    }
}

impl Scales {
    /// [`Scales::Given`] of one scale per axis; `None` past [`MAX_RANK`] entries.
    pub fn given(s: &[f32]) -> Option<Scales> {
        let mut a = [0.0f32; MAX_RANK];
        a.get_mut(..s.len())?.copy_from_slice(s);
        Some(Scales::Given(a))
    }
}

/// Prepared params of [`Resize`]: `modes` = filter (0 nearest, 1 linear, 2 cubic), nearest
/// rounding, coordinate transformation, flags (1 exclude outside, 2 antialias); `scale` =
/// kind (0 given, 1 sizes, 2 sizes of one axis), that axis, the resized-axes mask.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ResizeParams {
    modes: [u8; 4],
    scale: [u8; 4],
    cubic_a: f32,
    extrapolation: f32,
    scales: [f32; MAX_RANK],
    roi: [f32; 2 * MAX_RANK],
}

const NEAREST: [Nearest; 4] = [
    Nearest::RoundPreferFloor,
    Nearest::RoundPreferCeil,
    Nearest::Floor,
    Nearest::Ceil,
];
const COORDS: [Coord; 6] = [
    Coord::HalfPixel,
    Coord::HalfPixelSymmetric,
    Coord::PytorchHalfPixel,
    Coord::AlignCorners,
    Coord::Asymmetric,
    Coord::TfCropAndResize,
];

fn index_of<T: PartialEq>(list: &[T], v: T) -> u8 {
    list.iter().position(|x| *x == v).unwrap_or(0) as u8
}

impl ResizeParams {
    fn method(&self) -> Method {
        let [interp, nearest, coord, flags] = self.modes;
        let nearest = NEAREST.get(usize::from(nearest)).copied();
        Method {
            interp: match interp {
                1 => Interp::Linear,
                2 => Interp::Cubic,
                _ => Interp::Nearest(nearest.unwrap_or(Nearest::RoundPreferFloor)),
            },
            coord: COORDS
                .get(usize::from(coord))
                .copied()
                .unwrap_or(Coord::HalfPixel),
            cubic_a: self.cubic_a,
            exclude_outside: flags & 1 != 0,
            antialias: flags & 2 != 0,
            extrapolation: self.extrapolation,
        }
    }

    /// The kernel's axes for input extents `d_in` and output extents `d_out` (of one rank).
    fn plan(&self, d_in: &[usize], d_out: &[usize]) -> [Axis; MAX_RANK] {
        let [kind, k, mask, _] = self.scale;
        let ratio = |a: usize| match (d_out.get(a), d_in.get(a)) {
            (Some(&o), Some(&i)) if i > 0 => o as f64 / i as f64,
            _ => 1.0,
        };
        let mut axes = [Axis::keep(0); MAX_RANK];
        for (a, (ax, (&n_in, &n_out))) in axes.iter_mut().zip(d_in.iter().zip(d_out)).enumerate() {
            *ax = Axis::keep(n_in);
            if mask & (1 << a) == 0 || n_in == 0 {
                continue;
            }
            ax.len_out = n_out;
            ax.scale = match kind {
                0 => f64::from(self.scales.get(a).copied().unwrap_or(1.0)),
                1 => ratio(a),
                _ => ratio(usize::from(k)),
            };
            let r = |i: usize| self.roi.get(i).copied().unwrap_or(0.0);
            ax.roi = [r(a), r(a + MAX_RANK)];
        }
        axes
    }
}

impl Op for Resize {
    const ID: u16 = 107;
    const NAME: &'static str = "Resize";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = ResizeAttrs;
    type Params = ResizeParams;

    fn prepare(a: &ResizeAttrs, cx: &mut Prepare<'_, '_>) -> R<ResizeParams> {
        let x = cx.typed(0, DType::F32)?;
        let d = x.dims();
        let rank = d.len();
        if usize::from(a.rank) != rank {
            return Err(cx.attr_err("resize rank differs from the input's"));
        }
        let stray = "resize entries past the rank must be 0";
        let out = movement::used(cx, &a.out, a.rank, stray)?;
        movement::used(cx, &a.roi_start, a.rank, stray)?;
        movement::used(cx, &a.roi_end, a.rank, stray)?;
        if a.axes >> rank != 0 {
            return Err(cx.attr_err("resized axes past the rank"));
        }
        let resized = |i: usize| a.axes & (1 << i) != 0;
        let tf = a.coord == Coord::TfCropAndResize;
        let mut dims = [0usize; MAX_RANK];
        for (i, (o, (&n_in, &n_out))) in dims.iter_mut().zip(d.iter().zip(out)).enumerate() {
            let n_out = n_out as usize;
            *o = n_out;
            let roi = [a.roi_start[i], a.roi_end[i]];
            if !resized(i) {
                if n_out != n_in {
                    return Err(cx.attr_err("an axis not resized changes its extent"));
                }
                if roi != [0.0; 2] {
                    return Err(cx.attr_err("roi of an axis not resized must be 0"));
                }
                continue;
            }
            if n_in == 0 && n_out > 0 {
                return Err(cx.attr_err("resize of an empty axis to a non-empty one"));
            }
            if tf && !roi.iter().all(|v| v.is_finite()) || !tf && roi != [0.0; 2] {
                return Err(cx.attr_err("roi must be finite with tf_crop_and_resize, else 0"));
            }
        }
        let dims = &dims[..rank];
        match a.scales {
            Scales::Given(s) => {
                let bad = |(i, &v): (usize, &f32)| {
                    if i < rank && resized(i) {
                        !(v.is_finite() && v > 0.0)
                    } else {
                        v != 0.0
                    }
                };
                if s.iter().enumerate().any(bad) {
                    return Err(
                        cx.attr_err("scales must be finite and positive on resized axes, else 0")
                    );
                }
            }
            Scales::Sizes => {}
            Scales::SizesOf(k) => {
                let k = usize::from(k);
                if k >= rank || !resized(k) || d[k] == 0 {
                    return Err(cx.attr_err("the scale's axis is not a non-empty resized axis"));
                }
            }
        }
        if a.interp == Interp::Cubic && !a.cubic_a.is_finite() {
            return Err(cx.attr_err("cubic coefficient must be finite"));
        }
        if a.antialias && matches!(a.interp, Interp::Nearest(_)) {
            return Err(cx.attr_err("antialias needs a linear or cubic filter"));
        }
        let (interp, nearest) = match a.interp {
            Interp::Nearest(n) => (0, index_of(&NEAREST, n)),
            Interp::Linear => (1, 0),
            Interp::Cubic => (2, 0),
        };
        let (kind, k) = match a.scales {
            Scales::Given(_) => (0, 0),
            Scales::Sizes => (1, 0),
            Scales::SizesOf(k) => (2, k),
        };
        let mut roi = [0.0f32; 2 * MAX_RANK];
        roi[..MAX_RANK].copy_from_slice(&a.roi_start);
        roi[MAX_RANK..].copy_from_slice(&a.roi_end);
        let p = ResizeParams {
            modes: [
                interp,
                nearest,
                index_of(&COORDS, a.coord),
                u8::from(a.exclude_outside) | u8::from(a.antialias) << 1,
            ],
            scale: [kind, k, a.axes, 0],
            cubic_a: a.cubic_a,
            extrapolation: a.extrapolation,
            scales: match a.scales {
                Scales::Given(s) => s,
                _ => [0.0; MAX_RANK],
            },
            roi,
        };
        let m = p.method();
        let plan = p.plan(d, dims);
        let plan = &plan[..rank];
        let wide = |ax: &Axis| {
            !ax.is_identity(&m) && ax.len_out > 0 && resize::tap_count(&m, ax).is_none()
        };
        if plan.iter().any(wide) {
            return Err(cx.attr_err("antialiasing filter too wide (scale too small)"));
        }
        let overflow = cx.attr_err("output size overflows");
        let shape = movement::out_shape(dims, DType::F32).ok_or(overflow)?;
        let scratch = resize::scratch_len(&m, plan)
            .and_then(|n| n.checked_mul(4))
            .filter(|&n| movement::word(n).is_some())
            .ok_or(overflow)?;
        cx.set_output(0, DType::F32, shape)?;
        cx.set_scratch(scratch);
        Ok(p)
    }

    fn eval(p: &ResizeParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let (s_in, s_out) = (io.shape(0), io.out_shape(0));
        let plan = p.plan(s_in.dims(), s_out.dims());
        let plan = plan.get(..s_in.rank()).ok_or(super::io::misaligned())?;
        let m = p.method();
        let len = resize::scratch_len(&m, plan).ok_or(super::io::misaligned())?;
        let bytes = len
            .checked_mul(4)
            .and_then(|n| scratch.get_mut(..n))
            .ok_or(super::io::misaligned())?;
        let s: &mut [f32] =
            bytemuck::try_cast_slice_mut(bytes).map_err(|_| super::io::misaligned())?;
        let x = io.input::<f32>(0)?;
        let out = io.out::<f32>(0)?;
        resize::resize(&m, plan, x, out, s)
    }
}
