//! GridSample: an f32 tensor `x [N, C, D1, .., Dr]` sampled at the points of a grid
//! `[N, O1, .., Or, r]` of normalized coordinates (ONNX `GridSample`, PyTorch
//! `grid_sample`), giving `[N, C, O1, .., Or]`.
//!
//! The last grid axis holds one coordinate per spatial axis in reverse order (for 2-D:
//! `x` along the width, then `y` along the height). A coordinate `g` of an axis of extent
//! `d` is denormalized (in f32) to `(g + 1) / 2 * (d - 1)` with aligned corners (`-1` and
//! `1` are the centres of the first and last elements) or `((g + 1) d - 1) / 2` without
//! (`-1` and `1` are the outer edges of those elements). The sample range of the axis is
//! `[0, d - 1]` with aligned corners and `[-0.5, d - 0.5]` without; a coordinate outside
//! it is clamped to `[0, d - 1]` under [`Padding::Border`] and reflected into the range
//! under [`Padding::Reflection`]. The filter's taps at integer positions then read the
//! input, each position outside `0..d` mapped by the padding (zero, the clamped position,
//! or the reflected position rounded toward zero). Weights are computed in f32, per axis;
//! the weighted sums run from the last spatial axis outwards.
//!
//! A grid point whose denormalized coordinate along some axis is NaN or infinite (a NaN
//! or infinite grid value, or one so large that the scaling overflows) samples nothing:
//! every channel's output at that point is 0, whatever the padding.

use crate::error::{Error, Result};
use crate::kernels::check_len;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

const OP: &str = "grid_sample";

/// Most spatial axes a sampled tensor may have (its rank is at most [`MAX_RANK`]).
pub const MAX_SPATIAL: usize = MAX_RANK - 2;

/// The cubic convolution coefficient (Keys' kernel), as ONNX and PyTorch fix it.
pub const CUBIC_A: f32 = -0.75;

/// The interpolation filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// The element at the coordinate rounded to the nearest integer, ties to even.
    Nearest,
    /// Linear between the two elements around the coordinate along each axis
    /// (bilinear in 2-D, trilinear in 3-D).
    Linear,
    /// Cubic convolution over the four elements around the coordinate along each axis,
    /// coefficient [`CUBIC_A`].
    Cubic,
}

/// What positions outside the input read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Padding {
    /// Zero.
    Zeros,
    /// The nearest edge element.
    Border,
    /// The element mirrored about the edges of the sample range.
    Reflection,
}

/// How a grid is sampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sampler {
    /// The filter.
    pub mode: Mode,
    /// The padding.
    pub padding: Padding,
    /// Whether `-1` and `1` are the centres of the corner elements (else their outer edges).
    pub align_corners: bool,
}

/// One tap along one axis: the element offset (position times the axis's stride) it reads,
/// or `None` for a zero, and its weight.
#[derive(Clone, Copy, Debug, Default)]
struct Tap {
    off: Option<usize>,
    w: f32,
}

/// The taps of one axis at one grid point.
#[derive(Clone, Copy, Debug, Default)]
struct Taps {
    taps: [Tap; 4],
    n: usize,
}

/// The geometry of one spatial axis.
#[derive(Clone, Copy, Debug, Default)]
struct Axis {
    /// Extent.
    len: usize,
    /// Element stride in one channel's plane.
    stride: usize,
    /// The sample range `[lo, hi]`.
    lo: f64,
    hi: f64,
}

const TWO_POW_23: f32 = 8_388_608.0;
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// `x` rounded down; NaN, infinities and magnitudes of `2^23` or more (integers) pass.
fn floor(x: f32) -> f32 {
    if !(x > -TWO_POW_23 && x < TWO_POW_23) {
        return x;
    }
    // |x| < 2^23: both conversions are exact and the first truncates toward zero.
    let t = x as i32 as f32;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// `x` rounded to the nearest integer, ties to even (NumPy's `rint`).
fn rint(x: f32) -> f32 {
    if !(x > -TWO_POW_23 && x < TWO_POW_23) {
        return x;
    }
    // |x| < 2^23: |x| + 2^23 rounds (to nearest, ties to even) to an integer, and
    // subtracting 2^23 again is exact.
    if x < 0.0 {
        -((-x + TWO_POW_23) - TWO_POW_23)
    } else {
        (x + TWO_POW_23) - TWO_POW_23
    }
}

/// `v` rounded toward zero (`v >= 0`, finite); values of `2^52` or more pass.
fn trunc_pos(v: f64) -> f64 {
    if v < TWO_POW_52 {
        v as u64 as f64
    } else {
        v
    }
}

/// `x` (finite) reflected about the edges of `[lo, hi]` until it lies inside: the
/// distance past an edge is folded back from that edge, or, after an odd number of
/// range lengths, from the other one. A range of length 0 gives `lo`.
fn reflect(x: f64, lo: f64, hi: f64) -> f64 {
    let rng = hi - lo;
    if rng <= 0.0 {
        return lo;
    }
    let fold = |dx: f64, near: f64, far: f64, toward: f64| {
        let n = trunc_pos(dx / rng);
        let r = dx - n * rng;
        // Every f64 of 2^53 or more is even.
        let odd = n < 2.0 * TWO_POW_52 && (n as u64) & 1 == 1;
        if odd {
            far - toward * r
        } else {
            near + toward * r
        }
    };
    let y = if x < lo {
        fold(lo - x, lo, hi, 1.0)
    } else if x > hi {
        fold(x - hi, hi, lo, -1.0)
    } else {
        x
    };
    // Rounding of huge distances may leave the range by an ulp.
    y.clamp(lo, hi)
}

/// The offset integer position `i` of `ax` reads under `padding`, `None` for a zero.
fn position(ax: &Axis, padding: Padding, i: i64) -> Option<usize> {
    let last = ax.len.checked_sub(1)? as i64;
    let p = match padding {
        Padding::Zeros => (0..=last).contains(&i).then_some(i)?,
        Padding::Border => i.clamp(0, last),
        // The reflected position lies in [lo, hi] within (-1, len); rounded toward zero
        // it is in 0..len (the clamp only guards the conversion).
        Padding::Reflection => (reflect(i as f64, ax.lo, ax.hi) as i64).clamp(0, last),
    };
    (p as usize).checked_mul(ax.stride)
}

/// Cubic convolution weights of the taps at `floor(x) - 1 ..= floor(x) + 2`, `t` being
/// `x - floor(x)`.
fn cubic_weights(t: f32) -> [f32; 4] {
    let a = CUBIC_A;
    let t = if t < 0.0 { -t } else { t };
    let far = |d: f32| ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
    let near = |d: f32| ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
    [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]
}

/// The taps of `ax` for grid coordinate `g`, `None` when the coordinate is not finite.
fn taps(s: &Sampler, ax: &Axis, g: f32) -> Option<Taps> {
    let d = ax.len as f32;
    let mut x = if s.align_corners {
        (g + 1.0) / 2.0 * (d - 1.0)
    } else {
        ((g + 1.0) * d - 1.0) / 2.0
    };
    if s.mode == Mode::Nearest {
        x = rint(x);
    }
    if !x.is_finite() {
        return None;
    }
    let xd = f64::from(x);
    if xd < ax.lo || xd > ax.hi {
        match s.padding {
            Padding::Zeros => {}
            Padding::Border => x = x.clamp(0.0, d - 1.0),
            Padding::Reflection => x = reflect(xd, ax.lo, ax.hi) as f32,
        }
    }
    let mut t = Taps::default();
    let mut push = |i: i64, w: f32| {
        if let Some(slot) = t.taps.get_mut(t.n) {
            *slot = Tap {
                off: position(ax, s.padding, i),
                w,
            };
            t.n += 1;
        }
    };
    // Saturating conversions: a position far outside reads a zero (zeros padding) or was
    // brought into the range above.
    match s.mode {
        Mode::Nearest => push(x as i64, 1.0),
        Mode::Linear => {
            let f = floor(x);
            let (i, w) = (f as i64, x - f);
            push(i, 1.0 - w);
            push(i.saturating_add(1), w);
        }
        Mode::Cubic => {
            let f = floor(x);
            let i = f as i64;
            for (k, w) in (-1i64..).zip(cubic_weights(x - f)) {
                push(i.saturating_add(k), w);
            }
        }
    }
    Some(t)
}

/// The weighted sum of `plane` over the taps of `axes` (outermost first) from offset
/// `base`.
fn gather(plane: &[f32], axes: &[Taps], base: usize) -> f32 {
    let Some((first, rest)) = axes.split_first() else {
        return plane.get(base).copied().unwrap_or(0.0);
    };
    let mut acc: Option<f32> = None;
    for t in first.taps.iter().take(first.n) {
        let v = match t.off {
            Some(o) => gather(plane, rest, base.saturating_add(o)),
            None => 0.0,
        };
        let term = t.w * v;
        acc = Some(acc.map_or(term, |a| a + term));
    }
    acc.unwrap_or(0.0)
}

fn product(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |p, &d| p.checked_mul(d))
        .ok_or(Error::Overflow { op: OP })
}

/// Samples `x` of extents `x_dims` (`[N, C, D1, .., Dr]`, `1 <= r <=` [`MAX_SPATIAL`]) at
/// `grid` of extents `grid_dims` (`[N, O1, .., Or, r]`) into `out` (`[N, C, O1, .., Or]`),
/// as the module describes. Errors: ranks or extents that do not line up, buffers shorter
/// than their extents, and an input spatial extent of zero when the output is not empty.
pub fn grid_sample(
    s: &Sampler,
    x: &[f32],
    x_dims: &[usize],
    grid: &[f32],
    grid_dims: &[usize],
    out: &mut [f32],
) -> Result<()> {
    let rank = x_dims.len();
    let r = rank.wrapping_sub(2);
    if !(1..=MAX_SPATIAL).contains(&r) {
        return Err(Error::InvalidArgument {
            op: OP,
            what: "input must have 1 to 4 spatial axes after N and C",
        });
    }
    if grid_dims.len() != rank {
        return Err(Error::DimMismatch {
            op: OP,
            what: "grid rank",
            expected: rank,
            got: grid_dims.len(),
        });
    }
    let (n, c, spatial) = (x_dims[0], x_dims[1], &x_dims[2..]);
    let (out_spatial, coords) = (&grid_dims[1..rank - 1], grid_dims[rank - 1]);
    if grid_dims[0] != n {
        return Err(Error::DimMismatch {
            op: OP,
            what: "grid batch",
            expected: n,
            got: grid_dims[0],
        });
    }
    if coords != r {
        return Err(Error::DimMismatch {
            op: OP,
            what: "grid coordinates per point",
            expected: r,
            got: coords,
        });
    }
    let plane = product(spatial)?;
    let points = product(out_spatial)?;
    let x_len = product(&[n, c, plane])?;
    let out_len = product(&[n, c, points])?;
    check_len(OP, "input", x_len, x.len())?;
    check_len(OP, "grid", product(&[n, points, r])?, grid.len())?;
    check_len(OP, "output", out_len, out.len())?;
    if out_len == 0 {
        return Ok(());
    }
    if plane == 0 {
        return Err(Error::ZeroDim {
            op: OP,
            what: "input spatial extent",
        });
    }
    let mut axes = [Axis::default(); MAX_SPATIAL];
    let mut stride = 1usize;
    for (ax, &len) in axes[..r].iter_mut().zip(spatial).rev() {
        let (lo, hi) = if s.align_corners {
            (0.0, len as f64 - 1.0)
        } else {
            (-0.5, len as f64 - 0.5)
        };
        *ax = Axis {
            len,
            stride,
            lo,
            hi,
        };
        stride *= len;
    }
    let axes = &axes[..r];
    let (xs, outs) = (&x[..x_len], &mut out[..out_len]);
    for (b, (xb, ob)) in xs
        .chunks_exact(c * plane)
        .zip(outs.chunks_exact_mut(c * points))
        .enumerate()
    {
        let gb = grid.get(b * points * r..).unwrap_or(&[]);
        for (p, g) in gb.chunks_exact(r).take(points).enumerate() {
            let mut t = [Taps::default(); MAX_SPATIAL];
            let mut finite = true;
            for (k, (tk, ax)) in t.iter_mut().zip(axes).enumerate() {
                match taps(s, ax, g[r - 1 - k]) {
                    Some(v) => *tk = v,
                    None => finite = false,
                }
            }
            for (xc, oc) in xb.chunks_exact(plane).zip(ob.chunks_exact_mut(points)) {
                if let Some(o) = oc.get_mut(p) {
                    *o = if finite { gather(xc, &t[..r], 0) } else { 0.0 };
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_helpers() {
        assert_eq!(rint(0.5), 0.0);
        assert_eq!(rint(1.5), 2.0);
        assert_eq!(rint(2.5), 2.0);
        assert_eq!(rint(-0.5), 0.0);
        assert_eq!(rint(-1.5), -2.0);
        assert_eq!(rint(-2.6), -3.0);
        assert_eq!(floor(-0.5), -1.0);
        assert_eq!(floor(2.0), 2.0);
        assert_eq!(floor(1e30), 1e30);
    }

    #[test]
    fn reflection_folds_back() {
        // Range [-0.5, 2.5] (length 3).
        assert_eq!(reflect(-1.0, -0.5, 2.5), 0.0);
        assert_eq!(reflect(3.0, -0.5, 2.5), 2.0);
        // 4 past the top: one range length and 1 more, folded from the bottom.
        assert_eq!(reflect(6.5, -0.5, 2.5), 0.5);
        assert_eq!(reflect(-4.5, -0.5, 2.5), 1.5);
        assert_eq!(reflect(1.0, -0.5, 2.5), 1.0);
        assert_eq!(reflect(5.0, 0.0, 0.0), 0.0);
        let y = reflect(1e38, -0.5, 2.5);
        assert!((-0.5..=2.5).contains(&y));
    }

    #[test]
    fn cubic_weights_sum_to_one() {
        for t in [0.0f32, 0.25, 0.5, 0.9] {
            let s: f32 = cubic_weights(t).iter().sum();
            assert!((s - 1.0).abs() < 1e-6, "{t}: {s}");
        }
        assert_eq!(cubic_weights(0.0), [0.0, 1.0, 0.0, 0.0]);
    }
}
