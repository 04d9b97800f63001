//! Tests of `born_core::kernels::unary`.
//!
//! - NumPy / `math` fixtures (scripts/fixtures/unary.py): the exact operations (Abs, Neg,
//!   Reciprocal, Floor, Ceil, Round, Sign, Clip, HardSigmoid, HardSwish) must give NumPy's
//!   float32 bits (signed zeros included, NaN matching any NaN); the transcendental ones must
//!   be within their bound in ulp of the float64 value plus half an ulp for its rounding:
//!   Exp 1, Log 1, Sqrt 0, Sin 1, Cos 1, Erf 3 (the bounds `core/tests/math.rs` asserts for
//!   those functions) and Softplus 3.
//! - A dense sweep of Softplus against float64 (`--nocapture` prints the largest error) and
//!   of Floor / Ceil / Round against the f64 functions.
//! - proptest: `unary`, `unary_inplace` and `UnaryOp::apply` agree bit for bit.
//! - Code round trips and every error path.

use born_core::kernels::unary::{unary, unary_inplace, UnaryOp};
use born_core::Error;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/unary.json");

fn float(e: &Value) -> f32 {
    match e {
        Value::String(s) if s == "nan" => f32::NAN,
        Value::String(s) if s == "inf" => f32::INFINITY,
        Value::String(s) if s == "-inf" => f32::NEG_INFINITY,
        other => other.as_f64().expect("number") as f32,
    }
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(float).collect()
}

/// `|got - exact|` in ulp of `exact` (floor: the subnormal ulp); NaN/inf must match.
fn ulp_err(got: f32, exact: f64) -> f64 {
    if exact.is_nan() {
        return if got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    let rounded = exact as f32;
    if rounded.is_infinite() || got.is_infinite() || got.is_nan() {
        return if got == rounded { 0.0 } else { f64::INFINITY };
    }
    let a = exact.abs();
    let ulp = if a < f32::MIN_POSITIVE as f64 {
        2f64.powi(-149)
    } else {
        2f64.powi(a.log2().floor() as i32 - 23)
    };
    (got as f64 - exact).abs() / ulp
}

/// Equal bits, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Error bound in ulp of the exact result; `None` for the exact operations.
fn bound(op: UnaryOp) -> Option<f64> {
    match op {
        UnaryOp::Exp | UnaryOp::Log | UnaryOp::Sin | UnaryOp::Cos => Some(1.0),
        UnaryOp::Sqrt => Some(0.0),
        UnaryOp::Erf => Some(3.0),
        UnaryOp::Softplus => Some(3.0),
        _ => None,
    }
}

fn parse_op(case: &Value) -> UnaryOp {
    let p = |i: usize| float(&case["params"][i]);
    match case["name"].as_str().expect("name") {
        "abs" => UnaryOp::Abs,
        "neg" => UnaryOp::Neg,
        "exp" => UnaryOp::Exp,
        "log" => UnaryOp::Log,
        "sqrt" => UnaryOp::Sqrt,
        "reciprocal" => UnaryOp::Reciprocal,
        "floor" => UnaryOp::Floor,
        "ceil" => UnaryOp::Ceil,
        "round" => UnaryOp::Round,
        "sign" => UnaryOp::Sign,
        "sin" => UnaryOp::Sin,
        "cos" => UnaryOp::Cos,
        "erf" => UnaryOp::Erf,
        "hard_sigmoid" => UnaryOp::HardSigmoid {
            alpha: p(0),
            beta: p(1),
        },
        "hard_swish" => UnaryOp::HardSwish,
        "clip" => UnaryOp::Clip {
            min: p(0),
            max: p(1),
        },
        "softplus" => UnaryOp::Softplus,
        other => panic!("unknown op {other}"),
    }
}

/// `unary` and `unary_inplace` on `x`.
fn both_paths(op: UnaryOp, x: &[f32]) -> [(&'static str, Vec<f32>); 2] {
    let mut out = vec![0.0; x.len()];
    unary(op, x, &mut out).unwrap();
    let mut inplace = x.to_vec();
    unary_inplace(op, &mut inplace);
    [("unary", out), ("inplace", inplace)]
}

#[test]
fn numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 22);
    let mut seen = std::collections::HashSet::new();
    for case in cases {
        let op = parse_op(case);
        seen.insert(op.code());
        let (x, want) = (floats(&case["x"]), floats(&case["want"]));
        assert_eq!(x.len(), want.len());
        assert_eq!(case["exact"].as_bool(), Some(bound(op).is_none()), "{op:?}");
        for (path, got) in both_paths(op, &x) {
            for i in 0..x.len() {
                let ok = match bound(op) {
                    None => same(got[i], want[i]),
                    Some(b) => ulp_err(got[i], want[i] as f64) <= b + 0.5,
                };
                assert!(
                    ok,
                    "{op:?} {path}: x = {:e} gave {:e} ({:08x}), want {:e} ({:08x})",
                    x[i],
                    got[i],
                    got[i].to_bits(),
                    want[i],
                    want[i].to_bits()
                );
            }
        }
    }
    assert_eq!(
        seen.len(),
        UnaryOp::ALL.len(),
        "every operation has a fixture"
    );
}

fn softplus64(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Every 97th f32 in [-105, 90] (about 22 million inputs) against float64 (the ulp floor
/// is the subnormal ulp, so the far negative tail is checked in absolute terms there).
#[test]
fn softplus_sweep_against_f64() {
    let mut x = Vec::new();
    let mut b = 0u32;
    while b <= 0x42D2_0000 {
        // 0x42D20000 = 105.0
        let v = f32::from_bits(b);
        if v <= 90.0 {
            x.push(v);
        }
        x.push(-v);
        b += 97;
    }
    let mut out = vec![0.0; x.len()];
    unary(UnaryOp::Softplus, &x, &mut out).unwrap();
    let mut worst = (0.0f64, 0.0f32);
    for (&xi, &g) in x.iter().zip(&out) {
        let e = ulp_err(g, softplus64(xi as f64));
        if e > worst.0 {
            worst = (e, xi);
        }
    }
    println!(
        "Softplus: max {:.2} ulp at {:e} over {} inputs",
        worst.0,
        worst.1,
        x.len()
    );
    assert!(worst.0 <= 3.0, "{worst:?}");
}

/// Floor, Ceil and Round against f64's (exact for f32 inputs), over every 127th f32 bit
/// pattern (both signs, about 34 million inputs), a million at a time.
#[test]
fn rounding_sweep_against_f64() {
    type F64Fn = fn(f64) -> f64;
    let ops: [(UnaryOp, F64Fn); 3] = [
        (UnaryOp::Floor, f64::floor),
        (UnaryOp::Ceil, f64::ceil),
        (UnaryOp::Round, f64::round_ties_even),
    ];
    const CHUNK: u64 = 1 << 20;
    let count = u32::MAX as u64 / 127 + 1;
    let mut out = vec![0.0; CHUNK as usize];
    let mut start = 0u64;
    while start < count {
        let x: Vec<f32> = (start..count.min(start + CHUNK))
            .map(|i| f32::from_bits((i * 127) as u32))
            .collect();
        let out = &mut out[..x.len()];
        for (op, f) in ops {
            unary(op, &x, out).unwrap();
            for (&xi, &g) in x.iter().zip(out.iter()) {
                let want = f(xi as f64) as f32;
                assert!(same(g, want), "{op:?}({xi:e}) = {g:e}, want {want:e}");
            }
        }
        start += CHUNK;
    }
}

#[test]
fn special_values() {
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    let check = |op: UnaryOp, x: &[f32], want: &[f32]| {
        for (path, got) in both_paths(op, x) {
            for i in 0..x.len() {
                assert!(
                    same(got[i], want[i]),
                    "{op:?} {path}({:e}) = {:e}, want {:e}",
                    x[i],
                    got[i],
                    want[i]
                );
            }
        }
    };
    check(UnaryOp::Abs, &[-0.0, -inf, -3.0], &[0.0, inf, 3.0]);
    check(UnaryOp::Neg, &[0.0, -inf, nan], &[-0.0, inf, nan]);
    check(
        UnaryOp::Floor,
        &[-0.0, -0.5, 2.0, -1e-45],
        &[-0.0, -1.0, 2.0, -1.0],
    );
    check(
        UnaryOp::Ceil,
        &[-0.5, 0.5, -0.0, inf],
        &[-0.0, 1.0, -0.0, inf],
    );
    check(
        UnaryOp::Round,
        &[0.5, 1.5, 2.5, -2.5, -0.4, 0.499_999_97],
        &[0.0, 2.0, 2.0, -2.0, -0.0, 0.0],
    );
    check(
        UnaryOp::Sign,
        &[-0.0, 0.0, nan, -1e-45],
        &[0.0, 0.0, nan, -1.0],
    );
    check(UnaryOp::Reciprocal, &[0.0, -0.0, inf], &[inf, -inf, 0.0]);
    check(UnaryOp::Log, &[0.0, -1.0, inf, 1.0], &[-inf, nan, inf, 0.0]);
    check(UnaryOp::Sqrt, &[-0.0, -1.0, inf], &[-0.0, nan, inf]);
    check(UnaryOp::Exp, &[-inf, inf, 0.0], &[0.0, inf, 1.0]);
    check(UnaryOp::Sin, &[inf, -0.0], &[nan, -0.0]);
    check(UnaryOp::Cos, &[-inf, 0.0], &[nan, 1.0]);
    check(UnaryOp::Erf, &[inf, -inf, -0.0], &[1.0, -1.0, -0.0]);
    check(
        UnaryOp::HARD_SIGMOID,
        &[nan, 10.0, -10.0, 0.0],
        &[nan, 1.0, 0.0, 0.5],
    );
    check(
        UnaryOp::HardSwish,
        &[nan, inf, -inf, -10.0, 3.0, 0.0],
        &[nan, inf, nan, -0.0, 3.0, 0.0],
    );
    check(
        UnaryOp::Clip { min: 0.0, max: 6.0 },
        &[nan, -0.0, 7.0, -1.0],
        &[nan, -0.0, 6.0, 0.0],
    );
    check(UnaryOp::CLIP, &[nan, -inf, 3.0], &[nan, -inf, 3.0]);
    check(
        UnaryOp::Clip {
            min: 0.0,
            max: f32::NAN,
        },
        &[1.0, nan],
        &[nan, nan],
    );
    check(
        UnaryOp::Softplus,
        &[-inf, inf, nan, 0.0],
        &[0.0, inf, nan, std::f32::consts::LN_2],
    );
    // The negative tail keeps its relative accuracy.
    let mut out = [0.0f32];
    unary(UnaryOp::Softplus, &[-100.0], &mut out).unwrap();
    assert!(ulp_err(out[0], (-100f64).exp()) <= 1.5, "{}", out[0]);
}

#[test]
fn codes_are_stable() {
    let names = [
        (UnaryOp::Abs, 0),
        (UnaryOp::Neg, 1),
        (UnaryOp::Exp, 2),
        (UnaryOp::Log, 3),
        (UnaryOp::Sqrt, 4),
        (UnaryOp::Reciprocal, 5),
        (UnaryOp::Floor, 6),
        (UnaryOp::Ceil, 7),
        (UnaryOp::Round, 8),
        (UnaryOp::Sign, 9),
        (UnaryOp::Sin, 10),
        (UnaryOp::Cos, 11),
        (UnaryOp::Erf, 12),
        (
            UnaryOp::HardSigmoid {
                alpha: 1.0,
                beta: 2.0,
            },
            13,
        ),
        (UnaryOp::HardSwish, 14),
        (
            UnaryOp::Clip {
                min: -1.0,
                max: 1.0,
            },
            15,
        ),
        (UnaryOp::Softplus, 16),
    ];
    for (op, code) in names {
        assert_eq!(op.code(), code, "{op:?}");
        assert_eq!(UnaryOp::from_parts(code, op.params()), Some(op));
        assert_eq!(
            UnaryOp::from_code(code).map(UnaryOp::code),
            Some(code),
            "{op:?}"
        );
    }
    assert_eq!(
        UnaryOp::from_code(13),
        Some(UnaryOp::HardSigmoid {
            alpha: 0.2,
            beta: 0.5
        })
    );
    assert_eq!(
        UnaryOp::from_code(15),
        Some(UnaryOp::Clip {
            min: f32::NEG_INFINITY,
            max: f32::INFINITY
        })
    );
    assert_eq!(UnaryOp::from_code(17), None);
    assert_eq!(UnaryOp::from_parts(99, [0.0; 2]), None);
}

#[test]
fn length_mismatch_is_an_error() {
    let x = [1.0f32; 5];
    let mut out = [0.0f32; 4];
    for op in UnaryOp::ALL {
        assert_eq!(
            unary(op, &x, &mut out),
            Err(Error::DimMismatch {
                op: "unary",
                what: "output length",
                expected: 5,
                got: 4,
            })
        );
    }
    let mut long = [0.0f32; 6];
    assert!(matches!(
        unary(UnaryOp::Abs, &x, &mut long),
        Err(Error::DimMismatch { got: 6, .. })
    ));
    assert_eq!(unary(UnaryOp::Exp, &[], &mut []), Ok(()));
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -10.0f32..10.0,
        3 => -200.0f32..200.0,
        1 => prop::sample::select(vec![
            0.0f32, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.5, -2.5, 1e-40, f32::MAX,
        ]),
        1 => any::<f32>(),
    ]
}

fn op_strategy() -> impl Strategy<Value = UnaryOp> {
    (0u32..17, -3.0f32..3.0, -3.0f32..3.0).prop_map(|(code, p, q)| {
        UnaryOp::from_parts(code, [p.min(q), p.max(q)]).expect("known code")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn slice_paths_match_apply(
        op in op_strategy(),
        x in prop::collection::vec(value(), 0..70),
    ) {
        for (path, got) in both_paths(op, &x) {
            for i in 0..x.len() {
                let want = op.apply(x[i]);
                prop_assert!(same(got[i], want), "{:?} {} at {:e}: {:e} vs {:e}",
                    op, path, x[i], got[i], want);
            }
        }
    }
}
