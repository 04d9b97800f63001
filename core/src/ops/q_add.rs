//! `QAdd`: int8 addition with TFLite's requantization.

use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::int8::{self, AddParams};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

/// int8 addition of two tensors of one shape (or a one-element `b`).
pub struct QAdd;

/// Requantization of int8 add, as in TFLite's int8 `ADD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QAddAttrs {
    /// Left shift applied to both inputs before scaling (20 in TFLite).
    pub left_shift: i32,
    /// Fixed-point multiplier of input 1.
    pub input1_multiplier: i32,
    /// Shift of input 1.
    pub input1_shift: i32,
    /// Fixed-point multiplier of input 2.
    pub input2_multiplier: i32,
    /// Shift of input 2.
    pub input2_shift: i32,
    /// Fixed-point multiplier of the sum.
    pub output_multiplier: i32,
    /// Shift of the sum.
    pub output_shift: i32,
    /// Lower clamp of the output.
    pub act_min: i8,
    /// Upper clamp of the output.
    pub act_max: i8,
}

/// Prepared params of [`QAdd`]: the attributes and the three zero points as words.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct QAddParams {
    w: [i32; 12],
}

impl Op for QAdd {
    const ID: u16 = 104;
    const NAME: &'static str = "QAdd";
    const INPUTS: (usize, usize) = (2, 2);
    type Attrs = QAddAttrs;
    type Params = QAddParams;

    fn prepare(
        a: &QAddAttrs,
        cx: &mut Prepare<'_, '_>,
    ) -> core::result::Result<QAddParams, ModelError> {
        if a.act_min > a.act_max {
            return Err(cx.attr_err("output clamp minimum above maximum"));
        }
        // The ranges the int8 add kernel accepts: checked here so that a loaded model
        // cannot fail at invoke on its own attributes.
        if !(0..=20).contains(&a.left_shift) {
            return Err(cx.attr_err("add left shift outside 0..=20"));
        }
        if [a.input1_shift, a.input2_shift, a.output_shift]
            .iter()
            .any(|s| !(-31..=0).contains(s))
        {
            return Err(cx.attr_err("add shifts outside -31..=0"));
        }
        let s = cx.typed(0, DType::I8)?;
        if s.rank() == 0 {
            return Err(cx.shape_err(0, "needs at least one axis"));
        }
        let b = cx.typed(1, DType::I8)?;
        if b != s && b.numel() != 1 {
            return Err(cx.shape_err(1, "must have operand 0's shape or one element"));
        }
        let (_, z1) = cx.per_tensor(0)?;
        let (_, z2) = cx.per_tensor(1)?;
        let zo = cx.output_per_tensor(0)?.map_or(0, |q| q.1);
        cx.set_output(0, DType::I8, s)?;
        Ok(QAddParams {
            w: [
                -z1,
                -z2,
                zo,
                a.left_shift,
                a.input1_multiplier,
                a.input1_shift,
                a.input2_multiplier,
                a.input2_shift,
                a.output_multiplier,
                a.output_shift,
                i32::from(a.act_min),
                i32::from(a.act_max),
            ],
        })
    }

    fn eval(p: &QAddParams, io: &mut Io<'_>, _: &mut [u8]) -> Result<()> {
        let w = p.w;
        let ap = AddParams {
            input1_offset: w[0],
            input2_offset: w[1],
            output_offset: w[2],
            left_shift: w[3],
            input1_multiplier: w[4],
            input1_shift: w[5],
            input2_multiplier: w[6],
            input2_shift: w[7],
            output_multiplier: w[8],
            output_shift: w[9],
            act_min: w[10] as i8,
            act_max: w[11] as i8,
        };
        let (x, y) = (io.input::<i8>(0)?, io.input::<i8>(1)?);
        int8::add(&ap, x, y, io.out(0)?)
    }
}
