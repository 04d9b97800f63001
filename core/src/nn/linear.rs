use super::{export_const, join};
use super::{init_uniform, Module};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::kernels::math;
use crate::model::graph::Graph;
use crate::ops::fully_connected::{FcAttrs, FullyConnected};
use crate::rng::Rng;
use alloc::format;
use alloc::string::String;

/// Fully connected layer: `y = x W^T + b`, `W` is `[out, in]`, input `[..., in]`.
#[derive(Clone, Debug)]
pub struct Linear<B: Backend> {
    /// Weight `[out_features, in_features]`.
    pub weight: B::Tensor,
    /// Bias `[out_features]`, if any.
    pub bias: Option<B::Tensor>,
    in_features: usize,
    out_features: usize,
}

impl<B: Backend> Linear<B> {
    /// A layer with bias, initialised like PyTorch's `nn.Linear`.
    pub fn new(
        in_features: usize,
        out_features: usize,
        backend: &B,
        rng: &mut Rng,
    ) -> Result<Self> {
        Self::with_bias(in_features, out_features, true, backend, rng)
    }

    /// A layer with or without bias, initialised like PyTorch's `nn.Linear`.
    pub fn with_bias(
        in_features: usize,
        out_features: usize,
        bias: bool,
        backend: &B,
        rng: &mut Rng,
    ) -> Result<Self> {
        if in_features == 0 || out_features == 0 {
            return Err(Error::ZeroDim {
                op: "Linear",
                what: "number of features",
            });
        }
        let bound = 1.0 / math::sqrt(in_features as f32);
        let weight = init_uniform(backend, &[out_features, in_features], bound, rng)?;
        let bias = if bias {
            Some(init_uniform(backend, &[out_features], bound, rng)?)
        } else {
            None
        };
        Ok(Linear {
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// A layer from existing parameters (`weight [out, in]`, `bias [out]`).
    pub fn from_params(backend: &B, weight: B::Tensor, bias: Option<B::Tensor>) -> Result<Self> {
        let ws = backend.shape(&weight);
        let [out_features, in_features] = match *ws.dims() {
            [o, i] => [o, i],
            _ => {
                return Err(Error::DimMismatch {
                    op: "Linear",
                    what: "weight rank",
                    expected: 2,
                    got: ws.rank(),
                })
            }
        };
        if let Some(b) = &bias {
            let bs = backend.shape(b);
            if bs.dims() != [out_features] {
                return Err(Error::DimMismatch {
                    op: "Linear",
                    what: "bias length",
                    expected: out_features,
                    got: bs.numel(),
                });
            }
        }
        Ok(Linear {
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

impl<B: Backend> Module<B> for Linear<B> {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        backend.linear(x, &self.weight, self.bias.as_ref())
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &B::Tensor)) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut B::Tensor)) {
        f("weight", &mut self.weight);
        if let Some(b) = &mut self.bias {
            f("bias", b);
        }
    }

    fn export(&self, backend: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let mut ins = alloc::vec![x, export_const(backend, g, name, "weight", &self.weight)?];
        if let Some(b) = &self.bias {
            ins.push(export_const(backend, g, name, "bias", b)?);
        }
        g.add_op::<FullyConnected>(FcAttrs::default(), &ins, &join(name, "out"))
    }

    fn describe(&self) -> String {
        format!("Linear({} -> {})", self.in_features, self.out_features)
    }
}
