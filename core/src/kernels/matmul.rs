//! Batched, broadcasting matrix multiplication of two tensors (either may be an activation),
//! and ONNX `Gemm` over 2-D operands; both run on [`sgemm`].
//!
//! [`matmul`] follows `numpy.matmul` / ONNX `MatMul`: operands of rank 2 or more are stacks
//! of matrices in their last two axes, and the leading (batch) axes broadcast by NumPy's
//! rules; a rank-1 left operand `[k]` is treated as `[1, k]` and a rank-1 right operand as
//! `[k, 1]`, and the added axis is removed from the result (so `[k] @ [k]` is a scalar,
//! `[k] @ [.., k, n]` is `[.., n]`, `[.., m, k] @ [k]` is `[.., m]`). Rank-0 operands are
//! rejected, as NumPy does. Zero-sized dimensions are allowed (`k == 0` gives zeros).
//!
//! [`gemm_op`] is ONNX `Gemm`: `Y = alpha * op(A) * op(B) + beta * C` with 2-D `A`, `B` and
//! an optional `C` broadcast unidirectionally to `[M, N]`.
//!
//! Each product is one [`sgemm`] call per batch (transposes false for [`matmul`]), or one
//! taller call when the right operand has a single matrix shared by every batch and the left
//! one is not broadcast (same bits: sgemm's results do not depend on how the rows of a plain-B
//! product are split). So results have sgemm's determinism and accuracy; the `*_reference`
//! twins are naive f32 triple loops (products summed in increasing `p`), which differ from the
//! fast paths only by summation order and fused multiply-adds (tests allow a relative error
//! of `1e-5` of `sum |a b|`).
//!
//! Scratch: [`matmul_scratch_len`] and [`gemm_op_scratch_len`] forward to
//! [`crate::kernels::gemm::scratch_len`] for the one [`Gemm`] each call runs.

use crate::kernels::compare::Broadcast;
use crate::kernels::gemm::{scratch_len, sgemm, Gemm};
use crate::shape::{Shape, MAX_RANK};
use crate::{Error, Result};

const MATMUL: &str = "matmul";
const GEMM_OP: &str = "gemm_op";

/// The validated shape of a matmul call.
#[derive(Clone, Copy, Debug)]
struct Plan {
    m: usize,
    n: usize,
    k: usize,
    a_batch: Shape,
    b_batch: Shape,
    out_batch: Shape,
    out: Shape,
    /// Matrices in the output (product of `out_batch`).
    batch: usize,
    /// One `m * batch` row product instead of `batch` products.
    tall: bool,
}

impl Plan {
    fn gemm(&self) -> Gemm {
        let rows = if self.tall {
            self.m.saturating_mul(self.batch)
        } else {
            self.m
        };
        Gemm::new(rows, self.n, self.k)
    }
}

fn numel(op: &'static str, s: &Shape) -> Result<usize> {
    s.checked_numel().map_err(|_| Error::Overflow { op })
}

fn plan(a: &Shape, b: &Shape) -> Result<Plan> {
    let rank0 = Error::InvalidArgument {
        op: MATMUL,
        what: "operands must have rank 1 or more",
    };
    let (a_batch, m, ka) = match a.dims() {
        [] => return Err(rank0),
        [k] => (&[][..], 1, *k),
        [batch @ .., m, k] => (batch, *m, *k),
    };
    let (b_batch, kb, n) = match b.dims() {
        [] => return Err(rank0),
        [k] => (&[][..], *k, 1),
        [batch @ .., k, n] => (batch, *k, *n),
    };
    if ka != kb {
        return Err(Error::DimMismatch {
            op: MATMUL,
            what: "rows of B (columns of A)",
            expected: ka,
            got: kb,
        });
    }
    let (a_batch, b_batch) = (Shape::new(a_batch)?, Shape::new(b_batch)?);
    let out_batch = a_batch
        .broadcast(&b_batch)
        .map_err(|_| Error::BroadcastMismatch {
            op: MATMUL,
            lhs: *a,
            rhs: *b,
        })?;
    let mut dims = [0usize; MAX_RANK];
    let mut rank = out_batch.rank();
    dims[..rank].copy_from_slice(out_batch.dims());
    for (keep, d) in [(a.rank() >= 2, m), (b.rank() >= 2, n)] {
        if keep {
            // Rank <= max(a, b) <= MAX_RANK.
            *dims.get_mut(rank).ok_or(Error::RankTooLarge {
                op: MATMUL,
                rank: rank + 1,
            })? = d;
            rank += 1;
        }
    }
    let out = Shape::new(&dims[..rank])?;
    numel(MATMUL, &out)?;
    let batch = numel(MATMUL, &out_batch)?;
    let tall = batch > 1 && numel(MATMUL, &b_batch)? == 1 && numel(MATMUL, &a_batch)? == batch;
    Ok(Plan {
        m,
        n,
        k: ka,
        a_batch,
        b_batch,
        out_batch,
        out,
        batch,
        tall,
    })
}

/// `len` must be `shape`'s element count.
fn check_numel(op: &'static str, what: &'static str, shape: &Shape, len: usize) -> Result<()> {
    let n = numel(op, shape)?;
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

fn prepare(a: &[f32], a_shape: &Shape, b: &[f32], b_shape: &Shape, out: &[f32]) -> Result<Plan> {
    let p = plan(a_shape, b_shape)?;
    check_numel(MATMUL, "lhs length", a_shape, a.len())?;
    check_numel(MATMUL, "rhs length", b_shape, b.len())?;
    check_numel(MATMUL, "output length", &p.out, out.len())?;
    Ok(p)
}

/// The shape of `a @ b` (`numpy.matmul` rules, see the [module docs](self)).
///
/// Errors: [`Error::InvalidArgument`] for a rank-0 operand; [`Error::DimMismatch`] when the
/// columns of A are not the rows of B; [`Error::BroadcastMismatch`] when the batch axes
/// cannot be broadcast; [`Error::Overflow`] when the result's element count overflows.
pub fn matmul_shape(a_shape: &Shape, b_shape: &Shape) -> Result<Shape> {
    Ok(plan(a_shape, b_shape)?.out)
}

/// f32 elements of scratch [`matmul`] needs for these shapes on this CPU (0 when the shapes
/// are invalid: [`matmul`] then fails before touching scratch).
pub fn matmul_scratch_len(a_shape: &Shape, b_shape: &Shape) -> usize {
    plan(a_shape, b_shape).map_or(0, |p| scratch_len(&p.gemm()))
}

/// `out = a @ b` with `numpy.matmul` semantics (see the [module docs](self)); `out` is the
/// row-major result of shape [`matmul_shape`]`(a_shape, b_shape)`, and `scratch` holds at
/// least [`matmul_scratch_len`]`(a_shape, b_shape)` elements (contents ignored).
///
/// Errors: those of [`matmul_shape`]; [`Error::DimMismatch`] when `a`, `b` or `out` does
/// not hold exactly its shape's element count; [`Error::BufferTooSmall`] when `scratch` is
/// too short.
pub fn matmul(
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let p = prepare(a, a_shape, b, b_shape, out)?;
    let g = p.gemm();
    super::check_len(MATMUL, "scratch", scratch_len(&g), scratch.len())?;
    if out.is_empty() {
        return Ok(());
    }
    let (m, n, k) = (p.m, p.n, p.k);
    if p.tall || p.batch == 1 {
        return sgemm(&g, a, k, b, n, out, n, scratch);
    }
    // out is non-empty, so m * n >= 1; the plan bounds every product below.
    let (step_a, step_b, step_out) = (m * k, k * n, m * n);
    let walk = Broadcast::new(&p.a_batch, &p.b_batch, &p.out_batch);
    let mut chunks = out.chunks_exact_mut(step_out);
    let mut res = Ok(());
    walk.for_each(|ia, ib| {
        if res.is_err() {
            return;
        }
        let Some(o) = chunks.next() else { return };
        let ai = a.get(ia * step_a..).unwrap_or(&[]);
        let bi = b.get(ib * step_b..).unwrap_or(&[]);
        res = sgemm(&g, ai, k, bi, n, o, n, scratch);
    });
    res
}

/// Offset of the matrix of `s` (batch axes, broadcast) that output batch `flat` reads.
fn batch_offset(out_batch: &Shape, s: &Shape, mut flat: usize) -> usize {
    let r = out_batch.rank();
    let off = r - s.rank().min(r);
    let strides = s.contiguous_strides();
    let mut idx = 0;
    for axis in (0..r).rev() {
        let d = out_batch.dims().get(axis).copied().unwrap_or(1).max(1);
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
}

fn oob(op: &'static str) -> Error {
    Error::InvalidArgument {
        op,
        what: "internal bounds check failed",
    }
}

/// The reference for [`matmul`]: for every output element, its batch is located by
/// division and `sum_p a[i][p] * b[p][j]` accumulated in f32 in increasing `p`. Same
/// validation and errors as [`matmul`]; needs no scratch.
pub fn matmul_reference(
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    out: &mut [f32],
) -> Result<()> {
    let p = prepare(a, a_shape, b, b_shape, out)?;
    let (m, n, k) = (p.m, p.n, p.k);
    let Some(mn) = m.checked_mul(n).filter(|&mn| mn > 0) else {
        return Ok(());
    };
    for (o, v) in out.iter_mut().enumerate() {
        let (bat, i, j) = (o / mn, (o % mn) / n, o % n);
        let ab = batch_offset(&p.out_batch, &p.a_batch, bat) * m * k;
        let bb = batch_offset(&p.out_batch, &p.b_batch, bat) * k * n;
        let mut acc = 0.0f32;
        for q in 0..k {
            let x = a.get(ab + i * k + q).ok_or(oob(MATMUL))?;
            let y = b.get(bb + q * n + j).ok_or(oob(MATMUL))?;
            acc += x * y;
        }
        *v = acc;
    }
    Ok(())
}

/// Attributes of ONNX `Gemm`: `Y = alpha * op(A) * op(B) + beta * C`, `op(X)` being `X^T`
/// when the `trans_*` flag is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GemmAttrs {
    /// A is stored `[K, M]` (ONNX `transA`).
    pub trans_a: bool,
    /// B is stored `[N, K]` (ONNX `transB`).
    pub trans_b: bool,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of C (`0`: C is not read).
    pub beta: f32,
}

impl Default for GemmAttrs {
    /// The ONNX defaults: no transposes, `alpha = beta = 1`.
    fn default() -> GemmAttrs {
        GemmAttrs {
            trans_a: false,
            trans_b: false,
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

/// `(m, n, k, lda, ldb)` of a validated gemm_op call.
fn gemm_plan(
    attrs: &GemmAttrs,
    a: &Shape,
    b: &Shape,
) -> Result<(usize, usize, usize, usize, usize)> {
    let two = |s: &Shape, what| match s.dims() {
        [r, c] => Ok((*r, *c)),
        _ => Err(Error::DimMismatch {
            op: GEMM_OP,
            what,
            expected: 2,
            got: s.rank(),
        }),
    };
    let (ar, ac) = two(a, "rank of A")?;
    let (br, bc) = two(b, "rank of B")?;
    let (m, ka) = if attrs.trans_a { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if attrs.trans_b { (bc, br) } else { (br, bc) };
    if ka != kb {
        return Err(Error::DimMismatch {
            op: GEMM_OP,
            what: "rows of op(B) (columns of op(A))",
            expected: ka,
            got: kb,
        });
    }
    m.checked_mul(n).ok_or(Error::Overflow { op: GEMM_OP })?;
    Ok((m, n, ka, ac, bc))
}

fn gemm_of(attrs: &GemmAttrs, m: usize, n: usize, k: usize, use_c: bool) -> Gemm {
    Gemm {
        m,
        n,
        k,
        trans_a: attrs.trans_a,
        trans_b: attrs.trans_b,
        alpha: attrs.alpha,
        beta: if use_c { attrs.beta } else { 0.0 },
    }
}

/// The output shape `[M, N]` of [`gemm_op`].
///
/// Errors: [`Error::DimMismatch`] when A or B is not 2-D or the columns of `op(A)` are not
/// the rows of `op(B)`; [`Error::Overflow`] when `M * N` overflows.
pub fn gemm_op_shape(attrs: &GemmAttrs, a_shape: &Shape, b_shape: &Shape) -> Result<Shape> {
    let (m, n, ..) = gemm_plan(attrs, a_shape, b_shape)?;
    Shape::new(&[m, n])
}

/// f32 elements of scratch [`gemm_op`] needs on this CPU (0 when the shapes are invalid).
pub fn gemm_op_scratch_len(attrs: &GemmAttrs, a_shape: &Shape, b_shape: &Shape) -> usize {
    gemm_plan(attrs, a_shape, b_shape).map_or(0, |(m, n, k, ..)| {
        scratch_len(&gemm_of(attrs, m, n, k, attrs.beta != 0.0))
    })
}

/// Validates a gemm_op call: returns `(m, n, k, lda, ldb, C used)`.
fn gemm_prepare(
    attrs: &GemmAttrs,
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    c: Option<(&[f32], &Shape)>,
    out: &[f32],
) -> Result<(usize, usize, usize, usize, usize, Option<Broadcast>)> {
    let (m, n, k, lda, ldb) = gemm_plan(attrs, a_shape, b_shape)?;
    check_numel(GEMM_OP, "A length", a_shape, a.len())?;
    check_numel(GEMM_OP, "B length", b_shape, b.len())?;
    let y = Shape::new(&[m, n])?;
    check_numel(GEMM_OP, "output length", &y, out.len())?;
    let mut walk = None;
    if let Some((cv, cs)) = c {
        let mismatch = Error::BroadcastMismatch {
            op: GEMM_OP,
            lhs: *cs,
            rhs: y,
        };
        if cs.broadcast(&y).map_err(|_| mismatch)? != y {
            return Err(mismatch);
        }
        check_numel(GEMM_OP, "C length", cs, cv.len())?;
        if attrs.beta != 0.0 {
            walk = Some(Broadcast::new(cs, cs, &y));
        }
    }
    Ok((m, n, k, lda, ldb, walk))
}

/// ONNX `Gemm`: `out = alpha * op(A) * op(B) + beta * C`, row-major `[M, N]`.
///
/// `A` is `[M, K]` (`[K, M]` with `trans_a`), `B` is `[K, N]` (`[N, K]` with `trans_b`), and
/// `C`, when given, is `(values, shape)` with a shape that broadcasts unidirectionally to
/// `[M, N]` (`[]`, `[1]`, `[N]`, `[M, 1]`, `[1, N]`, `[M, N]`, ...). `scratch` holds at least
/// [`gemm_op_scratch_len`] elements. As in BLAS (and [`sgemm`]), `beta == 0` or a missing C
/// means C is not read (a NaN in it does not propagate), and `alpha == 0` or `K == 0` means
/// A and B are not read.
///
/// Errors: those of [`gemm_op_shape`]; [`Error::BroadcastMismatch`] when C's shape does not
/// broadcast to `[M, N]`; [`Error::DimMismatch`] when a buffer's length is not its shape's
/// element count; [`Error::BufferTooSmall`] when `scratch` is too short.
#[allow(clippy::too_many_arguments)]
pub fn gemm_op(
    attrs: &GemmAttrs,
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    c: Option<(&[f32], &Shape)>,
    out: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let (m, n, k, lda, ldb, walk) = gemm_prepare(attrs, a, a_shape, b, b_shape, c, out)?;
    let g = gemm_of(attrs, m, n, k, walk.is_some());
    super::check_len(GEMM_OP, "scratch", scratch_len(&g), scratch.len())?;
    if let (Some(walk), Some((cv, _))) = (walk, c) {
        let mut it = out.iter_mut();
        walk.for_each(|ic, _| {
            if let (Some(o), Some(&v)) = (it.next(), cv.get(ic)) {
                *o = v;
            }
        });
    }
    sgemm(&g, a, lda, b, ldb, out, n, scratch)
}

/// The reference for [`gemm_op`]: `acc = sum_p op(A)[i][p] * op(B)[p][j]` in f32 in
/// increasing `p`, then `alpha * acc`, plus `beta * C[i][j]` (broadcast) when C is used. Same
/// validation, errors and special cases as [`gemm_op`]; needs no scratch.
pub fn gemm_op_reference(
    attrs: &GemmAttrs,
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    c: Option<(&[f32], &Shape)>,
    out: &mut [f32],
) -> Result<()> {
    let (m, n, k, lda, ldb, walk) = gemm_prepare(attrs, a, a_shape, b, b_shape, c, out)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let c = c.filter(|_| walk.is_some());
    let skip_ab = k == 0 || attrs.alpha == 0.0;
    let mut rows = out.chunks_exact_mut(n.max(1));
    for i in 0..m {
        let row = rows.next().ok_or(oob(GEMM_OP))?;
        for (j, o) in row.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            if !skip_ab {
                for q in 0..k {
                    let ai = if attrs.trans_a {
                        q * lda + i
                    } else {
                        i * lda + q
                    };
                    let bi = if attrs.trans_b {
                        j * ldb + q
                    } else {
                        q * ldb + j
                    };
                    acc += a.get(ai).ok_or(oob(GEMM_OP))? * b.get(bi).ok_or(oob(GEMM_OP))?;
                }
            }
            let r = attrs.alpha * acc;
            *o = match c {
                Some((cv, cs)) => {
                    let cij = cv.get(c_index(cs, i, j)).ok_or(oob(GEMM_OP))?;
                    r + attrs.beta * cij
                }
                None => r,
            };
        }
    }
    Ok(())
}

/// Index into C (shape `cs`, broadcast to `[m, n]`) of output element `(i, j)`.
fn c_index(cs: &Shape, i: usize, j: usize) -> usize {
    match cs.dims() {
        [] | [1] => 0,
        [_] => j,
        [r, c] => {
            let row = if *r == 1 { 0 } else { i };
            let col = if *c == 1 { 0 } else { j };
            row * c + col
        }
        _ => 0,
    }
}
