//! Loss functions on the autodiff backend.

use super::{Autodiff, Var};
use crate::backend::{Backend, BackwardOps};
use crate::error::Result;
use crate::kernels::elementwise::BinaryOp;
use crate::kernels::reduce::ReduceOp;
use crate::tensor::Tensor;
use alloc::sync::Arc;
use alloc::vec;

/// Mean cross-entropy of `logits [N, C]` against class indices `labels [N]` (PyTorch's
/// `F.cross_entropy` with mean reduction), as a `[1]` tensor. Fused: the forward pass
/// computes the softmax gradient once. A label outside `0..C` is an error.
pub fn cross_entropy<B>(
    backend: &Autodiff<B>,
    logits: &Var<B>,
    labels: &Tensor<i32>,
) -> Result<Var<B>>
where
    B: BackwardOps + Send + Sync + 'static,
    B::Tensor: Send + Sync,
{
    let (loss, grad) = backend.inner().cross_entropy(logits.value(), labels)?;
    let grad = Arc::new(grad);
    Ok(backend.record(loss, &[logits], move |b, g, _| {
        // g is the loss's [1] gradient; broadcasting scales every logit's gradient by it.
        Ok(vec![Some(b.binary(BinaryOp::Mul, &grad, g)?)])
    }))
}

/// Mean squared error between `pred` and `target` of equal shapes (PyTorch's `F.mse_loss`
/// with mean reduction), as a `[1]` tensor.
pub fn mse<B>(backend: &Autodiff<B>, pred: &Var<B>, target: &Var<B>) -> Result<Var<B>>
where
    B: BackwardOps + Send + Sync + 'static,
    B::Tensor: Send + Sync,
{
    let (ps, ts) = (backend.shape(pred), backend.shape(target));
    if ps != ts {
        return Err(crate::Error::ShapeMismatch {
            op: "mse",
            expected: ps,
            got: ts,
        });
    }
    let diff = backend.binary(BinaryOp::Sub, pred, target)?;
    let flat = backend.reshape(&diff, &[ps.numel()])?;
    backend.reduce(
        ReduceOp::Mean,
        &backend.binary(BinaryOp::Mul, &flat, &flat)?,
        0,
        true,
    )
}
