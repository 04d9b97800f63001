//! Tests of `born_core::kernels::softmax`.
//!
//! Tolerances (per element, against float64 NumPy values or the reference twin):
//! - softmax: `|got - want| <= |want| * 2e-7 * (6 + |x - max| + sqrt(len))`: the rounding of
//!   `x - max` (relative `|x - max| * 2^-24` after the exponential), a few ulp for exp and the
//!   division, and the f32 sum (about `sqrt(len)` ulp on random data).
//! - log-softmax: `|got - want| <= 2e-7 * (6 + |x - max| + |want| + sqrt(len))`.
//!
//! NaN must give NaN and infinities must match exactly.

use born_core::kernels::math::Isa;
use born_core::kernels::softmax::{
    log_softmax, log_softmax_reference, log_softmax_with, softmax, softmax_inplace,
    softmax_reference, softmax_with,
};
use born_core::Error;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/softmax.json");

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

fn available() -> impl Iterator<Item = Isa> {
    Isa::ALL.into_iter().filter(|i| i.is_available())
}

/// For each element, `|x - max|` of its slice (infinite where the slice is degenerate).
fn dist_to_max(x: &[f32], outer: usize, len: usize, inner: usize) -> Vec<f64> {
    let mut d = vec![0.0; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let idx = |l: usize| (o * len + l) * inner + i;
            let m = (0..len).fold(f32::NEG_INFINITY, |m, l| m.max(x[idx(l)]));
            for l in 0..len {
                d[idx(l)] = (x[idx(l)] as f64 - m as f64).abs();
            }
        }
    }
    d
}

fn check(kind: &str, got: &[f32], want: &[f32], dist: &[f64], len: usize, what: &str) {
    let root = (len as f64).sqrt();
    for i in 0..want.len() {
        let (g, w) = (got[i], want[i]);
        if w.is_nan() || !w.is_finite() {
            assert!(
                (w.is_nan() && g.is_nan()) || g == w,
                "{what} {kind}[{i}]: {g} vs {w}"
            );
            continue;
        }
        let d = if dist[i].is_finite() { dist[i] } else { 0.0 };
        let tol = if kind == "softmax" {
            (w as f64).abs() * 2e-7 * (6.0 + d + root)
        } else {
            2e-7 * (6.0 + d + (w as f64).abs() + root)
        };
        assert!(
            ((g as f64) - (w as f64)).abs() <= tol,
            "{what} {kind}[{i}]: {g:e} vs {w:e} (tol {tol:e})"
        );
    }
}

/// Runs every softmax path: (name, output).
fn softmax_paths(x: &[f32], dims: (usize, usize, usize)) -> Vec<(String, Vec<f32>)> {
    let (outer, len, inner) = dims;
    let mut res = Vec::new();
    let mut out = vec![0.0; x.len()];
    softmax_reference(x, &mut out, outer, len, inner).unwrap();
    res.push(("reference".to_string(), out.clone()));
    softmax(x, &mut out, outer, len, inner).unwrap();
    res.push(("dispatch".to_string(), out.clone()));
    for isa in available() {
        softmax_with(isa, x, &mut out, outer, len, inner).unwrap();
        res.push((format!("{isa:?}"), out.clone()));
    }
    let mut inplace = x.to_vec();
    softmax_inplace(&mut inplace, outer, len, inner).unwrap();
    res.push(("inplace".to_string(), inplace));
    res
}

fn log_softmax_paths(x: &[f32], dims: (usize, usize, usize)) -> Vec<(String, Vec<f32>)> {
    let (outer, len, inner) = dims;
    let mut res = Vec::new();
    let mut out = vec![0.0; x.len()];
    log_softmax_reference(x, &mut out, outer, len, inner).unwrap();
    res.push(("reference".to_string(), out.clone()));
    log_softmax(x, &mut out, outer, len, inner).unwrap();
    res.push(("dispatch".to_string(), out.clone()));
    for isa in available() {
        log_softmax_with(isa, x, &mut out, outer, len, inner).unwrap();
        res.push((format!("{isa:?}"), out.clone()));
    }
    res
}

#[test]
fn numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 16);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let dim = |k: &str| case[k].as_u64().expect("dim") as usize;
        let dims = (dim("outer"), dim("len"), dim("inner"));
        let x = floats(&case["x"]);
        let dist = dist_to_max(&x, dims.0, dims.1, dims.2);
        let want = floats(&case["softmax"]);
        for (path, got) in softmax_paths(&x, dims) {
            check(
                "softmax",
                &got,
                &want,
                &dist,
                dims.1,
                &format!("{name} {path}"),
            );
        }
        let want = floats(&case["log_softmax"]);
        for (path, got) in log_softmax_paths(&x, dims) {
            check(
                "log_softmax",
                &got,
                &want,
                &dist,
                dims.1,
                &format!("{name} {path}"),
            );
        }
    }
}

#[test]
fn hand_cases() {
    // Uniform row, large and masked values, an all -inf row (NaN, as in PyTorch).
    let ninf = f32::NEG_INFINITY;
    let x = [
        3.0, 3.0, 3.0, 3.0, // uniform
        1e30, -1e30, 1e30, 0.0, // huge: two equal maxima
        0.0, ninf, ninf, ninf, // one finite entry
        ninf, ninf, ninf, ninf, // all masked
    ];
    for (path, out) in softmax_paths(&x, (4, 4, 1)) {
        assert_eq!(&out[..4], &[0.25; 4], "{path}");
        assert_eq!(&out[4..8], &[0.5, 0.0, 0.5, 0.0], "{path}");
        assert_eq!(&out[8..12], &[1.0, 0.0, 0.0, 0.0], "{path}");
        assert!(out[12..].iter().all(|v| v.is_nan()), "{path}");
    }
    for (path, out) in log_softmax_paths(&x, (4, 4, 1)) {
        let l4 = -(4f32.ln());
        assert!(
            out[..4].iter().all(|&v| (v - l4).abs() < 1e-6),
            "{path}: {out:?}"
        );
        assert_eq!(out[5], -2e30, "{path}");
        assert_eq!(&out[8..12], &[0.0, ninf, ninf, ninf], "{path}");
        assert!(out[12..].iter().all(|v| v.is_nan()), "{path}");
    }
    // len == 1: every probability is 1 (log 0), strided too.
    for (path, out) in softmax_paths(&[5.0, -7.0, 1e30], (3, 1, 1)) {
        assert_eq!(out, vec![1.0; 3], "{path}");
    }
    for (path, out) in softmax_paths(&[5.0, -7.0, 1e30, 2.0], (1, 1, 4)) {
        assert_eq!(out, vec![1.0; 4], "{path}");
    }
    // Empty outer or inner: nothing to do.
    for (path, out) in softmax_paths(&[], (0, 5, 3)) {
        assert!(out.is_empty(), "{path}");
    }
    for (path, out) in softmax_paths(&[], (2, 5, 0)) {
        assert!(out.is_empty(), "{path}");
    }
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        10 => -10.0f32..10.0,
        2 => -1e4f32..1e4,
        1 => Just(f32::NEG_INFINITY),
        1 => -1e30f32..1e30,
    ]
}

fn dims() -> impl Strategy<Value = (usize, usize, usize)> {
    let len = prop_oneof![
        prop::sample::select(vec![1usize, 2, 3, 7, 8, 9, 15, 16, 17, 33]),
        1usize..80,
    ];
    let inner = prop_oneof![
        3 => Just(1usize),
        1 => prop::sample::select(vec![2usize, 3, 7, 8, 9, 17]),
        1 => 1usize..40,
    ];
    (0usize..4, len, inner)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fast_paths_match_reference(
        (dims, x) in dims().prop_flat_map(|d| (Just(d), prop::collection::vec(value(), d.0 * d.1 * d.2)))
    ) {
        let (outer, len, inner) = dims;
        let dist = dist_to_max(&x, outer, len, inner);
        let mut want = vec![0.0; x.len()];
        softmax_reference(&x, &mut want, outer, len, inner).unwrap();
        for (path, got) in softmax_paths(&x, dims) {
            check("softmax", &got, &want, &dist, len, &path);
        }
        log_softmax_reference(&x, &mut want, outer, len, inner).unwrap();
        for (path, got) in log_softmax_paths(&x, dims) {
            check("log_softmax", &got, &want, &dist, len, &path);
        }
    }
}

#[test]
fn bad_dimensions_are_errors() {
    let x = [0.0f32; 12];
    let mut out = [0.0f32; 12];
    let zero = Err(Error::ZeroDim {
        op: "softmax",
        what: "softmax axis length",
    });
    assert_eq!(softmax(&[], &mut [], 3, 0, 4), zero);
    assert_eq!(softmax_reference(&[], &mut [], 3, 0, 4), zero);
    assert_eq!(softmax_inplace(&mut [], 3, 0, 4), zero);
    assert!(matches!(
        log_softmax(&[], &mut [], 1, 0, 1),
        Err(Error::ZeroDim {
            op: "log_softmax",
            ..
        })
    ));
    let input = Err(Error::DimMismatch {
        op: "softmax",
        what: "input length",
        expected: 10,
        got: 12,
    });
    assert_eq!(softmax(&x, &mut out, 2, 5, 1), input);
    assert_eq!(softmax_reference(&x, &mut out, 2, 5, 1), input);
    let output = Err(Error::DimMismatch {
        op: "softmax",
        what: "output length",
        expected: 12,
        got: 11,
    });
    assert_eq!(softmax(&x, &mut out[..11], 3, 4, 1), output);
    assert_eq!(softmax_reference(&x, &mut out[..11], 3, 4, 1), output);
    assert!(matches!(
        log_softmax_reference(&x, &mut out[..11], 3, 4, 1),
        Err(Error::DimMismatch {
            op: "log_softmax",
            what: "output length",
            ..
        })
    ));
    let mut y = x;
    assert!(matches!(
        softmax_inplace(&mut y, 5, 2, 1),
        Err(Error::DimMismatch { .. })
    ));
    let overflow = Err(Error::Overflow { op: "softmax" });
    assert_eq!(softmax(&x, &mut out, usize::MAX, 2, 2), overflow);
    assert_eq!(softmax_inplace(&mut y, 2, usize::MAX, 2), overflow);
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert!(matches!(
            softmax_with(isa, &x, &mut out, 3, 4, 1),
            Err(Error::InvalidArgument { op: "softmax", .. })
        ));
        assert!(matches!(
            log_softmax_with(isa, &x, &mut out, 3, 4, 1),
            Err(Error::InvalidArgument {
                op: "log_softmax",
                ..
            })
        ));
    }
}
