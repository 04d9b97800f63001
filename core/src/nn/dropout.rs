use super::Module;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::graph::Graph;
use crate::rng::Rng;
use alloc::format;
use alloc::string::String;

/// Inverted dropout: the identity at inference; in training each element is zeroed with
/// probability `p` (mask drawn from the training RNG) and the rest scaled by `1 / (1 - p)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    p: f32,
}

impl Dropout {
    /// Dropout with probability `p` in `[0, 1)`.
    pub fn new(p: f32) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidArgument {
                op: "Dropout",
                what: "p must be in [0, 1)",
            });
        }
        Ok(Dropout { p })
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }
}

impl<B: Backend> Module<B> for Dropout {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let _ = backend;
        Ok(x.clone())
    }

    fn forward_train(&self, backend: &B, x: &B::Tensor, rng: &mut Rng) -> Result<B::Tensor> {
        backend.dropout(x, self.p, rng)
    }

    fn export(&self, _: &B, _: &mut Graph, x: usize, _: &str) -> Result<usize> {
        Ok(x)
    }

    fn describe(&self) -> String {
        format!("Dropout(p {})", self.p)
    }
}
