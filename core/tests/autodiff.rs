//! Finite-difference checks of every gradient the autodiff backend records.
//!
//! Each check builds `L = sum(op(inputs) * W)` with a fixed random `W` (so every output
//! element's gradient differs), takes `dL/dinput` from `Autodiff::backward`, and compares it
//! with central differences `(L(x + h) - L(x - h)) / 2h` of the same forward op evaluated
//! without recording. Inputs stay away from kinks (ReLU at 0, max-pool ties).
#![cfg(feature = "train")]

use born_core::backend::{Backend, Cpu};
use born_core::kernels::activation::Activation;
use born_core::kernels::conv::Conv2d as ConvParams;
use born_core::kernels::elementwise::BinaryOp;
use born_core::kernels::pool::Pool2d;
use born_core::kernels::reduce::ReduceOp;
use born_core::nn::{self, Module};
use born_core::train::{loss, Autodiff, Var};
use born_core::{Error, Result, Rng, Tensor};

type Ad = Autodiff<Cpu>;

fn ad() -> Ad {
    Autodiff::new(Cpu)
}

/// `sum(y * w)` as a `[1]` tensor.
fn weighted_sum(b: &Ad, y: &Var<Cpu>, w: &Tensor<f32>) -> Result<Var<Cpu>> {
    let n = b.shape(y).numel();
    let wv = b.constant(&w.clone().reshape(b.shape(y).dims())?)?;
    let p = b.binary(BinaryOp::Mul, y, &wv)?;
    b.reduce(ReduceOp::Sum, &b.reshape(&p, &[n])?, 0, true)
}

/// Checks the gradients of `f` with respect to each of `inputs` against central differences
/// with step `h`; `tol` is relative to `max(1, |numeric|)`.
fn check<F>(name: &str, inputs: &[Tensor<f32>], h: f32, tol: f32, f: F)
where
    F: Fn(&Ad, &[Var<Cpu>]) -> Result<Var<Cpu>>,
{
    let b = ad();
    let leaves: Vec<Var<Cpu>> = inputs.iter().map(|t| b.to_device(t).unwrap()).collect();
    let y = f(&b, &leaves).unwrap();
    let mut rng = Rng::seed(99);
    let w = Tensor::uniform(b.shape(&y).dims(), -1.0, 1.0, &mut rng).unwrap();
    let l = weighted_sum(&b, &y, &w).unwrap();
    let grads = b.backward(&l).unwrap();
    let eval = b.no_grad();
    let loss_at = |xs: &[Tensor<f32>]| -> f64 {
        let vs: Vec<Var<Cpu>> = xs.iter().map(|t| eval.constant(t).unwrap()).collect();
        let y = f(&eval, &vs).unwrap();
        let l = weighted_sum(&eval, &y, &w).unwrap();
        l.value().data()[0] as f64
    };
    for (k, leaf) in leaves.iter().enumerate() {
        let g = grads
            .get(leaf)
            .unwrap_or_else(|| panic!("{name}: no gradient for input {k}"));
        assert_eq!(
            g.dims(),
            inputs[k].dims(),
            "{name}: gradient shape of input {k}"
        );
        let mut worst = 0.0f32;
        for i in 0..inputs[k].data().len() {
            let mut plus = inputs.to_vec();
            plus[k].data_mut()[i] += h;
            let mut minus = inputs.to_vec();
            minus[k].data_mut()[i] -= h;
            let numeric = ((loss_at(&plus) - loss_at(&minus)) / (2.0 * h as f64)) as f32;
            let analytic = g.data()[i];
            let err = (analytic - numeric).abs() / numeric.abs().max(1.0);
            worst = worst.max(err);
            assert!(
                err <= tol,
                "{name}: input {k} element {i}: autodiff {analytic}, finite difference {numeric}"
            );
        }
        assert!(worst.is_finite(), "{name}");
    }
}

fn randn(dims: &[usize], seed: u64) -> Tensor<f32> {
    Tensor::randn(dims, &mut Rng::seed(seed)).unwrap()
}

/// Values in `±[lo, hi]` with random signs: away from zero (ReLU's kink).
fn away_from_zero(dims: &[usize], seed: u64, lo: f32, hi: f32) -> Tensor<f32> {
    let mut rng = Rng::seed(seed);
    let mut t = Tensor::zeros(dims).unwrap();
    for v in t.data_mut() {
        let m = rng.uniform(lo, hi);
        *v = if rng.next_f32() < 0.5 { -m } else { m };
    }
    t
}

/// Distinct values (a shuffled ramp): no ties for max-pool or max-reduce.
fn distinct(dims: &[usize], seed: u64) -> Tensor<f32> {
    let n: usize = dims.iter().product();
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.37 - n as f32 * 0.15).collect();
    Rng::seed(seed).shuffle(&mut v);
    Tensor::from_vec(v, dims).unwrap()
}

const H: f32 = 1e-2;
const TOL: f32 = 2e-2;

#[test]
fn reshape_and_permute() {
    check("reshape", &[randn(&[2, 6], 1)], H, TOL, |b, x| {
        b.reshape(&x[0], &[3, 4])
    });
    check("permute", &[randn(&[2, 3, 4], 2)], H, TOL, |b, x| {
        b.permute(&x[0], &[2, 0, 1])
    });
}

#[test]
fn matmul_with_broadcast_batches() {
    check(
        "matmul",
        &[randn(&[2, 3, 4], 3), randn(&[4, 5], 4)],
        H,
        TOL,
        |b, x| b.matmul(&x[0], &x[1]),
    );
    check(
        "matmul batch broadcast",
        &[randn(&[1, 2, 3], 5), randn(&[3, 3, 2], 6)],
        H,
        TOL,
        |b, x| b.matmul(&x[0], &x[1]),
    );
}

#[test]
fn linear_with_and_without_bias() {
    check(
        "linear",
        &[randn(&[2, 3, 5], 7), randn(&[4, 5], 8), randn(&[4], 9)],
        H,
        TOL,
        |b, x| b.linear(&x[0], &x[1], Some(&x[2])),
    );
    check(
        "linear no bias",
        &[randn(&[3, 5], 10), randn(&[2, 5], 11)],
        H,
        TOL,
        |b, x| b.linear(&x[0], &x[1], None),
    );
}

#[test]
fn conv2d_all_parameters() {
    let cases = [
        ([1, 2, 5, 5], [3, 2, 3, 3], ConvParams::default()),
        (
            [2, 2, 7, 6],
            [4, 2, 3, 2],
            ConvParams {
                stride: [2, 1],
                padding: [1, 0, 2, 1],
                dilation: [1, 2],
                groups: 1,
            },
        ),
        (
            [1, 4, 6, 6],
            [6, 2, 3, 3],
            ConvParams {
                stride: [1, 2],
                padding: [1, 1, 1, 1],
                dilation: [2, 1],
                groups: 2,
            },
        ),
        (
            // depthwise with multiplier 2
            [2, 3, 5, 5],
            [6, 1, 3, 3],
            ConvParams {
                padding: [1, 1, 1, 1],
                groups: 3,
                ..ConvParams::default()
            },
        ),
    ];
    for (i, (xs, ws, p)) in cases.into_iter().enumerate() {
        let o = ws[0];
        let inputs = [
            randn(&xs, 20 + i as u64),
            randn(&ws, 30 + i as u64),
            randn(&[o], 40),
        ];
        check(&format!("conv2d case {i}"), &inputs, H, TOL, move |b, x| {
            b.conv2d(&x[0], &x[1], Some(&x[2]), &p)
        });
    }
}

#[test]
fn pooling() {
    let mut p = Pool2d::new([3, 3]);
    p.stride = [2, 2];
    p.padding = [1, 1, 1, 1];
    check(
        "max_pool2d",
        &[distinct(&[2, 2, 7, 6], 1)],
        H,
        TOL,
        move |b, x| b.max_pool2d(&x[0], &p),
    );
    check(
        "max_pool2d 2x2",
        &[distinct(&[1, 3, 6, 6], 2)],
        H,
        TOL,
        |b, x| b.max_pool2d(&x[0], &Pool2d::new([2, 2])),
    );
    for include in [false, true] {
        let mut p = Pool2d::new([3, 2]);
        p.stride = [2, 1];
        p.padding = [1, 1, 1, 0];
        p.ceil_mode = true;
        p.count_include_pad = include;
        check(
            "avg_pool2d",
            &[randn(&[2, 2, 7, 5], 3)],
            H,
            TOL,
            move |b, x| b.avg_pool2d(&x[0], &p),
        );
    }
    check(
        "global_avg_pool2d",
        &[randn(&[2, 3, 4, 5], 4)],
        H,
        TOL,
        |b, x| b.global_avg_pool2d(&x[0]),
    );
}

#[test]
fn binary_ops_with_broadcasting() {
    for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
        let a = randn(&[2, 3, 4], 5);
        // Keep divisors away from zero.
        let d = away_from_zero(&[3, 1], 6, 0.5, 2.0);
        check(&format!("{op:?}"), &[a, d], H, TOL, move |b, x| {
            b.binary(op, &x[0], &x[1])
        });
    }
    for op in [BinaryOp::Max, BinaryOp::Min] {
        let a = distinct(&[2, 3], 7);
        let mut c = distinct(&[2, 3], 8);
        for v in c.data_mut() {
            *v += 0.05; // no ties with `a`
        }
        check(&format!("{op:?}"), &[a, c], H, TOL, move |b, x| {
            b.binary(op, &x[0], &x[1])
        });
    }
    let base = Tensor::uniform(&[2, 3], 0.5, 2.0, &mut Rng::seed(9)).unwrap();
    let expo = Tensor::uniform(&[3], -1.5, 2.5, &mut Rng::seed(10)).unwrap();
    check("Pow", &[base, expo], 1e-3, TOL, |b, x| {
        b.binary(BinaryOp::Pow, &x[0], &x[1])
    });
}

#[test]
fn activations() {
    let acts = [
        Activation::Identity,
        Activation::Relu,
        Activation::Relu6,
        Activation::LeakyRelu(0.1),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Exp,
    ];
    for act in acts {
        // Away from 0 and from ReLU6's 6.
        let x = away_from_zero(&[3, 7], 11, 0.1, 3.0);
        check(&format!("{act:?}"), &[x], 1e-3, TOL, move |b, x| {
            b.activation(act, &x[0])
        });
    }
    let mut big = away_from_zero(&[10], 12, 5.0, 8.0);
    big.data_mut()[0] = 6.5; // above ReLU6's clamp: zero gradient
    check("Relu6 clamp", &[big], 1e-3, TOL, |b, x| {
        b.activation(Activation::Relu6, &x[0])
    });
    let pos = Tensor::uniform(&[9], 0.5, 4.0, &mut Rng::seed(13)).unwrap();
    check("Sqrt", &[pos], 1e-3, TOL, |b, x| {
        b.activation(Activation::Sqrt, &x[0])
    });
}

#[test]
fn softmax_and_log_softmax_on_every_axis() {
    for axis in 0..3 {
        check("softmax", &[randn(&[2, 3, 4], 14)], H, TOL, move |b, x| {
            b.softmax(&x[0], axis)
        });
        check(
            "log_softmax",
            &[randn(&[2, 3, 4], 15)],
            H,
            TOL,
            move |b, x| b.log_softmax(&x[0], axis),
        );
    }
}

#[test]
fn norms() {
    check(
        "layer_norm",
        &[randn(&[3, 6], 16), randn(&[6], 17), randn(&[6], 18)],
        H,
        TOL,
        |b, x| b.layer_norm(&x[0], Some(&x[1]), Some(&x[2]), 1e-5),
    );
    check(
        "layer_norm plain",
        &[randn(&[2, 2, 5], 19)],
        H,
        TOL,
        |b, x| b.layer_norm(&x[0], None, None, 1e-5),
    );
    check(
        "rms_norm",
        &[randn(&[4, 5], 20), randn(&[5], 21)],
        H,
        TOL,
        |b, x| b.rms_norm(&x[0], Some(&x[1]), 1e-6),
    );
    let mean = randn(&[3], 22);
    let var = Tensor::uniform(&[3], 0.5, 2.0, &mut Rng::seed(23)).unwrap();
    check(
        "batch_norm",
        &[randn(&[2, 3, 2, 2], 24), randn(&[3], 25), randn(&[3], 26)],
        H,
        TOL,
        move |b, x| {
            let (m, v) = (b.constant(&mean)?, b.constant(&var)?);
            b.batch_norm(&x[0], &m, &v, Some(&x[1]), Some(&x[2]), 1e-5)
        },
    );
}

#[test]
fn embedding_accumulates_repeated_rows() {
    let ids = Tensor::from_vec(vec![3, 0, 3, 1, 3, 4], &[2, 3]).unwrap();
    check("embedding", &[randn(&[5, 4], 27)], H, TOL, move |b, x| {
        b.embedding(&x[0], &ids)
    });
}

#[test]
fn reductions() {
    for op in [
        ReduceOp::Sum,
        ReduceOp::Mean,
        ReduceOp::SumSquares,
        ReduceOp::Prod,
    ] {
        for axis in 0..3 {
            let x = away_from_zero(&[2, 3, 4], 28, 0.5, 1.5);
            check(
                &format!("{op:?} axis {axis}"),
                &[x],
                1e-3,
                TOL,
                move |b, x| b.reduce(op, &x[0], axis, axis == 1),
            );
        }
    }
    for op in [ReduceOp::Max, ReduceOp::Min] {
        check(
            &format!("{op:?}"),
            &[distinct(&[3, 4, 2], 29)],
            H,
            TOL,
            move |b, x| b.reduce(op, &x[0], 1, false),
        );
    }
}

#[test]
fn dropout_gradient_is_its_mask() {
    // The same seed draws the same mask in the gradient pass and the finite differences.
    check("dropout", &[randn(&[4, 8], 30)], H, TOL, |b, x| {
        b.dropout(&x[0], 0.3, &mut Rng::seed(5))
    });
}

#[test]
fn losses() {
    let labels = Tensor::from_vec(vec![2, 0, 1, 2], &[4]).unwrap();
    check(
        "cross_entropy",
        &[randn(&[4, 3], 31)],
        H,
        TOL,
        move |b, x| loss::cross_entropy(b, &x[0], &labels),
    );
    check(
        "mse",
        &[randn(&[3, 4], 32), randn(&[3, 4], 33)],
        H,
        TOL,
        |b, x| loss::mse(b, &x[0], &x[1]),
    );
}

#[test]
fn cross_entropy_matches_hand_computed_value() {
    // logits [[0, ln 3]]: softmax = [1/4, 3/4]; label 0 -> loss ln 4.
    let b = ad();
    let logits = b
        .to_device(&Tensor::from_vec(vec![0.0, 3.0f32.ln()], &[1, 2]).unwrap())
        .unwrap();
    let labels = Tensor::from_vec(vec![0], &[1]).unwrap();
    let l = loss::cross_entropy(&b, &logits, &labels).unwrap();
    assert!((l.value().data()[0] - 4.0f32.ln()).abs() < 1e-6);
    let g = b.backward(&l).unwrap();
    let g = g.get(&logits).unwrap().data().to_vec();
    assert!(
        (g[0] - (0.25 - 1.0)).abs() < 1e-6 && (g[1] - 0.75).abs() < 1e-6,
        "{g:?}"
    );
}

#[test]
fn whole_modules_cnn_and_mlp() {
    let b = ad();
    let mut rng = Rng::seed(3);
    let cnn = nn::Sequential::new()
        .push(nn::Conv2d::new(1, 3, 3, &b, &mut rng).unwrap().padding(1))
        .push(nn::Tanh)
        .push(nn::MaxPool2d::new(2))
        .push(nn::Flatten)
        .push(nn::LayerNorm::new(12, 1e-5, &b).unwrap())
        .push(nn::Linear::new(12, 4, &b, &mut rng).unwrap());
    let x = b.constant(&distinct(&[2, 1, 4, 4], 34)).unwrap();
    let labels = Tensor::from_vec(vec![1, 3], &[2]).unwrap();
    let loss_of = |m: &nn::Sequential<Ad>, be: &Ad| {
        let y = m.forward(be, &x).unwrap();
        loss::cross_entropy(be, &y, &labels).unwrap()
    };
    let l = loss_of(&cnn, &b);
    let grads = b.backward(&l).unwrap();
    let analytic = born_core::train::param_grads(&cnn, &grads);
    let eval = b.no_grad();
    let h = 1e-3f32;
    let mut k = 0;
    let mut names = Vec::new();
    cnn.visit_params(&mut |n, _| names.push(n.to_string()));
    assert_eq!(
        names,
        ["0.weight", "0.bias", "4.weight", "4.bias", "5.weight", "5.bias"]
    );
    for (pi, g) in analytic.iter().enumerate() {
        let g = g.as_ref().expect("every parameter has a gradient");
        for i in 0..g.data().len() {
            let at = |delta: f32| {
                let mut m = nn::Sequential::new()
                    .push(
                        nn::Conv2d::new(1, 3, 3, &b, &mut Rng::seed(3))
                            .unwrap()
                            .padding(1),
                    )
                    .push(nn::Tanh)
                    .push(nn::MaxPool2d::new(2))
                    .push(nn::Flatten)
                    .push(nn::LayerNorm::new(12, 1e-5, &b).unwrap())
                    .push(nn::Linear::new(12, 4, &b, &mut Rng::seed(3)).unwrap());
                // Same parameter values as `cnn`, one element moved.
                let mut src = Vec::new();
                cnn.visit_params(&mut |_, p| src.push(p.value().clone()));
                let mut j = 0;
                m.visit_params_mut(&mut |_, p| {
                    *p.value_mut() = src[j].clone();
                    if j == pi {
                        p.value_mut().data_mut()[i] += delta;
                    }
                    j += 1;
                });
                loss_of(&m, &eval).value().data()[0]
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            let err = (g.data()[i] - numeric).abs() / numeric.abs().max(1.0);
            assert!(
                err < TOL,
                "param {pi} element {i}: {} vs {numeric}",
                g.data()[i]
            );
            k += 1;
        }
    }
    assert_eq!(k, 3 * 9 + 3 + 12 + 12 + 48 + 4);
}

#[test]
fn no_grad_records_nothing_and_backward_says_why() {
    let b = ad();
    let eval = b.no_grad();
    let w = b.to_device(&randn(&[2, 2], 1)).unwrap();
    let x = eval.constant(&randn(&[1, 2], 2)).unwrap();
    let y = eval.linear(&x, &w, None).unwrap();
    assert!(!y.requires_grad());
    match b.backward(&y) {
        Err(Error::InvalidArgument { op: "backward", .. }) => {}
        other => panic!("{other:?}"),
    }
    // Constants get no gradient even when recording.
    let y = b.linear(&x, &w, None).unwrap();
    let g = b.backward(&y).unwrap();
    assert!(g.get(&w).is_some() && g.get(&x).is_none() && g.len() == 1);
}

#[test]
fn shared_subexpressions_accumulate() {
    // y = x * x + x: dy/dx = 2x + 1 (x used three times).
    let b = ad();
    let x = b
        .to_device(&Tensor::from_vec(vec![1.5, -2.0], &[2]).unwrap())
        .unwrap();
    let sq = b.binary(BinaryOp::Mul, &x, &x).unwrap();
    let y = b.binary(BinaryOp::Add, &sq, &x).unwrap();
    let g = b.backward(&y).unwrap();
    assert_eq!(g.get(&x).unwrap().data(), &[4.0, -3.0]);
}
