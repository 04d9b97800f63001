//! Binary element-wise operations with NumPy broadcasting.
//!
//! Inputs and output are contiguous row-major buffers with explicit [`Shape`]s. The output
//! shape must be `a_shape.broadcast(b_shape)`.
//!
//! The fast path first simplifies the broadcast: it drops size-1 output dimensions and merges
//! neighbouring dimensions that are contiguous in both inputs, so `[N, C] + [C]` becomes "each
//! of N rows plus one row vector", `[N, C, H, W] * [1, C, 1, 1]` becomes "each of N*C planes
//! times one scalar" and same-shape operands become one flat loop. It then walks the outer
//! dimensions with incremental offsets (no division per element) and runs one of four tight
//! inner loops, in chunks of 8 that LLVM vectorises: both operands contiguous, a contiguous
//! row with a scalar, a scalar with a contiguous row, or two scalars. There is no fused
//! arithmetic, so every path gives exactly the bits of [`binary_reference`].

use crate::kernels::math::{self, Isa};
use crate::shape::{Shape, MAX_RANK};
use crate::{Error, Result};

/// A binary element-wise operation.
///
/// It is also the attribute record of the [`Binary`](crate::ops::binary::Binary) op in
/// `.born` files: the variant order is part of the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (IEEE: `x / 0` is `±inf`, `0 / 0` is NaN).
    Div,
    /// The larger operand; NaN if either is NaN (like `numpy.maximum`, `torch.maximum`).
    Max,
    /// The smaller operand; NaN if either is NaN (like `numpy.minimum`, `torch.minimum`).
    Min,
    /// `a^b` ([`math::pow`], with C `powf` special cases).
    Pow,
}

impl BinaryOp {
    /// Every operation, in variant order ([`BinaryOp::code`] indexes it).
    pub const ALL: [BinaryOp; 7] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Pow,
    ];

    /// The variant's position in [`BinaryOp::ALL`].
    pub fn code(self) -> u32 {
        BinaryOp::ALL.iter().position(|&b| b == self).unwrap_or(0) as u32
    }
    /// The operation on integers, as NumPy computes it in the operands' type: values are
    /// widened to `i128` and the result wraps back ([`IntElement::wrap`]). Division truncates
    /// toward zero, a zero divisor gives 0 (where NumPy warns); `Pow` with a negative
    /// exponent gives `1 / a^-e` truncated (0 unless `a` is 1 or -1).
    #[inline]
    pub fn apply_int(self, a: i128, b: i128) -> i128 {
        match self {
            BinaryOp::Add => a.wrapping_add(b),
            BinaryOp::Sub => a.wrapping_sub(b),
            BinaryOp::Mul => a.wrapping_mul(b),
            BinaryOp::Div => {
                a.checked_div(b)
                    .unwrap_or_else(|| if b == 0 { 0 } else { a.wrapping_neg() })
            }
            BinaryOp::Max => a.max(b),
            BinaryOp::Min => a.min(b),
            BinaryOp::Pow => match b {
                e if e >= 0 => a.wrapping_pow(u32::try_from(e).unwrap_or(u32::MAX)),
                e => match a {
                    1 => 1,
                    -1 => {
                        if e % 2 == 0 {
                            1
                        } else {
                            -1
                        }
                    }
                    _ => 0,
                },
            },
        }
    }

    /// The scalar definition of the operation.
    #[inline]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryOp::Add => Add::f(a, b),
            BinaryOp::Sub => Sub::f(a, b),
            BinaryOp::Mul => Mul::f(a, b),
            BinaryOp::Div => Div::f(a, b),
            BinaryOp::Max => Max::f(a, b),
            BinaryOp::Min => Min::f(a, b),
            BinaryOp::Pow => Pow::f(a, b),
        }
    }
}

/// An operation as a type, so each inner loop is compiled (and vectorised) per operation.
trait Op {
    fn f(a: f32, b: f32) -> f32;
}

struct Add;
struct Sub;
struct Mul;
struct Div;
struct Max;
struct Min;
struct Pow;

impl Op for Add {
    #[inline(always)]
    fn f(a: f32, b: f32) -> f32 {
        a + b
    }
}
impl Op for Sub {
    #[inline(always)]
    fn f(a: f32, b: f32) -> f32 {
        a - b
    }
}
impl Op for Mul {
    #[inline(always)]
    fn f(a: f32, b: f32) -> f32 {
        a * b
    }
}
impl Op for Div {
    #[inline(always)]
    fn f(a: f32, b: f32) -> f32 {
        a / b
    }
}
impl Op for Max {
    #[inline(always)]
    fn f(a: f32, b: f32) -> f32 {
        // numpy.maximum: `a` when a >= b or a is NaN, else `b` (NaN when b is).
        if a >= b || a.is_nan() {
            a
        } else {
            b
        }
    }
}
impl Op for Min {
    #[inline(always)]
    fn f(a: f32, b: f32) -> f32 {
        if a <= b || a.is_nan() {
            a
        } else {
            b
        }
    }
}
impl Op for Pow {
    #[inline(always)]
    fn f(a: f32, b: f32) -> f32 {
        math::pow(a, b)
    }
}

/// Lanes of the inner loops.
const CHUNK: usize = 8;

#[inline(always)]
fn zip<O: Op>(a: &[f32], b: &[f32], out: &mut [f32]) {
    let mut oc = out.chunks_exact_mut(CHUNK);
    let mut ac = a.chunks_exact(CHUNK);
    let mut bc = b.chunks_exact(CHUNK);
    for ((o, x), y) in (&mut oc).zip(&mut ac).zip(&mut bc) {
        for i in 0..CHUNK {
            o[i] = O::f(x[i], y[i]);
        }
    }
    for ((o, &x), &y) in oc
        .into_remainder()
        .iter_mut()
        .zip(ac.remainder())
        .zip(bc.remainder())
    {
        *o = O::f(x, y);
    }
}

#[inline(always)]
fn row_scalar<O: Op>(a: &[f32], b: f32, out: &mut [f32]) {
    let mut oc = out.chunks_exact_mut(CHUNK);
    let mut ac = a.chunks_exact(CHUNK);
    for (o, x) in (&mut oc).zip(&mut ac) {
        for i in 0..CHUNK {
            o[i] = O::f(x[i], b);
        }
    }
    for (o, &x) in oc.into_remainder().iter_mut().zip(ac.remainder()) {
        *o = O::f(x, b);
    }
}

#[inline(always)]
fn scalar_row<O: Op>(a: f32, b: &[f32], out: &mut [f32]) {
    let mut oc = out.chunks_exact_mut(CHUNK);
    let mut bc = b.chunks_exact(CHUNK);
    for (o, y) in (&mut oc).zip(&mut bc) {
        for i in 0..CHUNK {
            o[i] = O::f(a, y[i]);
        }
    }
    for (o, &y) in oc.into_remainder().iter_mut().zip(bc.remainder()) {
        *o = O::f(a, y);
    }
}

#[inline(always)]
fn zip_inplace<O: Op>(a: &mut [f32], b: &[f32]) {
    let mut ac = a.chunks_exact_mut(CHUNK);
    let mut bc = b.chunks_exact(CHUNK);
    for (x, y) in (&mut ac).zip(&mut bc) {
        for i in 0..CHUNK {
            x[i] = O::f(x[i], y[i]);
        }
    }
    for (x, &y) in ac.into_remainder().iter_mut().zip(bc.remainder()) {
        *x = O::f(*x, y);
    }
}

#[inline(always)]
fn row_scalar_inplace<O: Op>(a: &mut [f32], b: f32) {
    let mut ac = a.chunks_exact_mut(CHUNK);
    for x in &mut ac {
        for v in x.iter_mut() {
            *v = O::f(*v, b);
        }
    }
    for v in ac.into_remainder() {
        *v = O::f(*v, b);
    }
}

/// The broadcast after simplification: `rank` dimensions, outermost first, with the element
/// strides of each input (0 along broadcast dimensions). The innermost strides are 0 or 1.
#[derive(Clone, Copy, Debug)]
struct Plan {
    rank: usize,
    dims: [usize; MAX_RANK],
    sa: [usize; MAX_RANK],
    sb: [usize; MAX_RANK],
}

impl Plan {
    /// `out` must be the (validated, non-empty) broadcast of `a` and `b`.
    fn new(a: &Shape, b: &Shape, out: &Shape) -> Plan {
        let r = out.rank();
        let mut plan = Plan {
            rank: 0,
            dims: [1; MAX_RANK],
            sa: [0; MAX_RANK],
            sb: [0; MAX_RANK],
        };
        let (sta, stb) = (a.contiguous_strides(), b.contiguous_strides());
        // Operand dimension/stride aligned to output axis `i` (1/0 where it is missing or 1).
        let aligned = |s: &Shape, st: &[usize; MAX_RANK], i: usize| -> usize {
            let off = r - s.rank();
            if i < off {
                return 0;
            }
            match s.dims().get(i - off) {
                Some(&d) if d != 1 => st.get(i - off).copied().unwrap_or(0),
                _ => 0,
            }
        };
        for (i, &d) in out.dims().iter().enumerate() {
            if d == 1 {
                continue;
            }
            let (x, y) = (aligned(a, &sta, i), aligned(b, &stb, i));
            let k = plan.rank;
            if k > 0 && plan.sa[k - 1] == x * d && plan.sb[k - 1] == y * d {
                // Contiguous continuation in both operands: merge into the previous axis.
                plan.dims[k - 1] *= d;
                plan.sa[k - 1] = x;
                plan.sb[k - 1] = y;
            } else {
                plan.dims[k] = d;
                plan.sa[k] = x;
                plan.sb[k] = y;
                plan.rank += 1;
            }
        }
        if plan.rank == 0 {
            // A single element: one axis of length 1 (strides irrelevant).
            plan.rank = 1;
        }
        plan
    }

    /// Calls `row(a_offset, b_offset, out_offset)` for every innermost row, walking the
    /// outer axes with an odometer.
    #[inline(always)]
    fn for_each_row(&self, mut row: impl FnMut(usize, usize, usize)) {
        let inner = self.rank - 1;
        let len = self.dims[inner];
        let mut idx = [0usize; MAX_RANK];
        let (mut oa, mut ob, mut oo) = (0usize, 0usize, 0usize);
        loop {
            row(oa, ob, oo);
            oo += len;
            // Advance the odometer over axes 0..inner.
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

/// A sub-slice that is in range by construction of the plan (empty otherwise, never a panic).
#[inline(always)]
fn part(s: &[f32], start: usize, len: usize) -> &[f32] {
    s.get(start..start.saturating_add(len)).unwrap_or(&[])
}

#[inline(always)]
fn part_mut(s: &mut [f32], start: usize, len: usize) -> &mut [f32] {
    s.get_mut(start..start.saturating_add(len))
        .unwrap_or(&mut [])
}

#[inline(always)]
fn run_op<O: Op>(plan: &Plan, a: &[f32], b: &[f32], out: &mut [f32]) {
    let inner = plan.rank - 1;
    let len = plan.dims[inner];
    match (plan.sa[inner], plan.sb[inner]) {
        (1, 1) => plan.for_each_row(|oa, ob, oo| {
            zip::<O>(part(a, oa, len), part(b, ob, len), part_mut(out, oo, len))
        }),
        (1, _) => plan.for_each_row(|oa, ob, oo| {
            let y = b.get(ob).copied().unwrap_or(0.0);
            row_scalar::<O>(part(a, oa, len), y, part_mut(out, oo, len))
        }),
        (_, 1) => plan.for_each_row(|oa, ob, oo| {
            let x = a.get(oa).copied().unwrap_or(0.0);
            scalar_row::<O>(x, part(b, ob, len), part_mut(out, oo, len))
        }),
        _ => plan.for_each_row(|oa, ob, oo| {
            let v = O::f(
                a.get(oa).copied().unwrap_or(0.0),
                b.get(ob).copied().unwrap_or(0.0),
            );
            part_mut(out, oo, len).fill(v);
        }),
    }
}

#[inline(always)]
fn run_op_inplace<O: Op>(plan: &Plan, a: &mut [f32], b: &[f32]) {
    let inner = plan.rank - 1;
    let len = plan.dims[inner];
    if plan.sb[inner] == 1 {
        plan.for_each_row(|_, ob, oo| zip_inplace::<O>(part_mut(a, oo, len), part(b, ob, len)))
    } else {
        plan.for_each_row(|_, ob, oo| {
            let y = b.get(ob).copied().unwrap_or(0.0);
            row_scalar_inplace::<O>(part_mut(a, oo, len), y)
        })
    }
}

#[inline(always)]
fn run(op: BinaryOp, plan: &Plan, a: &[f32], b: &[f32], out: &mut [f32]) {
    match op {
        BinaryOp::Add => run_op::<Add>(plan, a, b, out),
        BinaryOp::Sub => run_op::<Sub>(plan, a, b, out),
        BinaryOp::Mul => run_op::<Mul>(plan, a, b, out),
        BinaryOp::Div => run_op::<Div>(plan, a, b, out),
        BinaryOp::Max => run_op::<Max>(plan, a, b, out),
        BinaryOp::Min => run_op::<Min>(plan, a, b, out),
        BinaryOp::Pow => run_op::<Pow>(plan, a, b, out),
    }
}

#[inline(always)]
fn run_inplace(op: BinaryOp, plan: &Plan, a: &mut [f32], b: &[f32]) {
    match op {
        BinaryOp::Add => run_op_inplace::<Add>(plan, a, b),
        BinaryOp::Sub => run_op_inplace::<Sub>(plan, a, b),
        BinaryOp::Mul => run_op_inplace::<Mul>(plan, a, b),
        BinaryOp::Div => run_op_inplace::<Div>(plan, a, b),
        BinaryOp::Max => run_op_inplace::<Max>(plan, a, b),
        BinaryOp::Min => run_op_inplace::<Min>(plan, a, b),
        BinaryOp::Pow => run_op_inplace::<Pow>(plan, a, b),
    }
}

#[inline(always)]
fn scale_shift_run(x: &mut [f32], scale: f32, shift: f32) {
    for v in x.iter_mut() {
        *v = *v * scale + shift;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BinaryOp, Plan};

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run(op: BinaryOp, plan: &Plan, a: &[f32], b: &[f32], out: &mut [f32]) {
        super::run(op, plan, a, b, out)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_inplace(op: BinaryOp, plan: &Plan, a: &mut [f32], b: &[f32]) {
        super::run_inplace(op, plan, a, b)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn scale_shift(x: &mut [f32], scale: f32, shift: f32) {
        super::scale_shift_run(x, scale, shift)
    }
}

fn check_len(what: &'static str, shape: &Shape, len: usize) -> Result<()> {
    let n = shape
        .checked_numel()
        .map_err(|_| Error::Overflow { op: "binary" })?;
    if n != len {
        return Err(Error::DimMismatch {
            op: "binary",
            what,
            expected: n,
            got: len,
        });
    }
    Ok(())
}

fn broadcast(a: &Shape, b: &Shape) -> Result<Shape> {
    a.broadcast(b).map_err(|_| Error::BroadcastMismatch {
        op: "binary",
        lhs: *a,
        rhs: *b,
    })
}

/// Validates a binary call and returns its plan (`None` when the output is empty).
fn prepare<T, U>(
    a: &[T],
    a_shape: &Shape,
    b: &[T],
    b_shape: &Shape,
    out: &[U],
    out_shape: &Shape,
) -> Result<Option<Plan>> {
    let expected = broadcast(a_shape, b_shape)?;
    if expected != *out_shape {
        return Err(Error::ShapeMismatch {
            op: "binary",
            expected,
            got: *out_shape,
        });
    }
    check_len("lhs length", a_shape, a.len())?;
    check_len("rhs length", b_shape, b.len())?;
    check_len("output length", out_shape, out.len())?;
    if out.is_empty() {
        return Ok(None);
    }
    Ok(Some(Plan::new(a_shape, b_shape, out_shape)))
}

/// `out = op(a, b)` with NumPy broadcasting, on the fastest path this CPU has.
///
/// Errors: [`Error::BroadcastMismatch`] when the shapes cannot be broadcast together;
/// [`Error::ShapeMismatch`] when `out_shape` is not their broadcast; [`Error::DimMismatch`]
/// when a buffer's length is not its shape's element count; [`Error::Overflow`] when an
/// element count overflows.
pub fn binary(
    op: BinaryOp,
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    out: &mut [f32],
    out_shape: &Shape,
) -> Result<()> {
    binary_with(Isa::detect(), op, a, a_shape, b, b_shape, out, out_shape)
}

/// [`binary`] on a chosen path (all paths give identical bits); fails with
/// [`Error::InvalidArgument`] when this CPU cannot run `isa`. On aarch64 the generic code
/// already compiles to NEON, so [`Isa::Neon`] runs it.
#[allow(clippy::too_many_arguments)]
pub fn binary_with(
    isa: Isa,
    op: BinaryOp,
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    out: &mut [f32],
    out_shape: &Shape,
) -> Result<()> {
    if !isa.is_available() {
        return Err(math::unavailable("binary"));
    }
    let Some(plan) = prepare(a, a_shape, b, b_shape, out, out_shape)? else {
        return Ok(());
    };
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => {
            // SAFETY: `is_available` confirmed AVX2 and FMA above.
            unsafe { x86::run(op, &plan, a, b, out) }
        }
        _ => run(op, &plan, a, b, out),
    }
    Ok(())
}

/// The reference: for every output element, its multi-index is recovered by division and
/// each operand's element located through its (broadcast) strides. Errors as for
/// [`binary`].
pub fn binary_reference(
    op: BinaryOp,
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    out: &mut [f32],
    out_shape: &Shape,
) -> Result<()> {
    if prepare(a, a_shape, b, b_shape, out, out_shape)?.is_none() {
        return Ok(());
    }
    let r = out_shape.rank();
    let dims = out_shape.dims();
    let locate = |s: &Shape, mut flat: usize| -> usize {
        let strides = s.contiguous_strides();
        let off = r - s.rank();
        let mut idx = 0;
        for axis in (0..r).rev() {
            let d = dims.get(axis).copied().unwrap_or(1);
            let coord = flat % d;
            flat /= d;
            if axis >= off {
                let sd = s.dims().get(axis - off).copied().unwrap_or(1);
                if sd != 1 {
                    idx += coord * strides.get(axis - off).copied().unwrap_or(0);
                }
            }
        }
        idx
    };
    for (i, o) in out.iter_mut().enumerate() {
        let x = a.get(locate(a_shape, i)).copied().unwrap_or(f32::NAN);
        let y = b.get(locate(b_shape, i)).copied().unwrap_or(f32::NAN);
        *o = op.apply(x, y);
    }
    Ok(())
}

/// `a = op(a, b)` in place, `b` broadcast to `a`'s shape (same results as [`binary`]).
///
/// Errors: [`Error::BroadcastMismatch`] when the shapes cannot be broadcast together;
/// [`Error::ShapeMismatch`] when their broadcast is larger than `a_shape`;
/// [`Error::DimMismatch`] / [`Error::Overflow`] as for [`binary`].
pub fn binary_inplace(
    op: BinaryOp,
    a: &mut [f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
) -> Result<()> {
    let Some(plan) = prepare(a, a_shape, b, b_shape, a, a_shape)? else {
        return Ok(());
    };
    match Isa::detect() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => {
            // SAFETY: `Isa::detect` returns Avx2Fma only when AVX2 and FMA are available.
            unsafe { x86::run_inplace(op, &plan, a, b) }
        }
        _ => run_inplace(op, &plan, a, b),
    }
    Ok(())
}

/// `x = x * scale + shift` for every element (two roundings, no fused multiply-add, so the
/// same bits on every path).
pub fn scale_shift(x: &mut [f32], scale: f32, shift: f32) {
    match Isa::detect() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => {
            // SAFETY: `Isa::detect` returns Avx2Fma only when AVX2 and FMA are available.
            unsafe { x86::scale_shift(x, scale, shift) }
        }
        _ => scale_shift_run(x, scale, shift),
    }
}

/// Integer element types of [`binary_int`] and [`int_binary`]: each value widens to `i128`
/// (which holds every `i64` and `u64` value) and a result wraps back to the type (two's
/// complement), as NumPy's integer arithmetic.
pub trait IntElement: Copy + Default {
    /// The value as `i128`.
    fn widen(self) -> i128;
    /// `v` modulo the type's range.
    fn wrap(v: i128) -> Self;
}

macro_rules! int_element {
    ($($t:ty),*) => {$(
        impl IntElement for $t {
            #[inline(always)]
            fn widen(self) -> i128 {
                self as i128
            }
            #[inline(always)]
            fn wrap(v: i128) -> Self {
                v as $t
            }
        }
    )*};
}
int_element!(i8, u8, i16, u16, i32, u32, i64, u64);

/// `out = f(a, b)` element-wise over the broadcast `plan` (portable scalar loop: integer
/// ops are not on any model's hot path).
fn int_run<T: IntElement>(
    plan: &Plan,
    a: &[T],
    b: &[T],
    out: &mut [T],
    f: impl Fn(i128, i128) -> i128,
) {
    let inner = plan.rank - 1;
    let len = plan.dims[inner];
    let (sa, sb) = (plan.sa[inner], plan.sb[inner]);
    plan.for_each_row(|oa, ob, oo| {
        let Some(row) = out.get_mut(oo..oo.saturating_add(len)) else {
            return;
        };
        for (i, o) in row.iter_mut().enumerate() {
            let x = a.get(oa + i * sa).copied().unwrap_or_default();
            let y = b.get(ob + i * sb).copied().unwrap_or_default();
            *o = T::wrap(f(x.widen(), y.widen()));
        }
    });
}

/// `out = op(a, b)` on integers ([`BinaryOp::apply_int`]) with NumPy broadcasting. Errors
/// as for [`binary`].
pub fn binary_int<T: IntElement>(
    op: BinaryOp,
    a: &[T],
    a_shape: &Shape,
    b: &[T],
    b_shape: &Shape,
    out: &mut [T],
    out_shape: &Shape,
) -> Result<()> {
    int_broadcast(a, a_shape, b, b_shape, out, out_shape, |x, y| {
        op.apply_int(x, y)
    })
}

/// Validates an integer call like [`binary`] and runs `f` over the broadcast.
fn int_broadcast<T: IntElement>(
    a: &[T],
    a_shape: &Shape,
    b: &[T],
    b_shape: &Shape,
    out: &mut [T],
    out_shape: &Shape,
    f: impl Fn(i128, i128) -> i128,
) -> Result<()> {
    if let Some(plan) = prepare(a, a_shape, b, b_shape, out, out_shape)? {
        int_run(&plan, a, b, out, f);
    }
    Ok(())
}

/// An operation defined on integers only ([`int_binary`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IntOp {
    /// Remainder with the divisor's sign (Python's `%`, ONNX `Mod` with `fmod = 0`); a zero
    /// divisor gives 0.
    Mod,
    /// Remainder with the dividend's sign (C's `%`, ONNX `fmod = 1`); a zero divisor gives 0.
    Fmod,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise exclusive or.
    Xor,
    /// `a << b`; a shift by the type's width or more gives 0 (ONNX `BitShift`).
    ShiftLeft,
    /// `a >> b` (logical on unsigned types, arithmetic on signed ones); a shift by the
    /// type's width or more gives 0, or -1 for a negative signed value.
    ShiftRight,
}

impl IntOp {
    /// Every operation, in variant order ([`IntOp::code`] indexes it).
    pub const ALL: [IntOp; 7] = [
        IntOp::Mod,
        IntOp::Fmod,
        IntOp::And,
        IntOp::Or,
        IntOp::Xor,
        IntOp::ShiftLeft,
        IntOp::ShiftRight,
    ];

    /// The variant's position in [`IntOp::ALL`].
    pub fn code(self) -> u32 {
        IntOp::ALL.iter().position(|&b| b == self).unwrap_or(0) as u32
    }

    /// The operation on values widened to `i128` from a type of `bits` bits (the result is
    /// wrapped back to the type by the caller).
    #[inline]
    pub fn apply(self, a: i128, b: i128, bits: u32) -> i128 {
        match self {
            IntOp::Mod => int_remainder(a, b, false),
            IntOp::Fmod => int_remainder(a, b, true),
            IntOp::And => a & b,
            IntOp::Or => a | b,
            IntOp::Xor => a ^ b,
            IntOp::ShiftLeft => match u32::try_from(b) {
                Ok(s) if s < bits => a << s,
                _ => 0,
            },
            IntOp::ShiftRight => match u32::try_from(b) {
                Ok(s) if s < bits => a >> s,
                _ if a < 0 => -1,
                _ => 0,
            },
        }
    }
}

/// The integer remainder of `a / b`: with `fmod` the sign of the dividend (C's `%`), else
/// the sign of the divisor (Python's `%`, ONNX `Mod` with `fmod = 0`); a zero divisor
/// gives 0.
#[inline]
pub fn int_remainder(a: i128, b: i128, fmod: bool) -> i128 {
    if b == 0 {
        return 0;
    }
    let r = a.wrapping_rem(b);
    if !fmod && r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    }
}

/// `out = op(a, b)` ([`IntOp::apply`]) with NumPy broadcasting. Errors as for [`binary`].
pub fn int_binary<T: IntElement>(
    op: IntOp,
    a: &[T],
    a_shape: &Shape,
    b: &[T],
    b_shape: &Shape,
    out: &mut [T],
    out_shape: &Shape,
) -> Result<()> {
    let bits = 8 * core::mem::size_of::<T>() as u32;
    int_broadcast(a, a_shape, b, b_shape, out, out_shape, |x, y| {
        op.apply(x, y, bits)
    })
}
