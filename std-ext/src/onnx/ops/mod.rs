//! The translation of each ONNX operator type, and the table that finds it.
//!
//! A translation reads its node through [`NodeCx`] and appends born ops (or, for shape
//! queries, returns known values). It is written once for run-time inputs: when every input
//! is known the converter runs the same translation on born's interpreter to fold it.

mod attention;
mod conv_transpose;
mod dft;
mod einsum;
mod elementwise;
mod grid_sample;
mod index;
mod loss;
mod nn;
mod quant;
mod reduce;
mod resize;
mod rnn;
mod shape;

use super::convert::{NodeCx, Value};
use super::error::Result;

/// One operator type's translation.
pub struct Handler {
    /// Lowest opset version of the default domain it handles (earlier versions differ in
    /// ways it does not implement).
    pub since: i64,
    /// Whether a node with all inputs known may be folded (false for ops whose result is
    /// not a function of the inputs, such as random generators).
    pub foldable: bool,
    /// Whether a node that fails on f16 inputs is retried in f32 (inputs cast up, float
    /// outputs rounded back to f16): born's float kernels compute in f32.
    pub promote_f16: bool,
    /// The translation.
    pub run: fn(&mut NodeCx<'_>) -> Result<Vec<Value>>,
}

const fn h(since: i64, run: fn(&mut NodeCx<'_>) -> Result<Vec<Value>>) -> Handler {
    Handler {
        since,
        foldable: true,
        promote_f16: true,
        run,
    }
}

/// The translation of `op_type` in `domain` at `opset`, if there is one.
pub fn lookup(op_type: &str, domain: &str, opset: i64) -> Option<&'static Handler> {
    if !domain.is_empty() {
        return None;
    }
    TABLE
        .iter()
        .find(|(name, handler)| *name == op_type && opset >= handler.since)
        .map(|(_, handler)| handler)
}

/// Every operator type with a translation, for the support table.
pub fn supported() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

pub(crate) use quant::quantize_composed;

/// Checks input `k` is f32 (what born's float kernels take).
pub(crate) fn require_f32(cx: &NodeCx<'_>, k: usize) -> Result<()> {
    match cx.dtype(k)? {
        born_core::dtype::DType::F32 => Ok(()),
        d => Err(cx.err(format!(
            "input {k} is {d:?}: born computes {} in f32 only",
            cx.node.op_type()
        ))),
    }
}

/// A scalar f32 constant.
pub(crate) fn scalar(cx: &mut NodeCx<'_>, v: f32) -> Result<usize> {
    cx.new_const(super::tensor::Const::from_values(vec![], &[v]))
}

/// Binary op `op` on born tensors `a` and `b`.
pub(crate) fn bin(
    cx: &mut NodeCx<'_>,
    op: born_core::kernels::elementwise::BinaryOp,
    a: usize,
    b: usize,
) -> Result<usize> {
    cx.op::<born_core::ops::binary::Binary>(op, &[a, b])
}

/// Born tensor `x` with its axes permuted by `perm` (`x` itself for the identity).
pub(crate) fn permute(cx: &mut NodeCx<'_>, x: usize, perm: &[usize]) -> Result<usize> {
    use born_core::ops::transpose::{Transpose, TransposeAttrs};
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(x);
    }
    let a = TransposeAttrs::new(perm)
        .ok_or_else(|| cx.err(format!("permutation {perm:?} does not fit born")))?;
    cx.op::<Transpose>(a, &[x])
}

/// Output 0 is born tensor `id`.
pub(crate) fn one(id: usize) -> Result<Vec<Value>> {
    Ok(vec![Value::Tensor(id)])
}

/// The axis `axis` of a rank-`rank` tensor (negative counts from the end).
pub(crate) fn axis(cx: &NodeCx<'_>, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r.max(1) {
        return Err(cx.err(format!("axis {axis} is out of range for rank {rank}")));
    }
    Ok(if axis < 0 { axis + r } else { axis } as usize)
}

static TABLE: &[(&str, Handler)] = &[
    // Element-wise arithmetic and activations.
    ("Add", h(7, elementwise::add)),
    ("Sub", h(7, elementwise::sub)),
    ("Mul", h(7, elementwise::mul)),
    ("Div", h(7, elementwise::div)),
    ("Pow", h(7, elementwise::pow)),
    ("Mod", h(10, elementwise::modulo)),
    ("BitwiseAnd", h(18, elementwise::bitwise_and)),
    ("BitwiseOr", h(18, elementwise::bitwise_or)),
    ("BitwiseXor", h(18, elementwise::bitwise_xor)),
    ("BitwiseNot", h(18, elementwise::bitwise_not)),
    ("BitShift", h(11, elementwise::bit_shift)),
    ("Max", h(8, elementwise::max)),
    ("Min", h(8, elementwise::min)),
    ("Sum", h(8, elementwise::sum)),
    ("Mean", h(8, elementwise::mean)),
    ("Abs", h(6, elementwise::abs)),
    ("Neg", h(6, elementwise::neg)),
    ("Exp", h(6, elementwise::exp)),
    ("Log", h(6, elementwise::log)),
    ("Sqrt", h(6, elementwise::sqrt)),
    ("Reciprocal", h(6, elementwise::reciprocal)),
    ("Floor", h(6, elementwise::floor)),
    ("Ceil", h(6, elementwise::ceil)),
    ("Round", h(11, elementwise::round)),
    ("Sign", h(9, elementwise::sign)),
    ("Sin", h(7, elementwise::sin)),
    ("Cos", h(7, elementwise::cos)),
    ("Erf", h(9, elementwise::erf)),
    ("Relu", h(6, elementwise::relu)),
    ("LeakyRelu", h(6, elementwise::leaky_relu)),
    ("Sigmoid", h(6, elementwise::sigmoid)),
    ("Tanh", h(6, elementwise::tanh)),
    ("Gelu", h(20, elementwise::gelu)),
    ("HardSigmoid", h(6, elementwise::hard_sigmoid)),
    ("HardSwish", h(14, elementwise::hard_swish)),
    ("Softplus", h(1, elementwise::softplus)),
    ("Clip", h(6, elementwise::clip)),
    ("Elu", h(6, elementwise::elu)),
    ("Selu", h(6, elementwise::selu)),
    ("Celu", h(12, elementwise::celu)),
    ("ThresholdedRelu", h(10, elementwise::thresholded_relu)),
    ("Softsign", h(1, elementwise::softsign)),
    ("PRelu", h(7, elementwise::prelu)),
    ("IsNaN", h(9, elementwise::is_nan)),
    ("IsInf", h(10, elementwise::is_inf)),
    ("Tan", h(7, elementwise::tan)),
    ("Sinh", h(9, elementwise::sinh)),
    ("Asinh", h(9, elementwise::asinh)),
    ("Acosh", h(9, elementwise::acosh)),
    ("Atanh", h(9, elementwise::atanh)),
    ("Cosh", h(9, elementwise::cosh)),
    ("Swish", h(24, elementwise::swish)),
    ("Shrink", h(9, elementwise::shrink)),
    ("Equal", h(7, elementwise::equal)),
    ("Less", h(7, elementwise::less)),
    ("LessOrEqual", h(12, elementwise::less_or_equal)),
    ("Greater", h(7, elementwise::greater)),
    ("GreaterOrEqual", h(12, elementwise::greater_or_equal)),
    ("And", h(7, elementwise::and)),
    ("Or", h(7, elementwise::or)),
    ("Xor", h(7, elementwise::xor)),
    ("Not", h(1, elementwise::not)),
    ("Where", h(9, elementwise::where_)),
    ("Identity", h(1, elementwise::identity)),
    ("Dropout", h(7, elementwise::dropout)),
    // Shapes and data movement.
    ("Constant", h(1, shape::constant)),
    ("Shape", h(1, shape::shape)),
    ("Size", h(1, shape::size)),
    ("ConstantOfShape", h(9, shape::constant_of_shape)),
    ("Range", h(11, shape::range)),
    ("Reshape", h(5, shape::reshape)),
    ("Flatten", h(1, shape::flatten)),
    ("Squeeze", h(1, shape::squeeze)),
    ("Unsqueeze", h(1, shape::unsqueeze)),
    ("Transpose", h(1, shape::transpose)),
    ("Concat", h(4, shape::concat)),
    ("Slice", h(1, shape::slice)),
    ("Gather", h(1, shape::gather)),
    ("GatherElements", h(11, shape::gather_elements)),
    ("GatherND", h(11, index::gather_nd)),
    ("ScatterElements", h(11, index::scatter_elements)),
    ("Scatter", h(9, index::scatter_elements)),
    ("ScatterND", h(11, index::scatter_nd)),
    ("TopK", h(1, index::top_k)),
    ("Expand", h(8, shape::expand)),
    ("Tile", h(6, shape::tile)),
    ("Pad", h(2, shape::pad)),
    ("Split", h(2, shape::split)),
    ("Cast", h(6, shape::cast)),
    ("Trilu", h(14, shape::trilu)),
    ("EyeLike", h(9, shape::eye_like)),
    ("DepthToSpace", h(11, shape::depth_to_space)),
    ("SpaceToDepth", h(1, shape::space_to_depth)),
    ("OneHot", h(9, shape::one_hot)),
    ("CastLike", h(15, shape::cast_like)),
    // Neural-network layers.
    ("Conv", h(1, nn::conv)),
    ("ConvTranspose", h(1, conv_transpose::conv_transpose)),
    ("MaxPool", h(1, nn::max_pool)),
    ("AveragePool", h(1, nn::average_pool)),
    ("GlobalAveragePool", h(1, nn::global_average_pool)),
    ("Resize", h(10, resize::resize)),
    ("GridSample", h(16, grid_sample::grid_sample)),
    ("Upsample", h(7, resize::upsample)),
    ("GlobalMaxPool", h(1, nn::global_max_pool)),
    ("Gemm", h(7, nn::gemm)),
    ("MatMul", h(1, nn::matmul)),
    ("Einsum", h(12, einsum::einsum)),
    ("DFT", h(17, dft::dft)),
    ("BatchNormalization", h(7, nn::batch_norm)),
    ("LayerNormalization", h(17, nn::layer_norm)),
    ("RMSNormalization", h(23, nn::rms_norm)),
    ("InstanceNormalization", h(6, nn::instance_norm)),
    ("GroupNormalization", h(21, nn::group_norm)),
    ("LpNormalization", h(1, nn::lp_norm)),
    ("Hardmax", h(13, nn::hardmax)),
    ("CumSum", h(11, nn::cum_sum)),
    ("CumProd", h(26, nn::cum_prod)),
    ("AffineGrid", h(20, shape::affine_grid)),
    ("Softmax", h(1, nn::softmax)),
    ("LogSoftmax", h(1, nn::log_softmax)),
    ("Attention", h(23, attention::attention)),
    ("RotaryEmbedding", h(23, attention::rotary_embedding)),
    ("LpPool", h(11, nn::lp_pool)),
    ("CenterCropPad", h(18, shape::center_crop_pad)),
    ("HannWindow", h(17, shape::hann_window)),
    ("HammingWindow", h(17, shape::hamming_window)),
    ("BlackmanWindow", h(17, shape::blackman_window)),
    // Recurrent layers, unrolled over the sequence.
    ("RNN", h(7, rnn::rnn)),
    ("LSTM", h(7, rnn::lstm)),
    ("GRU", h(7, rnn::gru)),
    // Losses.
    (
        "NegativeLogLikelihoodLoss",
        h(13, loss::negative_log_likelihood),
    ),
    (
        "SoftmaxCrossEntropyLoss",
        h(13, loss::softmax_cross_entropy),
    ),
    // Quantization (QDQ models).
    ("QuantizeLinear", h(10, quant::quantize_linear)),
    ("DequantizeLinear", h(10, quant::dequantize_linear)),
    // Reductions.
    ("ReduceSum", h(1, reduce::sum)),
    ("ReduceMean", h(1, reduce::mean)),
    ("ReduceMax", h(1, reduce::max)),
    ("ReduceMin", h(1, reduce::min)),
    ("ReduceProd", h(1, reduce::prod)),
    ("ReduceSumSquare", h(1, reduce::sum_square)),
    ("ReduceL1", h(1, reduce::l1)),
    ("ReduceL2", h(1, reduce::l2)),
    ("ReduceLogSum", h(1, reduce::log_sum)),
    ("ReduceLogSumExp", h(1, reduce::log_sum_exp)),
    ("ArgMax", h(1, reduce::arg_max)),
    ("ArgMin", h(1, reduce::arg_min)),
];
