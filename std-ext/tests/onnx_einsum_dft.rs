//! The ONNX `Einsum` and `DFT` translations on models built here, converted and run by
//! born, against naive loops written below (einsum sums over every label, a direct
//! O(n^2) DFT in f64), and the nodes the importer refuses with a message naming the cause.

mod common;

use born_std::onnx::proto::{AttributeProto, ModelProto, TensorProto, ValueInfoProto};
use common::onnx::{
    convert_run_output0, convert_run_raw, init_i64, int_attr, le_f32, model_proto, node,
    refusal_message, s, string_attr, value, FLOAT, INT32,
};
use std::f64::consts::TAU;

/// A one-node model at `opset`: `op(node_inputs) -> y`, the graph inputs `inputs` (name and
/// extents) of element type `elem`, and `inits` as initializers.
fn model(
    opset: i64,
    op: &str,
    node_inputs: &[&str],
    attrs: Vec<AttributeProto>,
    elem: i32,
    inputs: &[(&str, &[usize])],
    inits: Vec<TensorProto>,
) -> ModelProto {
    let n = node(op, "n", node_inputs, &["y"], attrs);
    let inputs = inputs
        .iter()
        .map(|(name, dims)| value(name, elem, dims))
        .collect();
    let y = ValueInfoProto {
        name: s("y"),
        ..Default::default()
    };
    model_proto(
        Some("onnx_einsum_dft"),
        opset,
        vec![n],
        inputs,
        vec![y],
        inits,
    )
}

/// The conversion error's message for `m`; fails the test when `m` converts.
fn refusal(m: &ModelProto, inputs: &[Vec<u8>]) -> String {
    refusal_message(convert_run_raw(m, inputs))
}

/// `n` values in [-1, 1) from a fixed linear congruential sequence.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: element count");
    for (j, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "{what}: element {j} is {g}, want {w}"
        );
    }
}

/// Runs the one-node `Einsum` of `equation` on f32 inputs of extents `dims`.
fn einsum(equation: &str, dims: &[&[usize]], xs: &[&[f32]]) -> (Vec<usize>, Vec<f32>) {
    let names = ["a", "b", "c"];
    let inputs: Vec<(&str, &[usize])> = names.iter().copied().zip(dims.iter().copied()).collect();
    let m = model(
        12,
        "Einsum",
        &names[..dims.len()],
        vec![string_attr("equation", equation)],
        FLOAT,
        &inputs,
        vec![],
    );
    convert_run_output0(&m, xs).unwrap()
}

fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}

#[test]
fn einsum_batched_matmul() {
    let (nb, ni, nj, nk) = (3, 2, 4, 5);
    let a = values(nb * ni * nj, 1);
    let b = values(nb * nj * nk, 2);
    let (dims, y) = einsum("bij,bjk->bik", &[&[nb, ni, nj], &[nb, nj, nk]], &[&a, &b]);
    assert_eq!(dims, [nb, ni, nk]);
    let mut want = vec![0f64; nb * ni * nk];
    for bb in 0..nb {
        for i in 0..ni {
            for k in 0..nk {
                for j in 0..nj {
                    want[(bb * ni + i) * nk + k] +=
                        f64::from(a[(bb * ni + i) * nj + j]) * f64::from(b[(bb * nj + j) * nk + k]);
                }
            }
        }
    }
    assert_close(&y, &want, "bij,bjk->bik");
}

#[test]
fn einsum_diagonal_and_total_sum() {
    let n = 4;
    let a = values(n * n, 3);
    let (dims, y) = einsum("ii->i", &[&[n, n]], &[&a]);
    assert_eq!(dims, [n]);
    let diag: Vec<f64> = (0..n).map(|i| f64::from(a[i * n + i])).collect();
    assert_close(&y, &diag, "ii->i");
    // The diagonal only moves elements: it is exact, in integers too.
    let ints: Vec<i32> = (0..(n * n) as i32).map(|v| v * 7 - 40).collect();
    let m = model(
        12,
        "Einsum",
        &["a"],
        vec![string_attr("equation", "ii->i")],
        INT32,
        &[("a", &[n, n])],
        vec![],
    );
    let bytes: Vec<u8> = ints.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (dims, y) = convert_run_raw(&m, &[bytes]).unwrap().swap_remove(0);
    assert_eq!(dims, [n]);
    let want: Vec<u8> = (0..n).flat_map(|i| ints[i * n + i].to_le_bytes()).collect();
    assert_eq!(y, want);
    // A trace (implicit output: a letter seen twice is summed).
    let (dims, y) = einsum("ii", &[&[n, n]], &[&a]);
    assert_eq!(dims, Vec::<usize>::new());
    assert_close(&y, &[diag.iter().sum()], "ii");

    let (r, c) = (3, 5);
    let b = values(r * c, 4);
    let (dims, y) = einsum("ij->", &[&[r, c]], &[&b]);
    assert_eq!(dims, Vec::<usize>::new());
    assert_close(&y, &[f64s(&b).iter().sum()], "ij->");
}

#[test]
fn einsum_broadcast_batch() {
    // a: [2, 1, 3, 4], b: [3, 4, 2]; the batch axes [2, 1] and [3] broadcast to [2, 3].
    let a = values(2 * 3 * 4, 5);
    let b = values(3 * 4 * 2, 6);
    let (dims, y) = einsum(
        "...ij,...jk->...ik",
        &[&[2, 1, 3, 4], &[3, 4, 2]],
        &[&a, &b],
    );
    assert_eq!(dims, [2, 3, 3, 2]);
    let mut want = vec![0f64; 2 * 3 * 3 * 2];
    for p in 0..2 {
        for q in 0..3 {
            for i in 0..3 {
                for k in 0..2 {
                    for j in 0..4 {
                        want[((p * 3 + q) * 3 + i) * 2 + k] +=
                            f64::from(a[(p * 3 + i) * 4 + j]) * f64::from(b[(q * 4 + j) * 2 + k]);
                    }
                }
            }
        }
    }
    assert_close(&y, &want, "...ij,...jk->...ik");
}

#[test]
fn einsum_contraction_with_permuted_output() {
    let (ni, nj, nk, nl) = (2, 3, 4, 5);
    let a = values(ni * nj * nk, 7);
    let b = values(nk * nl, 8);
    let (dims, y) = einsum("ijk,kl->jil", &[&[ni, nj, nk], &[nk, nl]], &[&a, &b]);
    assert_eq!(dims, [nj, ni, nl]);
    let mut want = vec![0f64; nj * ni * nl];
    for i in 0..ni {
        for j in 0..nj {
            for l in 0..nl {
                for k in 0..nk {
                    want[(j * ni + i) * nl + l] +=
                        f64::from(a[(i * nj + j) * nk + k]) * f64::from(b[k * nl + l]);
                }
            }
        }
    }
    assert_close(&y, &want, "ijk,kl->jil");
}

#[test]
fn einsum_implicit_chain_of_three() {
    // "ij,jk,kl" is "ij,jk,kl->il"; "k" leaves once the second operand is folded in.
    let (ni, nj, nk, nl) = (2, 3, 4, 2);
    let a = values(ni * nj, 9);
    let b = values(nj * nk, 10);
    let c = values(nk * nl, 11);
    let (dims, y) = einsum(
        "ij,jk,kl",
        &[&[ni, nj], &[nj, nk], &[nk, nl]],
        &[&a, &b, &c],
    );
    assert_eq!(dims, [ni, nl]);
    let mut want = vec![0f64; ni * nl];
    for i in 0..ni {
        for l in 0..nl {
            for j in 0..nj {
                for k in 0..nk {
                    want[i * nl + l] += f64::from(a[i * nj + j])
                        * f64::from(b[j * nk + k])
                        * f64::from(c[k * nl + l]);
                }
            }
        }
    }
    assert_close(&y, &want, "ij,jk,kl");
}

#[test]
fn einsum_refusals_name_the_cause() {
    let ints = || vec![0u8; 4 * 6];
    let m = |eq: &str, elem: i32| {
        model(
            12,
            "Einsum",
            &["a"],
            vec![string_attr("equation", eq)],
            elem,
            &[("a", &[2, 3])],
            vec![],
        )
    };
    let e = refusal(&m("ij->i", INT32), &[ints()]);
    assert!(e.contains("f32 only"), "{e}");
    let e = refusal(&m("ijk->i", FLOAT), &[ints()]);
    assert!(e.contains("labels 3 axes of a rank-2 input"), "{e}");
    let e = refusal(&m("ij->ik", FLOAT), &[ints()]);
    assert!(e.contains("`k` is in no input term"), "{e}");
    let e = refusal(&m("i.->i", FLOAT), &[ints()]);
    assert!(e.contains("only letters and `...`"), "{e}");
    let e = refusal(&m("ii->i", FLOAT), &[ints()]);
    assert!(e.contains("extents 2 and 3"), "{e}");
}

/// A direct DFT of `x` (complex points) over `n` points (cut or padded with zeros):
/// `sum_t x[t] e^(-+2 pi i k t / n)`, divided by `n` when `inverse`.
fn naive_dft(x: &[(f64, f64)], n: usize, inverse: bool) -> Vec<(f64, f64)> {
    let sign = if inverse { 1.0 } else { -1.0 };
    (0..n)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (t, &(xr, xi)) in x.iter().enumerate().take(n) {
                let a = sign * TAU * (k * t) as f64 / n as f64;
                re += xr * a.cos() - xi * a.sin();
                im += xr * a.sin() + xi * a.cos();
            }
            if inverse {
                (re / n as f64, im / n as f64)
            } else {
                (re, im)
            }
        })
        .collect()
}

/// The real signal of `n` points whose spectrum starts with `x` (zeros past its end) and
/// goes on with the conjugates: the real part of the inverse DFT of that full spectrum.
fn naive_irfft(x: &[(f64, f64)], n: usize) -> Vec<f64> {
    let bin = |f: usize| x.get(f).copied().unwrap_or((0.0, 0.0));
    let full: Vec<(f64, f64)> = (0..n)
        .map(|f| {
            if f <= n / 2 {
                bin(f)
            } else {
                let (r, i) = bin(n - f);
                (r, -i)
            }
        })
        .collect();
    naive_dft(&full, n, true).iter().map(|p| p.0).collect()
}

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for a in (0..dims.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * dims[a + 1];
    }
    s
}

/// A transform of one signal's complex points: the output points and parts per point.
type PerSignal<'a> = dyn Fn(&[(f64, f64)]) -> (Vec<(f64, f64)>, usize) + 'a;

/// Applies `f` to every 1-D signal of `x` (extents `dims`, last axis the parts) along
/// `axis`; `f` maps the complex points to `(points, parts)` of the output. Returns the
/// output's extents and values.
fn along(x: &[f32], dims: &[usize], axis: usize, f: &PerSignal) -> (Vec<usize>, Vec<f64>) {
    let r = dims.len();
    let parts = dims[r - 1];
    let st = strides(dims);
    let others: Vec<usize> = (0..r - 1).filter(|&a| a != axis).collect();
    let count: usize = others.iter().map(|&a| dims[a]).product();
    let mut out_dims: Vec<usize> = dims.to_vec();
    let mut out: Vec<f64> = Vec::new();
    let mut out_st: Vec<usize> = Vec::new();
    for c in 0..count {
        // Position along the other axes (row-major over them).
        let mut rem = c;
        let mut pos = vec![0; r];
        for &a in others.iter().rev() {
            pos[a] = rem % dims[a];
            rem /= dims[a];
        }
        let signal: Vec<(f64, f64)> = (0..dims[axis])
            .map(|t| {
                let base: usize = (0..r - 1)
                    .map(|a| if a == axis { t } else { pos[a] } * st[a])
                    .sum();
                let re = f64::from(x[base]);
                let im = if parts == 2 {
                    f64::from(x[base + 1])
                } else {
                    0.0
                };
                (re, im)
            })
            .collect();
        let (y, out_parts) = f(&signal);
        if out.is_empty() {
            out_dims[axis] = y.len();
            out_dims[r - 1] = out_parts;
            out = vec![0.0; out_dims.iter().product()];
            out_st = strides(&out_dims);
        }
        for (k, &(re, im)) in y.iter().enumerate() {
            let base: usize = (0..r - 1)
                .map(|a| if a == axis { k } else { pos[a] } * out_st[a])
                .sum();
            out[base] = re;
            if out_parts == 2 {
                out[base + 1] = im;
            }
        }
    }
    (out_dims, out)
}

/// A one-node `DFT` model of an f32 signal of extents `dims`: at opset 20 `axis` is an
/// input, at 17 an attribute; `dft_length` is a known input when given.
fn dft_model(
    opset: i64,
    dims: &[usize],
    axis: i64,
    dft_length: Option<i64>,
    inverse: bool,
    onesided: bool,
) -> ModelProto {
    let mut attrs = vec![
        int_attr("inverse", i64::from(inverse)),
        int_attr("onesided", i64::from(onesided)),
    ];
    let mut inits = vec![];
    let mut node_inputs = vec!["x", ""];
    if let Some(n) = dft_length {
        node_inputs[1] = "len";
        inits.push(init_i64("len", &[], &[n]));
    }
    if opset >= 20 {
        node_inputs.push("axis");
        inits.push(init_i64("axis", &[], &[axis]));
    } else {
        attrs.push(int_attr("axis", axis));
    }
    model(
        opset,
        "DFT",
        &node_inputs,
        attrs,
        FLOAT,
        &[("x", dims)],
        inits,
    )
}

#[test]
fn dft_of_a_real_signal_full_onesided_padded_and_cut() {
    let dims = [2, 7, 1];
    let x = values(14, 12);
    for (opset, axis) in [(20, -2), (17, 1)] {
        for (length, onesided) in [
            (None, false),
            (None, true),
            (Some(9), false),
            (Some(4), true),
        ] {
            let n = length.unwrap_or(7) as usize;
            let keep = if onesided { n / 2 + 1 } else { n };
            let m = dft_model(opset, &dims, axis, length, false, onesided);
            let (got_dims, got) = convert_run_output0(&m, &[&x]).unwrap();
            let (want_dims, want) = along(&x, &dims, 1, &|s| {
                let mut y = naive_dft(s, n, false);
                y.truncate(keep);
                (y, 2)
            });
            assert_eq!(got_dims, want_dims, "opset {opset} length {length:?}");
            assert_eq!(got_dims, [2, keep, 2]);
            assert_close(&got, &want, &format!("opset {opset} {length:?} {onesided}"));
        }
    }
}

#[test]
fn dft_of_a_complex_signal_on_an_inner_axis_and_back() {
    // [batch 2, 5 points, 3 columns, re/im], transformed along axis 1.
    let dims = [2, 5, 3, 2];
    let x = values(2 * 5 * 3 * 2, 13);
    let m = dft_model(20, &dims, 1, None, false, false);
    let (got_dims, spectrum) = convert_run_output0(&m, &[&x]).unwrap();
    let (want_dims, want) = along(&x, &dims, 1, &|s| (naive_dft(s, 5, false), 2));
    assert_eq!(got_dims, want_dims);
    assert_close(&spectrum, &want, "forward");
    // The inverse gives the signal back, and matches the naive inverse on any input.
    let m = dft_model(17, &dims, 1, None, true, false);
    let (got_dims, back) = convert_run_output0(&m, &[&spectrum]).unwrap();
    assert_eq!(got_dims, dims);
    assert_close(&back, &f64s(&x), "round trip");
    let (_, want) = along(&x, &dims, 1, &|s| (naive_dft(s, 5, true), 2));
    let (_, got) = convert_run_output0(&m, &[&x]).unwrap();
    assert_close(&got, &want, "inverse");
    // Along axis 2 (negative at opset 20: -2 counts the parts axis last) over 4 points.
    let m = dft_model(20, &dims, -2, Some(4), false, false);
    let (got_dims, got) = convert_run_output0(&m, &[&x]).unwrap();
    let (want_dims, want) = along(&x, &dims, 2, &|s| (naive_dft(s, 4, false), 2));
    assert_eq!(got_dims, want_dims);
    assert_eq!(got_dims, [2, 5, 4, 2]);
    assert_close(&got, &want, "axis 2, 4 points");
}

#[test]
fn inverse_onesided_dft_is_a_real_signal() {
    // 4 bins of a one-sided spectrum: n = 2 (4 - 1) = 6 real points by default, 7 given.
    let dims = [3, 4, 2];
    let x = values(3 * 4 * 2, 14);
    for (length, n) in [(None, 6), (Some(7), 7), (Some(4), 4)] {
        let m = dft_model(20, &dims, 1, length, true, true);
        let (got_dims, got) = convert_run_output0(&m, &[&x]).unwrap();
        let (want_dims, want) = along(&x, &dims, 1, &|s| {
            let y = naive_irfft(s, n);
            (y.into_iter().map(|v| (v, 0.0)).collect(), 1)
        });
        assert_eq!(got_dims, want_dims);
        assert_eq!(got_dims, [3, n, 1]);
        assert_close(&got, &want, &format!("irfft n = {n}"));
    }
    // A real signal's one-sided spectrum gives the signal back.
    let signal = values(3 * 6, 15);
    let m = dft_model(20, &[3, 6, 1], 1, None, false, true);
    let (_, spectrum) = convert_run_output0(&m, &[&signal]).unwrap();
    let m = dft_model(20, &[3, 4, 2], 1, None, true, true);
    let (got_dims, back) = convert_run_output0(&m, &[&spectrum]).unwrap();
    assert_eq!(got_dims, [3, 6, 1]);
    assert_close(&back, &f64s(&signal), "rfft round trip");
}

#[test]
fn dft_refusals_name_the_cause() {
    let x = vec![le_f32(&values(2 * 3 * 2, 16))];
    let e = refusal(&dft_model(20, &[2, 3, 2], -1, None, false, false), &x);
    assert!(e.contains("is not a signal axis"), "{e}");
    let e = refusal(&dft_model(20, &[2, 3, 2], 1, Some(0), false, false), &x);
    assert!(e.contains("must be positive"), "{e}");
    let x3 = vec![le_f32(&values(2 * 3 * 3, 17))];
    let e = refusal(&dft_model(20, &[2, 3, 3], 1, None, false, false), &x3);
    assert!(e.contains("must be [.., length, 1 or 2]"), "{e}");
    let mut m = dft_model(20, &[2, 3, 2], 1, None, false, false);
    let g = m.graph.as_mut().unwrap();
    g.input[0] = value("x", INT32, &[2, 3, 2]);
    let e = refusal(&m, &[vec![0u8; 48]]);
    assert!(e.contains("f32 only"), "{e}");
}
