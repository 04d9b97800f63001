//! The tensor type of the autodiff backend and the graph nodes behind it.

use crate::backend::Backend;
use crate::error::Result;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

/// Computes the gradients of one operation's operands from the gradient of its output.
///
/// Called with the inner backend, the output's gradient and, per operand, whether that
/// operand needs a gradient; returns one entry per operand (`None` where not needed).
pub(crate) type BackwardFn<B> = Box<
    dyn Fn(&B, &<B as Backend>::Tensor, &[bool]) -> Result<Vec<Option<<B as Backend>::Tensor>>>
        + Send
        + Sync,
>;

/// A node of the recorded graph: a leaf (a trainable tensor) or an operation.
pub(crate) struct Node<B: Backend> {
    /// The graph nodes of the operation's operands, in operand order (`None` for operands
    /// that need no gradient). Empty for leaves.
    pub(crate) inputs: Vec<Option<Arc<Node<B>>>>,
    /// `None` for leaves.
    pub(crate) backward: Option<BackwardFn<B>>,
}

impl<B: Backend> Node<B> {
    /// The node's identity: its address, stable while any `Arc` to it lives.
    pub(crate) fn key(node: &Arc<Node<B>>) -> usize {
        Arc::as_ptr(node) as usize
    }
}

/// A tensor of the [`super::Autodiff`] backend: a value of the inner backend plus, when it
/// takes part in gradient computation, its node in the recorded graph.
///
/// Values are shared (`Arc`), so cloning a `Var` is cheap. A trainable tensor (made by
/// `Autodiff::to_device` on a recording backend, as the nn modules do for their parameters)
/// is a *leaf*: its identity survives value updates through [`Var::value_mut`], so the
/// gradients of every step are found under the same parameter. Clones of a leaf share its
/// identity (a cloned model shares its parameters' gradients with the original).
pub struct Var<B: Backend> {
    pub(crate) value: Arc<B::Tensor>,
    pub(crate) node: Option<Arc<Node<B>>>,
}

impl<B: Backend> Clone for Var<B> {
    fn clone(&self) -> Self {
        Var {
            value: self.value.clone(),
            node: self.node.clone(),
        }
    }
}

impl<B: Backend> fmt::Debug for Var<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Var")
            .field("value", &self.value)
            .field("requires_grad", &self.requires_grad())
            .finish()
    }
}

impl<B: Backend> Var<B> {
    /// A tensor outside gradient computation.
    pub fn constant(value: B::Tensor) -> Self {
        Var {
            value: Arc::new(value),
            node: None,
        }
    }

    /// A trainable leaf: gradients are computed for it.
    pub fn leaf(value: B::Tensor) -> Self {
        Var {
            value: Arc::new(value),
            node: Some(Arc::new(Node {
                inputs: Vec::new(),
                backward: None,
            })),
        }
    }

    /// The value.
    pub fn value(&self) -> &B::Tensor {
        &self.value
    }

    /// The value for in-place updates (optimizers, checkpoint loading). Keeps the leaf's
    /// identity; copies the value first if a live graph still shares it.
    pub fn value_mut(&mut self) -> &mut B::Tensor {
        Arc::make_mut(&mut self.value)
    }

    /// True when gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.node.is_some()
    }

    /// True for a trainable leaf.
    pub fn is_leaf(&self) -> bool {
        self.node.as_ref().is_some_and(|n| n.backward.is_none())
    }

    /// The same value cut from the graph (a constant).
    pub fn detach(&self) -> Self {
        Var {
            value: self.value.clone(),
            node: None,
        }
    }

    /// The graph identity of this tensor, if it has one.
    pub(crate) fn key(&self) -> Option<usize> {
        self.node.as_ref().map(Node::key)
    }
}
