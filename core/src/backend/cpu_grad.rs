//! [`BackwardOps`] for the CPU backend: shape checks around the kernels of
//! [`crate::kernels::grad`], with scratch allocated per call.

use super::grad::{BackwardOps, LinearGrads, NormGrads};
use super::Cpu;
use crate::error::{Error, Result};
use crate::kernels::activation::Activation;
use crate::kernels::conv::Conv2d;
use crate::kernels::grad::misc::{LinearDims, LinearGradsMut};
use crate::kernels::grad::norm::{BatchNormStats, RowGrads};
use crate::kernels::grad::{activation, conv, misc, norm, pool, softmax};
use crate::kernels::pool::Pool2d;
use crate::shape::Shape;
use crate::tensor::Tensor;
use alloc::vec;
use alloc::vec::Vec;

fn rank4(op: &'static str, dims: &[usize]) -> Result<[usize; 4]> {
    match *dims {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(Error::DimMismatch {
            op,
            what: "rank (NCHW expected)",
            expected: 4,
            got: dims.len(),
        }),
    }
}

/// [`Error::ShapeMismatch`] unless `got` has dimensions `expected`.
fn same_shape(op: &'static str, expected: &[usize], got: &Shape) -> Result<()> {
    if got.dims() == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op,
            expected: Shape::new(expected)?,
            got: *got,
        })
    }
}

/// `(outer, len, inner)` of `shape` around `axis`.
fn split_at_axis(op: &'static str, shape: &Shape, axis: usize) -> Result<(usize, usize, usize)> {
    let dims = shape.dims();
    let len = *dims.get(axis).ok_or(Error::AxisOutOfRange {
        op,
        axis,
        rank: dims.len(),
    })?;
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    Ok((outer, len, inner))
}

/// `[rows, cols]` of a normalisation over the last axis.
fn rows_cols(op: &'static str, shape: &Shape) -> Result<(usize, usize)> {
    let rank = shape.rank();
    if rank == 0 {
        return Err(Error::AxisOutOfRange { op, axis: 0, rank });
    }
    let (rows, cols, _) = split_at_axis(op, shape, rank - 1)?;
    Ok((rows, cols))
}

fn zeros_like(t: &Tensor<f32>) -> Result<Tensor<f32>> {
    Tensor::zeros(t.dims())
}

/// Norm gradient buffers for `n` parameters, as the trait returns them.
fn norm_outputs(
    x: &Tensor<f32>,
    with_gamma: bool,
    with_beta: bool,
    n: usize,
) -> Result<NormGrads<Tensor<f32>>> {
    let param = |on: bool| on.then(|| Tensor::zeros(&[n])).transpose();
    Ok(NormGrads {
        input: zeros_like(x)?,
        gamma: param(with_gamma)?,
        beta: param(with_beta)?,
    })
}

impl BackwardOps for Cpu {
    fn full(&self, dims: &[usize], value: f32) -> Result<Tensor<f32>> {
        Tensor::full(dims, value)
    }

    fn scale(&self, x: &Tensor<f32>, s: f32) -> Result<Tensor<f32>> {
        let mut out = x.clone();
        for v in out.data_mut() {
            *v *= s;
        }
        Ok(out)
    }

    fn sum_to(&self, grad: &Tensor<f32>, shape: &Shape) -> Result<Tensor<f32>> {
        let mut out = Tensor::zeros(shape.dims())?;
        misc::sum_to(grad.data(), grad.shape(), out.data_mut(), shape)?;
        Ok(out)
    }

    fn linear_backward(
        &self,
        x: &Tensor<f32>,
        weight: &Tensor<f32>,
        grad_out: &Tensor<f32>,
        with_bias: bool,
    ) -> Result<LinearGrads<Tensor<f32>>> {
        let op = "linear_backward";
        let [outputs, inputs] = match *weight.dims() {
            [o, i] => [o, i],
            _ => {
                return Err(Error::DimMismatch {
                    op,
                    what: "weight rank",
                    expected: 2,
                    got: weight.shape().rank(),
                })
            }
        };
        let rank = x.shape().rank();
        let last = x.dims().last().copied();
        if rank == 0 || last != Some(inputs) {
            return Err(Error::DimMismatch {
                op,
                what: "input features",
                expected: inputs,
                got: last.unwrap_or(0),
            });
        }
        let mut out_dims: Vec<usize> = x.dims().to_vec();
        out_dims[rank - 1] = outputs;
        same_shape(op, &out_dims, grad_out.shape())?;
        let dims = LinearDims {
            rows: x.dims()[..rank - 1].iter().product(),
            inputs,
            outputs,
        };
        let mut gx = zeros_like(x)?;
        let mut gw = zeros_like(weight)?;
        let mut gb = with_bias.then(|| Tensor::zeros(&[outputs])).transpose()?;
        let mut scratch = vec![0.0f32; dims.scratch_len()];
        let out = LinearGradsMut {
            input: gx.data_mut(),
            weight: gw.data_mut(),
            bias: gb.as_mut().map(|b| b.data_mut()),
        };
        misc::linear_backward(
            &dims,
            x.data(),
            weight.data(),
            grad_out.data(),
            out,
            &mut scratch,
        )?;
        Ok(LinearGrads {
            input: gx,
            weight: gw,
            bias: gb,
        })
    }

    fn conv2d_backward_input(
        &self,
        weight: &Tensor<f32>,
        grad_out: &Tensor<f32>,
        x_shape: &Shape,
        params: &Conv2d,
    ) -> Result<Tensor<f32>> {
        let op = "conv2d_backward_input";
        let xs = rank4(op, x_shape.dims())?;
        let ws = rank4(op, weight.dims())?;
        same_shape(op, &params.output_shape(xs, ws)?, grad_out.shape())?;
        let mut gx = Tensor::zeros(&xs)?;
        let mut scratch = vec![0.0f32; conv::conv2d_backward_input_scratch_len(params, xs, ws)?];
        conv::conv2d_backward_input(
            params,
            weight.data(),
            ws,
            grad_out.data(),
            xs,
            gx.data_mut(),
            &mut scratch,
        )?;
        Ok(gx)
    }

    fn conv2d_backward_weight(
        &self,
        x: &Tensor<f32>,
        grad_out: &Tensor<f32>,
        w_shape: &Shape,
        params: &Conv2d,
    ) -> Result<Tensor<f32>> {
        let op = "conv2d_backward_weight";
        let xs = rank4(op, x.dims())?;
        let ws = rank4(op, w_shape.dims())?;
        same_shape(op, &params.output_shape(xs, ws)?, grad_out.shape())?;
        let mut gw = Tensor::zeros(&ws)?;
        let mut scratch = vec![0.0f32; conv::conv2d_backward_weight_scratch_len(params, xs, ws)?];
        conv::conv2d_backward_weight(
            params,
            x.data(),
            xs,
            grad_out.data(),
            ws,
            gw.data_mut(),
            &mut scratch,
        )?;
        Ok(gw)
    }

    fn conv2d_backward_bias(&self, grad_out: &Tensor<f32>) -> Result<Tensor<f32>> {
        let s = rank4("conv2d_backward_bias", grad_out.dims())?;
        let mut gb = Tensor::zeros(&[s[1]])?;
        conv::conv2d_backward_bias(grad_out.data(), s, gb.data_mut())?;
        Ok(gb)
    }

    fn max_pool2d_backward(
        &self,
        x: &Tensor<f32>,
        grad_out: &Tensor<f32>,
        params: &Pool2d,
    ) -> Result<Tensor<f32>> {
        let op = "max_pool2d_backward";
        let [n, c, h, w] = rank4(op, x.dims())?;
        let [oh, ow] = params.output_hw(h, w)?;
        same_shape(op, &[n, c, oh, ow], grad_out.shape())?;
        let mut gx = zeros_like(x)?;
        pool::max_pool2d_backward(
            params,
            x.data(),
            [n, c, h, w],
            grad_out.data(),
            gx.data_mut(),
        )?;
        Ok(gx)
    }

    fn avg_pool2d_backward(
        &self,
        grad_out: &Tensor<f32>,
        x_shape: &Shape,
        params: &Pool2d,
    ) -> Result<Tensor<f32>> {
        let op = "avg_pool2d_backward";
        let [n, c, h, w] = rank4(op, x_shape.dims())?;
        let [oh, ow] = params.output_hw(h, w)?;
        same_shape(op, &[n, c, oh, ow], grad_out.shape())?;
        let mut gx = Tensor::zeros(&[n, c, h, w])?;
        pool::avg_pool2d_backward(params, grad_out.data(), [n, c, h, w], gx.data_mut())?;
        Ok(gx)
    }

    fn global_avg_pool2d_backward(
        &self,
        grad_out: &Tensor<f32>,
        x_shape: &Shape,
    ) -> Result<Tensor<f32>> {
        let op = "global_avg_pool2d_backward";
        let s = rank4(op, x_shape.dims())?;
        same_shape(op, &[s[0], s[1]], grad_out.shape())?;
        let mut gx = Tensor::zeros(&s)?;
        pool::global_avg_pool2d_backward(grad_out.data(), s, gx.data_mut())?;
        Ok(gx)
    }

    fn activation_backward(
        &self,
        act: Activation,
        x: &Tensor<f32>,
        y: &Tensor<f32>,
        grad_out: &Tensor<f32>,
    ) -> Result<Tensor<f32>> {
        let op = "activation_backward";
        same_shape(op, x.dims(), y.shape())?;
        same_shape(op, x.dims(), grad_out.shape())?;
        let mut gx = zeros_like(x)?;
        activation::activation_backward(act, x.data(), y.data(), grad_out.data(), gx.data_mut())?;
        Ok(gx)
    }

    fn softmax_backward(
        &self,
        y: &Tensor<f32>,
        grad_out: &Tensor<f32>,
        axis: usize,
    ) -> Result<Tensor<f32>> {
        let op = "softmax_backward";
        same_shape(op, y.dims(), grad_out.shape())?;
        let (outer, len, inner) = split_at_axis(op, y.shape(), axis)?;
        let mut gx = zeros_like(y)?;
        softmax::softmax_backward(y.data(), grad_out.data(), gx.data_mut(), outer, len, inner)?;
        Ok(gx)
    }

    fn log_softmax_backward(
        &self,
        y: &Tensor<f32>,
        grad_out: &Tensor<f32>,
        axis: usize,
    ) -> Result<Tensor<f32>> {
        let op = "log_softmax_backward";
        same_shape(op, y.dims(), grad_out.shape())?;
        let (outer, len, inner) = split_at_axis(op, y.shape(), axis)?;
        let mut gx = zeros_like(y)?;
        softmax::log_softmax_backward(y.data(), grad_out.data(), gx.data_mut(), outer, len, inner)?;
        Ok(gx)
    }

    fn layer_norm_backward(
        &self,
        x: &Tensor<f32>,
        gamma: Option<&Tensor<f32>>,
        has_beta: bool,
        grad_out: &Tensor<f32>,
        eps: f32,
    ) -> Result<NormGrads<Tensor<f32>>> {
        let op = "layer_norm_backward";
        same_shape(op, x.dims(), grad_out.shape())?;
        let (rows, cols) = rows_cols(op, x.shape())?;
        let NormGrads {
            input: mut gx,
            gamma: mut gg,
            beta: mut gb,
        } = norm_outputs(x, gamma.is_some(), has_beta, cols)?;
        let out = RowGrads {
            input: gx.data_mut(),
            gamma: gg.as_mut().map(|t| t.data_mut()),
            beta: gb.as_mut().map(|t| t.data_mut()),
        };
        let gamma = gamma.map(|g| g.data());
        norm::layer_norm_backward(x.data(), grad_out.data(), rows, cols, gamma, eps, out)?;
        Ok(NormGrads {
            input: gx,
            gamma: gg,
            beta: gb,
        })
    }

    fn rms_norm_backward(
        &self,
        x: &Tensor<f32>,
        gamma: Option<&Tensor<f32>>,
        grad_out: &Tensor<f32>,
        eps: f32,
    ) -> Result<NormGrads<Tensor<f32>>> {
        let op = "rms_norm_backward";
        same_shape(op, x.dims(), grad_out.shape())?;
        let (rows, cols) = rows_cols(op, x.shape())?;
        let NormGrads {
            input: mut gx,
            gamma: mut gg,
            ..
        } = norm_outputs(x, gamma.is_some(), false, cols)?;
        let out = RowGrads {
            input: gx.data_mut(),
            gamma: gg.as_mut().map(|t| t.data_mut()),
            beta: None,
        };
        let gamma = gamma.map(|g| g.data());
        norm::rms_norm_backward(x.data(), grad_out.data(), rows, cols, gamma, eps, out)?;
        Ok(NormGrads {
            input: gx,
            gamma: gg,
            beta: None,
        })
    }

    fn batch_norm_backward(
        &self,
        x: &Tensor<f32>,
        mean: &Tensor<f32>,
        var: &Tensor<f32>,
        gamma: Option<&Tensor<f32>>,
        has_beta: bool,
        grad_out: &Tensor<f32>,
        eps: f32,
    ) -> Result<NormGrads<Tensor<f32>>> {
        let op = "batch_norm_backward";
        same_shape(op, x.dims(), grad_out.shape())?;
        let (n, c, spatial) = split_at_axis(op, x.shape(), 1)?;
        let NormGrads {
            input: mut gx,
            gamma: mut gg,
            beta: mut gb,
        } = norm_outputs(x, gamma.is_some(), has_beta, c)?;
        let stats = BatchNormStats {
            mean: mean.data(),
            var: var.data(),
            gamma: gamma.map(|g| g.data()),
            eps,
        };
        let out = RowGrads {
            input: gx.data_mut(),
            gamma: gg.as_mut().map(|t| t.data_mut()),
            beta: gb.as_mut().map(|t| t.data_mut()),
        };
        norm::batch_norm_backward(x.data(), grad_out.data(), [n, c, spatial], &stats, out)?;
        Ok(NormGrads {
            input: gx,
            gamma: gg,
            beta: gb,
        })
    }

    fn embedding_backward(
        &self,
        ids: &Tensor<i32>,
        grad_out: &Tensor<f32>,
        table_shape: &Shape,
    ) -> Result<Tensor<f32>> {
        let op = "embedding_backward";
        let [rows, dim] = match *table_shape.dims() {
            [r, d] => [r, d],
            _ => {
                return Err(Error::DimMismatch {
                    op,
                    what: "table rank",
                    expected: 2,
                    got: table_shape.rank(),
                })
            }
        };
        let mut out_dims = ids.dims().to_vec();
        out_dims.push(dim);
        same_shape(op, &out_dims, grad_out.shape())?;
        let mut gt = Tensor::zeros(&[rows, dim])?;
        misc::embedding_backward(ids.data(), grad_out.data(), rows, dim, gt.data_mut())?;
        Ok(gt)
    }

    fn cross_entropy(
        &self,
        logits: &Tensor<f32>,
        labels: &Tensor<i32>,
    ) -> Result<(Tensor<f32>, Tensor<f32>)> {
        let op = "cross_entropy";
        let [n, c] = match *logits.dims() {
            [n, c] => [n, c],
            _ => {
                return Err(Error::DimMismatch {
                    op,
                    what: "logits rank ([N, C] expected)",
                    expected: 2,
                    got: logits.shape().rank(),
                })
            }
        };
        same_shape(op, &[n], labels.shape())?;
        let mut grad = zeros_like(logits)?;
        let loss = misc::cross_entropy(logits.data(), n, c, labels.data(), grad.data_mut())?;
        Ok((Tensor::from_vec(vec![loss], &[1])?, grad))
    }
}
