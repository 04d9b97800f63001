use super::{export_const, join};
use super::{init_full, Module};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::graph::Graph;
use crate::ops::norm::{
    BatchNorm as BatchNormOp, EpsAttrs, LayerNorm as LayerNormOp, RmsNorm as RmsNormOp,
};
use alloc::format;
use alloc::string::String;

fn nonzero(op: &'static str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::ZeroDim {
            op,
            what: "normalised size",
        });
    }
    Ok(())
}

/// Layer normalisation over the last axis, with learnable scale and shift.
#[derive(Clone, Debug)]
pub struct LayerNorm<B: Backend> {
    /// Scale `[dim]`, initialised to 1.
    pub weight: B::Tensor,
    /// Shift `[dim]`, initialised to 0.
    pub bias: B::Tensor,
    /// Added to the variance.
    pub eps: f32,
    dim: usize,
}

impl<B: Backend> LayerNorm<B> {
    /// LayerNorm over a last axis of size `dim` (PyTorch's default eps is 1e-5).
    pub fn new(dim: usize, eps: f32, backend: &B) -> Result<Self> {
        nonzero("LayerNorm", dim)?;
        Ok(LayerNorm {
            weight: init_full(backend, &[dim], 1.0)?,
            bias: init_full(backend, &[dim], 0.0)?,
            eps,
            dim,
        })
    }
}

impl<B: Backend> Module<B> for LayerNorm<B> {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        backend.layer_norm(x, Some(&self.weight), Some(&self.bias), self.eps)
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &B::Tensor)) {
        f("weight", &self.weight);
        f("bias", &self.bias);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut B::Tensor)) {
        f("weight", &mut self.weight);
        f("bias", &mut self.bias);
    }

    fn export(&self, backend: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let w = export_const(backend, g, name, "weight", &self.weight)?;
        let b = export_const(backend, g, name, "bias", &self.bias)?;
        let op = EpsAttrs { eps: self.eps };
        g.add_op::<LayerNormOp>(op, &[x, w, b], &join(name, "out"))
    }

    fn describe(&self) -> String {
        format!("LayerNorm({}, eps {})", self.dim, self.eps)
    }
}

/// RMS normalisation over the last axis with a learnable scale (LLaMA's RMSNorm).
#[derive(Clone, Debug)]
pub struct RMSNorm<B: Backend> {
    /// Scale `[dim]`, initialised to 1.
    pub weight: B::Tensor,
    /// Added to the mean square.
    pub eps: f32,
    dim: usize,
}

impl<B: Backend> RMSNorm<B> {
    /// RMSNorm over a last axis of size `dim`.
    pub fn new(dim: usize, eps: f32, backend: &B) -> Result<Self> {
        nonzero("RMSNorm", dim)?;
        Ok(RMSNorm {
            weight: init_full(backend, &[dim], 1.0)?,
            eps,
            dim,
        })
    }
}

impl<B: Backend> Module<B> for RMSNorm<B> {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        backend.rms_norm(x, Some(&self.weight), self.eps)
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &B::Tensor)) {
        f("weight", &self.weight);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut B::Tensor)) {
        f("weight", &mut self.weight);
    }

    fn export(&self, backend: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let w = export_const(backend, g, name, "weight", &self.weight)?;
        let op = EpsAttrs { eps: self.eps };
        g.add_op::<RmsNormOp>(op, &[x, w], &join(name, "out"))
    }

    fn describe(&self) -> String {
        format!("RMSNorm({}, eps {})", self.dim, self.eps)
    }
}

/// Batch normalisation over the channels of NCHW input, inference form: uses the running
/// statistics. It exports as a `BatchNorm` op (the same kernel, so the same bits).
#[derive(Clone, Debug)]
pub struct BatchNorm2d<B: Backend> {
    /// Scale `[C]`, initialised to 1.
    pub weight: B::Tensor,
    /// Shift `[C]`, initialised to 0.
    pub bias: B::Tensor,
    /// Running mean `[C]`, initialised to 0.
    pub running_mean: B::Tensor,
    /// Running variance `[C]`, initialised to 1.
    pub running_var: B::Tensor,
    /// Added to the variance.
    pub eps: f32,
    channels: usize,
}

impl<B: Backend> BatchNorm2d<B> {
    /// BatchNorm over `channels` channels (PyTorch's default eps is 1e-5).
    pub fn new(channels: usize, eps: f32, backend: &B) -> Result<Self> {
        nonzero("BatchNorm2d", channels)?;
        Ok(BatchNorm2d {
            weight: init_full(backend, &[channels], 1.0)?,
            bias: init_full(backend, &[channels], 0.0)?,
            running_mean: init_full(backend, &[channels], 0.0)?,
            running_var: init_full(backend, &[channels], 1.0)?,
            eps,
            channels,
        })
    }
}

impl<B: Backend> Module<B> for BatchNorm2d<B> {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        backend.batch_norm(
            x,
            &self.running_mean,
            &self.running_var,
            Some(&self.weight),
            Some(&self.bias),
            self.eps,
        )
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &B::Tensor)) {
        f("weight", &self.weight);
        f("bias", &self.bias);
        f("running_mean", &self.running_mean);
        f("running_var", &self.running_var);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut B::Tensor)) {
        f("weight", &mut self.weight);
        f("bias", &mut self.bias);
        f("running_mean", &mut self.running_mean);
        f("running_var", &mut self.running_var);
    }

    fn export(&self, backend: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let ins = [
            x,
            export_const(backend, g, name, "running_mean", &self.running_mean)?,
            export_const(backend, g, name, "running_var", &self.running_var)?,
            export_const(backend, g, name, "weight", &self.weight)?,
            export_const(backend, g, name, "bias", &self.bias)?,
        ];
        g.add_op::<BatchNormOp>(EpsAttrs { eps: self.eps }, &ins, &join(name, "out"))
    }

    fn describe(&self) -> String {
        format!("BatchNorm2d({}, eps {})", self.channels, self.eps)
    }
}
