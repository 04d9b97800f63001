//! The seam between the nn modules and the hardware that runs them (feature `alloc`).
//!
//! A [`Backend`] owns a tensor type and implements the tensor operations the modules need.
//! Modules are generic over it and are created on a backend, as in
//! `Linear::new(784, 128, &backend, &mut rng)`. [`Cpu`] runs born-core's kernels; the GPU crate
//! and the training feature add backends of their own (a GPU device; an autodiff wrapper
//! that records a tape around another backend) without changing the modules.
//!
//! Shapes follow PyTorch: activations are `[batch, features]` or NCHW, a linear weight is
//! `[out, in]`, a conv weight is OIHW.

mod cpu;
#[cfg(feature = "train")]
mod cpu_grad;
#[cfg(feature = "train")]
mod grad;

pub use cpu::Cpu;
#[cfg(feature = "train")]
pub use grad::{BackwardOps, LinearGrads, NormGrads};

use crate::error::Result;
use crate::kernels::activation::Activation;
use crate::kernels::conv::Conv2d;
use crate::kernels::elementwise::BinaryOp;
use crate::kernels::pool::Pool2d;
use crate::kernels::reduce::ReduceOp;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use core::fmt::Debug;

/// Tensor operations a device provides to the nn modules. Every method validates shapes and
/// returns an [`crate::Error`] on mismatch; none panics.
pub trait Backend: Clone + Debug {
    /// An f32 tensor living on this backend.
    type Tensor: Clone + Debug;

    /// Short name for messages (`"cpu"`, `"wgpu"`, ...).
    fn name(&self) -> &'static str;

    /// Copies a host tensor onto the backend.
    fn to_device(&self, t: &Tensor<f32>) -> Result<Self::Tensor>;
    /// Copies a backend tensor to the host.
    fn to_host(&self, t: &Self::Tensor) -> Result<Tensor<f32>>;
    /// Shape of a backend tensor.
    fn shape(&self, t: &Self::Tensor) -> Shape;

    /// Same elements, new dimensions (same element count).
    fn reshape(&self, x: &Self::Tensor, dims: &[usize]) -> Result<Self::Tensor>;
    /// Axes reordered: axis `i` of the result is axis `axes[i]` of `x`.
    fn permute(&self, x: &Self::Tensor, axes: &[usize]) -> Result<Self::Tensor>;

    /// Matrix product over the last two axes, NumPy `matmul` broadcasting over the leading
    /// ones: `[..., m, k] x [..., k, n] -> [..., m, n]`.
    fn matmul(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `x [..., in] * weight[out, in]^T + bias[out]` (PyTorch's `F.linear`).
    fn linear(
        &self,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: Option<&Self::Tensor>,
    ) -> Result<Self::Tensor>;
    /// 2-D convolution, NCHW input, OIHW weight, optional bias `[O]`.
    fn conv2d(
        &self,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: Option<&Self::Tensor>,
        params: &Conv2d,
    ) -> Result<Self::Tensor>;
    /// Max pooling over NCHW.
    fn max_pool2d(&self, x: &Self::Tensor, params: &Pool2d) -> Result<Self::Tensor>;
    /// Average pooling over NCHW.
    fn avg_pool2d(&self, x: &Self::Tensor, params: &Pool2d) -> Result<Self::Tensor>;
    /// Mean over H and W: `[N, C, H, W] -> [N, C]`.
    fn global_avg_pool2d(&self, x: &Self::Tensor) -> Result<Self::Tensor>;

    /// Elementwise binary operation with NumPy broadcasting.
    fn binary(&self, op: BinaryOp, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// Elementwise activation.
    fn activation(&self, act: Activation, x: &Self::Tensor) -> Result<Self::Tensor>;
    /// Softmax along `axis` (numerically stable).
    fn softmax(&self, x: &Self::Tensor, axis: usize) -> Result<Self::Tensor>;
    /// Log-softmax along `axis`.
    fn log_softmax(&self, x: &Self::Tensor, axis: usize) -> Result<Self::Tensor>;
    /// Layer normalisation over the last axis with optional affine parameters.
    fn layer_norm(
        &self,
        x: &Self::Tensor,
        gamma: Option<&Self::Tensor>,
        beta: Option<&Self::Tensor>,
        eps: f32,
    ) -> Result<Self::Tensor>;
    /// RMS normalisation over the last axis with an optional scale.
    fn rms_norm(
        &self,
        x: &Self::Tensor,
        gamma: Option<&Self::Tensor>,
        eps: f32,
    ) -> Result<Self::Tensor>;
    /// Inference batch normalisation over axis 1 of `[N, C, ...]` with running statistics.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm(
        &self,
        x: &Self::Tensor,
        mean: &Self::Tensor,
        var: &Self::Tensor,
        gamma: Option<&Self::Tensor>,
        beta: Option<&Self::Tensor>,
        eps: f32,
    ) -> Result<Self::Tensor>;
    /// Rows of `table [vocab, dim]` picked by `ids`: output shape is `ids`' shape + `[dim]`.
    fn embedding(&self, table: &Self::Tensor, ids: &Tensor<i32>) -> Result<Self::Tensor>;
    /// Reduction along `axis`; `keep_dim` keeps it as size 1.
    fn reduce(
        &self,
        op: ReduceOp,
        x: &Self::Tensor,
        axis: usize,
        keep_dim: bool,
    ) -> Result<Self::Tensor>;
    /// Index of the maximum along `axis` (first on ties), axis removed.
    fn argmax(&self, x: &Self::Tensor, axis: usize) -> Result<Tensor<i32>>;
    /// Inverted dropout: zeroes each element with probability `p` using `rng`, scales the
    /// rest by `1 / (1 - p)`. `0 <= p < 1`.
    fn dropout(&self, x: &Self::Tensor, p: f32, rng: &mut Rng) -> Result<Self::Tensor>;
}
