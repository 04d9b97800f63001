//! The autodiff backend: records a graph of the operations around another backend.

use super::graph::{backward, Gradients};
use super::var::{BackwardFn, Node, Var};
use crate::backend::{Backend, BackwardOps};
use crate::error::{Error, Result};
use crate::kernels::activation::Activation;
use crate::kernels::conv::Conv2d;
use crate::kernels::elementwise::BinaryOp;
use crate::kernels::pool::Pool2d;
use crate::kernels::reduce::ReduceOp;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

/// Reverse-mode automatic differentiation around an inner backend `B` (define-by-run, like
/// PyTorch's autograd).
///
/// Every operation runs on `B` at once and, while recording, adds a node to a graph that the
/// result ([`Var`]) holds: the operands' nodes and a closure computing their gradients with
/// `B`'s [`BackwardOps`]. [`Autodiff::backward`] walks that graph from a loss to the leaves.
/// Nothing is global: each result owns its part of the graph, which is freed with it, so
/// several threads can run forward and backward passes at once on one shared model.
///
/// Modules built on this backend (`Linear::new(.., &Autodiff::new(Cpu), ..)`) get trainable
/// parameters; [`Autodiff::no_grad`] gives a backend that records nothing, for evaluation.
/// Data enters with [`Autodiff::constant`] (no gradient is computed for it).
#[derive(Clone, Debug, Default)]
pub struct Autodiff<B> {
    inner: B,
    record: bool,
}

impl<B: BackwardOps> Autodiff<B>
where
    B: Send + Sync + 'static,
    B::Tensor: Send + Sync,
{
    /// A recording backend around `inner`.
    pub fn new(inner: B) -> Self {
        Autodiff {
            inner,
            record: true,
        }
    }

    /// The same backend without recording: results carry no graph (inference, evaluation).
    pub fn no_grad(&self) -> Self {
        Autodiff {
            inner: self.inner.clone(),
            record: false,
        }
    }

    /// True when operations record a graph.
    pub fn is_recording(&self) -> bool {
        self.record
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// A host tensor as a constant (input data, targets): no gradient flows to it.
    pub fn constant(&self, t: &Tensor<f32>) -> Result<Var<B>> {
        Ok(Var::constant(self.inner.to_device(t)?))
    }

    /// Gradients of `loss` with respect to every trainable leaf it depends on. A loss with
    /// several elements is treated as their sum. Errors when nothing trainable was recorded.
    pub fn backward(&self, loss: &Var<B>) -> Result<Gradients<B>> {
        backward(&self.inner, loss)
    }

    /// Wraps `value`, the result of an operation on `inputs`, with a graph node whose
    /// gradients `f` computes, when recording and when any input needs a gradient.
    pub(crate) fn record<F>(&self, value: B::Tensor, inputs: &[&Var<B>], f: F) -> Var<B>
    where
        F: Fn(&B, &B::Tensor, &[bool]) -> Result<Vec<Option<B::Tensor>>> + Send + Sync + 'static,
    {
        self.record_shared(Arc::new(value), inputs, f)
    }

    /// [`Autodiff::record`] for a value the gradient closure also holds.
    fn record_shared<F>(&self, value: Arc<B::Tensor>, inputs: &[&Var<B>], f: F) -> Var<B>
    where
        F: Fn(&B, &B::Tensor, &[bool]) -> Result<Vec<Option<B::Tensor>>> + Send + Sync + 'static,
    {
        let node = if self.record && inputs.iter().any(|v| v.node.is_some()) {
            let backward: BackwardFn<B> = Box::new(f);
            Some(Arc::new(Node {
                inputs: inputs.iter().map(|v| v.node.clone()).collect(),
                backward: Some(backward),
            }))
        } else {
            None
        };
        Var { value, node }
    }

    /// A one-operand operation whose input gradient `f` computes.
    fn unary<F>(&self, value: B::Tensor, x: &Var<B>, f: F) -> Var<B>
    where
        F: Fn(&B, &B::Tensor) -> Result<B::Tensor> + Send + Sync + 'static,
    {
        self.unary_shared(Arc::new(value), x, f)
    }

    /// [`Autodiff::unary`] for a value the gradient closure also holds.
    fn unary_shared<F>(&self, value: Arc<B::Tensor>, x: &Var<B>, f: F) -> Var<B>
    where
        F: Fn(&B, &B::Tensor) -> Result<B::Tensor> + Send + Sync + 'static,
    {
        self.record_shared(value, &[x], move |b, g, _| Ok(vec![Some(f(b, g)?)]))
    }
}

/// `x` with the gradient of `op(a, b)` for operand `which` (0 or 1), computed on the host:
/// the comparison and power rules need element access the backend trait does not give.
fn binary_grad_host<B: Backend>(
    b: &B,
    op: BinaryOp,
    which: usize,
    a: &B::Tensor,
    rhs: &B::Tensor,
    g: &B::Tensor,
) -> Result<B::Tensor> {
    let (ha, hb, hg) = (b.to_host(a)?, b.to_host(rhs)?, b.to_host(g)?);
    let out_shape = *hg.shape();
    let ea = broadcast_host(&ha, &out_shape)?;
    let eb = broadcast_host(&hb, &out_shape)?;
    let mut d = Vec::with_capacity(hg.data().len());
    for ((&x, &y), &gv) in ea.iter().zip(&eb).zip(hg.data()) {
        let (x_wins, tie) = match op {
            BinaryOp::Max => (x > y, x == y),
            _ => (x < y, x == y),
        };
        let v = match (op, which) {
            (BinaryOp::Pow, 0) => gv * y * crate::kernels::math::pow(x, y - 1.0),
            (BinaryOp::Pow, _) => {
                gv * crate::kernels::math::pow(x, y) * crate::kernels::math::ln(x)
            }
            // Ties split the gradient evenly, as PyTorch's maximum/minimum do.
            (_, _) if tie => gv * 0.5,
            (_, 0) if x_wins => gv,
            (_, 0) => 0.0,
            (_, _) if x_wins => 0.0,
            (_, _) => gv,
        };
        d.push(v);
    }
    let full = b.to_device(&Tensor::from_vec(d, out_shape.dims())?)?;
    Ok(full)
}

/// The elements of `t` broadcast to `shape`, in row-major order of `shape`.
fn broadcast_host(t: &Tensor<f32>, shape: &Shape) -> Result<Vec<f32>> {
    let layout = crate::tensor::Layout::contiguous(*t.shape()).broadcast_to(shape)?;
    layout
        .offsets()
        .map(|i| {
            t.data().get(i).copied().ok_or(Error::IndexOutOfRange {
                op: "broadcast",
                what: "element",
                index: i,
                len: t.data().len(),
            })
        })
        .collect()
}

/// Gradient of a max/min/prod reduction along `axis` of `x [outer, len, inner]`, on the host.
fn reduce_grad_host<B: Backend>(
    b: &B,
    op: ReduceOp,
    x: &B::Tensor,
    axis: usize,
    g: &B::Tensor,
) -> Result<B::Tensor> {
    let hx = b.to_host(x)?;
    let hg = b.to_host(g)?;
    let dims = hx.dims();
    let outer: usize = dims[..axis].iter().product();
    let len = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let mut d = vec![0.0f32; hx.data().len()];
    let xd = hx.data();
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            let gv = hg.data().get(o * inner + i).copied().unwrap_or(0.0);
            match op {
                ReduceOp::Prod => {
                    for k in 0..len {
                        let mut p = 1.0f32;
                        for j in (0..len).filter(|&j| j != k) {
                            p *= xd[at(j)];
                        }
                        d[at(k)] = gv * p;
                    }
                }
                _ => {
                    // The gradient goes to the first extremum, as argmax/argmin pick it.
                    let mut best = 0;
                    for k in 1..len {
                        let (v, cur) = (xd[at(k)], xd[at(best)]);
                        let better = if op == ReduceOp::Max {
                            v > cur
                        } else {
                            v < cur
                        };
                        if better {
                            best = k;
                        }
                    }
                    if len > 0 {
                        d[at(best)] = gv;
                    }
                }
            }
        }
    }
    b.to_device(&Tensor::from_vec(d, dims)?)
}

/// Broadcasts `g` (a reduction's output gradient, `axis` removed or kept as 1) back over
/// `x_shape`.
fn expand_reduced<B: BackwardOps>(
    b: &B,
    g: &B::Tensor,
    x_shape: &Shape,
    axis: usize,
) -> Result<B::Tensor> {
    let mut keep = x_shape.dims().to_vec();
    keep[axis] = 1;
    let g = b.reshape(g, &keep)?;
    b.binary(BinaryOp::Add, &b.full(x_shape.dims(), 0.0)?, &g)
}

impl<B: BackwardOps> Backend for Autodiff<B>
where
    B: Send + Sync + 'static,
    B::Tensor: Send + Sync,
{
    type Tensor = Var<B>;

    fn name(&self) -> &'static str {
        "autodiff"
    }

    fn to_device(&self, t: &Tensor<f32>) -> Result<Var<B>> {
        let v = self.inner.to_device(t)?;
        Ok(if self.record {
            Var::leaf(v)
        } else {
            Var::constant(v)
        })
    }

    fn to_host(&self, t: &Var<B>) -> Result<Tensor<f32>> {
        self.inner.to_host(&t.value)
    }

    fn shape(&self, t: &Var<B>) -> Shape {
        self.inner.shape(&t.value)
    }

    fn reshape(&self, x: &Var<B>, dims: &[usize]) -> Result<Var<B>> {
        let from = self.shape(x);
        let y = self.inner.reshape(&x.value, dims)?;
        Ok(self.unary(y, x, move |b, g| b.reshape(g, from.dims())))
    }

    fn permute(&self, x: &Var<B>, axes: &[usize]) -> Result<Var<B>> {
        let y = self.inner.permute(&x.value, axes)?;
        let mut inverse = vec![0usize; axes.len()];
        for (i, &a) in axes.iter().enumerate() {
            if let Some(slot) = inverse.get_mut(a) {
                *slot = i;
            }
        }
        Ok(self.unary(y, x, move |b, g| b.permute(g, &inverse)))
    }

    fn matmul(&self, a: &Var<B>, b: &Var<B>) -> Result<Var<B>> {
        let y = self.inner.matmul(&a.value, &b.value)?;
        let (av, bv) = (a.value.clone(), b.value.clone());
        Ok(self.record(y, &[a, b], move |be, g, needs| {
            let swap_last = |t: &B::Tensor| -> Result<B::Tensor> {
                let r = be.shape(t).rank();
                let mut axes: Vec<usize> = (0..r).collect();
                axes.swap(r - 2, r - 1);
                be.permute(t, &axes)
            };
            let ga = match needs.first() {
                Some(true) => {
                    let full = be.matmul(g, &swap_last(&bv)?)?;
                    Some(be.sum_to(&full, &be.shape(&av))?)
                }
                _ => None,
            };
            let gb = match needs.get(1) {
                Some(true) => {
                    let full = be.matmul(&swap_last(&av)?, g)?;
                    Some(be.sum_to(&full, &be.shape(&bv))?)
                }
                _ => None,
            };
            Ok(vec![ga, gb])
        }))
    }

    fn linear(&self, x: &Var<B>, weight: &Var<B>, bias: Option<&Var<B>>) -> Result<Var<B>> {
        let y = self
            .inner
            .linear(&x.value, &weight.value, bias.map(|b| &*b.value))?;
        let (xv, wv) = (x.value.clone(), weight.value.clone());
        let with_bias = bias.is_some();
        let mut inputs = vec![x, weight];
        inputs.extend(bias);
        Ok(self.record(y, &inputs, move |b, g, needs| {
            let gr = b.linear_backward(&xv, &wv, g, with_bias)?;
            let pick = |i: usize, t: Option<B::Tensor>| t.filter(|_| needs.get(i) == Some(&true));
            Ok(vec![
                pick(0, Some(gr.input)),
                pick(1, Some(gr.weight)),
                pick(2, gr.bias),
            ])
        }))
    }

    fn conv2d(
        &self,
        x: &Var<B>,
        weight: &Var<B>,
        bias: Option<&Var<B>>,
        params: &Conv2d,
    ) -> Result<Var<B>> {
        let y = self
            .inner
            .conv2d(&x.value, &weight.value, bias.map(|b| &*b.value), params)?;
        let (xv, wv) = (x.value.clone(), weight.value.clone());
        let p = *params;
        let mut inputs = vec![x, weight];
        inputs.extend(bias);
        Ok(self.record(y, &inputs, move |b, g, needs| {
            let need = |i: usize| needs.get(i) == Some(&true);
            let gx = if need(0) {
                Some(b.conv2d_backward_input(&wv, g, &b.shape(&xv), &p)?)
            } else {
                None
            };
            let gw = if need(1) {
                Some(b.conv2d_backward_weight(&xv, g, &b.shape(&wv), &p)?)
            } else {
                None
            };
            let gb = if need(2) {
                Some(b.conv2d_backward_bias(g)?)
            } else {
                None
            };
            Ok(vec![gx, gw, gb])
        }))
    }

    fn max_pool2d(&self, x: &Var<B>, params: &Pool2d) -> Result<Var<B>> {
        let y = self.inner.max_pool2d(&x.value, params)?;
        let (xv, p) = (x.value.clone(), *params);
        Ok(self.unary(y, x, move |b, g| b.max_pool2d_backward(&xv, g, &p)))
    }

    fn avg_pool2d(&self, x: &Var<B>, params: &Pool2d) -> Result<Var<B>> {
        let y = self.inner.avg_pool2d(&x.value, params)?;
        let (xs, p) = (self.shape(x), *params);
        Ok(self.unary(y, x, move |b, g| b.avg_pool2d_backward(g, &xs, &p)))
    }

    fn global_avg_pool2d(&self, x: &Var<B>) -> Result<Var<B>> {
        let y = self.inner.global_avg_pool2d(&x.value)?;
        let xs = self.shape(x);
        Ok(self.unary(y, x, move |b, g| b.global_avg_pool2d_backward(g, &xs)))
    }

    fn binary(&self, op: BinaryOp, a: &Var<B>, rhs: &Var<B>) -> Result<Var<B>> {
        let y = self.inner.binary(op, &a.value, &rhs.value)?;
        let (av, bv) = (a.value.clone(), rhs.value.clone());
        Ok(self.record(y, &[a, rhs], move |b, g, needs| {
            let (sa, sb) = (b.shape(&av), b.shape(&bv));
            let mut out = vec![None, None];
            for (i, slot) in out.iter_mut().enumerate() {
                if needs.get(i) != Some(&true) {
                    continue;
                }
                let full = match (op, i) {
                    (BinaryOp::Add, _) | (BinaryOp::Sub, 0) => g.clone(),
                    (BinaryOp::Sub, _) => b.scale(g, -1.0)?,
                    (BinaryOp::Mul, 0) => b.binary(BinaryOp::Mul, g, &bv)?,
                    (BinaryOp::Mul, _) => b.binary(BinaryOp::Mul, g, &av)?,
                    (BinaryOp::Div, 0) => b.binary(BinaryOp::Div, g, &bv)?,
                    (BinaryOp::Div, _) => {
                        // d(a/b)/db = -a / b^2
                        let q = b.binary(BinaryOp::Div, &av, &bv)?;
                        let q = b.binary(BinaryOp::Div, &q, &bv)?;
                        b.scale(&b.binary(BinaryOp::Mul, g, &q)?, -1.0)?
                    }
                    (BinaryOp::Max | BinaryOp::Min | BinaryOp::Pow, _) => {
                        binary_grad_host(b, op, i, &av, &bv, g)?
                    }
                };
                *slot = Some(b.sum_to(&full, if i == 0 { &sa } else { &sb })?);
            }
            Ok(out)
        }))
    }

    fn activation(&self, act: Activation, x: &Var<B>) -> Result<Var<B>> {
        let y = Arc::new(self.inner.activation(act, &x.value)?);
        let (xv, yv) = (x.value.clone(), y.clone());
        let out = self.unary_shared(y, x, move |b, g| b.activation_backward(act, &xv, &yv, g));
        Ok(out)
    }

    fn softmax(&self, x: &Var<B>, axis: usize) -> Result<Var<B>> {
        let y = Arc::new(self.inner.softmax(&x.value, axis)?);
        let yv = y.clone();
        Ok(self.unary_shared(y, x, move |b, g| b.softmax_backward(&yv, g, axis)))
    }

    fn log_softmax(&self, x: &Var<B>, axis: usize) -> Result<Var<B>> {
        let y = Arc::new(self.inner.log_softmax(&x.value, axis)?);
        let yv = y.clone();
        Ok(self.unary_shared(y, x, move |b, g| b.log_softmax_backward(&yv, g, axis)))
    }

    fn layer_norm(
        &self,
        x: &Var<B>,
        gamma: Option<&Var<B>>,
        beta: Option<&Var<B>>,
        eps: f32,
    ) -> Result<Var<B>> {
        let y = self.inner.layer_norm(
            &x.value,
            gamma.map(|t| &*t.value),
            beta.map(|t| &*t.value),
            eps,
        )?;
        let xv = x.value.clone();
        let gv = gamma.map(|t| t.value.clone());
        let has_beta = beta.is_some();
        let inputs = norm_inputs(x, gamma, beta);
        Ok(self.record(y, &inputs, move |b, g, needs| {
            let gr = b.layer_norm_backward(&xv, gv.as_deref(), has_beta, g, eps)?;
            Ok(norm_outputs(gr, gv.is_some(), has_beta, needs))
        }))
    }

    fn rms_norm(&self, x: &Var<B>, gamma: Option<&Var<B>>, eps: f32) -> Result<Var<B>> {
        let y = self
            .inner
            .rms_norm(&x.value, gamma.map(|t| &*t.value), eps)?;
        let xv = x.value.clone();
        let gv = gamma.map(|t| t.value.clone());
        let inputs = norm_inputs(x, gamma, None);
        Ok(self.record(y, &inputs, move |b, g, needs| {
            let gr = b.rms_norm_backward(&xv, gv.as_deref(), g, eps)?;
            Ok(norm_outputs(gr, gv.is_some(), false, needs))
        }))
    }

    fn batch_norm(
        &self,
        x: &Var<B>,
        mean: &Var<B>,
        var: &Var<B>,
        gamma: Option<&Var<B>>,
        beta: Option<&Var<B>>,
        eps: f32,
    ) -> Result<Var<B>> {
        let y = self.inner.batch_norm(
            &x.value,
            &mean.value,
            &var.value,
            gamma.map(|t| &*t.value),
            beta.map(|t| &*t.value),
            eps,
        )?;
        let (xv, mv, vv) = (x.value.clone(), mean.value.clone(), var.value.clone());
        let gv = gamma.map(|t| t.value.clone());
        let has_beta = beta.is_some();
        // The running statistics are buffers, not trained: no gradient flows to them.
        let inputs = norm_inputs(x, gamma, beta);
        Ok(self.record(y, &inputs, move |b, g, needs| {
            let gr = b.batch_norm_backward(&xv, &mv, &vv, gv.as_deref(), has_beta, g, eps)?;
            Ok(norm_outputs(gr, gv.is_some(), has_beta, needs))
        }))
    }

    fn embedding(&self, table: &Var<B>, ids: &Tensor<i32>) -> Result<Var<B>> {
        let y = self.inner.embedding(&table.value, ids)?;
        let ts = self.shape(table);
        let ids = ids.clone();
        Ok(self.unary(y, table, move |b, g| b.embedding_backward(&ids, g, &ts)))
    }

    fn reduce(&self, op: ReduceOp, x: &Var<B>, axis: usize, keep_dim: bool) -> Result<Var<B>> {
        let y = self.inner.reduce(op, &x.value, axis, keep_dim)?;
        let xv = x.value.clone();
        let xs = self.shape(x);
        let len = xs.dims().get(axis).copied().unwrap_or(1);
        Ok(self.unary(y, x, move |b, g| match op {
            ReduceOp::Sum => expand_reduced(b, g, &xs, axis),
            ReduceOp::Mean => b.scale(&expand_reduced(b, g, &xs, axis)?, 1.0 / len as f32),
            ReduceOp::SumSquares => {
                let e = expand_reduced(b, g, &xs, axis)?;
                b.scale(&b.binary(BinaryOp::Mul, &e, &xv)?, 2.0)
            }
            ReduceOp::Max | ReduceOp::Min | ReduceOp::Prod => reduce_grad_host(b, op, &xv, axis, g),
        }))
    }

    fn argmax(&self, x: &Var<B>, axis: usize) -> Result<Tensor<i32>> {
        self.inner.argmax(&x.value, axis)
    }

    fn dropout(&self, x: &Var<B>, p: f32, rng: &mut Rng) -> Result<Var<B>> {
        // The mask is the inner backend's dropout of ones (0 or 1/(1-p) per element, drawn
        // exactly as it draws them), so `x * mask` has the inner backend's bits.
        let ones = self.inner.full(self.shape(x).dims(), 1.0)?;
        let mask = Arc::new(self.inner.dropout(&ones, p, rng)?);
        let y = self.inner.binary(BinaryOp::Mul, &x.value, &mask)?;
        Ok(self.unary(y, x, move |b, g| b.binary(BinaryOp::Mul, g, &mask)))
    }
}

/// `[x, gamma?, beta?]`.
fn norm_inputs<'a, B: Backend>(
    x: &'a Var<B>,
    gamma: Option<&'a Var<B>>,
    beta: Option<&'a Var<B>>,
) -> Vec<&'a Var<B>> {
    let mut v = vec![x];
    v.extend(gamma);
    v.extend(beta);
    v
}

/// Gradients in the order of [`norm_inputs`], keeping only the needed ones.
fn norm_outputs<T>(
    gr: crate::backend::NormGrads<T>,
    has_gamma: bool,
    has_beta: bool,
    needs: &[bool],
) -> Vec<Option<T>> {
    let mut v = vec![Some(gr.input)];
    if has_gamma {
        v.push(gr.gamma);
    }
    if has_beta {
        v.push(gr.beta);
    }
    for (slot, &need) in v.iter_mut().zip(needs) {
        if !need {
            *slot = None;
        }
    }
    v
}
