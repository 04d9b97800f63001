use super::join;
use super::Module;
use crate::backend::Backend;
use crate::error::Result;
use crate::kernels::pool::Pool2d;
use crate::model::graph::Graph;
use crate::ops::pool::{AvgPool2d as AvgOp, MaxPool2d as MaxOp};
use alloc::format;
use alloc::string::String;

/// Max pooling over NCHW input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Window, stride, padding, dilation and rounding.
    pub params: Pool2d,
}

/// Average pooling over NCHW input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    /// Window, stride, padding and divisor rule.
    pub params: Pool2d,
}

impl MaxPool2d {
    /// `kernel x kernel` windows with stride `kernel` (PyTorch's default).
    pub fn new(kernel: usize) -> Self {
        MaxPool2d {
            params: Pool2d::new([kernel, kernel]),
        }
    }
}

impl AvgPool2d {
    /// `kernel x kernel` windows with stride `kernel` (PyTorch's default).
    pub fn new(kernel: usize) -> Self {
        AvgPool2d {
            params: Pool2d::new([kernel, kernel]),
        }
    }
}

impl<B: Backend> Module<B> for MaxPool2d {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        backend.max_pool2d(x, &self.params)
    }

    fn export(&self, _: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        g.add_op::<MaxOp>(self.params, &[x], &join(name, "out"))
    }

    fn describe(&self) -> String {
        format!(
            "MaxPool2d(kernel {:?}, stride {:?})",
            self.params.kernel, self.params.stride
        )
    }
}

impl<B: Backend> Module<B> for AvgPool2d {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        backend.avg_pool2d(x, &self.params)
    }

    fn export(&self, _: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        g.add_op::<AvgOp>(self.params, &[x], &join(name, "out"))
    }

    fn describe(&self) -> String {
        format!(
            "AvgPool2d(kernel {:?}, stride {:?})",
            self.params.kernel, self.params.stride
        )
    }
}
