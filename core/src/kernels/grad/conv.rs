//! Gradients of the 2-D convolution [`conv2d`](crate::kernels::conv::conv2d) (layouts and
//! parameters as in [`crate::kernels::conv`]: NCHW input, OIHW weight, groups, four-sided
//! zero padding, stride, dilation).
//!
//! With `K = c_in / groups * kh * kw` and the im2col matrix `col` (`K x oh*ow`, row
//! `(ic, ky, kx)` holding the input value each output position sees through that tap, 0 in
//! the padding), the forward pass of one (image, group) is `out = W * col`. So:
//! - **weight** ([`conv2d_backward_weight`]): `grad_W += grad_out * col^T`, one
//!   [`sgemm`](crate::kernels::gemm::sgemm) with `trans_b` per (image, group), accumulated
//!   in image order (`beta = 0` for the first image, 1 after); when `K < c_out / groups`
//!   the transposed product `col * grad_out^T` is accumulated instead and transposed at the
//!   end (the same sums, in a better tile shape);
//! - **input** ([`conv2d_backward_input`]): `dcol = W^T * grad_out` (`trans_a`), then col2im
//!   adds each row of `dcol` back onto the input positions it was read from, taps in
//!   `(ic, ky, kx)` order, output positions in row-major order;
//! - **bias** ([`conv2d_backward_bias`]): `grad_out` summed over N, H and W.
//!
//! 1 x 1 convolutions with stride 1 and no padding skip im2col and col2im (the input already
//! is `col`). The `*_reference` twins are plain loops over every (output, tap) pair; the
//! fast paths sum in a different order, so they agree within GEMM rounding.

use super::{check_eq, internal, product};
use crate::kernels::conv::{Conv2d, Geom};
use crate::kernels::gemm::{self, Gemm};
use crate::Result;

const OP_IN: &str = "conv2d_backward_input";
const OP_W: &str = "conv2d_backward_weight";
const OP_B: &str = "conv2d_backward_bias";

/// `K`, the rows of the im2col matrix.
fn taps(g: &Geom) -> usize {
    g.cg * g.kh * g.kw
}

/// True when the input itself is the im2col matrix.
fn pointwise(g: &Geom) -> bool {
    g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pads == [0; 4]
}

/// Elements of the im2col buffer (0 for pointwise convolutions).
fn col_len(op: &'static str, g: &Geom) -> Result<usize> {
    if pointwise(g) {
        Ok(0)
    } else {
        product(op, &[taps(g), g.oh, g.ow])
    }
}

/// True when the weight gradient is computed transposed, `grad_W^T = col * grad_out^T`
/// (`K x og`, then transposed into place): faster when `K < og`, where the plain product's
/// narrow `n = K` would waste most of each micro-kernel tile.
fn weight_transposed(g: &Geom) -> bool {
    taps(g) < g.og
}

fn weight_gemm(g: &Geom) -> Gemm {
    let (m, n) = if weight_transposed(g) {
        (taps(g), g.og)
    } else {
        (g.og, taps(g))
    };
    Gemm {
        trans_b: true,
        ..Gemm::new(m, n, g.oh * g.ow)
    }
}

/// Elements of the transposed weight-gradient buffer (0 unless [`weight_transposed`]).
fn weight_t_len(g: &Geom) -> usize {
    if weight_transposed(g) {
        taps(g) * g.og
    } else {
        0
    }
}

fn input_gemm(g: &Geom) -> Gemm {
    Gemm {
        trans_a: true,
        ..Gemm::new(taps(g), g.oh * g.ow, g.og)
    }
}

fn scratch_for(op: &'static str, g: &Geom, gm: &Gemm) -> Result<usize> {
    col_len(op, g)?
        .checked_add(gemm::scratch_len(gm))
        .ok_or(crate::Error::Overflow { op })
}

/// f32 elements of scratch [`conv2d_backward_input`] needs: the `K x oh*ow` im2col-shaped
/// buffer (none for 1 x 1, stride 1, unpadded convolutions) plus the GEMM's packing scratch.
/// Errors as [`Conv2d::output_shape`].
pub fn conv2d_backward_input_scratch_len(
    p: &Conv2d,
    input_shape: [usize; 4],
    weight_shape: [usize; 4],
) -> Result<usize> {
    let g = p.geom(input_shape, weight_shape)?;
    scratch_for(OP_IN, &g, &input_gemm(&g))
}

/// f32 elements of scratch [`conv2d_backward_weight`] needs: the `K x oh*ow` im2col matrix
/// (none for 1 x 1, stride 1, unpadded convolutions) plus the GEMM's packing scratch.
/// Errors as [`Conv2d::output_shape`].
pub fn conv2d_backward_weight_scratch_len(
    p: &Conv2d,
    input_shape: [usize; 4],
    weight_shape: [usize; 4],
) -> Result<usize> {
    let g = p.geom(input_shape, weight_shape)?;
    weight_scratch(&g)
}

fn weight_scratch(g: &Geom) -> Result<usize> {
    scratch_for(OP_W, g, &weight_gemm(g))?
        .checked_add(weight_t_len(g))
        .ok_or(crate::Error::Overflow { op: OP_W })
}

/// Output columns `lo..hi` whose tap at column offset `off = kx * dilation_w` falls inside
/// the input (`0 <= ox * stride_w + off - pad_left < w`).
fn col_range(g: &Geom, off: usize) -> (usize, usize) {
    let lo = if off >= g.pl {
        0
    } else {
        (g.pl - off).div_ceil(g.sw)
    };
    let end = g.w + g.pl;
    let hi = if end > off {
        (end - off).div_ceil(g.sw).min(g.ow)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// Input row of output row `oy` through tap row `ky`, if inside the input.
fn input_row(g: &Geom, oy: usize, ky: usize) -> Option<usize> {
    let iy = oy * g.sh + ky * g.dh;
    (iy >= g.pt && iy - g.pt < g.h).then(|| iy - g.pt)
}

/// Calls `f(tap_row, plane, ky, kx)` for each im2col row of one (image, group), in
/// `(ic, ky, kx)` order; `rows` yields the rows of the `K x oh*ow` buffer.
fn for_each_tap<'a, R: 'a, P>(
    g: &Geom,
    planes: impl Iterator<Item = P>,
    mut rows: impl Iterator<Item = R>,
    mut f: impl FnMut(R, &mut P, usize, usize) -> Option<()>,
) -> Option<()> {
    for mut plane in planes.take(g.cg) {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                f(rows.next()?, &mut plane, ky, kx)?;
            }
        }
    }
    Some(())
}

/// Writes the im2col matrix of one (image, group) input `x` (`cg * h * w`) into `col`.
fn im2col(x: &[f32], g: &Geom, col: &mut [f32]) -> Option<()> {
    let ohw = g.oh * g.ow;
    let rows = col.get_mut(..taps(g) * ohw)?.chunks_exact_mut(ohw);
    for_each_tap(g, x.chunks_exact(g.h * g.w), rows, |r, plane, ky, kx| {
        let off = kx * g.dw;
        let (lo, hi) = col_range(g, off);
        for (oy, seg) in r.chunks_exact_mut(g.ow).enumerate() {
            let Some(iy) = input_row(g, oy, ky).filter(|_| lo < hi) else {
                seg.fill(0.0);
                continue;
            };
            let row = plane.get(iy * g.w..(iy + 1) * g.w)?;
            let (head, rest) = seg.split_at_mut(lo);
            let (mid, tail) = rest.split_at_mut(hi - lo);
            head.fill(0.0);
            tail.fill(0.0);
            let start = lo * g.sw + off - g.pl;
            if g.sw == 1 {
                mid.copy_from_slice(row.get(start..start + mid.len())?);
            } else {
                let src = row.get(start..)?.iter().step_by(g.sw);
                for (d, &s) in mid.iter_mut().zip(src) {
                    *d = s;
                }
            }
        }
        Some(())
    })
}

/// Adds each row of `col` (`K x oh*ow`) onto the input positions of one (image, group)
/// that im2col reads it from; `x` (`cg * h * w`) is accumulated into.
fn col2im_add(col: &[f32], g: &Geom, x: &mut [f32]) -> Option<()> {
    let ohw = g.oh * g.ow;
    let rows = col.get(..taps(g) * ohw)?.chunks_exact(ohw);
    for_each_tap(
        g,
        x.chunks_exact_mut(g.h * g.w),
        rows,
        |r, plane, ky, kx| {
            let off = kx * g.dw;
            let (lo, hi) = col_range(g, off);
            if lo >= hi {
                return Some(());
            }
            for (oy, seg) in r.chunks_exact(g.ow).enumerate() {
                let Some(iy) = input_row(g, oy, ky) else {
                    continue;
                };
                let row = plane.get_mut(iy * g.w..(iy + 1) * g.w)?;
                let src = seg.get(lo..hi)?;
                let start = lo * g.sw + off - g.pl;
                if g.sw == 1 {
                    let dst = row.get_mut(start..start + src.len())?;
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += s;
                    }
                } else {
                    let dst = row.get_mut(start..)?.iter_mut().step_by(g.sw);
                    for (d, &s) in dst.zip(src) {
                        *d += s;
                    }
                }
            }
            Some(())
        },
    )
}

/// Gradient of the convolution with respect to its input: `grad_input` (`input_shape`,
/// overwritten) from `weight` (`weight_shape`) and `grad_out` (the forward output's shape).
///
/// `scratch` must hold [`conv2d_backward_input_scratch_len`] elements (contents ignored).
/// Errors: those of [`Conv2d::output_shape`]; [`crate::Error::DimMismatch`] when a buffer
/// does not have exactly its shape's length; [`crate::Error::BufferTooSmall`] for short
/// scratch. Nothing is written on error.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_input(
    p: &Conv2d,
    weight: &[f32],
    weight_shape: [usize; 4],
    grad_out: &[f32],
    input_shape: [usize; 4],
    grad_input: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_eq(OP_IN, "weight length", g.weight_len, weight.len())?;
    check_eq(OP_IN, "grad_out length", g.out_len, grad_out.len())?;
    check_eq(OP_IN, "grad_input length", g.input_len, grad_input.len())?;
    let gm = input_gemm(&g);
    let cl = col_len(OP_IN, &g)?;
    crate::kernels::check_len(
        OP_IN,
        "scratch",
        scratch_for(OP_IN, &g, &gm)?,
        scratch.len(),
    )?;
    let (col, gs) = scratch.split_at_mut(cl);
    let (hw, ohw, kk) = (g.h * g.w, g.oh * g.ow, taps(&g));
    let wlen = g.og * kk;
    let xs = grad_input.chunks_exact_mut(g.cg * hw);
    let gos = grad_out.chunks_exact(g.og * ohw);
    for (i, (xi, go)) in xs.zip(gos).enumerate() {
        let grp = i % g.groups;
        let w = weight
            .get(grp * wlen..(grp + 1) * wlen)
            .ok_or(internal(OP_IN))?;
        if pointwise(&g) {
            gemm::sgemm(&gm, w, kk, go, ohw, xi, ohw, gs)?;
        } else {
            gemm::sgemm(&gm, w, kk, go, ohw, col, ohw, gs)?;
            xi.fill(0.0);
            col2im_add(col, &g, xi).ok_or(internal(OP_IN))?;
        }
    }
    Ok(())
}

/// Gradient of the convolution with respect to its weight: `grad_weight` (`weight_shape`,
/// overwritten) from `input` (`input_shape`) and `grad_out`, summed over the batch in image
/// order.
///
/// `scratch` must hold [`conv2d_backward_weight_scratch_len`] elements (contents ignored).
/// Errors as [`conv2d_backward_input`].
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_weight(
    p: &Conv2d,
    input: &[f32],
    input_shape: [usize; 4],
    grad_out: &[f32],
    weight_shape: [usize; 4],
    grad_weight: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_eq(OP_W, "input length", g.input_len, input.len())?;
    check_eq(OP_W, "grad_out length", g.out_len, grad_out.len())?;
    check_eq(OP_W, "grad_weight length", g.weight_len, grad_weight.len())?;
    let gm = weight_gemm(&g);
    let cl = col_len(OP_W, &g)?;
    crate::kernels::check_len(OP_W, "scratch", weight_scratch(&g)?, scratch.len())?;
    let (col, rest) = scratch.split_at_mut(cl);
    let (wt, gs) = rest.split_at_mut(weight_t_len(&g));
    let (hw, ohw, kk) = (g.h * g.w, g.oh * g.ow, taps(&g));
    let wlen = g.og * kk;
    let (xlen, olen) = (g.cg * hw, g.og * ohw);
    let mut gws = grad_weight.chunks_exact_mut(wlen);
    // Groups outer, images inner: each group's gradient is summed in image order.
    for grp in 0..g.groups {
        let gw = gws.next().ok_or(internal(OP_W))?;
        for n in 0..g.n {
            let i = n * g.groups + grp;
            let x = input.get(i * xlen..(i + 1) * xlen).ok_or(internal(OP_W))?;
            let go = grad_out
                .get(i * olen..(i + 1) * olen)
                .ok_or(internal(OP_W))?;
            let gb = Gemm {
                beta: if n == 0 { 0.0 } else { 1.0 },
                ..gm
            };
            let b = if pointwise(&g) {
                x
            } else {
                im2col(x, &g, col).ok_or(internal(OP_W))?;
                &*col
            };
            if weight_transposed(&g) {
                gemm::sgemm(&gb, b, ohw, go, ohw, wt, g.og, gs)?;
            } else {
                gemm::sgemm(&gb, go, ohw, b, ohw, gw, kk, gs)?;
            }
        }
        if weight_transposed(&g) {
            for (o, row) in gw.chunks_exact_mut(kk).enumerate() {
                for (p, d) in row.iter_mut().enumerate() {
                    *d = wt.get(p * g.og + o).copied().ok_or(internal(OP_W))?;
                }
            }
        }
    }
    Ok(())
}

fn check_bias(grad_out: &[f32], out_shape: [usize; 4], grad_bias: &[f32]) -> Result<usize> {
    let [_, o, oh, ow] = out_shape;
    check_eq(
        OP_B,
        "grad_out length",
        product(OP_B, &out_shape)?,
        grad_out.len(),
    )?;
    check_eq(OP_B, "grad_bias length", o, grad_bias.len())?;
    Ok(oh * ow)
}

/// Gradient of the convolution with respect to its bias: `grad_bias[o]` (overwritten) is the
/// sum of `grad_out` (`out_shape = [n, c_out, oh, ow]`) over N, H and W, each plane summed
/// in eight interleaved lanes, planes added in image order.
///
/// Errors: [`crate::Error::DimMismatch`] when `grad_out` does not hold `out_shape`'s elements
/// or `grad_bias` not `c_out`; [`crate::Error::Overflow`].
pub fn conv2d_backward_bias(
    grad_out: &[f32],
    out_shape: [usize; 4],
    grad_bias: &mut [f32],
) -> Result<()> {
    let plane = check_bias(grad_out, out_shape, grad_bias)?;
    grad_bias.fill(0.0);
    let (o, len) = (grad_bias.len(), grad_bias.len());
    if plane == 0 || o == 0 {
        return Ok(());
    }
    for (i, p) in grad_out.chunks_exact(plane).enumerate() {
        if let Some(b) = grad_bias.get_mut(i % len) {
            *b += sum8(p);
        }
    }
    Ok(())
}

/// Sum in eight interleaved lanes, `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`, then
/// the tail in order.
pub(crate) fn sum8(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    let s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    it.remainder().iter().fold(s, |s, &v| s + v)
}

/// Reference twin of [`conv2d_backward_bias`]: one sequential sum per channel over
/// `(n, oy, ox)`. Same contract.
pub fn conv2d_backward_bias_reference(
    grad_out: &[f32],
    out_shape: [usize; 4],
    grad_bias: &mut [f32],
) -> Result<()> {
    let plane = check_bias(grad_out, out_shape, grad_bias)?;
    let [n, o, _, _] = out_shape;
    for (oc, b) in grad_bias.iter_mut().enumerate() {
        let mut s = 0.0f32;
        for img in 0..n {
            let start = (img * o + oc) * plane;
            for &v in grad_out.get(start..start + plane).unwrap_or(&[]) {
                s += v;
            }
        }
        *b = s;
    }
    Ok(())
}

/// Visits every (output element, tap inside the input) pair of the convolution as
/// `f(out_index, weight_index, input_index)`, in `(n, o, oy, ox, ic, ky, kx)` order.
fn each_pair(g: &Geom, mut f: impl FnMut(usize, usize, usize) -> Option<()>) -> Option<()> {
    for n in 0..g.n {
        for o in 0..g.o {
            let grp = o / g.og;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let oi = ((n * g.o + o) * g.oh + oy) * g.ow + ox;
                    for ic in 0..g.cg {
                        let c = grp * g.cg + ic;
                        for ky in 0..g.kh {
                            let Some(iy) = input_row(g, oy, ky) else {
                                continue;
                            };
                            for kx in 0..g.kw {
                                let ix = ox * g.sw + kx * g.dw;
                                if ix < g.pl || ix - g.pl >= g.w {
                                    continue;
                                }
                                let wi = ((o * g.cg + ic) * g.kh + ky) * g.kw + kx;
                                let xi = ((n * g.c + c) * g.h + iy) * g.w + (ix - g.pl);
                                f(oi, wi, xi)?;
                            }
                        }
                    }
                }
            }
        }
    }
    Some(())
}

/// Reference twin of [`conv2d_backward_input`]: `grad_input[x] += weight[w] * grad_out[o]`
/// over every (output, tap) pair in `(n, o, oy, ox, ic, ky, kx)` order. No scratch;
/// otherwise the same contract.
pub fn conv2d_backward_input_reference(
    p: &Conv2d,
    weight: &[f32],
    weight_shape: [usize; 4],
    grad_out: &[f32],
    input_shape: [usize; 4],
    grad_input: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_eq(OP_IN, "weight length", g.weight_len, weight.len())?;
    check_eq(OP_IN, "grad_out length", g.out_len, grad_out.len())?;
    check_eq(OP_IN, "grad_input length", g.input_len, grad_input.len())?;
    grad_input.fill(0.0);
    each_pair(&g, |oi, wi, xi| {
        *grad_input.get_mut(xi)? += weight.get(wi)? * grad_out.get(oi)?;
        Some(())
    })
    .ok_or(internal(OP_IN))
}

/// Reference twin of [`conv2d_backward_weight`]: `grad_weight[w] += input[x] * grad_out[o]`
/// over every (output, tap) pair in `(n, o, oy, ox, ic, ky, kx)` order. No scratch;
/// otherwise the same contract.
pub fn conv2d_backward_weight_reference(
    p: &Conv2d,
    input: &[f32],
    input_shape: [usize; 4],
    grad_out: &[f32],
    weight_shape: [usize; 4],
    grad_weight: &mut [f32],
) -> Result<()> {
    let g = p.geom(input_shape, weight_shape)?;
    check_eq(OP_W, "input length", g.input_len, input.len())?;
    check_eq(OP_W, "grad_out length", g.out_len, grad_out.len())?;
    check_eq(OP_W, "grad_weight length", g.weight_len, grad_weight.len())?;
    grad_weight.fill(0.0);
    each_pair(&g, |oi, wi, xi| {
        *grad_weight.get_mut(wi)? += input.get(xi)? * grad_out.get(oi)?;
        Some(())
    })
    .ok_or(internal(OP_W))
}
