//! The math ops (MatMul, Gemm, Unary, Compare, Logical, Not, Reduce, ArgMax, ArgMin) run
//! through a graph: built, encoded, loaded and invoked, their outputs checked against NumPy
//! (scripts/fixtures/ops_math.py) or hand-computed values; and their op records corrupted
//! (`common::with_op`, `common::with_tensor`) to check that the loader refuses each with the
//! specific `ModelError`.
//!
//! Tolerances against NumPy's float64 results: `4 * (n + 1) * f32::EPSILON * sum(|term|)`,
//! `n` being the number of terms of one output (exact for max, min, argmax and argmin).

#![cfg(feature = "alloc")]

mod common;

use born_core::kernels::compare::{CompareOp, LogicOp};
use born_core::kernels::reduce::ReduceOp;
use born_core::kernels::unary::UnaryOp;
use born_core::model::format::{Dims, ABSENT};
use born_core::model::graph::{encode_attrs, AlignedBytes, Graph};
use born_core::ops::arg_max::{ArgAttrs, ArgMax};
use born_core::ops::arg_min::ArgMin;
use born_core::ops::compare::{Compare, CompareAttrs};
use born_core::ops::gemm::{Gemm, GemmAttrs};
use born_core::ops::logical::{Logical, LogicalAttrs};
use born_core::ops::matmul::MatMul;
use born_core::ops::not::Not;
use born_core::ops::reduce::{Reduce, ReduceAttrs};
use born_core::ops::unary::{Unary, UnaryAttrs};
use born_core::ops::Op;
use born_core::shape::MAX_RANK;
use born_core::{DType, Error, Interpreter, Model, ModelError, Shape};
use common::{assert_loads, encode, model_err, with_op, with_tensor};
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/ops_math.json");

fn fixture(key: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture json");
    v[key].as_array().expect("fixture list").clone()
}

fn floats64(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| match e {
            Value::String(s) if s == "nan" => f64::NAN,
            Value::String(s) if s == "inf" => f64::INFINITY,
            Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
            other => other.as_f64().expect("number"),
        })
        .collect()
}

fn floats(v: &Value) -> Vec<f32> {
    floats64(v).into_iter().map(|x| x as f32).collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e.as_u64().expect("uint") as usize)
        .collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e.as_i64().expect("int"))
        .collect()
}

fn shape(d: &[usize]) -> Shape {
    Shape::new(d).unwrap()
}

fn dims(d: &[u32]) -> Dims {
    let mut out = [0u32; MAX_RANK];
    out[..d.len()].copy_from_slice(d);
    Dims {
        rank: d.len() as u8,
        dims: out,
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn i64s(b: &[u8]) -> Vec<i64> {
    b.chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Loads `bytes`, writes `inputs` (raw bytes, in graph-input order), invokes, and returns
/// output 0's bytes.
fn run_bytes(bytes: &[u8], inputs: &[Vec<u8>]) -> Vec<u8> {
    let m = Model::from_bytes(bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let mut it = Interpreter::new(&m, &mut arena).unwrap();
    for (k, x) in inputs.iter().enumerate() {
        it.input_raw_mut(k).unwrap().copy_from_slice(x);
    }
    it.invoke().unwrap();
    it.output_raw(0).unwrap().to_vec()
}

/// [`run_bytes`] of `g` encoded with every activation in its own bytes.
fn run(g: &Graph, inputs: &[Vec<u8>]) -> Vec<u8> {
    run_bytes(&encode(g), inputs)
}

/// `got` against NumPy's float64 `want`: within `4 * (n + 1) * eps * abs` (NaN must be NaN,
/// infinities equal).
fn assert_close(got: &[f32], want: &[f64], abs: &[f64], n: usize, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, ((&g, &w), &a)) in got.iter().zip(want).zip(abs).enumerate() {
        if w.is_nan() {
            assert!(g.is_nan(), "{what}[{i}]: got {g}, want NaN");
            continue;
        }
        if w.is_infinite() {
            assert_eq!(f64::from(g), w, "{what}[{i}]");
            continue;
        }
        let bound = 4.0 * (n as f64 + 1.0) * f64::from(f32::EPSILON) * a + 1e-30;
        // `w as f32`: exact results (max, min) may reach us off by an f64 ulp from the JSON.
        assert!(
            (f64::from(g) - w).abs() <= bound || g == w as f32,
            "{what}[{i}]: got {g}, want {w} (bound {bound})"
        );
    }
}

/// Equal bits, or both NaN.
fn assert_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "{what}[{i}]: got {g:?}, want {w:?}"
        );
    }
}

fn attribute(what: &'static str) -> ModelError {
    ModelError::Attribute { op: 0, what }
}

fn operand_shape(operand: usize, what: &'static str) -> ModelError {
    ModelError::OperandShape {
        op: 0,
        operand,
        what,
    }
}

fn dtype_err(operand: usize, expected: DType, got: DType) -> ModelError {
    ModelError::DType {
        op: 0,
        operand,
        expected,
        got,
    }
}

fn arity<O: Op>(got: usize) -> ModelError {
    ModelError::Arity {
        op: 0,
        kind: O::NAME,
        min: O::INPUTS.0,
        max: O::INPUTS.1,
        got,
    }
}

fn output_shape(expected: &[usize], got: &[usize]) -> ModelError {
    ModelError::OutputShape {
        op: 0,
        expected: shape(expected),
        got: shape(got),
    }
}

/// `base` with op 0's attribute record replaced by `attrs`.
fn with_attrs<T: serde::Serialize>(base: &[u8], attrs: &T) -> AlignedBytes {
    let a = encode_attrs(attrs).unwrap();
    with_op(base, 0, |o| o.attrs = a)
}

/// `base` with input `k` of op 0 rewired to tensor `id`.
fn with_input(base: &[u8], k: usize, id: u32) -> AlignedBytes {
    with_op(base, 0, |o| o.inputs[k] = id)
}

/// The corruptions every op shares: an attribute record with a trailing byte, one input
/// too many and one too few.
fn common_corruptions<O: Op>(base: &[u8]) {
    assert_loads(base);
    let b = with_op(base, 0, |o| o.attrs.push(0));
    assert_eq!(model_err(&b), attribute("attribute record does not decode"));
    let b = with_op(base, 0, |o| {
        while o.inputs.len() <= O::INPUTS.1 {
            o.inputs.push(o.inputs[0]);
        }
    });
    assert_eq!(model_err(&b), arity::<O>(O::INPUTS.1 + 1));
    let b = with_op(base, 0, |o| o.inputs.truncate(O::INPUTS.0 - 1));
    assert_eq!(model_err(&b), arity::<O>(O::INPUTS.0 - 1));
}

// ---------------------------------------------------------------------------------------
// MatMul

#[test]
fn matmul_matches_numpy() {
    let cases = fixture("matmul");
    assert!(cases.len() >= 9);
    for (n, c) in cases.iter().enumerate() {
        let (sa, sb) = (usizes(&c["a_shape"]), usizes(&c["b_shape"]));
        let (a, b) = (floats(&c["a"]), floats(&c["b"]));
        let mut g = Graph::new("matmul", "ops_math test");
        let x = g.add_input("a", DType::F32, &sa).unwrap();
        let (y, inputs) = if c["b_const"].as_bool().unwrap() {
            (g.add_const("b", &sb, &b).unwrap(), vec![f32_bytes(&a)])
        } else {
            let y = g.add_input("b", DType::F32, &sb).unwrap();
            (y, vec![f32_bytes(&a), f32_bytes(&b)])
        };
        let o = g.add_op::<MatMul>((), &[x, y], "y").unwrap();
        assert_eq!(
            g.tensors[o].shape,
            shape(&usizes(&c["out_shape"])),
            "case {n}"
        );
        g.mark_output(o).unwrap();
        let got = f32s(&run(&g, &inputs));
        let k = *sa.last().unwrap();
        let what = format!("matmul case {n} {sa:?} @ {sb:?}");
        assert_close(&got, &floats64(&c["out"]), &floats64(&c["abs"]), k, &what);
    }
}

#[test]
fn matmul_hand_computed() {
    // [2] @ [2, 2, 3] broadcasts the row over both matrices and drops the row axis.
    let mut g = Graph::new("matmul", "ops_math test");
    let a = g.add_input("a", DType::F32, &[2]).unwrap();
    let b = g.add_input("b", DType::F32, &[2, 2, 3]).unwrap();
    let o = g.add_op::<MatMul>((), &[a, b], "y").unwrap();
    assert_eq!(g.tensors[o].shape, shape(&[2, 3]));
    g.mark_output(o).unwrap();
    let b: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let got = f32s(&run(&g, &[f32_bytes(&[1.0, 2.0]), f32_bytes(&b)]));
    // [1, 2] @ [[0,1,2],[3,4,5]] = [6, 9, 12]; @ [[6,7,8],[9,10,11]] = [24, 27, 30].
    assert_eq!(got, [6.0, 9.0, 12.0, 24.0, 27.0, 30.0]);
}

/// `a [2,3,4] @ b [4,5] -> y [2,3,5]` with spare constants to rewire inputs to. Ids: a 0,
/// b 1, i32 [4,5] 2, f32 [5,2] 3, f32 [3,4,5] 4, f32 scalar 5, y 6.
fn matmul_base() -> AlignedBytes {
    let mut g = Graph::new("matmul", "ops_math test");
    let a = g.add_input("a", DType::F32, &[2, 3, 4]).unwrap();
    let b = g.add_input("b", DType::F32, &[4, 5]).unwrap();
    g.add_const("i32", &[4, 5], &[0i32; 20]).unwrap();
    g.add_const("k5", &[5, 2], &[0f32; 10]).unwrap();
    g.add_const("batch3", &[3, 4, 5], &[0f32; 60]).unwrap();
    g.add_const("scalar", &[], &[1f32]).unwrap();
    let y = g.add_op::<MatMul>((), &[a, b], "y").unwrap();
    assert_eq!(y, 6);
    g.mark_output(y).unwrap();
    encode(&g)
}

#[test]
fn matmul_corruptions_are_rejected() {
    let base = matmul_base();
    common_corruptions::<MatMul>(&base);
    let b = with_input(&base, 1, 2);
    assert_eq!(model_err(&b), dtype_err(1, DType::F32, DType::I32));
    let b = with_input(&base, 0, 2);
    assert_eq!(model_err(&b), dtype_err(0, DType::F32, DType::I32));
    let b = with_input(&base, 1, 3);
    assert_eq!(
        model_err(&b),
        operand_shape(1, "rows must equal operand 0's columns")
    );
    let b = with_input(&base, 1, 4);
    assert_eq!(
        model_err(&b),
        operand_shape(1, "batch axes do not broadcast with operand 0's")
    );
    let b = with_input(&base, 0, 5);
    assert_eq!(model_err(&b), operand_shape(0, "must have rank 1 or more"));
    let b = with_input(&base, 1, 5);
    assert_eq!(model_err(&b), operand_shape(1, "must have rank 1 or more"));
    let b = with_tensor(&base, 6, |t| t.dims = dims(&[2, 5, 3]));
    assert_eq!(model_err(&b), output_shape(&[2, 3, 5], &[2, 5, 3]));
}

#[test]
fn matmul_graph_builder_refuses_mismatched_operands() {
    let mut g = Graph::new("matmul", "ops_math test");
    let a = g.add_input("a", DType::F32, &[2, 3]).unwrap();
    let b = g.add_input("b", DType::F32, &[2, 3]).unwrap();
    let e = g.add_op::<MatMul>((), &[a, b], "y").unwrap_err();
    assert_eq!(
        e,
        Error::Model(operand_shape(1, "rows must equal operand 0's columns"))
    );
}

// ---------------------------------------------------------------------------------------
// Gemm

#[test]
fn gemm_matches_numpy() {
    let cases = fixture("gemm");
    assert!(cases.len() >= 8);
    for (n, c) in cases.iter().enumerate() {
        let (m, nn, k) = (
            c["m"].as_u64().unwrap() as usize,
            c["n"].as_u64().unwrap() as usize,
            c["k"].as_u64().unwrap() as usize,
        );
        let attrs = GemmAttrs {
            trans_a: c["trans_a"].as_bool().unwrap(),
            trans_b: c["trans_b"].as_bool().unwrap(),
            alpha: c["alpha"].as_f64().unwrap() as f32,
            beta: c["beta"].as_f64().unwrap() as f32,
        };
        let sa = if attrs.trans_a { [k, m] } else { [m, k] };
        let sb = if attrs.trans_b { [nn, k] } else { [k, nn] };
        let mut g = Graph::new("gemm", "ops_math test");
        let a = g.add_input("a", DType::F32, &sa).unwrap();
        let b = g.add_input("b", DType::F32, &sb).unwrap();
        let mut ins = vec![a, b];
        if let Some(cs) = c.get("c_shape") {
            ins.push(g.add_const("c", &usizes(cs), &floats(&c["c"])).unwrap());
        }
        let o = g.add_op::<Gemm>(attrs, &ins, "y").unwrap();
        assert_eq!(g.tensors[o].shape, shape(&[m, nn]));
        g.mark_output(o).unwrap();
        let inputs = [f32_bytes(&floats(&c["a"])), f32_bytes(&floats(&c["b"]))];
        let got = f32s(&run(&g, &inputs));
        let what = format!("gemm case {n} {attrs:?}");
        assert_close(
            &got,
            &floats64(&c["out"]),
            &floats64(&c["abs"]),
            k + 1,
            &what,
        );
    }
}

/// `A [3,5]` (input), `B [5,4]` (constant), `C [4]` (input) -> Gemm (alpha 2, beta -1) ->
/// `y [3,4]`, with spare constants. Ids: A 0, B 1, C 2, i32 [4] 3, f32 [3,5,1] 4,
/// f32 [6,4] 5, f32 [2,4] 6, y 7.
fn gemm_base() -> (AlignedBytes, Vec<f32>, Vec<f32>) {
    let mut g = Graph::new("gemm", "ops_math test");
    let a = g.add_input("A", DType::F32, &[3, 5]).unwrap();
    let bv: Vec<f32> = (0..20).map(|i| (i % 7) as f32 - 3.0).collect();
    let b = g.add_const("B", &[5, 4], &bv).unwrap();
    let c = g.add_input("C", DType::F32, &[4]).unwrap();
    g.add_const("i32", &[4], &[0i32; 4]).unwrap();
    g.add_const("rank3", &[3, 5, 1], &[0f32; 15]).unwrap();
    g.add_const("k6", &[6, 4], &[0f32; 24]).unwrap();
    g.add_const("c24", &[2, 4], &[0f32; 8]).unwrap();
    let attrs = GemmAttrs {
        alpha: 2.0,
        beta: -1.0,
        ..GemmAttrs::default()
    };
    let y = g.add_op::<Gemm>(attrs, &[a, b, c], "y").unwrap();
    assert_eq!(y, 7);
    g.mark_output(y).unwrap();
    let av: Vec<f32> = (0..15).map(|i| (i % 4) as f32 - 1.5).collect();
    (encode(&g), av, bv)
}

#[test]
fn gemm_without_c_and_with_absent_c() {
    let (base, av, bv) = gemm_base();
    let cv = [10.0f32, 20.0, 30.0, 40.0];
    // Hand reference: y = 2 A B - C, exact in f32 (small integers and halves).
    let mut want = vec![0f32; 12];
    for i in 0..3 {
        for j in 0..4 {
            let dot: f32 = (0..5).map(|p| av[i * 5 + p] * bv[p * 4 + j]).sum();
            want[i * 4 + j] = 2.0 * dot - cv[j];
        }
    }
    let inputs = [f32_bytes(&av), f32_bytes(&cv)];
    assert_eq!(f32s(&run_bytes(&base, &inputs)), want);
    // C listed as absent: no C term, whatever beta is.
    let b = with_input(&base, 2, ABSENT);
    let got = f32s(&run_bytes(&b, &inputs));
    let no_c: Vec<f32> = want
        .iter()
        .enumerate()
        .map(|(i, w)| w + cv[i % 4])
        .collect();
    assert_eq!(got, no_c);
}

#[test]
fn gemm_corruptions_are_rejected() {
    let (base, ..) = gemm_base();
    common_corruptions::<Gemm>(&base);
    for (alpha, beta) in [
        (f32::NAN, 1.0),
        (1.0, f32::INFINITY),
        (f32::NEG_INFINITY, 0.0),
    ] {
        let attrs = GemmAttrs {
            alpha,
            beta,
            ..GemmAttrs::default()
        };
        let b = with_attrs(&base, &attrs);
        assert_eq!(
            model_err(&b),
            attribute("gemm alpha and beta must be finite")
        );
    }
    let b = with_input(&base, 2, 3);
    assert_eq!(model_err(&b), dtype_err(2, DType::F32, DType::I32));
    let b = with_input(&base, 1, 3);
    assert_eq!(model_err(&b), dtype_err(1, DType::F32, DType::I32));
    let b = with_input(&base, 0, 4);
    assert_eq!(model_err(&b), operand_shape(0, "must be a matrix (rank 2)"));
    let b = with_input(&base, 1, 2);
    assert_eq!(model_err(&b), operand_shape(1, "must be a matrix (rank 2)"));
    let b = with_input(&base, 1, 5);
    assert_eq!(
        model_err(&b),
        operand_shape(1, "inner dimension must equal operand 0's")
    );
    // transA makes A [5, 3] as stored: K = 3 against B's 5 rows.
    let attrs = GemmAttrs {
        trans_a: true,
        ..GemmAttrs::default()
    };
    let b = with_attrs(&base, &attrs);
    assert_eq!(
        model_err(&b),
        operand_shape(1, "inner dimension must equal operand 0's")
    );
    let b = with_input(&base, 2, 6);
    assert_eq!(
        model_err(&b),
        operand_shape(2, "must broadcast to the [M, N] output")
    );
    let b = with_input(&base, 2, 4);
    assert_eq!(
        model_err(&b),
        operand_shape(2, "must broadcast to the [M, N] output")
    );
    let b = with_tensor(&base, 7, |t| t.dims = dims(&[4, 3]));
    assert_eq!(model_err(&b), output_shape(&[3, 4], &[4, 3]));
}

// ---------------------------------------------------------------------------------------
// Unary

const X: [f32; 10] = [-2.5, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.5, 4.0, 9.0];

/// Runs Unary `op` over `x` (a `[len]` graph input).
fn run_unary(op: UnaryOp, x: &[f32]) -> Vec<f32> {
    let mut g = Graph::new("unary", "ops_math test");
    let i = g.add_input("x", DType::F32, &[x.len()]).unwrap();
    let o = g.add_op::<Unary>(op.into(), &[i], "y").unwrap();
    assert_eq!(g.tensors[o].shape, shape(&[x.len()]));
    g.mark_output(o).unwrap();
    f32s(&run(&g, &[f32_bytes(x)]))
}

#[test]
fn unary_exact_ops_hand_computed() {
    let inf = f32::INFINITY;
    let nan = f32::NAN;
    let cases: [(UnaryOp, [f32; 10]); 8] = [
        (
            UnaryOp::Abs,
            [2.5, 1.0, 0.5, 0.0, 0.0, 0.5, 1.0, 2.5, 4.0, 9.0],
        ),
        (
            UnaryOp::Neg,
            [2.5, 1.0, 0.5, 0.0, -0.0, -0.5, -1.0, -2.5, -4.0, -9.0],
        ),
        (
            UnaryOp::Floor,
            [-3.0, -1.0, -1.0, -0.0, 0.0, 0.0, 1.0, 2.0, 4.0, 9.0],
        ),
        (
            UnaryOp::Ceil,
            [-2.0, -1.0, -0.0, -0.0, 0.0, 1.0, 1.0, 3.0, 4.0, 9.0],
        ),
        (
            UnaryOp::Round,
            [-2.0, -1.0, -0.0, -0.0, 0.0, 0.0, 1.0, 2.0, 4.0, 9.0],
        ),
        (
            UnaryOp::Sign,
            [-1.0, -1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        ),
        (
            UnaryOp::Reciprocal,
            [
                -0.4,
                -1.0,
                -2.0,
                -inf,
                inf,
                2.0,
                1.0,
                0.4,
                0.25,
                0.111_111_11,
            ],
        ),
        (
            UnaryOp::Clip {
                min: -1.0,
                max: 2.0,
            },
            [-1.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 2.0, 2.0],
        ),
    ];
    for (op, want) in cases {
        assert_bits(&run_unary(op, &X), &want, &format!("{op:?}"));
    }
    let sq = run_unary(UnaryOp::Sqrt, &[0.25, 1.0, 4.0, 9.0, -0.0, -1.0, inf, 2.0]);
    assert_bits(
        &sq,
        &[
            0.5,
            1.0,
            2.0,
            3.0,
            -0.0,
            nan,
            inf,
            core::f32::consts::SQRT_2,
        ],
        "Sqrt",
    );
    let hs = UnaryOp::HardSigmoid {
        alpha: 0.25,
        beta: 0.5,
    };
    let got = run_unary(hs, &[-3.0, -2.0, 0.0, 1.0, 2.0, 3.0, nan]);
    assert_bits(&got, &[0.0, 0.0, 0.5, 0.75, 1.0, 1.0, nan], "HardSigmoid");
    // x * clip(x / 6 + 0.5, 0, 1): -0 below -3, x above 3.
    let got = run_unary(UnaryOp::HardSwish, &[-4.0, -3.0, 0.0, 3.0, 6.0]);
    assert_bits(&got, &[-0.0, -0.0, 0.0, 3.0, 6.0], "HardSwish");
}

#[test]
fn unary_transcendental_ops_against_f64() {
    let x = [-3.0f32, -1.0, -0.25, 0.0, 0.3, 1.0, 2.0, 7.5];
    type F = fn(f64) -> f64;
    let cases: [(UnaryOp, F); 5] = [
        (UnaryOp::Exp, f64::exp),
        (UnaryOp::Sin, f64::sin),
        (UnaryOp::Cos, f64::cos),
        (UnaryOp::Softplus, |v| v.exp().ln_1p()),
        (UnaryOp::Log, f64::ln),
    ];
    for (op, f) in cases {
        let got = run_unary(op, &x);
        for (i, (&g, &v)) in got.iter().zip(&x).enumerate() {
            let want = f(f64::from(v));
            if want.is_nan() {
                assert!(g.is_nan(), "{op:?}({v}) = {g}, want NaN");
            } else if want.is_infinite() {
                assert_eq!(f64::from(g), want, "{op:?}({v})");
            } else {
                let bound = 4.0 * f64::from(f32::EPSILON) * want.abs() + 1e-37;
                assert!(
                    (f64::from(g) - want).abs() <= bound,
                    "{op:?}[{i}]({v}) = {g}, want {want}"
                );
            }
        }
    }
    // erf: values from tables (Abramowitz and Stegun 7.1).
    let got = run_unary(UnaryOp::Erf, &[0.0, 0.5, 1.0, -2.0]);
    let want = [0.0, 0.520_499_877_8, 0.842_700_792_9, -0.995_322_265_0];
    for (g, w) in got.iter().zip(want) {
        assert!((f64::from(*g) - w).abs() <= 4e-7, "erf: got {g}, want {w}");
    }
}

#[test]
fn unary_runs_in_place() {
    let mut g = Graph::new("unary", "ops_math test");
    let i = g.add_input("x", DType::F32, &[10]).unwrap();
    let o = g.add_op::<Unary>(UnaryOp::Neg.into(), &[i], "y").unwrap();
    g.mark_output(o).unwrap();
    // Output over its input's bytes: the planner may do this because Unary is in place.
    let (offsets, len) = g.naive_plan().unwrap();
    assert_eq!(offsets.len(), 2);
    let bytes = AlignedBytes::from_slice(&g.encode(&[0, 0], len / 2).unwrap());
    let got = f32s(&run_bytes(&bytes, &[f32_bytes(&X)]));
    let want: Vec<f32> = X.iter().map(|v| -v).collect();
    assert_bits(&got, &want, "in-place Neg");
}

/// `x [2,3]` -> Unary(Abs) -> `y`, with a spare i32 constant. Ids: x 0, i32 [2,3] 1, y 2.
fn unary_base() -> AlignedBytes {
    let mut g = Graph::new("unary", "ops_math test");
    let x = g.add_input("x", DType::F32, &[2, 3]).unwrap();
    g.add_const("i32", &[2, 3], &[0i32; 6]).unwrap();
    let y = g.add_op::<Unary>(UnaryOp::Abs.into(), &[x], "y").unwrap();
    assert_eq!(y, 2);
    g.mark_output(y).unwrap();
    encode(&g)
}

#[test]
fn unary_corruptions_are_rejected() {
    let base = unary_base();
    common_corruptions::<Unary>(&base);
    for code in [17, 99, u32::MAX] {
        let attrs = UnaryAttrs {
            code,
            params: [0.0; 2],
        };
        let b = with_attrs(&base, &attrs);
        assert_eq!(model_err(&b), attribute("unknown unary op code"));
    }
    let attrs = UnaryAttrs {
        code: UnaryOp::Abs.code(),
        params: [1.0, 0.0],
    };
    let b = with_attrs(&base, &attrs);
    assert_eq!(
        model_err(&b),
        attribute("unary params must be 0 for an op without parameters")
    );
    // Clip with a NaN bound is a valid record (it gives NaN).
    let attrs = UnaryAttrs::new(UnaryOp::Clip {
        min: f32::NAN,
        max: 1.0,
    });
    assert_loads(&with_attrs(&base, &attrs));
    // Abs is defined on integers, so an i32 input only contradicts the f32 output...
    let b = with_input(&base, 0, 1);
    assert_eq!(model_err(&b), dtype_err(1, DType::I32, DType::F32));
    // ...while Exp is f32 only.
    let b = with_attrs(&b, &UnaryAttrs::new(UnaryOp::Exp));
    assert_eq!(model_err(&b), dtype_err(0, DType::F32, DType::I32));
    let b = with_tensor(&base, 2, |t| t.dims = dims(&[3, 2]));
    assert_eq!(model_err(&b), output_shape(&[2, 3], &[3, 2]));
    let b = with_tensor(&base, 2, |t| t.dtype = DType::I32);
    assert_eq!(model_err(&b), dtype_err(1, DType::F32, DType::I32));
}

#[test]
fn unary_attrs_round_trip_every_op() {
    for op in UnaryOp::ALL {
        assert_eq!(UnaryAttrs::new(op).op(), Some(op));
    }
    let clip = UnaryOp::Clip {
        min: -2.0,
        max: 3.0,
    };
    assert_eq!(UnaryAttrs::from(clip).op(), Some(clip));
}

// ---------------------------------------------------------------------------------------
// Compare

const CMP: [CompareOp; 5] = [
    CompareOp::Equal,
    CompareOp::Less,
    CompareOp::LessOrEqual,
    CompareOp::Greater,
    CompareOp::GreaterOrEqual,
];

/// Runs every comparison on `a` and `b` of `dtype`; returns the five outputs in [`CMP`]
/// order.
fn run_compare(
    dtype: DType,
    (sa, a): (&[usize], Vec<u8>),
    (sb, b): (&[usize], Vec<u8>),
    out: &[usize],
) -> Vec<Vec<u8>> {
    CMP.iter()
        .map(|&op| {
            let mut g = Graph::new("compare", "ops_math test");
            let x = g.add_input("a", dtype, sa).unwrap();
            let y = g.add_input("b", dtype, sb).unwrap();
            let o = g.add_op::<Compare>(op.into(), &[x, y], "c").unwrap();
            assert_eq!(g.tensors[o].dtype, DType::Bool);
            assert_eq!(g.tensors[o].shape, shape(out));
            g.mark_output(o).unwrap();
            run(&g, &[a.clone(), b.clone()])
        })
        .collect()
}

#[test]
fn compare_f32_hand_computed() {
    let nan = f32::NAN;
    let a = f32_bytes(&[1.0, nan, -0.0, 3.0, 2.0, -1.0]);
    let b = f32_bytes(&[1.0, nan, 0.0]);
    // Pairs: (1,1) (NaN,NaN) (-0,+0) (3,1) (2,NaN) (-1,+0).
    let got = run_compare(DType::F32, (&[2, 3][..], a), (&[3][..], b), &[2, 3]);
    let want: [[u8; 6]; 5] = [
        [1, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 1],
        [1, 0, 1, 0, 0, 1],
        [0, 0, 0, 1, 0, 0],
        [1, 0, 1, 1, 0, 0],
    ];
    for ((g, w), op) in got.iter().zip(want).zip(CMP) {
        assert_eq!(g, &w, "{op:?}");
    }
}

#[test]
fn compare_i32_broadcasts_both_ways() {
    let a = i32_bytes(&[5, -7]);
    let b = i32_bytes(&[-7, 5, 9]);
    // [2,1] vs [3] -> [2,3]: (5,-7) (5,5) (5,9) (-7,-7) (-7,5) (-7,9).
    let got = run_compare(DType::I32, (&[2, 1][..], a), (&[3][..], b), &[2, 3]);
    let want: [[u8; 6]; 5] = [
        [0, 1, 0, 1, 0, 0],
        [0, 0, 1, 0, 1, 1],
        [0, 1, 1, 1, 1, 1],
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 1, 0, 0],
    ];
    for ((g, w), op) in got.iter().zip(want).zip(CMP) {
        assert_eq!(g, &w, "{op:?}");
    }
}

#[test]
fn compare_i64_against_a_scalar() {
    // 1 << 32 differs from 0 only in its high word.
    let a = i64_bytes(&[i64::MIN, 0, i64::MAX, 1 << 32]);
    let b = i64_bytes(&[0]);
    let got = run_compare(DType::I64, (&[4][..], a), (&[][..], b), &[4]);
    let want: [[u8; 4]; 5] = [
        [0, 1, 0, 0],
        [1, 0, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 1, 1],
        [0, 1, 1, 1],
    ];
    for ((g, w), op) in got.iter().zip(want).zip(CMP) {
        assert_eq!(g, &w, "{op:?}");
    }
}

/// `a [2,3] op b [3]` (f32 inputs) -> `c` bool, with spare constants. Ids: a 0, b 1,
/// u8 [2,3] 2, i32 [3] 3, f32 [4] 4, c 5.
fn compare_base() -> AlignedBytes {
    let mut g = Graph::new("compare", "ops_math test");
    let a = g.add_input("a", DType::F32, &[2, 3]).unwrap();
    let b = g.add_input("b", DType::F32, &[3]).unwrap();
    g.add_const("u8", &[2, 3], &[0u8; 6]).unwrap();
    g.add_const("i32", &[3], &[0i32; 3]).unwrap();
    g.add_const("f4", &[4], &[0f32; 4]).unwrap();
    let c = g
        .add_op::<Compare>(CompareOp::Less.into(), &[a, b], "c")
        .unwrap();
    assert_eq!(c, 5);
    g.mark_output(c).unwrap();
    encode(&g)
}

#[test]
fn compare_corruptions_are_rejected() {
    let base = compare_base();
    common_corruptions::<Compare>(&base);
    for op in [5, 6, u32::MAX] {
        let b = with_attrs(&base, &CompareAttrs { op });
        assert_eq!(model_err(&b), attribute("unknown comparison code"));
    }
    // A u8 operand is comparable, but not with an f32 one.
    let b = with_input(&base, 0, 2);
    assert_eq!(model_err(&b), dtype_err(1, DType::U8, DType::F32));
    let b = with_input(&base, 1, 3);
    assert_eq!(model_err(&b), dtype_err(1, DType::F32, DType::I32));
    let b = with_input(&base, 1, 4);
    assert_eq!(
        model_err(&b),
        operand_shape(1, "does not broadcast with operand 0")
    );
    let b = with_tensor(&base, 5, |t| t.dtype = DType::U8);
    assert_eq!(model_err(&b), dtype_err(2, DType::Bool, DType::U8));
    let b = with_tensor(&base, 5, |t| t.dims = dims(&[3, 2]));
    assert_eq!(model_err(&b), output_shape(&[2, 3], &[3, 2]));
}

#[test]
fn compare_and_logical_attrs_round_trip() {
    for (code, op) in CMP.into_iter().enumerate() {
        let a = CompareAttrs::new(op);
        assert_eq!((a.op as usize, a.op()), (code, Some(op)));
    }
    for (code, op) in [LogicOp::And, LogicOp::Or, LogicOp::Xor]
        .into_iter()
        .enumerate()
    {
        let a = LogicalAttrs::new(op);
        assert_eq!((a.op as usize, a.op()), (code, Some(op)));
    }
    assert_eq!(CompareAttrs { op: 5 }.op(), None);
    assert_eq!(LogicalAttrs { op: 3 }.op(), None);
}

// ---------------------------------------------------------------------------------------
// Logical and Not

#[test]
fn logical_hand_computed() {
    // [2,3] vs [2,1]; any nonzero byte is true.
    let a = vec![0u8, 1, 7, 0, 2, 255];
    let b = vec![0u8, 1];
    let cases = [
        (LogicOp::And, [0u8, 0, 0, 0, 1, 1]),
        (LogicOp::Or, [0, 1, 1, 1, 1, 1]),
        (LogicOp::Xor, [0, 1, 1, 1, 0, 0]),
    ];
    for (op, want) in cases {
        let mut g = Graph::new("logical", "ops_math test");
        let x = g.add_input("a", DType::Bool, &[2, 3]).unwrap();
        let y = g.add_input("b", DType::Bool, &[2, 1]).unwrap();
        let o = g.add_op::<Logical>(op.into(), &[x, y], "c").unwrap();
        assert_eq!(g.tensors[o].dtype, DType::Bool);
        assert_eq!(g.tensors[o].shape, shape(&[2, 3]));
        g.mark_output(o).unwrap();
        assert_eq!(run(&g, &[a.clone(), b.clone()]), want, "{op:?}");
    }
}

/// `a [2,3] and b [2,1]` (bool inputs) -> `c`, with a spare f32 constant. Ids: a 0, b 1,
/// f32 [2,1] 2, c 3.
fn logical_base() -> AlignedBytes {
    let mut g = Graph::new("logical", "ops_math test");
    let a = g.add_input("a", DType::Bool, &[2, 3]).unwrap();
    let b = g.add_input("b", DType::Bool, &[2, 1]).unwrap();
    g.add_const("f32", &[2, 1], &[0f32; 2]).unwrap();
    let c = g
        .add_op::<Logical>(LogicOp::And.into(), &[a, b], "c")
        .unwrap();
    assert_eq!(c, 3);
    g.mark_output(c).unwrap();
    encode(&g)
}

#[test]
fn logical_corruptions_are_rejected() {
    let base = logical_base();
    common_corruptions::<Logical>(&base);
    for op in [3, 4, u32::MAX] {
        let b = with_attrs(&base, &LogicalAttrs { op });
        assert_eq!(model_err(&b), attribute("unknown logical op code"));
    }
    let b = with_input(&base, 1, 2);
    assert_eq!(model_err(&b), dtype_err(1, DType::Bool, DType::F32));
    let b = with_input(&base, 0, 2);
    assert_eq!(model_err(&b), dtype_err(0, DType::Bool, DType::F32));
    // b stored as [1, 2] (same bytes) does not broadcast with [2, 3].
    let b = with_tensor(&base, 1, |t| t.dims = dims(&[1, 2]));
    assert_eq!(
        model_err(&b),
        operand_shape(1, "does not broadcast with operand 0")
    );
    let b = with_tensor(&base, 0, |t| t.dtype = DType::U8);
    assert_eq!(model_err(&b), dtype_err(0, DType::Bool, DType::U8));
    let b = with_tensor(&base, 3, |t| t.dims = dims(&[3, 2]));
    assert_eq!(model_err(&b), output_shape(&[2, 3], &[3, 2]));
}

#[test]
fn not_hand_computed() {
    let mut g = Graph::new("not", "ops_math test");
    let x = g.add_input("x", DType::Bool, &[2, 3]).unwrap();
    let o = g.add_op::<Not>((), &[x], "y").unwrap();
    assert_eq!(g.tensors[o].dtype, DType::Bool);
    assert_eq!(g.tensors[o].shape, shape(&[2, 3]));
    g.mark_output(o).unwrap();
    assert_eq!(run(&g, &[vec![0, 1, 7, 255, 0, 128]]), [1, 0, 0, 0, 1, 0]);
}

#[test]
fn not_corruptions_are_rejected() {
    let mut g = Graph::new("not", "ops_math test");
    let x = g.add_input("x", DType::Bool, &[2, 3]).unwrap();
    g.add_const("f32", &[2, 3], &[0f32; 6]).unwrap();
    let y = g.add_op::<Not>((), &[x], "y").unwrap();
    assert_eq!(y, 2);
    g.mark_output(y).unwrap();
    let base = encode(&g);
    common_corruptions::<Not>(&base);
    let b = with_input(&base, 0, 1);
    assert_eq!(model_err(&b), dtype_err(0, DType::Bool, DType::F32));
    let b = with_tensor(&base, 2, |t| t.dtype = DType::U8);
    assert_eq!(model_err(&b), dtype_err(1, DType::Bool, DType::U8));
    let b = with_tensor(&base, 2, |t| t.dims = dims(&[6]));
    assert_eq!(model_err(&b), output_shape(&[2, 3], &[6]));
}

// ---------------------------------------------------------------------------------------
// Reduce

const REDUCE_OPS: [(ReduceOp, &str); 6] = [
    (ReduceOp::Sum, "sum"),
    (ReduceOp::Mean, "mean"),
    (ReduceOp::Max, "max"),
    (ReduceOp::Min, "min"),
    (ReduceOp::Prod, "prod"),
    (ReduceOp::SumSquares, "sum_squares"),
];

#[test]
fn reduce_matches_numpy() {
    let cases = fixture("reduce");
    assert!(cases.len() >= 15);
    for (n, c) in cases.iter().enumerate() {
        let s = usizes(&c["shape"]);
        let x = floats(&c["x"]);
        let axes: Vec<i32> = ints(&c["axes"]).into_iter().map(|a| a as i32).collect();
        let keepdims = c["keepdims"].as_bool().unwrap();
        let count = c["count"].as_u64().unwrap() as usize;
        for (op, key) in REDUCE_OPS {
            let attrs = ReduceAttrs::new(op, &axes, keepdims).unwrap();
            let mut g = Graph::new("reduce", "ops_math test");
            let i = g.add_input("x", DType::F32, &s).unwrap();
            let o = g.add_op::<Reduce>(attrs, &[i], "y").unwrap();
            assert_eq!(
                g.tensors[o].shape,
                shape(&usizes(&c["out_shape"])),
                "case {n}"
            );
            g.mark_output(o).unwrap();
            let got = f32s(&run(&g, &[f32_bytes(&x)]));
            let r = &c["ops"][key];
            let what = format!("reduce case {n} {key} {s:?} axes {axes:?} keepdims {keepdims}");
            assert_close(
                &got,
                &floats64(&r["out"]),
                &floats64(&r["abs"]),
                count,
                &what,
            );
        }
    }
}

#[test]
fn reduce_hand_computed() {
    // [2, 3] summed over both axes listed explicitly, negative first.
    let mut g = Graph::new("reduce", "ops_math test");
    let i = g.add_input("x", DType::F32, &[2, 3]).unwrap();
    let attrs = ReduceAttrs::new(ReduceOp::Sum, &[-1, 0], false).unwrap();
    let o = g.add_op::<Reduce>(attrs, &[i], "y").unwrap();
    assert_eq!(g.tensors[o].shape, Shape::SCALAR);
    g.mark_output(o).unwrap();
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    assert_eq!(f32s(&run(&g, &[f32_bytes(&x)])), [21.0]);
    // Mean over axis 0 with keepdims: [[2.5, 3.5, 4.5]].
    let mut g = Graph::new("reduce", "ops_math test");
    let i = g.add_input("x", DType::F32, &[2, 3]).unwrap();
    let attrs = ReduceAttrs::new(ReduceOp::Mean, &[0], true).unwrap();
    let o = g.add_op::<Reduce>(attrs, &[i], "y").unwrap();
    assert_eq!(g.tensors[o].shape, shape(&[1, 3]));
    g.mark_output(o).unwrap();
    assert_eq!(f32s(&run(&g, &[f32_bytes(&x)])), [2.5, 3.5, 4.5]);
    assert!(ReduceAttrs::new(ReduceOp::Sum, &[0; MAX_RANK + 1], false).is_none());
}

/// `x [2,3,4]` -> Reduce(Sum, axes [1]) -> `y [2,4]`, with a spare constant. Ids: x 0,
/// i32 [2] 1, y 2.
fn reduce_base() -> AlignedBytes {
    let mut g = Graph::new("reduce", "ops_math test");
    let x = g.add_input("x", DType::F32, &[2, 3, 4]).unwrap();
    g.add_const("i32", &[2], &[0i32; 2]).unwrap();
    let attrs = ReduceAttrs::new(ReduceOp::Sum, &[1], false).unwrap();
    let y = g.add_op::<Reduce>(attrs, &[x], "y").unwrap();
    assert_eq!(y, 2);
    g.mark_output(y).unwrap();
    encode(&g)
}

#[test]
fn reduce_corruptions_are_rejected() {
    let base = reduce_base();
    common_corruptions::<Reduce>(&base);
    let good = ReduceAttrs::new(ReduceOp::Sum, &[1], false).unwrap();
    let cases: [(ReduceAttrs, &str); 8] = [
        (ReduceAttrs { op: 6, ..good }, "unknown reduce op code"),
        (ReduceAttrs { n_axes: 7, ..good }, "too many reduce axes"),
        (
            ReduceAttrs {
                axes: [1, 0, 0, 0, 0, 2],
                ..good
            },
            "unused reduce axes must be 0",
        ),
        (
            ReduceAttrs {
                n_axes: 0,
                axes: [1, 0, 0, 0, 0, 0],
                ..good
            },
            "unused reduce axes must be 0",
        ),
        (
            ReduceAttrs {
                axes: [3, 0, 0, 0, 0, 0],
                ..good
            },
            "reduce axis out of range",
        ),
        (
            ReduceAttrs {
                axes: [-4, 0, 0, 0, 0, 0],
                ..good
            },
            "reduce axis out of range",
        ),
        (
            ReduceAttrs {
                axes: [1, -2, 0, 0, 0, 0],
                n_axes: 2,
                ..good
            },
            "reduce axis listed twice",
        ),
        (
            ReduceAttrs {
                axes: [0, 2, 0, 0, 0, 0],
                n_axes: 3,
                ..good
            },
            "reduce axis listed twice",
        ),
    ];
    for (attrs, what) in cases {
        let b = with_attrs(&base, &attrs);
        assert_eq!(model_err(&b), attribute(what), "{attrs:?}");
    }
    let b = with_input(&base, 0, 1);
    assert_eq!(model_err(&b), dtype_err(0, DType::F32, DType::I32));
    // Files cannot hold zero-sized tensors; the graph builder refuses reducing one.
    let mut g = Graph::new("reduce", "ops_math test");
    let x = g.add_input("x", DType::F32, &[2, 0]).unwrap();
    let e = g.add_op::<Reduce>(good, &[x], "y").unwrap_err();
    assert_eq!(
        e,
        Error::Model(operand_shape(0, "reduced axes must not be empty"))
    );
    // Reducing the other axis gives an empty output.
    let attrs = ReduceAttrs::new(ReduceOp::Max, &[0], true).unwrap();
    let y = g.add_op::<Reduce>(attrs, &[x], "z").unwrap();
    assert_eq!(g.tensors[y].shape, shape(&[1, 0]));
    // keepdims flipped: the op now gives [2, 1, 4] (same bytes as the record's [2, 4]).
    let b = with_attrs(
        &base,
        &ReduceAttrs {
            keepdims: true,
            ..good
        },
    );
    assert_eq!(model_err(&b), output_shape(&[2, 1, 4], &[2, 4]));
    let b = with_tensor(&base, 2, |t| t.dims = dims(&[4, 2]));
    assert_eq!(model_err(&b), output_shape(&[2, 4], &[4, 2]));
}

// ---------------------------------------------------------------------------------------
// ArgMax and ArgMin

fn run_arg<O: Op<Attrs = ArgAttrs>>(s: &[usize], x: &[f32], attrs: ArgAttrs) -> (Shape, Vec<i64>) {
    let mut g = Graph::new("arg", "ops_math test");
    let i = g.add_input("x", DType::F32, s).unwrap();
    let o = g.add_op::<O>(attrs, &[i], "y").unwrap();
    assert_eq!(g.tensors[o].dtype, DType::I64);
    g.mark_output(o).unwrap();
    (g.tensors[o].shape, i64s(&run(&g, &[f32_bytes(x)])))
}

#[test]
fn argmax_and_argmin_match_numpy() {
    let cases = fixture("arg");
    assert!(cases.len() >= 7);
    for (n, c) in cases.iter().enumerate() {
        let s = usizes(&c["shape"]);
        let x = floats(&c["x"]);
        let attrs = ArgAttrs {
            axis: c["axis"].as_i64().unwrap() as i32,
            keepdims: c["keepdims"].as_bool().unwrap(),
        };
        let want_shape = shape(&usizes(&c["out_shape"]));
        let (sh, got) = run_arg::<ArgMax>(&s, &x, attrs);
        assert_eq!(
            (sh, got),
            (want_shape, ints(&c["argmax"])),
            "argmax case {n}"
        );
        let (sh, got) = run_arg::<ArgMin>(&s, &x, attrs);
        assert_eq!(
            (sh, got),
            (want_shape, ints(&c["argmin"])),
            "argmin case {n}"
        );
    }
}

#[test]
fn arg_ties_go_to_the_first_index() {
    let nan = f32::NAN;
    // Rows of [3, 4] along axis 1: ties, signed zeros, NaN.
    let x = [
        1.0, 3.0, 3.0, 1.0, // max first at 1, min first at 0
        -0.0, 0.0, 0.0, -0.0, // all tie: 0 and 0
        2.0, nan, 5.0, nan, // first NaN wins both
    ];
    let attrs = ArgAttrs {
        axis: 1,
        keepdims: false,
    };
    assert_eq!(
        run_arg::<ArgMax>(&[3, 4], &x, attrs),
        (shape(&[3]), vec![1, 0, 1])
    );
    assert_eq!(
        run_arg::<ArgMin>(&[3, 4], &x, attrs),
        (shape(&[3]), vec![0, 0, 1])
    );
    // The ONNX defaults: axis 0, keepdims.
    let (sh, got) = run_arg::<ArgMax>(&[3, 4], &x, ArgAttrs::default());
    assert_eq!((sh, got), (shape(&[1, 4]), vec![2, 2, 2, 2]));
}

/// `x [3,4]` -> `O` (axis 1, no keepdims) -> `y [3]` i64, with a spare constant. Ids: x 0,
/// i32 [3,4] 1, y 2.
fn arg_corruptions<O: Op<Attrs = ArgAttrs>>(axis_err: &'static str) {
    let mut g = Graph::new("arg", "ops_math test");
    let x = g.add_input("x", DType::F32, &[3, 4]).unwrap();
    g.add_const("i32", &[3, 4], &[0i32; 12]).unwrap();
    let good = ArgAttrs {
        axis: 1,
        keepdims: false,
    };
    let y = g.add_op::<O>(good, &[x], "y").unwrap();
    assert_eq!(y, 2);
    g.mark_output(y).unwrap();
    let base = encode(&g);
    common_corruptions::<O>(&base);
    for axis in [2, -3, i32::MAX, i32::MIN] {
        let b = with_attrs(&base, &ArgAttrs { axis, ..good });
        assert_eq!(model_err(&b), attribute(axis_err), "axis {axis}");
    }
    let b = with_input(&base, 0, 1);
    assert_eq!(model_err(&b), dtype_err(0, DType::F32, DType::I32));
    // Files cannot hold zero-sized tensors; the graph builder refuses an empty axis.
    let mut g = Graph::new("arg", "ops_math test");
    let e = g.add_input("x", DType::F32, &[3, 0]).unwrap();
    assert_eq!(
        g.add_op::<O>(good, &[e], "y").unwrap_err(),
        Error::Model(operand_shape(0, "reduced axis must not be empty"))
    );
    let b = with_attrs(
        &base,
        &ArgAttrs {
            keepdims: true,
            ..good
        },
    );
    assert_eq!(model_err(&b), output_shape(&[3, 1], &[3]));
    let b = with_attrs(&base, &ArgAttrs { axis: 0, ..good });
    assert_eq!(model_err(&b), output_shape(&[4], &[3]));
    // An i32 [6] output record holds the same bytes as i64 [3].
    let b = with_tensor(&base, 2, |t| {
        t.dtype = DType::I32;
        t.dims = dims(&[6]);
    });
    assert_eq!(model_err(&b), dtype_err(1, DType::I64, DType::I32));
}

#[test]
fn argmax_corruptions_are_rejected() {
    arg_corruptions::<ArgMax>("argmax axis out of range");
}

#[test]
fn argmin_corruptions_are_rejected() {
    arg_corruptions::<ArgMin>("argmin axis out of range");
}

// ---------------------------------------------------------------------------------------
// Registration

#[test]
fn math_ops_are_registered_with_distinct_ids() {
    let ids = [
        (MatMul::ID, MatMul::NAME),
        (Gemm::ID, Gemm::NAME),
        (Unary::ID, Unary::NAME),
        (Compare::ID, Compare::NAME),
        (Logical::ID, Logical::NAME),
        (Not::ID, Not::NAME),
        (Reduce::ID, Reduce::NAME),
        (ArgMax::ID, ArgMax::NAME),
        (ArgMin::ID, ArgMin::NAME),
    ];
    for (k, &(id, name)) in ids.iter().enumerate() {
        assert!((50..=69).contains(&id), "{name}");
        assert_eq!(common::kind(id), name);
        assert!(ids[..k].iter().all(|&(other, _)| other != id), "{name}");
    }
}
