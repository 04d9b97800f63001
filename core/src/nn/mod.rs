//! Neural-network modules (feature `alloc`), generic over a [`Backend`].
//!
//! Modules are created on a backend and hold their parameters as that backend's tensors:
//!
//! ```
//! use born_core::backend::{Backend, Cpu};
//! use born_core::nn::{Linear, Module, ReLU, Sequential};
//! use born_core::{Rng, Tensor};
//!
//! let backend = Cpu;
//! let mut rng = Rng::seed(0);
//! let model = Sequential::new()
//!     .push(Linear::new(784, 128, &backend, &mut rng)?)
//!     .push(ReLU)
//!     .push(Linear::new(128, 10, &backend, &mut rng)?);
//! let x = backend.to_device(&Tensor::randn(&[1, 784], &mut rng)?)?;
//! let logits = model.forward(&backend, &x)?;
//! assert_eq!(backend.shape(&logits).dims(), &[1, 10]);
//! # Ok::<(), born_core::Error>(())
//! ```
//!
//! Initialisation follows PyTorch's defaults (uniform in `±1/sqrt(fan_in)` for weights and
//! biases of Linear and Conv2d), and parameter names follow PyTorch's `state_dict`
//! (`0.weight`, `0.bias`, ...), so checkpoints map one to one.

mod activation;
mod conv;
mod dropout;
mod embedding;
mod export;
mod linear;
mod norm;
mod pool;
mod sequential;
mod shape;

pub use activation::{Gelu, ReLU, ReLU6, SiLU, Sigmoid, Softmax, Tanh};
pub use conv::Conv2d;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use export::to_graph;
pub use linear::Linear;
pub use norm::{BatchNorm2d, LayerNorm, RMSNorm};
pub use pool::{AvgPool2d, MaxPool2d};
pub use sequential::Sequential;
pub use shape::Flatten;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::graph::Graph;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A layer or a model: maps one tensor to another on backend `B`.
pub trait Module<B: Backend> {
    /// Inference forward pass (dropout is the identity).
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor>;

    /// Training forward pass: like [`Module::forward`] but stochastic layers (dropout) draw
    /// their masks from `rng`, so a seed fixes the whole run.
    fn forward_train(&self, backend: &B, x: &B::Tensor, rng: &mut Rng) -> Result<B::Tensor> {
        let _ = rng;
        self.forward(backend, x)
    }

    /// Calls `f` with each parameter's name (PyTorch `state_dict` style) and tensor.
    fn visit_params(&self, f: &mut dyn FnMut(&str, &B::Tensor)) {
        let _ = f;
    }

    /// Calls `f` with each parameter's name and a mutable reference to it (optimisers,
    /// checkpoint loading).
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut B::Tensor)) {
        let _ = f;
    }

    /// Short description for summaries, e.g. `Linear(784 -> 128)`.
    fn describe(&self) -> alloc::string::String;

    /// Appends this module's inference ops to `g`, reading tensor `x`, and returns the id of
    /// the tensor it produces. `name` prefixes the names of the constants it adds
    /// (`0.weight`), as in [`Module::visit_params`]. Modules without a `.born` form return
    /// [`Error::InvalidArgument`].
    fn export(&self, backend: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let _ = (backend, g, x, name);
        Err(Error::InvalidArgument {
            op: "export",
            what: "this module has no .born form",
        })
    }
}

/// `prefix.what`, or `what` when the prefix is empty.
fn join(prefix: &str, what: &str) -> alloc::string::String {
    if prefix.is_empty() {
        what.into()
    } else {
        alloc::format!("{prefix}.{what}")
    }
}

/// Adds parameter `t` of module `name` to `g` as the constant `name.what`.
fn export_const<B: Backend>(
    backend: &B,
    g: &mut Graph,
    name: &str,
    what: &str,
    t: &B::Tensor,
) -> Result<usize> {
    let h = backend.to_host(t)?;
    g.add_const(&join(name, what), h.dims(), h.data())
}

/// Number of scalar parameters of a module.
pub fn num_params<B: Backend, M: Module<B> + ?Sized>(backend: &B, module: &M) -> usize {
    let mut n = 0;
    module.visit_params(&mut |_, t| n += backend.shape(t).numel());
    n
}

/// A host tensor uniform in `±bound` placed on `backend` (PyTorch's default init).
fn init_uniform<B: Backend>(
    backend: &B,
    dims: &[usize],
    bound: f32,
    rng: &mut Rng,
) -> Result<B::Tensor> {
    backend.to_device(&Tensor::uniform(dims, -bound, bound, rng)?)
}

/// A host tensor filled with `value` placed on `backend`.
fn init_full<B: Backend>(backend: &B, dims: &[usize], value: f32) -> Result<B::Tensor> {
    backend.to_device(&Tensor::full(dims, value)?)
}
