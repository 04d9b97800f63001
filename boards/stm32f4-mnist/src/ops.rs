// Shared by the library and build.rs (which checks the embedded model against it).

use born_core::ops::{
    activation::Activation,
    conv2d::Conv2d,
    fully_connected::FullyConnected,
    pool::MaxPool2d,
    q_conv2d::QConv2d,
    q_fully_connected::QFullyConnected,
    q_pool::QMaxPool2d,
    quantize::{Dequantize, Quantize},
    reshape::Reshape,
};
use born_core::OpResolver;

/// The ops the firmware links: what the MNIST MLP and CNN use, in f32 and in int8
/// (`born quantize` output). The firmware loads and runs the model with `MNIST_OPS.table()`,
/// so only these ops' rules and kernels are in flash. A model with any other op is rejected
/// by build.rs at build time and by `Model::from_bytes_with` at run time
/// (`ModelError::UnknownOp`); add its `.with::<Op>()` here (and raise the capacity).
pub static MNIST_OPS: OpResolver<10> = OpResolver::new()
    .with::<FullyConnected>()
    .with::<Conv2d>()
    .with::<MaxPool2d>()
    .with::<Activation>()
    .with::<Reshape>()
    .with::<Quantize>()
    .with::<Dequantize>()
    .with::<QFullyConnected>()
    .with::<QConv2d>()
    .with::<QMaxPool2d>();
