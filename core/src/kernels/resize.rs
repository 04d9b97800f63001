//! Resize: interpolation of an f32 tensor to new extents, one axis at a time (separable
//! nearest, linear and cubic filters; every ONNX coordinate transformation; antialiasing
//! filters widened by the downsampling factor).
//!
//! Along one axis, output index `j` maps to a source coordinate `x` (see [`Coord`]); the
//! output is a weighted sum of the input elements at the `n` integer positions around `x`
//! (the filter's taps), each weight a function of the distance from `x`. Positions before
//! the first or past the last element read the edge element. Coordinates and weights are
//! computed in f64 once per output index; the sums run in f32. Taps of weight zero are not
//! read.

use crate::error::{Error, Result};
use crate::kernels::check_len;
use serde::{Deserialize, Serialize};

const OP: &str = "resize";

/// Most taps one output element reads along an axis (an antialiasing filter has about
/// `2 / scale` taps for linear and `4 / scale` for cubic; smaller scales are refused).
pub const MAX_TAPS: usize = 1 << 16;

/// How `nearest` interpolation rounds a source coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Nearest {
    /// To the nearest integer, halves down.
    RoundPreferFloor,
    /// To the nearest integer, halves up.
    RoundPreferCeil,
    /// Down.
    Floor,
    /// Up.
    Ceil,
}

/// The interpolation filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interp {
    /// The element nearest the source coordinate, rounded as given.
    Nearest(Nearest),
    /// Linear between the two elements around the source coordinate (the triangle filter
    /// `max(0, 1 - |d|)` of distance `d`).
    Linear,
    /// Cubic convolution over four elements with the kernel of coefficient
    /// [`Method::cubic_a`] (Keys): `(a+2)|d|^3 - (a+3)|d|^2 + 1` for `|d| <= 1`,
    /// `a|d|^3 - 5a|d|^2 + 8a|d| - 4a` for `1 < |d| < 2`, 0 beyond.
    Cubic,
}

/// How output index `j` of an axis maps to a source coordinate `x`, for an axis of `in`
/// input and `out` output elements resized by `scale` (`len = scale * in`, a real number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Coord {
    /// `x = (j + 0.5) / scale - 0.5`.
    HalfPixel,
    /// [`Coord::HalfPixel`] shifted so the input's centre maps to the output's centre:
    /// `x = (in / 2) (1 - out / len) + (j + 0.5) / scale - 0.5`.
    HalfPixelSymmetric,
    /// [`Coord::HalfPixel`], except `x = -0.5` when `len` is 1.
    PytorchHalfPixel,
    /// `x = j (in - 1) / (len - 1)` (0 when `len` is 1): first and last elements aligned.
    AlignCorners,
    /// `x = j / scale`.
    Asymmetric,
    /// A crop `[start, end]` (fractions of `in - 1`) resized to the output:
    /// `x = start (in - 1) + j (end - start)(in - 1) / (len - 1)` (the crop's centre when
    /// `len` is 1); an `x` outside `[0, in - 1]` gives [`Method::extrapolation`].
    TfCropAndResize,
}

/// What a resize does, the same along every axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Method {
    /// The filter.
    pub interp: Interp,
    /// The coordinate transformation.
    pub coord: Coord,
    /// The cubic kernel's coefficient `a` (-0.75 in ONNX, -0.5 in TensorFlow).
    pub cubic_a: f32,
    /// Taps outside the input get weight 0 and the remaining weights are rescaled to sum
    /// to 1 (otherwise they read the edge element).
    pub exclude_outside: bool,
    /// When downsampling (`scale < 1`), the linear or cubic filter is stretched by
    /// `1 / scale` (its distances multiplied by `scale`) and its weights normalised to sum
    /// to 1, so every input element contributes. Not for [`Interp::Nearest`].
    pub antialias: bool,
    /// The output of a [`Coord::TfCropAndResize`] coordinate outside the input.
    pub extrapolation: f32,
}

/// One axis of a resize.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Axis {
    /// Input extent.
    pub len_in: usize,
    /// Output extent.
    pub len_out: usize,
    /// The scale the coordinate transformation uses (finite and positive where the axis is
    /// resized).
    pub scale: f64,
    /// `[start, end]` of [`Coord::TfCropAndResize`] (ignored by the other transformations).
    pub roi: [f32; 2],
}

impl Axis {
    /// An axis copied unchanged (scale 1, the whole axis).
    pub const fn keep(len: usize) -> Axis {
        Axis {
            len_in: len,
            len_out: len,
            scale: 1.0,
            roi: [0.0, 1.0],
        }
    }

    /// True when resizing along this axis with `m` returns the input unchanged, and so is
    /// skipped: scale 1, the same extent, and for [`Coord::TfCropAndResize`] the whole axis.
    pub fn is_identity(&self, m: &Method) -> bool {
        self.scale == 1.0
            && self.len_in == self.len_out
            && (m.coord != Coord::TfCropAndResize || self.roi == [0.0, 1.0])
    }
}

/// `x` rounded down (no `std`): values of magnitude `2^52` and more (all integers), NaN
/// and infinities pass through.
fn floor(x: f64) -> f64 {
    const BIG: f64 = 4_503_599_627_370_496.0; // 2^52
    if !(x > -BIG && x < BIG) {
        return x;
    }
    // |x| < 2^52: the conversion truncates toward zero and both conversions are exact.
    let t = x as i64 as f64;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// The filter's taps: `n` (even) positions `f + k` for `k` in `1 - n/2 .. 1 + n/2`.
fn taps(m: &Method, ax: &Axis) -> f64 {
    let s = ax.scale.min(1.0);
    match m.interp {
        Interp::Nearest(_) => 2.0,
        Interp::Linear if m.antialias => 2.0 - 2.0 * (floor(-1.0 / s) + 1.0),
        Interp::Cubic if m.antialias => 2.0 - 2.0 * (floor(-2.0 / s) + 1.0),
        Interp::Linear => 2.0,
        Interp::Cubic => 4.0,
    }
}

/// The number of taps of axis `ax` under `m`, or `None` past [`MAX_TAPS`] (an antialiasing
/// scale too small, or not positive).
pub fn tap_count(m: &Method, ax: &Axis) -> Option<usize> {
    let n = taps(m, ax);
    (n >= 2.0 && n <= MAX_TAPS as f64).then_some(n as usize)
}

/// The source coordinate of output index `j`, and whether it lies outside the input
/// ([`Coord::TfCropAndResize`] only).
fn source(m: &Method, ax: &Axis, j: usize) -> (f64, bool) {
    let (y, s, n_in) = (j as f64, ax.scale, ax.len_in as f64);
    let len = s * n_in;
    let x = match m.coord {
        Coord::HalfPixel => (y + 0.5) / s - 0.5,
        Coord::HalfPixelSymmetric => {
            let offset = n_in / 2.0 * (1.0 - ax.len_out as f64 / len);
            offset + (y + 0.5) / s - 0.5
        }
        Coord::PytorchHalfPixel if len == 1.0 => -0.5,
        Coord::PytorchHalfPixel => (y + 0.5) / s - 0.5,
        Coord::AlignCorners if len == 1.0 => 0.0,
        Coord::AlignCorners => y * (n_in - 1.0) / (len - 1.0),
        Coord::Asymmetric => y / s,
        Coord::TfCropAndResize => {
            // The crop's own terms in f32, the precision of `roi` (as ONNX's reference).
            let [r0, r1] = ax.roi;
            let (span, last) = (r1 - r0, ax.len_in as f32 - 1.0);
            let x = if len == 1.0 {
                f64::from(span * last / 2.0)
            } else {
                y * f64::from(span) * (n_in - 1.0) / (len - 1.0)
            };
            let x = x + f64::from(r0 * last);
            return (x, !(x >= 0.0 && x <= n_in - 1.0));
        }
    };
    (x, false)
}

/// The cubic convolution kernel of coefficient `a` at distance `d >= 0`.
fn cubic(a: f64, d: f64) -> f64 {
    if d <= 1.0 {
        ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
    } else if d < 2.0 {
        ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
    } else {
        0.0
    }
}

/// The unnormalised weight of tap `k` (position `f + k`) for a coordinate `f + ratio`,
/// `ratio` in `(0, 1]`.
fn weight(m: &Method, s: f64, ratio: f64, k: i64) -> f64 {
    let d = k as f64 - ratio;
    let d = if d < 0.0 { -d } else { d };
    match m.interp {
        Interp::Nearest(mode) => {
            let up = ratio == 1.0
                || match mode {
                    Nearest::RoundPreferFloor => ratio > 0.5,
                    Nearest::RoundPreferCeil => ratio >= 0.5,
                    Nearest::Floor => false,
                    Nearest::Ceil => true,
                };
            f64::from(u8::from(k == i64::from(up)))
        }
        Interp::Linear => {
            let t = 1.0 - d * s;
            if t > 0.0 {
                t
            } else {
                0.0
            }
        }
        Interp::Cubic => cubic(f64::from(m.cubic_a), d * s),
    }
}

/// Resizes along one axis: `x` holds `outer * len_in * inner` elements (the axis in the
/// middle), `out` receives `outer * len_out * inner`. Longer buffers are used in their first
/// elements; shorter ones are an error, as is an axis with more taps than [`MAX_TAPS`].
pub fn resize_axis(
    m: &Method,
    ax: &Axis,
    outer: usize,
    inner: usize,
    x: &[f32],
    out: &mut [f32],
) -> Result<()> {
    let overflow = Error::Overflow { op: OP };
    let n_in = outer
        .checked_mul(ax.len_in)
        .and_then(|v| v.checked_mul(inner));
    let n_out = outer
        .checked_mul(ax.len_out)
        .and_then(|v| v.checked_mul(inner));
    let (n_in, n_out) = (n_in.ok_or(overflow)?, n_out.ok_or(overflow)?);
    check_len(OP, "input", n_in, x.len())?;
    check_len(OP, "output", n_out, out.len())?;
    if n_out == 0 {
        return Ok(());
    }
    if ax.len_in == 0 {
        return Err(Error::ZeroDim {
            op: OP,
            what: "input extent of a resized axis",
        });
    }
    let n = tap_count(m, ax).ok_or(Error::InvalidArgument {
        op: OP,
        what: "antialiasing filter too wide (scale too small)",
    })?;
    let s = if m.antialias { ax.scale.min(1.0) } else { 1.0 };
    let last = ax.len_in as i64 - 1;
    let k0 = 1 - (n / 2) as i64;
    let row = |o: usize, len: usize, i: usize| (o * len + i) * inner;
    for j in 0..ax.len_out {
        let (xs, outside) = source(m, ax, j);
        if outside {
            for o in 0..outer {
                let d = out.get_mut(row(o, ax.len_out, j)..).ok_or(overflow)?;
                d.iter_mut().take(inner).for_each(|v| *v = m.extrapolation);
            }
            continue;
        }
        // Tap k (in k0 .. k0 + n) weighs the distance from x to f + k, with f = floor(x)
        // (x - 1 at an integer x) so the fraction `ratio` = x - f is in (0, 1]. It reads
        // the element at `start + k - k0`: the n positions nearest x (the lower ones on a
        // tie), found as ONNX's reference does from x + n/2 (so where x is within rounding
        // of an integer, the window follows the rounded sum).
        let fl = floor(xs);
        let ratio = if fl == xs { 1.0 } else { xs - fl };
        let half = (n / 2) as f64;
        let xp = xs + half;
        let p = floor(xp);
        let start = p - half - half + if xp == p { 0.0 } else { 1.0 };
        let start = (start as i64).saturating_sub(k0);
        let at = |k: i64| start.saturating_add(k);
        let inside = |k: i64| (0..=last).contains(&at(k));
        let norm = if m.exclude_outside || m.antialias {
            let mut sum = 0.0;
            for k in k0..k0 + n as i64 {
                if !m.exclude_outside || inside(k) {
                    sum += weight(m, s, ratio, k);
                }
            }
            if sum == 0.0 {
                1.0
            } else {
                sum
            }
        } else {
            1.0
        };
        for o in 0..outer {
            let d = out.get_mut(row(o, ax.len_out, j)..).ok_or(overflow)?;
            d.iter_mut().take(inner).for_each(|v| *v = 0.0);
        }
        for k in k0..k0 + n as i64 {
            if m.exclude_outside && !inside(k) {
                continue;
            }
            let w = (weight(m, s, ratio, k) / norm) as f32;
            if w == 0.0 {
                continue;
            }
            let i = at(k).clamp(0, last) as usize;
            for o in 0..outer {
                let src = x.get(row(o, ax.len_in, i)..).ok_or(overflow)?;
                let dst = out.get_mut(row(o, ax.len_out, j)..).ok_or(overflow)?;
                for (d, &v) in dst.iter_mut().zip(src).take(inner) {
                    *d += w * v;
                }
            }
        }
    }
    Ok(())
}

/// Elements of the intermediate buffers of a resize: the axes that are not identities are
/// resized in order, the first into buffer 0, the next into buffer 1, alternating, the last
/// into the output. Returns both buffers' lengths (`None` when sizes overflow).
fn buffers(m: &Method, axes: &[Axis]) -> Option<[usize; 2]> {
    let mut dims = [0usize; crate::shape::MAX_RANK];
    for (d, a) in dims.iter_mut().zip(axes) {
        *d = a.len_in;
    }
    let active = axes.iter().filter(|a| !a.is_identity(m)).count();
    let mut bufs = [0usize; 2];
    let mut done = 0;
    for (i, a) in axes.iter().enumerate() {
        if a.is_identity(m) {
            continue;
        }
        *dims.get_mut(i)? = a.len_out;
        if done + 1 < active {
            let numel = dims
                .get(..axes.len())?
                .iter()
                .try_fold(1usize, |p, &d| p.checked_mul(d))?;
            let b = bufs.get_mut(done % 2)?;
            *b = (*b).max(numel);
        }
        done += 1;
    }
    Some(bufs)
}

/// f32 elements of scratch [`resize`] needs for `axes` (`None` when sizes overflow).
pub fn scratch_len(m: &Method, axes: &[Axis]) -> Option<usize> {
    let [a, b] = buffers(m, axes)?;
    a.checked_add(b)
}

/// Resizes `x` (extents `axes[i].len_in`, row-major) into `out` (extents
/// `axes[i].len_out`), axis after axis, skipping identity axes ([`Axis::is_identity`]);
/// `scratch` holds at least [`scratch_len`] elements. Lengths are checked; an axis that is
/// not resized must keep its extent.
pub fn resize(
    m: &Method,
    axes: &[Axis],
    x: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let overflow = Error::Overflow { op: OP };
    if axes.len() > crate::shape::MAX_RANK {
        return Err(Error::RankTooLarge {
            op: OP,
            rank: axes.len(),
        });
    }
    let numel = |f: fn(&Axis) -> usize| {
        axes.iter()
            .try_fold(1usize, |p, a| p.checked_mul(f(a)))
            .ok_or(overflow)
    };
    let (n_in, n_out) = (numel(|a| a.len_in)?, numel(|a| a.len_out)?);
    if x.len() != n_in || out.len() != n_out {
        return Err(Error::DimMismatch {
            op: OP,
            what: "buffer length",
            expected: if x.len() != n_in { n_in } else { n_out },
            got: if x.len() != n_in { x.len() } else { out.len() },
        });
    }
    if n_out == 0 {
        return Ok(());
    }
    let [b0, b1] = buffers(m, axes).ok_or(overflow)?;
    check_len(OP, "scratch", b0.saturating_add(b1), scratch.len())?;
    let (s0, rest) = scratch.split_at_mut_checked(b0).ok_or(overflow)?;
    let s1 = rest.get_mut(..b1).ok_or(overflow)?;
    let active = axes.iter().filter(|a| !a.is_identity(m)).count();
    if active == 0 {
        out.copy_from_slice(x);
        return Ok(());
    }
    let mut dims = [0usize; crate::shape::MAX_RANK];
    for (d, a) in dims.iter_mut().zip(axes) {
        *d = a.len_in;
    }
    let mut done = 0;
    for (i, a) in axes.iter().enumerate() {
        if a.is_identity(m) {
            continue;
        }
        let outer: usize = dims.get(..i).ok_or(overflow)?.iter().product();
        let inner: usize = dims
            .get(i + 1..axes.len())
            .ok_or(overflow)?
            .iter()
            .product();
        let last = done + 1 == active;
        let (src, dst): (&[f32], &mut [f32]) = match (done, last) {
            (0, true) => (x, &mut *out),
            (0, false) => (x, &mut *s0),
            (d, true) if d % 2 == 1 => (&*s0, &mut *out),
            (_, true) => (&*s1, &mut *out),
            (d, false) if d % 2 == 1 => (&*s0, &mut *s1),
            (_, false) => (&*s1, &mut *s0),
        };
        resize_axis(m, a, outer, inner, src, dst)?;
        *dims.get_mut(i).ok_or(overflow)? = a.len_out;
        done += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_edges() {
        assert_eq!(floor(-0.5), -1.0);
        assert_eq!(floor(2.0), 2.0);
        assert_eq!(floor(-3.0), -3.0);
        assert_eq!(floor(1e300), 1e300);
        assert!(floor(f64::NAN).is_nan());
    }
}
