//! The CPU backend: born-core's kernels on owned host tensors.

use super::Backend;
use crate::error::{Error, Result};
use crate::kernels::activation::{self, Activation};
use crate::kernels::conv::{self, Conv2d};
use crate::kernels::elementwise::{self, BinaryOp};
use crate::kernels::gemm::{self, Gemm};
use crate::kernels::pool::{self, Pool2d};
use crate::kernels::reduce::{self, ReduceOp};
use crate::kernels::{gather, norm, softmax};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Layout, Tensor};
use alloc::vec;
use alloc::vec::Vec;

/// Runs every operation on the host CPU with born-core's kernels (the fastest path the CPU
/// supports, see [`crate::kernels`]), single-threaded and deterministic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu;

/// `x` viewed as `[outer, len, inner]` around `axis`.
fn split_at_axis(op: &'static str, shape: &Shape, axis: usize) -> Result<(usize, usize, usize)> {
    let dims = shape.dims();
    if axis >= dims.len() {
        return Err(Error::AxisOutOfRange {
            op,
            axis,
            rank: dims.len(),
        });
    }
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    Ok((outer, dims[axis], inner))
}

fn nchw(op: &'static str, t: &Tensor<f32>) -> Result<[usize; 4]> {
    match *t.dims() {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(Error::DimMismatch {
            op,
            what: "rank (NCHW expected)",
            expected: 4,
            got: t.shape().rank(),
        }),
    }
}

fn dims_with(dims: &[usize], axis: usize, value: Option<usize>) -> Vec<usize> {
    let mut out: Vec<usize> = dims.to_vec();
    match value {
        Some(v) => out[axis] = v,
        None => {
            out.remove(axis);
        }
    }
    out
}

fn run_gemm(
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) -> Result<()> {
    let mut scratch = vec![0.0f32; gemm::scratch_len(g)];
    gemm::sgemm(g, a, lda, b, ldb, c, ldc, &mut scratch)
}

impl Backend for Cpu {
    type Tensor = Tensor<f32>;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn to_device(&self, t: &Tensor<f32>) -> Result<Tensor<f32>> {
        Ok(t.clone())
    }

    fn to_host(&self, t: &Tensor<f32>) -> Result<Tensor<f32>> {
        Ok(t.clone())
    }

    fn shape(&self, t: &Tensor<f32>) -> Shape {
        *t.shape()
    }

    fn reshape(&self, x: &Tensor<f32>, dims: &[usize]) -> Result<Tensor<f32>> {
        x.clone().reshape(dims)
    }

    fn permute(&self, x: &Tensor<f32>, axes: &[usize]) -> Result<Tensor<f32>> {
        x.permute(axes)
    }

    fn matmul(&self, a: &Tensor<f32>, b: &Tensor<f32>) -> Result<Tensor<f32>> {
        let (ra, rb) = (a.shape().rank(), b.shape().rank());
        if ra < 2 || rb < 2 {
            return Err(Error::InvalidArgument {
                op: "matmul",
                what: "operands need at least two axes",
            });
        }
        let (m, k) = (a.dims()[ra - 2], a.dims()[ra - 1]);
        let (kb, n) = (b.dims()[rb - 2], b.dims()[rb - 1]);
        if k != kb {
            return Err(Error::DimMismatch {
                op: "matmul",
                what: "inner dimension of the right operand",
                expected: k,
                got: kb,
            });
        }
        let batch_a = Shape::new(&a.dims()[..ra - 2])?;
        let batch_b = Shape::new(&b.dims()[..rb - 2])?;
        let batch = batch_a
            .broadcast(&batch_b)
            .map_err(|_| Error::BroadcastMismatch {
                op: "matmul",
                lhs: *a.shape(),
                rhs: *b.shape(),
            })?;
        let mut out_dims = batch.dims().to_vec();
        out_dims.extend_from_slice(&[m, n]);
        let mut out = Tensor::zeros(&out_dims)?;
        let g = Gemm::new(m, n, k);
        let offs_a = Layout::contiguous(batch_a).broadcast_to(&batch)?.offsets();
        let offs_b = Layout::contiguous(batch_b).broadcast_to(&batch)?.offsets();
        let mut scratch = vec![0.0f32; gemm::scratch_len(&g)];
        let c_chunks = out.data_mut().chunks_mut((m * n).max(1));
        for ((ia, ib), c) in offs_a.zip(offs_b).zip(c_chunks) {
            let sa = a.data().get(ia * m * k..(ia + 1) * m * k).unwrap_or(&[]);
            let sb = b.data().get(ib * k * n..(ib + 1) * k * n).unwrap_or(&[]);
            gemm::sgemm(&g, sa, k, sb, n, c, n, &mut scratch)?;
        }
        Ok(out)
    }

    fn linear(
        &self,
        x: &Tensor<f32>,
        weight: &Tensor<f32>,
        bias: Option<&Tensor<f32>>,
    ) -> Result<Tensor<f32>> {
        let [out_f, in_f] = match *weight.dims() {
            [o, i] => [o, i],
            _ => {
                return Err(Error::DimMismatch {
                    op: "linear",
                    what: "weight rank",
                    expected: 2,
                    got: weight.shape().rank(),
                })
            }
        };
        let rank = x.shape().rank();
        if rank == 0 || x.dims()[rank - 1] != in_f {
            return Err(Error::DimMismatch {
                op: "linear",
                what: "input features",
                expected: in_f,
                got: x.dims().last().copied().unwrap_or(0),
            });
        }
        let rows = x.shape().numel() / in_f.max(1);
        let out_dims = dims_with(x.dims(), rank - 1, Some(out_f));
        let mut out = Tensor::zeros(&out_dims)?;
        let mut g = Gemm::new(rows, out_f, in_f);
        g.trans_b = true;
        if let Some(b) = bias {
            if b.data().len() != out_f {
                return Err(Error::DimMismatch {
                    op: "linear",
                    what: "bias length",
                    expected: out_f,
                    got: b.data().len(),
                });
            }
            for row in out.data_mut().chunks_exact_mut(out_f.max(1)) {
                row.copy_from_slice(b.data());
            }
            g.beta = 1.0;
        }
        run_gemm(
            &g,
            x.data(),
            in_f,
            weight.data(),
            in_f,
            out.data_mut(),
            out_f,
        )?;
        Ok(out)
    }

    fn conv2d(
        &self,
        x: &Tensor<f32>,
        weight: &Tensor<f32>,
        bias: Option<&Tensor<f32>>,
        params: &Conv2d,
    ) -> Result<Tensor<f32>> {
        let xs = nchw("conv2d", x)?;
        let ws = nchw("conv2d", weight)?;
        let os = params.output_shape(xs, ws)?;
        let mut out = Tensor::zeros(&os)?;
        let mut scratch = vec![0.0f32; params.scratch_len(xs, ws)?];
        conv::conv2d(
            params,
            x.data(),
            xs,
            weight.data(),
            ws,
            bias.map(|b| b.data()),
            out.data_mut(),
            &mut scratch,
        )?;
        Ok(out)
    }

    fn max_pool2d(&self, x: &Tensor<f32>, params: &Pool2d) -> Result<Tensor<f32>> {
        let [n, c, h, w] = nchw("max_pool2d", x)?;
        let [oh, ow] = params.output_hw(h, w)?;
        let mut out = Tensor::zeros(&[n, c, oh, ow])?;
        pool::max_pool2d(params, x.data(), [n, c, h, w], out.data_mut())?;
        Ok(out)
    }

    fn avg_pool2d(&self, x: &Tensor<f32>, params: &Pool2d) -> Result<Tensor<f32>> {
        let [n, c, h, w] = nchw("avg_pool2d", x)?;
        let [oh, ow] = params.output_hw(h, w)?;
        let mut out = Tensor::zeros(&[n, c, oh, ow])?;
        pool::avg_pool2d(params, x.data(), [n, c, h, w], out.data_mut())?;
        Ok(out)
    }

    fn global_avg_pool2d(&self, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        let s = nchw("global_avg_pool2d", x)?;
        let mut out = Tensor::zeros(&[s[0], s[1]])?;
        pool::global_avg_pool2d(x.data(), s, out.data_mut())?;
        Ok(out)
    }

    fn binary(&self, op: BinaryOp, a: &Tensor<f32>, b: &Tensor<f32>) -> Result<Tensor<f32>> {
        let shape = a.shape().broadcast(b.shape())?;
        let mut out = Tensor::zeros(shape.dims())?;
        elementwise::binary(
            op,
            a.data(),
            a.shape(),
            b.data(),
            b.shape(),
            out.data_mut(),
            &shape,
        )?;
        Ok(out)
    }

    fn activation(&self, act: Activation, x: &Tensor<f32>) -> Result<Tensor<f32>> {
        let mut out = x.clone();
        activation::activation_inplace(act, out.data_mut());
        Ok(out)
    }

    fn softmax(&self, x: &Tensor<f32>, axis: usize) -> Result<Tensor<f32>> {
        let (outer, len, inner) = split_at_axis("softmax", x.shape(), axis)?;
        let mut out = Tensor::zeros(x.dims())?;
        softmax::softmax(x.data(), out.data_mut(), outer, len, inner)?;
        Ok(out)
    }

    fn log_softmax(&self, x: &Tensor<f32>, axis: usize) -> Result<Tensor<f32>> {
        let (outer, len, inner) = split_at_axis("log_softmax", x.shape(), axis)?;
        let mut out = Tensor::zeros(x.dims())?;
        softmax::log_softmax(x.data(), out.data_mut(), outer, len, inner)?;
        Ok(out)
    }

    fn layer_norm(
        &self,
        x: &Tensor<f32>,
        gamma: Option<&Tensor<f32>>,
        beta: Option<&Tensor<f32>>,
        eps: f32,
    ) -> Result<Tensor<f32>> {
        let rank = x.shape().rank();
        let (rows, cols, _) = split_at_axis("layer_norm", x.shape(), rank.saturating_sub(1))?;
        let mut out = Tensor::zeros(x.dims())?;
        norm::layer_norm(
            x.data(),
            out.data_mut(),
            rows,
            cols,
            gamma.map(|g| g.data()),
            beta.map(|b| b.data()),
            eps,
        )?;
        Ok(out)
    }

    fn rms_norm(
        &self,
        x: &Tensor<f32>,
        gamma: Option<&Tensor<f32>>,
        eps: f32,
    ) -> Result<Tensor<f32>> {
        let rank = x.shape().rank();
        let (rows, cols, _) = split_at_axis("rms_norm", x.shape(), rank.saturating_sub(1))?;
        let mut out = Tensor::zeros(x.dims())?;
        norm::rms_norm(
            x.data(),
            out.data_mut(),
            rows,
            cols,
            gamma.map(|g| g.data()),
            eps,
        )?;
        Ok(out)
    }

    fn batch_norm(
        &self,
        x: &Tensor<f32>,
        mean: &Tensor<f32>,
        var: &Tensor<f32>,
        gamma: Option<&Tensor<f32>>,
        beta: Option<&Tensor<f32>>,
        eps: f32,
    ) -> Result<Tensor<f32>> {
        let (n, c, spatial) = split_at_axis("batch_norm", x.shape(), 1)?;
        let mut out = Tensor::zeros(x.dims())?;
        norm::batch_norm(
            x.data(),
            out.data_mut(),
            n,
            c,
            spatial,
            mean.data(),
            var.data(),
            gamma.map(|g| g.data()),
            beta.map(|b| b.data()),
            eps,
        )?;
        Ok(out)
    }

    fn embedding(&self, table: &Tensor<f32>, ids: &Tensor<i32>) -> Result<Tensor<f32>> {
        let [rows, dim] = match *table.dims() {
            [r, d] => [r, d],
            _ => {
                return Err(Error::DimMismatch {
                    op: "embedding",
                    what: "table rank",
                    expected: 2,
                    got: table.shape().rank(),
                })
            }
        };
        let mut out_dims = ids.dims().to_vec();
        out_dims.push(dim);
        let mut out = Tensor::zeros(&out_dims)?;
        gather::embedding(table.data(), rows, dim, ids.data(), out.data_mut())?;
        Ok(out)
    }

    fn reduce(
        &self,
        op: ReduceOp,
        x: &Tensor<f32>,
        axis: usize,
        keep_dim: bool,
    ) -> Result<Tensor<f32>> {
        let (outer, len, inner) = split_at_axis("reduce", x.shape(), axis)?;
        let dims = dims_with(x.dims(), axis, if keep_dim { Some(1) } else { None });
        let mut out = Tensor::zeros(&dims)?;
        reduce::reduce(op, x.data(), outer, len, inner, out.data_mut())?;
        Ok(out)
    }

    fn argmax(&self, x: &Tensor<f32>, axis: usize) -> Result<Tensor<i32>> {
        let (outer, len, inner) = split_at_axis("argmax", x.shape(), axis)?;
        let mut out = Tensor::zeros(&dims_with(x.dims(), axis, None))?;
        reduce::argmax(x.data(), outer, len, inner, out.data_mut())?;
        Ok(out)
    }

    fn dropout(&self, x: &Tensor<f32>, p: f32, rng: &mut Rng) -> Result<Tensor<f32>> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidArgument {
                op: "dropout",
                what: "p must be in [0, 1)",
            });
        }
        let scale = 1.0 / (1.0 - p);
        let mut out = x.clone();
        for v in out.data_mut() {
            *v = if rng.next_f32() < p { 0.0 } else { *v * scale };
        }
        Ok(out)
    }
}
