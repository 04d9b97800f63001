//! 2-D convolution (cross-correlation, as in PyTorch and ONNX `Conv`).
//!
//! # Layout
//! - input: NCHW, `[n, c_in, h, w]`, row-major.
//! - weight: OIHW, `[c_out, c_in / groups, kh, kw]` (PyTorch/ONNX layout).
//! - bias: `[c_out]`, optional.
//! - output: NCHW, `[n, c_out, oh, ow]` with
//!   `oh = (h + pad_top + pad_bottom - dilation_h * (kh - 1) - 1) / stride_h + 1`, likewise
//!   `ow` with the left and right padding.
//!
//! Output channel `o` belongs to group `o / (c_out / groups)` and sees input channels
//! `group * (c_in / groups) ..` of that group. Depthwise convolution is `groups == c_in`
//! (weight `[c_in * multiplier, 1, kh, kw]`). Padding is zero padding.
//!
//! Every buffer must have exactly the length of its shape.
//!
//! # Strategies ([`conv2d`])
//! - **direct** (no scratch, also callable as [`conv2d_direct`]): depthwise
//!   (`c_in / groups == 1`, `groups > 1`) everywhere, and every convolution on bare-metal
//!   targets (`target_os = "none"`). Row-wise multiply-adds in the reference's order, so its
//!   bits equal [`conv2d_reference`].
//! - **pointwise**: 1 x 1, stride 1, no padding: the input already is the GEMM's B matrix,
//!   so one [`sgemm`](crate::kernels::gemm::sgemm) per image and group, no im2col.
//! - **shifted implicit GEMM** (x86_64 with AVX2 + FMA; stride 1, not depthwise, padded group
//!   input of at most 2^16 values, output at least half of each padded row): the group's
//!   input zero-padded once into scratch, where every im2col row is a contiguous run, so a
//!   6 x 16 register-tiled micro-kernel reads B in place and writes the output (plus bias)
//!   directly; nothing is packed per tile. Small inputs (`c_in / groups * kw * (h + pad_top
//!   + pad_bottom) * ow` of at most 2^13 values) are instead "spread": one padded plane per
//!   channel and tap column, `ow` wide, so the tiles run over the output rows without
//!   dropped lanes. Each output is the FMA sum from zero over
//!   `(c, ky, kx)` in order, then `+ bias`, whatever the tiling.
//! - **implicit GEMM** (everything else): the GEMM's packed path, with the im2col matrix
//!   written straight into the packed B panels block by block; no im2col matrix is stored, so
//!   it needs only the GEMM's packing scratch and copies each input value once per use instead
//!   of twice (im2col, then packing).
//!
//! [`conv2d_im2col`] is the plain baseline: the full im2col matrix in scratch, then
//! [`sgemm`](crate::kernels::gemm::sgemm).
//!
//! Bias is added after the sum (GEMM paths start C at the bias and use `beta = 1`).

// `Error` carries a `Shape` and is larger than clippy's default limit; the whole crate
// returns it by value, which is a crate-wide decision, not this module's.

mod direct;
mod im2col;
mod reference;
#[cfg(target_arch = "x86_64")]
mod shifted;
pub mod transpose;

pub use reference::conv2d_reference;

use crate::kernels::gemm::{self, Gemm, Isa};
use crate::{Error, Result};

const OP: &str = "conv2d";

pub(crate) fn oob() -> Error {
    Error::InvalidArgument {
        op: OP,
        what: "internal bounds check failed",
    }
}

/// Parameters of a 2-D convolution (layouts in the [module docs](self)); also the geometry
/// record of the convolution ops in `.born` files.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    bytemuck::Pod,
    bytemuck::Zeroable,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Conv2d {
    /// Step between output positions, `[height, width]`; each at least 1.
    pub stride: [usize; 2],
    /// Zero padding `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    /// Spacing between kernel taps, `[height, width]`; each at least 1.
    pub dilation: [usize; 2],
    /// Number of channel groups; divides both `c_in` and `c_out`.
    pub groups: usize,
}

impl Default for Conv2d {
    /// Stride 1, no padding, dilation 1, one group.
    fn default() -> Conv2d {
        Conv2d {
            stride: [1, 1],
            padding: [0; 4],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

/// Every size a convolution needs, validated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    /// Input channels per group.
    pub cg: usize,
    /// Output channels per group.
    pub og: usize,
    pub groups: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub pt: usize,
    pub pl: usize,
    /// All four paddings `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Element counts of input, weight and output.
    pub input_len: usize,
    pub weight_len: usize,
    pub out_len: usize,
}

fn mul(xs: &[usize]) -> Result<usize> {
    xs.iter()
        .try_fold(1usize, |acc, &x| acc.checked_mul(x))
        .ok_or(Error::Overflow { op: OP })
}

/// Output length along one axis, or an error when the kernel does not fit.
fn out_dim(size: usize, pad0: usize, pad1: usize, k: usize, dil: usize, s: usize) -> Result<usize> {
    let of = Error::Overflow { op: OP };
    let padded = size
        .checked_add(pad0)
        .and_then(|x| x.checked_add(pad1))
        .ok_or(of)?;
    let span = (k - 1)
        .checked_mul(dil)
        .and_then(|x| x.checked_add(1))
        .ok_or(of)?;
    if span > padded {
        return Err(Error::InvalidArgument {
            op: OP,
            what: "dilated kernel is larger than the padded input",
        });
    }
    Ok((padded - span) / s + 1)
}

impl Conv2d {
    pub(crate) fn geom(&self, input: [usize; 4], weight: [usize; 4]) -> Result<Geom> {
        let [n, c, h, w] = input;
        let [o, i, kh, kw] = weight;
        let zero = |what| Err(Error::ZeroDim { op: OP, what });
        let names = [
            (n, "input batch"),
            (c, "input channels"),
            (h, "input height"),
            (w, "input width"),
            (o, "output channels"),
            (i, "weight input channels"),
            (kh, "kernel height"),
            (kw, "kernel width"),
        ];
        for (v, what) in names {
            if v == 0 {
                return zero(what);
            }
        }
        let bad = |what| Err(Error::InvalidArgument { op: OP, what });
        if self.stride.contains(&0) {
            return bad("stride must be at least 1");
        }
        if self.dilation.contains(&0) {
            return bad("dilation must be at least 1");
        }
        if self.groups == 0 {
            return bad("groups must be at least 1");
        }
        if c % self.groups != 0 {
            return bad("groups must divide the input channels");
        }
        if o % self.groups != 0 {
            return bad("groups must divide the output channels");
        }
        let cg = c / self.groups;
        if i != cg {
            return Err(Error::DimMismatch {
                op: OP,
                what: "weight input channels (c_in / groups)",
                expected: cg,
                got: i,
            });
        }
        let [pt, pl, pb, pr] = self.padding;
        let [sh, sw] = self.stride;
        let [dh, dw] = self.dilation;
        let oh = out_dim(h, pt, pb, kh, dh, sh)?;
        let ow = out_dim(w, pl, pr, kw, dw, sw)?;
        Ok(Geom {
            n,
            c,
            h,
            w,
            o,
            cg,
            og: o / self.groups,
            groups: self.groups,
            kh,
            kw,
            oh,
            ow,
            sh,
            sw,
            dh,
            dw,
            pt,
            pl,
            pads: self.padding,
            input_len: mul(&input)?,
            weight_len: mul(&weight)?,
            out_len: mul(&[n, o, oh, ow])?,
        })
    }

    /// The output shape `[n, c_out, oh, ow]` for these input and weight shapes.
    ///
    /// Errors: [`Error::ZeroDim`] for a zero dimension; [`Error::InvalidArgument`] for a
    /// zero stride, dilation or group count, groups not dividing `c_in` or `c_out`, or a
    /// dilated kernel larger than the padded input; [`Error::DimMismatch`] when the weight's
    /// input channels are not `c_in / groups`; [`Error::Overflow`] when a size overflows.
    pub fn output_shape(&self, input: [usize; 4], weight: [usize; 4]) -> Result<[usize; 4]> {
        let g = self.geom(input, weight)?;
        Ok([g.n, g.o, g.oh, g.ow])
    }

    /// f32 elements of scratch [`conv2d`] needs: 0 for the direct strategy; for the shifted
    /// implicit GEMM one group's zero-padded input (`c_in / groups * (h + pad_top +
    /// pad_bottom) * (w + pad_left + pad_right)`, or `c_in / groups * kw * (h + pad_top +
    /// pad_bottom) * ow` when spread) plus the zeros its last tile reads past it (at most 15 +
    /// `dilation_w * (kw - 1)`, or 15 when spread); otherwise the GEMM's packing buffers (see
    /// [`gemm`] for their size) plus, for the implicit GEMM with padding, one group's
    /// zero-padded input. Errors as [`Conv2d::output_shape`].
    pub fn scratch_len(&self, input: [usize; 4], weight: [usize; 4]) -> Result<usize> {
        let g = self.geom(input, weight)?;
        fast_scratch(&g, Isa::detect())
    }

    /// f32 elements of scratch [`conv2d_im2col`] needs: the `c_in / groups * kh * kw` x
    /// `oh * ow` im2col matrix plus the GEMM's scratch. Errors as [`Conv2d::output_shape`].
    pub fn im2col_scratch_len(&self, input: [usize; 4], weight: [usize; 4]) -> Result<usize> {
        let g = self.geom(input, weight)?;
        im2col_scratch(&g)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    Direct,
    Pointwise,
    Implicit,
    #[cfg(target_arch = "x86_64")]
    Shifted,
}

fn strategy(g: &Geom, isa: Isa) -> Strategy {
    if g.cg == 1 && g.groups > 1 {
        Strategy::Direct
    } else if g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.oh == g.h && g.ow == g.w {
        // 1 x 1 with stride 1 and output size == input size means no padding.
        Strategy::Pointwise
    } else if cfg!(target_os = "none") {
        Strategy::Direct
    } else {
        #[cfg(target_arch = "x86_64")]
        if isa == Isa::Avx2Fma && shifted::applies(g) {
            return Strategy::Shifted;
        }
        let _ = isa;
        Strategy::Implicit
    }
}

fn gemm_shape(g: &Geom) -> Gemm {
    Gemm::new(g.og, g.oh * g.ow, g.cg * g.kh * g.kw)
}

fn fast_scratch(g: &Geom, isa: Isa) -> Result<usize> {
    let gm = gemm_shape(g);
    Ok(match strategy(g, isa) {
        Strategy::Direct => 0,
        #[cfg(target_arch = "x86_64")]
        Strategy::Shifted => shifted::scratch_len(g)?,
        Strategy::Pointwise => gemm::scratch_len_for(isa, &gm),
        Strategy::Implicit => padded_len(g)?
            .checked_add(gemm::packed_b_scratch_len(isa, gm.m, gm.n, gm.k))
            .ok_or(Error::Overflow { op: OP })?,
    })
}

/// Elements of one group's zero-padded input (0 without padding).
fn padded_len(g: &Geom) -> Result<usize> {
    let [pt, pl, pb, pr] = g.pads;
    if g.pads == [0; 4] {
        return Ok(0);
    }
    // h + pt + pb and w + pl + pr were checked in `out_dim`.
    mul(&[g.cg, g.h + pt + pb, g.w + pl + pr])
}

fn im2col_scratch(g: &Geom) -> Result<usize> {
    let gm = gemm_shape(g);
    gm.k.checked_mul(gm.n)
        .and_then(|x| x.checked_add(gemm::scratch_len(&gm)))
        .ok_or(Error::Overflow { op: OP })
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected != got {
        return Err(Error::DimMismatch {
            op: OP,
            what,
            expected,
            got,
        });
    }
    Ok(())
}

pub(crate) fn check_buffers(
    g: &Geom,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &[f32],
) -> Result<()> {
    check_len("input length", g.input_len, input.len())?;
    check_len("weight length", g.weight_len, weight.len())?;
    if let Some(b) = bias {
        check_len("bias length", g.o, b.len())?;
    }
    check_len("output length", g.out_len, out.len())
}

fn check_scratch(needed: usize, len: usize) -> Result<()> {
    crate::kernels::check_len(OP, "scratch", needed, len)?;
    Ok(())
}

/// Calls `f(x, w, c)` for each (image, group) with that group's input channels, weights and
/// output channels, after setting the output to the bias (returns the GEMM beta to use).
fn per_group(
    g: &Geom,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    mut f: impl FnMut(&[f32], &[f32], &mut [f32], f32) -> Result<()>,
) -> Result<()> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let wlen = g.og * g.cg * g.kh * g.kw;
    let beta = match bias {
        Some(b) => {
            for (i, plane) in out.chunks_exact_mut(ohw).enumerate() {
                plane.fill(b.get(i % g.o).copied().ok_or(oob())?);
            }
            1.0
        }
        None => 0.0,
    };
    let xs = input.chunks_exact(g.cg * hw);
    let cs = out.chunks_exact_mut(g.og * ohw);
    for (i, (x, c)) in xs.zip(cs).enumerate() {
        let grp = i % g.groups;
        let w = weight.get(grp * wlen..(grp + 1) * wlen).ok_or(oob())?;
        f(x, w, c, beta)?;
    }
    Ok(())
}

/// 2-D convolution with the fastest strategy for the case (see the [module docs](self)).
///
/// `scratch` must hold [`Conv2d::scratch_len`] elements (contents ignored). Errors: those of
/// [`Conv2d::output_shape`]; [`Error::DimMismatch`] when `input`, `weight`, `bias` or `out`
/// does not have exactly its shape's length; [`Error::BufferTooSmall`] for short scratch.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    p: &Conv2d,
    input: &[f32],
    input_shape: [usize; 4],
    weight: &[f32],
    weight_shape: [usize; 4],
    bias: Option<&[f32]>,
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_buffers(&g, input, weight, bias, out)?;
    let isa = Isa::detect();
    check_scratch(fast_scratch(&g, isa)?, scratch.len())?;
    let gm = gemm_shape(&g);
    match strategy(&g, isa) {
        Strategy::Direct => direct::conv(&g, input, weight, bias, out),
        #[cfg(target_arch = "x86_64")]
        Strategy::Shifted => shifted::conv(&g, input, weight, bias, out, scratch),
        Strategy::Pointwise => per_group(&g, input, weight, bias, out, |x, w, c, beta| {
            let gb = Gemm { beta, ..gm };
            gemm::sgemm_for(isa, &gb, w, gm.k, x, gm.n, c, gm.n, scratch)
        }),
        Strategy::Implicit => {
            let (xp, gs) = scratch.split_at_mut_checked(padded_len(&g)?).ok_or(oob())?;
            per_group(&g, input, weight, bias, out, |x, w, c, beta| {
                let gb = Gemm { beta, ..gm };
                if g.pads == [0; 4] {
                    let b = im2col::Im2colB { x, g: &g };
                    gemm::sgemm_packed_b(isa, &gb, w, gm.k, &b, c, gm.n, gs)
                } else {
                    let gp = im2col::pad_input(x, &g, g.pads, xp)?;
                    let b = im2col::Im2colB { x: xp, g: &gp };
                    gemm::sgemm_packed_b(isa, &gb, w, gm.k, &b, c, gm.n, gs)
                }
            })
        }
    }
}

/// Direct NCHW convolution without scratch (the strategy [`conv2d`] uses for depthwise
/// convolutions, and for every convolution on bare-metal targets): row-wise multiply-adds in
/// the same order as [`conv2d_reference`], so the bits are the same. Same contract and
/// errors as [`conv2d_reference`].
pub fn conv2d_direct(
    p: &Conv2d,
    input: &[f32],
    input_shape: [usize; 4],
    weight: &[f32],
    weight_shape: [usize; 4],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_buffers(&g, input, weight, bias, out)?;
    direct::conv(&g, input, weight, bias, out)
}

/// The plain baseline: im2col into scratch, then [`sgemm`](crate::kernels::gemm::sgemm), per
/// image and group. `scratch` must hold [`Conv2d::im2col_scratch_len`] elements. Same
/// contract and errors as [`conv2d`].
#[allow(clippy::too_many_arguments)]
pub fn conv2d_im2col(
    p: &Conv2d,
    input: &[f32],
    input_shape: [usize; 4],
    weight: &[f32],
    weight_shape: [usize; 4],
    bias: Option<&[f32]>,
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_buffers(&g, input, weight, bias, out)?;
    check_scratch(im2col_scratch(&g)?, scratch.len())?;
    let gm = gemm_shape(&g);
    let (col, gs) = scratch.split_at_mut_checked(gm.k * gm.n).ok_or(oob())?;
    per_group(&g, input, weight, bias, out, |x, w, c, beta| {
        im2col::im2col(x, &g, col)?;
        let gb = Gemm { beta, ..gm };
        gemm::sgemm(&gb, w, gm.k, col, gm.n, c, gm.n, gs)
    })
}
