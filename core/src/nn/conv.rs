use super::{export_const, join};
use super::{init_uniform, Module};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::kernels::conv::Conv2d as Conv2dParams;
use crate::kernels::math;
use crate::model::graph::Graph;
use crate::ops::conv2d::{Conv2d as ConvOp, ConvAttrs};
use crate::rng::Rng;
use alloc::format;
use alloc::string::String;

/// 2-D convolution over NCHW input; weight OIHW `[out, in / groups, kh, kw]`.
#[derive(Clone, Debug)]
pub struct Conv2d<B: Backend> {
    /// Weight `[out_channels, in_channels / groups, kh, kw]`.
    pub weight: B::Tensor,
    /// Bias `[out_channels]`, if any.
    pub bias: Option<B::Tensor>,
    /// Stride, padding, dilation and groups.
    pub params: Conv2dParams,
    in_channels: usize,
    out_channels: usize,
    kernel: [usize; 2],
}

impl<B: Backend> Conv2d<B> {
    /// A `kernel x kernel` convolution with stride 1, no padding and a bias, initialised like
    /// PyTorch's `nn.Conv2d`.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        backend: &B,
        rng: &mut Rng,
    ) -> Result<Self> {
        Self::with_params(
            in_channels,
            out_channels,
            [kernel, kernel],
            Conv2dParams::default(),
            true,
            backend,
            rng,
        )
    }

    /// A convolution with explicit stride/padding/dilation/groups; `groups` must divide both
    /// channel counts.
    pub fn with_params(
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        params: Conv2dParams,
        bias: bool,
        backend: &B,
        rng: &mut Rng,
    ) -> Result<Self> {
        let g = params.groups;
        if in_channels == 0 || out_channels == 0 || kernel[0] == 0 || kernel[1] == 0 || g == 0 {
            return Err(Error::ZeroDim {
                op: "Conv2d",
                what: "channels, kernel size or groups",
            });
        }
        if in_channels % g != 0 || out_channels % g != 0 {
            return Err(Error::InvalidArgument {
                op: "Conv2d",
                what: "groups must divide input and output channels",
            });
        }
        let fan_in = in_channels / g * kernel[0] * kernel[1];
        let bound = 1.0 / math::sqrt(fan_in as f32);
        let weight = init_uniform(
            backend,
            &[out_channels, in_channels / g, kernel[0], kernel[1]],
            bound,
            rng,
        )?;
        let bias = if bias {
            Some(init_uniform(backend, &[out_channels], bound, rng)?)
        } else {
            None
        };
        Ok(Conv2d {
            weight,
            bias,
            params,
            in_channels,
            out_channels,
            kernel,
        })
    }

    /// Sets the stride (both axes).
    pub fn stride(mut self, stride: usize) -> Self {
        self.params.stride = [stride, stride];
        self
    }

    /// Sets symmetric zero padding (all four sides).
    pub fn padding(mut self, padding: usize) -> Self {
        self.params.padding = [padding; 4];
        self
    }
}

impl<B: Backend> Module<B> for Conv2d<B> {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        backend.conv2d(x, &self.weight, self.bias.as_ref(), &self.params)
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
        let attrs = ConvAttrs {
            conv: self.params,
            act: None,
        };
        g.add_op::<ConvOp>(attrs, &ins, &join(name, "out"))
    }

    fn describe(&self) -> String {
        let p = &self.params;
        format!(
            "Conv2d({} -> {}, kernel {}x{}, stride {:?}, padding {:?}, dilation {:?}, groups {})",
            self.in_channels,
            self.out_channels,
            self.kernel[0],
            self.kernel[1],
            p.stride,
            p.padding,
            p.dilation,
            p.groups
        )
    }
}
