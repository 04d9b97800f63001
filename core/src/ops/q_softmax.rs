//! `QSoftmax`: int8 softmax over the last axis (TFLite's fixed-point exp).

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::int8::{self, SoftmaxParams};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

/// int8 softmax over the last axis (output scale 1/256, zero point -128).
pub struct QSoftmax;

/// Attributes of [`QSoftmax`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QSoftmaxAttrs {
    /// Fixed-point multiplier of `beta * input_scale`.
    pub beta_multiplier: i32,
    /// Its left shift.
    pub beta_left_shift: i32,
    /// Smallest input difference that still contributes.
    pub diff_min: i32,
}

/// Prepared params of [`QSoftmax`].
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct QSoftmaxParams {
    a: [i32; 3],
    rows: u32,
    cols: u32,
}

impl Op for QSoftmax {
    const ID: u16 = 105;
    const NAME: &'static str = "QSoftmax";
    const INPUTS: (usize, usize) = (1, 1);
    type Attrs = QSoftmaxAttrs;
    type Params = QSoftmaxParams;

    fn prepare(
        a: &QSoftmaxAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<QSoftmaxParams, ModelError> {
        if a.diff_min > 0 {
            return Err(cx.attr_err("softmax diff_min must not be positive"));
        }
        // The kernel's range: fail at load, not at invoke.
        if !(0..=30).contains(&a.beta_left_shift) {
            return Err(cx.attr_err("softmax left shift outside 0..=30"));
        }
        let s = cx.typed(0, DType::I8)?;
        let cols = *s
            .dims()
            .last()
            .ok_or(cx.shape_err(0, "needs at least one axis"))?;
        cx.per_tensor(0)?;
        if cx
            .output_per_tensor(0)?
            .is_some_and(|q| q != (1.0 / 256.0, -128))
        {
            return Err(cx.quant_err(
                1,
                "softmax output must have scale 1/256 and zero point -128",
            ));
        }
        cx.set_output(0, DType::I8, s)?;
        Ok(QSoftmaxParams {
            a: [a.beta_multiplier, a.beta_left_shift, a.diff_min],
            rows: (s.numel() / cols.max(1)) as u32,
            cols: cols as u32,
        })
    }

    fn eval(p: &QSoftmaxParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let sp = SoftmaxParams {
            input_beta_multiplier: p.a[0],
            input_beta_left_shift: p.a[1],
            diff_min: p.a[2],
        };
        let x = io.input::<i8>(0)?;
        int8::softmax(&sp, x, p.rows as usize, p.cols as usize, io.out(0)?)
    }
}
