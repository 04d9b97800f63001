//! Tensors: [`Layout`] (shape, strides, offset), borrowed views over any buffer
//! ([`TensorView`], [`TensorViewMut`]) and, with feature `alloc`, the owned `Tensor`.
//!
//! Views make reshape (of contiguous data), transpose/permute, slicing and broadcasting free:
//! only the layout changes. [`concat()`] copies into a caller-provided output.

mod layout;
#[cfg(feature = "alloc")]
mod owned;
mod view;

pub use layout::{Layout, Offsets};
#[cfg(feature = "alloc")]
pub use owned::Tensor;
pub use view::{concat, TensorView, TensorViewMut};
