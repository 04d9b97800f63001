//! Reductions: `ReduceSum` and its family, `ArgMax`, `ArgMin`.

use super::{axis, one};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use born_core::kernels::reduce::ReduceOp;
use born_core::kernels::unary::UnaryOp;
use born_core::ops::arg_max::{ArgAttrs, ArgMax};
use born_core::ops::arg_min::ArgMin;
use born_core::ops::reduce::{Reduce, ReduceAttrs};
use born_core::ops::unary::{Unary, UnaryAttrs};

type Out = Result<Vec<Value>>;

/// The reduced axes (`None`: every axis; `Some(empty)`: none, with
/// `noop_with_empty_axes`), from the attribute or, from `axes_input_since`, input 1.
fn axes(cx: &NodeCx<'_>, axes_input_since: i64) -> Result<Option<Vec<i32>>> {
    let rank = cx.dims(0)?.len();
    let listed = if cx.opset >= axes_input_since {
        if cx.has(1) {
            Some(cx.known_ints(1)?)
        } else {
            None
        }
    } else {
        cx.attrs.ints("axes")?
    };
    let listed = listed.filter(|a| !a.is_empty());
    match listed {
        None if cx.attrs.int("noop_with_empty_axes", 0)? != 0 => Ok(Some(vec![])),
        None => Ok(None),
        Some(a) => {
            let mut out = Vec::with_capacity(a.len());
            for &v in &a {
                let k = axis(cx, v, rank)? as i32;
                if out.contains(&k) {
                    return Err(cx.err(format!("axis {v} is listed twice")));
                }
                out.push(k);
            }
            Ok(Some(out))
        }
    }
}

/// `pre` on the input (if any), the reduction `op`, then `post` (if any).
fn reduce_with(
    cx: &mut NodeCx<'_>,
    op: ReduceOp,
    since: i64,
    pre: Option<UnaryOp>,
    post: Option<UnaryOp>,
) -> Out {
    if cx.dtype(0)? != born_core::dtype::DType::F32 {
        return Err(cx.err(format!(
            "input is {:?}: born reduces f32 only",
            cx.dtype(0)?
        )));
    }
    let keep = cx.attrs.int("keepdims", 1)? != 0;
    let axes = axes(cx, since)?;
    let mut x = cx.tensor(0)?;
    if let Some(u) = pre {
        x = cx.op::<Unary>(UnaryAttrs::new(u), &[x])?;
    }
    let y = match axes {
        Some(a) if a.is_empty() => {
            let dims = cx.dims(0)?;
            cx.reshape(x, &dims)?
        }
        a => {
            let list = a.unwrap_or_default();
            let attrs = ReduceAttrs::new(op, &list, keep).ok_or_else(|| cx.err("too many axes"))?;
            cx.op::<Reduce>(attrs, &[x])?
        }
    };
    one(match post {
        Some(u) => cx.op::<Unary>(UnaryAttrs::new(u), &[y])?,
        None => y,
    })
}

pub fn sum(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::Sum, 13, None, None)
}
pub fn mean(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::Mean, 18, None, None)
}
pub fn max(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::Max, 18, None, None)
}
pub fn min(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::Min, 18, None, None)
}
pub fn prod(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::Prod, 18, None, None)
}
pub fn sum_square(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::SumSquares, 18, None, None)
}
pub fn l1(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::Sum, 18, Some(UnaryOp::Abs), None)
}
pub fn l2(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::SumSquares, 18, None, Some(UnaryOp::Sqrt))
}
pub fn log_sum(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(cx, ReduceOp::Sum, 18, None, Some(UnaryOp::Log))
}
pub fn log_sum_exp(cx: &mut NodeCx<'_>) -> Out {
    reduce_with(
        cx,
        ReduceOp::Sum,
        18,
        Some(UnaryOp::Exp),
        Some(UnaryOp::Log),
    )
}

/// `ArgMax`/`ArgMin`; with `select_last_index` the input is reversed along the axis and
/// the index mapped back (`len - 1 - i`).
fn arg<O: born_core::ops::Op<Attrs = ArgAttrs>>(cx: &mut NodeCx<'_>) -> Out {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::slice::{Slice, SliceAttrs};
    let dims = cx.dims(0)?;
    let ax = axis(cx, cx.attrs.int("axis", 0)?, dims.len())?;
    let a = ArgAttrs {
        axis: ax as i32,
        keepdims: cx.attrs.int("keepdims", 1)? != 0,
    };
    let mut x = cx.tensor(0)?;
    if cx.attrs.int("select_last_index", 0)? == 0 {
        return one(cx.op::<O>(a, &[x])?);
    }
    let rev = SliceAttrs::new(&[-1], &[i64::MIN], &[ax as i64], &[-1])
        .ok_or_else(|| cx.err("reverse"))?;
    x = cx.op::<Slice>(rev, &[x])?;
    let i = cx.op::<O>(a, &[x])?;
    let last = cx.new_const(crate::onnx::tensor::Const::from_values(
        vec![],
        &[dims[ax] as i64 - 1],
    ))?;
    one(cx.op::<Binary>(BinaryOp::Sub, &[last, i])?)
}

pub fn arg_max(cx: &mut NodeCx<'_>) -> Out {
    arg::<ArgMax>(cx)
}
pub fn arg_min(cx: &mut NodeCx<'_>) -> Out {
    arg::<ArgMin>(cx)
}
