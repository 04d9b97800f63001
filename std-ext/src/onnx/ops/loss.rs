//! Losses: `NegativeLogLikelihoodLoss` and `SoftmaxCrossEntropyLoss`, composed from
//! gathers, comparisons and reductions (as ONNX's own function bodies define them).

use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::Const;
use born_core::dtype::DType;
use born_core::kernels::compare::CompareOp;
use born_core::kernels::elementwise::BinaryOp;
use born_core::kernels::reduce::ReduceOp;
use born_core::kernels::unary::UnaryOp;
use born_core::ops::binary::Binary;
use born_core::ops::compare::{Compare, CompareAttrs};
use born_core::ops::gather::{Gather, GatherAttrs};
use born_core::ops::gather_elements::GatherElements;
use born_core::ops::reduce::{Reduce, ReduceAttrs};
use born_core::ops::softmax::{AxisAttrs, LogSoftmax};
use born_core::ops::unary::{Unary, UnaryAttrs};
use born_core::ops::where_select::Where;

type Out = Result<Vec<Value>>;

/// The loss of log-probabilities `x` (born tensor, `[N, C, d..]`) at the targets of input 1,
/// with the optional class weights of input 2 and the node's `ignore_index` and
/// `reduction`.
fn nll(cx: &mut NodeCx<'_>, x: usize) -> Result<usize> {
    let xd = cx.tensor_info(x).1;
    if xd.len() < 2 {
        return Err(cx.err("input must be [N, C, ..]"));
    }
    let td = cx.dims(1)?;
    if td.len() + 1 != xd.len() || td[0] != xd[0] || td[1..] != xd[2..] {
        return Err(cx.err(format!("target {td:?} does not fit input {xd:?}")));
    }
    if !matches!(cx.dtype(1)?, DType::I64 | DType::I32) {
        return Err(cx.err("target must be int32 or int64"));
    }
    let reduction = cx.attrs.string("reduction", "mean")?;
    let ignore = cx.attrs.opt_int("ignore_index")?;
    let mut t = cx.tensor(1)?;
    let tdt = cx.dtype(1)?;
    let int = |v: i64| match tdt {
        DType::I32 => Const::from_values(vec![], &[v as i32]),
        _ => Const::from_values(vec![], &[v]),
    };
    let ignored = match ignore {
        Some(i) => {
            let c = cx.new_const(int(i))?;
            let hit = cx.op::<Compare>(CompareAttrs::new(CompareOp::Equal), &[t, c])?;
            let zero = cx.new_const(int(0))?;
            t = cx.op::<Where>((), &[hit, zero, t])?;
            Some(hit)
        }
        None => None,
    };
    let (n, c) = (xd[0], xd[1]);
    let d: usize = xd[2..].iter().product();
    let x3 = cx.reshape(x, &[n, c, d])?;
    let t3 = cx.reshape(t, &[n, 1, d])?;
    let picked = cx.op::<GatherElements>(GatherAttrs { axis: 1 }, &[x3, t3])?;
    let picked = cx.reshape(picked, &td)?;
    let mut loss = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Neg), &[picked])?;
    let mut weight = if cx.has(2) {
        let w = cx.tensor(2)?;
        Some(cx.op::<Gather>(GatherAttrs { axis: 0 }, &[w, t])?)
    } else {
        None
    };
    if let Some(hit) = ignored {
        let zero = cx.new_const(Const::from_values(vec![], &[0f32]))?;
        let base = match weight {
            Some(w) => w,
            None => cx.new_const(Const::from_values(vec![], &[1f32]))?,
        };
        weight = Some(cx.op::<Where>((), &[hit, zero, base])?);
    }
    if let Some(w) = weight {
        loss = cx.op::<Binary>(BinaryOp::Mul, &[loss, w])?;
    }
    let sum = ReduceAttrs::new(ReduceOp::Sum, &[], false).ok_or_else(|| cx.err("reduce"))?;
    let mean = ReduceAttrs::new(ReduceOp::Mean, &[], false).ok_or_else(|| cx.err("reduce"))?;
    match reduction.as_str() {
        "none" => Ok(loss),
        "sum" => cx.op::<Reduce>(sum, &[loss]),
        "mean" => match weight {
            None => cx.op::<Reduce>(mean, &[loss]),
            Some(w) => {
                // sum(loss) / sum(weights): the weights broadcast to the target's shape.
                let s = cx.op::<Reduce>(sum, &[loss])?;
                let ones = cx.new_const(Const::from_values(
                    td.clone(),
                    &vec![1f32; td.iter().product()],
                ))?;
                let wf = cx.op::<Binary>(BinaryOp::Mul, &[w, ones])?;
                let ws = cx.op::<Reduce>(sum, &[wf])?;
                cx.op::<Binary>(BinaryOp::Div, &[s, ws])
            }
        },
        r => Err(cx.err(format!("reduction `{r}`"))),
    }
}

pub fn negative_log_likelihood(cx: &mut NodeCx<'_>) -> Out {
    if cx.dtype(0)? != DType::F32 {
        return Err(cx.err("born computes losses in f32 only"));
    }
    let x = cx.tensor(0)?;
    Ok(vec![Value::Tensor(nll(cx, x)?)])
}

pub fn softmax_cross_entropy(cx: &mut NodeCx<'_>) -> Out {
    if cx.dtype(0)? != DType::F32 {
        return Err(cx.err("born computes losses in f32 only"));
    }
    let x = cx.tensor(0)?;
    let log_prob = cx.op::<LogSoftmax>(AxisAttrs { axis: 1 }, &[x])?;
    let loss = nll(cx, log_prob)?;
    let mut out = vec![Value::Tensor(loss)];
    if cx.node.output.get(1).is_some_and(|o| !o.is_empty()) {
        out.push(Value::Tensor(log_prob));
    }
    Ok(out)
}
