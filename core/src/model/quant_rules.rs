//! Quantization checks of the int8 ops: every int8 operand carries the parameters its
//! kernel needs, and the requantization tables hold values the fixed-point code accepts.

use super::error::ModelError;
use super::format::{Op, OpDef, Quant, TensorDef};
use super::Model;

type R<T> = core::result::Result<T, ModelError>;

fn per_tensor(op: usize, operand: usize, t: &TensorDef<'_>) -> R<(f32, i32)> {
    t.quant.per_tensor().ok_or(ModelError::Quantization {
        op,
        operand,
        what: "needs per-tensor scale and zero point",
    })
}

fn i32s(bytes: &[u8]) -> impl Iterator<Item = i32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// Checks op `i`'s quantization (inputs `ins` in order, then `out`); f32 ops pass.
pub(super) fn check(
    m: &Model<'_>,
    i: usize,
    def: &OpDef,
    ins: &[Option<TensorDef<'_>>],
    out: &TensorDef<'_>,
) -> R<()> {
    let n = ins.len();
    let get = |k: usize| {
        ins.get(k).copied().flatten().ok_or(ModelError::Arity {
            op: i,
            kind: "op",
            min: k + 1,
            max: k + 1,
            got: n,
        })
    };
    let q = |what| ModelError::Quantization {
        op: i,
        operand: n,
        what,
    };
    match def.op {
        Op::Quantize => {
            per_tensor(i, n, out)?;
        }
        Op::Dequantize => {
            per_tensor(i, 0, &get(0)?)?;
        }
        Op::QFullyConnected { .. } | Op::QConv2d { .. } => {
            per_tensor(i, 0, &get(0)?)?;
            per_tensor(i, n, out)?;
            let w = get(1)?;
            match w.quant {
                Quant::PerChannel { axis: 0, .. } | Quant::PerTensor { zero_point: 0, .. } => {}
                _ => {
                    return Err(ModelError::Quantization {
                        op: i,
                        operand: 1,
                        what: "weights need symmetric scales (per output channel or per tensor)",
                    })
                }
            }
            let (mult, shift) = (get(n - 2)?, get(n - 1)?);
            if i32s(m.const_bytes(&mult)).any(|v| v < 0) {
                return Err(ModelError::Quantization {
                    op: i,
                    operand: n - 2,
                    what: "multiplier must not be negative",
                });
            }
            if i32s(m.const_bytes(&shift)).any(|v| !(-31..=30).contains(&v)) {
                return Err(ModelError::Quantization {
                    op: i,
                    operand: n - 1,
                    what: "shift outside -31..=30",
                });
            }
        }
        Op::QMaxPool2d(_) | Op::QAvgPool2d(_)
            if per_tensor(i, 0, &get(0)?)? != per_tensor(i, n, out)? =>
        {
            return Err(q("pooling keeps the input's scale and zero point"));
        }
        Op::QAdd(a) => {
            // The ranges the int8 add kernel accepts: checked here so that a loaded model
            // cannot fail at invoke on its own attributes.
            let attr = |what| ModelError::Attribute { op: i, what };
            if !(0..=20).contains(&a.left_shift) {
                return Err(attr("add left shift outside 0..=20"));
            }
            if [a.input1_shift, a.input2_shift, a.output_shift]
                .iter()
                .any(|s| !(-31..=0).contains(s))
            {
                return Err(attr("add shifts outside -31..=0"));
            }
            per_tensor(i, 0, &get(0)?)?;
            per_tensor(i, 1, &get(1)?)?;
            per_tensor(i, n, out)?;
        }
        Op::QSoftmax {
            beta_left_shift, ..
        } => {
            // The kernel's range (as for QAdd above: fail at load, not at invoke).
            if !(0..=30).contains(&beta_left_shift) {
                return Err(ModelError::Attribute {
                    op: i,
                    what: "softmax left shift outside 0..=30",
                });
            }
            per_tensor(i, 0, &get(0)?)?;
            if per_tensor(i, n, out)? != (1.0 / 256.0, -128) {
                return Err(q(
                    "softmax output must have scale 1/256 and zero point -128",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}
