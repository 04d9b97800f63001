//! Gradient operations a backend provides to the autodiff wrapper (feature `train`).
//!
//! Each method computes the vector-Jacobian product of one forward operation of
//! [`Backend`]: given the forward operands (or the saved output) and the gradient of the loss
//! with respect to the forward output (`grad_out`), it returns the gradient with respect to
//! the operands. Shapes are validated like the forward methods; none panics.

use super::Backend;
use crate::error::Result;
use crate::kernels::activation::Activation;
use crate::kernels::conv::Conv2d;
use crate::kernels::pool::Pool2d;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Gradients of a normalisation with an optional affine transform. `gamma` and `beta` are
/// `None` exactly when the forward call had no such parameter.
#[derive(Clone, Debug)]
pub struct NormGrads<T> {
    /// Gradient with respect to the normalised input.
    pub input: T,
    /// Gradient with respect to the scale, when the forward call had one.
    pub gamma: Option<T>,
    /// Gradient with respect to the shift, when the forward call had one.
    pub beta: Option<T>,
}

/// Gradients of [`Backend::linear`].
#[derive(Clone, Debug)]
pub struct LinearGrads<T> {
    /// Gradient with respect to the input `x [..., in]`.
    pub input: T,
    /// Gradient with respect to the weight `[out, in]`.
    pub weight: T,
    /// Gradient with respect to the bias `[out]`, when asked for.
    pub bias: Option<T>,
}

/// The backward (vector-Jacobian) counterparts of [`Backend`]'s operations.
pub trait BackwardOps: Backend {
    /// A tensor of `dims` filled with `value`.
    fn full(&self, dims: &[usize], value: f32) -> Result<Self::Tensor>;

    /// `x * s` element-wise.
    fn scale(&self, x: &Self::Tensor, s: f32) -> Result<Self::Tensor>;

    /// Sums `grad` over the axes along which an operand of shape `shape` was broadcast to
    /// reach `grad`'s shape (NumPy rules), giving a tensor of `shape`.
    fn sum_to(&self, grad: &Self::Tensor, shape: &Shape) -> Result<Self::Tensor>;

    /// Gradients of `linear(x, weight, bias)`; the bias gradient is computed when `with_bias`.
    fn linear_backward(
        &self,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        grad_out: &Self::Tensor,
        with_bias: bool,
    ) -> Result<LinearGrads<Self::Tensor>>;

    /// Gradient of `conv2d` with respect to its input (a transposed convolution), for an
    /// input of shape `x_shape`.
    fn conv2d_backward_input(
        &self,
        weight: &Self::Tensor,
        grad_out: &Self::Tensor,
        x_shape: &Shape,
        params: &Conv2d,
    ) -> Result<Self::Tensor>;

    /// Gradient of `conv2d` with respect to its weight, of shape `w_shape`.
    fn conv2d_backward_weight(
        &self,
        x: &Self::Tensor,
        grad_out: &Self::Tensor,
        w_shape: &Shape,
        params: &Conv2d,
    ) -> Result<Self::Tensor>;

    /// Gradient of `conv2d` with respect to its bias: `grad_out` summed over N, H and W.
    fn conv2d_backward_bias(&self, grad_out: &Self::Tensor) -> Result<Self::Tensor>;

    /// Gradient of `max_pool2d(x)`: each output's gradient goes to the input element the
    /// forward pass picked (the first maximum in window order).
    fn max_pool2d_backward(
        &self,
        x: &Self::Tensor,
        grad_out: &Self::Tensor,
        params: &Pool2d,
    ) -> Result<Self::Tensor>;

    /// Gradient of `avg_pool2d` for an input of shape `x_shape`.
    fn avg_pool2d_backward(
        &self,
        grad_out: &Self::Tensor,
        x_shape: &Shape,
        params: &Pool2d,
    ) -> Result<Self::Tensor>;

    /// Gradient of `global_avg_pool2d` for an input of shape `x_shape`.
    fn global_avg_pool2d_backward(
        &self,
        grad_out: &Self::Tensor,
        x_shape: &Shape,
    ) -> Result<Self::Tensor>;

    /// Gradient of `activation(act, x)`; `y` is the forward output.
    fn activation_backward(
        &self,
        act: Activation,
        x: &Self::Tensor,
        y: &Self::Tensor,
        grad_out: &Self::Tensor,
    ) -> Result<Self::Tensor>;

    /// Gradient of `softmax(x, axis)` from its output `y`.
    fn softmax_backward(
        &self,
        y: &Self::Tensor,
        grad_out: &Self::Tensor,
        axis: usize,
    ) -> Result<Self::Tensor>;

    /// Gradient of `log_softmax(x, axis)` from its output `y`.
    fn log_softmax_backward(
        &self,
        y: &Self::Tensor,
        grad_out: &Self::Tensor,
        axis: usize,
    ) -> Result<Self::Tensor>;

    /// Gradients of `layer_norm(x, gamma, beta, eps)`.
    fn layer_norm_backward(
        &self,
        x: &Self::Tensor,
        gamma: Option<&Self::Tensor>,
        has_beta: bool,
        grad_out: &Self::Tensor,
        eps: f32,
    ) -> Result<NormGrads<Self::Tensor>>;

    /// Gradients of `rms_norm(x, gamma, eps)` (`beta` is always `None`).
    fn rms_norm_backward(
        &self,
        x: &Self::Tensor,
        gamma: Option<&Self::Tensor>,
        grad_out: &Self::Tensor,
        eps: f32,
    ) -> Result<NormGrads<Self::Tensor>>;

    /// Gradients of the inference `batch_norm` (fixed running statistics) with respect to
    /// the input and the affine parameters.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(
        &self,
        x: &Self::Tensor,
        mean: &Self::Tensor,
        var: &Self::Tensor,
        gamma: Option<&Self::Tensor>,
        has_beta: bool,
        grad_out: &Self::Tensor,
        eps: f32,
    ) -> Result<NormGrads<Self::Tensor>>;

    /// Gradient of `embedding(table, ids)` with respect to the table (rows picked several
    /// times accumulate, in id order), for a table of shape `table_shape`.
    fn embedding_backward(
        &self,
        ids: &Tensor<i32>,
        grad_out: &Self::Tensor,
        table_shape: &Shape,
    ) -> Result<Self::Tensor>;

    /// Mean cross-entropy of `logits [N, C]` against class indices `labels [N]`, with its
    /// gradient with respect to the logits: `(loss [1], grad [N, C])`. A label outside
    /// `0..C` is an error.
    fn cross_entropy(
        &self,
        logits: &Self::Tensor,
        labels: &Tensor<i32>,
    ) -> Result<(Self::Tensor, Self::Tensor)>;
}
