//! Pooling: NumPy fixtures with PyTorch semantics (scripts/fixtures/pool.py), the fast paths
//! against their reference twins on random geometry, hand-computed cases and every error
//! path.
//!
//! Tolerances: max pooling must match exactly. Average pooling's fast path must match its
//! reference bit for bit; against NumPy's float64 averages both may differ by
//! `1e-5 * (1 + |want|)`. Global average pooling (eight-lane sums) may differ from its
//! reference by `4 * (h*w + 1) * f32::EPSILON * mean(|x|)` and from NumPy by
//! `1e-5 * (1 + |want|)`.

use born_core::kernels::pool::{
    avg_pool2d, avg_pool2d_reference, global_avg_pool2d, global_avg_pool2d_reference, max_pool2d,
    max_pool2d_reference, Pool2d,
};
use born_core::Error;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/pool.json");

type PoolFn = fn(&Pool2d, &[f32], [usize; 4], &mut [f32]) -> born_core::Result<()>;

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

fn dims<const N: usize>(v: &Value) -> [usize; N] {
    let a: Vec<usize> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e.as_u64().expect("uint") as usize)
        .collect();
    a.try_into().expect("length")
}

fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

fn pooled(f: PoolFn, p: &Pool2d, x: &[f32], shape: [usize; 4]) -> Vec<f32> {
    let [oh, ow] = p.output_hw(shape[2], shape[3]).expect("output_hw");
    let mut out = vec![f32::from_bits(0x7fc0_dead); shape[0] * shape[1] * oh * ow];
    f(p, x, shape, &mut out).expect("pool");
    out
}

#[test]
fn numpy_fixtures() {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    let mut checked = 0;
    for case in doc["pool"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let shape: [usize; 4] = dims(&case["shape"]);
        let x = floats(&case["x"]);
        for r in case["results"].as_array().unwrap() {
            let p = Pool2d {
                kernel: dims(&case["kernel"]),
                stride: dims(&case["stride"]),
                padding: dims(&case["padding"]),
                dilation: dims(&case["dilation"]),
                ceil_mode: case["ceil_mode"].as_bool().unwrap(),
                count_include_pad: r["count_include_pad"].as_bool().unwrap(),
            };
            let kind = r["kind"].as_str().unwrap();
            assert_eq!(
                p.output_hw(shape[2], shape[3]).unwrap(),
                dims::<2>(&r["out_hw"]),
                "{name}"
            );
            let want = floats(&r["y"]);
            let (fast, reference): (PoolFn, PoolFn) = if kind == "max" {
                (max_pool2d, max_pool2d_reference)
            } else {
                (avg_pool2d, avg_pool2d_reference)
            };
            let got = pooled(fast, &p, &x, shape);
            let got_ref = pooled(reference, &p, &x, shape);
            assert!(
                same_bits(&got, &got_ref),
                "{kind} {name}: fast != reference"
            );
            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                let ok = if kind == "max" || !w.is_finite() {
                    same(g, w)
                } else {
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs())
                };
                assert!(ok, "{kind} {name} {p:?} [{i}]: {g} vs {w}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 40);
    for case in doc["global_avg"].as_array().unwrap() {
        let shape: [usize; 4] = dims(&case["shape"]);
        let x = floats(&case["x"]);
        let want = floats(&case["y"]);
        for f in [global_avg_pool2d, global_avg_pool2d_reference] {
            let mut got = vec![0.0f32; shape[0] * shape[1]];
            f(&x, shape, &mut got).unwrap();
            for (&g, &w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "{shape:?}: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn output_sizes_follow_pytorch() {
    let p = |k: usize, s: usize, pad: usize, ceil: bool| Pool2d {
        stride: [s, s],
        padding: [pad; 4],
        ceil_mode: ceil,
        ..Pool2d::new([k, k])
    };
    // ResNet stem max pool: 112 -> 56.
    assert_eq!(p(3, 2, 1, false).output_hw(112, 112), Ok([56, 56]));
    assert_eq!(p(2, 2, 0, false).output_hw(7, 9), Ok([3, 4]));
    assert_eq!(p(2, 2, 0, true).output_hw(7, 9), Ok([4, 5]));
    // Ceil mode would start a third window in the trailing padding: dropped.
    assert_eq!(p(2, 2, 1, true).output_hw(3, 3), Ok([2, 2]));
    assert_eq!(p(2, 2, 1, false).output_hw(3, 3), Ok([2, 2]));
    assert_eq!(p(3, 2, 1, true).output_hw(6, 6), Ok([4, 4]));
    assert_eq!(p(3, 2, 1, false).output_hw(6, 6), Ok([3, 3]));
    // In ceil mode PyTorch accepts a kernel overhanging a 1-pixel input.
    assert_eq!(p(2, 2, 0, true).output_hw(1, 1), Ok([1, 1]));
    // Dilation: effective kernel 5.
    let d = Pool2d {
        dilation: [2, 2],
        stride: [1, 1],
        ..Pool2d::new([3, 3])
    };
    assert_eq!(d.output_hw(9, 5), Ok([5, 1]));
    assert_eq!(Pool2d::new([2, 3]).output_hw(8, 9), Ok([4, 3]));
}

#[test]
fn hand_computed() {
    let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
    let p = Pool2d::new([2, 2]);
    assert_eq!(
        pooled(max_pool2d, &p, &x, [1, 1, 4, 4]),
        [5.0, 7.0, 13.0, 15.0]
    );
    assert_eq!(
        pooled(avg_pool2d, &p, &x, [1, 1, 4, 4]),
        [2.5, 4.5, 10.5, 12.5]
    );
    // 3x3 ones, 3x3 kernel, stride 1, padding 1.
    let ones = [1.0f32; 9];
    let mut q = Pool2d {
        stride: [1, 1],
        padding: [1; 4],
        ..Pool2d::new([3, 3])
    };
    assert_eq!(pooled(avg_pool2d, &q, &ones, [1, 1, 3, 3]), [1.0; 9]);
    q.count_include_pad = true;
    let (c, e) = (4.0f32 / 9.0, 6.0f32 / 9.0);
    assert_eq!(
        pooled(avg_pool2d, &q, &ones, [1, 1, 3, 3]),
        [c, e, c, e, 1.0, e, c, e, c]
    );
    // Ceil overhang: the last window covers row/col 5 (input), 6 (padding), 7 (overhang);
    // with count_include_pad the divisor counts 2x2, not 3x3.
    let six = [1.0f32; 36];
    let r = Pool2d {
        stride: [2, 2],
        padding: [1; 4],
        ceil_mode: true,
        count_include_pad: true,
        ..Pool2d::new([3, 3])
    };
    let out = pooled(avg_pool2d, &r, &six, [1, 1, 6, 6]);
    assert_eq!(out[15], 0.25);
    // Max pooling: padding is -inf, so a negative input stays the max.
    let neg = [-1.0f32; 9];
    let m = Pool2d {
        stride: [1, 1],
        padding: [1; 4],
        ..Pool2d::new([3, 3])
    };
    assert_eq!(pooled(max_pool2d, &m, &neg, [1, 1, 3, 3]), [-1.0; 9]);
    // NaN propagates.
    let mut nan = x.clone();
    nan[5] = f32::NAN;
    let out = pooled(max_pool2d, &p, &nan, [1, 1, 4, 4]);
    assert!(out[0].is_nan());
    assert_eq!(&out[1..], [7.0, 13.0, 15.0]);
    // Global average, with a longer output buffer left untouched past N*C.
    let mut g = [9.0f32; 3];
    global_avg_pool2d(&x, [1, 2, 2, 4], &mut g).unwrap();
    assert_eq!(g, [3.5, 11.5, 9.0]);
    // Empty batch: nothing to do.
    max_pool2d(&p, &[], [0, 3, 4, 4], &mut []).unwrap();
}

#[test]
fn errors() {
    let x = [0.0f32; 64];
    let mut out = [0.0f32; 64];
    let fns: [(&str, PoolFn); 4] = [
        ("max_pool2d", max_pool2d),
        ("max_pool2d", max_pool2d_reference),
        ("avg_pool2d", avg_pool2d),
        ("avg_pool2d", avg_pool2d_reference),
    ];
    let base = Pool2d::new([2, 2]);
    for (op, f) in fns {
        let bad = |p: Pool2d, shape: [usize; 4], x: &[f32], out: &mut [f32]| f(&p, x, shape, out);
        let s = [1, 1, 8, 8];
        assert_eq!(
            bad(Pool2d::new([0, 2]), s, &x, &mut out),
            Err(Error::ZeroDim {
                op,
                what: "kernel height"
            })
        );
        assert_eq!(
            bad(Pool2d::new([2, 0]), s, &x, &mut out),
            Err(Error::ZeroDim {
                op,
                what: "kernel width"
            })
        );
        assert_eq!(
            bad(
                Pool2d {
                    stride: [0, 1],
                    ..base
                },
                s,
                &x,
                &mut out
            ),
            Err(Error::InvalidArgument {
                op,
                what: "stride height must be at least 1"
            })
        );
        assert_eq!(
            bad(
                Pool2d {
                    stride: [1, 0],
                    ..base
                },
                s,
                &x,
                &mut out
            ),
            Err(Error::InvalidArgument {
                op,
                what: "stride width must be at least 1"
            })
        );
        assert_eq!(
            bad(
                Pool2d {
                    dilation: [1, 0],
                    ..base
                },
                s,
                &x,
                &mut out
            ),
            Err(Error::InvalidArgument {
                op,
                what: "dilation width must be at least 1"
            })
        );
        // Padding above kernel / 2 (2 > 3 / 2) is rejected, as in PyTorch.
        let k3 = Pool2d::new([3, 3]);
        assert_eq!(
            bad(
                Pool2d {
                    padding: [0, 0, 2, 0],
                    ..k3
                },
                s,
                &x,
                &mut out
            ),
            Err(Error::InvalidArgument {
                op,
                what: "top/bottom padding exceeds half the kernel height"
            })
        );
        assert_eq!(
            bad(
                Pool2d {
                    padding: [0, 2, 0, 0],
                    ..k3
                },
                s,
                &x,
                &mut out
            ),
            Err(Error::InvalidArgument {
                op,
                what: "left/right padding exceeds half the kernel width"
            })
        );
        // A 3-wide kernel does not fit a 2-wide unpadded input; dilation 4 stretches a
        // 2-tall kernel to 5 rows, more than 4.
        assert_eq!(
            bad(k3, [1, 1, 8, 2], &x, &mut out),
            Err(Error::InvalidArgument {
                op,
                what: "dilated kernel width exceeds the padded input width"
            })
        );
        assert_eq!(
            bad(
                Pool2d {
                    dilation: [4, 1],
                    ..base
                },
                [1, 1, 4, 8],
                &x,
                &mut out
            ),
            Err(Error::InvalidArgument {
                op,
                what: "dilated kernel height exceeds the padded input height"
            })
        );
        assert_eq!(
            bad(base, [1, 1, 0, 8], &x, &mut out),
            Err(Error::ZeroDim {
                op,
                what: "input height"
            })
        );
        assert_eq!(
            bad(base, [1, 1, 8, 0], &x, &mut out),
            Err(Error::ZeroDim {
                op,
                what: "input width"
            })
        );
        assert_eq!(
            bad(base, [2, 1, 8, 8], &x, &mut out),
            Err(Error::BufferTooSmall {
                op,
                what: "input",
                needed: 128,
                len: 64
            })
        );
        assert_eq!(
            bad(base, [1, 1, 8, 8], &x, &mut out[..15]),
            Err(Error::BufferTooSmall {
                op,
                what: "output",
                needed: 16,
                len: 15
            })
        );
        assert_eq!(
            bad(base, [usize::MAX, 2, 8, 8], &x, &mut out),
            Err(Error::Overflow { op })
        );
        assert_eq!(
            bad(
                Pool2d {
                    kernel: [usize::MAX, 2],
                    dilation: [2, 1],
                    ..base
                },
                [1, 1, 8, 8],
                &x,
                &mut out
            ),
            Err(Error::Overflow { op })
        );
    }
    assert_eq!(
        Pool2d::new([2, 2]).output_hw(1, 4),
        Err(Error::InvalidArgument {
            op: "pool2d",
            what: "dilated kernel height exceeds the padded input height"
        })
    );
    let op = "global_avg_pool2d";
    for f in [global_avg_pool2d, global_avg_pool2d_reference] {
        assert_eq!(
            f(&x, [1, 1, 0, 4], &mut out),
            Err(Error::ZeroDim {
                op,
                what: "input height"
            })
        );
        assert_eq!(
            f(&x, [1, 1, 4, 0], &mut out),
            Err(Error::ZeroDim {
                op,
                what: "input width"
            })
        );
        assert_eq!(
            f(&x, [2, 3, 4, 4], &mut out),
            Err(Error::BufferTooSmall {
                op,
                what: "input",
                needed: 96,
                len: 64
            })
        );
        assert_eq!(
            f(&x, [2, 2, 4, 4], &mut out[..3]),
            Err(Error::BufferTooSmall {
                op,
                what: "output",
                needed: 4,
                len: 3
            })
        );
        assert_eq!(
            f(&x, [usize::MAX, 3, 1, 1], &mut out),
            Err(Error::Overflow { op })
        );
    }
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        30 => -4.0f32..4.0,
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(f32::INFINITY),
    ]
}

fn size() -> impl Strategy<Value = usize> {
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
        1usize..40
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fast_matches_reference(
        n in 1usize..3,
        c in 1usize..3,
        h in size(),
        w in size(),
        k in (1usize..5, 1usize..5),
        s in (1usize..4, 1usize..4),
        d in (1usize..3, 1usize..3),
        pad in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
        ceil in any::<bool>(),
        include_pad in any::<bool>(),
        two_by_two in any::<bool>(),
        seed in proptest::collection::vec(value(), 1..60),
    ) {
        let p = if two_by_two {
            Pool2d { ceil_mode: ceil, count_include_pad: include_pad, ..Pool2d::new([2, 2]) }
        } else {
            Pool2d {
                kernel: [k.0, k.1],
                stride: [s.0, s.1],
                padding: [pad.0.min(k.0 / 2), pad.1.min(k.1 / 2), pad.2.min(k.0 / 2), pad.3.min(k.1 / 2)],
                dilation: [d.0, d.1],
                ceil_mode: ceil,
                count_include_pad: include_pad,
            }
        };
        let shape = [n, c, h, w];
        let x: Vec<f32> = (0..n * c * h * w).map(|i| seed[(i * 13 + i / 3) % seed.len()]).collect();
        if p.output_hw(h, w).is_err() {
            let mut out = [0.0f32; 1];
            prop_assert_eq!(max_pool2d(&p, &x, shape, &mut out), max_pool2d_reference(&p, &x, shape, &mut out));
            return Ok(());
        }
        let got = pooled(max_pool2d, &p, &x, shape);
        let want = pooled(max_pool2d_reference, &p, &x, shape);
        prop_assert!(same_bits(&got, &want), "max {:?} {:?}", p, shape);
        let got = pooled(avg_pool2d, &p, &x, shape);
        let want = pooled(avg_pool2d_reference, &p, &x, shape);
        prop_assert!(same_bits(&got, &want), "avg {:?} {:?}", p, shape);
    }

    #[test]
    fn global_fast_matches_reference(
        n in 1usize..3,
        c in 1usize..4,
        h in size(),
        w in size(),
        seed in proptest::collection::vec(-4.0f32..4.0, 1..60),
    ) {
        let shape = [n, c, h, w];
        let x: Vec<f32> = (0..n * c * h * w).map(|i| seed[(i * 13 + i / 3) % seed.len()]).collect();
        let mut got = vec![0.0f32; n * c];
        let mut want = vec![0.0f32; n * c];
        global_avg_pool2d(&x, shape, &mut got).unwrap();
        global_avg_pool2d_reference(&x, shape, &mut want).unwrap();
        let hw = h * w;
        for (i, (&g, &v)) in got.iter().zip(&want).enumerate() {
            let mean_abs: f32 = x[i * hw..(i + 1) * hw].iter().map(|v| v.abs()).sum::<f32>() / hw as f32;
            let bound = 4.0 * (hw as f32 + 1.0) * f32::EPSILON * mean_abs;
            prop_assert!((g - v).abs() <= bound, "{:?}[{}]: {} vs {}", shape, i, g, v);
        }
    }
}
