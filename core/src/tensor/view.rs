//! Borrowed tensors: a slice plus a [`Layout`]. They never own or allocate memory, so they
//! work on buffers in flash, in an [`crate::arena::Arena`], or anywhere else.

use super::layout::Layout;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// Read-only view of a tensor stored in `data`.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a, T> {
    data: &'a [T],
    layout: Layout,
}

/// Writable view of a tensor stored in `data`. Its layout never maps two coordinates to one
/// element (no broadcasting), so writes cannot alias.
#[derive(Debug)]
pub struct TensorViewMut<'a, T> {
    data: &'a mut [T],
    layout: Layout,
}

fn check_fits(op: &'static str, layout: &Layout, len: usize) -> Result<()> {
    let needed = layout.min_len()?;
    if needed > len {
        return Err(Error::BufferTooSmall {
            op,
            what: "tensor data",
            needed,
            len,
        });
    }
    Ok(())
}

fn check_exact(op: &'static str, shape: &Shape, len: usize) -> Result<()> {
    let numel = shape.checked_numel()?;
    if numel != len {
        return Err(Error::DimMismatch {
            op,
            what: "number of elements",
            expected: numel,
            got: len,
        });
    }
    Ok(())
}

impl<'a, T: Element> TensorView<'a, T> {
    /// A contiguous view of `data` as `shape`; `data.len()` must equal the element count.
    pub fn new(data: &'a [T], shape: Shape) -> Result<Self> {
        check_exact("tensor view", &shape, data.len())?;
        Ok(TensorView {
            data,
            layout: Layout::contiguous(shape),
        })
    }

    /// A contiguous view for callers that keep `data.len() == shape.numel()` as an invariant
    /// (the owned tensor). Reads stay bounds-checked regardless.
    #[cfg(feature = "alloc")]
    pub(crate) fn contiguous_trusted(data: &'a [T], shape: Shape) -> Self {
        TensorView {
            data,
            layout: Layout::contiguous(shape),
        }
    }

    /// A view with an explicit layout, checked to stay inside `data`.
    pub fn with_layout(data: &'a [T], layout: Layout) -> Result<Self> {
        check_fits("tensor view", &layout, data.len())?;
        Ok(TensorView { data, layout })
    }

    /// The logical shape.
    pub fn shape(&self) -> &Shape {
        self.layout.shape()
    }

    /// Shape, strides and offset.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The underlying buffer (all of it, not only this view's elements).
    pub fn buffer(&self) -> &'a [T] {
        self.data
    }

    /// The elements as one row-major slice, when the view is contiguous.
    pub fn as_slice(&self) -> Option<&'a [T]> {
        if !self.layout.is_contiguous() {
            return None;
        }
        let start = self.layout.offset();
        self.data.get(start..start + self.shape().numel())
    }

    /// The element at `index`.
    pub fn get(&self, index: &[usize]) -> Result<T> {
        let off = self.layout.offset_of(index)?;
        // In bounds: the layout was checked against the buffer when the view was built.
        self.data.get(off).copied().ok_or(Error::IndexOutOfRange {
            op: "index",
            what: "element offset",
            index: off,
            len: self.data.len(),
        })
    }

    /// Elements in row-major logical order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = T> + 'a {
        let data = self.data;
        self.layout
            .offsets()
            .map(move |o| data.get(o).copied().unwrap_or_default())
    }

    /// Copies the elements, row-major, into `out` (`out.len()` must equal the element count).
    pub fn copy_to(&self, out: &mut [T]) -> Result<()> {
        check_exact("copy", self.shape(), out.len())?;
        if let Some(src) = self.as_slice() {
            out.copy_from_slice(src);
        } else {
            for (o, v) in out.iter_mut().zip(self.iter()) {
                *o = v;
            }
        }
        Ok(())
    }

    /// Same elements, new shape; needs a contiguous view.
    pub fn reshape(&self, shape: Shape) -> Result<Self> {
        Ok(TensorView {
            data: self.data,
            layout: self.layout.reshape(&shape)?,
        })
    }

    /// Axes reordered (see [`Layout::permute`]).
    pub fn permute(&self, axes: &[usize]) -> Result<Self> {
        Ok(TensorView {
            data: self.data,
            layout: self.layout.permute(axes)?,
        })
    }

    /// Axes `a` and `b` swapped.
    pub fn transpose(&self, a: usize, b: usize) -> Result<Self> {
        Ok(TensorView {
            data: self.data,
            layout: self.layout.transpose(a, b)?,
        })
    }

    /// Elements `start..start + len` along `axis`.
    pub fn slice(&self, axis: usize, start: usize, len: usize) -> Result<Self> {
        Ok(TensorView {
            data: self.data,
            layout: self.layout.narrow(axis, start, len)?,
        })
    }

    /// Broadcast to `shape` (NumPy rules), repeating elements without copying.
    pub fn broadcast_to(&self, shape: Shape) -> Result<Self> {
        Ok(TensorView {
            data: self.data,
            layout: self.layout.broadcast_to(&shape)?,
        })
    }
}

impl<'a, T: Element> TensorViewMut<'a, T> {
    /// A contiguous writable view of `data` as `shape`; lengths must match.
    pub fn new(data: &'a mut [T], shape: Shape) -> Result<Self> {
        check_exact("tensor view", &shape, data.len())?;
        Ok(TensorViewMut {
            data,
            layout: Layout::contiguous(shape),
        })
    }

    /// See [`TensorView::contiguous_trusted`].
    #[cfg(feature = "alloc")]
    pub(crate) fn contiguous_trusted(data: &'a mut [T], shape: Shape) -> Self {
        TensorViewMut {
            data,
            layout: Layout::contiguous(shape),
        }
    }

    /// The logical shape.
    pub fn shape(&self) -> &Shape {
        self.layout.shape()
    }

    /// Shape, strides and offset.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// A read-only view of the same elements.
    pub fn as_view(&self) -> TensorView<'_, T> {
        TensorView {
            data: self.data,
            layout: self.layout,
        }
    }

    /// The elements as one row-major mutable slice, when the view is contiguous.
    pub fn as_slice_mut(&mut self) -> Option<&mut [T]> {
        if !self.layout.is_contiguous() {
            return None;
        }
        let start = self.layout.offset();
        let n = self.shape().numel();
        self.data.get_mut(start..start + n)
    }

    /// Writes `value` at `index`.
    pub fn set(&mut self, index: &[usize], value: T) -> Result<()> {
        let off = self.layout.offset_of(index)?;
        let len = self.data.len();
        let slot = self.data.get_mut(off).ok_or(Error::IndexOutOfRange {
            op: "index",
            what: "element offset",
            index: off,
            len,
        })?;
        *slot = value;
        Ok(())
    }

    /// Sets every element to `value`.
    pub fn fill(&mut self, value: T) {
        let offsets = self.layout.offsets();
        for o in offsets {
            if let Some(slot) = self.data.get_mut(o) {
                *slot = value;
            }
        }
    }

    /// Copies `src` into this view; `src` is broadcast to this view's shape (NumPy rules).
    pub fn assign(&mut self, src: &TensorView<'_, T>) -> Result<()> {
        let src = src.broadcast_to(*self.shape())?;
        let offsets = self.layout.offsets();
        for (o, v) in offsets.zip(src.iter()) {
            if let Some(slot) = self.data.get_mut(o) {
                *slot = v;
            }
        }
        Ok(())
    }

    /// Reborrows elements `start..start + len` along `axis` as a writable view.
    pub fn slice_mut(
        &mut self,
        axis: usize,
        start: usize,
        len: usize,
    ) -> Result<TensorViewMut<'_, T>> {
        Ok(TensorViewMut {
            layout: self.layout.narrow(axis, start, len)?,
            data: self.data,
        })
    }

    /// Reborrows the view with its axes reordered.
    pub fn permute_mut(&mut self, axes: &[usize]) -> Result<TensorViewMut<'_, T>> {
        Ok(TensorViewMut {
            layout: self.layout.permute(axes)?,
            data: self.data,
        })
    }
}

/// Concatenates `inputs` along `axis` into `out`. All inputs must have `out`'s shape except
/// along `axis`, where their sizes must add up to `out`'s.
pub fn concat<T: Element>(
    inputs: &[TensorView<'_, T>],
    axis: usize,
    out: &mut TensorViewMut<'_, T>,
) -> Result<()> {
    let out_shape = *out.shape();
    let rank = out_shape.rank();
    if axis >= rank {
        return Err(Error::AxisOutOfRange {
            op: "concat",
            axis,
            rank,
        });
    }
    let mut total = 0usize;
    for x in inputs {
        let s = x.shape();
        let same_elsewhere = s.rank() == rank
            && s.dims()
                .iter()
                .zip(out_shape.dims())
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !same_elsewhere {
            return Err(Error::ShapeMismatch {
                op: "concat",
                expected: out_shape,
                got: *s,
            });
        }
        total = total.saturating_add(s.dims()[axis]);
    }
    if total != out_shape.dims()[axis] {
        return Err(Error::DimMismatch {
            op: "concat",
            what: "sum of sizes along the axis",
            expected: out_shape.dims()[axis],
            got: total,
        });
    }
    let mut start = 0;
    for x in inputs {
        let len = x.shape().dims()[axis];
        out.slice_mut(axis, start, len)?.assign(x)?;
        start += len;
    }
    Ok(())
}
