//! int8 kernels with TensorFlow Lite's int8 arithmetic, on NCHW / OIHW tensors.
//!
//! # Quantization (see [`crate::quant`])
//! Activations are int8 with a per-tensor scale and zero point in `[-128, 127]`; weights are
//! int8 symmetric per output channel (zero point 0); biases are `i32` with scale
//! `input_scale * weight_scale[c]`. A layer's accumulator for output channel `c` is
//! `acc = bias[c] + Σ (x - input_zero_point) * w`, requantized as
//! `clamp(multiply_by_quantized_multiplier(acc, multiplier[c], shift[c]) + output_zero_point,
//! act_min, act_max)`, where `(multiplier[c], shift[c]) =
//! quantize_multiplier(input_scale * weight_scale[c] / output_scale)`. Fused ReLU / ReLU6
//! are expressed through `act_min` / `act_max` (e.g. `act_min = output_zero_point` for
//! ReLU). Accumulation is in `i32` and wraps modulo 2^32 (TFLite leaves overflow undefined;
//! it needs more than 65,000 products of extreme values), so every path gives the same bits.
//!
//! # Layout
//! Like the f32 kernels: [`conv2d`] takes NCHW input and OIHW weights with the
//! [`Conv2d`] parameters (stride, padding `[top, left,
//! bottom, right]`, dilation, groups); padding taps contribute `x == input_zero_point`,
//! i.e. nothing, as in TFLite. [`fully_connected`] takes `x` `[batch, in]` and `w`
//! `[out, in]` (torch `Linear` layout). Pools take NCHW and
//! [`Pool2d`].
//!
//! # Paths
//! Each kernel has a dispatching entry point and a `*_reference` twin (plain scalar loops:
//! the specification). All paths give bit-identical results.
//! - [`fully_connected`] / [`conv2d`]: the inner products `Σ (x - zp) * w` run on AVX2
//!   (x86_64, `_mm256_cvtepi8_epi16` + `_mm256_madd_epi16`, after [`has_avx2_fma`]), NEON
//!   (aarch64, `vsubl_s8` + `vmlal_s16`), both taking four output channels per pass over the
//!   input; on the Cortex-M4/M7 DSP extension (`SXTB16` / `SXTAB16` + `SMLAD`) when compiled
//!   with born-core's `arm-dsp` feature (or where the compiler reports `target_feature =
//!   "dsp"`, which stable rustc does not; `scripts/test-arm-dsp.sh` tests the path on armv7
//!   under qemu-arm); otherwise portable code.
//! - [`conv2d`] on x86_64 with AVX2, stride 1, not depthwise, output rows of at least 8
//!   columns making up at least half of each padded row and a padded input of at most 2^16
//!   words: a register-tiled implicit GEMM (6 output channels x 16 positions, `i16` pairs
//!   through `_mm256_madd_epi16` into `i32`) over the input copied once into scratch, padded
//!   with the zero point and widened in tap pairs (channel pairs, or column pairs for one
//!   input channel per group); the zero point is taken out by the per-channel correction
//!   `bias - zp * Σ w` and the requantization runs on 8 lanes at once, with the reference's
//!   bits. Otherwise a general convolution gathers each output position's receptive field
//!   (`c_in / groups * kh * kw` int8 values, padding filled with the input zero point) into
//!   scratch and takes one inner product per output channel (the only strategy on
//!   bare-metal targets); a depthwise convolution
//!   (`c_in / groups == 1`, `groups > 1`) takes its own path without scratch, walking only
//!   the taps inside the input.
//! - [`max_pool2d`] / [`avg_pool2d`]: window bounds computed per row and column instead of a
//!   test per tap; max pooling whose windows all lie inside the input (no padding, unit
//!   dilation, no ceil-mode overhang) takes a direct loop.
//! - [`add`] / [`softmax`]: the reference arithmetic (per-element integer code); [`add`]
//!   hoists a broadcast scalar's rescaling out of the loop.
//!
//! Nothing here allocates; no path uses `f64` (only the `*Params::new` preparation does).
//!
//! [`has_avx2_fma`]: crate::kernels::cpu::has_avx2_fma

mod dot;
mod fast;
mod reference;
#[cfg(target_arch = "x86_64")]
mod shifted;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(all(target_arch = "arm", any(target_feature = "dsp", feature = "arm-dsp")))]
mod arm_dsp;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use crate::kernels::cpu::Isa;
pub use reference::{
    add_reference, avg_pool2d_reference, conv2d_reference, fully_connected_reference,
    max_pool2d_reference, softmax_reference,
};

use crate::kernels::conv::{Conv2d, Geom};
use crate::kernels::pool::Pool2d;
use crate::quant::{check_zero_point, quantize_multiplier};
use crate::{Error, Result};

const FC: &str = "int8_fully_connected";
const CONV: &str = "int8_conv2d";

pub(crate) fn oob(op: &'static str) -> Error {
    Error::InvalidArgument {
        op,
        what: "internal bounds check failed",
    }
}

/// Shape and quantization of an int8 fully connected layer ([`fully_connected`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FcParams {
    /// Rows of `x` and `out`; at least 1.
    pub batch: usize,
    /// Columns of `x` and `w`; at least 1.
    pub in_features: usize,
    /// Rows of `w`, columns of `out`; at least 1.
    pub out_features: usize,
    /// Zero point of `x`, in `[-128, 127]`.
    pub input_zero_point: i32,
    /// Zero point of `out`, in `[-128, 127]`.
    pub output_zero_point: i32,
    /// Lower output clamp (fused activation); at most `act_max`.
    pub act_min: i8,
    /// Upper output clamp (fused activation).
    pub act_max: i8,
}

impl FcParams {
    /// `i32` elements of scratch [`fully_connected`] (and [`fully_connected_for`] on any
    /// available instruction set) needs: `2 * (in_features / 4)`, on every target, so that a
    /// size computed on the host fits any board. The Arm DSP code offset-extends each input
    /// row's words there once, for all output channels; the other paths leave it unused.
    pub fn scratch_len(&self) -> usize {
        dot::shared_words(self.in_features)
    }
}

/// Shape and quantization of an int8 convolution ([`conv2d`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvParams {
    /// Stride, padding, dilation and groups, as for the f32 convolution.
    pub conv: Conv2d,
    /// Zero point of the input, in `[-128, 127]`; padding taps take this value.
    pub input_zero_point: i32,
    /// Zero point of the output, in `[-128, 127]`.
    pub output_zero_point: i32,
    /// Lower output clamp (fused activation); at most `act_max`.
    pub act_min: i8,
    /// Upper output clamp (fused activation).
    pub act_max: i8,
}

impl ConvParams {
    /// The output shape `[n, c_out, oh, ow]`; errors as
    /// [`Conv2d::output_shape`](crate::kernels::conv::Conv2d::output_shape).
    pub fn output_shape(&self, input: [usize; 4], weight: [usize; 4]) -> Result<[usize; 4]> {
        self.conv.output_shape(input, weight)
    }

    /// `i32` elements of scratch [`conv2d`] (and [`conv2d_for`] on any available
    /// instruction set) needs: 0 for a depthwise convolution (`c_in / groups == 1` with
    /// `groups > 1`); for the register-tiled strategy (AVX2, stride 1, see the [module
    /// docs](self)) the pair-widened padded input `ceil(c_in / groups / 2) * (h + pad_top +
    /// pad_bottom) * (w + pad_left + pad_right)` (one plane for `c_in / groups == 1`) plus
    /// the words its last tile reads past it (at most 15 + `dilation_w * (kw - 1)`), the
    /// packed weights `c_out / groups * pairs` and `c_out / groups` corrections; otherwise
    /// `ceil(c_in / groups * kh * kw / 4)` (one receptive field of int8 values) plus
    /// `2 * (c_in / groups * kh * kw / 4)` (the field's words offset-extended once for all
    /// output channels by the Arm DSP code; unused elsewhere, sized alike on every target so
    /// that a host-computed arena fits any board). Errors as
    /// [`ConvParams::output_shape`].
    pub fn scratch_len(&self, input: [usize; 4], weight: [usize; 4]) -> Result<usize> {
        let g = self.conv.geom(input, weight)?;
        let patch = scratch_for(&g, Isa::Generic)?;
        Ok(patch.max(scratch_for(&g, Isa::detect())?))
    }
}

fn is_depthwise(g: &Geom) -> bool {
    g.cg == 1 && g.groups > 1
}

/// The strategy [`conv2d_for`] takes on `isa`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConvStrategy {
    Depthwise,
    Patches,
    #[cfg(target_arch = "x86_64")]
    Shifted,
}

fn conv_strategy(g: &Geom, isa: Isa) -> ConvStrategy {
    if is_depthwise(g) {
        return ConvStrategy::Depthwise;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma && !cfg!(target_os = "none") && shifted::applies(g) {
        return ConvStrategy::Shifted;
    }
    let _ = isa;
    ConvStrategy::Patches
}

fn scratch_for(g: &Geom, isa: Isa) -> Result<usize> {
    Ok(match conv_strategy(g, isa) {
        ConvStrategy::Depthwise => 0,
        // cg * kh * kw <= weight length, which fits usize.
        ConvStrategy::Patches => {
            let ksz = g.cg * g.kh * g.kw;
            ksz.div_ceil(4) + dot::shared_words(ksz)
        }
        #[cfg(target_arch = "x86_64")]
        ConvStrategy::Shifted => shifted::scratch_len(g)?,
    })
}

/// Requantization shared by every path: `clamp(mbqm(acc) + zp, lo, hi)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Requant {
    pub zp: i32,
    pub lo: i32,
    pub hi: i32,
}

impl Requant {
    /// `shift` must be in `[-31, 30]` (every kernel checks its shift array first): then this
    /// is `multiply_by_quantized_multiplier` (whose clamp of `shift` it leaves out) plus the
    /// zero point, clamped. Outside that range the value is unspecified but nothing panics.
    #[inline]
    pub(crate) fn apply(&self, acc: i32, multiplier: i32, shift: i32) -> i8 {
        use crate::quant::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul};
        let left = shift.max(0) as u32;
        let right = shift.min(0).wrapping_neg();
        let v = rounding_divide_by_pot(
            saturating_rounding_doubling_high_mul(acc.wrapping_shl(left), multiplier),
            right,
        );
        v.saturating_add(self.zp).clamp(self.lo, self.hi) as i8
    }
}

fn check_eq(op: &'static str, what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected != got {
        return Err(Error::DimMismatch {
            op,
            what,
            expected,
            got,
        });
    }
    Ok(())
}

fn check_act(op: &'static str, lo: i8, hi: i8) -> Result<()> {
    if lo > hi {
        return Err(Error::InvalidArgument {
            op,
            what: "act_min must not exceed act_max",
        });
    }
    Ok(())
}

/// Checks the per-channel requantization arrays (and bias) against `channels`, and unless
/// `shifts_checked` each shift against `[-31, 30]`.
fn check_channels(
    op: &'static str,
    channels: usize,
    bias: Option<&[i32]>,
    multiplier: &[i32],
    (shift, shifts_checked): (&[i32], bool),
) -> Result<()> {
    if let Some(b) = bias {
        check_eq(op, "bias length", channels, b.len())?;
    }
    check_eq(op, "multiplier length", channels, multiplier.len())?;
    check_eq(op, "shift length", channels, shift.len())?;
    if !shifts_checked && shift.iter().any(|s| !(-31..=30).contains(s)) {
        return Err(Error::InvalidArgument {
            op,
            what: "shift must be in [-31, 30]",
        });
    }
    Ok(())
}

fn mul2(op: &'static str, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or(Error::Overflow { op })
}

/// Validates a fully connected call; returns the requantization.
pub(crate) fn check_fc(
    p: &FcParams,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &[i8],
) -> Result<Requant> {
    check_fc_with(p, x, w, bias, multiplier, (shift, false), out)
}

/// [`check_fc`], leaving out the scan of the shift values when `shift.1` says they were
/// checked already.
fn check_fc_with(
    p: &FcParams,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: (&[i32], bool),
    out: &[i8],
) -> Result<Requant> {
    let zero = |what| Err(Error::ZeroDim { op: FC, what });
    if p.batch == 0 {
        return zero("batch");
    }
    if p.in_features == 0 {
        return zero("in_features");
    }
    if p.out_features == 0 {
        return zero("out_features");
    }
    check_zero_point(
        FC,
        "input zero point must be in [-128, 127]",
        p.input_zero_point,
    )?;
    check_zero_point(
        FC,
        "output zero point must be in [-128, 127]",
        p.output_zero_point,
    )?;
    check_act(FC, p.act_min, p.act_max)?;
    check_eq(
        FC,
        "input length",
        mul2(FC, p.batch, p.in_features)?,
        x.len(),
    )?;
    check_eq(
        FC,
        "weight length",
        mul2(FC, p.out_features, p.in_features)?,
        w.len(),
    )?;
    check_channels(FC, p.out_features, bias, multiplier, shift)?;
    check_eq(
        FC,
        "output length",
        mul2(FC, p.batch, p.out_features)?,
        out.len(),
    )?;
    Ok(Requant {
        zp: p.output_zero_point,
        lo: i32::from(p.act_min),
        hi: i32::from(p.act_max),
    })
}

/// Validates a convolution call; returns its geometry and requantization.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_conv(
    p: &ConvParams,
    x: &[i8],
    x_shape: [usize; 4],
    w: &[i8],
    w_shape: [usize; 4],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &[i8],
) -> Result<(Geom, Requant)> {
    let g = p.conv.geom(x_shape, w_shape)?;
    check_zero_point(
        CONV,
        "input zero point must be in [-128, 127]",
        p.input_zero_point,
    )?;
    check_zero_point(
        CONV,
        "output zero point must be in [-128, 127]",
        p.output_zero_point,
    )?;
    check_act(CONV, p.act_min, p.act_max)?;
    check_eq(CONV, "input length", g.input_len, x.len())?;
    check_eq(CONV, "weight length", g.weight_len, w.len())?;
    check_channels(CONV, g.o, bias, multiplier, (shift, false))?;
    check_eq(CONV, "output length", g.out_len, out.len())?;
    Ok((
        g,
        Requant {
            zp: p.output_zero_point,
            lo: i32::from(p.act_min),
            hi: i32::from(p.act_max),
        },
    ))
}

fn check_isa(op: &'static str, isa: Isa) -> Result<()> {
    if !isa.is_available() {
        return Err(Error::InvalidArgument {
            op,
            what: "instruction set not available on this CPU",
        });
    }
    Ok(())
}

/// int8 fully connected layer: `out[b, c] = clamp(mbqm(bias[c] + Σ_k (x[b, k] -
/// input_zero_point) * w[c, k], multiplier[c], shift[c]) + output_zero_point, act_min,
/// act_max)` (see the [module docs](self)), with `x` `[batch, in_features]`, `w`
/// `[out_features, in_features]`, per-output-channel `multiplier` / `shift` (from
/// [`quantize_multiplier`]) and `out`
/// `[batch, out_features]`. Weights have zero point 0. `scratch` must hold
/// [`FcParams::scratch_len`] elements (contents ignored; empty on most targets).
///
/// Errors: [`Error::ZeroDim`] for a zero size; [`Error::InvalidArgument`] for a zero point
/// outside `[-128, 127]`, `act_min > act_max` or a shift outside `[-31, 30]`;
/// [`Error::DimMismatch`] when a buffer's length is not exactly its shape's (bias,
/// multiplier and shift: `out_features`); [`Error::Overflow`] when a size overflows;
/// [`Error::BufferTooSmall`] for short scratch.
#[allow(clippy::too_many_arguments)]
pub fn fully_connected(
    p: &FcParams,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
    scratch: &mut [i32],
) -> Result<()> {
    fully_connected_for(
        Isa::detect(),
        p,
        x,
        w,
        bias,
        multiplier,
        shift,
        out,
        scratch,
    )
}

/// [`fully_connected`] on an explicit instruction-set path ([`Isa::Generic`] is the
/// portable code, or the DSP code on Arm targets compiled with the `dsp` feature). Same
/// contract, plus [`Error::InvalidArgument`] when `isa` is not available on this CPU.
#[allow(clippy::too_many_arguments)]
pub fn fully_connected_for(
    isa: Isa,
    p: &FcParams,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
    scratch: &mut [i32],
) -> Result<()> {
    check_isa(FC, isa)?;
    fc_checked(isa, p, x, w, bias, multiplier, (shift, false), out, scratch)
}

/// The checks of [`fully_connected_for`] but the ISA's (see [`check_fc_with`] for `shift`),
/// then the kernel.
#[allow(clippy::too_many_arguments)]
fn fc_checked(
    isa: Isa,
    p: &FcParams,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: (&[i32], bool),
    out: &mut [i8],
    scratch: &mut [i32],
) -> Result<()> {
    let rq = check_fc_with(p, x, w, bias, multiplier, shift, out)?;
    crate::kernels::check_len(FC, "scratch", p.scratch_len(), scratch.len())?;
    fast::fully_connected(isa, p, &rq, x, w, bias, multiplier, shift.0, out, scratch)
}

/// [`fully_connected`] for a node whose `prepare` has checked every value of the constant
/// `shift` table against `[-31, 30]` once: every other check is made, that scan is not.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fully_connected_prepared(
    p: &FcParams,
    x: &[i8],
    w: &[i8],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
    scratch: &mut [i32],
) -> Result<()> {
    fc_checked(
        Isa::detect(),
        p,
        x,
        w,
        bias,
        multiplier,
        (shift, true),
        out,
        scratch,
    )
}

/// int8 2-D convolution (grouped, depthwise with any channel multiplier, strided, dilated,
/// padded), NCHW input `x` of shape `x_shape`, OIHW weights `w` of shape `w_shape`,
/// per-output-channel `multiplier` / `shift`, output `[n, c_out, oh, ow]`; arithmetic in the
/// [module docs](self). `scratch` must hold [`ConvParams::scratch_len`] elements (contents
/// ignored).
///
/// Errors: those of [`ConvParams::output_shape`]; [`Error::InvalidArgument`] for a zero
/// point outside `[-128, 127]`, `act_min > act_max` or a shift outside `[-31, 30]`;
/// [`Error::DimMismatch`] when a buffer's length is not exactly its shape's (bias,
/// multiplier and shift: `c_out`); [`Error::BufferTooSmall`] for short scratch.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    p: &ConvParams,
    x: &[i8],
    x_shape: [usize; 4],
    w: &[i8],
    w_shape: [usize; 4],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
    scratch: &mut [i32],
) -> Result<()> {
    conv2d_for(
        Isa::detect(),
        p,
        x,
        x_shape,
        w,
        w_shape,
        bias,
        multiplier,
        shift,
        out,
        scratch,
    )
}

/// [`conv2d`] on an explicit instruction-set path (see [`fully_connected_for`]). Same
/// contract, plus [`Error::InvalidArgument`] when `isa` is not available on this CPU.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_for(
    isa: Isa,
    p: &ConvParams,
    x: &[i8],
    x_shape: [usize; 4],
    w: &[i8],
    w_shape: [usize; 4],
    bias: Option<&[i32]>,
    multiplier: &[i32],
    shift: &[i32],
    out: &mut [i8],
    scratch: &mut [i32],
) -> Result<()> {
    check_isa(CONV, isa)?;
    let (g, rq) = check_conv(p, x, x_shape, w, w_shape, bias, multiplier, shift, out)?;
    crate::kernels::check_len(CONV, "scratch", scratch_for(&g, isa)?, scratch.len())?;
    let strategy = conv_strategy(&g, isa);
    #[cfg(target_arch = "x86_64")]
    if strategy == ConvStrategy::Shifted {
        let zp = p.input_zero_point;
        return shifted::conv(&g, zp, &rq, x, w, bias, multiplier, shift, out, scratch);
    }
    if strategy == ConvStrategy::Depthwise {
        fast::depthwise(
            &g,
            p.input_zero_point,
            &rq,
            x,
            w,
            bias,
            multiplier,
            shift,
            out,
        )
    } else {
        fast::conv_patches(
            isa,
            &g,
            p.input_zero_point,
            &rq,
            x,
            w,
            bias,
            multiplier,
            shift,
            out,
            scratch,
        )
    }
}

/// A validated pooling problem.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolGeom {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub k: [usize; 2],
    pub s: [usize; 2],
    pub d: [usize; 2],
    pub pads: [usize; 4],
    pub include_pad: bool,
}

pub(crate) fn check_pool(
    op: &'static str,
    p: &Pool2d,
    x_len: usize,
    shape: [usize; 4],
    out_len: usize,
) -> Result<PoolGeom> {
    let [n, c, h, w] = shape;
    if n == 0 {
        return Err(Error::ZeroDim { op, what: "batch" });
    }
    if c == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "channels",
        });
    }
    let [oh, ow] = p.output_hw(h, w)?;
    let planes = mul2(op, n, c)?;
    crate::kernels::check_len(op, "input", mul2(op, mul2(op, planes, h)?, w)?, x_len)?;
    crate::kernels::check_len(op, "output", mul2(op, mul2(op, planes, oh)?, ow)?, out_len)?;
    Ok(PoolGeom {
        planes,
        h,
        w,
        oh,
        ow,
        k: p.kernel,
        s: p.stride,
        d: p.dilation,
        pads: p.padding,
        include_pad: p.count_include_pad,
    })
}

/// int8 max pooling (NCHW, `shape = [n, c, h, w]`, output `[n, c, oh, ow]` with `[oh, ow]
/// = p.output_hw(h, w)`): the largest input tap of each window; padding and the ceil-mode
/// overhang are ignored, and a window without any input tap (possible with dilation) gives
/// -128. Input and output share scale and zero point. Longer buffers are fine (the prefix
/// is used), as for the f32 pools.
///
/// Errors: those of [`Pool2d::output_hw`]; [`Error::ZeroDim`] for a zero batch or channel
/// count; [`Error::BufferTooSmall`] for a short `x` or `out`; [`Error::Overflow`].
pub fn max_pool2d(p: &Pool2d, x: &[i8], shape: [usize; 4], out: &mut [i8]) -> Result<()> {
    let g = check_pool("int8_max_pool2d", p, x.len(), shape, out.len())?;
    fast::pool::<true>(&g, x, out)
}

/// int8 average pooling (layout as [`max_pool2d`]): `sum / count` with TFLite's rounding,
/// `(sum + count / 2) / count` for `sum >= 0` and `(sum - count / 2) / count` otherwise
/// (division truncating), where `count` is the number of taps inside the input, or inside
/// the padded input when `p.count_include_pad` (the ceil-mode overhang never counts). A
/// window with `count == 0` (possible with dilation) gives 0. Input and output share scale
/// and zero point.
///
/// Errors: as [`max_pool2d`].
pub fn avg_pool2d(p: &Pool2d, x: &[i8], shape: [usize; 4], out: &mut [i8]) -> Result<()> {
    let g = check_pool("int8_avg_pool2d", p, x.len(), shape, out.len())?;
    fast::pool::<false>(&g, x, out)
}

/// TFLite's int8 `Add` parameters (from its `Prepare`): inputs are offset by their negated
/// zero points, shifted left by `left_shift` (20), rescaled to a common scale
/// (`twice_max_input_scale = 2 * max(s1, s2)`), summed and rescaled to the output scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddParams {
    /// `-zp1`.
    pub input1_offset: i32,
    /// `-zp2`.
    pub input2_offset: i32,
    /// `zp_out`.
    pub output_offset: i32,
    /// Left shift applied to both offset inputs (20 for int8).
    pub left_shift: i32,
    /// Quantized `s1 / twice_max_input_scale`.
    pub input1_multiplier: i32,
    /// Its shift (at most 0).
    pub input1_shift: i32,
    /// Quantized `s2 / twice_max_input_scale`.
    pub input2_multiplier: i32,
    /// Its shift (at most 0).
    pub input2_shift: i32,
    /// Quantized `twice_max_input_scale / (2^left_shift * s_out)`.
    pub output_multiplier: i32,
    /// Its shift (at most 0).
    pub output_shift: i32,
    /// Lower output clamp.
    pub act_min: i8,
    /// Upper output clamp.
    pub act_max: i8,
}

fn smaller_than_one(op: &'static str, real: f64) -> Result<(i32, i32)> {
    // TFLite's QuantizeMultiplierSmallerThanOneExp: 0 < real < 1, shift <= 0.
    if !(real > 0.0 && real < 1.0) {
        return Err(Error::InvalidArgument {
            op,
            what: "rescaling factor must be in (0, 1)",
        });
    }
    let (m, s) = quantize_multiplier(real)?;
    if s > 0 {
        return Err(Error::InvalidArgument {
            op,
            what: "rescaling factor must be in (0, 1)",
        });
    }
    Ok((m, s))
}

fn check_scale(op: &'static str, s: f32) -> Result<()> {
    if !s.is_finite() || s <= 0.0 {
        return Err(Error::InvalidArgument {
            op,
            what: "scale must be finite and positive",
        });
    }
    Ok(())
}

impl AddParams {
    /// TFLite's int8 `Add` preparation for inputs `(s1, zp1)`, `(s2, zp2)` and output
    /// `(s_out, zp_out)`, with output clamp `[act_min, act_max]`. Computed in `f64` from the
    /// `f32` scales as TFLite does.
    ///
    /// Errors: [`Error::InvalidArgument`] for a scale that is not finite and positive, a
    /// zero point outside `[-128, 127]`, `act_min > act_max`, or an output rescaling factor
    /// `2 * max(s1, s2) / (2^20 * s_out)` not below 1 (an output scale far too small) or
    /// flushed to zero.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        s1: f32,
        zp1: i32,
        s2: f32,
        zp2: i32,
        s_out: f32,
        zp_out: i32,
        act_min: i8,
        act_max: i8,
    ) -> Result<AddParams> {
        const OP: &str = "AddParams::new";
        for s in [s1, s2, s_out] {
            check_scale(OP, s)?;
        }
        for zp in [zp1, zp2, zp_out] {
            check_zero_point(OP, "zero point must be in [-128, 127]", zp)?;
        }
        check_act(OP, act_min, act_max)?;
        let left_shift = 20;
        let twice_max = f64::from(2.0 * s1.max(s2));
        let (input1_multiplier, input1_shift) = smaller_than_one(OP, f64::from(s1) / twice_max)?;
        let (input2_multiplier, input2_shift) = smaller_than_one(OP, f64::from(s2) / twice_max)?;
        let out_real = twice_max / f64::from((1u32 << left_shift) as f32 * s_out);
        let (output_multiplier, output_shift) = smaller_than_one(OP, out_real)?;
        if output_multiplier == 0 {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "output rescaling factor flushed to zero",
            });
        }
        Ok(AddParams {
            input1_offset: -zp1,
            input2_offset: -zp2,
            output_offset: zp_out,
            left_shift,
            input1_multiplier,
            input1_shift,
            input2_multiplier,
            input2_shift,
            output_multiplier,
            output_shift,
            act_min,
            act_max,
        })
    }
}

/// Validates hand-built [`AddParams`] and the buffers of an add.
pub(crate) fn check_add(p: &AddParams, a: &[i8], b: &[i8], out: &[i8]) -> Result<()> {
    const OP: &str = "int8_add";
    check_act(OP, p.act_min, p.act_max)?;
    if !(0..=20).contains(&p.left_shift) {
        return Err(Error::InvalidArgument {
            op: OP,
            what: "left_shift must be in [0, 20]",
        });
    }
    for s in [p.input1_shift, p.input2_shift, p.output_shift] {
        if !(-31..=0).contains(&s) {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "shifts must be in [-31, 0]",
            });
        }
    }
    for off in [
        p.input1_offset.wrapping_neg(),
        p.input2_offset.wrapping_neg(),
        p.output_offset,
    ] {
        check_zero_point(OP, "offsets must be zero points in [-128, 127]", off)?;
    }
    if a.is_empty() {
        return Err(Error::ZeroDim { op: OP, what: "a" });
    }
    if b.len() != 1 {
        check_eq(OP, "b length (a's, or 1 to broadcast)", a.len(), b.len())?;
    }
    check_eq(OP, "output length", a.len(), out.len())
}

/// int8 element-wise add with TFLite's arithmetic: `out[i] = clamp(rescale(a[i]) +
/// rescale(b[i]) ...)` as in TFLite's reference `AddElementwise` (see [`AddParams`]).
/// `b` has `a`'s length, or length 1 (broadcast).
///
/// Errors: [`Error::ZeroDim`] for an empty `a`; [`Error::DimMismatch`] when `b` (not of
/// length 1) or `out` differs in length from `a`; [`Error::InvalidArgument`] for
/// hand-built parameters out of range (`act_min > act_max`, `left_shift` outside `[0, 20]`,
/// a shift outside `[-31, 0]`, an offset that is not a zero point).
pub fn add(p: &AddParams, a: &[i8], b: &[i8], out: &mut [i8]) -> Result<()> {
    check_add(p, a, b, out)?;
    fast::add(p, a, b, out);
    Ok(())
}

/// Integer bits of the scaled input differences of softmax (TFLite's
/// `kScaledDiffIntegerBits`).
const SCALED_DIFF_INTEGER_BITS: i32 = 5;

/// TFLite's int8 softmax parameters (from its `Prepare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    /// Quantized `beta * input_scale * 2^(31 - 5)` (capped at `2^31 - 1`).
    pub input_beta_multiplier: i32,
    /// Its left shift (at least 0).
    pub input_beta_left_shift: i32,
    /// Input differences from the row maximum below this give exp 0 (output -128).
    pub diff_min: i32,
}

impl SoftmaxParams {
    /// TFLite's `PreprocessSoftmaxScaling` (with `kScaledDiffIntegerBits = 5`) and
    /// `CalculateInputRadius`, in `f64` from the `f32` arguments.
    ///
    /// Errors: [`Error::InvalidArgument`] when `beta` or `input_scale` is not finite and
    /// positive, or when `beta * input_scale * 2^26` is not above 1 (TFLite's
    /// `QuantizeMultiplierGreaterThanOne` check).
    pub fn new(beta: f32, input_scale: f32) -> Result<SoftmaxParams> {
        const OP: &str = "SoftmaxParams::new";
        check_scale(OP, beta)?;
        check_scale(OP, input_scale)?;
        let bits = SCALED_DIFF_INTEGER_BITS;
        let real = (f64::from(beta) * f64::from(input_scale) * f64::from(1u32 << (31 - bits)))
            .min(((1u64 << 31) - 1) as f64);
        if real <= 1.0 {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "beta * input_scale * 2^26 must exceed 1",
            });
        }
        let (m, shift) = quantize_multiplier(real)?;
        if shift < 0 {
            return Err(Error::InvalidArgument {
                op: OP,
                what: "beta * input_scale * 2^26 must exceed 1",
            });
        }
        // CalculateInputRadius(5, shift, 31): floor(31 * 2^26 / 2^shift).
        let radius = ((((1i64 << bits) - 1) << (31 - bits)) >> shift) as i32;
        Ok(SoftmaxParams {
            input_beta_multiplier: m,
            input_beta_left_shift: shift,
            diff_min: -radius,
        })
    }
}

pub(crate) fn check_softmax(
    p: &SoftmaxParams,
    x_len: usize,
    rows: usize,
    cols: usize,
    out_len: usize,
) -> Result<()> {
    const OP: &str = "int8_softmax";
    if rows == 0 {
        return Err(Error::ZeroDim {
            op: OP,
            what: "rows",
        });
    }
    if cols == 0 {
        return Err(Error::ZeroDim {
            op: OP,
            what: "cols",
        });
    }
    if !(0..=30).contains(&p.input_beta_left_shift) {
        return Err(Error::InvalidArgument {
            op: OP,
            what: "input_beta_left_shift must be in [0, 30]",
        });
    }
    if p.diff_min > 0 {
        return Err(Error::InvalidArgument {
            op: OP,
            what: "diff_min must not be positive",
        });
    }
    let n = mul2(OP, rows, cols)?;
    check_eq(OP, "input length", n, x_len)?;
    check_eq(OP, "output length", n, out_len)
}

/// TFLite's reference int8 softmax over each of `rows` rows of `cols` values: fixed-point
/// `exp` of the (beta-scaled) differences from the row maximum, their sum in Q12.19, its
/// reciprocal, and outputs with scale 1/256 and zero point -128 (the TFLite int8 softmax
/// output quantization, which the caller's output tensor must use).
///
/// Errors: [`Error::ZeroDim`] for zero rows or columns; [`Error::DimMismatch`] when `x` or
/// `out` is not `rows * cols` long; [`Error::InvalidArgument`] for hand-built parameters
/// out of range (left shift outside `[0, 30]`, positive `diff_min`); [`Error::Overflow`].
pub fn softmax(
    p: &SoftmaxParams,
    x: &[i8],
    rows: usize,
    cols: usize,
    out: &mut [i8],
) -> Result<()> {
    check_softmax(p, x.len(), rows, cols, out.len())?;
    for (xr, or) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
        reference::softmax_row(p, xr, or);
    }
    Ok(())
}
