//! `GridSample` (opsets 16, 20 and 22) as born's `GridSample`: f32 input and grid, the
//! grid a run-time tensor. Opset 16 names the filters `bilinear` and `bicubic` and takes
//! 4-D input only; from 20 on they are `linear` and `cubic` and the input may have any
//! number of spatial axes born holds (1 to 4). Both spellings are accepted at every opset.

use super::one;
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use born_core::dtype::DType;
use born_core::kernels::grid_sample::{Mode, Padding, Sampler};
use born_core::ops::grid_sample::GridSample;

/// `GridSample`: attributes `mode` (default `bilinear` before opset 20, `linear` after),
/// `padding_mode` (default `zeros`) and `align_corners` (default 0).
pub fn grid_sample(cx: &mut NodeCx<'_>) -> Result<Vec<Value>> {
    for k in 0..2 {
        match cx.dtype(k)? {
            DType::F32 => {}
            d => {
                let what = ["input X", "grid"][k];
                return Err(cx.err(format!("{what} is {d:?}: born samples f32 only")));
            }
        }
    }
    let rank = cx.dims(0)?.len();
    if cx.opset < 20 && rank != 4 {
        return Err(cx.err(format!(
            "GridSample-{} takes 4-D input, not rank {rank}",
            cx.opset
        )));
    }
    let default_mode = if cx.opset < 20 { "bilinear" } else { "linear" };
    let mode = match cx.attrs.string("mode", default_mode)?.as_str() {
        "nearest" => Mode::Nearest,
        "linear" | "bilinear" => Mode::Linear,
        "cubic" | "bicubic" => Mode::Cubic,
        m => return Err(cx.err(format!("mode `{m}` is not supported by born"))),
    };
    let padding = match cx.attrs.string("padding_mode", "zeros")?.as_str() {
        "zeros" => Padding::Zeros,
        "border" => Padding::Border,
        "reflection" => Padding::Reflection,
        m => return Err(cx.err(format!("padding_mode `{m}` is not supported by born"))),
    };
    let align_corners = match cx.attrs.int("align_corners", 0)? {
        0 => false,
        1 => true,
        v => return Err(cx.err(format!("align_corners must be 0 or 1, not {v}"))),
    };
    let s = Sampler {
        mode,
        padding,
        align_corners,
    };
    let x = cx.tensor(0)?;
    let grid = cx.tensor(1)?;
    one(cx.op::<GridSample>(s, &[x, grid])?)
}
