//! Layers: convolution, pooling, `Gemm`/`MatMul`, normalisations, softmax.

use super::{axis, one, require_f32, scalar};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::{f32s, Const};
use born_core::dtype::DType;
use born_core::kernels::conv::Conv2d as Geometry;
use born_core::kernels::pool::Pool2d;
use born_core::kernels::reduce::ReduceOp;
use born_core::ops::conv2d::{Conv2d, ConvAttrs};
use born_core::ops::fully_connected::{FcAttrs, FullyConnected};
use born_core::ops::gemm::{Gemm, GemmAttrs};
use born_core::ops::matmul::MatMul;
use born_core::ops::norm::{BatchNorm, EpsAttrs, LayerNorm};
use born_core::ops::pool::{AvgPool2d, GlobalAvgPool2d, MaxPool2d};
use born_core::ops::reduce::{Reduce, ReduceAttrs};
use born_core::ops::softmax::{AxisAttrs, LogSoftmax, Softmax};

type Out = Result<Vec<Value>>;

/// The 2-D window of a conv or pool: `[kh, kw]` kernel, strides, dilations and the
/// `[top, left, bottom, right]` padding from `pads` or `auto_pad`. `spatial` is the input's
/// `[h, w]` (a 1-D op is `[1, w]`).
struct Window {
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    padding: [usize; 4],
}

/// A window over `spatial.len()` axes from the node's `strides`, `dilations`, `pads` and
/// `auto_pad`: per axis kernel, stride, dilation, padding before and after.
struct WindowNd {
    kernel: Vec<usize>,
    stride: Vec<usize>,
    dilation: Vec<usize>,
    begin: Vec<usize>,
    end: Vec<usize>,
}

fn window_nd(cx: &NodeCx<'_>, spatial: &[usize], kernel: &[usize]) -> Result<WindowNd> {
    let n = spatial.len();
    let list = |name: &str| -> Result<Vec<usize>> {
        let v = cx.attrs.ints(name)?.unwrap_or_else(|| vec![1; n]);
        if v.len() != n || v.iter().any(|&x| x < 1) {
            return Err(cx.err(format!("`{name}` must be {n} positive values, got {v:?}")));
        }
        Ok(v.iter().map(|&x| x as usize).collect())
    };
    if kernel.len() != n || kernel.contains(&0) {
        return Err(cx.err(format!("kernel {kernel:?} for a {n}-D window")));
    }
    let stride = list("strides")?;
    let dilation = list("dilations")?;
    let auto = cx.attrs.string("auto_pad", "NOTSET")?;
    let (mut begin, mut end) = (vec![0; n], vec![0; n]);
    match auto.as_str() {
        "NOTSET" => {
            if let Some(p) = cx.attrs.ints("pads")? {
                if p.len() != 2 * n || p.iter().any(|&x| x < 0) {
                    return Err(cx.err(format!("`pads` must be {} values >= 0, got {p:?}", 2 * n)));
                }
                for a in 0..n {
                    begin[a] = p[a] as usize;
                    end[a] = p[a + n] as usize;
                }
            }
        }
        "VALID" => {}
        "SAME_UPPER" | "SAME_LOWER" => {
            for a in 0..n {
                let out = spatial[a].div_ceil(stride[a]);
                let span = (kernel[a] - 1) * dilation[a] + 1;
                let total = ((out.max(1) - 1) * stride[a] + span).saturating_sub(spatial[a]);
                let small = total / 2;
                (begin[a], end[a]) = if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
            }
        }
        other => return Err(cx.err(format!("auto_pad `{other}`"))),
    }
    Ok(WindowNd {
        kernel: kernel.to_vec(),
        stride,
        dilation,
        begin,
        end,
    })
}

fn window(cx: &NodeCx<'_>, spatial: [usize; 2], kernel: &[usize], one_d: bool) -> Result<Window> {
    let w = if one_d {
        window_nd(cx, &spatial[1..], kernel)?
    } else {
        window_nd(cx, &spatial, kernel)?
    };
    Ok(if one_d {
        Window {
            kernel: [1, w.kernel[0]],
            stride: [1, w.stride[0]],
            dilation: [1, w.dilation[0]],
            padding: [0, w.begin[0], 0, w.end[0]],
        }
    } else {
        Window {
            kernel: [w.kernel[0], w.kernel[1]],
            stride: [w.stride[0], w.stride[1]],
            dilation: [w.dilation[0], w.dilation[1]],
            padding: [w.begin[0], w.begin[1], w.end[0], w.end[1]],
        }
    })
}

/// Input 0 as NCHW: a rank-3 `[N, C, L]` input is viewed as `[N, C, 1, L]`. Returns the
/// tensor, its NCHW dims and whether it was 1-D.
fn nchw(cx: &mut NodeCx<'_>) -> Result<(usize, [usize; 4], bool)> {
    let x = cx.tensor(0)?;
    nchw_of(cx, x)
}

/// [`nchw`] of born tensor `x`.
fn nchw_of(cx: &mut NodeCx<'_>, x: usize) -> Result<(usize, [usize; 4], bool)> {
    let dims = cx.tensor_info(x).1;
    match *dims.as_slice() {
        [n, c, h, w] => Ok((x, [n, c, h, w], false)),
        [n, c, l] => Ok((cx.reshape(x, &[n, c, 1, l])?, [n, c, 1, l], true)),
        _ => Err(cx.err(format!(
            "input of rank {}: born runs 1-D and 2-D windows only",
            dims.len()
        ))),
    }
}

/// Undoes [`nchw`]'s view on the output.
fn unview(cx: &mut NodeCx<'_>, y: usize, one_d: bool) -> Result<usize> {
    if !one_d {
        return Ok(y);
    }
    let d = cx.tensor_info(y).1;
    cx.reshape(y, &[d[0], d[1], d[3]])
}

pub fn conv(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    require_f32(cx, 1)?;
    let wd = cx.dims(1)?;
    let (x, s, one_d) = nchw(cx)?;
    let kernel = match cx.attrs.ints("kernel_shape")? {
        Some(k) => k.iter().map(|&v| v.max(0) as usize).collect(),
        None => wd.get(2..).unwrap_or_default().to_vec(),
    };
    if kernel != wd.get(2..).unwrap_or_default() {
        return Err(cx.err(format!(
            "kernel_shape {kernel:?} differs from the weight's {wd:?}"
        )));
    }
    let win = window(cx, [s[2], s[3]], &kernel, one_d)?;
    let groups = cx.attrs.int("group", 1)?;
    if groups < 1 {
        return Err(cx.err(format!("group {groups}")));
    }
    let mut w = cx.tensor(1)?;
    if one_d {
        w = cx.reshape(w, &[wd[0], wd[1], 1, wd[2]])?;
    }
    let b = cx.tensor(2)?;
    let attrs = ConvAttrs {
        conv: Geometry {
            stride: win.stride,
            padding: win.padding,
            dilation: win.dilation,
            groups: groups as usize,
        },
        act: None,
    };
    let inputs: &[usize] = if cx.has(2) { &[x, w, b] } else { &[x, w] };
    let y = cx.op::<Conv2d>(attrs, inputs)?;
    one(unview(cx, y, one_d)?)
}

/// The pooling window of this node's attributes over born tensor `x` (viewed as NCHW).
fn pool_window(cx: &mut NodeCx<'_>, x: usize) -> Result<(usize, Pool2d, bool)> {
    let kernel: Vec<usize> = cx
        .attrs
        .ints("kernel_shape")?
        .ok_or_else(|| cx.err("needs kernel_shape"))?
        .iter()
        .map(|&v| v.max(0) as usize)
        .collect();
    let (x, s, one_d) = nchw_of(cx, x)?;
    let win = window(cx, [s[2], s[3]], &kernel, one_d)?;
    let p = Pool2d {
        kernel: win.kernel,
        stride: win.stride,
        padding: win.padding,
        dilation: win.dilation,
        ceil_mode: cx.attrs.int("ceil_mode", 0)? != 0,
        count_include_pad: cx.attrs.int("count_include_pad", 0)? != 0,
    };
    Ok((x, p, one_d))
}

fn pool(cx: &mut NodeCx<'_>, max: bool) -> Out {
    let dtype = cx.dtype(0)?;
    if max && matches!(dtype, DType::U8 | DType::I8 | DType::I16 | DType::U16) {
        // Exact in f32: pool there and cast back.
        use born_core::ops::cast::{Cast, CastAttrs};
        let x = cx.tensor(0)?;
        let xf = cx.op::<Cast>(CastAttrs { to: DType::F32 }, &[x])?;
        let (v, p, one_d) = pool_window(cx, xf)?;
        let y = cx.op::<MaxPool2d>(p, &[v])?;
        let y = unview(cx, y, one_d)?;
        return one(cx.op::<Cast>(CastAttrs { to: dtype }, &[y])?);
    }
    require_f32(cx, 0)?;
    if cx.node.output.len() > 1 && !cx.node.output[1].is_empty() {
        return Err(cx.err("the Indices output is not supported by born"));
    }
    if cx.dims(0)?.len() == 5 {
        return one(pool3d(cx, max)?);
    }
    let x = cx.tensor(0)?;
    let (x, p, one_d) = pool_window(cx, x)?;
    let y = if max {
        if cx.attrs.int("storage_order", 0)? != 0 {
            return Err(cx.err("storage_order = 1 is not supported by born"));
        }
        cx.op::<MaxPool2d>(p, &[x])?
    } else {
        cx.op::<AvgPool2d>(p, &[x])?
    };
    one(unview(cx, y, one_d)?)
}

/// A 3-D max or average pool as two 2-D pools: over (H, W) on the `[N, C * D, H, W]` view,
/// then over D on the `[N, C, D, H' * W']` view. Both are exact: a window is a box, so its
/// maximum, its sum and its count of valid (unpadded) cells factor per axis.
fn pool3d(cx: &mut NodeCx<'_>, max: bool) -> Result<usize> {
    let d = cx.dims(0)?;
    let (n, c) = (d[0], d[1]);
    let kernel: Vec<usize> = cx
        .attrs
        .ints("kernel_shape")?
        .ok_or_else(|| cx.err("needs kernel_shape"))?
        .iter()
        .map(|&v| v.max(0) as usize)
        .collect();
    let w = window_nd(cx, &d[2..], &kernel)?;
    let ceil_mode = cx.attrs.int("ceil_mode", 0)? != 0;
    let count_include_pad = cx.attrs.int("count_include_pad", 0)? != 0;
    let pool = |cx: &mut NodeCx<'_>, x: usize, p: Pool2d| {
        if max {
            cx.op::<MaxPool2d>(p, &[x])
        } else {
            cx.op::<AvgPool2d>(p, &[x])
        }
    };
    let x = cx.tensor(0)?;
    let v = cx.reshape(x, &[n, c * d[2], d[3], d[4]])?;
    let hw = Pool2d {
        kernel: [w.kernel[1], w.kernel[2]],
        stride: [w.stride[1], w.stride[2]],
        padding: [w.begin[1], w.begin[2], w.end[1], w.end[2]],
        dilation: [w.dilation[1], w.dilation[2]],
        ceil_mode,
        count_include_pad,
    };
    let y = pool(cx, v, hw)?;
    let yd = cx.tensor_info(y).1;
    let (h2, w2) = (yd[2], yd[3]);
    let v = cx.reshape(y, &[n, c, d[2], h2 * w2])?;
    let depth = Pool2d {
        kernel: [w.kernel[0], 1],
        stride: [w.stride[0], 1],
        padding: [w.begin[0], 0, w.end[0], 0],
        dilation: [w.dilation[0], 1],
        ceil_mode,
        count_include_pad,
    };
    let z = pool(cx, v, depth)?;
    let d2 = cx.tensor_info(z).1[2];
    cx.reshape(z, &[n, c, d2, h2, w2])
}

/// `LpPool`: `(window_count * avg(|x|^p))^(1/p)`, as ONNX's reference computes it.
pub fn lp_pool(cx: &mut NodeCx<'_>) -> Out {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::kernels::unary::UnaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::unary::{Unary, UnaryAttrs};
    require_f32(cx, 0)?;
    let p = cx.attrs.int("p", 2)? as f32;
    let x = cx.tensor(0)?;
    let a = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Abs), &[x])?;
    let pc = scalar(cx, p)?;
    let xp = cx.op::<Binary>(BinaryOp::Pow, &[a, pc])?;
    let (v, mut w, one_d) = pool_window(cx, xp)?;
    // ONNX's reference averages over the padded window when the padding comes from
    // `auto_pad`.
    if cx.attrs.string("auto_pad", "NOTSET")?.starts_with("SAME") {
        w.count_include_pad = true;
    }
    let avg = cx.op::<AvgPool2d>(w, &[v])?;
    let n = scalar(cx, (w.kernel[0] * w.kernel[1]) as f32)?;
    let sum = cx.op::<Binary>(BinaryOp::Mul, &[avg, n])?;
    let inv = scalar(cx, 1.0 / p)?;
    let y = cx.op::<Binary>(BinaryOp::Pow, &[sum, inv])?;
    one(unview(cx, y, one_d)?)
}

pub fn max_pool(cx: &mut NodeCx<'_>) -> Out {
    pool(cx, true)
}
pub fn average_pool(cx: &mut NodeCx<'_>) -> Out {
    pool(cx, false)
}

/// Global pooling: born's `GlobalAvgPool2d` for 4-D average, a reduction otherwise.
fn global(cx: &mut NodeCx<'_>, op: ReduceOp) -> Out {
    require_f32(cx, 0)?;
    let dims = cx.dims(0)?;
    if dims.len() < 3 {
        return Err(cx.err("needs an input of rank 3 or more"));
    }
    let x = cx.tensor(0)?;
    if op == ReduceOp::Mean && dims.len() == 4 {
        let y = cx.op::<GlobalAvgPool2d>((), &[x])?;
        return one(cx.reshape(y, &[dims[0], dims[1], 1, 1])?);
    }
    let axes: Vec<i32> = (2..dims.len() as i32).collect();
    let a = ReduceAttrs::new(op, &axes, true).ok_or_else(|| cx.err("rank"))?;
    one(cx.op::<Reduce>(a, &[x])?)
}

pub fn global_average_pool(cx: &mut NodeCx<'_>) -> Out {
    global(cx, ReduceOp::Mean)
}
pub fn global_max_pool(cx: &mut NodeCx<'_>) -> Out {
    global(cx, ReduceOp::Max)
}

/// `[rows, cols]` of a known f32 matrix, transposed.
fn transposed(c: &Const) -> Const {
    let (r, k) = (c.dims[0], c.dims[1]);
    let v = c.to_f32();
    let mut t = vec![0f32; r * k];
    for i in 0..r {
        for j in 0..k {
            t[j * r + i] = v[i * k + j];
        }
    }
    Const::from_values(vec![k, r], &t)
}

pub fn gemm(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    require_f32(cx, 1)?;
    let alpha = cx.attrs.float("alpha", 1.0)?;
    let beta = cx.attrs.float("beta", 1.0)?;
    let trans_a = cx.attrs.int("transA", 0)? != 0;
    let trans_b = cx.attrs.int("transB", 0)? != 0;
    let (ad, bd) = (cx.dims(0)?, cx.dims(1)?);
    if ad.len() != 2 || bd.len() != 2 {
        return Err(cx.err("A and B must be 2-D"));
    }
    let n = if trans_b { bd[0] } else { bd[1] };
    // y = x W^T + b: born's fully connected layer, when B is a constant.
    let c_ok = !cx.has(2) || {
        let cd = cx.dims(2)?;
        cd == [n] || cd == [1, n]
    };
    if let Some(b) = cx
        .try_known(1)
        .filter(|_| alpha == 1.0 && beta == 1.0 && !trans_a && c_ok)
    {
        let w = if trans_b {
            cx.constant(&b)?
        } else {
            cx.new_const(transposed(&b))?
        };
        let x = cx.tensor(0)?;
        let mut inputs = vec![x, w];
        if cx.has(2) {
            let c = cx.tensor(2)?;
            inputs.push(if cx.dims(2)?.len() == 2 {
                cx.reshape(c, &[n])?
            } else {
                c
            });
        }
        return one(cx.op::<FullyConnected>(FcAttrs { act: None }, &inputs)?);
    }
    let (a, b, c) = (cx.tensor(0)?, cx.tensor(1)?, cx.tensor(2)?);
    let attrs = GemmAttrs {
        trans_a,
        trans_b,
        alpha,
        beta,
    };
    let inputs: &[usize] = if cx.has(2) { &[a, b, c] } else { &[a, b] };
    one(cx.op::<Gemm>(attrs, inputs)?)
}

pub fn matmul(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    require_f32(cx, 1)?;
    let ad = cx.dims(0)?;
    // x @ B with a constant 2-D B is born's fully connected layer (W = B^T).
    if let Some(b) = cx
        .try_known(1)
        .filter(|b| b.dims.len() == 2 && ad.len() >= 2)
    {
        let w = cx.new_const(transposed(&b))?;
        let x = cx.tensor(0)?;
        return one(cx.op::<FullyConnected>(FcAttrs { act: None }, &[x, w])?);
    }
    let (a, b) = (cx.tensor(0)?, cx.tensor(1)?);
    one(cx.op::<MatMul>((), &[a, b])?)
}

/// Folds an inference batch norm into the convolution that produced its input (the only
/// reader of that output), rewriting the conv's weight and bias as new constants.
fn fold_into_conv(cx: &mut NodeCx<'_>, eps: f32) -> Result<Option<usize>> {
    let x = match cx.inputs.first() {
        Some(Some(Value::Tensor(id))) if cx.sole_reader(0) => *id,
        _ => return Ok(None),
    };
    let (wid, bid, act_free) = {
        let g = cx.graph();
        let Some(last) = g.ops.last() else {
            return Ok(None);
        };
        if last.output() != x || g.outputs.contains(&x) {
            return Ok(None);
        }
        let Some(attrs) = last.attrs::<Conv2d>() else {
            return Ok(None);
        };
        (
            last.inputs[1],
            last.inputs.get(2).copied(),
            attrs.act.is_none(),
        )
    };
    let (Ok(scale), Ok(shift), Ok(mean), Ok(var)) =
        (cx.known(1), cx.known(2), cx.known(3), cx.known(4))
    else {
        return Ok(None);
    };
    let g = cx.graph();
    let w = &g.tensors[wid];
    let Some(wbytes) = w.data.as_ref() else {
        return Ok(None);
    };
    if !act_free || w.dtype != DType::F32 {
        return Ok(None);
    }
    let wdims = w.shape.dims().to_vec();
    let o = wdims[0];
    let wv: Vec<f32> = f32s(wbytes);
    let bv: Vec<f32> = match bid.map(|b| &g.tensors[b]) {
        Some(t) => match &t.data {
            Some(d) => f32s(d),
            None => return Ok(None),
        },
        None => vec![0.0; o],
    };
    let (scale, shift, mean, var) = (scale.to_f32(), shift.to_f32(), mean.to_f32(), var.to_f32());
    if [scale.len(), shift.len(), mean.len(), var.len(), bv.len()] != [o; 5] {
        return Ok(None);
    }
    let per = wv.len() / o.max(1);
    let mut nw = wv;
    let mut nb = vec![0f32; o];
    for c in 0..o {
        let s = scale[c] / (var[c] + eps).sqrt();
        for v in &mut nw[c * per..(c + 1) * per] {
            *v *= s;
        }
        nb[c] = (bv[c] - mean[c]) * s + shift[c];
    }
    let nwid = cx.new_const(Const::from_values(wdims, &nw))?;
    let nbid = cx.new_const(Const::from_values(vec![o], &nb))?;
    let g = cx.graph();
    let Some(last) = g.ops.last_mut() else {
        return Ok(None);
    };
    last.inputs[1] = nwid;
    if last.inputs.len() > 2 {
        last.inputs[2] = nbid;
    } else {
        last.inputs.push(nbid);
    }
    Ok(Some(x))
}

pub fn batch_norm(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    if cx.attrs.int("training_mode", 0)? != 0
        || cx.node.output.iter().skip(1).any(|o| !o.is_empty())
    {
        return Err(cx.err("training-mode batch normalisation is not supported by born"));
    }
    if cx.opset < 9 && cx.attrs.int("spatial", 1)? == 0 {
        return Err(cx.err("spatial = 0 is not supported by born"));
    }
    let eps = cx.attrs.float("epsilon", 1e-5)?;
    if let Some(y) = fold_into_conv(cx, eps)? {
        return one(y);
    }
    let x = cx.tensor(0)?;
    let (scale, bias, mean, var) = (cx.tensor(1)?, cx.tensor(2)?, cx.tensor(3)?, cx.tensor(4)?);
    one(cx.op::<BatchNorm>(EpsAttrs { eps }, &[x, mean, var, scale, bias])?)
}

/// Input 0 viewed as `[.., d]` with `d` the product of the axes from `axis` on (the rows a
/// last-axis normalisation sees); returns the view, `d` and whether a view was needed.
fn rows_from(cx: &mut NodeCx<'_>, ax: usize) -> Result<(usize, usize, bool)> {
    let dims = cx.dims(0)?;
    let d: usize = dims[ax..].iter().product();
    let x = cx.tensor(0)?;
    if ax + 1 == dims.len() {
        return Ok((x, d, false));
    }
    let mut view = dims[..ax].to_vec();
    view.push(d);
    Ok((cx.reshape(x, &view)?, d, true))
}

/// Input `k` as a `[d]` vector (absent: `fill` everywhere); its element count must be `d`.
fn vector_of(cx: &mut NodeCx<'_>, k: usize, d: usize, fill: f32) -> Result<usize> {
    if !cx.has(k) {
        return cx.new_const(Const::from_values(vec![d], &vec![fill; d]));
    }
    let n: usize = cx.dims(k)?.iter().product();
    if n != d {
        return Err(cx.err(format!("input {k} has {n} values, the normalised axes {d}")));
    }
    let t = cx.tensor(k)?;
    if cx.dims(k)?.len() == 1 {
        Ok(t)
    } else {
        cx.reshape(t, &[d])
    }
}

pub fn layer_norm(cx: &mut NodeCx<'_>) -> Out {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::kernels::unary::UnaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::unary::{Unary, UnaryAttrs};
    require_f32(cx, 0)?;
    let dims = cx.dims(0)?;
    let ax = axis(cx, cx.attrs.int("axis", -1)?, dims.len())?;
    let eps = cx.attrs.float("epsilon", 1e-5)?;
    let (x, d, flat) = rows_from(cx, ax)?;
    let scale = vector_of(cx, 1, d, 1.0)?;
    let bias = vector_of(cx, 2, d, 0.0)?;
    let y = cx.op::<LayerNorm>(EpsAttrs { eps }, &[x, scale, bias])?;
    let mut out = vec![Value::Tensor(if flat { cx.reshape(y, &dims)? } else { y })];
    let wants = |k: usize| cx.node.output.get(k).is_some_and(|o| !o.is_empty());
    if wants(1) || wants(2) {
        // Mean and 1 / sqrt(var + eps) over the normalised axes, shaped [.., 1, .., 1].
        let rank = if flat { ax + 1 } else { dims.len() };
        let last = ReduceAttrs::new(ReduceOp::Mean, &[rank as i32 - 1], true)
            .ok_or_else(|| cx.err("rank"))?;
        let mean = cx.op::<Reduce>(last, &[x])?;
        let centred = cx.op::<Binary>(BinaryOp::Sub, &[x, mean])?;
        let sq = cx.op::<Binary>(BinaryOp::Mul, &[centred, centred])?;
        let var = cx.op::<Reduce>(last, &[sq])?;
        let e = scalar(cx, eps)?;
        let ve = cx.op::<Binary>(BinaryOp::Add, &[var, e])?;
        let sd = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Sqrt), &[ve])?;
        let inv = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Reciprocal), &[sd])?;
        let mut stat = dims[..ax].to_vec();
        stat.extend(std::iter::repeat_n(1, dims.len() - ax));
        let mean = cx.reshape(mean, &stat)?;
        let inv = cx.reshape(inv, &stat)?;
        out.push(Value::Tensor(mean));
        out.push(Value::Tensor(inv));
    }
    Ok(out)
}

/// `RMSNormalization`: `x / sqrt(mean(x^2) + eps) * scale` over the axes from `axis`.
pub fn rms_norm(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let dims = cx.dims(0)?;
    let ax = axis(cx, cx.attrs.int("axis", -1)?, dims.len())?;
    let eps = cx.attrs.float("epsilon", 1e-5)?;
    let (x, d, flat) = rows_from(cx, ax)?;
    let scale = vector_of(cx, 1, d, 1.0)?;
    let y = cx.op::<born_core::ops::norm::RmsNorm>(EpsAttrs { eps }, &[x, scale])?;
    one(if flat { cx.reshape(y, &dims)? } else { y })
}

/// Normalises each of `groups` channel groups of each example over its channels and
/// spatial positions (born's LayerNorm on the `[N * groups, rest]` view), then applies the
/// per-channel `scale` (input 1) and `bias` (input 2).
fn grouped_norm(cx: &mut NodeCx<'_>, groups: usize, eps: f32) -> Out {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::ops::binary::Binary;
    require_f32(cx, 0)?;
    let dims = cx.dims(0)?;
    if dims.len() < 2 || groups == 0 || dims[1] % groups != 0 {
        return Err(cx.err(format!("{groups} groups for input {dims:?}")));
    }
    let (n, c) = (dims[0], dims[1]);
    let rest: usize = dims.iter().product::<usize>() / (n * groups).max(1);
    let x = cx.tensor(0)?;
    let v = cx.reshape(x, &[n * groups, rest])?;
    let ones = cx.new_const(Const::from_values(vec![rest], &vec![1f32; rest]))?;
    let zeros = cx.new_const(Const::from_values(vec![rest], &vec![0f32; rest]))?;
    let y = cx.op::<LayerNorm>(EpsAttrs { eps }, &[v, ones, zeros])?;
    let y = cx.reshape(y, &dims)?;
    let mut per_channel = vec![1; dims.len()];
    per_channel[1] = c;
    let vec_c = |cx: &mut NodeCx<'_>, k: usize| -> Result<usize> {
        let t = cx.tensor(k)?;
        if cx.dims(k)?.iter().product::<usize>() != c {
            return Err(cx.err(format!("input {k} must hold {c} values")));
        }
        cx.reshape(t, &per_channel)
    };
    let s = vec_c(cx, 1)?;
    let b = vec_c(cx, 2)?;
    let y = cx.op::<Binary>(BinaryOp::Mul, &[y, s])?;
    one(cx.op::<Binary>(BinaryOp::Add, &[y, b])?)
}

pub fn instance_norm(cx: &mut NodeCx<'_>) -> Out {
    let eps = cx.attrs.float("epsilon", 1e-5)?;
    let c = *cx
        .dims(0)?
        .get(1)
        .ok_or_else(|| cx.err("needs a channel axis"))?;
    grouped_norm(cx, c, eps)
}

pub fn group_norm(cx: &mut NodeCx<'_>) -> Out {
    let eps = cx.attrs.float("epsilon", 1e-5)?;
    let g = cx.attrs.int("num_groups", 0)?;
    grouped_norm(cx, g.max(0) as usize, eps)
}

/// `LpNormalization`: `x / ||x||_p` along `axis` (p 1 or 2).
pub fn lp_norm(cx: &mut NodeCx<'_>) -> Out {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::kernels::unary::UnaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::unary::{Unary, UnaryAttrs};
    require_f32(cx, 0)?;
    let rank = cx.dims(0)?.len();
    let ax = axis(cx, cx.attrs.int("axis", -1)?, rank)? as i32;
    let x = cx.tensor(0)?;
    let norm = match cx.attrs.int("p", 2)? {
        1 => {
            let a = cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Abs), &[x])?;
            let r = ReduceAttrs::new(ReduceOp::Sum, &[ax], true).ok_or_else(|| cx.err("axis"))?;
            cx.op::<Reduce>(r, &[a])?
        }
        2 => {
            let r = ReduceAttrs::new(ReduceOp::SumSquares, &[ax], true)
                .ok_or_else(|| cx.err("axis"))?;
            let s = cx.op::<Reduce>(r, &[x])?;
            cx.op::<Unary>(UnaryAttrs::new(UnaryOp::Sqrt), &[s])?
        }
        p => return Err(cx.err(format!("p = {p} (only 1 and 2 are defined)"))),
    };
    // A zero norm gives 0, as ONNX's reference does.
    use born_core::kernels::compare::CompareOp;
    use born_core::ops::compare::{Compare, CompareAttrs};
    let y = cx.op::<Binary>(BinaryOp::Div, &[x, norm])?;
    let zero = scalar(cx, 0.0)?;
    let flat = cx.op::<Compare>(CompareAttrs::new(CompareOp::Equal), &[norm, zero])?;
    one(cx.op::<born_core::ops::where_select::Where>((), &[flat, zero, y])?)
}

/// `Hardmax` (opset 13): 1 at the first maximum along `axis`, 0 elsewhere.
pub fn hardmax(cx: &mut NodeCx<'_>) -> Out {
    use born_core::kernels::compare::CompareOp;
    use born_core::ops::arg_max::{ArgAttrs, ArgMax};
    use born_core::ops::cast::{Cast, CastAttrs};
    use born_core::ops::compare::{Compare, CompareAttrs};
    require_f32(cx, 0)?;
    let dims = cx.dims(0)?;
    let ax = axis(cx, cx.attrs.int("axis", -1)?, dims.len())?;
    let x = cx.tensor(0)?;
    let am = cx.op::<ArgMax>(
        ArgAttrs {
            axis: ax as i32,
            keepdims: true,
        },
        &[x],
    )?;
    let iota = cx.new_const(super::shape::iota_along(dims[ax], ax, dims.len()))?;
    let hit = cx.op::<Compare>(CompareAttrs::new(CompareOp::Equal), &[am, iota])?;
    one(cx.op::<Cast>(CastAttrs { to: DType::F32 }, &[hit])?)
}

/// `CumSum` of f32 along a known axis: a matrix product with a triangular matrix of ones
/// (`exclusive` shifts the diagonal, `reverse` flips the triangle).
/// `CumProd` along a known axis, unrolled: each position is the product of the previous
/// result and its own slice (f32 and the integer types; `exclusive`, `reverse`).
pub fn cum_prod(cx: &mut NodeCx<'_>) -> Out {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::ops::binary::Binary;
    use born_core::ops::concat::{Concat, ConcatAttrs};
    use born_core::ops::slice::{Slice, SliceAttrs};
    let dtype = cx.dtype(0)?;
    if matches!(dtype, DType::F16 | DType::F64 | DType::Bool) {
        return Err(cx.err(format!("CumProd of {dtype:?} is not supported by born")));
    }
    let dims = cx.dims(0)?;
    let a = *cx
        .known_ints(1)?
        .first()
        .ok_or_else(|| cx.err("axis is empty"))?;
    let ax = axis(cx, a, dims.len())?;
    let exclusive = cx.attrs.int("exclusive", 0)? != 0;
    let reverse = cx.attrs.int("reverse", 0)? != 0;
    let len = dims[ax];
    if len > 4096 {
        return Err(cx.err("CumProd over more than 4096 positions is not supported by born"));
    }
    let x = cx.tensor(0)?;
    let mut slice_dims = dims.clone();
    slice_dims[ax] = 1;
    let one_bytes = match dtype {
        DType::F32 => 1f32.to_le_bytes().to_vec(),
        d => {
            let mut b = vec![0u8; d.size()];
            b[0] = 1;
            b
        }
    };
    let n: usize = slice_dims.iter().product();
    let ones = cx.new_const(Const {
        dtype,
        dims: slice_dims.clone(),
        bytes: one_bytes.repeat(n),
    })?;
    let mut parts = vec![0usize; len];
    let mut acc: Option<usize> = None;
    let order: Vec<usize> = if reverse {
        (0..len).rev().collect()
    } else {
        (0..len).collect()
    };
    for &i in &order {
        let s = SliceAttrs::new(&[i as i64], &[i as i64 + 1], &[ax as i64], &[])
            .ok_or_else(|| cx.err("slice"))?;
        let xi = cx.op::<Slice>(s, &[x])?;
        let (out, next) = match acc {
            None => {
                let out = if exclusive { ones } else { xi };
                (out, xi)
            }
            Some(p) => {
                let next = cx.op::<Binary>(BinaryOp::Mul, &[p, xi])?;
                (if exclusive { p } else { next }, next)
            }
        };
        parts[i] = out;
        acc = Some(next);
    }
    let mut y = parts[0];
    if len > 1 {
        let mut chunks = parts;
        while chunks.len() > born_core::ops::MAX_INPUTS {
            let rest = chunks.split_off(born_core::ops::MAX_INPUTS);
            let head = cx.op::<Concat>(ConcatAttrs { axis: ax as i32 }, &chunks)?;
            chunks = std::iter::once(head).chain(rest).collect();
        }
        y = cx.op::<Concat>(ConcatAttrs { axis: ax as i32 }, &chunks)?;
    } else {
        y = cx.reshape(y, &dims)?;
    }
    one(y)
}

pub fn cum_sum(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let dims = cx.dims(0)?;
    let a = *cx
        .known_ints(1)?
        .first()
        .ok_or_else(|| cx.err("axis is empty"))?;
    let ax = axis(cx, a, dims.len())?;
    let exclusive = cx.attrs.int("exclusive", 0)? != 0;
    let reverse = cx.attrs.int("reverse", 0)? != 0;
    let len = dims[ax];
    // out[.., j] = sum_i x[.., i] * m[i, j]
    let mut m = vec![0f32; len * len];
    for i in 0..len {
        for j in 0..len {
            let take = match (reverse, exclusive) {
                (false, false) => i <= j,
                (false, true) => i < j,
                (true, false) => i >= j,
                (true, true) => i > j,
            };
            m[i * len + j] = f32::from(u8::from(take));
        }
    }
    let last = dims.len() - 1;
    let mut x = cx.tensor(0)?;
    let mut perm: Vec<usize> = (0..dims.len()).collect();
    perm.swap(ax, last);
    x = super::permute(cx, x, &perm)?;
    let w = cx.new_const(Const::from_values(vec![len, len], &m))?;
    let mut y = cx.op::<MatMul>((), &[x, w])?;
    y = super::permute(cx, y, &perm)?;
    one(y)
}

fn softmax_like(cx: &mut NodeCx<'_>, log: bool) -> Out {
    require_f32(cx, 0)?;
    let dims = cx.dims(0)?;
    let default = if cx.opset < 13 { 1 } else { -1 };
    let ax = axis(cx, cx.attrs.int("axis", default)?, dims.len())?;
    let mut x = cx.tensor(0)?;
    // Before opset 13 the input is flattened to 2-D at `axis` and normalised per row.
    let flat = cx.opset < 13 && ax + 1 < dims.len();
    let run_axis = if flat {
        let outer: usize = dims[..ax].iter().product();
        let inner: usize = dims[ax..].iter().product();
        x = cx.reshape(x, &[outer, inner])?;
        1
    } else {
        ax as i32
    };
    let a = AxisAttrs { axis: run_axis };
    let y = if log {
        cx.op::<LogSoftmax>(a, &[x])?
    } else {
        cx.op::<Softmax>(a, &[x])?
    };
    one(if flat { cx.reshape(y, &dims)? } else { y })
}

pub fn softmax(cx: &mut NodeCx<'_>) -> Out {
    softmax_like(cx, false)
}
pub fn log_softmax(cx: &mut NodeCx<'_>) -> Out {
    softmax_like(cx, true)
}
