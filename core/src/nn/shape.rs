use super::join;
use super::Module;
use crate::backend::Backend;
use crate::error::Result;
use crate::model::graph::Graph;
use alloc::string::String;
use alloc::vec::Vec;

/// Flattens every axis after the first: `[N, ...] -> [N, prod(...)]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<B: Backend> Module<B> for Flatten {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let shape = backend.shape(x);
        let dims: Vec<usize> = match shape.dims().split_first() {
            Some((&n, rest)) => [n, rest.iter().product()].into(),
            None => [1].into(),
        };
        backend.reshape(x, &dims)
    }

    fn export(&self, _: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let shape = g.tensors.get(x).map(|t| t.shape).unwrap_or_default();
        let dims: Vec<usize> = match shape.dims().split_first() {
            Some((&n, rest)) => [n, rest.iter().product()].into(),
            None => [1].into(),
        };
        g.add_reshape(x, &dims, &join(name, "out"))
    }

    fn describe(&self) -> String {
        String::from("Flatten")
    }
}
