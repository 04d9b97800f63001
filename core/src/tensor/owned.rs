//! Owned, contiguous tensors (feature `alloc`).

use super::view::{TensorView, TensorViewMut};
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use alloc::vec;
use alloc::vec::Vec;

/// A row-major tensor that owns its elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<T = f32> {
    data: Vec<T>,
    shape: Shape,
}

impl<T: Element> Tensor<T> {
    /// A tensor of `dims` filled with `value`.
    pub fn full(dims: &[usize], value: T) -> Result<Self> {
        let shape = Shape::new(dims)?;
        Ok(Tensor {
            data: vec![value; shape.checked_numel()?],
            shape,
        })
    }

    /// A tensor of `dims` filled with zeros.
    pub fn zeros(dims: &[usize]) -> Result<Self> {
        Self::full(dims, T::default())
    }

    /// Takes `data` (row-major) as a tensor of `dims`; the lengths must agree.
    pub fn from_vec(data: Vec<T>, dims: &[usize]) -> Result<Self> {
        let shape = Shape::new(dims)?;
        let numel = shape.checked_numel()?;
        if numel != data.len() {
            return Err(Error::DimMismatch {
                op: "tensor",
                what: "number of elements",
                expected: numel,
                got: data.len(),
            });
        }
        Ok(Tensor { data, shape })
    }

    /// A contiguous copy of any view.
    pub fn from_view(view: &TensorView<'_, T>) -> Result<Self> {
        let mut data = vec![T::default(); view.shape().checked_numel()?];
        view.copy_to(&mut data)?;
        Ok(Tensor {
            data,
            shape: *view.shape(),
        })
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements, row-major, writable.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Gives the elements back.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// A read-only view.
    pub fn view(&self) -> TensorView<'_, T> {
        TensorView::contiguous_trusted(&self.data, self.shape)
    }

    /// A writable view.
    pub fn view_mut(&mut self) -> TensorViewMut<'_, T> {
        TensorViewMut::contiguous_trusted(&mut self.data, self.shape)
    }

    /// The same elements under new dimensions with as many elements.
    pub fn reshape(mut self, dims: &[usize]) -> Result<Self> {
        let shape = Shape::new(dims)?;
        if shape.checked_numel()? != self.data.len() {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                expected: self.shape,
                got: shape,
            });
        }
        self.shape = shape;
        Ok(self)
    }

    /// A contiguous copy with axes reordered (see [`TensorView::permute`]).
    pub fn permute(&self, axes: &[usize]) -> Result<Self> {
        Self::from_view(&self.view().permute(axes)?)
    }

    /// The element at `index`.
    pub fn get(&self, index: &[usize]) -> Result<T> {
        self.view().get(index)
    }
}

impl Tensor<f32> {
    /// A tensor of independent standard-normal samples drawn from `rng`.
    pub fn randn(dims: &[usize], rng: &mut Rng) -> Result<Self> {
        let mut t = Self::zeros(dims)?;
        rng.fill_normal(&mut t.data, 0.0, 1.0);
        Ok(t)
    }

    /// A tensor of independent samples uniform in `[low, high)` drawn from `rng`.
    pub fn uniform(dims: &[usize], low: f32, high: f32, rng: &mut Rng) -> Result<Self> {
        let mut t = Self::zeros(dims)?;
        rng.fill_uniform(&mut t.data, low, high);
        Ok(t)
    }
}
