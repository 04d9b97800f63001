//! Moving gradients between a model and an optimizer.

use super::optim::Optimizer;
use super::{Gradients, Var};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// The gradient of each of `model`'s parameters, in [`Module::visit_params`] order (`None`
/// for a parameter the loss does not depend on).
pub fn param_grads<B, M>(model: &M, grads: &Gradients<B>) -> Vec<Option<B::Tensor>>
where
    B: Backend,
    M: Module<super::Autodiff<B>> + ?Sized,
    super::Autodiff<B>: Backend<Tensor = Var<B>>,
{
    let mut out = Vec::new();
    model.visit_params(&mut |_, p| out.push(grads.get(p).cloned()));
    out
}

/// One optimizer step: [`Optimizer::begin_step`], then [`Optimizer::update`] for every
/// parameter of `model` that has a gradient in `grads` (given in [`Module::visit_params`]
/// order, as [`param_grads`] returns them), under its position as index.
pub fn apply_grads<B, M>(
    model: &mut M,
    grads: &[Option<Tensor<f32>>],
    opt: &mut dyn Optimizer,
) -> Result<()>
where
    B: Backend<Tensor = Tensor<f32>>,
    M: Module<super::Autodiff<B>> + ?Sized,
    super::Autodiff<B>: Backend<Tensor = Var<B>>,
{
    opt.begin_step();
    let mut index = 0;
    let mut result = Ok(());
    model.visit_params_mut(&mut |_, p| {
        if let (Ok(()), Some(Some(g))) = (&result, grads.get(index)) {
            result = opt.update(index, p.value_mut().data_mut(), g.data());
        }
        index += 1;
    });
    if result.is_ok() && index != grads.len() {
        return Err(Error::DimMismatch {
            op: "apply_grads",
            what: "number of gradients (one per parameter)",
            expected: index,
            got: grads.len(),
        });
    }
    result
}
