//! Gradients of the remaining operations: broadcast reduction ([`sum_to`]), linear layers
//! ([`linear_backward`]), embedding lookup ([`embedding_backward`]) and the mean
//! cross-entropy loss with its gradient ([`cross_entropy`]).

use super::{check_eq, internal, product};
use crate::kernels::gemm::{self, Gemm};
use crate::kernels::math;
use crate::shape::{Shape, MAX_RANK};
use crate::{Error, Result};

const OP_SUM: &str = "sum_to";

/// Strides into `out` for each axis of `x` (0 along the broadcast axes), after checking that
/// `out_shape` broadcasts to `x_shape` (NumPy rules: aligned from the right, each `out`
/// dimension equal to `x`'s or 1, extra leading `out` dimensions 1).
fn sum_to_strides(x_shape: &Shape, out_shape: &Shape) -> Result<[usize; MAX_RANK]> {
    let (xd, od) = (x_shape.dims(), out_shape.dims());
    let bad = Error::BroadcastMismatch {
        op: OP_SUM,
        lhs: *x_shape,
        rhs: *out_shape,
    };
    if od.len() > xd.len() && od.iter().take(od.len() - xd.len()).any(|&d| d != 1) {
        return Err(bad);
    }
    let ostr = out_shape.contiguous_strides();
    let mut strides = [0usize; MAX_RANK];
    for i in 0..xd.len().min(od.len()) {
        let (xa, oa) = (xd.len() - 1 - i, od.len() - 1 - i);
        let (x, o) = (xd[xa], od[oa]);
        if o == x {
            strides[xa] = if o == 1 { 0 } else { ostr[oa] };
        } else if o != 1 {
            return Err(bad);
        }
    }
    Ok(strides)
}

fn check_sum_to(
    x: &[f32],
    x_shape: &Shape,
    out: &[f32],
    out_shape: &Shape,
) -> Result<[usize; MAX_RANK]> {
    let strides = sum_to_strides(x_shape, out_shape)?;
    check_eq(OP_SUM, "input length", x_shape.checked_numel()?, x.len())?;
    check_eq(
        OP_SUM,
        "output length",
        out_shape.checked_numel()?,
        out.len(),
    )?;
    Ok(strides)
}

/// Sums `x` (`x_shape`) over the axes along which a tensor of `out_shape` was broadcast to
/// reach `x_shape` (NumPy rules), writing `out` (`out_shape`, overwritten). Each output is
/// the sum of its inputs in row-major order of `x`, starting from 0 (so the result is
/// deterministic and equals [`sum_to_reference`] bit for bit); rows along `x`'s last axis are
/// added as whole slices.
///
/// Errors: [`Error::BroadcastMismatch`] when `out_shape` does not broadcast to `x_shape`;
/// [`Error::DimMismatch`] when `x` or `out` does not hold its shape's elements;
/// [`Error::Overflow`].
pub fn sum_to(x: &[f32], x_shape: &Shape, out: &mut [f32], out_shape: &Shape) -> Result<()> {
    let strides = check_sum_to(x, x_shape, out, out_shape)?;
    out.fill(0.0);
    let xd = x_shape.dims();
    let rank = xd.len();
    let (len, inner_stride) = match rank {
        0 => (1, 0),
        _ => (xd[rank - 1], strides[rank - 1]),
    };
    if len == 0 || x.is_empty() {
        return Ok(());
    }
    let outer_rank = rank.saturating_sub(1);
    let mut idx = [0usize; MAX_RANK];
    let mut base = 0usize;
    for row in x.chunks_exact(len) {
        if inner_stride == 0 {
            let o = out.get_mut(base).ok_or(internal(OP_SUM))?;
            let mut acc = *o;
            for &v in row {
                acc += v;
            }
            *o = acc;
        } else {
            let dst = out.get_mut(base..base + len).ok_or(internal(OP_SUM))?;
            for (d, &v) in dst.iter_mut().zip(row) {
                *d += v;
            }
        }
        // Odometer over the outer axes, keeping `base` the output offset of the row.
        for a in (0..outer_rank).rev() {
            idx[a] += 1;
            base += strides[a];
            if idx[a] < xd[a] {
                break;
            }
            base -= strides[a] * xd[a];
            idx[a] = 0;
        }
    }
    Ok(())
}

/// Reference twin of [`sum_to`]: element by element, each input added to the output its
/// multi-index maps to. Same contract.
pub fn sum_to_reference(
    x: &[f32],
    x_shape: &Shape,
    out: &mut [f32],
    out_shape: &Shape,
) -> Result<()> {
    let strides = check_sum_to(x, x_shape, out, out_shape)?;
    out.fill(0.0);
    let xd = x_shape.dims();
    for (i, &v) in x.iter().enumerate() {
        let mut rem = i;
        let mut o = 0usize;
        for a in (0..xd.len()).rev() {
            o += (rem % xd[a]) * strides[a];
            rem /= xd[a];
        }
        *out.get_mut(o).ok_or(internal(OP_SUM))? += v;
    }
    Ok(())
}

/// Sizes of a linear layer `y [rows, outputs] = x [rows, inputs] * W[outputs, inputs]^T + b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearDims {
    /// Rows of `x` (every leading axis flattened).
    pub rows: usize,
    /// Input features.
    pub inputs: usize,
    /// Output features.
    pub outputs: usize,
}

impl LinearDims {
    fn gemm_input(&self) -> Gemm {
        Gemm::new(self.rows, self.inputs, self.outputs)
    }

    fn gemm_weight(&self) -> Gemm {
        Gemm {
            trans_a: true,
            ..Gemm::new(self.outputs, self.inputs, self.rows)
        }
    }

    /// f32 elements of scratch [`linear_backward`] needs (the larger GEMM packing scratch of
    /// its two products).
    pub fn scratch_len(&self) -> usize {
        gemm::scratch_len(&self.gemm_input()).max(gemm::scratch_len(&self.gemm_weight()))
    }
}

const OP_LIN: &str = "linear_backward";

/// The buffers [`linear_backward`] writes (each overwritten).
pub struct LinearGradsMut<'a> {
    /// `[rows, inputs]`: `grad_out * W`.
    pub input: &'a mut [f32],
    /// `[outputs, inputs]`: `grad_out^T * x`.
    pub weight: &'a mut [f32],
    /// `[outputs]`: the column sums of `grad_out`, when wanted.
    pub bias: Option<&'a mut [f32]>,
}

fn check_linear(
    d: &LinearDims,
    x: &[f32],
    weight: &[f32],
    grad_out: &[f32],
    out: &LinearGradsMut<'_>,
) -> Result<()> {
    let op = OP_LIN;
    check_eq(
        op,
        "input length",
        product(op, &[d.rows, d.inputs])?,
        x.len(),
    )?;
    check_eq(
        op,
        "weight length",
        product(op, &[d.outputs, d.inputs])?,
        weight.len(),
    )?;
    check_eq(
        op,
        "grad_out length",
        product(op, &[d.rows, d.outputs])?,
        grad_out.len(),
    )?;
    check_eq(op, "grad_input length", x.len(), out.input.len())?;
    check_eq(op, "grad_weight length", weight.len(), out.weight.len())?;
    if let Some(b) = out.bias.as_ref() {
        check_eq(op, "grad_bias length", d.outputs, b.len())?;
    }
    Ok(())
}

/// Gradients of a linear layer with two [`sgemm`](gemm::sgemm)s: `grad_input = grad_out * W`
/// and `grad_weight = grad_out^T * x` (`trans_a`), plus the bias gradient as column sums of
/// `grad_out` added in row order. `scratch` must hold [`LinearDims::scratch_len`] elements.
///
/// Errors: [`Error::DimMismatch`] for a buffer that does not match `dims`;
/// [`Error::BufferTooSmall`] for short scratch; [`Error::Overflow`].
pub fn linear_backward(
    dims: &LinearDims,
    x: &[f32],
    weight: &[f32],
    grad_out: &[f32],
    out: LinearGradsMut<'_>,
    scratch: &mut [f32],
) -> Result<()> {
    check_linear(dims, x, weight, grad_out, &out)?;
    crate::kernels::check_len(OP_LIN, "scratch", dims.scratch_len(), scratch.len())?;
    let (i, o) = (dims.inputs, dims.outputs);
    gemm::sgemm(
        &dims.gemm_input(),
        grad_out,
        o,
        weight,
        i,
        out.input,
        i,
        scratch,
    )?;
    gemm::sgemm(
        &dims.gemm_weight(),
        grad_out,
        o,
        x,
        i,
        out.weight,
        i,
        scratch,
    )?;
    if let Some(b) = out.bias {
        column_sums(grad_out, o, b);
    }
    Ok(())
}

fn column_sums(g: &[f32], cols: usize, out: &mut [f32]) {
    out.fill(0.0);
    if cols == 0 {
        return;
    }
    for row in g.chunks_exact(cols) {
        for (d, &v) in out.iter_mut().zip(row) {
            *d += v;
        }
    }
}

/// Reference twin of [`linear_backward`]: every element a sequential dot product over the
/// summed index. Needs no scratch; otherwise the same contract.
pub fn linear_backward_reference(
    dims: &LinearDims,
    x: &[f32],
    weight: &[f32],
    grad_out: &[f32],
    out: LinearGradsMut<'_>,
) -> Result<()> {
    check_linear(dims, x, weight, grad_out, &out)?;
    let LinearDims {
        rows,
        inputs,
        outputs,
    } = *dims;
    for r in 0..rows {
        for i in 0..inputs {
            let mut s = 0.0f32;
            for o in 0..outputs {
                s += grad_out[r * outputs + o] * weight[o * inputs + i];
            }
            out.input[r * inputs + i] = s;
        }
    }
    for o in 0..outputs {
        for i in 0..inputs {
            let mut s = 0.0f32;
            for r in 0..rows {
                s += grad_out[r * outputs + o] * x[r * inputs + i];
            }
            out.weight[o * inputs + i] = s;
        }
    }
    if let Some(b) = out.bias {
        for (o, bv) in b.iter_mut().enumerate() {
            let mut s = 0.0f32;
            for r in 0..rows {
                s += grad_out[r * outputs + o];
            }
            *bv = s;
        }
    }
    Ok(())
}

const OP_EMB: &str = "embedding_backward";

fn check_embedding(
    ids: &[i32],
    grad_out: usize,
    rows: usize,
    dim: usize,
    out: usize,
) -> Result<()> {
    check_eq(
        OP_EMB,
        "grad_out length",
        product(OP_EMB, &[ids.len(), dim])?,
        grad_out,
    )?;
    check_eq(
        OP_EMB,
        "grad_table length",
        product(OP_EMB, &[rows, dim])?,
        out,
    )?;
    for &id in ids {
        if id < 0 || id as usize >= rows {
            return Err(Error::IndexOutOfRange {
                op: OP_EMB,
                what: "token id",
                index: id.unsigned_abs() as usize,
                len: rows,
            });
        }
    }
    Ok(())
}

/// Gradient of [`embedding`](crate::kernels::gather::embedding) with respect to the table
/// (`[rows, dim]`, overwritten): row `ids[i]` accumulates `grad_out[i]` (`[ids.len(), dim]`),
/// in id order.
///
/// Errors: [`Error::IndexOutOfRange`] (`what: "token id"`, `len: rows`; `index` is the
/// absolute value of a negative id) for the first id outside `0..rows`, checked before
/// anything is written; [`Error::DimMismatch`] for buffers of the wrong length;
/// [`Error::Overflow`].
pub fn embedding_backward(
    ids: &[i32],
    grad_out: &[f32],
    rows: usize,
    dim: usize,
    grad_table: &mut [f32],
) -> Result<()> {
    check_embedding(ids, grad_out.len(), rows, dim, grad_table.len())?;
    grad_table.fill(0.0);
    if dim == 0 {
        return Ok(());
    }
    for (g, &id) in grad_out.chunks_exact(dim).zip(ids) {
        let at = id as usize * dim;
        let dst = grad_table.get_mut(at..at + dim).ok_or(internal(OP_EMB))?;
        for (d, &v) in dst.iter_mut().zip(g) {
            *d += v;
        }
    }
    Ok(())
}

/// Reference twin of [`embedding_backward`], element by element. Same contract.
pub fn embedding_backward_reference(
    ids: &[i32],
    grad_out: &[f32],
    rows: usize,
    dim: usize,
    grad_table: &mut [f32],
) -> Result<()> {
    check_embedding(ids, grad_out.len(), rows, dim, grad_table.len())?;
    grad_table.fill(0.0);
    for (i, &id) in ids.iter().enumerate() {
        for j in 0..dim {
            grad_table[id as usize * dim + j] += grad_out[i * dim + j];
        }
    }
    Ok(())
}

const OP_CE: &str = "cross_entropy";

fn check_ce(logits: usize, rows: usize, classes: usize, labels: &[i32], grad: usize) -> Result<()> {
    if rows == 0 {
        return Err(Error::ZeroDim {
            op: OP_CE,
            what: "batch (rows)",
        });
    }
    if classes == 0 {
        return Err(Error::ZeroDim {
            op: OP_CE,
            what: "classes",
        });
    }
    let total = product(OP_CE, &[rows, classes])?;
    check_eq(OP_CE, "logits length", total, logits)?;
    check_eq(OP_CE, "labels length", rows, labels.len())?;
    check_eq(OP_CE, "grad length", total, grad)?;
    for &l in labels {
        if l < 0 || l as usize >= classes {
            return Err(Error::IndexOutOfRange {
                op: OP_CE,
                what: "class label",
                index: l.unsigned_abs() as usize,
                len: classes,
            });
        }
    }
    Ok(())
}

/// Maximum of a row, NaN if the row has one.
fn row_max(row: &[f32]) -> f32 {
    row.iter().fold(
        f32::NEG_INFINITY,
        |m, &v| {
            if v > m || v.is_nan() {
                v
            } else {
                m
            }
        },
    )
}

/// Mean cross-entropy of `logits` (`[rows, classes]`) against class indices `labels`
/// (`[rows]`): returns `sum_i (logsumexp(logits_i) - logits_i[labels_i]) / rows` (row losses
/// added in order) and writes its gradient `grad = (softmax(logits) - onehot(labels)) / rows`.
/// The log-sum-exp subtracts the row maximum first, so large logits are fine; each row's
/// exponentials are summed in eight interleaved lanes.
///
/// Errors: [`Error::ZeroDim`] when `rows` or `classes` is 0; [`Error::IndexOutOfRange`]
/// (`what: "class label"`, `len: classes`) for a label outside `0..classes`;
/// [`Error::DimMismatch`] for buffers of the wrong length; [`Error::Overflow`]. Everything
/// is checked before `grad` is written.
pub fn cross_entropy(
    logits: &[f32],
    rows: usize,
    classes: usize,
    labels: &[i32],
    grad: &mut [f32],
) -> Result<f32> {
    check_ce(logits.len(), rows, classes, labels, grad.len())?;
    let inv_n = 1.0 / rows as f32;
    let mut total = 0.0f32;
    for ((row, gr), &label) in logits
        .chunks_exact(classes)
        .zip(grad.chunks_exact_mut(classes))
        .zip(labels)
    {
        let m = row_max(row);
        for (g, &v) in gr.iter_mut().zip(row) {
            *g = math::exp(v - m);
        }
        let s = super::conv::sum8(gr);
        let target = row.get(label as usize).copied().ok_or(internal(OP_CE))?;
        total += (m + math::ln(s)) - target;
        let scale = inv_n / s;
        for g in gr.iter_mut() {
            *g *= scale;
        }
        if let Some(g) = gr.get_mut(label as usize) {
            *g -= inv_n;
        }
    }
    Ok(total * inv_n)
}

/// Reference twin of [`cross_entropy`]: sequential sums, `softmax = exp(x - max) / sum`,
/// then `(softmax - onehot) / rows`. Same contract.
pub fn cross_entropy_reference(
    logits: &[f32],
    rows: usize,
    classes: usize,
    labels: &[i32],
    grad: &mut [f32],
) -> Result<f32> {
    check_ce(logits.len(), rows, classes, labels, grad.len())?;
    let n = rows as f32;
    let mut total = 0.0f32;
    for r in 0..rows {
        let row = &logits[r * classes..][..classes];
        let m = row_max(row);
        let mut s = 0.0f32;
        for &v in row {
            s += math::exp(v - m);
        }
        let label = labels[r] as usize;
        total += (m + math::ln(s)) - row[label];
        for (j, &v) in row.iter().enumerate() {
            let onehot = if j == label { 1.0 } else { 0.0 };
            grad[r * classes + j] = (math::exp(v - m) / s - onehot) / n;
        }
    }
    Ok(total / n)
}
