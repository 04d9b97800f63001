//! 2-D pooling over NCHW f32 tensors: max, average and global average.
//!
//! # Semantics (PyTorch's, extended to asymmetric padding as in ONNX)
//! Per spatial axis with input size `n`, kernel `k`, stride `s`, dilation `d` and padding
//! `p0` (before) / `p1` (after), the output size is
//! `floor((n + p0 + p1 - d*(k-1) - 1) / s) + 1`, or with `ceil_mode` the same with `ceil`,
//! then decremented if the last window would start at or past `n + p0` (a window must start
//! inside the input or the leading padding). In ceil mode a window may overhang the padded
//! input; PyTorch accepts a kernel up to `s - 1` larger than the padded input there, and so
//! does this module. Window `o` covers padded positions `o*s + i*d` for `i < k`.
//!
//! - Max pooling: padding and overhang act as `-inf`; NaN in a window gives NaN (like
//!   PyTorch). A window without any input tap (only possible with dilation > 1) gives `-inf`.
//! - Average pooling: the sum of the input taps divided by the number of taps inside the
//!   input (`count_include_pad == false`) or inside the padded input
//!   (`count_include_pad == true`); the ceil-mode overhang beyond the padded input is never
//!   counted, as in PyTorch. Dilation, which PyTorch's `avg_pool2d` lacks, counts taps the
//!   same way (as ONNX AveragePool does); a window with no counted tap gives NaN (0/0).
//!
//! # Buffers
//! `x` is `[N, C, H, W]` row-major (`shape = [N, C, H, W]`), `out` is `[N, C, OH, OW]` with
//! `[OH, OW] = Pool2d::output_hw(H, W)`. Longer buffers are fine (only the prefix is used),
//! shorter ones give [`Error::BufferTooSmall`]. Nothing is written on error.
//!
//! # Fast paths
//! [`max_pool2d`] and [`avg_pool2d`] give bit-identical results to their reference twins:
//! they perform the same operations per window in the same order (sums start from `-0.0`
//! and add taps in row-major order), only organised by output row and tap, with borders
//! handled by index ranges, plus AVX2 / NEON loops for 2x2 windows with stride 2 and no
//! padding. [`global_avg_pool2d`] sums in the fixed eight-lane order of
//! [`crate::kernels::reduce`], so it may differ from its reference by rounding.

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod aarch64;
mod generic;
mod reference;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::{Error, Result};
use crate::kernels::check_len;
use crate::kernels::reduce::{sum_lanes, Path};

/// Parameters of a 2-D max or average pooling; also the attribute record of the pooling
/// ops in `.born` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pool2d {
    /// Window size `[height, width]`; both at least 1.
    pub kernel: [usize; 2],
    /// Step between windows `[height, width]`; both at least 1.
    pub stride: [usize; 2],
    /// Implicit padding `[top, left, bottom, right]`; each at most half the kernel size along
    /// its axis (`kernel / 2`, as PyTorch requires).
    pub padding: [usize; 4],
    /// Spacing between window taps `[height, width]`; both at least 1.
    pub dilation: [usize; 2],
    /// Round the output size up instead of down (see the [module docs](self)).
    pub ceil_mode: bool,
    /// Average pooling divides by the taps inside the padded input instead of the taps
    /// inside the input. Ignored by max pooling.
    pub count_include_pad: bool,
}

/// Names used in errors for one spatial axis.
struct AxisNames {
    input: &'static str,
    kernel: &'static str,
    stride: &'static str,
    dilation: &'static str,
    padding: &'static str,
    too_small: &'static str,
}

const HEIGHT: AxisNames = AxisNames {
    input: "input height",
    kernel: "kernel height",
    stride: "stride height must be at least 1",
    dilation: "dilation height must be at least 1",
    padding: "top/bottom padding exceeds half the kernel height",
    too_small: "dilated kernel height exceeds the padded input height",
};

const WIDTH: AxisNames = AxisNames {
    input: "input width",
    kernel: "kernel width",
    stride: "stride width must be at least 1",
    dilation: "dilation width must be at least 1",
    padding: "left/right padding exceeds half the kernel width",
    too_small: "dilated kernel width exceeds the padded input width",
};

/// Output length of one axis, validating its parameters (see [`Pool2d::output_hw`]).
#[allow(clippy::too_many_arguments)]
fn axis_out(
    op: &'static str,
    names: &AxisNames,
    n: usize,
    k: usize,
    s: usize,
    d: usize,
    p0: usize,
    p1: usize,
    ceil: bool,
) -> Result<usize> {
    if k == 0 {
        return Err(Error::ZeroDim {
            op,
            what: names.kernel,
        });
    }
    if s == 0 {
        return Err(Error::InvalidArgument {
            op,
            what: names.stride,
        });
    }
    if d == 0 {
        return Err(Error::InvalidArgument {
            op,
            what: names.dilation,
        });
    }
    if n == 0 {
        return Err(Error::ZeroDim {
            op,
            what: names.input,
        });
    }
    if p0 > k / 2 || p1 > k / 2 {
        return Err(Error::InvalidArgument {
            op,
            what: names.padding,
        });
    }
    let overflow = Error::Overflow { op };
    let span = d
        .checked_mul(k - 1)
        .and_then(|v| v.checked_add(1))
        .ok_or(overflow)?;
    let padded = n
        .checked_add(p0)
        .and_then(|v| v.checked_add(p1))
        .ok_or(overflow)?;
    // Every tap position the kernels compute is below `padded + s`; make sure it fits.
    let room = padded.checked_add(s).ok_or(overflow)? - if ceil { 1 } else { s };
    if room < span {
        return Err(Error::InvalidArgument {
            op,
            what: names.too_small,
        });
    }
    let mut o = (room - span) / s + 1;
    if ceil && (o - 1) * s >= n + p0 {
        o -= 1;
    }
    Ok(o)
}

impl Pool2d {
    /// A `kernel`-sized pooling with stride equal to the kernel, no padding, dilation 1,
    /// floor mode and `count_include_pad == false`.
    pub fn new(kernel: [usize; 2]) -> Pool2d {
        Pool2d {
            kernel,
            stride: kernel,
            padding: [0; 4],
            dilation: [1, 1],
            ceil_mode: false,
            count_include_pad: false,
        }
    }

    /// Output `[height, width]` for an `h x w` input, by PyTorch's formula (see the
    /// [module docs](self)).
    ///
    /// Errors: [`Error::ZeroDim`] for a zero kernel size or a zero input size;
    /// [`Error::InvalidArgument`] for a zero stride or dilation, padding above half the
    /// kernel size, or a (dilated) kernel larger than the padded input (by more than
    /// `stride - 1` in ceil mode); [`Error::Overflow`] if the sizes overflow `usize`.
    pub fn output_hw(&self, h: usize, w: usize) -> Result<[usize; 2]> {
        self.output_hw_for("pool2d", h, w)
    }

    fn output_hw_for(&self, op: &'static str, h: usize, w: usize) -> Result<[usize; 2]> {
        let [pt, pl, pb, pr] = self.padding;
        let oh = axis_out(
            op,
            &HEIGHT,
            h,
            self.kernel[0],
            self.stride[0],
            self.dilation[0],
            pt,
            pb,
            self.ceil_mode,
        )?;
        let ow = axis_out(
            op,
            &WIDTH,
            w,
            self.kernel[1],
            self.stride[1],
            self.dilation[1],
            pl,
            pr,
            self.ceil_mode,
        )?;
        Ok([oh, ow])
    }
}

/// A validated pooling problem: every length checked, every tap position known to fit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    pub(crate) planes: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) sh: usize,
    pub(crate) sw: usize,
    pub(crate) dh: usize,
    pub(crate) dw: usize,
    pub(crate) pt: usize,
    pub(crate) pl: usize,
    pub(crate) pb: usize,
    pub(crate) pr: usize,
    pub(crate) include_pad: bool,
}

impl Geom {
    /// True for the 2x2, stride-2, unpadded, undilated case with its dedicated loops.
    fn is_2x2(&self) -> bool {
        (self.kh, self.kw, self.sh, self.sw, self.dh, self.dw) == (2, 2, 2, 2, 1, 1)
            && (self.pt, self.pl, self.pb, self.pr) == (0, 0, 0, 0)
    }
}

/// Checks parameters and buffers of a pooling call.
fn prepare(
    op: &'static str,
    p: &Pool2d,
    x_len: usize,
    shape: [usize; 4],
    out_len: usize,
) -> Result<Geom> {
    let [n, c, h, w] = shape;
    let [oh, ow] = p.output_hw_for(op, h, w)?;
    let overflow = Error::Overflow { op };
    let planes = n.checked_mul(c).ok_or(overflow)?;
    let needed_in = planes
        .checked_mul(h)
        .and_then(|v| v.checked_mul(w))
        .ok_or(overflow)?;
    let needed_out = planes
        .checked_mul(oh)
        .and_then(|v| v.checked_mul(ow))
        .ok_or(overflow)?;
    check_len(op, "input", needed_in, x_len)?;
    check_len(op, "output", needed_out, out_len)?;
    let [pt, pl, pb, pr] = p.padding;
    Ok(Geom {
        planes,
        h,
        w,
        oh,
        ow,
        kh: p.kernel[0],
        kw: p.kernel[1],
        sh: p.stride[0],
        sw: p.stride[1],
        dh: p.dilation[0],
        dw: p.dilation[1],
        pt,
        pl,
        pb,
        pr,
        include_pad: p.count_include_pad,
    })
}

/// 2-D max pooling of `x` (`shape = [N, C, H, W]`) into `out` (`[N, C, OH, OW]`); padding
/// acts as `-inf` and NaN propagates. See the [module docs](self) for the exact semantics.
///
/// Errors: those of [`Pool2d::output_hw`], [`Error::Overflow`], and
/// [`Error::BufferTooSmall`] if `x` or `out` is too short.
pub fn max_pool2d(p: &Pool2d, x: &[f32], shape: [usize; 4], out: &mut [f32]) -> Result<()> {
    let g = prepare("max_pool2d", p, x.len(), shape, out.len())?;
    fast::<true>(Path::best(), &g, x, out);
    Ok(())
}

/// Scalar reference twin of [`max_pool2d`]; same contract.
pub fn max_pool2d_reference(
    p: &Pool2d,
    x: &[f32],
    shape: [usize; 4],
    out: &mut [f32],
) -> Result<()> {
    let g = prepare("max_pool2d", p, x.len(), shape, out.len())?;
    reference::pool(true, &g, x, out);
    Ok(())
}

/// 2-D average pooling of `x` (`shape = [N, C, H, W]`) into `out` (`[N, C, OH, OW]`), with
/// PyTorch's divisor rules for `count_include_pad` and `ceil_mode`. See the
/// [module docs](self) for the exact semantics.
///
/// Errors: those of [`Pool2d::output_hw`], [`Error::Overflow`], and
/// [`Error::BufferTooSmall`] if `x` or `out` is too short.
pub fn avg_pool2d(p: &Pool2d, x: &[f32], shape: [usize; 4], out: &mut [f32]) -> Result<()> {
    let g = prepare("avg_pool2d", p, x.len(), shape, out.len())?;
    fast::<false>(Path::best(), &g, x, out);
    Ok(())
}

/// Scalar reference twin of [`avg_pool2d`]; same contract.
pub fn avg_pool2d_reference(
    p: &Pool2d,
    x: &[f32],
    shape: [usize; 4],
    out: &mut [f32],
) -> Result<()> {
    let g = prepare("avg_pool2d", p, x.len(), shape, out.len())?;
    reference::pool(false, &g, x, out);
    Ok(())
}

/// Runs a checked pooling on `path`, plane by plane.
pub(crate) fn fast<const MAXIMUM: bool>(path: Path, g: &Geom, x: &[f32], out: &mut [f32]) {
    let (plane_in, plane_out) = (g.h * g.w, g.oh * g.ow);
    if plane_out == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if matches!(path, Path::Avx2) && g.is_2x2() {
        // SAFETY: `Path::Avx2` exists only after `has_avx2_fma()` returned true.
        if unsafe { x86::planes_2x2::<MAXIMUM>(g, x, out) } {
            return;
        }
    }
    for (xp, op) in x
        .chunks_exact(plane_in)
        .zip(out.chunks_exact_mut(plane_out))
        .take(g.planes)
    {
        if g.is_2x2() {
            plane_2x2::<MAXIMUM>(path, g, xp, op);
        } else {
            for (oy, orow) in op.chunks_exact_mut(g.ow).enumerate() {
                generic::pool_row::<MAXIMUM>(g, xp, oy, orow);
            }
        }
    }
}

/// One plane of the 2x2 / stride-2 / unpadded case: full windows by row loops, the
/// ceil-mode edge windows (odd `h` or `w`) one by one.
fn plane_2x2<const MAXIMUM: bool>(path: Path, g: &Geom, xp: &[f32], op: &mut [f32]) {
    let (full_y, full_x) = (g.h / 2, g.w / 2);
    for (oy, orow) in op.chunks_exact_mut(g.ow).enumerate() {
        let (body, edge) = orow.split_at_mut(full_x.min(g.ow));
        if oy < full_y {
            let r0 = &xp[2 * oy * g.w..][..g.w];
            let r1 = &xp[(2 * oy + 1) * g.w..][..g.w];
            row_2x2::<MAXIMUM>(path, r0, r1, body);
        } else {
            for (ox, o) in body.iter_mut().enumerate() {
                *o = window::<MAXIMUM>(g, xp, oy, ox);
            }
        }
        for (i, o) in edge.iter_mut().enumerate() {
            *o = window::<MAXIMUM>(g, xp, oy, full_x + i);
        }
    }
}

/// One window by the reference rule.
#[inline]
fn window<const MAXIMUM: bool>(g: &Geom, xp: &[f32], oy: usize, ox: usize) -> f32 {
    if MAXIMUM {
        reference::window_max(g, xp, oy, ox)
    } else {
        reference::window_avg(g, xp, oy, ox)
    }
}

/// A row of full 2x2 windows on `path`.
#[inline]
fn row_2x2<const MAXIMUM: bool>(path: Path, r0: &[f32], r1: &[f32], out: &mut [f32]) {
    match path {
        Path::Generic if MAXIMUM => generic::max2x2_row(r0, r1, out),
        Path::Generic => generic::avg2x2_row(r0, r1, out),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => {
            // SAFETY: `Path::Avx2` exists only after `has_avx2_fma()` returned true.
            unsafe {
                if MAXIMUM {
                    x86::max2x2_row(r0, r1, out)
                } else {
                    x86::avg2x2_row(r0, r1, out)
                }
            }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Path::Neon if MAXIMUM => aarch64::max2x2_row(r0, r1, out),
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Path::Neon => aarch64::avg2x2_row(r0, r1, out),
    }
}

/// Global average pooling: `out[n * C + c]` is the mean of plane `(n, c)` of `x`
/// (`shape = [N, C, H, W]`), summed in the fixed eight-lane order of
/// [`crate::kernels::reduce`] (deterministic; may differ from the reference by rounding).
///
/// Errors: [`Error::ZeroDim`] if `H` or `W` is zero, [`Error::Overflow`],
/// [`Error::BufferTooSmall`] if `x` is shorter than `N*C*H*W` or `out` than `N*C`.
pub fn global_avg_pool2d(x: &[f32], shape: [usize; 4], out: &mut [f32]) -> Result<()> {
    let (planes, hw) = prepare_global(x.len(), shape, out.len())?;
    let path = Path::best();
    let scale = hw as f32;
    for (o, xp) in out[..planes].iter_mut().zip(x.chunks_exact(hw)) {
        *o = sum_lanes(path, xp) / scale;
    }
    Ok(())
}

/// Scalar reference twin of [`global_avg_pool2d`] (left-to-right sums); same contract.
pub fn global_avg_pool2d_reference(x: &[f32], shape: [usize; 4], out: &mut [f32]) -> Result<()> {
    let (planes, hw) = prepare_global(x.len(), shape, out.len())?;
    reference::global_avg(planes, hw, x, out);
    Ok(())
}

/// Checks a global average pooling call; returns `(N * C, H * W)`.
fn prepare_global(x_len: usize, shape: [usize; 4], out_len: usize) -> Result<(usize, usize)> {
    let op = "global_avg_pool2d";
    let [n, c, h, w] = shape;
    if h == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "input height",
        });
    }
    if w == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "input width",
        });
    }
    let overflow = Error::Overflow { op };
    let planes = n.checked_mul(c).ok_or(overflow)?;
    let hw = h.checked_mul(w).ok_or(overflow)?;
    let needed = planes.checked_mul(hw).ok_or(overflow)?;
    check_len(op, "input", needed, x_len)?;
    check_len(op, "output", planes, out_len)?;
    Ok((planes, hw))
}
