//! `Pad`: a tensor padded in constant, reflect or edge mode (ONNX `Pad` with constant,
//! non-negative pads, `numpy.pad`; any element type).

use super::movement::{self, by_size};
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::tensor::{self, PadMode};
use crate::model::ModelError;
use crate::shape::MAX_RANK;
use serde::{Deserialize, Serialize};

/// Pad; input `x`, output with `begin[a] + x.shape[a] + end[a]` elements along axis `a`.
/// (ONNX's negative pads crop: express them as a [`Slice`](super::slice::Slice).)
pub struct Pad;

/// What fills the padding (the file's form of [`PadMode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// [`PadAttrs::value`].
    Constant,
    /// The input mirrored about its first and last element (pads below the dimension).
    Reflect,
    /// The first or last element repeated.
    Edge,
}

impl From<Mode> for PadMode {
    fn from(m: Mode) -> PadMode {
        match m {
            Mode::Constant => PadMode::Constant,
            Mode::Reflect => PadMode::Reflect,
            Mode::Edge => PadMode::Edge,
        }
    }
}

/// Attributes of [`Pad`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PadAttrs {
    /// Entries of `begin` and `end` used: the input's rank.
    pub rank: u8,
    /// Elements added before the input along each axis; entries past `rank` are 0.
    pub begin: [u32; MAX_RANK],
    /// Elements added after the input along each axis; entries past `rank` are 0.
    pub end: [u32; MAX_RANK],
    /// The fill.
    pub mode: Mode,
    /// The fill value of [`Mode::Constant`] (ignored otherwise), converted to the input's
    /// element type when the node is prepared: f32 and f16 round to nearest; integer types
    /// need an integral value in their range, bool 0 or 1. (An `f64` holds every integer
    /// up to 2^53 in magnitude exactly; larger `i64` fill values are those it holds.)
    pub value: f64,
}

impl PadAttrs {
    /// The attributes of `begin` and `end` (one entry per axis) in `mode`; `None` when they
    /// differ in length, have more than [`MAX_RANK`] entries or an entry above `u32::MAX`.
    pub fn new(begin: &[usize], end: &[usize], mode: Mode, value: f64) -> Option<PadAttrs> {
        let mut a = PadAttrs {
            rank: u8::try_from(begin.len()).ok()?,
            begin: [0; MAX_RANK],
            end: [0; MAX_RANK],
            mode,
            value,
        };
        if begin.len() != end.len() {
            return None;
        }
        for (o, &p) in a.begin.get_mut(..begin.len())?.iter_mut().zip(begin) {
            *o = u32::try_from(p).ok()?;
        }
        for (o, &p) in a.end.get_mut(..end.len())?.iter_mut().zip(end) {
            *o = u32::try_from(p).ok()?;
        }
        Some(a)
    }
}

/// Prepared params of [`Pad`]: element size, mode (0 constant, 1 reflect, 2 edge), pads,
/// and the fill value's little-endian bytes in the element type (two words).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PadParams {
    size: u32,
    mode: u32,
    begin: [u32; MAX_RANK],
    end: [u32; MAX_RANK],
    value: [u32; 2],
}

/// `v` as the little-endian bytes of an integer in `min..=max` (`None` when not integral
/// or out of range).
fn int_bytes(v: f64, min: i64, max: i64) -> Option<[u8; 8]> {
    // `max as f64 + 1.0` is exact for every bound (a power of two), unlike `max as f64`
    // for i64. In range, `as i64` truncates exactly, so the round trip tests integrality
    // (NaN fails the range test).
    let in_range = v >= min as f64 && v < max as f64 + 1.0;
    let i = v as i64;
    (in_range && i as f64 == v).then(|| i.to_le_bytes())
}

/// The fill value `v` as little-endian bytes of `dtype` (zero-extended to 8 bytes).
fn value_bytes(v: f64, dtype: DType) -> Option<[u8; 8]> {
    let mut b = [0u8; 8];
    match dtype {
        DType::F32 => b[..4].copy_from_slice(&(v as f32).to_le_bytes()),
        DType::F16 => b[..2].copy_from_slice(&half::f16::from_f64(v).to_bits().to_le_bytes()),
        DType::I8 => b = int_bytes(v, i8::MIN.into(), i8::MAX.into())?,
        DType::U8 => b = int_bytes(v, 0, u8::MAX.into())?,
        DType::I16 => b = int_bytes(v, i16::MIN.into(), i16::MAX.into())?,
        DType::I32 => b = int_bytes(v, i32::MIN.into(), i32::MAX.into())?,
        DType::I64 => b = int_bytes(v, i64::MIN, i64::MAX)?,
        DType::Bool => b = int_bytes(v, 0, 1)?,
        DType::F64 => b = v.to_le_bytes(),
        DType::U16 => b = int_bytes(v, 0, u16::MAX.into())?,
        DType::U32 => b = int_bytes(v, 0, u32::MAX.into())?,
        // Fill values above i64::MAX are not representable in the attribute's range check.
        DType::U64 => b = int_bytes(v, 0, i64::MAX)?,
    }
    // Only the element's own bytes are kept (the integers' sign extension is dropped).
    for x in &mut b[dtype.size()..] {
        *x = 0;
    }
    Some(b)
}

fn run<const N: usize>(p: &PadParams, io: &mut Io<'_>) -> Result<()> {
    let x = movement::input::<N>(io, 0)?;
    let shape = io.shape(0);
    let r = shape.rank();
    let (begin, end) = (p.begin.map(|v| v as usize), p.end.map(|v| v as usize));
    let mode = match p.mode {
        0 => PadMode::Constant,
        1 => PadMode::Reflect,
        _ => PadMode::Edge,
    };
    let w = p.value;
    let value: [u8; N] = core::array::from_fn(|i| w[(i / 4) % 2].to_le_bytes()[i % 4]);
    let out = movement::output::<N>(io, 0)?;
    tensor::pad(x, shape.dims(), &begin[..r], &end[..r], mode, value, out)
}

impl Op for Pad {
    const ID: u16 = 38;
    const NAME: &'static str = "Pad";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = PadAttrs;
    type Params = PadParams;

    fn prepare(
        a: &PadAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<PadParams, ModelError> {
        let x = cx.input(0)?;
        let d = x.shape.dims();
        if usize::from(a.rank) != d.len() {
            return Err(cx.attr_err("pads length differs from the input's rank"));
        }
        let stray = "pads past their length must be 0";
        let begin = movement::used(cx, &a.begin, a.rank, stray)?;
        let end = movement::used(cx, &a.end, a.rank, stray)?;
        let overflow = cx.attr_err("output size overflows");
        let mut dims = [0usize; MAX_RANK];
        for (((o, &n), &b), &e) in dims.iter_mut().zip(d).zip(begin).zip(end) {
            let (b, e) = (b as usize, e as usize);
            if a.mode == Mode::Reflect && (b >= n && b > 0 || e >= n && e > 0) {
                return Err(cx.attr_err("reflect pads must be smaller than their dimension"));
            }
            if a.mode == Mode::Edge && n == 0 && (b > 0 || e > 0) {
                return Err(cx.attr_err("edge padding of an empty axis"));
            }
            *o = n
                .checked_add(b)
                .and_then(|v| v.checked_add(e))
                .ok_or(overflow)?;
        }
        let out = movement::out_shape(&dims[..d.len()], x.dtype).ok_or(overflow)?;
        let value = match a.mode {
            Mode::Constant => value_bytes(a.value, x.dtype)
                .ok_or(cx.attr_err("pad value is not representable in the element type"))?,
            _ => [0; 8],
        };
        cx.set_output(0, x.dtype, out)?;
        let word =
            |i: usize| u32::from_le_bytes([value[i], value[i + 1], value[i + 2], value[i + 3]]);
        Ok(PadParams {
            size: movement::size_word(x.dtype),
            mode: match a.mode {
                Mode::Constant => 0,
                Mode::Reflect => 1,
                Mode::Edge => 2,
            },
            begin: a.begin,
            end: a.end,
            value: [word(0), word(4)],
        })
    }

    fn eval(p: &PadParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        by_size!(p.size, run(p, io))
    }
}
