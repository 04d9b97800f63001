// Shared by the library and build.rs (which checks the embedded model against it).

/// The kernels the firmware links: what the MNIST MLP and CNN use, in f32 and in int8
/// (`born quantize` output). A model with any other op is rejected by build.rs at build time
/// and by [`Classifier::new`](crate::Classifier::new) at run time; add its `with_*` here.
pub const MNIST_OPS: born_core::OpResolver = born_core::OpResolver::new()
    .with_fully_connected()
    .with_conv2d()
    .with_max_pool2d()
    .with_activation()
    .with_reshape()
    .with_quantize()
    .with_q_fully_connected()
    .with_q_conv2d()
    .with_q_max_pool2d();
