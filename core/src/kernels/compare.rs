//! Comparisons (producing bool as `u8` 0/1) and logical ops on bool tensors.
//!
//! Inputs and output are contiguous row-major buffers with explicit [`Shape`]s, broadcast
//! by NumPy's rules; the output shape must be the broadcast of the two input shapes. Booleans
//! are stored one per byte: outputs are exactly `0` or `1`, and any nonzero input byte counts
//! as true.
//!
//! Comparisons use the element type's [`PartialOrd`] / [`PartialEq`], so for floats they
//! follow IEEE 754 and NumPy: every comparison with a NaN operand is false (NaN is not even
//! equal to itself), and `-0 == +0`.
//!
//! The loops are plain scalar code (they are their own reference); the broadcast walk is
//! a small allocation-free odometer (`Broadcast`, crate-private) that the batched matmul
//! shares.

use crate::shape::{Shape, MAX_RANK};
use crate::{Error, Result};

/// A comparison producing a bool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `a == b`.
    Equal,
    /// `a < b`.
    Less,
    /// `a <= b`.
    LessOrEqual,
    /// `a > b`.
    Greater,
    /// `a >= b`.
    GreaterOrEqual,
}

impl CompareOp {
    /// The scalar definition: `a op b` (false whenever the operands are unordered, e.g. NaN).
    #[inline]
    pub fn apply<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CompareOp::Equal => a == b,
            CompareOp::Less => a < b,
            CompareOp::LessOrEqual => a <= b,
            CompareOp::Greater => a > b,
            CompareOp::GreaterOrEqual => a >= b,
        }
    }
}

/// A logical operation on two bools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogicOp {
    /// `a && b`.
    And,
    /// `a || b`.
    Or,
    /// `a != b`.
    Xor,
}

impl LogicOp {
    /// The scalar definition on bytes: nonzero is true; the result is `0` or `1`.
    #[inline]
    pub fn apply(self, a: u8, b: u8) -> u8 {
        let (a, b) = (a != 0, b != 0);
        u8::from(match self {
            LogicOp::And => a && b,
            LogicOp::Or => a || b,
            LogicOp::Xor => a != b,
        })
    }
}

/// Two operands broadcast to one output shape: the element strides of each operand along
/// every output axis (0 where the operand is broadcast), walked in row-major output order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Broadcast {
    rank: usize,
    dims: [usize; MAX_RANK],
    sa: [usize; MAX_RANK],
    sb: [usize; MAX_RANK],
}

impl Broadcast {
    /// The walk of `a` and `b` over `out`, which must be their broadcast (as
    /// [`Shape::broadcast`] gives it; the caller checks).
    pub(crate) fn new(a: &Shape, b: &Shape, out: &Shape) -> Broadcast {
        let rank = out.rank();
        let mut w = Broadcast {
            rank,
            dims: [0; MAX_RANK],
            sa: [0; MAX_RANK],
            sb: [0; MAX_RANK],
        };
        w.dims[..rank].copy_from_slice(out.dims());
        strides_into(a, rank, &mut w.sa);
        strides_into(b, rank, &mut w.sb);
        w
    }

    /// Calls `f(ia, ib)` with the element offsets into `a` and `b` of every output element,
    /// in row-major output order (once for a rank-0 output, never for an empty one).
    #[inline]
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize, usize)) {
        let dims = &self.dims[..self.rank];
        if dims.contains(&0) {
            return;
        }
        let Some(inner) = self.rank.checked_sub(1) else {
            f(0, 0);
            return;
        };
        let (len, step_a, step_b) = (self.dims[inner], self.sa[inner], self.sb[inner]);
        let mut idx = [0usize; MAX_RANK];
        let (mut oa, mut ob) = (0usize, 0usize);
        loop {
            let (mut ia, mut ib) = (oa, ob);
            for _ in 0..len {
                f(ia, ib);
                ia += step_a;
                ib += step_b;
            }
            // Advance the odometer over the outer axes.
            let mut ax = inner;
            loop {
                if ax == 0 {
                    return;
                }
                ax -= 1;
                idx[ax] += 1;
                oa += self.sa[ax];
                ob += self.sb[ax];
                if idx[ax] < self.dims[ax] {
                    break;
                }
                oa -= self.sa[ax] * self.dims[ax];
                ob -= self.sb[ax] * self.dims[ax];
                idx[ax] = 0;
            }
        }
    }
}

/// Element strides of contiguous `s` aligned right to `rank` output axes, 0 along axes that
/// `s` lacks or has as 1.
fn strides_into(s: &Shape, rank: usize, out: &mut [usize; MAX_RANK]) {
    let st = s.contiguous_strides();
    let off = rank.saturating_sub(s.rank());
    for (i, (&d, &stride)) in s.dims().iter().zip(&st).enumerate() {
        if let Some(o) = out.get_mut(off + i) {
            *o = if d == 1 { 0 } else { stride };
        }
    }
}

/// Element count of `shape`, which must equal `len`.
fn check_numel(op: &'static str, what: &'static str, shape: &Shape, len: usize) -> Result<()> {
    let n = shape.checked_numel().map_err(|_| Error::Overflow { op })?;
    if n != len {
        return Err(Error::DimMismatch {
            op,
            what,
            expected: n,
            got: len,
        });
    }
    Ok(())
}

/// Validates a broadcasting binary call and returns its walk.
fn prepare(
    op: &'static str,
    a: (usize, &Shape),
    b: (usize, &Shape),
    out: (usize, &Shape),
) -> Result<Broadcast> {
    let expected = a.1.broadcast(b.1).map_err(|_| Error::BroadcastMismatch {
        op,
        lhs: *a.1,
        rhs: *b.1,
    })?;
    if expected != *out.1 {
        return Err(Error::ShapeMismatch {
            op,
            expected,
            got: *out.1,
        });
    }
    check_numel(op, "lhs length", a.1, a.0)?;
    check_numel(op, "rhs length", b.1, b.0)?;
    check_numel(op, "output length", out.1, out.0)?;
    Ok(Broadcast::new(a.1, b.1, out.1))
}

/// `out = (a op b)` as 0/1 bytes, with NumPy broadcasting.
///
/// Errors: [`Error::BroadcastMismatch`] when the shapes cannot be broadcast together;
/// [`Error::ShapeMismatch`] when `out_shape` is not their broadcast; [`Error::DimMismatch`]
/// when a buffer's length is not its shape's element count; [`Error::Overflow`] when an
/// element count overflows.
pub fn compare<T: PartialOrd + Copy>(
    op: CompareOp,
    a: &[T],
    a_shape: &Shape,
    b: &[T],
    b_shape: &Shape,
    out: &mut [u8],
    out_shape: &Shape,
) -> Result<()> {
    let walk = prepare(
        "compare",
        (a.len(), a_shape),
        (b.len(), b_shape),
        (out.len(), out_shape),
    )?;
    let mut it = out.iter_mut();
    macro_rules! run {
        ($cmp:tt) => {
            walk.for_each(|ia, ib| {
                if let (Some(o), Some(x), Some(y)) = (it.next(), a.get(ia), b.get(ib)) {
                    *o = u8::from(*x $cmp *y);
                }
            })
        };
    }
    match op {
        CompareOp::Equal => run!(==),
        CompareOp::Less => run!(<),
        CompareOp::LessOrEqual => run!(<=),
        CompareOp::Greater => run!(>),
        CompareOp::GreaterOrEqual => run!(>=),
    }
    Ok(())
}

/// `out = (a op b)` on bools (nonzero bytes are true; the output is 0/1), with NumPy
/// broadcasting. Errors as for [`compare`].
pub fn logical(
    op: LogicOp,
    a: &[u8],
    a_shape: &Shape,
    b: &[u8],
    b_shape: &Shape,
    out: &mut [u8],
    out_shape: &Shape,
) -> Result<()> {
    let walk = prepare(
        "logical",
        (a.len(), a_shape),
        (b.len(), b_shape),
        (out.len(), out_shape),
    )?;
    let mut it = out.iter_mut();
    walk.for_each(|ia, ib| {
        if let (Some(o), Some(&x), Some(&y)) = (it.next(), a.get(ia), b.get(ib)) {
            *o = op.apply(x, y);
        }
    });
    Ok(())
}

/// `out[i] = !x[i]`: `1` where `x[i] == 0`, else `0`.
///
/// Fails with [`Error::DimMismatch`] when `out.len() != x.len()`.
pub fn not(x: &[u8], out: &mut [u8]) -> Result<()> {
    if x.len() != out.len() {
        return Err(Error::DimMismatch {
            op: "not",
            what: "output length",
            expected: x.len(),
            got: out.len(),
        });
    }
    for (o, &v) in out.iter_mut().zip(x) {
        *o = u8::from(v == 0);
    }
    Ok(())
}
