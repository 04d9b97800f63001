//! The backward pass: walks the recorded graph from a scalar loss to the leaves.

use super::var::{Node, Var};
use crate::backend::{Backend, BackwardOps};
use crate::error::{Error, Result};
use crate::kernels::elementwise::BinaryOp;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

/// The gradients of one backward pass, for every trainable leaf the loss depends on.
pub struct Gradients<B: Backend> {
    grads: BTreeMap<usize, B::Tensor>,
}

impl<B: Backend> core::fmt::Debug for Gradients<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gradients")
            .field("leaves", &self.grads.len())
            .finish()
    }
}

impl<B: Backend> Gradients<B> {
    /// The gradient of the loss with respect to `var` (a leaf), or `None` when the loss does
    /// not depend on it.
    pub fn get(&self, var: &Var<B>) -> Option<&B::Tensor> {
        var.key().and_then(|k| self.grads.get(&k))
    }

    /// Number of leaves with a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// True when no leaf has a gradient.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }
}

/// Nodes reachable from `root`, each after all nodes that consume it (reverse topological
/// order), found without recursion. The order depends only on the graph, so gradients are
/// accumulated in the same order on every run.
fn order<B: Backend>(root: &Arc<Node<B>>) -> Vec<Arc<Node<B>>> {
    let mut post = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<(Arc<Node<B>>, usize)> = vec![(root.clone(), 0)];
    seen.insert(Node::key(root));
    while let Some((node, next)) = stack.pop() {
        let child = node
            .inputs
            .iter()
            .skip(next)
            .enumerate()
            .find_map(|(i, c)| {
                c.as_ref()
                    .filter(|c| !seen.contains(&Node::key(c)))
                    .map(|c| (next + i, c.clone()))
            });
        match child {
            Some((i, c)) => {
                seen.insert(Node::key(&c));
                stack.push((node, i + 1));
                stack.push((c, 0));
            }
            None => post.push(node),
        }
    }
    post.reverse();
    post
}

/// Reverse-mode gradients of `loss` (any shape; the seed gradient is all ones, so a
/// non-scalar loss is treated as the sum of its elements).
pub(crate) fn backward<B: BackwardOps>(inner: &B, loss: &Var<B>) -> Result<Gradients<B>> {
    let Some(root) = &loss.node else {
        return Err(Error::InvalidArgument {
            op: "backward",
            what: "the loss does not depend on any trainable tensor",
        });
    };
    let dims = inner.shape(&loss.value);
    let mut pending: BTreeMap<usize, B::Tensor> = BTreeMap::new();
    pending.insert(Node::key(root), inner.full(dims.dims(), 1.0)?);
    let mut leaves = BTreeMap::new();
    for node in order(root) {
        let key = Node::key(&node);
        let Some(grad) = pending.remove(&key) else {
            continue;
        };
        let Some(f) = &node.backward else {
            leaves.insert(key, grad);
            continue;
        };
        let needs: Vec<bool> = node.inputs.iter().map(Option::is_some).collect();
        let grads = f(inner, &grad, &needs)?;
        for (input, g) in node.inputs.iter().zip(grads) {
            let (Some(input), Some(g)) = (input, g) else {
                continue;
            };
            let k = Node::key(input);
            let sum = match pending.remove(&k) {
                Some(acc) => inner.binary(BinaryOp::Add, &acc, &g)?,
                None => g,
            };
            pending.insert(k, sum);
        }
    }
    Ok(Gradients { grads: leaves })
}
