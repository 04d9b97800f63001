//! Where each element of a tensor lives in its buffer: shape, strides and offset.

use crate::error::{Error, Result};
use crate::shape::{Shape, MAX_RANK};

/// Shape plus per-axis element strides and a starting offset into a buffer.
///
/// Element `[i0, i1, ...]` lives at `offset + i0 * strides[0] + i1 * strides[1] + ...`.
/// A stride of 0 repeats one element along an axis (broadcasting). Views change only the
/// layout, never the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Shape,
    strides: [usize; MAX_RANK],
    offset: usize,
}

impl Layout {
    /// Row-major contiguous layout of `shape` starting at offset 0.
    pub fn contiguous(shape: Shape) -> Layout {
        Layout {
            shape,
            strides: shape.contiguous_strides(),
            offset: 0,
        }
    }

    /// A layout from explicit parts. Whether it fits a buffer is checked where a view is
    /// built (see [`Layout::min_len`]).
    pub fn from_parts(shape: Shape, strides: &[usize], offset: usize) -> Result<Layout> {
        if strides.len() != shape.rank() {
            return Err(Error::DimMismatch {
                op: "layout",
                what: "number of strides",
                expected: shape.rank(),
                got: strides.len(),
            });
        }
        let mut s = [0; MAX_RANK];
        s[..strides.len()].copy_from_slice(strides);
        Ok(Layout {
            shape,
            strides: s,
            offset,
        })
    }

    /// The logical shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Element strides, one per axis.
    pub fn strides(&self) -> &[usize] {
        &self.strides[..self.shape.rank()]
    }

    /// Offset of the first element.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// True when elements are laid out row-major without gaps from [`Layout::offset`]
    /// (axes of size 1 may have any stride).
    pub fn is_contiguous(&self) -> bool {
        let want = self.shape.contiguous_strides();
        self.shape
            .dims()
            .iter()
            .zip(self.strides().iter().zip(want.iter()))
            .all(|(&d, (&s, &w))| d == 1 || s == w)
    }

    /// Smallest buffer length (in elements) that holds every element: 0 for an empty tensor.
    pub fn min_len(&self) -> Result<usize> {
        if self.shape.checked_numel()? == 0 {
            return Ok(0);
        }
        let overflow = Error::Overflow { op: "layout" };
        let mut last = self.offset;
        for (&d, &s) in self.shape.dims().iter().zip(self.strides()) {
            let span = (d - 1).checked_mul(s).ok_or(overflow)?;
            last = last.checked_add(span).ok_or(overflow)?;
        }
        last.checked_add(1).ok_or(overflow)
    }

    /// Buffer offset of the element at `index` (one coordinate per axis, each in range).
    pub fn offset_of(&self, index: &[usize]) -> Result<usize> {
        if index.len() != self.shape.rank() {
            return Err(Error::DimMismatch {
                op: "index",
                what: "number of coordinates",
                expected: self.shape.rank(),
                got: index.len(),
            });
        }
        let mut off = self.offset;
        for ((&i, &d), &s) in index.iter().zip(self.shape.dims()).zip(self.strides()) {
            if i >= d {
                return Err(Error::IndexOutOfRange {
                    op: "index",
                    what: "coordinate",
                    index: i,
                    len: d,
                });
            }
            off += i * s;
        }
        Ok(off)
    }

    /// Axes reordered: axis `i` of the result is axis `axes[i]` of `self`. `axes` must be a
    /// permutation of `0..rank`.
    pub fn permute(&self, axes: &[usize]) -> Result<Layout> {
        let rank = self.shape.rank();
        if axes.len() != rank {
            return Err(Error::DimMismatch {
                op: "permute",
                what: "number of axes",
                expected: rank,
                got: axes.len(),
            });
        }
        let mut seen = [false; MAX_RANK];
        let mut dims = [0; MAX_RANK];
        let mut strides = [0; MAX_RANK];
        for (i, &a) in axes.iter().enumerate() {
            if a >= rank {
                return Err(Error::AxisOutOfRange {
                    op: "permute",
                    axis: a,
                    rank,
                });
            }
            if seen[a] {
                return Err(Error::InvalidArgument {
                    op: "permute",
                    what: "axes repeat an axis",
                });
            }
            seen[a] = true;
            dims[i] = self.shape.dims()[a];
            strides[i] = self.strides[a];
        }
        Layout::from_parts(Shape::new(&dims[..rank])?, &strides[..rank], self.offset)
    }

    /// Axes `a` and `b` swapped.
    pub fn transpose(&self, a: usize, b: usize) -> Result<Layout> {
        let rank = self.shape.rank();
        for axis in [a, b] {
            if axis >= rank {
                return Err(Error::AxisOutOfRange {
                    op: "transpose",
                    axis,
                    rank,
                });
            }
        }
        let mut axes = [0, 1, 2, 3, 4, 5];
        axes.swap(a, b);
        self.permute(&axes[..rank])
    }

    /// Elements `start..start + len` along `axis` (a slice; no copy).
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Layout> {
        let rank = self.shape.rank();
        let dim = self
            .shape
            .dims()
            .get(axis)
            .copied()
            .ok_or(Error::AxisOutOfRange {
                op: "slice",
                axis,
                rank,
            })?;
        let end = start
            .checked_add(len)
            .ok_or(Error::Overflow { op: "slice" })?;
        if end > dim {
            return Err(Error::IndexOutOfRange {
                op: "slice",
                what: "end of range",
                index: end,
                len: dim,
            });
        }
        let mut dims = self.shape;
        let mut d = [0; MAX_RANK];
        d[..rank].copy_from_slice(dims.dims());
        d[axis] = len;
        dims = Shape::new(&d[..rank])?;
        let offset = if len == 0 {
            self.offset
        } else {
            start
                .checked_mul(self.strides[axis])
                .and_then(|o| o.checked_add(self.offset))
                .ok_or(Error::Overflow { op: "slice" })?
        };
        Ok(Layout {
            shape: dims,
            strides: self.strides,
            offset,
        })
    }

    /// This layout broadcast to `shape` (NumPy rules): new leading axes and size-1 axes get
    /// stride 0.
    pub fn broadcast_to(&self, shape: &Shape) -> Result<Layout> {
        let err = Error::BroadcastMismatch {
            op: "broadcast_to",
            lhs: self.shape,
            rhs: *shape,
        };
        let (r, rt) = (self.shape.rank(), shape.rank());
        if r > rt {
            return Err(err);
        }
        let mut strides = [0; MAX_RANK];
        for (i, (stride, &target)) in strides.iter_mut().zip(shape.dims()).enumerate() {
            if i + r < rt {
                continue;
            }
            let src = i + r - rt;
            let d = self.shape.dims()[src];
            *stride = if d == target {
                self.strides[src]
            } else if d == 1 {
                0
            } else {
                return Err(err);
            };
        }
        Ok(Layout {
            shape: *shape,
            strides,
            offset: self.offset,
        })
    }

    /// The same elements under a new shape with as many elements. Needs a contiguous
    /// layout ([`Error::NotContiguous`] otherwise).
    pub fn reshape(&self, shape: &Shape) -> Result<Layout> {
        if shape.checked_numel()? != self.shape.checked_numel()? {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                expected: self.shape,
                got: *shape,
            });
        }
        if !self.is_contiguous() {
            return Err(Error::NotContiguous { op: "reshape" });
        }
        Ok(Layout {
            shape: *shape,
            strides: shape.contiguous_strides(),
            offset: self.offset,
        })
    }

    /// Buffer offsets of all elements in row-major logical order.
    pub fn offsets(&self) -> Offsets {
        Offsets {
            layout: *self,
            index: [0; MAX_RANK],
            next: self.offset,
            remaining: self.shape.numel(),
        }
    }
}

/// Iterator over a layout's element offsets, row-major; see [`Layout::offsets`].
#[derive(Clone, Debug)]
pub struct Offsets {
    layout: Layout,
    index: [usize; MAX_RANK],
    next: usize,
    remaining: usize,
}

impl Iterator for Offsets {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let current = self.next;
        let dims = self.layout.shape.dims();
        for axis in (0..dims.len()).rev() {
            // Wrapping arithmetic: exact for every layout that fits a buffer (the only ones
            // views hold), and no overflow panic for one that does not.
            let stride = self.layout.strides[axis];
            self.index[axis] += 1;
            self.next = self.next.wrapping_add(stride);
            if self.index[axis] < dims[axis] {
                break;
            }
            self.next = self.next.wrapping_sub(stride.wrapping_mul(dims[axis]));
            self.index[axis] = 0;
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Offsets {}
