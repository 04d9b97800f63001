//! Tests of `born_core::kernels::norm`.
//!
//! Tolerance, per element: `|got - want| <= 4e-7 * (4 + sqrt(cols)) * (|g| (1 + |z|) + |b|)`
//! where `z` is the normalised value (computed in f64 here), `g`, `b` the element's gamma and
//! beta (1 and 0 when absent) and `cols` the normalised length (for batch norm, 1): a few ulp
//! for the element's own arithmetic plus the f32 sums' rounding, relative to the size of the
//! terms. `fold_batch_norm`: `4e-7 * |scale|` and `4e-7 * (|beta| + |mean * scale|)`.

use born_core::kernels::math::Isa;
use born_core::kernels::norm::{
    batch_norm, batch_norm_reference, batch_norm_with, fold_batch_norm, layer_norm,
    layer_norm_reference, layer_norm_with, rms_norm, rms_norm_reference, rms_norm_with,
};
use born_core::Error;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/norm.json");

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

fn opt_floats(v: &Value) -> Option<Vec<f32>> {
    if v.is_null() {
        None
    } else {
        Some(floats(v))
    }
}

fn available() -> impl Iterator<Item = Isa> {
    Isa::ALL.into_iter().filter(|i| i.is_available())
}

/// Normalised values in f64: `(x - mean) / sqrt(var + eps)` per row (`rms`: no mean).
fn normalised(x: &[f32], cols: usize, eps: f32, rms: bool) -> Vec<f64> {
    let mut z = Vec::with_capacity(x.len());
    for row in x.chunks(cols) {
        let n = cols as f64;
        let mean = if rms {
            0.0
        } else {
            row.iter().map(|&v| v as f64).sum::<f64>() / n
        };
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let sd = (var + eps as f64).sqrt();
        z.extend(row.iter().map(|&v| (v as f64 - mean) / sd));
    }
    z
}

#[allow(clippy::too_many_arguments)]
fn check(
    what: &str,
    got: &[f32],
    want: &[f32],
    z: &[f64],
    cols: usize,
    per: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
) {
    assert_eq!(got.len(), want.len(), "{what}");
    let c = 4e-7 * (4.0 + (cols as f64).sqrt());
    for i in 0..want.len() {
        // Parameter index: column for row norms, channel for batch norm.
        let p = (i / per) % gamma.or(beta).map_or(1, |v| v.len().max(1));
        let g = gamma.map_or(1.0, |g| g[p] as f64);
        let b = beta.map_or(0.0, |b| b[p] as f64);
        let tol = c * (g.abs() * (1.0 + z[i].abs()) + b.abs());
        let (gv, wv) = (got[i] as f64, want[i] as f64);
        assert!(
            (gv - wv).abs() <= tol || (gv.is_nan() && wv.is_nan()),
            "{what}[{i}]: {gv:e} vs {wv:e} (tol {tol:e})"
        );
    }
}

/// A kernel call on the dispatching path (`None`) or a chosen one.
type PathFn<'a> = dyn Fn(Option<Isa>, &[f32], &mut [f32]) -> Result<(), Error> + 'a;

/// Runs a norm call through every path.
fn paths(run: &PathFn<'_>, x: &[f32]) -> Vec<(String, Vec<f32>)> {
    let mut res = Vec::new();
    let mut out = vec![0.0; x.len()];
    run(None, x, &mut out).unwrap();
    res.push(("dispatch".to_string(), out.clone()));
    for isa in available() {
        run(Some(isa), x, &mut out).unwrap();
        res.push((format!("{isa:?}"), out.clone()));
    }
    res
}

fn layer_paths(
    x: &[f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Vec<(String, Vec<f32>)> {
    let mut out = vec![0.0; x.len()];
    layer_norm_reference(x, &mut out, rows, cols, gamma, beta, eps).unwrap();
    let mut res = vec![("reference".to_string(), out)];
    res.extend(paths(
        &|isa, x, out| match isa {
            None => layer_norm(x, out, rows, cols, gamma, beta, eps),
            Some(isa) => layer_norm_with(isa, x, out, rows, cols, gamma, beta, eps),
        },
        x,
    ));
    res
}

fn rms_paths(
    x: &[f32],
    rows: usize,
    cols: usize,
    gamma: Option<&[f32]>,
    eps: f32,
) -> Vec<(String, Vec<f32>)> {
    let mut out = vec![0.0; x.len()];
    rms_norm_reference(x, &mut out, rows, cols, gamma, eps).unwrap();
    let mut res = vec![("reference".to_string(), out)];
    res.extend(paths(
        &|isa, x, out| match isa {
            None => rms_norm(x, out, rows, cols, gamma, eps),
            Some(isa) => rms_norm_with(isa, x, out, rows, cols, gamma, eps),
        },
        x,
    ));
    res
}

#[allow(clippy::too_many_arguments)]
fn batch_paths(
    x: &[f32],
    n: usize,
    c: usize,
    spatial: usize,
    mean: &[f32],
    var: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
) -> Vec<(String, Vec<f32>)> {
    let mut out = vec![0.0; x.len()];
    batch_norm_reference(x, &mut out, n, c, spatial, mean, var, gamma, beta, eps).unwrap();
    let mut res = vec![("reference".to_string(), out)];
    res.extend(paths(
        &|isa, x, out| match isa {
            None => batch_norm(x, out, n, c, spatial, mean, var, gamma, beta, eps),
            Some(isa) => batch_norm_with(isa, x, out, n, c, spatial, mean, var, gamma, beta, eps),
        },
        x,
    ));
    res
}

/// Normalised batch-norm values in f64.
fn bn_normalised(
    x: &[f32],
    c: usize,
    spatial: usize,
    mean: &[f32],
    var: &[f32],
    eps: f32,
) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = (i / spatial) % c;
            (v as f64 - mean[ch] as f64) / (var[ch] as f64 + eps as f64).sqrt()
        })
        .collect()
}

#[test]
fn numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    let dim = |c: &Value, k: &str| c[k].as_u64().expect("dim") as usize;
    for case in v["layer_norm"].as_array().expect("layer_norm") {
        let (rows, cols) = (dim(case, "rows"), dim(case, "cols"));
        let eps = case["eps"].as_f64().expect("eps") as f32;
        let x = floats(&case["x"]);
        let (gamma, beta) = (opt_floats(&case["gamma"]), opt_floats(&case["beta"]));
        let want = floats(&case["want"]);
        let z = normalised(&x, cols, eps, false);
        for (path, got) in layer_paths(&x, rows, cols, gamma.as_deref(), beta.as_deref(), eps) {
            let what = format!("layer_norm {rows}x{cols} {path}");
            check(
                &what,
                &got,
                &want,
                &z,
                cols,
                1,
                gamma.as_deref(),
                beta.as_deref(),
            );
        }
    }
    for case in v["rms_norm"].as_array().expect("rms_norm") {
        let (rows, cols) = (dim(case, "rows"), dim(case, "cols"));
        let eps = case["eps"].as_f64().expect("eps") as f32;
        let x = floats(&case["x"]);
        let gamma = opt_floats(&case["gamma"]);
        let want = floats(&case["want"]);
        let z = normalised(&x, cols, eps, true);
        for (path, got) in rms_paths(&x, rows, cols, gamma.as_deref(), eps) {
            let what = format!("rms_norm {rows}x{cols} {path}");
            check(&what, &got, &want, &z, cols, 1, gamma.as_deref(), None);
        }
    }
    for case in v["batch_norm"].as_array().expect("batch_norm") {
        let (n, c, spatial) = (dim(case, "n"), dim(case, "c"), dim(case, "spatial"));
        let eps = case["eps"].as_f64().expect("eps") as f32;
        let x = floats(&case["x"]);
        let (mean, var) = (floats(&case["mean"]), floats(&case["var"]));
        let (gamma, beta) = (opt_floats(&case["gamma"]), opt_floats(&case["beta"]));
        let want = floats(&case["want"]);
        let z = bn_normalised(&x, c, spatial, &mean, &var, eps);
        let (g, b) = (gamma.as_deref(), beta.as_deref());
        for (path, got) in batch_paths(&x, n, c, spatial, &mean, &var, g, b, eps) {
            let what = format!("batch_norm {n}x{c}x{spatial} {path}");
            check(&what, &got, &want, &z, 1, spatial, g, b);
        }
        let mut scale = vec![0.0; c];
        let mut shift = vec![0.0; c];
        fold_batch_norm(&mean, &var, g, b, eps, &mut scale, &mut shift).unwrap();
        let (ws, wt) = (floats(&case["scale"]), floats(&case["shift"]));
        for ch in 0..c {
            let tol_s = 4e-7 * ws[ch].abs();
            let bv = b.map_or(0.0, |b| b[ch]);
            let tol_t = 4e-7 * (bv.abs() + (mean[ch] * ws[ch]).abs());
            assert!((scale[ch] - ws[ch]).abs() <= tol_s, "fold scale {ch}");
            assert!((shift[ch] - wt[ch]).abs() <= tol_t, "fold shift {ch}");
        }
    }
}

#[test]
fn large_offset_rows_keep_their_accuracy() {
    // 1e4 + a few ulp of noise: a one-pass variance would be pure rounding error here.
    let cols = 37;
    let x: Vec<f32> = (0..2 * cols)
        .map(|i| 1e4 + ((i * 7919) % 13) as f32 * 0.0009765625)
        .collect();
    let z = normalised(&x, cols, 0.0, false);
    for (path, got) in layer_paths(&x, 2, cols, None, None, 0.0) {
        for i in 0..x.len() {
            assert!(
                (got[i] as f64 - z[i]).abs() <= 1e-5 * (1.0 + z[i].abs()),
                "{path}[{i}]: {} vs {}",
                got[i],
                z[i]
            );
        }
    }
}

#[test]
fn hand_cases() {
    // A constant row with eps = 1: zeros (then beta).
    for (path, got) in layer_paths(&[3.0; 4], 1, 4, None, Some(&[1.0, 2.0, 3.0, 4.0]), 1.0) {
        assert_eq!(got, vec![1.0, 2.0, 3.0, 4.0], "{path}");
    }
    // [1, 3]: mean 2, var 1 -> [-1, 1] (eps 0).
    for (path, got) in layer_paths(&[1.0, 3.0], 1, 2, Some(&[2.0, 2.0]), None, 0.0) {
        assert_eq!(got, vec![-2.0, 2.0], "{path}");
    }
    // RMS of [3, 4] is sqrt(12.5).
    let r = (12.5f64).sqrt();
    for (path, got) in rms_paths(&[3.0, 4.0], 1, 2, None, 0.0) {
        assert!((got[0] as f64 - 3.0 / r).abs() < 1e-6, "{path}");
        assert!((got[1] as f64 - 4.0 / r).abs() < 1e-6, "{path}");
    }
    // Batch norm with var 4, mean 1, gamma 3, beta -1: (x - 1) / 2 * 3 - 1.
    let x = [1.0, 3.0, 5.0, -1.0];
    for (path, got) in batch_paths(
        &x,
        2,
        1,
        2,
        &[1.0],
        &[4.0],
        Some(&[3.0]),
        Some(&[-1.0]),
        0.0,
    ) {
        assert_eq!(got, vec![-1.0, 2.0, 5.0, -4.0], "{path}");
    }
    // Empty batch and zero rows are fine.
    assert_eq!(layer_norm(&[], &mut [], 0, 5, None, None, 1e-5), Ok(()));
    assert_eq!(
        batch_norm(
            &[],
            &mut [],
            0,
            2,
            3,
            &[0.0; 2],
            &[1.0; 2],
            None,
            None,
            1e-5
        ),
        Ok(())
    );
    assert_eq!(
        batch_norm(
            &[],
            &mut [],
            4,
            2,
            0,
            &[0.0; 2],
            &[1.0; 2],
            None,
            None,
            1e-5
        ),
        Ok(())
    );
}

fn row_value() -> impl Strategy<Value = f32> {
    prop_oneof![4 => -5.0f32..5.0, 1 => -1e3f32..1e3]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn row_norms_match_reference(
        (rows, cols, x, gamma, beta, offset) in (0usize..4, prop_oneof![
            prop::sample::select(vec![1usize, 2, 3, 7, 8, 9, 15, 16, 17, 33, 64, 65]),
            1usize..130,
        ]).prop_flat_map(|(rows, cols)| (
            Just(rows),
            Just(cols),
            prop::collection::vec(row_value(), rows * cols),
            prop::option::of(prop::collection::vec(0.1f32..2.0, cols)),
            prop::option::of(prop::collection::vec(-2.0f32..2.0, cols)),
            prop::sample::select(vec![0.0f32, 100.0, -3e3]),
        )),
        eps in prop::sample::select(vec![1e-5f32, 1e-2, 0.0]),
    ) {
        let x: Vec<f32> = x.iter().map(|v| v + offset).collect();
        let (g, b) = (gamma.as_deref(), beta.as_deref());
        // Constant rows with eps = 0 are 0/0 on every path; skip them.
        let degenerate = eps == 0.0 && x.chunks(cols).any(|r| r.iter().all(|&v| v == r[0]));
        if !degenerate {
            let z = normalised(&x, cols, eps, false);
            let paths = layer_paths(&x, rows, cols, g, b, eps);
            for (path, got) in &paths[1..] {
                check(&format!("layer {path}"), got, &paths[0].1, &z, cols, 1, g, b);
            }
        }
        if !(eps == 0.0 && x.chunks(cols).any(|r| r.iter().all(|&v| v == 0.0))) {
            let z = normalised(&x, cols, eps, true);
            let paths = rms_paths(&x, rows, cols, g, eps);
            for (path, got) in &paths[1..] {
                check(&format!("rms {path}"), got, &paths[0].1, &z, cols, 1, g, None);
            }
        }
    }

    #[test]
    fn batch_norm_matches_reference(
        (n, c, spatial, x, mean, var, gamma, beta) in (0usize..3, 1usize..6, prop_oneof![
            prop::sample::select(vec![1usize, 3, 7, 8, 9, 17]),
            1usize..40,
        ]).prop_flat_map(|(n, c, s)| (
            Just(n), Just(c), Just(s),
            prop::collection::vec(-10.0f32..10.0, n * c * s),
            prop::collection::vec(-3.0f32..3.0, c),
            prop::collection::vec(0.0f32..4.0, c),
            prop::option::of(prop::collection::vec(-2.0f32..2.0, c)),
            prop::option::of(prop::collection::vec(-2.0f32..2.0, c)),
        )),
    ) {
        let eps = 1e-5;
        let (g, b) = (gamma.as_deref(), beta.as_deref());
        let z = bn_normalised(&x, c, spatial, &mean, &var, eps);
        let paths = batch_paths(&x, n, c, spatial, &mean, &var, g, b, eps);
        for (path, got) in &paths[1..] {
            check(&format!("batch {path}"), got, &paths[0].1, &z, 1, spatial, g, b);
        }
    }
}

#[test]
fn row_norm_errors() {
    let x = [1.0f32; 12];
    let mut out = [0.0f32; 12];
    let g4 = [1.0f32; 4];
    assert_eq!(
        layer_norm(&[], &mut [], 3, 0, None, None, 1e-5),
        Err(Error::ZeroDim {
            op: "layer_norm",
            what: "normalised length (cols)"
        })
    );
    assert!(matches!(
        rms_norm_reference(&[], &mut [], 3, 0, None, 1e-5),
        Err(Error::ZeroDim { op: "rms_norm", .. })
    ));
    assert_eq!(
        layer_norm(&x, &mut out, 2, 5, None, None, 1e-5),
        Err(Error::DimMismatch {
            op: "layer_norm",
            what: "input length",
            expected: 10,
            got: 12
        })
    );
    assert_eq!(
        layer_norm_reference(&x, &mut out[..8], 3, 4, None, None, 1e-5),
        Err(Error::DimMismatch {
            op: "layer_norm",
            what: "output length",
            expected: 12,
            got: 8
        })
    );
    assert_eq!(
        layer_norm(&x, &mut out, 3, 4, Some(&g4[..3]), None, 1e-5),
        Err(Error::DimMismatch {
            op: "layer_norm",
            what: "gamma length",
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        layer_norm(&x, &mut out, 3, 4, Some(&g4), Some(&[0.0; 5]), 1e-5),
        Err(Error::DimMismatch {
            op: "layer_norm",
            what: "beta length",
            expected: 4,
            got: 5
        })
    );
    assert_eq!(
        rms_norm(&x, &mut out, 2, 6, Some(&g4), 1e-5),
        Err(Error::DimMismatch {
            op: "rms_norm",
            what: "gamma length",
            expected: 6,
            got: 4
        })
    );
    for eps in [-1e-5, f32::NAN, f32::INFINITY] {
        let bad = Err(Error::InvalidArgument {
            op: "layer_norm",
            what: "eps must be finite and >= 0",
        });
        assert_eq!(layer_norm(&x, &mut out, 3, 4, None, None, eps), bad);
        assert_eq!(
            layer_norm_reference(&x, &mut out, 3, 4, None, None, eps),
            bad
        );
        assert!(matches!(
            rms_norm(&x, &mut out, 3, 4, None, eps),
            Err(Error::InvalidArgument { op: "rms_norm", .. })
        ));
    }
    assert_eq!(
        rms_norm(&x, &mut out, usize::MAX, 2, None, 1e-5),
        Err(Error::Overflow { op: "rms_norm" })
    );
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert!(matches!(
            layer_norm_with(isa, &x, &mut out, 3, 4, None, None, 1e-5),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            rms_norm_with(isa, &x, &mut out, 3, 4, None, 1e-5),
            Err(Error::InvalidArgument { .. })
        ));
    }
}

#[test]
fn batch_norm_errors() {
    let x = [1.0f32; 12];
    let mut out = [0.0f32; 12];
    let (m, v) = ([0.0f32; 3], [1.0f32; 3]);
    assert_eq!(
        batch_norm(&[], &mut [], 2, 0, 2, &[], &[], None, None, 1e-5),
        Err(Error::ZeroDim {
            op: "batch_norm",
            what: "channels"
        })
    );
    assert_eq!(
        batch_norm(&x, &mut out, 2, 3, 2, &m[..2], &v, None, None, 1e-5),
        Err(Error::DimMismatch {
            op: "batch_norm",
            what: "mean length",
            expected: 3,
            got: 2
        })
    );
    assert_eq!(
        batch_norm_reference(&x, &mut out, 2, 3, 2, &m, &[1.0; 4], None, None, 1e-5),
        Err(Error::DimMismatch {
            op: "batch_norm",
            what: "variance length",
            expected: 3,
            got: 4
        })
    );
    assert_eq!(
        batch_norm(&x, &mut out, 2, 3, 2, &m, &v, Some(&[1.0; 2]), None, 1e-5),
        Err(Error::DimMismatch {
            op: "batch_norm",
            what: "gamma length",
            expected: 3,
            got: 2
        })
    );
    assert_eq!(
        batch_norm(&x, &mut out, 2, 3, 2, &m, &v, None, Some(&[1.0; 1]), 1e-5),
        Err(Error::DimMismatch {
            op: "batch_norm",
            what: "beta length",
            expected: 3,
            got: 1
        })
    );
    assert_eq!(
        batch_norm(&x, &mut out, 2, 3, 3, &m, &v, None, None, 1e-5),
        Err(Error::DimMismatch {
            op: "batch_norm",
            what: "input length",
            expected: 18,
            got: 12
        })
    );
    assert_eq!(
        batch_norm(&x, &mut out[..6], 2, 3, 2, &m, &v, None, None, 1e-5),
        Err(Error::DimMismatch {
            op: "batch_norm",
            what: "output length",
            expected: 12,
            got: 6
        })
    );
    let neg = Err(Error::InvalidArgument {
        op: "batch_norm",
        what: "variance must be >= 0 (and not NaN)",
    });
    assert_eq!(
        batch_norm(
            &x,
            &mut out,
            2,
            3,
            2,
            &m,
            &[1.0, -0.5, 1.0],
            None,
            None,
            1e-5
        ),
        neg
    );
    assert_eq!(
        batch_norm_reference(
            &x,
            &mut out,
            2,
            3,
            2,
            &m,
            &[1.0, f32::NAN, 1.0],
            None,
            None,
            1e-5
        ),
        neg
    );
    assert!(matches!(
        batch_norm(&x, &mut out, 2, 3, 2, &m, &v, None, None, -1.0),
        Err(Error::InvalidArgument {
            op: "batch_norm",
            ..
        })
    ));
    assert_eq!(
        batch_norm(&x, &mut out, usize::MAX, 3, 2, &m, &v, None, None, 1e-5),
        Err(Error::Overflow { op: "batch_norm" })
    );
    let (mut s, mut t) = ([0.0f32; 3], [0.0f32; 3]);
    assert_eq!(
        fold_batch_norm(&m, &v, None, None, 1e-5, &mut s[..2], &mut t),
        Err(Error::DimMismatch {
            op: "fold_batch_norm",
            what: "scale length",
            expected: 3,
            got: 2
        })
    );
    assert_eq!(
        fold_batch_norm(&m, &v, None, None, 1e-5, &mut s, &mut t[..1]),
        Err(Error::DimMismatch {
            op: "fold_batch_norm",
            what: "shift length",
            expected: 3,
            got: 1
        })
    );
    assert_eq!(
        fold_batch_norm(&m, &v[..1], None, None, 1e-5, &mut s, &mut t),
        Err(Error::DimMismatch {
            op: "fold_batch_norm",
            what: "variance length",
            expected: 3,
            got: 1
        })
    );
    assert_eq!(
        fold_batch_norm(&[], &[], None, None, 1e-5, &mut [], &mut []),
        Err(Error::ZeroDim {
            op: "fold_batch_norm",
            what: "channels"
        })
    );
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert!(matches!(
            batch_norm_with(isa, &x, &mut out, 2, 3, 2, &m, &v, None, None, 1e-5),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
