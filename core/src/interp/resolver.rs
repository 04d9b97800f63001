//! Which kernels an interpreter may call, as in TFLite Micro's `MicroMutableOpResolver`:
//! firmware registers the op kinds its model uses, so the linker keeps only those kernels.

use super::exec::{self, KernelFn};
use super::int8;
use crate::model::ops::OpKind;

/// A table from op kind to kernel. [`OpResolver::all`] has every kernel (what
/// [`Interpreter::new`](super::Interpreter::new) uses); firmware builds one with only the
/// kinds its model has, e.g. `OpResolver::new().with_conv2d().with_max_pool2d()`, and passes
/// it to [`Interpreter::with_ops`](super::Interpreter::with_ops). Building one is `const`,
/// so it can live in flash as a `static`.
#[derive(Clone, Copy)]
pub struct OpResolver {
    table: [Option<KernelFn>; OpKind::COUNT],
}

impl Default for OpResolver {
    fn default() -> Self {
        OpResolver::new()
    }
}

impl core::fmt::Debug for OpResolver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut l = f.debug_list();
        for (k, e) in OpKind::ALL.iter().zip(&self.table) {
            if e.is_some() {
                l.entry(&k.name());
            }
        }
        l.finish()
    }
}

macro_rules! registrations {
    ($($(#[$doc:meta])* $method:ident => $($kind:ident)|+ : $f:path;)*) => {
        impl OpResolver {
            $(
                $(#[$doc])*
                pub const fn $method(mut self) -> Self {
                    $(self.table[OpKind::$kind as usize] = Some($f);)+
                    self
                }
            )*

            /// Every kernel born-core has.
            pub const fn all() -> Self {
                OpResolver::new()$(.$method())*
            }
        }
    };
}

registrations! {
    /// f32 fully connected.
    with_fully_connected => FullyConnected: exec::fully_connected;
    /// f32 convolution (incl. depthwise).
    with_conv2d => Conv2d: exec::conv2d;
    /// f32 max pooling.
    with_max_pool2d => MaxPool2d: exec::max_pool2d;
    /// f32 average pooling.
    with_avg_pool2d => AvgPool2d: exec::avg_pool2d;
    /// f32 global average pooling.
    with_global_avg_pool2d => GlobalAvgPool2d: exec::global_avg_pool2d;
    /// Element-wise activations.
    with_activation => Activation: exec::activation;
    /// Softmax and log-softmax.
    with_softmax => Softmax | LogSoftmax: exec::softmax;
    /// LayerNorm and RMSNorm.
    with_norm => LayerNorm | RmsNorm: exec::norm;
    /// Inference batch normalisation.
    with_batch_norm => BatchNorm: exec::batch_norm;
    /// Broadcasting binary arithmetic.
    with_binary => Binary: exec::binary;
    /// Reshape (any element type).
    with_reshape => Reshape: exec::reshape;
    /// Embedding lookup.
    with_embedding => Embedding: exec::embedding;
    /// f32 to int8 and back.
    with_quantize => Quantize | Dequantize: int8::quantize_any;
    /// int8 fully connected.
    with_q_fully_connected => QFullyConnected: int8::fully_connected;
    /// int8 convolution (incl. depthwise).
    with_q_conv2d => QConv2d: int8::conv2d;
    /// int8 max pooling.
    with_q_max_pool2d => QMaxPool2d: int8::max_pool2d;
    /// int8 average pooling.
    with_q_avg_pool2d => QAvgPool2d: int8::avg_pool2d;
    /// int8 addition.
    with_q_add => QAdd: int8::add;
    /// int8 softmax.
    with_q_softmax => QSoftmax: int8::softmax;
}

impl OpResolver {
    /// An empty table.
    pub const fn new() -> Self {
        OpResolver {
            table: [None; OpKind::COUNT],
        }
    }

    /// The kernel registered for `kind`.
    pub(crate) fn get(&self, kind: OpKind) -> Option<KernelFn> {
        self.table.get(kind as usize).copied().flatten()
    }
}
