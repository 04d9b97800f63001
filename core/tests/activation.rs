//! Tests of `born_core::kernels::activation`.
//!
//! - NumPy / `math` fixtures (scripts/fixtures/activation.py): every path within the
//!   activation's error bound (in ulp of the float64 value, plus half an ulp for its rounding).
//! - Dense sweeps against float64 formulas, printing the largest error
//!   (`--nocapture` shows them).
//! - proptest: the portable path is bit-identical to the reference; the AVX2/NEON paths
//!   (fused multiply-adds) are within `SIMD_ULP` of it.
//! - Hand cases (special values) and every error path.
//!
//! Error bounds in ulp of the exact result (subnormal results: units of 2^-149). Relu,
//! Relu6, LeakyRelu, Identity and Sqrt are exact.

use born_core::kernels::activation::{
    activation, activation_inplace, activation_reference, activation_with, Activation,
};
use born_core::kernels::math::Isa;
use born_core::Error;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/activation.json");

/// Largest error against the exact value, in ulp, for each activation at `x`.
fn bound(act: Activation, x: f32) -> f64 {
    base_bound(act) + conditioning(act, x)
}

/// GeluTanh evaluates `x sigmoid(2u)`: the rounding of `2u` (its f32 constants and three
/// operations, up to about 1.5 ulp of it, i.e. `3 |2u|` ulp of the result) is amplified by the
/// exponential in the negative tail.
fn conditioning(act: Activation, x: f32) -> f64 {
    match act {
        Activation::GeluTanh => {
            let x = x as f64;
            let u2 = 2.0 * (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
            if u2 < 0.0 && u2.is_finite() {
                3.0 * -u2
            } else {
                0.0
            }
        }
        _ => 0.0,
    }
}

/// Largest error against the exact value, in ulp, away from ill-conditioned inputs.
fn base_bound(act: Activation) -> f64 {
    match act {
        Activation::Identity
        | Activation::Relu
        | Activation::Relu6
        | Activation::LeakyRelu(_)
        | Activation::Sqrt => 0.0,
        Activation::Exp => 1.0,
        Activation::Tanh => 1.5,
        Activation::Sigmoid => 2.5,
        Activation::Silu => 3.5,
        Activation::GeluTanh => 4.0,
        Activation::Gelu => 7.0,
    }
}

/// Largest difference between a SIMD path and the reference, in ulp of the reference.
const SIMD_ULP: f64 = 4.0;

const ALL: [Activation; 12] = [
    Activation::Identity,
    Activation::Relu,
    Activation::Relu6,
    Activation::LeakyRelu(0.01),
    Activation::LeakyRelu(-0.5),
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::Silu,
    Activation::Exp,
    Activation::Sqrt,
];

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| match e {
            Value::String(s) if s == "nan" => f32::NAN,
            Value::String(s) if s == "inf" => f32::INFINITY,
            Value::String(s) if s == "-inf" => f32::NEG_INFINITY,
            other => other.as_f64().expect("number") as f32,
        })
        .collect()
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

fn available() -> impl Iterator<Item = Isa> {
    Isa::ALL.into_iter().filter(|i| i.is_available())
}

/// Runs every path on `x`: (name, output).
fn all_paths(act: Activation, x: &[f32]) -> Vec<(String, Vec<f32>)> {
    let mut res = Vec::new();
    let mut out = vec![0.0; x.len()];
    activation_reference(act, x, &mut out).unwrap();
    res.push(("reference".to_string(), out.clone()));
    activation(act, x, &mut out).unwrap();
    res.push(("dispatch".to_string(), out.clone()));
    for isa in available() {
        activation_with(isa, act, x, &mut out).unwrap();
        res.push((format!("{isa:?}"), out.clone()));
    }
    let mut inplace = x.to_vec();
    activation_inplace(act, &mut inplace);
    res.push(("inplace".to_string(), inplace));
    res
}

fn parse_act(case: &Value) -> Activation {
    let name = case["name"].as_str().expect("name");
    match name {
        "identity" => Activation::Identity,
        "relu" => Activation::Relu,
        "relu6" => Activation::Relu6,
        "leaky_relu" => Activation::LeakyRelu(case["param"].as_f64().expect("slope") as f32),
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "gelu" => Activation::Gelu,
        "gelu_tanh" => Activation::GeluTanh,
        "silu" => Activation::Silu,
        "exp" => Activation::Exp,
        "sqrt" => Activation::Sqrt,
        other => panic!("unknown activation {other}"),
    }
}

#[test]
fn numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 12);
    for case in cases {
        let act = parse_act(case);
        let (x, want) = (floats(&case["x"]), floats(&case["want"]));
        assert_eq!(x.len(), want.len());
        for (path, got) in all_paths(act, &x) {
            for i in 0..x.len() {
                let e = ulp_err(got[i], want[i] as f64);
                let mut limit = bound(act, x[i]) + 0.5;
                if path != "reference" && path != "Generic" && base_bound(act) > 0.0 {
                    // The SIMD paths may add their own difference to the reference's error.
                    limit += SIMD_ULP + conditioning(act, x[i]);
                }
                assert!(
                    e <= limit,
                    "{act:?} {path}: x = {:e} gave {:e}, want {:e} ({e:.2} ulp)",
                    x[i],
                    got[i],
                    want[i]
                );
            }
        }
    }
}

/// erfc in float64: `1 - erf` (positive series) below 2.5, a continued fraction above.
fn erfc64(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc64(-x);
    }
    if x < 2.5 {
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term > 1e-18 * sum {
            n += 1.0;
            term *= 2.0 * x * x / (2.0 * n + 1.0);
            sum += term;
        }
        return 1.0 - 2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum;
    }
    if x.is_infinite() {
        return 0.0;
    }
    let mut f = x;
    for k in (1..=400).rev() {
        f = x + (k as f64 / 2.0) / f;
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
}

fn sigmoid64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

fn exact(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Sigmoid => sigmoid64(x),
        Activation::Tanh => x.tanh(),
        Activation::Silu => x * sigmoid64(x),
        Activation::Gelu => 0.5 * x * erfc64(-x / std::f64::consts::SQRT_2),
        Activation::GeluTanh => {
            let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
            x * sigmoid64(2.0 * u)
        }
        Activation::Exp => x.exp(),
        _ => unreachable!(),
    }
}

/// Every 211th f32 in [-30, 30] (about 5 million inputs; every `211 * k`-th with
/// `BORN_SWEEP_THIN=k`, as emulated runs set it) through every path, against float64.
#[test]
fn sweeps_against_f64() {
    let step = 211
        * std::env::var("BORN_SWEEP_THIN")
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(1)
            .clamp(1, 1 << 16);
    let acts = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Silu,
        Activation::Gelu,
        Activation::GeluTanh,
    ];
    let mut x = Vec::new();
    let mut b = 0u32;
    while b < 0x41F0_0000 {
        // 0x41F00000 = 30.0
        x.push(f32::from_bits(b));
        x.push(-f32::from_bits(b));
        b += step;
    }
    let mut out = vec![0.0; x.len()];
    for act in acts {
        let mut ref_out = vec![0.0; x.len()];
        activation_reference(act, &x, &mut ref_out).unwrap();
        let mut worst = (0.0f64, 0.0f32);
        for (&xi, &g) in x.iter().zip(&ref_out) {
            let e = ulp_err(g, exact(act, xi as f64)) - conditioning(act, xi);
            if e > worst.0 {
                worst = (e, xi);
            }
        }
        println!(
            "{act:?} reference: max {:.2} ulp (beyond conditioning) at {:e} over {} inputs",
            worst.0,
            worst.1,
            x.len()
        );
        assert!(worst.0 <= base_bound(act), "{act:?}: {worst:?}");
        for isa in available().filter(|&i| i != Isa::Generic) {
            activation_with(isa, act, &x, &mut out).unwrap();
            let mut worst = (0.0f64, 0.0f32);
            for (&xi, &g) in x.iter().zip(&out) {
                let e = ulp_err(g, exact(act, xi as f64)) - conditioning(act, xi);
                if e > worst.0 {
                    worst = (e, xi);
                }
            }
            println!(
                "{act:?} {isa:?}: max {:.2} ulp (beyond conditioning) at {:e}",
                worst.0, worst.1
            );
            assert!(worst.0 <= base_bound(act), "{act:?} {isa:?}: {worst:?}");
        }
    }
}

/// Equal bits, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// `got` within `ulps` of `want` (NaN and infinities must match exactly).
fn near(got: f32, want: f32, ulps: f64) -> bool {
    same(got, want) || ulp_err(got, want as f64) <= ulps
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -8.0f32..8.0,
        4 => -120.0f32..100.0,
        1 => prop::sample::select(vec![
            0.0f32,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e-40,
            -1e-40,
            f32::MAX,
            f32::MIN,
            6.0,
            0.625,
            -0.625,
        ]),
        1 => any::<f32>(),
    ]
}

fn act_strategy() -> impl Strategy<Value = Activation> {
    prop::sample::select(ALL.to_vec())
}

fn lengths() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![0usize, 1, 3, 7, 8, 9, 15, 16, 17, 33, 64, 65]),
        0usize..200,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn fast_paths_match_reference(
        act in act_strategy(),
        x in lengths().prop_flat_map(|n| prop::collection::vec(value(), n)),
    ) {
        let mut want = vec![0.0; x.len()];
        activation_reference(act, &x, &mut want).unwrap();
        let mut got = vec![0.0; x.len()];
        activation_with(Isa::Generic, act, &x, &mut got).unwrap();
        for i in 0..x.len() {
            prop_assert!(same(got[i], want[i]), "{:?} generic at {}: {} vs {}", act, x[i], got[i], want[i]);
        }
        for isa in available() {
            activation_with(isa, act, &x, &mut got).unwrap();
            for i in 0..x.len() {
                let tol = SIMD_ULP + 2.0 * conditioning(act, x[i]);
                prop_assert!(near(got[i], want[i], tol),
                    "{:?} {:?} at {:e}: {:e} vs {:e}", act, isa, x[i], got[i], want[i]);
            }
        }
        let mut inplace = x.clone();
        activation_inplace(act, &mut inplace);
        activation(act, &x, &mut got).unwrap();
        for i in 0..x.len() {
            prop_assert!(same(inplace[i], got[i]), "{:?} in place at {}", act, x[i]);
        }
    }
}

#[test]
fn special_values() {
    let ninf = f32::NEG_INFINITY;
    let inf = f32::INFINITY;
    for act in [Activation::Gelu, Activation::GeluTanh, Activation::Silu] {
        for (path, out) in all_paths(act, &[ninf, inf, f32::NAN, -1000.0]) {
            assert_eq!(out[0], 0.0, "{act:?} {path}(-inf)");
            assert_eq!(out[1], inf, "{act:?} {path}(inf)");
            assert!(out[2].is_nan(), "{act:?} {path}(nan)");
            assert_eq!(out[3], 0.0, "{act:?} {path}(-1000)");
        }
    }
    for (path, out) in all_paths(Activation::Sigmoid, &[ninf, inf, -100.0, f32::NAN]) {
        assert_eq!(&out[..2], &[0.0, 1.0], "{path}");
        assert!(
            ulp_err(out[2], (-100f64).exp()) <= 1.0,
            "{path}: {}",
            out[2]
        );
        assert!(out[3].is_nan(), "{path}");
    }
    for (path, out) in all_paths(Activation::Tanh, &[ninf, inf, -0.0, 20.0]) {
        assert_eq!(&out[..2], &[-1.0, 1.0], "{path}");
        assert_eq!(out[2].to_bits(), (-0.0f32).to_bits(), "{path}");
        assert_eq!(out[3], 1.0, "{path}");
    }
    for (path, out) in all_paths(Activation::Relu, &[f32::NAN, -1.0, 2.0, -0.0]) {
        assert!(out[0].is_nan(), "{path}");
        assert_eq!(&out[1..3], &[0.0, 2.0], "{path}");
    }
    for (path, out) in all_paths(Activation::Relu6, &[f32::NAN, -1.0, 7.0, inf, 3.5]) {
        assert!(out[0].is_nan(), "{path}");
        assert_eq!(&out[1..], &[0.0, 6.0, 6.0, 3.5], "{path}");
    }
    for (path, out) in all_paths(Activation::LeakyRelu(0.1), &[-10.0, 10.0, ninf]) {
        assert_eq!(&out[..], &[-1.0, 10.0, ninf], "{path}");
    }
    for (path, out) in all_paths(Activation::Exp, &[ninf, inf, 0.0, -200.0, 100.0]) {
        assert_eq!(&out[..], &[0.0, inf, 1.0, 0.0, inf], "{path}");
    }
    for (path, out) in all_paths(Activation::Sqrt, &[-1.0, 4.0, -0.0, inf]) {
        assert!(out[0].is_nan(), "{path}");
        assert_eq!(&out[1..], &[2.0, -0.0, inf], "{path}");
    }
    assert!((Activation::Gelu.apply(1.0) as f64 - 0.841_344_746_068_542_9).abs() < 2e-7);
}

#[test]
fn length_mismatch_is_an_error() {
    let x = [1.0f32; 5];
    let mut out = [0.0f32; 4];
    let want = Err(Error::DimMismatch {
        op: "activation",
        what: "output length",
        expected: 5,
        got: 4,
    });
    assert_eq!(activation(Activation::Relu, &x, &mut out), want);
    assert_eq!(activation_reference(Activation::Relu, &x, &mut out), want);
    for isa in available() {
        assert_eq!(activation_with(isa, Activation::Gelu, &x, &mut out), want);
    }
}

#[test]
fn unavailable_isa_is_an_error() {
    let x = [1.0f32; 3];
    let mut out = [0.0f32; 3];
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert!(matches!(
            activation_with(isa, Activation::Relu, &x, &mut out),
            Err(Error::InvalidArgument {
                op: "activation",
                ..
            })
        ));
    }
}
