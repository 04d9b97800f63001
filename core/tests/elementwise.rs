//! Tests of `born_core::kernels::elementwise`.
//!
//! Add, Sub, Mul, Div, Max and Min must match NumPy's float32 results bit for bit (NaN
//! matching any NaN), on every path. Pow is compared with NumPy's float64 power rounded to
//! f32 within `(|b ln a| + 8) * 6e-8` relative (see `math::pow`), and all paths must give
//! exactly the reference's bits (no path fuses arithmetic).

use born_core::kernels::elementwise::{
    binary, binary_inplace, binary_reference, binary_with, scale_shift, BinaryOp,
};
use born_core::kernels::math::Isa;
use born_core::{Error, Shape};
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/elementwise.json");

const OPS: [BinaryOp; 7] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Max,
    BinaryOp::Min,
    BinaryOp::Pow,
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

fn shape(v: &Value) -> Shape {
    let dims: Vec<usize> = v
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    Shape::new(&dims).expect("rank")
}

fn available() -> impl Iterator<Item = Isa> {
    Isa::ALL.into_iter().filter(|i| i.is_available())
}

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Every path: (name, output).
fn all_paths(
    op: BinaryOp,
    a: &[f32],
    sa: &Shape,
    b: &[f32],
    sb: &Shape,
    so: &Shape,
) -> Vec<(String, Vec<f32>)> {
    let n = so.numel();
    let mut res = Vec::new();
    let mut out = vec![0.0; n];
    binary_reference(op, a, sa, b, sb, &mut out, so).unwrap();
    res.push(("reference".to_string(), out.clone()));
    binary(op, a, sa, b, sb, &mut out, so).unwrap();
    res.push(("dispatch".to_string(), out.clone()));
    for isa in available() {
        binary_with(isa, op, a, sa, b, sb, &mut out, so).unwrap();
        res.push((format!("{isa:?}"), out.clone()));
    }
    if sa == so {
        let mut x = a.to_vec();
        binary_inplace(op, &mut x, sa, b, sb).unwrap();
        res.push(("inplace".to_string(), x));
    }
    res
}

#[test]
fn numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 17);
    for case in cases {
        let (sa, sb, so) = (
            shape(&case["a_shape"]),
            shape(&case["b_shape"]),
            shape(&case["out_shape"]),
        );
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        for (op, key) in OPS[..6]
            .iter()
            .zip(["add", "sub", "mul", "div", "max", "min"])
        {
            let want = floats(&case[key]);
            for (path, got) in all_paths(*op, &a, &sa, &b, &sb, &so) {
                assert_eq!(got.len(), want.len());
                for i in 0..want.len() {
                    assert!(
                        same(got[i], want[i]),
                        "{sa} {op:?} {sb} {path}[{i}]: {} vs {}",
                        got[i],
                        want[i]
                    );
                }
            }
        }
        let (pa, pb, want) = (
            floats(&case["pow_a"]),
            floats(&case["pow_b"]),
            floats(&case["pow"]),
        );
        let paths = all_paths(BinaryOp::Pow, &pa, &sa, &pb, &sb, &so);
        let reference = &paths[0].1;
        for (path, got) in &paths {
            for i in 0..want.len() {
                assert!(same(got[i], reference[i]), "pow {path}[{i}]");
                // ln(want) = b ln a: the conditioning of exp(b ln a).
                let w = want[i] as f64;
                let tol = (w.ln().abs() + 8.0) * 6e-8 * w.abs();
                assert!(
                    (got[i] as f64 - w).abs() <= tol || same(got[i], want[i]),
                    "{sa} pow {sb} {path}[{i}]: {} vs {}",
                    got[i],
                    want[i]
                );
            }
        }
    }
}

#[test]
fn hand_cases() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    // Row-vector bias, column scale, scalar.
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    for (path, out) in all_paths(
        BinaryOp::Add,
        &a,
        &s(&[2, 3]),
        &[10.0, 20.0, 30.0],
        &s(&[3]),
        &s(&[2, 3]),
    ) {
        assert_eq!(out, vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0], "{path}");
    }
    for (path, out) in all_paths(
        BinaryOp::Mul,
        &a,
        &s(&[2, 3]),
        &[2.0, -1.0],
        &s(&[2, 1]),
        &s(&[2, 3]),
    ) {
        assert_eq!(out, vec![2.0, 4.0, 6.0, -4.0, -5.0, -6.0], "{path}");
    }
    for (path, out) in all_paths(
        BinaryOp::Sub,
        &[7.0],
        &Shape::SCALAR,
        &a,
        &s(&[6]),
        &s(&[6]),
    ) {
        assert_eq!(out, vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0], "{path}");
    }
    // Outer product through broadcasting.
    for (path, out) in all_paths(
        BinaryOp::Mul,
        &[1.0, 2.0],
        &s(&[2, 1]),
        &[3.0, 4.0, 5.0],
        &s(&[1, 3]),
        &s(&[2, 3]),
    ) {
        assert_eq!(out, vec![3.0, 4.0, 5.0, 6.0, 8.0, 10.0], "{path}");
    }
    // Max/Min: NaN propagates from either side, -0 vs 0 as numpy.maximum.
    let nan = f32::NAN;
    for (path, out) in all_paths(
        BinaryOp::Max,
        &[nan, 1.0, -0.0, 2.0],
        &s(&[4]),
        &[1.0, nan, 0.0, 1.0],
        &s(&[4]),
        &s(&[4]),
    ) {
        assert!(out[0].is_nan() && out[1].is_nan(), "{path}");
        assert_eq!(out[2].to_bits(), (-0.0f32).to_bits(), "{path}");
        assert_eq!(out[3], 2.0, "{path}");
    }
    for (path, out) in all_paths(
        BinaryOp::Min,
        &[nan, 1.0, 3.0],
        &s(&[3]),
        &[1.0, nan, 2.0],
        &s(&[3]),
        &s(&[3]),
    ) {
        assert!(out[0].is_nan() && out[1].is_nan(), "{path}");
        assert_eq!(out[2], 2.0, "{path}");
    }
    for (path, out) in all_paths(
        BinaryOp::Pow,
        &[2.0, -2.0, 4.0, 0.0],
        &s(&[4]),
        &[3.0],
        &s(&[1]),
        &s(&[4]),
    ) {
        assert_eq!(out, vec![8.0, -8.0, 64.0, 0.0], "{path}");
    }
    for (path, out) in all_paths(
        BinaryOp::Div,
        &[1.0, -1.0, 0.0],
        &s(&[3]),
        &[0.0],
        &Shape::SCALAR,
        &s(&[3]),
    ) {
        assert_eq!(&out[..2], &[f32::INFINITY, f32::NEG_INFINITY], "{path}");
        assert!(out[2].is_nan(), "{path}");
    }
    // Empty output: nothing happens, no error.
    let mut empty: [f32; 0] = [];
    assert_eq!(
        binary(
            BinaryOp::Add,
            &[],
            &s(&[0, 3]),
            &[1.0, 2.0, 3.0],
            &s(&[3]),
            &mut empty,
            &s(&[0, 3])
        ),
        Ok(())
    );
    // scale_shift.
    let mut x: Vec<f32> = (0..19).map(|i| i as f32).collect();
    scale_shift(&mut x, 0.5, -1.0);
    for (i, v) in x.iter().enumerate() {
        assert_eq!(*v, i as f32 * 0.5 - 1.0);
    }
}

/// An output shape of rank 0..=6 and two operand shapes that broadcast to it (dimensions
/// replaced by 1 and leading dimensions dropped at random).
fn shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>)> {
    let dim = prop_oneof![
        3 => prop::sample::select(vec![1usize, 2, 3]),
        1 => prop::sample::select(vec![7usize, 8, 9, 17]),
    ];
    let inner = prop_oneof![
        prop::sample::select(vec![1usize, 3, 7, 8, 9, 15, 16, 17, 33]),
        1usize..70,
    ];
    (prop::collection::vec(dim, 0..6), inner, any::<u64>()).prop_map(|(mut out, inner, bits)| {
        if !out.is_empty() || bits & 1 == 1 {
            out.push(inner);
        }
        // Keep the element count modest.
        while out.iter().product::<usize>() > 4096 {
            out.remove(0);
        }
        let derive = |salt: u64| -> Vec<usize> {
            let mut r = bits.rotate_left(salt as u32) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let drop = (r % (out.len() as u64 + 1)) as usize;
            r /= 7;
            out[drop.min(out.len())..]
                .iter()
                .map(|&d| {
                    r = r.rotate_right(3);
                    if r & 3 == 0 {
                        1
                    } else {
                        d
                    }
                })
                .collect()
        };
        let (a, b) = (derive(11), derive(29));
        (a, b, out)
    })
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            match s % 29 {
                0 => f32::NAN,
                1 => -0.0,
                2 => f32::INFINITY,
                _ => ((s >> 11) % 2001) as f32 / 100.0 - 10.0,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn fast_paths_match_reference(
        (da, db, _out) in shapes(),
        op in prop::sample::select(OPS.to_vec()),
        seed in any::<u64>(),
    ) {
        let (sa, sb) = (Shape::new(&da).unwrap(), Shape::new(&db).unwrap());
        // Both operands were derived from one shape, so they broadcast (to it or a suffix).
        let so2 = sa.broadcast(&sb).unwrap();
        let (a, b) = (values(sa.numel(), seed), values(sb.numel(), seed ^ 0xABCD));
        let paths = all_paths(op, &a, &sa, &b, &sb, &so2);
        let want = &paths[0].1;
        for (path, got) in &paths[1..] {
            for i in 0..want.len() {
                prop_assert!(same(got[i], want[i]), "{} {:?} {} {}[{}]: {} vs {}", sa, op, sb, path, i, got[i], want[i]);
            }
        }
        // The same with the operands swapped.
        let paths = all_paths(op, &b, &sb, &a, &sa, &so2);
        let want = &paths[0].1;
        for (path, got) in &paths[1..] {
            for i in 0..want.len() {
                prop_assert!(same(got[i], want[i]), "swapped {} {}[{}]", sb, path, i);
            }
        }
    }
}

#[test]
fn bad_shapes_are_errors() {
    let s = |d: &[usize]| Shape::new(d).unwrap();
    let a = [0.0f32; 12];
    let b = [0.0f32; 4];
    let mut out = [0.0f32; 12];
    let mismatch = Err(Error::BroadcastMismatch {
        op: "binary",
        lhs: s(&[3, 4]),
        rhs: s(&[3]),
    });
    assert_eq!(
        binary(
            BinaryOp::Add,
            &a,
            &s(&[3, 4]),
            &b[..3],
            &s(&[3]),
            &mut out,
            &s(&[3, 4])
        ),
        mismatch
    );
    assert_eq!(
        binary_reference(
            BinaryOp::Add,
            &a,
            &s(&[3, 4]),
            &b[..3],
            &s(&[3]),
            &mut out,
            &s(&[3, 4])
        ),
        mismatch
    );
    let mut a2 = a;
    assert_eq!(
        binary_inplace(BinaryOp::Add, &mut a2, &s(&[3, 4]), &b[..3], &s(&[3])),
        mismatch
    );
    assert_eq!(
        binary(
            BinaryOp::Mul,
            &a,
            &s(&[3, 4]),
            &b,
            &s(&[4]),
            &mut out,
            &s(&[4, 3])
        ),
        Err(Error::ShapeMismatch {
            op: "binary",
            expected: s(&[3, 4]),
            got: s(&[4, 3])
        })
    );
    // In place, b may not enlarge a.
    let mut small = [0.0f32; 4];
    assert_eq!(
        binary_inplace(BinaryOp::Add, &mut small, &s(&[4]), &a, &s(&[3, 4])),
        Err(Error::ShapeMismatch {
            op: "binary",
            expected: s(&[3, 4]),
            got: s(&[4])
        })
    );
    assert_eq!(
        binary(
            BinaryOp::Add,
            &a[..11],
            &s(&[3, 4]),
            &b,
            &s(&[4]),
            &mut out,
            &s(&[3, 4])
        ),
        Err(Error::DimMismatch {
            op: "binary",
            what: "lhs length",
            expected: 12,
            got: 11
        })
    );
    assert_eq!(
        binary_with(
            Isa::Generic,
            BinaryOp::Add,
            &a,
            &s(&[3, 4]),
            &b[..2],
            &s(&[4]),
            &mut out,
            &s(&[3, 4])
        ),
        Err(Error::DimMismatch {
            op: "binary",
            what: "rhs length",
            expected: 4,
            got: 2
        })
    );
    assert_eq!(
        binary(
            BinaryOp::Add,
            &a,
            &s(&[3, 4]),
            &b,
            &s(&[4]),
            &mut out[..10],
            &s(&[3, 4])
        ),
        Err(Error::DimMismatch {
            op: "binary",
            what: "output length",
            expected: 12,
            got: 10
        })
    );
    let huge = s(&[usize::MAX, 2]);
    assert_eq!(
        binary(BinaryOp::Add, &a, &huge, &b, &s(&[1]), &mut out, &huge),
        Err(Error::Overflow { op: "binary" })
    );
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert!(matches!(
            binary_with(
                isa,
                BinaryOp::Add,
                &a,
                &s(&[12]),
                &a,
                &s(&[12]),
                &mut out,
                &s(&[12])
            ),
            Err(Error::InvalidArgument { op: "binary", .. })
        ));
    }
}
