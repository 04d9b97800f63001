//! Index-driven selection and scattering: `TopK`, `ScatterElements` (and the older
//! `Scatter`), `ScatterND`, `GatherND`.

use super::{axis, one};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use born_core::kernels::tensor::Reduction;
use born_core::ops::gather_nd::{GatherNd, GatherNdAttrs};
use born_core::ops::scatter_elements::{ScatterElements, ScatterElementsAttrs};
use born_core::ops::scatter_nd::{ScatterNd, ScatterNdAttrs};
use born_core::ops::top_k::{TopK, TopKAttrs};

type Out = Result<Vec<Value>>;

/// `TopK`: `k` from the attribute before opset 10, from input 1 (known at convert time)
/// from then on; `largest` and `sorted` from opset 11.
pub fn top_k(cx: &mut NodeCx<'_>) -> Out {
    let rank = cx.dims(0)?.len();
    let ax = axis(cx, cx.attrs.int("axis", -1)?, rank)?;
    let k = if cx.opset < 10 {
        cx.attrs.int("k", -1)?
    } else {
        match cx.known_ints(1)?[..] {
            [k] => k,
            ref v => return Err(cx.err(format!("k must hold one value, not {}", v.len()))),
        }
    };
    let len = *cx
        .dims(0)?
        .get(ax)
        .ok_or_else(|| cx.err("TopK needs an input of rank 1 or more"))?;
    let k = u32::try_from(k)
        .ok()
        .filter(|&k| k as usize <= len)
        .ok_or_else(|| cx.err(format!("k = {k} is outside 0..={len}, the axis length")))?;
    let flag = |name: &str| -> Result<bool> { Ok(cx.opset < 11 || cx.attrs.int(name, 1)? != 0) };
    let attrs = TopKAttrs {
        axis: ax as i32,
        k,
        largest: flag("largest")?,
        sorted: flag("sorted")?,
    };
    let x = cx.tensor(0)?;
    let ids = cx.op_multi::<TopK>(attrs, &[x], 2)?;
    Ok(ids.into_iter().map(Value::Tensor).collect())
}

/// The `reduction` attribute of the scatters.
fn reduction(cx: &NodeCx<'_>) -> Result<Reduction> {
    Ok(match cx.attrs.string("reduction", "none")?.as_str() {
        "none" => Reduction::None,
        "add" => Reduction::Add,
        "mul" => Reduction::Mul,
        "max" => Reduction::Max,
        "min" => Reduction::Min,
        r => return Err(cx.err(format!("reduction \"{r}\" is not supported"))),
    })
}

/// `ScatterElements`, and `Scatter` (opsets 9 and 10, which has no reduction).
pub fn scatter_elements(cx: &mut NodeCx<'_>) -> Out {
    let rank = cx.dims(0)?.len();
    let ax = axis(cx, cx.attrs.int("axis", 0)?, rank)?;
    let reduction = reduction(cx)?;
    let (x, i, u) = (cx.tensor(0)?, cx.tensor(1)?, cx.tensor(2)?);
    let attrs = ScatterElementsAttrs {
        axis: ax as i32,
        reduction,
    };
    one(cx.op::<ScatterElements>(attrs, &[x, i, u])?)
}

/// `ScatterND`.
pub fn scatter_nd(cx: &mut NodeCx<'_>) -> Out {
    let reduction = reduction(cx)?;
    let (x, i, u) = (cx.tensor(0)?, cx.tensor(1)?, cx.tensor(2)?);
    one(cx.op::<ScatterNd>(ScatterNdAttrs { reduction }, &[x, i, u])?)
}

/// `GatherND` (`batch_dims` from opset 12).
pub fn gather_nd(cx: &mut NodeCx<'_>) -> Out {
    let b = cx.attrs.int("batch_dims", 0)?;
    let batch_dims = u32::try_from(b).map_err(|_| cx.err(format!("batch_dims = {b}")))?;
    let (x, i) = (cx.tensor(0)?, cx.tensor(1)?);
    one(cx.op::<GatherNd>(GatherNdAttrs { batch_dims }, &[x, i])?)
}
