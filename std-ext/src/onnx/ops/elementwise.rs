//! Element-wise operators: arithmetic, activations, comparisons, logic, `Where`.

use super::{bin, one, require_f32, scalar};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::Const;
use born_core::dtype::DType;
use born_core::kernels::activation::Activation as Act;
use born_core::kernels::compare::{CompareOp, LogicOp};
use born_core::kernels::elementwise::BinaryOp;
use born_core::kernels::elementwise::IntOp;
use born_core::kernels::unary::UnaryOp;
use born_core::ops::activation::Activation;
use born_core::ops::cast::{Cast, CastAttrs};
use born_core::ops::compare::{Compare, CompareAttrs};
use born_core::ops::logical::{Logical, LogicalAttrs};
use born_core::ops::modulo::IntBinary;
use born_core::ops::not::Not;
use born_core::ops::unary::{Unary, UnaryAttrs};
use born_core::ops::where_select::Where;

type Out = Result<Vec<Value>>;

/// Binary op `op` on inputs 0 and 1 of one element type (f32 or an integer type).
fn binary(cx: &mut NodeCx<'_>, op: BinaryOp) -> Out {
    let (a, b) = (cx.tensor(0)?, cx.tensor(1)?);
    one(bin(cx, op, a, b)?)
}

pub fn add(cx: &mut NodeCx<'_>) -> Out {
    if let Some(y) = fuse_bias(cx)? {
        return one(y);
    }
    binary(cx, BinaryOp::Add)
}

/// `MatMul` then `Add` of a constant vector, as PyTorch exports `nn.Linear` on a 3-D input:
/// the vector becomes the bias of the fully connected layer the MatMul was translated to
/// (when this Add is the only reader of its output).
fn fuse_bias(cx: &mut NodeCx<'_>) -> Result<Option<usize>> {
    use born_core::ops::fully_connected::FullyConnected;
    for (t, b) in [(0, 1), (1, 0)] {
        let Ok(Value::Tensor(x)) = cx.input_value(t) else {
            continue;
        };
        let Some(bias) = cx.try_known(b) else {
            continue;
        };
        let xd = cx.tensor_info(x).1;
        let n = xd.last().copied().unwrap_or(0);
        let vector = bias.dims.len() <= xd.len()
            && bias.dims.last() == Some(&n)
            && bias.dims.iter().rev().skip(1).all(|&d| d == 1);
        if !cx.sole_reader(t) || bias.dtype != DType::F32 || !vector {
            continue;
        }
        let fc_without_bias = {
            let g = cx.graph();
            g.ops.last().is_some_and(|op| {
                op.is::<FullyConnected>()
                    && op.output() == x
                    && op.inputs.len() == 2
                    && !g.outputs.contains(&x)
            })
        };
        if !fc_without_bias {
            continue;
        }
        let v = cx.new_const(Const::from_values(vec![n], &bias.to_f32()))?;
        if let Some(op) = cx.graph().ops.last_mut() {
            op.inputs.push(v);
        }
        return Ok(Some(x));
    }
    Ok(None)
}
pub fn sub(cx: &mut NodeCx<'_>) -> Out {
    binary(cx, BinaryOp::Sub)
}
pub fn mul(cx: &mut NodeCx<'_>) -> Out {
    binary(cx, BinaryOp::Mul)
}
pub fn div(cx: &mut NodeCx<'_>) -> Out {
    binary(cx, BinaryOp::Div)
}
/// `Pow`: the result has the base's type; mixed types are computed in f32 (what the
/// reference computes in the wider float type for these sizes).
pub fn pow(cx: &mut NodeCx<'_>) -> Out {
    let (bt, et) = (cx.dtype(0)?, cx.dtype(1)?);
    if bt == et {
        return binary(cx, BinaryOp::Pow);
    }
    let (mut a, mut b) = (cx.tensor(0)?, cx.tensor(1)?);
    if bt != DType::F32 {
        a = cx.op::<Cast>(CastAttrs { to: DType::F32 }, &[a])?;
    }
    if et != DType::F32 {
        b = cx.op::<Cast>(CastAttrs { to: DType::F32 }, &[b])?;
    }
    let y = bin(cx, BinaryOp::Pow, a, b)?;
    one(if bt == DType::F32 {
        y
    } else {
        cx.op::<Cast>(CastAttrs { to: bt }, &[y])?
    })
}

/// `Mod` on integers (`fmod` picks the sign rule).
pub fn modulo(cx: &mut NodeCx<'_>) -> Out {
    let fmod = cx.attrs.int("fmod", 0)? != 0;
    if matches!(cx.dtype(0)?, DType::F32 | DType::F16 | DType::F64) {
        return Err(cx.err("Mod of floating-point values is not supported by born"));
    }
    int_op(cx, if fmod { IntOp::Fmod } else { IntOp::Mod })
}

fn int_op(cx: &mut NodeCx<'_>, op: IntOp) -> Out {
    let (a, b) = (cx.tensor(0)?, cx.tensor(1)?);
    one(cx.op::<IntBinary>(op, &[a, b])?)
}

pub fn bitwise_and(cx: &mut NodeCx<'_>) -> Out {
    int_op(cx, IntOp::And)
}
pub fn bitwise_or(cx: &mut NodeCx<'_>) -> Out {
    int_op(cx, IntOp::Or)
}
pub fn bitwise_xor(cx: &mut NodeCx<'_>) -> Out {
    int_op(cx, IntOp::Xor)
}

/// `BitwiseNot`: xor with all ones.
pub fn bitwise_not(cx: &mut NodeCx<'_>) -> Out {
    let dtype = cx.dtype(0)?;
    if matches!(dtype, DType::F32 | DType::F16 | DType::F64 | DType::Bool) {
        return Err(cx.err(format!("BitwiseNot of {dtype:?}")));
    }
    let ones = cx.new_const(Const {
        dtype,
        dims: vec![],
        bytes: vec![0xFF; dtype.size()],
    })?;
    let x = cx.tensor(0)?;
    one(cx.op::<IntBinary>(IntOp::Xor, &[x, ones])?)
}

/// `BitShift` (`direction` LEFT or RIGHT).
pub fn bit_shift(cx: &mut NodeCx<'_>) -> Out {
    match cx.attrs.string("direction", "")?.as_str() {
        "LEFT" => int_op(cx, IntOp::ShiftLeft),
        "RIGHT" => int_op(cx, IntOp::ShiftRight),
        d => Err(cx.err(format!("direction `{d}` is not LEFT or RIGHT"))),
    }
}

/// A variadic operator folded left to right with `op`.
fn variadic(cx: &mut NodeCx<'_>, op: BinaryOp) -> Result<usize> {
    if cx.n_inputs() == 0 {
        return Err(cx.err("needs at least one input"));
    }
    let mut acc = cx.tensor(0)?;
    if cx.n_inputs() == 1 {
        let dims = cx.dims(0)?;
        return cx.reshape(acc, &dims);
    }
    for k in 1..cx.n_inputs() {
        let x = cx.tensor(k)?;
        acc = bin(cx, op, acc, x)?;
    }
    Ok(acc)
}

pub fn max(cx: &mut NodeCx<'_>) -> Out {
    one(variadic(cx, BinaryOp::Max)?)
}
pub fn min(cx: &mut NodeCx<'_>) -> Out {
    one(variadic(cx, BinaryOp::Min)?)
}
pub fn sum(cx: &mut NodeCx<'_>) -> Out {
    one(variadic(cx, BinaryOp::Add)?)
}
pub fn mean(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let s = variadic(cx, BinaryOp::Add)?;
    let n = scalar(cx, cx.n_inputs() as f32)?;
    one(bin(cx, BinaryOp::Div, s, n)?)
}

fn un(cx: &mut NodeCx<'_>, op: UnaryOp, x: usize) -> Result<usize> {
    cx.op::<Unary>(UnaryAttrs::new(op), &[x])
}

fn unary(cx: &mut NodeCx<'_>, op: UnaryOp) -> Out {
    if !matches!(op, UnaryOp::Abs | UnaryOp::Neg | UnaryOp::Sign) {
        require_f32(cx, 0)?;
    }
    let x = cx.tensor(0)?;
    one(un(cx, op, x)?)
}

pub fn abs(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Abs)
}
pub fn neg(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Neg)
}
pub fn exp(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Exp)
}
pub fn log(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Log)
}
pub fn sqrt(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Sqrt)
}
pub fn reciprocal(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Reciprocal)
}
pub fn floor(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Floor)
}
pub fn ceil(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Ceil)
}
pub fn round(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Round)
}
pub fn sign(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Sign)
}
pub fn sin(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Sin)
}
pub fn cos(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Cos)
}
pub fn erf(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Erf)
}
pub fn softplus(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::Softplus)
}
pub fn hard_swish(cx: &mut NodeCx<'_>) -> Out {
    unary(cx, UnaryOp::HardSwish)
}
pub fn hard_sigmoid(cx: &mut NodeCx<'_>) -> Out {
    let alpha = cx.attrs.float("alpha", 0.2)?;
    let beta = cx.attrs.float("beta", 0.5)?;
    unary(cx, UnaryOp::HardSigmoid { alpha, beta })
}

/// Activation `a` on input 0 (born's `Activation` needs rank 1 or more: a scalar is
/// viewed as `[1]`).
fn act(cx: &mut NodeCx<'_>, a: Act) -> Out {
    require_f32(cx, 0)?;
    let dims = cx.dims(0)?;
    let mut x = cx.tensor(0)?;
    if dims.is_empty() {
        x = cx.reshape(x, &[1])?;
    }
    let y = cx.op::<Activation>(a, &[x])?;
    one(if dims.is_empty() {
        cx.reshape(y, &[])?
    } else {
        y
    })
}

pub fn relu(cx: &mut NodeCx<'_>) -> Out {
    act(cx, Act::Relu)
}
pub fn leaky_relu(cx: &mut NodeCx<'_>) -> Out {
    let alpha = cx.attrs.float("alpha", 0.01)?;
    act(cx, Act::LeakyRelu(alpha))
}
pub fn sigmoid(cx: &mut NodeCx<'_>) -> Out {
    act(cx, Act::Sigmoid)
}
pub fn tanh(cx: &mut NodeCx<'_>) -> Out {
    act(cx, Act::Tanh)
}
pub fn gelu(cx: &mut NodeCx<'_>) -> Out {
    match cx.attrs.string("approximate", "none")?.as_str() {
        "none" => act(cx, Act::Gelu),
        "tanh" => act(cx, Act::GeluTanh),
        other => Err(cx.err(format!("approximate `{other}` is not `none` or `tanh`"))),
    }
}

/// `Clip`: bounds from attributes (before opset 11) or known inputs 1 and 2; `[0, 6]`
/// becomes born's ReLU6 (fusable into a convolution).
pub fn clip(cx: &mut NodeCx<'_>) -> Out {
    let bound = |cx: &NodeCx<'_>, k: usize, attr: &str, default: f32| -> Result<f32> {
        if cx.opset < 11 {
            return cx.attrs.float(attr, default);
        }
        if !cx.has(k) {
            return Ok(default);
        }
        let c = cx.known(k)?;
        match c.to_f32().as_slice() {
            [v] => Ok(*v),
            _ => Err(cx.err(format!("bound {k} must hold one value"))),
        }
    };
    if cx.opset >= 11 && (1..3).any(|k| cx.has(k) && cx.try_known(k).is_none()) {
        // Bounds computed at run time: max(x, min) then min(.., max).
        let mut y = cx.tensor(0)?;
        for (k, op) in [(1, BinaryOp::Max), (2, BinaryOp::Min)] {
            if cx.has(k) {
                let b = cx.tensor(k)?;
                y = bin(cx, op, y, b)?;
            }
        }
        return one(y);
    }
    if cx.dtype(0)? != DType::F32 {
        let mut y = cx.tensor(0)?;
        for (k, op, attr) in [(1, BinaryOp::Max, "min"), (2, BinaryOp::Min, "max")] {
            if cx.opset >= 11 && cx.has(k) {
                let b = cx.tensor(k)?;
                y = bin(cx, op, y, b)?;
            } else if cx.opset < 11 && cx.attrs.has(attr) {
                return Err(cx.err("integer Clip with attribute bounds is not supported"));
            }
        }
        return one(y);
    }
    let lo = bound(cx, 1, "min", f32::NEG_INFINITY)?;
    let hi = bound(cx, 2, "max", f32::INFINITY)?;
    if lo == 0.0 && hi == 6.0 && !cx.dims(0)?.is_empty() {
        return act(cx, Act::Relu6);
    }
    unary(cx, UnaryOp::Clip { min: lo, max: hi })
}

fn compare_op(cx: &mut NodeCx<'_>, op: CompareOp, a: usize, b: usize) -> Result<usize> {
    cx.op::<Compare>(CompareAttrs::new(op), &[a, b])
}

/// `where(x < 0 (or `cond`), neg, x)`, the shape of ELU-like activations: `neg` is built
/// by `f` from `x`.
fn piecewise(
    cx: &mut NodeCx<'_>,
    cond: CompareOp,
    threshold: f32,
    f: impl FnOnce(&mut NodeCx<'_>, usize) -> Result<usize>,
    otherwise: Option<f32>,
) -> Out {
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let t = scalar(cx, threshold)?;
    let c = compare_op(cx, cond, x, t)?;
    let y = f(cx, x)?;
    let other = match otherwise {
        Some(v) => scalar(cx, v)?,
        None => x,
    };
    one(cx.op::<Where>((), &[c, y, other])?)
}

/// `alpha * (exp(x) - 1)`.
fn expm1_scaled(cx: &mut NodeCx<'_>, x: usize, alpha: f32) -> Result<usize> {
    let e = un(cx, UnaryOp::Exp, x)?;
    let one_ = scalar(cx, 1.0)?;
    let m = bin(cx, BinaryOp::Sub, e, one_)?;
    let a = scalar(cx, alpha)?;
    bin(cx, BinaryOp::Mul, a, m)
}

pub fn elu(cx: &mut NodeCx<'_>) -> Out {
    let alpha = cx.attrs.float("alpha", 1.0)?;
    piecewise(
        cx,
        CompareOp::Less,
        0.0,
        |cx, x| expm1_scaled(cx, x, alpha),
        None,
    )
}

pub fn celu(cx: &mut NodeCx<'_>) -> Out {
    // max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) = where(x < 0, alpha*(exp(x/alpha)-1), x)
    let alpha = cx.attrs.float("alpha", 1.0)?;
    piecewise(
        cx,
        CompareOp::Less,
        0.0,
        |cx, x| {
            let a = scalar(cx, alpha)?;
            let xs = bin(cx, BinaryOp::Div, x, a)?;
            expm1_scaled(cx, xs, alpha)
        },
        None,
    )
}

pub fn selu(cx: &mut NodeCx<'_>) -> Out {
    let alpha = cx.attrs.float("alpha", 1.673_263_2)?;
    let gamma = cx.attrs.float("gamma", 1.050_701)?;
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let zero = scalar(cx, 0.0)?;
    let c = compare_op(cx, CompareOp::LessOrEqual, x, zero)?;
    let neg = expm1_scaled(cx, x, alpha * gamma)?;
    let g = scalar(cx, gamma)?;
    let pos = bin(cx, BinaryOp::Mul, g, x)?;
    one(cx.op::<Where>((), &[c, neg, pos])?)
}

pub fn thresholded_relu(cx: &mut NodeCx<'_>) -> Out {
    let alpha = cx.attrs.float("alpha", 1.0)?;
    // where(x > alpha, x, 0)
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let t = scalar(cx, alpha)?;
    let c = compare_op(cx, CompareOp::Greater, x, t)?;
    let zero = scalar(cx, 0.0)?;
    one(cx.op::<Where>((), &[c, x, zero])?)
}

pub fn softsign(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let a = un(cx, UnaryOp::Abs, x)?;
    let one_ = scalar(cx, 1.0)?;
    let d = bin(cx, BinaryOp::Add, a, one_)?;
    one(bin(cx, BinaryOp::Div, x, d)?)
}

pub fn prelu(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 1)?;
    let slope = cx.tensor(1)?;
    piecewise(
        cx,
        CompareOp::Less,
        0.0,
        |cx, x| bin(cx, BinaryOp::Mul, slope, x),
        None,
    )
}

/// `IsNaN`: `!(x == x)`.
pub fn is_nan(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let eq = compare_op(cx, CompareOp::Equal, x, x)?;
    one(cx.op::<Not>((), &[eq])?)
}

/// `IsInf`: `x == +inf` and/or `x == -inf` (`detect_positive`, `detect_negative`).
pub fn is_inf(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let pos = cx.attrs.int("detect_positive", 1)? != 0;
    let neg = cx.attrs.int("detect_negative", 1)? != 0;
    let x = cx.tensor(0)?;
    let (v, t) = match (pos, neg) {
        (true, true) => (un(cx, UnaryOp::Abs, x)?, f32::INFINITY),
        (true, false) => (x, f32::INFINITY),
        (false, true) => (x, f32::NEG_INFINITY),
        (false, false) => (x, f32::NAN),
    };
    let t = scalar(cx, t)?;
    one(compare_op(cx, CompareOp::Equal, v, t)?)
}

/// `Tan`: `sin(x) / cos(x)`.
pub fn tan(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let (s, c) = (un(cx, UnaryOp::Sin, x)?, un(cx, UnaryOp::Cos, x)?);
    one(bin(cx, BinaryOp::Div, s, c)?)
}

/// `(exp(x) op exp(-x)) / 2`: `Sinh` with `Sub`, `Cosh` with `Add`.
fn hyperbolic(cx: &mut NodeCx<'_>, op: BinaryOp) -> Out {
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let e = un(cx, UnaryOp::Exp, x)?;
    let nx = un(cx, UnaryOp::Neg, x)?;
    let en = un(cx, UnaryOp::Exp, nx)?;
    let d = bin(cx, op, e, en)?;
    let two = scalar(cx, 2.0)?;
    one(bin(cx, BinaryOp::Div, d, two)?)
}

/// `Asinh`: `sign(x) * ln(|x| + sqrt(x^2 + 1))` (odd symmetry avoids the cancellation
/// of the direct formula for negative `x`).
pub fn asinh(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let a = un(cx, UnaryOp::Abs, x)?;
    let sq = bin(cx, BinaryOp::Mul, a, a)?;
    let one_ = scalar(cx, 1.0)?;
    let s1 = bin(cx, BinaryOp::Add, sq, one_)?;
    let r = un(cx, UnaryOp::Sqrt, s1)?;
    let t = bin(cx, BinaryOp::Add, a, r)?;
    let l = un(cx, UnaryOp::Log, t)?;
    let sg = un(cx, UnaryOp::Sign, x)?;
    one(bin(cx, BinaryOp::Mul, sg, l)?)
}

/// `Acosh`: `ln(x + sqrt(x^2 - 1))` (NaN below 1).
pub fn acosh(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let sq = bin(cx, BinaryOp::Mul, x, x)?;
    let one_ = scalar(cx, 1.0)?;
    let s1 = bin(cx, BinaryOp::Sub, sq, one_)?;
    let r = un(cx, UnaryOp::Sqrt, s1)?;
    let t = bin(cx, BinaryOp::Add, x, r)?;
    one(un(cx, UnaryOp::Log, t)?)
}

/// `Atanh`: `0.5 * ln((1 + x) / (1 - x))`.
pub fn atanh(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let one_ = scalar(cx, 1.0)?;
    let p = bin(cx, BinaryOp::Add, one_, x)?;
    let m = bin(cx, BinaryOp::Sub, one_, x)?;
    let q = bin(cx, BinaryOp::Div, p, m)?;
    let l = un(cx, UnaryOp::Log, q)?;
    let h = scalar(cx, 0.5)?;
    one(bin(cx, BinaryOp::Mul, h, l)?)
}

pub fn sinh(cx: &mut NodeCx<'_>) -> Out {
    hyperbolic(cx, BinaryOp::Sub)
}
pub fn cosh(cx: &mut NodeCx<'_>) -> Out {
    hyperbolic(cx, BinaryOp::Add)
}

/// `Swish`: `x * sigmoid(alpha * x)` (born's SiLU when `alpha` is 1).
pub fn swish(cx: &mut NodeCx<'_>) -> Out {
    let alpha = cx.attrs.float("alpha", 1.0)?;
    if alpha == 1.0 {
        return act(cx, Act::Silu);
    }
    require_f32(cx, 0)?;
    let x = cx.tensor(0)?;
    let a = scalar(cx, alpha)?;
    let ax = bin(cx, BinaryOp::Mul, a, x)?;
    let s = cx.op::<Activation>(Act::Sigmoid, &[ax])?;
    one(bin(cx, BinaryOp::Mul, x, s)?)
}

/// `Shrink`: `x + bias` below `-lambd`, `x - bias` above `lambd`, else 0.
pub fn shrink(cx: &mut NodeCx<'_>) -> Out {
    require_f32(cx, 0)?;
    let lambd = cx.attrs.float("lambd", 0.5)?;
    let bias = cx.attrs.float("bias", 0.0)?;
    let x = cx.tensor(0)?;
    let (lo, hi) = (scalar(cx, -lambd)?, scalar(cx, lambd)?);
    let below = compare_op(cx, CompareOp::Less, x, lo)?;
    let above = compare_op(cx, CompareOp::Greater, x, hi)?;
    let b = scalar(cx, bias)?;
    let plus = bin(cx, BinaryOp::Add, x, b)?;
    let minus = bin(cx, BinaryOp::Sub, x, b)?;
    let zero = scalar(cx, 0.0)?;
    let mid = cx.op::<Where>((), &[above, minus, zero])?;
    one(cx.op::<Where>((), &[below, plus, mid])?)
}

fn compare(cx: &mut NodeCx<'_>, op: CompareOp) -> Out {
    let (a, b) = (cx.tensor(0)?, cx.tensor(1)?);
    one(compare_op(cx, op, a, b)?)
}

pub fn equal(cx: &mut NodeCx<'_>) -> Out {
    compare(cx, CompareOp::Equal)
}
pub fn less(cx: &mut NodeCx<'_>) -> Out {
    compare(cx, CompareOp::Less)
}
pub fn less_or_equal(cx: &mut NodeCx<'_>) -> Out {
    compare(cx, CompareOp::LessOrEqual)
}
pub fn greater(cx: &mut NodeCx<'_>) -> Out {
    compare(cx, CompareOp::Greater)
}
pub fn greater_or_equal(cx: &mut NodeCx<'_>) -> Out {
    compare(cx, CompareOp::GreaterOrEqual)
}

fn logical(cx: &mut NodeCx<'_>, op: LogicOp) -> Out {
    let (a, b) = (cx.tensor(0)?, cx.tensor(1)?);
    one(cx.op::<Logical>(LogicalAttrs::new(op), &[a, b])?)
}

pub fn and(cx: &mut NodeCx<'_>) -> Out {
    logical(cx, LogicOp::And)
}
pub fn or(cx: &mut NodeCx<'_>) -> Out {
    logical(cx, LogicOp::Or)
}
pub fn xor(cx: &mut NodeCx<'_>) -> Out {
    logical(cx, LogicOp::Xor)
}
pub fn not(cx: &mut NodeCx<'_>) -> Out {
    let x = cx.tensor(0)?;
    one(cx.op::<Not>((), &[x])?)
}

pub fn where_(cx: &mut NodeCx<'_>) -> Out {
    let (c, a, b) = (cx.tensor(0)?, cx.tensor(1)?, cx.tensor(2)?);
    one(cx.op::<Where>((), &[c, a, b])?)
}

/// `Identity`: a known value stays the same value; a run-time tensor gets its own view (a
/// reshape the planner may place in the same bytes), so no born tensor stands for two ONNX
/// values (the fusions rely on that).
pub fn identity(cx: &mut NodeCx<'_>) -> Out {
    match cx.input_value(0)? {
        Value::Tensor(x) => {
            let dims = cx.dims(0)?;
            one(cx.reshape(x, &dims)?)
        }
        v => Ok(vec![v]),
    }
}

/// `Dropout` at inference: the input, and (when asked for) an all-true mask.
pub fn dropout(cx: &mut NodeCx<'_>) -> Out {
    if cx.has(2) {
        let training = cx.known(2)?.to_i64().unwrap_or_default();
        // In training mode a ratio of 0 still keeps every element.
        let ratio = if cx.has(1) {
            cx.known(1)?.to_f32().first().copied().unwrap_or(0.5)
        } else {
            0.5
        };
        if training.iter().any(|&t| t != 0) && ratio != 0.0 {
            return Err(cx.err(
                "training_mode is true with a ratio above 0: born runs dropout at inference only",
            ));
        }
    }
    let mut out = identity(cx)?;
    if cx.node.output.len() > 1 && !cx.node.output[1].is_empty() {
        let dims = cx.dims(0)?;
        let n = dims.iter().product();
        out.push(Value::Known(std::rc::Rc::new(Const {
            dtype: DType::Bool,
            dims,
            bytes: vec![1; n],
        })));
    }
    Ok(out)
}
