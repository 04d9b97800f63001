use super::{join, Module};
use crate::backend::Backend;
use crate::error::Result;
use crate::kernels::activation::Activation;
use crate::model::graph::Graph;
use crate::ops::activation::Activation as ActOp;
use crate::ops::softmax::{AxisAttrs, Softmax as SoftmaxOp};
use alloc::format;
use alloc::string::String;

macro_rules! activation_module {
    ($(#[$doc:meta] $name:ident => $act:expr, $kind:expr),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $name;

        impl<B: Backend> Module<B> for $name {
            fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
                backend.activation($act, x)
            }

            fn describe(&self) -> String {
                String::from(stringify!($name))
            }

            fn export(&self, _: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
                g.add_op::<ActOp>($kind, &[x], &join(name, "out"))
            }
        }
    )*};
}

activation_module! {
    /// `max(x, 0)`.
    ReLU => Activation::Relu, Activation::Relu,
    /// `min(max(x, 0), 6)`.
    ReLU6 => Activation::Relu6, Activation::Relu6,
    /// `x * sigmoid(x)` (also called swish).
    SiLU => Activation::Silu, Activation::Silu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid => Activation::Sigmoid, Activation::Sigmoid,
    /// Hyperbolic tangent.
    Tanh => Activation::Tanh, Activation::Tanh,
}

/// GELU, exact (erf) by default or with the tanh approximation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu {
    /// Use `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` instead of the erf form.
    pub tanh_approximation: bool,
}

impl<B: Backend> Module<B> for Gelu {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let act = if self.tanh_approximation {
            Activation::GeluTanh
        } else {
            Activation::Gelu
        };
        backend.activation(act, x)
    }

    fn describe(&self) -> String {
        format!("Gelu(tanh approximation: {})", self.tanh_approximation)
    }

    fn export(&self, _: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let kind = if self.tanh_approximation {
            Activation::GeluTanh
        } else {
            Activation::Gelu
        };
        g.add_op::<ActOp>(kind, &[x], &join(name, "out"))
    }
}

/// Softmax along one axis; a negative axis counts from the end (`-1` is the last).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Softmax {
    /// The axis to normalise.
    pub axis: isize,
}

impl Softmax {
    /// Softmax along `axis`.
    pub fn new(axis: isize) -> Self {
        Softmax { axis }
    }
}

impl<B: Backend> Module<B> for Softmax {
    fn forward(&self, backend: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let axis = backend.shape(x).axis(self.axis)?;
        backend.softmax(x, axis)
    }

    fn describe(&self) -> String {
        format!("Softmax(axis {})", self.axis)
    }

    fn export(&self, _: &B, g: &mut Graph, x: usize, name: &str) -> Result<usize> {
        let rank = g.tensors.get(x).map_or(0, |t| t.shape.rank());
        let axis =
            crate::shape::Shape::new(&[1; crate::shape::MAX_RANK][..rank])?.axis(self.axis)?;
        let attrs = AxisAttrs { axis: axis as i32 };
        g.add_op::<SoftmaxOp>(attrs, &[x], &join(name, "out"))
    }
}
