#![cfg(feature = "train")]
//! Tests of the backward kernels (`born_core::kernels::grad`) and `BackwardOps for Cpu`.
//!
//! Every gradient is checked three ways:
//! 1. against an independent reference written here from the mathematical definition
//!    (plain loops, f64 accumulation), tolerance `1e-4 * (1 + |want|)` (f32 rounding of sums
//!    of at most a few hundred terms of size <= ~10);
//! 2. against a central finite difference of the forward `Backend` op: for each input
//!    element, `(L(x + e) - L(x - e)) / 2e` with `L = sum(grad_out * forward(x))` summed in
//!    f64 and `e = 1e-2` (linear ops) or `1e-3`; tolerance `3e-3 + 1e-2 * |want|`, which a
//!    wrong factor, sign or index misses by far (gradients here are O(0.1..10));
//! 3. fast kernels against their `*_reference` twins: bit-identical where documented, else
//!    `1e-5 * (1 + |want|)` relative to the magnitude of the summed terms.
//!
//! Inputs avoid kinks (ReLU's 0, max-pool ties, Relu6's 6) where finite differences are
//! checked; the kink conventions have their own hand-computed tests.

use born_core::backend::{Backend, BackwardOps, Cpu};
use born_core::kernels::activation::Activation;
use born_core::kernels::conv::Conv2d;
use born_core::kernels::cpu::Isa;
use born_core::kernels::elementwise::BinaryOp;
use born_core::kernels::grad::{activation as gact, conv as gconv, misc, norm as gnorm};
use born_core::kernels::grad::{pool as gpool, softmax as gsm};
use born_core::kernels::pool::Pool2d;
use born_core::{Error, Shape, Tensor};
use proptest::prelude::*;

const CPU: Cpu = Cpu;

fn fill(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(777);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn rand_t(dims: &[usize], seed: u32) -> Tensor<f32> {
    let n = dims.iter().product();
    Tensor::from_vec(fill(n, seed), dims).unwrap()
}

fn assert_close(what: &str, got: &[f32], want: &[f64], rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = rtol * (1.0 + w.abs());
        assert!(
            ((g as f64) - w).abs() <= tol,
            "{what}[{i}]: got {g}, want {w} (tol {tol})"
        );
    }
}

fn assert_close32(what: &str, got: &[f32], want: &[f32], rtol: f64) {
    let w: Vec<f64> = want.iter().map(|&v| v as f64).collect();
    assert_close(what, got, &w, rtol);
}

fn dot(a: &Tensor<f32>, b: &Tensor<f32>) -> f64 {
    a.data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| x as f64 * y as f64)
        .sum()
}

/// Central finite difference of `L(x) = sum(g * f(x))` with respect to every element of `x`,
/// compared with `analytic`.
fn fd_check(
    what: &str,
    x: &Tensor<f32>,
    g: &Tensor<f32>,
    f: impl Fn(&Tensor<f32>) -> Tensor<f32>,
    analytic: &Tensor<f32>,
    eps: f32,
) {
    assert_eq!(x.dims(), analytic.dims(), "{what}: gradient shape");
    for i in 0..x.data().len() {
        let mut xp = x.clone();
        xp.data_mut()[i] += eps;
        let mut xm = x.clone();
        xm.data_mut()[i] -= eps;
        let h = (xp.data()[i] as f64 - xm.data()[i] as f64) / 2.0;
        let num = (dot(g, &f(&xp)) - dot(g, &f(&xm))) / (2.0 * h);
        let a = analytic.data()[i] as f64;
        let tol = 3e-3 + 1e-2 * a.abs();
        assert!(
            (num - a).abs() <= tol,
            "{what}: d/dx[{i}] numeric {num} vs analytic {a}"
        );
    }
}

fn shape(d: &[usize]) -> Shape {
    Shape::new(d).unwrap()
}

// ---------------------------------------------------------------- full, scale, sum_to

#[test]
fn full_and_scale() {
    let t = CPU.full(&[2, 3], 1.5).unwrap();
    assert_eq!(t.dims(), &[2, 3]);
    assert!(t.data().iter().all(|&v| v == 1.5));
    let x = rand_t(&[4, 5], 1);
    let s = CPU.scale(&x, -2.5).unwrap();
    for (a, b) in s.data().iter().zip(x.data()) {
        assert_eq!(*a, b * -2.5);
    }
}

/// Plain definition: out[j] = sum of grad[i] over every i that broadcasting maps to j.
fn sum_to_naive(grad: &Tensor<f32>, target: &[usize]) -> Vec<f64> {
    let gd = grad.dims();
    let off = gd.len() as isize - target.len() as isize;
    let mut out = vec![0.0f64; target.iter().product()];
    for (i, &v) in grad.data().iter().enumerate() {
        // Multi-index of i in grad.
        let mut idx = vec![0usize; gd.len()];
        let mut rem = i;
        for a in (0..gd.len()).rev() {
            idx[a] = rem % gd[a];
            rem /= gd[a];
        }
        let mut o = 0usize;
        for (t, &td) in target.iter().enumerate() {
            let a = t as isize + off;
            let k = if a < 0 || td == 1 { 0 } else { idx[a as usize] };
            o = o * td + k;
        }
        out[o] += v as f64;
    }
    out
}

#[test]
fn sum_to_matches_definition_and_adjoint() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[2, 3, 4], &[2, 3, 4]),
        (&[2, 3, 4], &[4]),
        (&[2, 3, 4], &[3, 1]),
        (&[2, 3, 4], &[2, 1, 4]),
        (&[2, 3, 4], &[1, 3, 1]),
        (&[2, 3, 4], &[]),
        (&[2, 3, 4], &[1, 1, 1, 1]),
        (&[5, 1, 7], &[1, 1, 7]),
        (&[3, 9, 17], &[9, 1]),
        (&[1], &[1]),
        (&[], &[]),
        (&[2, 0, 3], &[3]),
    ];
    for (k, &(gd, td)) in cases.iter().enumerate() {
        let g = rand_t(gd, 10 + k as u32);
        let got = CPU.sum_to(&g, &shape(td)).unwrap();
        assert_eq!(got.dims(), td);
        assert_close(
            &format!("sum_to {gd:?}->{td:?}"),
            got.data(),
            &sum_to_naive(&g, td),
            1e-5,
        );
        let mut r = vec![0.0; got.data().len()];
        misc::sum_to_reference(g.data(), g.shape(), &mut r, &shape(td)).unwrap();
        assert_eq!(r, got.data(), "sum_to fast vs reference bits");
        // Adjoint of broadcasting: <sum_to(g), v> == <g, broadcast(v)>.
        let v = rand_t(td, 99);
        let zeros = Tensor::zeros(gd).unwrap();
        let bv = CPU.binary(BinaryOp::Add, &zeros, &v).unwrap();
        assert_eq!(bv.data().len(), g.data().len());
        let lhs = dot(&got, &v);
        let rhs = dot(&g, &bv);
        assert!(
            (lhs - rhs).abs() <= 1e-4 * (1.0 + rhs.abs()),
            "{lhs} vs {rhs}"
        );
    }
}

#[test]
fn sum_to_rejects_non_broadcastable() {
    let g = rand_t(&[2, 3], 1);
    for td in [&[4][..], &[2, 1, 3], &[3, 3], &[2, 2]] {
        assert!(
            matches!(
                CPU.sum_to(&g, &shape(td)),
                Err(Error::BroadcastMismatch { .. })
            ),
            "{td:?}"
        );
    }
    let mut out = vec![0.0; 2];
    assert!(matches!(
        misc::sum_to(&[1.0; 5], &shape(&[2, 3]), &mut out, &shape(&[1, 3])),
        Err(Error::DimMismatch { .. })
    ));
}

proptest! {
    #[test]
    fn sum_to_random(d0 in 1usize..4, d1 in 1usize..6, d2 in 1usize..18, m in 0u8..8, seed in 0u32..1000) {
        let gd = [d0, d1, d2];
        let td: Vec<usize> = gd.iter().enumerate().map(|(i, &d)| if m & (1 << i) != 0 { 1 } else { d }).collect();
        let g = rand_t(&gd, seed);
        let got = CPU.sum_to(&g, &shape(&td)).unwrap();
        let want = sum_to_naive(&g, &td);
        for (a, b) in got.data().iter().zip(&want) {
            prop_assert!((*a as f64 - b).abs() <= 1e-5 * (1.0 + b.abs()));
        }
    }
}

// ---------------------------------------------------------------- linear

#[test]
fn linear_backward_matches_definition_and_fd() {
    let x = rand_t(&[2, 3, 5], 1);
    let w = rand_t(&[4, 5], 2);
    let b = rand_t(&[4], 3);
    let g = rand_t(&[2, 3, 4], 4);
    let grads = CPU.linear_backward(&x, &w, &g, true).unwrap();
    let rows = 6;
    let (mut gx, mut gw, mut gb) = (vec![0.0f64; 30], vec![0.0f64; 20], vec![0.0f64; 4]);
    for r in 0..rows {
        for o in 0..4 {
            let gv = g.data()[r * 4 + o] as f64;
            gb[o] += gv;
            for i in 0..5 {
                gx[r * 5 + i] += gv * w.data()[o * 5 + i] as f64;
                gw[o * 5 + i] += gv * x.data()[r * 5 + i] as f64;
            }
        }
    }
    assert_close("linear grad x", grads.input.data(), &gx, 1e-5);
    assert_close("linear grad w", grads.weight.data(), &gw, 1e-5);
    assert_close(
        "linear grad b",
        grads.bias.as_ref().unwrap().data(),
        &gb,
        1e-5,
    );
    fd_check(
        "linear x",
        &x,
        &g,
        |t| CPU.linear(t, &w, Some(&b)).unwrap(),
        &grads.input,
        1e-2,
    );
    fd_check(
        "linear w",
        &w,
        &g,
        |t| CPU.linear(&x, t, Some(&b)).unwrap(),
        &grads.weight,
        1e-2,
    );
    let gbt = grads.bias.unwrap();
    fd_check(
        "linear b",
        &b,
        &g,
        |t| CPU.linear(&x, &w, Some(t)).unwrap(),
        &gbt,
        1e-2,
    );
    assert!(CPU
        .linear_backward(&x, &w, &g, false)
        .unwrap()
        .bias
        .is_none());
}

#[test]
fn linear_backward_large_matches_reference() {
    // Large enough for the packed GEMM paths.
    let dims = misc::LinearDims {
        rows: 67,
        inputs: 131,
        outputs: 45,
    };
    let x = fill(67 * 131, 5);
    let w = fill(45 * 131, 6);
    let g = fill(67 * 45, 7);
    let (mut a, mut b, mut c) = (vec![0.0; 67 * 131], vec![0.0; 45 * 131], vec![0.0; 45]);
    let (mut ra, mut rb, mut rc) = (a.clone(), b.clone(), c.clone());
    let mut scratch = vec![0.0; dims.scratch_len()];
    let out = misc::LinearGradsMut {
        input: &mut a,
        weight: &mut b,
        bias: Some(&mut c),
    };
    misc::linear_backward(&dims, &x, &w, &g, out, &mut scratch).unwrap();
    let out = misc::LinearGradsMut {
        input: &mut ra,
        weight: &mut rb,
        bias: Some(&mut rc),
    };
    misc::linear_backward_reference(&dims, &x, &w, &g, out).unwrap();
    assert_close32("linear x", &a, &ra, 1e-4);
    assert_close32("linear w", &b, &rb, 1e-4);
    assert_eq!(c, rc, "bias sums are in the same order");
}

#[test]
fn linear_backward_errors() {
    let x = rand_t(&[3, 5], 1);
    let w = rand_t(&[4, 5], 2);
    let bad_g = rand_t(&[3, 3], 4);
    assert!(matches!(
        CPU.linear_backward(&x, &w, &bad_g, true),
        Err(Error::ShapeMismatch { .. })
    ));
    let g = rand_t(&[3, 4], 4);
    let w3 = rand_t(&[4, 5, 1], 2);
    assert!(matches!(
        CPU.linear_backward(&x, &w3, &g, true),
        Err(Error::DimMismatch { .. })
    ));
    let w6 = rand_t(&[4, 6], 2);
    assert!(matches!(
        CPU.linear_backward(&x, &w6, &g, true),
        Err(Error::DimMismatch { .. })
    ));
    let dims = misc::LinearDims {
        rows: 64,
        inputs: 64,
        outputs: 64,
    };
    if dims.scratch_len() > 0 {
        let (xs, ws, gs) = (vec![0.0; 4096], vec![0.0; 4096], vec![0.0; 4096]);
        let (mut a, mut b) = (vec![0.0; 4096], vec![0.0; 4096]);
        let out = misc::LinearGradsMut {
            input: &mut a,
            weight: &mut b,
            bias: None,
        };
        assert!(matches!(
            misc::linear_backward(&dims, &xs, &ws, &gs, out, &mut []),
            Err(Error::BufferTooSmall { .. })
        ));
    }
}

// ---------------------------------------------------------------- conv2d

#[derive(Clone, Debug)]
struct ConvCase {
    xs: [usize; 4],
    ws: [usize; 4],
    p: Conv2d,
}

fn conv_cases() -> Vec<ConvCase> {
    let p = |stride: [usize; 2], padding: [usize; 4], dilation: [usize; 2], groups: usize| Conv2d {
        stride,
        padding,
        dilation,
        groups,
    };
    vec![
        // Plain 3x3, padding 1, odd sizes.
        ConvCase {
            xs: [2, 3, 7, 6],
            ws: [4, 3, 3, 3],
            p: p([1, 1], [1; 4], [1, 1], 1),
        },
        // Groups, stride 2, asymmetric padding.
        ConvCase {
            xs: [1, 4, 6, 5],
            ws: [6, 2, 3, 3],
            p: p([2, 2], [1, 0, 2, 1], [1, 1], 2),
        },
        // Depthwise with multiplier 2, dilation 2.
        ConvCase {
            xs: [2, 3, 5, 7],
            ws: [6, 1, 3, 3],
            p: p([1, 1], [2; 4], [2, 2], 3),
        },
        // Depthwise multiplier 1, stride 2.
        ConvCase {
            xs: [1, 4, 7, 7],
            ws: [4, 1, 3, 3],
            p: p([2, 2], [1; 4], [1, 1], 4),
        },
        // Mixed stride / dilation, non-square kernel, asymmetric padding.
        ConvCase {
            xs: [1, 2, 9, 8],
            ws: [3, 2, 2, 3],
            p: p([2, 1], [0, 1, 1, 2], [2, 2], 1),
        },
        // Pointwise (no im2col).
        ConvCase {
            xs: [2, 5, 4, 3],
            ws: [7, 5, 1, 1],
            p: p([1, 1], [0; 4], [1, 1], 1),
        },
        // 1x1 with stride 2 (im2col path).
        ConvCase {
            xs: [1, 3, 5, 5],
            ws: [2, 3, 1, 1],
            p: p([2, 2], [0; 4], [1, 1], 1),
        },
        // K < c_out: transposed weight-gradient product.
        ConvCase {
            xs: [2, 1, 6, 6],
            ws: [8, 1, 2, 2],
            p: p([1, 1], [1; 4], [1, 1], 1),
        },
        // Padding larger than the kernel reach in places (rows of im2col all zero).
        ConvCase {
            xs: [1, 2, 3, 4],
            ws: [3, 2, 3, 2],
            p: p([3, 2], [3, 2, 2, 3], [1, 2], 1),
        },
    ]
}

/// The convolution's (output, input, weight) index triples, straight from the definition.
fn conv_pairs(c: &ConvCase) -> Vec<(usize, usize, usize)> {
    let [n, ci, h, w] = c.xs;
    let [o, cg, kh, kw] = c.ws;
    let [oh, ow] = {
        let s = c.p.output_shape(c.xs, c.ws).unwrap();
        [s[2], s[3]]
    };
    let og = o / c.p.groups;
    let [pt, pl, _, _] = c.p.padding;
    let mut v = Vec::new();
    for b in 0..n {
        for oc in 0..o {
            let grp = oc / og;
            for oy in 0..oh {
                for ox in 0..ow {
                    for ic in 0..cg {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * c.p.stride[0] + ky * c.p.dilation[0]) as isize
                                    - pt as isize;
                                let ix = (ox * c.p.stride[1] + kx * c.p.dilation[1]) as isize
                                    - pl as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let cin = grp * cg + ic;
                                let oi = ((b * o + oc) * oh + oy) * ow + ox;
                                let xi = ((b * ci + cin) * h + iy as usize) * w + ix as usize;
                                let wi = ((oc * cg + ic) * kh + ky) * kw + kx;
                                v.push((oi, xi, wi));
                            }
                        }
                    }
                }
            }
        }
    }
    v
}

#[test]
fn conv_backward_matches_definition_and_fd() {
    for (k, c) in conv_cases().into_iter().enumerate() {
        let seed = 100 + 10 * k as u32;
        let x = rand_t(&c.xs, seed);
        let w = rand_t(&c.ws, seed + 1);
        let b = rand_t(&[c.ws[0]], seed + 2);
        let os = c.p.output_shape(c.xs, c.ws).unwrap();
        let g = rand_t(&os, seed + 3);
        let gx = CPU
            .conv2d_backward_input(&w, &g, &shape(&c.xs), &c.p)
            .unwrap();
        let gw = CPU
            .conv2d_backward_weight(&x, &g, &shape(&c.ws), &c.p)
            .unwrap();
        let gb = CPU.conv2d_backward_bias(&g).unwrap();
        let (mut wx, mut ww) = (vec![0.0f64; x.data().len()], vec![0.0f64; w.data().len()]);
        for (oi, xi, wi) in conv_pairs(&c) {
            wx[xi] += g.data()[oi] as f64 * w.data()[wi] as f64;
            ww[wi] += g.data()[oi] as f64 * x.data()[xi] as f64;
        }
        let plane = os[2] * os[3];
        let mut wb = vec![0.0f64; c.ws[0]];
        for (i, &v) in g.data().iter().enumerate() {
            wb[(i / plane) % c.ws[0]] += v as f64;
        }
        assert_close(&format!("case {k} grad x"), gx.data(), &wx, 1e-4);
        assert_close(&format!("case {k} grad w"), gw.data(), &ww, 1e-4);
        assert_close(&format!("case {k} grad b"), gb.data(), &wb, 1e-4);
        // Kernel reference twins.
        let mut rx = vec![0.0; x.data().len()];
        gconv::conv2d_backward_input_reference(&c.p, w.data(), c.ws, g.data(), c.xs, &mut rx)
            .unwrap();
        let mut rw = vec![0.0; w.data().len()];
        gconv::conv2d_backward_weight_reference(&c.p, x.data(), c.xs, g.data(), c.ws, &mut rw)
            .unwrap();
        let mut rb = vec![0.0; c.ws[0]];
        gconv::conv2d_backward_bias_reference(g.data(), os, &mut rb).unwrap();
        assert_close(&format!("case {k} ref x"), &rx, &wx, 1e-4);
        assert_close(&format!("case {k} ref w"), &rw, &ww, 1e-4);
        assert_close(&format!("case {k} ref b"), &rb, &wb, 1e-4);
        // Finite differences of the forward op.
        let fwd = |x: &Tensor<f32>, w: &Tensor<f32>, b: &Tensor<f32>| {
            CPU.conv2d(x, w, Some(b), &c.p).unwrap()
        };
        fd_check(
            &format!("case {k} fd x"),
            &x,
            &g,
            |t| fwd(t, &w, &b),
            &gx,
            1e-2,
        );
        fd_check(
            &format!("case {k} fd w"),
            &w,
            &g,
            |t| fwd(&x, t, &b),
            &gw,
            1e-2,
        );
        fd_check(
            &format!("case {k} fd b"),
            &b,
            &g,
            |t| fwd(&x, &w, t),
            &gb,
            1e-2,
        );
    }
}

#[test]
fn conv_backward_training_shapes_match_reference() {
    // The MNIST CNN's layers (batch 4 to keep the reference quick) and a strided one.
    let cases = [
        ConvCase {
            xs: [4, 1, 28, 28],
            ws: [32, 1, 3, 3],
            p: Conv2d {
                padding: [1; 4],
                ..Conv2d::default()
            },
        },
        ConvCase {
            xs: [4, 32, 14, 14],
            ws: [64, 32, 3, 3],
            p: Conv2d {
                padding: [1; 4],
                ..Conv2d::default()
            },
        },
        ConvCase {
            xs: [3, 16, 15, 15],
            ws: [24, 16, 3, 3],
            p: Conv2d {
                stride: [2, 2],
                padding: [1; 4],
                ..Conv2d::default()
            },
        },
    ];
    for (k, c) in cases.iter().enumerate() {
        let x = fill(c.xs.iter().product(), 7 + k as u32);
        let w = fill(c.ws.iter().product(), 8 + k as u32);
        let os = c.p.output_shape(c.xs, c.ws).unwrap();
        let g = fill(os.iter().product(), 9 + k as u32);
        let mut fx = vec![0.0; x.len()];
        let mut s = vec![0.0; gconv::conv2d_backward_input_scratch_len(&c.p, c.xs, c.ws).unwrap()];
        gconv::conv2d_backward_input(&c.p, &w, c.ws, &g, c.xs, &mut fx, &mut s).unwrap();
        let mut rx = vec![0.0; x.len()];
        gconv::conv2d_backward_input_reference(&c.p, &w, c.ws, &g, c.xs, &mut rx).unwrap();
        assert_close32(&format!("train {k} x"), &fx, &rx, 1e-4);
        let mut fw = vec![0.0; w.len()];
        let mut s = vec![0.0; gconv::conv2d_backward_weight_scratch_len(&c.p, c.xs, c.ws).unwrap()];
        gconv::conv2d_backward_weight(&c.p, &x, c.xs, &g, c.ws, &mut fw, &mut s).unwrap();
        let mut rw = vec![0.0; w.len()];
        gconv::conv2d_backward_weight_reference(&c.p, &x, c.xs, &g, c.ws, &mut rw).unwrap();
        // Sums of up to 4 * 28 * 28 terms of size <= 1.
        assert_close32(&format!("train {k} w"), &fw, &rw, 1e-3);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn conv_backward_random_vs_reference(
        n in 1usize..3, cg in 1usize..4, og in 1usize..4, groups in 1usize..4,
        h in 1usize..9, w in 1usize..9, kh in 1usize..4, kw in 1usize..4,
        sh in 1usize..3, sw in 1usize..3, dh in 1usize..3, dw in 1usize..3,
        pads in proptest::array::uniform4(0usize..3), seed in 0u32..1000,
    ) {
        let p = Conv2d { stride: [sh, sw], padding: pads, dilation: [dh, dw], groups };
        let xs = [n, cg * groups, h, w];
        let ws = [og * groups, cg, kh, kw];
        let Ok(os) = p.output_shape(xs, ws) else { return Ok(()) };
        let x = fill(xs.iter().product(), seed);
        let wt = fill(ws.iter().product(), seed + 1);
        let g = fill(os.iter().product(), seed + 2);
        let c = ConvCase { xs, ws, p };
        let (mut wx, mut ww) = (vec![0.0f64; x.len()], vec![0.0f64; wt.len()]);
        for (oi, xi, wi) in conv_pairs(&c) {
            wx[xi] += g[oi] as f64 * wt[wi] as f64;
            ww[wi] += g[oi] as f64 * x[xi] as f64;
        }
        let mut fx = vec![0.0; x.len()];
        let mut s = vec![0.0; gconv::conv2d_backward_input_scratch_len(&p, xs, ws).unwrap()];
        gconv::conv2d_backward_input(&p, &wt, ws, &g, xs, &mut fx, &mut s).unwrap();
        let mut fw = vec![0.0; wt.len()];
        let mut s = vec![0.0; gconv::conv2d_backward_weight_scratch_len(&p, xs, ws).unwrap()];
        gconv::conv2d_backward_weight(&p, &x, xs, &g, ws, &mut fw, &mut s).unwrap();
        for (a, b) in fx.iter().zip(&wx).chain(fw.iter().zip(&ww)) {
            prop_assert!((*a as f64 - b).abs() <= 1e-4 * (1.0 + b.abs()), "{} vs {}", a, b);
        }
    }
}

#[test]
fn conv_backward_errors() {
    let p = Conv2d {
        padding: [1; 4],
        ..Conv2d::default()
    };
    let w = rand_t(&[4, 3, 3, 3], 1);
    let x = rand_t(&[2, 3, 5, 5], 2);
    let g = rand_t(&[2, 4, 5, 5], 3);
    let bad_g = rand_t(&[2, 4, 4, 5], 3);
    assert!(matches!(
        CPU.conv2d_backward_input(&w, &bad_g, &shape(&[2, 3, 5, 5]), &p),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        CPU.conv2d_backward_weight(&x, &bad_g, &shape(&[4, 3, 3, 3]), &p),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        CPU.conv2d_backward_input(&w, &g, &shape(&[2, 3, 5]), &p),
        Err(Error::DimMismatch { .. })
    ));
    assert!(matches!(
        CPU.conv2d_backward_weight(&x, &g, &shape(&[4, 2, 3, 3]), &p),
        Err(Error::DimMismatch { .. })
    ));
    assert!(matches!(
        CPU.conv2d_backward_bias(&rand_t(&[4, 5], 1)),
        Err(Error::DimMismatch { .. })
    ));
    let bad = Conv2d {
        stride: [0, 1],
        ..p
    };
    assert!(matches!(
        CPU.conv2d_backward_input(&w, &g, &shape(&[2, 3, 5, 5]), &bad),
        Err(Error::InvalidArgument { .. })
    ));
    // Kernel level: short buffers and scratch.
    let (xs, ws) = ([2, 3, 5, 5], [4, 3, 3, 3]);
    let mut gx = vec![0.0; 150];
    assert!(matches!(
        gconv::conv2d_backward_input(&p, w.data(), ws, g.data(), xs, &mut gx, &mut []),
        Err(Error::BufferTooSmall { .. })
    ));
    let mut s = vec![0.0; gconv::conv2d_backward_input_scratch_len(&p, xs, ws).unwrap()];
    assert!(matches!(
        gconv::conv2d_backward_input(&p, w.data(), ws, &g.data()[1..], xs, &mut gx, &mut s),
        Err(Error::DimMismatch { .. })
    ));
    let mut gw = vec![0.0; 107];
    let mut s = vec![0.0; gconv::conv2d_backward_weight_scratch_len(&p, xs, ws).unwrap()];
    assert!(matches!(
        gconv::conv2d_backward_weight(&p, x.data(), xs, g.data(), ws, &mut gw, &mut s),
        Err(Error::DimMismatch { .. })
    ));
    let mut gb = vec![0.0; 3];
    assert!(matches!(
        gconv::conv2d_backward_bias(g.data(), [2, 4, 5, 5], &mut gb),
        Err(Error::DimMismatch { .. })
    ));
}

// ---------------------------------------------------------------- pooling

fn pool(
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 4],
    dilation: [usize; 2],
    ceil_mode: bool,
    count_include_pad: bool,
) -> Pool2d {
    Pool2d {
        kernel,
        stride,
        padding,
        dilation,
        ceil_mode,
        count_include_pad,
    }
}

fn pool_cases() -> Vec<([usize; 4], Pool2d)> {
    vec![
        (
            [2, 3, 6, 6],
            pool([2, 2], [2, 2], [0; 4], [1, 1], false, false),
        ),
        (
            [1, 2, 7, 5],
            pool([2, 2], [2, 2], [0; 4], [1, 1], true, false),
        ),
        (
            [2, 2, 7, 5],
            pool([2, 2], [2, 2], [0; 4], [1, 1], false, false),
        ),
        (
            [1, 2, 7, 6],
            pool([3, 3], [2, 2], [1; 4], [1, 1], false, true),
        ),
        (
            [1, 2, 7, 6],
            pool([3, 3], [2, 2], [1; 4], [1, 1], true, false),
        ),
        (
            [2, 1, 9, 8],
            pool([3, 2], [1, 2], [1, 0, 1, 1], [2, 1], true, true),
        ),
        (
            [1, 1, 8, 9],
            pool([2, 3], [3, 2], [1, 1, 0, 1], [2, 2], false, false),
        ),
        (
            [1, 2, 5, 5],
            pool([3, 3], [1, 1], [1; 4], [1, 1], false, false),
        ),
    ]
}

/// Input positions (plane offset) of window (oy, ox), in row-major tap order, and the
/// divisor of average pooling, from the definition.
fn window_taps(xs: [usize; 4], p: &Pool2d, oy: usize, ox: usize) -> (Vec<usize>, usize) {
    let [_, _, h, w] = xs;
    let [pt, pl, pb, pr] = p.padding;
    let (mut taps, mut padded) = (Vec::new(), 0);
    for ky in 0..p.kernel[0] {
        for kx in 0..p.kernel[1] {
            let py = oy * p.stride[0] + ky * p.dilation[0];
            let px = ox * p.stride[1] + kx * p.dilation[1];
            if py < h + pt + pb && px < w + pl + pr {
                padded += 1;
            }
            if py >= pt && py < pt + h && px >= pl && px < pl + w {
                taps.push((py - pt) * w + px - pl);
            }
        }
    }
    let count = if p.count_include_pad {
        padded
    } else {
        taps.len()
    };
    (taps, count)
}

/// Distinct values spaced by 0.05 in a scrambled order: no ties, no argmax flip within 1e-2.
fn distinct(len: usize, seed: u32) -> Vec<f32> {
    let mut idx: Vec<usize> = (0..len).collect();
    let r = fill(len, seed);
    idx.sort_by(|&a, &b| r[a].partial_cmp(&r[b]).unwrap());
    let mut v = vec![0.0; len];
    for (rank, &i) in idx.iter().enumerate() {
        v[i] = rank as f32 * 0.05 - len as f32 * 0.025;
    }
    v
}

#[test]
fn pool_backward_matches_definition_and_fd() {
    for (k, (xs, p)) in pool_cases().into_iter().enumerate() {
        let x = Tensor::from_vec(distinct(xs.iter().product(), 3 + k as u32), &xs).unwrap();
        let [oh, ow] = p.output_hw(xs[2], xs[3]).unwrap();
        let g = rand_t(&[xs[0], xs[1], oh, ow], 50 + k as u32);
        let (plane_in, plane_out) = (xs[2] * xs[3], oh * ow);
        let mut want_max = vec![0.0f64; x.data().len()];
        let mut want_avg = vec![0.0f64; x.data().len()];
        for pl in 0..xs[0] * xs[1] {
            for oy in 0..oh {
                for ox in 0..ow {
                    let gv = g.data()[pl * plane_out + oy * ow + ox] as f64;
                    let (taps, count) = window_taps(xs, &p, oy, ox);
                    let mut best: Option<usize> = None;
                    for &t in &taps {
                        let v = x.data()[pl * plane_in + t];
                        if best.is_none_or(|b| v > x.data()[pl * plane_in + b]) {
                            best = Some(t);
                        }
                    }
                    if let Some(b) = best {
                        want_max[pl * plane_in + b] += gv;
                    }
                    for &t in &taps {
                        want_avg[pl * plane_in + t] += gv / count as f64;
                    }
                }
            }
        }
        let gm = CPU.max_pool2d_backward(&x, &g, &p).unwrap();
        let ga = CPU.avg_pool2d_backward(&g, x.shape(), &p).unwrap();
        assert_close(&format!("pool {k} max"), gm.data(), &want_max, 1e-5);
        assert_close(&format!("pool {k} avg"), ga.data(), &want_avg, 1e-5);
        let mut r = vec![0.0; x.data().len()];
        gpool::max_pool2d_backward_reference(&p, x.data(), xs, g.data(), &mut r).unwrap();
        assert_eq!(r, gm.data(), "max fast vs reference bits");
        gpool::avg_pool2d_backward_reference(&p, g.data(), xs, &mut r).unwrap();
        assert_eq!(r, ga.data(), "avg fast vs reference bits");
        fd_check(
            &format!("pool {k} max fd"),
            &x,
            &g,
            |t| CPU.max_pool2d(t, &p).unwrap(),
            &gm,
            1e-2,
        );
        fd_check(
            &format!("pool {k} avg fd"),
            &x,
            &g,
            |t| CPU.avg_pool2d(t, &p).unwrap(),
            &ga,
            1e-2,
        );
    }
}

#[test]
fn max_pool_2x2_path_keeps_the_reference_tie_and_nan_rules() {
    // Values from a tiny set with NaN and infinities: many ties inside windows.
    let pick = [
        0.0,
        1.0,
        1.0,
        -1.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1.0,
    ];
    for (h, w) in [(4, 6), (5, 7), (2, 2)] {
        let n = 3 * h * w;
        let r = fill(n, 77);
        let xv: Vec<f32> = r
            .iter()
            .map(|v| pick[(v.abs() * 1000.0) as usize % pick.len()])
            .collect();
        let x = Tensor::from_vec(xv, &[1, 3, h, w]).unwrap();
        let p = pool([2, 2], [2, 2], [0; 4], [1, 1], false, false);
        let g = rand_t(&[1, 3, h / 2, w / 2], 78);
        let fast = CPU.max_pool2d_backward(&x, &g, &p).unwrap();
        let mut want = vec![7.0; n];
        gpool::max_pool2d_backward_reference(&p, x.data(), [1, 3, h, w], g.data(), &mut want)
            .unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(fast.data()), bits(&want), "{h}x{w}");
    }
}

#[test]
fn max_pool_backward_tie_rules() {
    // Ties: the first maximum in window order gets everything.
    let x = Tensor::from_vec(
        vec![1.0, 3.0, 3.0, 0.0, 3.0, 3.0, 2.0, 3.0, 1.0],
        &[1, 1, 3, 3],
    )
    .unwrap();
    let p = pool([2, 2], [1, 1], [0; 4], [1, 1], false, false);
    let g = Tensor::from_vec(vec![1.0, 10.0, 100.0, 1000.0], &[1, 1, 2, 2]).unwrap();
    let gx = CPU.max_pool2d_backward(&x, &g, &p).unwrap();
    // Windows: (0,0) picks x[1]; (0,1) picks x[1]; (1,0) picks x[4]; (1,1) picks x[4].
    assert_eq!(
        gx.data(),
        &[0.0, 11.0, 0.0, 0.0, 1100.0, 0.0, 0.0, 0.0, 0.0]
    );
    // Padding acts as -inf: a window of only -inf input values still picks its first tap.
    let x = Tensor::from_vec(vec![f32::NEG_INFINITY; 4], &[1, 1, 2, 2]).unwrap();
    let p = pool([2, 2], [2, 2], [1, 1, 0, 0], [1, 1], false, false);
    let g = Tensor::full(&[1, 1, 1, 1], 5.0).unwrap();
    assert_eq!(CPU.max_pool2d(&x, &p).unwrap().dims(), &[1, 1, 1, 1]);
    let gx = CPU.max_pool2d_backward(&x, &g, &p).unwrap();
    assert_eq!(gx.data(), &[5.0, 0.0, 0.0, 0.0]);
}

#[test]
fn global_avg_pool_backward() {
    let x = rand_t(&[2, 3, 4, 5], 1);
    let g = rand_t(&[2, 3], 2);
    let gx = CPU.global_avg_pool2d_backward(&g, x.shape()).unwrap();
    let want: Vec<f64> = (0..120).map(|i| g.data()[i / 20] as f64 / 20.0).collect();
    assert_close("gap", gx.data(), &want, 1e-6);
    let mut r = vec![0.0; 120];
    gpool::global_avg_pool2d_backward_reference(g.data(), [2, 3, 4, 5], &mut r).unwrap();
    assert_eq!(r, gx.data());
    fd_check(
        "gap fd",
        &x,
        &g,
        |t| CPU.global_avg_pool2d(t).unwrap(),
        &gx,
        1e-2,
    );
}

#[test]
fn pool_backward_errors() {
    let x = rand_t(&[1, 2, 6, 6], 1);
    let p = Pool2d::new([2, 2]);
    let bad = rand_t(&[1, 2, 3, 2], 2);
    assert!(matches!(
        CPU.max_pool2d_backward(&x, &bad, &p),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        CPU.avg_pool2d_backward(&bad, x.shape(), &p),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        CPU.global_avg_pool2d_backward(&rand_t(&[1, 3], 1), x.shape()),
        Err(Error::ShapeMismatch { .. })
    ));
    let g = rand_t(&[1, 2, 3, 3], 2);
    let bad_pad = Pool2d {
        padding: [2, 0, 0, 0],
        ..p
    };
    assert!(matches!(
        CPU.max_pool2d_backward(&x, &g, &bad_pad),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        CPU.avg_pool2d_backward(&g, &shape(&[2, 6, 6]), &p),
        Err(Error::DimMismatch { .. })
    ));
    let mut out = vec![0.0; 71];
    assert!(matches!(
        gpool::max_pool2d_backward(&p, x.data(), [1, 2, 6, 6], g.data(), &mut out),
        Err(Error::DimMismatch { .. })
    ));
    assert!(matches!(
        gpool::global_avg_pool2d_backward(&[1.0, 2.0], [1, 2, 0, 3], &mut []),
        Err(Error::ZeroDim { .. })
    ));
}

// ---------------------------------------------------------------- activations

const ACTS: [Activation; 11] = [
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
    Activation::Sqrt,
];

/// erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
fn erf64(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    y.copysign(x)
}

/// The derivative from its definition, in f64.
fn deriv(act: Activation, x: f64) -> f64 {
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    match act {
        Activation::Identity => 1.0,
        Activation::Relu => (x > 0.0) as i32 as f64,
        Activation::Relu6 => (x > 0.0 && x < 6.0) as i32 as f64,
        Activation::LeakyRelu(s) => {
            if x > 0.0 {
                1.0
            } else {
                s as f64
            }
        }
        Activation::Sigmoid => sig(x) * (1.0 - sig(x)),
        Activation::Tanh => 1.0 - x.tanh().powi(2),
        Activation::Gelu => {
            0.5 * (1.0 + erf64(x / 2f64.sqrt()))
                + x * (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
        }
        Activation::GeluTanh => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            let u = c * (x + 0.044715 * x.powi(3));
            let t = u.tanh();
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x)
        }
        Activation::Silu => sig(x) * (1.0 + x * (1.0 - sig(x))),
        Activation::Exp => x.exp(),
        Activation::Sqrt => 0.5 / x.sqrt(),
    }
}

fn act_inputs(act: Activation, len: usize, seed: u32) -> Vec<f32> {
    fill(len, seed)
        .into_iter()
        .map(|v| {
            let x = v * 3.5;
            let x = if x.abs() < 0.05 { x + 0.1 } else { x };
            match act {
                Activation::Sqrt => x.abs() + 0.1,
                Activation::Relu6 => x * 2.2,
                _ => x,
            }
        })
        .map(|x| if (x - 6.0).abs() < 0.05 { 6.2 } else { x })
        .collect()
}

#[test]
fn activation_backward_matches_definition_and_fd() {
    for act in ACTS {
        let xv = act_inputs(act, 53, 7);
        let x = Tensor::from_vec(xv.clone(), &[53]).unwrap();
        let y = CPU.activation(act, &x).unwrap();
        let g = rand_t(&[53], 8);
        let gx = CPU.activation_backward(act, &x, &y, &g).unwrap();
        let want: Vec<f64> = xv
            .iter()
            .zip(g.data())
            .map(|(&xi, &gi)| gi as f64 * deriv(act, xi as f64))
            .collect();
        assert_close(&format!("{act:?}"), gx.data(), &want, 2e-5);
        let mut r = vec![0.0; 53];
        gact::activation_backward_reference(act, x.data(), y.data(), g.data(), &mut r).unwrap();
        assert_close(&format!("{act:?} reference"), &r, &want, 2e-5);
        for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
            let mut f = vec![0.0; 53];
            gact::activation_backward_with(isa, act, x.data(), y.data(), g.data(), &mut f).unwrap();
            assert_close32(&format!("{act:?} {isa:?} vs reference"), &f, &r, 1e-5);
        }
        fd_check(
            &format!("{act:?} fd"),
            &x,
            &g,
            |t| CPU.activation(act, t).unwrap(),
            &gx,
            1e-3,
        );
    }
}

#[test]
fn activation_backward_kinks_and_tails() {
    let x = Tensor::from_vec(
        vec![
            0.0,
            -0.0,
            6.0,
            1e-30,
            -1e-30,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ],
        &[7],
    )
    .unwrap();
    let g = Tensor::full(&[7], 2.0).unwrap();
    let gr = |act| {
        let y = CPU.activation(act, &x).unwrap();
        CPU.activation_backward(act, &x, &y, &g).unwrap().into_vec()
    };
    assert_eq!(gr(Activation::Relu)[..5], [0.0, 0.0, 2.0, 2.0, 0.0]);
    assert_eq!(gr(Activation::Relu6)[..5], [0.0, 0.0, 0.0, 2.0, 0.0]);
    assert_eq!(
        gr(Activation::LeakyRelu(0.25))[..5],
        [0.5, 0.5, 2.0, 2.0, 0.5]
    );
    for act in [Activation::Gelu, Activation::GeluTanh, Activation::Silu] {
        let v = gr(act);
        assert_eq!(v[5..], [2.0, 0.0], "{act:?} at +-inf");
        assert!((v[0] - 1.0).abs() < 1e-6, "{act:?} at 0: {}", v[0]);
    }
    let nan = Tensor::from_vec(vec![f32::NAN; 9], &[9]).unwrap();
    let g9 = Tensor::full(&[9], 1.0).unwrap();
    for act in [
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Sigmoid,
    ] {
        let y = CPU.activation(act, &nan).unwrap();
        let d = CPU.activation_backward(act, &nan, &y, &g9).unwrap();
        assert!(d.data().iter().all(|v| v.is_nan()), "{act:?} NaN");
    }
}

#[test]
fn activation_backward_errors() {
    let x = rand_t(&[2, 3], 1);
    let y = rand_t(&[3, 2], 1);
    assert!(matches!(
        CPU.activation_backward(Activation::Relu, &x, &y, &x),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        CPU.activation_backward(Activation::Relu, &x, &x, &y),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut out = vec![0.0; 5];
    assert!(matches!(
        gact::activation_backward(Activation::Tanh, x.data(), x.data(), x.data(), &mut out),
        Err(Error::DimMismatch { .. })
    ));
}

proptest! {
    #[test]
    fn activation_backward_fast_vs_reference(len in 0usize..70, seed in 0u32..1000, k in 0usize..11) {
        let act = ACTS[k];
        let x = act_inputs(act, len, seed);
        let mut y = vec![0.0; len];
        born_core::kernels::activation::activation_reference(act, &x, &mut y).unwrap();
        let g = fill(len, seed + 1);
        let mut r = vec![0.0; len];
        gact::activation_backward_reference(act, &x, &y, &g, &mut r).unwrap();
        for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
            let mut f = vec![0.0; len];
            gact::activation_backward_with(isa, act, &x, &y, &g, &mut f).unwrap();
            for (a, b) in f.iter().zip(&r) {
                prop_assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{:?} {:?}: {} vs {}", act, isa, a, b);
            }
        }
    }
}

// ---------------------------------------------------------------- softmax

/// Softmax Jacobian-vector product from the definition, in f64 (from the forward output).
fn softmax_vjp(y: &[f32], g: &[f32], dims: &[usize], axis: usize, log: bool) -> Vec<f64> {
    let outer: usize = dims[..axis].iter().product();
    let len = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let mut out = vec![0.0; y.len()];
    for o in 0..outer {
        for j in 0..inner {
            let at = |l: usize| (o * len + l) * inner + j;
            for i in 0..len {
                let mut s = 0.0f64;
                for l in 0..len {
                    let kron = (i == l) as i32 as f64;
                    let d = if log {
                        kron - (y[at(i)] as f64).exp()
                    } else {
                        y[at(l)] as f64 * (kron - y[at(i)] as f64)
                    };
                    s += g[at(l)] as f64 * d;
                }
                out[at(i)] = s;
            }
        }
    }
    out
}

#[test]
fn softmax_backward_matches_definition_and_fd() {
    let cases: &[(&[usize], usize)] = &[
        (&[3, 5], 1),
        (&[3, 5], 0),
        (&[2, 4, 3], 1),
        (&[2, 3, 9, 2], 2),
        (&[1, 19], 1),
        (&[4, 2, 11], 2),
        (&[7], 0),
    ];
    for (k, &(dims, axis)) in cases.iter().enumerate() {
        let x = Tensor::from_vec(
            fill(dims.iter().product(), 20 + k as u32)
                .iter()
                .map(|v| v * 3.0)
                .collect(),
            dims,
        )
        .unwrap();
        let g = rand_t(dims, 40 + k as u32);
        for log in [false, true] {
            let (y, gx) = if log {
                let y = CPU.log_softmax(&x, axis).unwrap();
                let gx = CPU.log_softmax_backward(&y, &g, axis).unwrap();
                (y, gx)
            } else {
                let y = CPU.softmax(&x, axis).unwrap();
                let gx = CPU.softmax_backward(&y, &g, axis).unwrap();
                (y, gx)
            };
            let what = format!(
                "{} {dims:?} axis {axis}",
                if log { "log_softmax" } else { "softmax" }
            );
            assert_close(
                &what,
                gx.data(),
                &softmax_vjp(y.data(), g.data(), dims, axis, log),
                1e-5,
            );
            let (outer, len, inner) = (
                dims[..axis].iter().product(),
                dims[axis],
                dims[axis + 1..].iter().product(),
            );
            let mut r = vec![0.0; y.data().len()];
            if log {
                gsm::log_softmax_backward_reference(y.data(), g.data(), &mut r, outer, len, inner)
                    .unwrap();
            } else {
                gsm::softmax_backward_reference(y.data(), g.data(), &mut r, outer, len, inner)
                    .unwrap();
            }
            assert_close32(&format!("{what} reference"), gx.data(), &r, 1e-5);
            let f = |t: &Tensor<f32>| {
                if log {
                    CPU.log_softmax(t, axis).unwrap()
                } else {
                    CPU.softmax(t, axis).unwrap()
                }
            };
            fd_check(&format!("{what} fd"), &x, &g, f, &gx, 1e-3);
        }
    }
}

#[test]
fn softmax_backward_errors() {
    let y = rand_t(&[2, 3], 1);
    assert!(matches!(
        CPU.softmax_backward(&y, &rand_t(&[3, 2], 1), 1),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        CPU.log_softmax_backward(&y, &y, 2),
        Err(Error::AxisOutOfRange { .. })
    ));
    let mut out = vec![0.0; 6];
    assert!(matches!(
        gsm::softmax_backward(y.data(), y.data(), &mut out, 2, 0, 3),
        Err(Error::ZeroDim { .. })
    ));
    assert!(matches!(
        gsm::softmax_backward(y.data(), y.data(), &mut out[..5], 2, 3, 1),
        Err(Error::DimMismatch { .. })
    ));
}

// ---------------------------------------------------------------- norms

/// Layer / RMS norm gradients from the definition in f64: (input, gamma, beta).
fn row_norm_naive(
    x: &[f32],
    g: &[f32],
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
    rms: bool,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = cols as f64;
    let (mut gx, mut gg, mut gb) = (vec![0.0; x.len()], vec![0.0; cols], vec![0.0; cols]);
    for r in 0..x.len() / cols {
        let xr: Vec<f64> = x[r * cols..][..cols].iter().map(|&v| v as f64).collect();
        let gr: Vec<f64> = g[r * cols..][..cols].iter().map(|&v| v as f64).collect();
        let mean = if rms { 0.0 } else { xr.iter().sum::<f64>() / n };
        let var = xr.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let rstd = 1.0 / (var + eps as f64).sqrt();
        let xh: Vec<f64> = xr.iter().map(|v| (v - mean) * rstd).collect();
        let d: Vec<f64> = (0..cols)
            .map(|i| gr[i] * gamma.map_or(1.0, |gm| gm[i] as f64))
            .collect();
        let md = if rms { 0.0 } else { d.iter().sum::<f64>() / n };
        let mdx = (0..cols).map(|i| d[i] * xh[i]).sum::<f64>() / n;
        for i in 0..cols {
            gx[r * cols + i] = rstd * (d[i] - md - xh[i] * mdx);
            gg[i] += gr[i] * xh[i];
            gb[i] += gr[i];
        }
    }
    (gx, gg, gb)
}

#[test]
fn layer_and_rms_norm_backward() {
    for (k, &(rows, cols, eps)) in [
        (3usize, 7usize, 1e-5f32),
        (2, 17, 1e-2),
        (1, 1, 1e-3),
        (4, 8, 0.0),
    ]
    .iter()
    .enumerate()
    {
        let seed = 60 + 5 * k as u32;
        // An offset checks the shifted-mean path; eps 0 with one column would divide by 0.
        let x = Tensor::from_vec(
            fill(rows * cols, seed)
                .iter()
                .map(|v| v * 2.0 + 3.0)
                .collect(),
            &[rows, cols],
        )
        .unwrap();
        let g = rand_t(&[rows, cols], seed + 1);
        let gamma = Tensor::from_vec(
            fill(cols, seed + 2).iter().map(|v| v + 1.5).collect(),
            &[cols],
        )
        .unwrap();
        let beta = rand_t(&[cols], seed + 3);
        if cols == 1 && eps == 0.0 {
            continue;
        }
        for with_gamma in [false, true] {
            let gm = with_gamma.then_some(&gamma);
            // Layer norm.
            let ng = CPU.layer_norm_backward(&x, gm, true, &g, eps).unwrap();
            let (wx, wg, wb) =
                row_norm_naive(x.data(), g.data(), cols, gm.map(|t| t.data()), eps, false);
            let tol = if eps == 0.0 { 1e-3 } else { 2e-4 };
            assert_close("ln x", ng.input.data(), &wx, tol);
            assert_close("ln beta", ng.beta.as_ref().unwrap().data(), &wb, 1e-5);
            assert_eq!(ng.gamma.is_some(), with_gamma);
            if let Some(t) = &ng.gamma {
                assert_close("ln gamma", t.data(), &wg, 1e-4);
            }
            let mut r = vec![0.0; rows * cols];
            let (mut rg, mut rb) = (vec![0.0; cols], vec![0.0; cols]);
            gnorm::layer_norm_backward_reference(
                x.data(),
                g.data(),
                rows,
                cols,
                gm.map(|t| t.data()),
                eps,
                gnorm::RowGrads {
                    input: &mut r,
                    gamma: Some(&mut rg),
                    beta: Some(&mut rb),
                },
            )
            .unwrap();
            assert_close32("ln ref x", ng.input.data(), &r, 1e-4);
            let fl = |t: &Tensor<f32>| CPU.layer_norm(t, gm, Some(&beta), eps).unwrap();
            if eps > 0.0 && cols > 1 {
                fd_check("ln fd x", &x, &g, fl, &ng.input, 1e-3);
                if let Some(t) = &ng.gamma {
                    fd_check(
                        "ln fd gamma",
                        &gamma,
                        &g,
                        |gt| CPU.layer_norm(&x, Some(gt), Some(&beta), eps).unwrap(),
                        t,
                        1e-2,
                    );
                }
                fd_check(
                    "ln fd beta",
                    &beta,
                    &g,
                    |bt| CPU.layer_norm(&x, gm, Some(bt), eps).unwrap(),
                    ng.beta.as_ref().unwrap(),
                    1e-2,
                );
            }
            assert!(CPU
                .layer_norm_backward(&x, gm, false, &g, eps)
                .unwrap()
                .beta
                .is_none());
            // RMS norm.
            let ng = CPU.rms_norm_backward(&x, gm, &g, eps).unwrap();
            let (wx, wg, _) =
                row_norm_naive(x.data(), g.data(), cols, gm.map(|t| t.data()), eps, true);
            assert_close("rms x", ng.input.data(), &wx, 2e-4);
            assert!(ng.beta.is_none());
            if let Some(t) = &ng.gamma {
                assert_close("rms gamma", t.data(), &wg, 1e-4);
                fd_check(
                    "rms fd gamma",
                    &gamma,
                    &g,
                    |gt| CPU.rms_norm(&x, Some(gt), eps).unwrap(),
                    t,
                    1e-2,
                );
            }
            gnorm::rms_norm_backward_reference(
                x.data(),
                g.data(),
                rows,
                cols,
                gm.map(|t| t.data()),
                eps,
                gnorm::RowGrads {
                    input: &mut r,
                    gamma: None,
                    beta: None,
                },
            )
            .unwrap();
            assert_close32("rms ref x", ng.input.data(), &r, 1e-4);
            fd_check(
                "rms fd x",
                &x,
                &g,
                |t| CPU.rms_norm(t, gm, eps).unwrap(),
                &ng.input,
                1e-3,
            );
        }
    }
}

#[test]
fn batch_norm_backward_matches_definition_and_fd() {
    for dims in [&[2usize, 3, 4, 5][..], &[4, 3], &[1, 2, 9]] {
        let c = dims[1];
        let spatial: usize = dims[2..].iter().product();
        let x = rand_t(dims, 1);
        let g = rand_t(dims, 2);
        let mean = rand_t(&[c], 3);
        let var =
            Tensor::from_vec(fill(c, 4).iter().map(|v| v.abs() + 0.2).collect(), &[c]).unwrap();
        let gamma = Tensor::from_vec(fill(c, 5).iter().map(|v| v + 1.5).collect(), &[c]).unwrap();
        let beta = rand_t(&[c], 6);
        let eps = 1e-3;
        for with_gamma in [false, true] {
            let gm = with_gamma.then_some(&gamma);
            let ng = CPU
                .batch_norm_backward(&x, &mean, &var, gm, true, &g, eps)
                .unwrap();
            let (mut wx, mut wg, mut wb) = (
                vec![0.0f64; x.data().len()],
                vec![0.0f64; c],
                vec![0.0f64; c],
            );
            for (i, (&xv, &gv)) in x.data().iter().zip(g.data()).enumerate() {
                let ch = (i / spatial) % c;
                let sd = (var.data()[ch] as f64 + eps as f64).sqrt();
                let s = gm.map_or(1.0, |t| t.data()[ch] as f64);
                wx[i] = gv as f64 * s / sd;
                wg[ch] += gv as f64 * (xv as f64 - mean.data()[ch] as f64) / sd;
                wb[ch] += gv as f64;
            }
            assert_close("bn x", ng.input.data(), &wx, 1e-5);
            assert_close("bn beta", ng.beta.as_ref().unwrap().data(), &wb, 1e-5);
            let mut r = vec![0.0; x.data().len()];
            let (mut rg, mut rb) = (vec![0.0; c], vec![0.0; c]);
            let st = gnorm::BatchNormStats {
                mean: mean.data(),
                var: var.data(),
                gamma: gm.map(|t| t.data()),
                eps,
            };
            gnorm::batch_norm_backward_reference(
                x.data(),
                g.data(),
                [dims[0], c, spatial],
                &st,
                gnorm::RowGrads {
                    input: &mut r,
                    gamma: Some(&mut rg),
                    beta: Some(&mut rb),
                },
            )
            .unwrap();
            assert_close32("bn ref x", ng.input.data(), &r, 1e-5);
            assert_close("bn ref gamma", &rg, &wg, 1e-5);
            let fx = |t: &Tensor<f32>| {
                CPU.batch_norm(t, &mean, &var, gm, Some(&beta), eps)
                    .unwrap()
            };
            fd_check("bn fd x", &x, &g, fx, &ng.input, 1e-2);
            if let Some(t) = &ng.gamma {
                assert_close("bn gamma", t.data(), &wg, 1e-5);
                fd_check(
                    "bn fd gamma",
                    &gamma,
                    &g,
                    |gt| {
                        CPU.batch_norm(&x, &mean, &var, Some(gt), Some(&beta), eps)
                            .unwrap()
                    },
                    t,
                    1e-2,
                );
            }
            fd_check(
                "bn fd beta",
                &beta,
                &g,
                |bt| CPU.batch_norm(&x, &mean, &var, gm, Some(bt), eps).unwrap(),
                ng.beta.as_ref().unwrap(),
                1e-2,
            );
        }
    }
}

#[test]
fn norm_backward_errors() {
    let x = rand_t(&[2, 4], 1);
    let g = rand_t(&[2, 4], 2);
    let gamma3 = rand_t(&[3], 3);
    assert!(matches!(
        CPU.layer_norm_backward(&x, None, true, &rand_t(&[4, 2], 1), 1e-5),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        CPU.layer_norm_backward(&x, Some(&gamma3), true, &g, 1e-5),
        Err(Error::DimMismatch { .. })
    ));
    assert!(matches!(
        CPU.rms_norm_backward(&x, None, &g, -1.0),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        CPU.rms_norm_backward(&x, None, &g, f32::NAN),
        Err(Error::InvalidArgument { .. })
    ));
    let e = Tensor::zeros(&[2, 0]).unwrap();
    assert!(matches!(
        CPU.layer_norm_backward(&e, None, false, &e, 1e-5),
        Err(Error::ZeroDim { .. })
    ));
    let (m, v) = (rand_t(&[3], 1), Tensor::full(&[4], 1.0).unwrap());
    assert!(matches!(
        CPU.batch_norm_backward(&x, &m, &v, None, true, &g, 1e-5),
        Err(Error::DimMismatch { .. })
    ));
    let x3 = rand_t(&[2, 3, 2], 1);
    let (m3, neg) = (rand_t(&[3], 1), Tensor::full(&[3], -1.0).unwrap());
    assert!(matches!(
        CPU.batch_norm_backward(&x3, &m3, &neg, None, true, &x3, 1e-5),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        CPU.batch_norm_backward(
            &rand_t(&[3], 1),
            &m3,
            &m3,
            None,
            true,
            &rand_t(&[3], 1),
            1e-5
        ),
        Err(Error::AxisOutOfRange { .. })
    ));
}

// ---------------------------------------------------------------- embedding

#[test]
fn embedding_backward_accumulates_in_id_order() {
    let ids = Tensor::from_vec(vec![2, 0, 2, 4, 2, 1], &[2, 3]).unwrap();
    let g = rand_t(&[2, 3, 5], 1);
    let gt = CPU.embedding_backward(&ids, &g, &shape(&[6, 5])).unwrap();
    let mut want = vec![0.0f64; 30];
    for (i, &id) in ids.data().iter().enumerate() {
        for j in 0..5 {
            want[id as usize * 5 + j] += g.data()[i * 5 + j] as f64;
        }
    }
    assert_close("embedding", gt.data(), &want, 1e-6);
    assert!(
        gt.data()[15..20].iter().all(|&v| v == 0.0),
        "row 3 is never picked"
    );
    let mut r = vec![0.0; 30];
    misc::embedding_backward_reference(ids.data(), g.data(), 6, 5, &mut r).unwrap();
    assert_eq!(r, gt.data());
    // Adjoint of the lookup (finite difference of a linear op).
    let table = rand_t(&[6, 5], 2);
    fd_check(
        "embedding fd",
        &table,
        &g,
        |t| CPU.embedding(t, &ids).unwrap(),
        &gt,
        1e-2,
    );
}

#[test]
fn embedding_backward_errors() {
    let g = rand_t(&[3, 4], 1);
    for bad in [-1, 5, i32::MIN] {
        let ids = Tensor::from_vec(vec![0, bad, 1], &[3]).unwrap();
        assert!(matches!(
            CPU.embedding_backward(&ids, &g, &shape(&[5, 4])),
            Err(Error::IndexOutOfRange {
                what: "token id",
                len: 5,
                ..
            })
        ));
    }
    let ids = Tensor::from_vec(vec![0, 1, 1], &[3]).unwrap();
    assert!(matches!(
        CPU.embedding_backward(&ids, &g, &shape(&[5, 3])),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        CPU.embedding_backward(&ids, &g, &shape(&[5, 4, 1])),
        Err(Error::DimMismatch { .. })
    ));
}

// ---------------------------------------------------------------- cross-entropy

#[test]
fn cross_entropy_matches_definition_and_fd() {
    let (n, c) = (5, 7);
    let logits = Tensor::from_vec(
        fill(n * c, 3).iter().map(|v| v * 4.0 + 50.0).collect(),
        &[n, c],
    )
    .unwrap();
    let labels = Tensor::from_vec(vec![0, 6, 3, 3, 1], &[n]).unwrap();
    let (loss, grad) = CPU.cross_entropy(&logits, &labels).unwrap();
    assert_eq!(loss.dims(), &[1]);
    let mut want_loss = 0.0f64;
    let mut want_grad = vec![0.0f64; n * c];
    for r in 0..n {
        let row: Vec<f64> = logits.data()[r * c..][..c]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        let label = labels.data()[r] as usize;
        want_loss += (m + s.ln() - row[label]) / n as f64;
        for j in 0..c {
            want_grad[r * c + j] = ((row[j] - m).exp() / s - (j == label) as i32 as f64) / n as f64;
        }
    }
    assert_close("ce loss", loss.data(), &[want_loss], 1e-5);
    assert_close("ce grad", grad.data(), &want_grad, 1e-6);
    let mut r = vec![0.0; n * c];
    let rl = misc::cross_entropy_reference(logits.data(), n, c, labels.data(), &mut r).unwrap();
    assert!((rl - loss.data()[0]).abs() <= 1e-5 * rl.abs());
    assert_close32("ce ref grad", grad.data(), &r, 1e-6);
    let one = Tensor::full(&[1], 1.0).unwrap();
    fd_check(
        "ce fd",
        &logits,
        &one,
        |t| CPU.cross_entropy(t, &labels).unwrap().0,
        &grad,
        1e-2,
    );
}

#[test]
fn cross_entropy_errors() {
    let logits = rand_t(&[3, 4], 1);
    for bad in [4, -1, 100] {
        let labels = Tensor::from_vec(vec![0, bad, 1], &[3]).unwrap();
        assert!(matches!(
            CPU.cross_entropy(&logits, &labels),
            Err(Error::IndexOutOfRange {
                what: "class label",
                len: 4,
                ..
            })
        ));
    }
    let labels = Tensor::from_vec(vec![0, 1], &[2]).unwrap();
    assert!(matches!(
        CPU.cross_entropy(&logits, &labels),
        Err(Error::ShapeMismatch { .. })
    ));
    let empty = Tensor::zeros(&[0, 4]).unwrap();
    let no_labels: Tensor<i32> = Tensor::zeros(&[0]).unwrap();
    assert!(matches!(
        CPU.cross_entropy(&empty, &no_labels),
        Err(Error::ZeroDim { .. })
    ));
    let no_classes = Tensor::zeros(&[2, 0]).unwrap();
    assert!(matches!(
        CPU.cross_entropy(&no_classes, &labels),
        Err(Error::ZeroDim { .. })
    ));
    assert!(matches!(
        CPU.cross_entropy(&rand_t(&[12], 1), &labels),
        Err(Error::DimMismatch { .. })
    ));
}
