//! Tests of `born_core::kernels::compare`.
//!
//! - NumPy fixtures (scripts/fixtures/compare.py): float32 and int32 comparisons and the
//!   logical ops on bytes, with broadcasting, must match NumPy exactly (NaN compares false,
//!   `-0 == +0`, nonzero bytes are true, outputs are 0/1).
//! - proptest: random broadcastable shapes against a naive multi-index reference written
//!   here, for f32, i32 and the logical ops.
//! - Every error path, with its exact variant.

use born_core::kernels::compare::{compare, logical, not, CompareOp, LogicOp};
use born_core::{Error, Shape};
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/compare.json");

const OPS: [(CompareOp, &str); 5] = [
    (CompareOp::Equal, "equal"),
    (CompareOp::Less, "less"),
    (CompareOp::LessOrEqual, "less_equal"),
    (CompareOp::Greater, "greater"),
    (CompareOp::GreaterOrEqual, "greater_equal"),
];

const LOGIC: [(LogicOp, &str); 3] = [
    (LogicOp::And, "and"),
    (LogicOp::Or, "or"),
    (LogicOp::Xor, "xor"),
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

fn ints<T: TryFrom<i64>>(v: &Value) -> Vec<T> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| {
            T::try_from(e.as_i64().expect("integer"))
                .ok()
                .expect("in range")
        })
        .collect()
}

fn shape(v: &Value) -> Shape {
    let dims: Vec<usize> = v
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    Shape::new(&dims).expect("rank")
}

#[test]
fn numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 16);
    for case in cases {
        let (sa, sb, so) = (
            shape(&case["a_shape"]),
            shape(&case["b_shape"]),
            shape(&case["out_shape"]),
        );
        let mut out = vec![7u8; so.numel()];
        let (fa, fb) = (floats(&case["fa"]), floats(&case["fb"]));
        let (ia, ib) = (ints::<i32>(&case["ia"]), ints::<i32>(&case["ib"]));
        for (op, name) in OPS {
            compare(op, &fa, &sa, &fb, &sb, &mut out, &so).unwrap();
            let want: Vec<u8> = ints(&case[format!("f_{name}").as_str()]);
            assert_eq!(out, want, "f32 {op:?} {sa} vs {sb}");
            compare(op, &ia, &sa, &ib, &sb, &mut out, &so).unwrap();
            let want: Vec<u8> = ints(&case[format!("i_{name}").as_str()]);
            assert_eq!(out, want, "i32 {op:?} {sa} vs {sb}");
        }
        let (ba, bb) = (ints::<u8>(&case["ba"]), ints::<u8>(&case["bb"]));
        for (op, name) in LOGIC {
            logical(op, &ba, &sa, &bb, &sb, &mut out, &so).unwrap();
            let want: Vec<u8> = ints(&case[name]);
            assert_eq!(out, want, "{op:?} {sa} vs {sb}");
        }
        let mut negated = vec![7u8; ba.len()];
        not(&ba, &mut negated).unwrap();
        assert_eq!(negated, ints::<u8>(&case["not"]), "not {sa}");
    }
}

#[test]
fn nan_and_signed_zero() {
    let s = Shape::new(&[4]).unwrap();
    let a = [f32::NAN, f32::NAN, -0.0, 1.0];
    let b = [f32::NAN, 1.0, 0.0, f32::NAN];
    let mut out = [9u8; 4];
    let want = [
        (CompareOp::Equal, [0, 0, 1, 0]),
        (CompareOp::Less, [0, 0, 0, 0]),
        (CompareOp::LessOrEqual, [0, 0, 1, 0]),
        (CompareOp::Greater, [0, 0, 0, 0]),
        (CompareOp::GreaterOrEqual, [0, 0, 1, 0]),
    ];
    for (op, w) in want {
        compare(op, &a, &s, &b, &s, &mut out, &s).unwrap();
        assert_eq!(out, w, "{op:?}");
        for i in 0..4 {
            assert_eq!(u8::from(op.apply(a[i], b[i])), w[i], "{op:?} apply");
        }
    }
}

#[test]
fn logical_treats_nonzero_as_true() {
    assert_eq!(LogicOp::And.apply(2, 255), 1);
    assert_eq!(LogicOp::Xor.apply(2, 255), 0);
    assert_eq!(LogicOp::Or.apply(0, 0), 0);
    let s = Shape::new(&[3]).unwrap();
    let mut out = [9u8; 3];
    logical(LogicOp::Xor, &[0, 7, 200], &s, &[1, 0, 3], &s, &mut out, &s).unwrap();
    assert_eq!(out, [1, 1, 0]);
    not(&[0, 1, 128], &mut out).unwrap();
    assert_eq!(out, [1, 0, 0]);
}

#[test]
fn scalar_and_empty() {
    let sc = Shape::SCALAR;
    let mut out = [9u8; 1];
    compare(CompareOp::Less, &[1u8], &sc, &[2u8], &sc, &mut out, &sc).unwrap();
    assert_eq!(out, [1]);
    let e = Shape::new(&[0, 3]).unwrap();
    let row = Shape::new(&[3]).unwrap();
    let mut none: [u8; 0] = [];
    compare(
        CompareOp::Equal,
        &[0.0f32; 0],
        &e,
        &[1.0; 3],
        &row,
        &mut none,
        &e,
    )
    .unwrap();
    logical(LogicOp::And, &[], &e, &[1; 3], &row, &mut none, &e).unwrap();
    not(&[], &mut none).unwrap();
}

#[test]
fn errors() {
    let s23 = Shape::new(&[2, 3]).unwrap();
    let s3 = Shape::new(&[3]).unwrap();
    let s4 = Shape::new(&[4]).unwrap();
    let s33 = Shape::new(&[3, 3]).unwrap();
    let a = [0.0f32; 6];
    let mut out = [0u8; 6];
    assert_eq!(
        compare(CompareOp::Equal, &a, &s23, &[0.0; 4], &s4, &mut out, &s23),
        Err(Error::BroadcastMismatch {
            op: "compare",
            lhs: s23,
            rhs: s4
        })
    );
    assert_eq!(
        compare(CompareOp::Less, &a, &s23, &[0.0; 3], &s3, &mut [0; 9], &s33),
        Err(Error::ShapeMismatch {
            op: "compare",
            expected: s23,
            got: s33
        })
    );
    assert_eq!(
        compare(
            CompareOp::Less,
            &a[..5],
            &s23,
            &[0.0; 3],
            &s3,
            &mut out,
            &s23
        ),
        Err(Error::DimMismatch {
            op: "compare",
            what: "lhs length",
            expected: 6,
            got: 5
        })
    );
    assert_eq!(
        compare(CompareOp::Less, &a, &s23, &[0.0; 4], &s3, &mut out, &s23),
        Err(Error::DimMismatch {
            op: "compare",
            what: "rhs length",
            expected: 3,
            got: 4
        })
    );
    assert_eq!(
        compare(
            CompareOp::Less,
            &a,
            &s23,
            &[0.0; 3],
            &s3,
            &mut out[..4],
            &s23
        ),
        Err(Error::DimMismatch {
            op: "compare",
            what: "output length",
            expected: 6,
            got: 4
        })
    );
    let huge = Shape::new(&[usize::MAX, 2]).unwrap();
    assert_eq!(
        compare(
            CompareOp::Less,
            &a,
            &huge,
            &[0.0; 2],
            &Shape::new(&[2]).unwrap(),
            &mut out,
            &huge
        ),
        Err(Error::Overflow { op: "compare" })
    );
    let b = [0u8; 6];
    assert_eq!(
        logical(LogicOp::Or, &b, &s23, &[0; 4], &s4, &mut out, &s23),
        Err(Error::BroadcastMismatch {
            op: "logical",
            lhs: s23,
            rhs: s4
        })
    );
    assert_eq!(
        logical(LogicOp::Or, &b, &s23, &[0; 3], &s3, &mut [0; 9], &s33),
        Err(Error::ShapeMismatch {
            op: "logical",
            expected: s23,
            got: s33
        })
    );
    assert_eq!(
        logical(LogicOp::And, &b, &s23, &[0; 2], &s3, &mut out, &s23),
        Err(Error::DimMismatch {
            op: "logical",
            what: "rhs length",
            expected: 3,
            got: 2
        })
    );
    assert_eq!(
        not(&b, &mut out[..5]),
        Err(Error::DimMismatch {
            op: "not",
            what: "output length",
            expected: 6,
            got: 5
        })
    );
}

/// Offset into an operand of shape `s` of output element `flat` (naive: one division per
/// axis).
fn locate(s: &[usize], out: &[usize], mut flat: usize) -> usize {
    let off = out.len() - s.len();
    let mut idx = 0;
    let mut stride = 1;
    let mut coords = vec![0; out.len()];
    for axis in (0..out.len()).rev() {
        coords[axis] = flat % out[axis];
        flat /= out[axis];
    }
    for axis in (0..s.len()).rev() {
        if s[axis] != 1 {
            idx += coords[axis + off] * stride;
        }
        stride *= s[axis];
    }
    idx
}

/// An output shape and two operand shapes that broadcast to it.
fn shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>)> {
    prop::collection::vec(prop_oneof![6 => 1usize..5, 1 => Just(0usize)], 0..=6)
        .prop_flat_map(|out| {
            let r = out.len();
            let pick = move || {
                let out = out.clone();
                (0..=r, prop::collection::vec(any::<bool>(), r)).prop_map(move |(rank, ones)| {
                    out[r - rank..]
                        .iter()
                        .zip(&ones[r - rank..])
                        .map(|(&d, &one)| if one { 1 } else { d })
                        .collect::<Vec<usize>>()
                })
            };
            (pick(), pick())
        })
        .prop_map(|(a, b)| {
            let (sa, sb) = (Shape::new(&a).unwrap(), Shape::new(&b).unwrap());
            let out = sa.broadcast(&sb).unwrap().dims().to_vec();
            (a, b, out)
        })
}

fn value() -> impl Strategy<Value = f32> {
    prop::sample::select(vec![-1.0f32, -0.0, 0.0, 0.5, 1.0, f32::NAN, f32::INFINITY])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn broadcast_matches_naive(
        (sa, sb, so) in shapes(),
        seed in prop::collection::vec(value(), 64),
        bytes in prop::collection::vec(prop::sample::select(vec![0u8, 1, 3, 255]), 64),
    ) {
        let numel = |s: &[usize]| s.iter().product::<usize>();
        let fa: Vec<f32> = (0..numel(&sa)).map(|i| seed[i % 64]).collect();
        let fb: Vec<f32> = (0..numel(&sb)).map(|i| seed[(i * 7 + 3) % 64]).collect();
        let ia: Vec<i32> = (0..numel(&sa)).map(|i| (i % 5) as i32 - 2).collect();
        let ib: Vec<i32> = (0..numel(&sb)).map(|i| (i % 3) as i32 - 1).collect();
        let ba: Vec<u8> = (0..numel(&sa)).map(|i| bytes[i % 64]).collect();
        let bb: Vec<u8> = (0..numel(&sb)).map(|i| bytes[(i * 5 + 1) % 64]).collect();
        let (a_s, b_s, o_s) = (Shape::new(&sa).unwrap(), Shape::new(&sb).unwrap(),
            Shape::new(&so).unwrap());
        let n = numel(&so);
        let mut out = vec![9u8; n];
        for (op, _) in OPS {
            compare(op, &fa, &a_s, &fb, &b_s, &mut out, &o_s).unwrap();
            for i in 0..n {
                let want = op.apply(fa[locate(&sa, &so, i)], fb[locate(&sb, &so, i)]);
                prop_assert_eq!(out[i], u8::from(want), "f32 {:?} at {}", op, i);
            }
            compare(op, &ia, &a_s, &ib, &b_s, &mut out, &o_s).unwrap();
            for i in 0..n {
                let want = op.apply(ia[locate(&sa, &so, i)], ib[locate(&sb, &so, i)]);
                prop_assert_eq!(out[i], u8::from(want), "i32 {:?} at {}", op, i);
            }
        }
        for (op, _) in LOGIC {
            logical(op, &ba, &a_s, &bb, &b_s, &mut out, &o_s).unwrap();
            for i in 0..n {
                let want = op.apply(ba[locate(&sa, &so, i)], bb[locate(&sb, &so, i)]);
                prop_assert_eq!(out[i], want, "{:?} at {}", op, i);
            }
        }
    }
}
