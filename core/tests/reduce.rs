//! Reductions and argmax/argmin: NumPy fixtures (scripts/fixtures/reduce.py), the fast
//! paths against their reference twins on random shapes, hand-computed cases and every
//! error path.
//!
//! Tolerances: `Max`, `Min`, argmax and argmin must match exactly. Sums, means and sums of
//! squares may differ from the exact value by `4 * (len + 1) * f32::EPSILON * sum(|term|)`
//! (divided by `len` for means), products by `4 * (len + 1) * f32::EPSILON * |product|`.

use born_core::kernels::reduce::{
    argmax, argmax_reference, argmin, argmin_reference, reduce, reduce_reference, ReduceOp,
};
use born_core::Error;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/reduce.json");

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

fn ints(v: &Value) -> Vec<i32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e.as_i64().expect("int") as i32)
        .collect()
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().expect("uint") as usize
}

/// Equal values (signed zeros equal) or both NaN.
fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Within `bound` of `want`; a non-finite `want` must be matched exactly.
fn close(got: f32, want: f32, bound: f32) -> bool {
    if !want.is_finite() {
        return same(got, want);
    }
    (got - want).abs() <= bound
}

const ALL_OPS: [ReduceOp; 6] = [
    ReduceOp::Sum,
    ReduceOp::Mean,
    ReduceOp::Max,
    ReduceOp::Min,
    ReduceOp::Prod,
    ReduceOp::SumSquares,
];

type ReduceFn = fn(ReduceOp, &[f32], usize, usize, usize, &mut [f32]) -> born_core::Result<()>;
type ArgFn = fn(&[f32], usize, usize, usize, &mut [i32]) -> born_core::Result<()>;

fn run(
    f: ReduceFn,
    op: ReduceOp,
    x: &[f32],
    (outer, len, inner): (usize, usize, usize),
) -> Vec<f32> {
    let mut out = vec![f32::from_bits(0x7fc0_dead); outer * inner];
    f(op, x, outer, len, inner, &mut out).expect("reduce");
    out
}

#[test]
fn numpy_fixtures() {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    let eps = f32::EPSILON;
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let x = floats(&case["x"]);
        for ax in case["axes"].as_array().unwrap() {
            let dims = (
                usize_of(&ax["outer"]),
                usize_of(&ax["len"]),
                usize_of(&ax["inner"]),
            );
            let len = dims.1;
            let abs_sum = floats(&ax["abs_sum"]);
            let sq_sum = floats(&ax["sum_squares"]);
            for f in [reduce, reduce_reference] {
                for op in ALL_OPS {
                    let key = match op {
                        ReduceOp::Sum => "sum",
                        ReduceOp::Mean => "mean",
                        ReduceOp::Max => "max",
                        ReduceOp::Min => "min",
                        ReduceOp::Prod => "prod",
                        ReduceOp::SumSquares => "sum_squares",
                    };
                    let want = floats(&ax[key]);
                    let got = run(f, op, &x, dims);
                    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                        let k = 4.0 * (len as f32 + 1.0) * eps;
                        let ok = match op {
                            ReduceOp::Max | ReduceOp::Min => same(g, w),
                            ReduceOp::Sum => close(g, w, k * abs_sum[i]),
                            ReduceOp::Mean => close(g, w, k * abs_sum[i] / len as f32),
                            ReduceOp::SumSquares => close(g, w, k * sq_sum[i]),
                            ReduceOp::Prod => close(g, w, k * w.abs()),
                        };
                        assert!(ok, "{name} axis {} {op:?}[{i}]: {g} vs {w}", ax["axis"]);
                    }
                    checked += 1;
                }
            }
            let (outer, len, inner) = dims;
            for (key, f) in [
                (
                    "argmax",
                    argmax as fn(&[f32], usize, usize, usize, &mut [i32]) -> _,
                ),
                ("argmax", argmax_reference),
                ("argmin", argmin),
                ("argmin", argmin_reference),
            ] {
                let mut got = vec![-1i32; outer * inner];
                f(&x, outer, len, inner, &mut got).unwrap();
                assert_eq!(got, ints(&ax[key]), "{name} axis {} {key}", ax["axis"]);
            }
        }
    }
    assert!(checked > 100);
}

#[test]
fn hand_computed() {
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    // As [2, 3] along axis 1 and as [2, 3] along axis 0.
    assert_eq!(run(reduce, ReduceOp::Sum, &x, (2, 3, 1)), [6.0, 15.0]);
    assert_eq!(run(reduce, ReduceOp::Sum, &x, (1, 2, 3)), [5.0, 7.0, 9.0]);
    assert_eq!(run(reduce, ReduceOp::Mean, &x, (2, 3, 1)), [2.0, 5.0]);
    assert_eq!(run(reduce, ReduceOp::Max, &x, (1, 2, 3)), [4.0, 5.0, 6.0]);
    assert_eq!(run(reduce, ReduceOp::Min, &x, (2, 3, 1)), [1.0, 4.0]);
    assert_eq!(run(reduce, ReduceOp::Prod, &x, (2, 3, 1)), [6.0, 120.0]);
    assert_eq!(
        run(reduce, ReduceOp::SumSquares, &x, (2, 3, 1)),
        [14.0, 77.0]
    );
    // Max/min propagate NaN.
    let y = [1.0f32, f32::NAN, 3.0];
    assert!(run(reduce, ReduceOp::Max, &y, (1, 3, 1))[0].is_nan());
    assert!(run(reduce, ReduceOp::Min, &y, (1, 3, 1))[0].is_nan());
    // Ties go to the first index; NaN is the extreme for both argmax and argmin.
    let t = [3.0f32, 1.0, 3.0, 1.0, 2.0, 3.0, 1.0, 0.0, 3.0, 1.0];
    let mut i = [0i32; 1];
    argmax(&t, 1, 10, 1, &mut i).unwrap();
    assert_eq!(i, [0]);
    argmin(&t, 1, 10, 1, &mut i).unwrap();
    assert_eq!(i, [7]);
    let n = [
        2.0f32,
        5.0,
        f32::NAN,
        9.0,
        f32::NAN,
        0.0,
        1.0,
        2.0,
        3.0,
        4.0,
    ];
    argmax(&n, 1, 10, 1, &mut i).unwrap();
    assert_eq!(i, [2]);
    argmin(&n, 1, 10, 1, &mut i).unwrap();
    assert_eq!(i, [2]);
    // Signed zeros tie.
    let z = [-0.0f32, 0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    argmax(&z, 1, 11, 1, &mut i).unwrap();
    assert_eq!(i, [0]);
    // All -inf: the first index.
    let m = [f32::NEG_INFINITY; 19];
    argmax(&m, 1, 19, 1, &mut i).unwrap();
    assert_eq!(i, [0]);
    // A sum is the same bits on every run.
    let big: Vec<f32> = (0..1001)
        .map(|k| ((k * 37) % 101) as f32 * 0.013 - 0.6)
        .collect();
    let a = run(reduce, ReduceOp::Sum, &big, (1, 1001, 1));
    let b = run(reduce, ReduceOp::Sum, &big, (1, 1001, 1));
    assert_eq!(a[0].to_bits(), b[0].to_bits());
    // Longer buffers are fine; only the prefix of `out` is written.
    let mut out = [9.0f32; 4];
    reduce(ReduceOp::Sum, &x, 2, 3, 1, &mut out).unwrap();
    assert_eq!(out, [6.0, 15.0, 9.0, 9.0]);
    // Empty outer or inner: nothing to do.
    reduce(ReduceOp::Max, &[], 0, 4, 3, &mut []).unwrap();
    argmax(&[], 3, 4, 0, &mut []).unwrap();
}

#[test]
fn errors() {
    let x = [0.0f32; 12];
    let mut out = [0.0f32; 12];
    let mut idx = [0i32; 12];
    for op in ALL_OPS {
        for f in [reduce, reduce_reference] {
            assert_eq!(
                f(op, &x, 3, 0, 4, &mut out),
                Err(Error::ZeroDim {
                    op: "reduce",
                    what: "reduced axis length"
                })
            );
            assert_eq!(
                f(op, &x[..11], 3, 2, 2, &mut out),
                Err(Error::BufferTooSmall {
                    op: "reduce",
                    what: "input",
                    needed: 12,
                    len: 11
                })
            );
            assert_eq!(
                f(op, &x, 3, 2, 2, &mut out[..5]),
                Err(Error::BufferTooSmall {
                    op: "reduce",
                    what: "output",
                    needed: 6,
                    len: 5
                })
            );
            assert_eq!(
                f(op, &x, usize::MAX, 2, 2, &mut out),
                Err(Error::Overflow { op: "reduce" })
            );
        }
    }
    let arg_fns: [(&str, ArgFn); 4] = [
        ("argmax", argmax),
        ("argmax", argmax_reference),
        ("argmin", argmin),
        ("argmin", argmin_reference),
    ];
    for (name, f) in arg_fns {
        assert_eq!(
            f(&x, 2, 0, 3, &mut idx),
            Err(Error::ZeroDim {
                op: name,
                what: "reduced axis length"
            })
        );
        assert_eq!(
            f(&x, 2, 7, 1, &mut idx),
            Err(Error::BufferTooSmall {
                op: name,
                what: "input",
                needed: 14,
                len: 12
            })
        );
        assert_eq!(
            f(&x, 4, 3, 1, &mut idx[..3]),
            Err(Error::BufferTooSmall {
                op: name,
                what: "output",
                needed: 4,
                len: 3
            })
        );
        assert_eq!(
            f(&x, 2, 2, usize::MAX, &mut idx),
            Err(Error::Overflow { op: name })
        );
        // Indices past i32::MAX cannot be returned (checked before the buffers).
        assert_eq!(
            f(&[], 0, (1usize << 31) + 1, 1, &mut []),
            Err(Error::InvalidArgument {
                op: name,
                what: "reduced axis too long for i32 indices"
            })
        );
    }
}

fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        Just(3),
        Just(7),
        Just(8),
        Just(9),
        Just(15),
        Just(16),
        Just(17),
        Just(33),
        1usize..80
    ]
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        30 => -4.0f32..4.0,
        2 => (-3i32..4).prop_map(|v| v as f32),
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fast_matches_reference(
        outer in 1usize..4,
        len in dim(),
        inner in dim(),
        seed in proptest::collection::vec(value(), 1..90),
        finite_only in any::<bool>(),
    ) {
        let n = outer * len * inner;
        let mut x: Vec<f32> = (0..n).map(|i| seed[(i * 11 + i / 7) % seed.len()]).collect();
        if finite_only {
            for v in &mut x {
                if !v.is_finite() {
                    *v = 0.5;
                }
            }
        }
        let dims = (outer, len, inner);
        let abs: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        let abs_sum = run(reduce_reference, ReduceOp::Sum, &abs, dims);
        let sq_sum = run(reduce_reference, ReduceOp::SumSquares, &x, dims);
        let k = 4.0 * (len as f32 + 1.0) * f32::EPSILON;
        for op in ALL_OPS {
            // Products of values near 1, so that no order overflows.
            let xo: Vec<f32> = if op == ReduceOp::Prod {
                x.iter().map(|v| 1.0 + v / 16.0).collect()
            } else {
                x.clone()
            };
            let got = run(reduce, op, &xo, dims);
            let want = run(reduce_reference, op, &xo, dims);
            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                let ok = match op {
                    ReduceOp::Max | ReduceOp::Min => same(g, w),
                    ReduceOp::Sum => close(g, w, 2.0 * k * abs_sum[i]),
                    ReduceOp::Mean => close(g, w, 2.0 * k * abs_sum[i] / len as f32),
                    ReduceOp::SumSquares => close(g, w, 2.0 * k * sq_sum[i]),
                    ReduceOp::Prod => close(g, w, 2.0 * k * w.abs()),
                };
                prop_assert!(ok, "{:?} {:?}[{}]: {} vs {}", op, dims, i, g, w);
            }
        }
        let mut a = vec![0i32; outer * inner];
        let mut b = vec![0i32; outer * inner];
        argmax(&x, outer, len, inner, &mut a).unwrap();
        argmax_reference(&x, outer, len, inner, &mut b).unwrap();
        prop_assert_eq!(&a, &b);
        argmin(&x, outer, len, inner, &mut a).unwrap();
        argmin_reference(&x, outer, len, inner, &mut b).unwrap();
        prop_assert_eq!(&a, &b);
    }
}
