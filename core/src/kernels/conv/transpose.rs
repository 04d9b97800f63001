//! 2-D transposed convolution (ONNX `ConvTranspose`, PyTorch `ConvTranspose2d`): the
//! gradient of [`conv2d`](super::conv2d) with respect to its input, used as a learned
//! up-sampling.
//!
//! # Layout
//! - input: NCHW, `[n, c_in, h, w]`, row-major.
//! - weight: `[c_in, c_out / groups, kh, kw]` (the ONNX and PyTorch layout of a transposed
//!   convolution: input channels first).
//! - bias: `[c_out]`, optional.
//! - output: NCHW, `[n, c_out, oh, ow]` with
//!   `oh = (h - 1) * stride_h - pad_top - pad_bottom + dilation_h * (kh - 1) + output_padding_h
//!   + 1`, likewise `ow` with the left and right padding.
//!
//! # Definition
//! Input channel `c` belongs to group `c / (c_in / groups)`; that group writes output
//! channels `group * (c_out / groups) ..`. Every input value scatters into the output:
//!
//! `out[n, group * og + m, iy * sh + ky * dh - pt, ix * sw + kx * dw - pl] += x[n, c, iy, ix]
//! * w[c, m, ky, kx]`
//!
//! for every tap whose target lies inside the output; each output starts at its channel's
//! bias (or 0). Padding crops the full result at the start and end of each axis;
//! `output_padding` adds rows and columns at the end (they get only what lands there, at
//! least the bias).
//!
//! Every buffer must have exactly the length of its shape.
//!
//! # Speed
//! [`conv_transpose2d`] is the plain scalar scatter (row-wise, no scratch): correct
//! everywhere, not tuned. A GEMM + col2im path can replace it later without changing the
//! contract.

use crate::{Error, Result};

const OP: &str = "conv_transpose2d";

fn oob() -> Error {
    Error::InvalidArgument {
        op: OP,
        what: "internal bounds check failed",
    }
}

/// Parameters of a 2-D transposed convolution (layouts in the [module docs](self)); also the
/// attribute record of the `ConvTranspose2d` op in `.born` files.
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
pub struct ConvTranspose2d {
    /// Step between the output positions of neighbouring input values, `[height, width]`;
    /// each at least 1.
    pub stride: [usize; 2],
    /// Cropping of the full output `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    /// Spacing between kernel taps, `[height, width]`; each at least 1.
    pub dilation: [usize; 2],
    /// Extra rows and columns at the end of the output, `[height, width]`; each must be
    /// smaller than that axis's stride or its dilation.
    pub output_padding: [usize; 2],
    /// Number of channel groups; divides `c_in`.
    pub groups: usize,
}

impl Default for ConvTranspose2d {
    /// Stride 1, no padding, dilation 1, no output padding, one group.
    fn default() -> ConvTranspose2d {
        ConvTranspose2d {
            stride: [1, 1],
            padding: [0; 4],
            dilation: [1, 1],
            output_padding: [0, 0],
            groups: 1,
        }
    }
}

/// Every size the kernel needs, validated.
#[derive(Clone, Copy, Debug)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    /// Input channels per group.
    cg: usize,
    /// Output channels per group.
    og: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pt: usize,
    pl: usize,
    input_len: usize,
    weight_len: usize,
    out_len: usize,
}

fn mul(xs: &[usize]) -> Result<usize> {
    xs.iter()
        .try_fold(1usize, |acc, &x| acc.checked_mul(x))
        .ok_or(Error::Overflow { op: OP })
}

/// Output length along one axis: `(size - 1) * s + (k - 1) * d + 1 + opad - pad0 - pad1`.
fn out_dim(
    size: usize,
    k: usize,
    s: usize,
    d: usize,
    pads: [usize; 2],
    opad: usize,
) -> Result<usize> {
    let bad = |what| Err(Error::InvalidArgument { op: OP, what });
    if opad >= s && opad >= d {
        return bad("output_padding must be smaller than the stride or the dilation");
    }
    let of = Error::Overflow { op: OP };
    let full = (size - 1)
        .checked_mul(s)
        .and_then(|x| x.checked_add((k - 1).checked_mul(d)?))
        .and_then(|x| x.checked_add(1))
        .and_then(|x| x.checked_add(opad))
        .ok_or(of)?;
    let crop = pads[0].checked_add(pads[1]).ok_or(of)?;
    if crop >= full {
        return bad("padding leaves no output (output size <= 0)");
    }
    Ok(full - crop)
}

impl ConvTranspose2d {
    fn geom(&self, input: [usize; 4], weight: [usize; 4]) -> Result<Geom> {
        let [n, c, h, w] = input;
        let [wc, og, kh, kw] = weight;
        let names = [
            (n, "input batch"),
            (c, "input channels"),
            (h, "input height"),
            (w, "input width"),
            (wc, "weight input channels"),
            (og, "weight output channels"),
            (kh, "kernel height"),
            (kw, "kernel width"),
        ];
        for (v, what) in names {
            if v == 0 {
                return Err(Error::ZeroDim { op: OP, what });
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
        if wc != c {
            return Err(Error::DimMismatch {
                op: OP,
                what: "weight input channels (c_in)",
                expected: c,
                got: wc,
            });
        }
        let o = og
            .checked_mul(self.groups)
            .ok_or(Error::Overflow { op: OP })?;
        let [pt, pl, pb, pr] = self.padding;
        let [sh, sw] = self.stride;
        let [dh, dw] = self.dilation;
        let [oph, opw] = self.output_padding;
        let oh = out_dim(h, kh, sh, dh, [pt, pb], oph)?;
        let ow = out_dim(w, kw, sw, dw, [pl, pr], opw)?;
        Ok(Geom {
            n,
            c,
            h,
            w,
            o,
            cg: c / self.groups,
            og,
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
            input_len: mul(&input)?,
            weight_len: mul(&weight)?,
            out_len: mul(&[n, o, oh, ow])?,
        })
    }

    /// The output shape `[n, c_out, oh, ow]` (`c_out = weight[1] * groups`) for these input
    /// and weight shapes.
    ///
    /// Errors: [`Error::ZeroDim`] for a zero dimension; [`Error::InvalidArgument`] for a
    /// zero stride, dilation or group count, groups not dividing `c_in`, an output padding
    /// not smaller than both the stride and the dilation of its axis, or padding that
    /// leaves an output size of zero or less; [`Error::DimMismatch`] when the weight's
    /// first dimension is not `c_in`; [`Error::Overflow`] when a size overflows.
    pub fn output_shape(&self, input: [usize; 4], weight: [usize; 4]) -> Result<[usize; 4]> {
        let g = self.geom(input, weight)?;
        Ok([g.n, g.o, g.oh, g.ow])
    }
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

/// 2-D transposed convolution as defined in the [module docs](self), in f32, without
/// scratch.
///
/// Errors: those of [`ConvTranspose2d::output_shape`]; [`Error::DimMismatch`] when `input`,
/// `weight`, `bias` or `out` does not have exactly its shape's length.
pub fn conv_transpose2d(
    p: &ConvTranspose2d,
    input: &[f32],
    input_shape: [usize; 4],
    weight: &[f32],
    weight_shape: [usize; 4],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_len("input length", g.input_len, input.len())?;
    check_len("weight length", g.weight_len, weight.len())?;
    if let Some(b) = bias {
        check_len("bias length", g.o, b.len())?;
    }
    check_len("output length", g.out_len, out.len())?;
    let (hw, ohw, ksz) = (g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    for (i, plane) in out.chunks_exact_mut(ohw).enumerate() {
        let b = match bias {
            Some(b) => b.get(i % g.o).copied().ok_or(oob())?,
            None => 0.0,
        };
        plane.fill(b);
    }
    for n in 0..g.n {
        for c in 0..g.c {
            let xb = (n * g.c + c) * hw;
            let x = input.get(xb..xb + hw).ok_or(oob())?;
            let grp = c / g.cg;
            for m in 0..g.og {
                let ob = (n * g.o + grp * g.og + m) * ohw;
                let plane = out.get_mut(ob..ob + ohw).ok_or(oob())?;
                let wb = (c * g.og + m) * ksz;
                let taps = weight.get(wb..wb + ksz).ok_or(oob())?;
                scatter_plane(&g, x, taps, plane)?;
            }
        }
    }
    Ok(())
}

/// Adds one input plane times one `kh x kw` kernel into one output plane.
fn scatter_plane(g: &Geom, x: &[f32], taps: &[f32], plane: &mut [f32]) -> Result<()> {
    for iy in 0..g.h {
        let xrow = x.get(iy * g.w..(iy + 1) * g.w).ok_or(oob())?;
        for ky in 0..g.kh {
            // iy * sh + ky * dh is at most the full output height, checked in `geom`.
            let Some(oy) = (iy * g.sh + ky * g.dh).checked_sub(g.pt) else {
                continue;
            };
            if oy >= g.oh {
                continue;
            }
            let orow = plane.get_mut(oy * g.ow..(oy + 1) * g.ow).ok_or(oob())?;
            let wrow = taps.get(ky * g.kw..(ky + 1) * g.kw).ok_or(oob())?;
            for (kx, &wv) in wrow.iter().enumerate() {
                let off = kx * g.dw;
                for (ix, &xv) in xrow.iter().enumerate() {
                    let Some(ox) = (ix * g.sw + off).checked_sub(g.pl) else {
                        continue;
                    };
                    if ox >= g.ow {
                        break;
                    }
                    *orow.get_mut(ox).ok_or(oob())? += wv * xv;
                }
            }
        }
    }
    Ok(())
}
