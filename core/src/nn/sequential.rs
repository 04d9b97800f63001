use super::Module;
use crate::backend::Backend;
use crate::error::Result;
use crate::model::graph::Graph;
use crate::rng::Rng;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Layers applied in order. Parameter names are prefixed by the layer index (`0.weight`).
/// Layers must be `Send + Sync` so a model can be shared by many threads.
pub struct Sequential<B: Backend> {
    layers: Vec<Box<dyn Module<B> + Send + Sync>>,
}

impl<B: Backend> Default for Sequential<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Sequential<B> {
    /// An empty model (the identity).
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// Appends `layer` and returns the model (builder style).
    pub fn push<M: Module<B> + Send + Sync + 'static>(mut self, layer: M) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The layers in order.
    pub fn layers(&self) -> &[Box<dyn Module<B> + Send + Sync>] {
        &self.layers
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl<B: Backend> Module<B> for Sequential<B> {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(backend, &h)?;
        }
        Ok(h)
    }

    fn forward_train(&self, backend: &B, x: &B::Tensor, rng: &mut Rng) -> Result<B::Tensor> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward_train(backend, &h, rng)?;
        }
        Ok(h)
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &B::Tensor)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_params(&mut |name, t| f(&format!("{i}.{name}"), t));
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut B::Tensor)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params_mut(&mut |name, t| f(&format!("{i}.{name}"), t));
        }
    }

    fn export(&self, backend: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.export(backend, g, h, &super::join(name, &format!("{i}")))?;
        }
        Ok(h)
    }

    fn describe(&self) -> String {
        let mut s = String::from("Sequential(\n");
        for (i, layer) in self.layers.iter().enumerate() {
            s.push_str(&format!("  ({i}) {}\n", layer.describe()));
        }
        s.push(')');
        s
    }
}
