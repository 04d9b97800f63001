//! Shapes of up to [`MAX_RANK`] dimensions, stored inline (no heap), and NumPy broadcasting.

use crate::error::{Error, Result};
use core::fmt;

/// Largest rank a tensor may have.
pub const MAX_RANK: usize = 6;

/// Dimensions of a tensor, outermost first (row-major), rank 0..=[`MAX_RANK`].
///
/// Unused trailing slots are always zero, so derived equality compares shapes exactly.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// The rank-0 shape of a scalar (one element).
    pub const SCALAR: Shape = Shape {
        dims: [0; MAX_RANK],
        rank: 0,
    };

    /// Builds a shape from its dimensions; fails with [`Error::RankTooLarge`] past
    /// [`MAX_RANK`]. Zero-sized dimensions are allowed here; operations that cannot work on
    /// them reject them with [`Error::ZeroDim`].
    pub fn new(dims: &[usize]) -> Result<Shape> {
        if dims.len() > MAX_RANK {
            return Err(Error::RankTooLarge {
                op: "shape",
                rank: dims.len(),
            });
        }
        let mut out = [0; MAX_RANK];
        out[..dims.len()].copy_from_slice(dims);
        Ok(Shape {
            dims: out,
            rank: dims.len() as u8,
        })
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// The dimensions as a slice of length [`Shape::rank`].
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank()]
    }

    /// Dimension `axis`, or [`Error::AxisOutOfRange`].
    pub fn dim(&self, axis: usize) -> Result<usize> {
        self.dims().get(axis).copied().ok_or(Error::AxisOutOfRange {
            op: "shape",
            axis,
            rank: self.rank(),
        })
    }

    /// Number of elements (1 for a scalar), or [`Error::Overflow`].
    pub fn checked_numel(&self) -> Result<usize> {
        self.dims()
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(Error::Overflow { op: "shape" })
    }

    /// Number of elements. Saturates at `usize::MAX` on overflow; use
    /// [`Shape::checked_numel`] for shapes from untrusted sources.
    pub fn numel(&self) -> usize {
        self.checked_numel().unwrap_or(usize::MAX)
    }

    /// Row-major (C order) element strides of a contiguous tensor of this shape.
    pub fn contiguous_strides(&self) -> [usize; MAX_RANK] {
        let mut strides = [0; MAX_RANK];
        let mut acc = 1usize;
        for axis in (0..self.rank()).rev() {
            strides[axis] = acc;
            acc = acc.saturating_mul(self.dims[axis]);
        }
        strides
    }

    /// Normalises a possibly negative axis (`-1` is the last) against this rank.
    pub fn axis(&self, axis: isize) -> Result<usize> {
        let rank = self.rank() as isize;
        let a = if axis < 0 { axis + rank } else { axis };
        if a < 0 || a >= rank {
            return Err(Error::AxisOutOfRange {
                op: "shape",
                axis: axis.unsigned_abs(),
                rank: self.rank(),
            });
        }
        Ok(a as usize)
    }

    /// The shape NumPy broadcasting gives `self` and `other`: dimensions are aligned from the
    /// right and each pair must be equal or contain a 1.
    pub fn broadcast(&self, other: &Shape) -> Result<Shape> {
        let rank = self.rank().max(other.rank());
        let mut dims = [0usize; MAX_RANK];
        for i in 0..rank {
            let a = dim_from_right(self, i);
            let b = dim_from_right(other, i);
            dims[rank - 1 - i] = match (a, b) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                _ => {
                    return Err(Error::BroadcastMismatch {
                        op: "broadcast",
                        lhs: *self,
                        rhs: *other,
                    })
                }
            };
        }
        Shape::new(&dims[..rank])
    }
}

/// Dimension `i` counted from the right, 1 where the shape is shorter.
fn dim_from_right(s: &Shape, i: usize) -> usize {
    if i < s.rank() {
        s.dims[s.rank() - 1 - i]
    } else {
        1
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Shape {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[?]}", self.dims());
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl TryFrom<&[usize]> for Shape {
    type Error = Error;
    fn try_from(dims: &[usize]) -> Result<Shape> {
        Shape::new(dims)
    }
}

impl<const N: usize> TryFrom<[usize; N]> for Shape {
    type Error = Error;
    fn try_from(dims: [usize; N]) -> Result<Shape> {
        Shape::new(&dims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_above_six_is_rejected() {
        assert_eq!(
            Shape::new(&[1; 7]),
            Err(Error::RankTooLarge {
                op: "shape",
                rank: 7
            })
        );
        assert_eq!(Shape::new(&[2; 6]).unwrap().numel(), 64);
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let a = Shape::new(&[8, 1, 6, 1]).unwrap();
        let b = Shape::new(&[7, 1, 5]).unwrap();
        // The example from NumPy's broadcasting documentation.
        assert_eq!(a.broadcast(&b).unwrap().dims(), &[8, 7, 6, 5]);
        let c = Shape::new(&[3]).unwrap();
        let d = Shape::new(&[4]).unwrap();
        assert!(matches!(
            c.broadcast(&d),
            Err(Error::BroadcastMismatch { .. })
        ));
        assert_eq!(Shape::SCALAR.broadcast(&d).unwrap(), d);
    }

    #[test]
    fn strides_and_axes() {
        let s = Shape::new(&[2, 3, 4]).unwrap();
        assert_eq!(&s.contiguous_strides()[..3], &[12, 4, 1]);
        assert_eq!(s.axis(-1).unwrap(), 2);
        assert!(matches!(s.axis(3), Err(Error::AxisOutOfRange { .. })));
        assert!(matches!(s.axis(-4), Err(Error::AxisOutOfRange { .. })));
        assert_eq!(
            Shape::new(&[usize::MAX, 2]).unwrap().checked_numel(),
            Err(Error::Overflow { op: "shape" })
        );
    }
}
