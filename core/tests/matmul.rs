//! Tests of `born_core::kernels::matmul`.
//!
//! Tolerance: every result element `y` must satisfy `|y - want| <= TOL * s`, where `s` is
//! the sum of the magnitudes of the terms that make it (`sum_p |alpha a_ip b_pj|`, plus
//! `|beta c_ij|` for gemm) and `TOL = 1e-5`. The fast paths (sgemm: blocked sums, fused
//! multiply-adds on AVX2/NEON) and the naive references differ only in summation order and
//! rounding, both bounded by about `k * 2^-24 * s`; the products here have `k <= 70`.
//!
//! - NumPy fixtures (scripts/fixtures/matmul.py, float64 results rounded to f32): fast paths
//!   and references within the tolerance.
//! - proptest: fast paths against the references over random shapes (odd sizes, rank-1
//!   operands, broadcast batches, C shapes) within the tolerance.
//! - Shape rules and every error path, with its exact variant.

use born_core::kernels::math::Isa;
use born_core::kernels::matmul::{
    gemm_op, gemm_op_reference, gemm_op_scratch_len, gemm_op_shape, matmul, matmul_reference,
    matmul_scratch_len, matmul_shape, GemmAttrs,
};
use born_core::{Error, Shape};
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/matmul.json");
const TOL: f64 = 1e-5;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e.as_f64().expect("number") as f32)
        .collect()
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect()
}

fn sh(d: &[usize]) -> Shape {
    Shape::new(d).expect("rank")
}

/// Offset of batch `flat` of the output (`out` batch dims) in an operand with batch dims `s`.
fn batch_at(s: &[usize], out: &[usize], mut flat: usize) -> usize {
    let mut coords = vec![0; out.len()];
    for axis in (0..out.len()).rev() {
        coords[axis] = flat % out[axis];
        flat /= out[axis];
    }
    let off = out.len() - s.len();
    let (mut idx, mut stride) = (0, 1);
    for axis in (0..s.len()).rev() {
        if s[axis] != 1 {
            idx += coords[axis + off] * stride;
        }
        stride *= s[axis];
    }
    idx
}

/// `(batch dims, m, k)` of a matmul operand as NumPy reads it (`right`: the second operand).
fn split(s: &[usize], right: bool) -> (Vec<usize>, usize, usize) {
    match (s.len(), right) {
        (1, false) => (vec![], 1, s[0]),
        (1, true) => (vec![], s[0], 1),
        (r, _) => (s[..r - 2].to_vec(), s[r - 2], s[r - 1]),
    }
}

/// `sum_p |a_ip b_pj|` for every output element of `a @ b`, in f64.
fn matmul_scale(a: &[f32], sa: &[usize], b: &[f32], sb: &[usize]) -> Vec<f64> {
    let (ba, m, k) = split(sa, false);
    let (bb, _, n) = split(sb, true);
    let out_b = sh(&ba).broadcast(&sh(&bb)).unwrap().dims().to_vec();
    let batches: usize = out_b.iter().product();
    let mut s = Vec::new();
    for t in 0..batches {
        let (oa, ob) = (
            batch_at(&ba, &out_b, t) * m * k,
            batch_at(&bb, &out_b, t) * k * n,
        );
        for i in 0..m {
            for j in 0..n {
                s.push(
                    (0..k)
                        .map(|p| (a[oa + i * k + p] as f64 * b[ob + p * n + j] as f64).abs())
                        .sum(),
                );
            }
        }
    }
    s
}

fn assert_close(what: &str, got: &[f32], want: &[f32], scale: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    assert_eq!(got.len(), scale.len(), "{what}: scale length");
    for i in 0..got.len() {
        let err = (got[i] as f64 - want[i] as f64).abs();
        assert!(
            err <= TOL * scale[i],
            "{what}: element {i}: {} vs {} (scale {})",
            got[i],
            want[i],
            scale[i]
        );
    }
}

/// Both matmul paths.
fn run_matmul(a: &[f32], sa: &Shape, b: &[f32], sb: &Shape) -> (Vec<f32>, Vec<f32>) {
    let n = matmul_shape(sa, sb).unwrap().numel();
    let mut fast = vec![f32::NAN; n];
    let mut scratch = vec![0.0; matmul_scratch_len(sa, sb)];
    matmul(a, sa, b, sb, &mut fast, &mut scratch).unwrap();
    let mut reference = vec![f32::NAN; n];
    matmul_reference(a, sa, b, sb, &mut reference).unwrap();
    (fast, reference)
}

#[test]
fn matmul_numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    let cases = v["matmul"].as_array().expect("matmul cases");
    assert_eq!(cases.len(), 18);
    for case in cases {
        let (da, db) = (dims(&case["a_shape"]), dims(&case["b_shape"]));
        let (sa, sb) = (sh(&da), sh(&db));
        assert_eq!(
            matmul_shape(&sa, &sb).unwrap(),
            sh(&dims(&case["out_shape"])),
            "{sa} @ {sb}"
        );
        let (a, b, want) = (
            floats(&case["a"]),
            floats(&case["b"]),
            floats(&case["want"]),
        );
        let scale = matmul_scale(&a, &da, &b, &db);
        let (fast, reference) = run_matmul(&a, &sa, &b, &sb);
        assert_close(&format!("matmul {sa} @ {sb}"), &fast, &want, &scale);
        assert_close(&format!("reference {sa} @ {sb}"), &reference, &want, &scale);
    }
}

/// A gemm_op case: attributes, A, B and optional C (values, dims).
#[derive(Debug, Clone)]
struct GemmCase {
    attrs: GemmAttrs,
    a: (Vec<f32>, Vec<usize>),
    b: (Vec<f32>, Vec<usize>),
    c: Option<(Vec<f32>, Vec<usize>)>,
}

impl GemmCase {
    fn c_ref(&self) -> Option<(&[f32], Shape)> {
        self.c.as_ref().map(|(v, d)| (v.as_slice(), sh(d)))
    }

    /// Both paths.
    fn run(&self) -> (Vec<f32>, Vec<f32>) {
        let (sa, sb) = (sh(&self.a.1), sh(&self.b.1));
        let n = gemm_op_shape(&self.attrs, &sa, &sb).unwrap().numel();
        let c = self.c_ref();
        let c = c.as_ref().map(|(v, s)| (*v, s));
        let mut fast = vec![f32::NAN; n];
        let mut scratch = vec![0.0; gemm_op_scratch_len(&self.attrs, &sa, &sb)];
        gemm_op(
            &self.attrs,
            &self.a.0,
            &sa,
            &self.b.0,
            &sb,
            c,
            &mut fast,
            &mut scratch,
        )
        .unwrap();
        let mut reference = vec![f32::NAN; n];
        gemm_op_reference(
            &self.attrs,
            &self.a.0,
            &sa,
            &self.b.0,
            &sb,
            c,
            &mut reference,
        )
        .unwrap();
        (fast, reference)
    }

    /// `sum_p |alpha a b| + |beta c|` per output element.
    fn scale(&self) -> Vec<f64> {
        let g = &self.attrs;
        let (ad, bd) = (&self.a.1, &self.b.1);
        let (m, k) = if g.trans_a {
            (ad[1], ad[0])
        } else {
            (ad[0], ad[1])
        };
        let n = if g.trans_b { bd[0] } else { bd[1] };
        let mut s = Vec::new();
        for i in 0..m {
            for j in 0..n {
                let mut t = 0.0f64;
                for p in 0..k {
                    let x = if g.trans_a {
                        self.a.0[p * m + i]
                    } else {
                        self.a.0[i * k + p]
                    };
                    let y = if g.trans_b {
                        self.b.0[j * k + p]
                    } else {
                        self.b.0[p * n + j]
                    };
                    t += (g.alpha as f64 * x as f64 * y as f64).abs();
                }
                if let (Some((c, cd)), true) = (&self.c, g.beta != 0.0) {
                    let ci = match cd.as_slice() {
                        [] | [1] => 0,
                        [_] => j,
                        [r, cc] => {
                            (if *r == 1 { 0 } else { i }) * cc + if *cc == 1 { 0 } else { j }
                        }
                        _ => unreachable!(),
                    };
                    t += (g.beta as f64 * c[ci] as f64).abs();
                }
                s.push(t);
            }
        }
        s
    }
}

#[test]
fn gemm_numpy_fixtures() {
    let v: Value = serde_json::from_str(FIXTURES).expect("fixture JSON");
    let cases = v["gemm"].as_array().expect("gemm cases");
    assert_eq!(cases.len(), 12);
    for case in cases {
        let gc = GemmCase {
            attrs: GemmAttrs {
                trans_a: case["trans_a"].as_bool().unwrap(),
                trans_b: case["trans_b"].as_bool().unwrap(),
                alpha: case["alpha"].as_f64().unwrap() as f32,
                beta: case["beta"].as_f64().unwrap() as f32,
            },
            a: (floats(&case["a"]), dims(&case["a_shape"])),
            b: (floats(&case["b"]), dims(&case["b_shape"])),
            c: case.get("c").map(|c| (floats(c), dims(&case["c_shape"]))),
        };
        let (m, n) = (
            case["m"].as_u64().unwrap() as usize,
            case["n"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            gemm_op_shape(&gc.attrs, &sh(&gc.a.1), &sh(&gc.b.1)).unwrap(),
            sh(&[m, n])
        );
        let want = floats(&case["want"]);
        let scale = gc.scale();
        let (fast, reference) = gc.run();
        let what = format!(
            "{:?} A {:?} B {:?} C {:?}",
            gc.attrs,
            gc.a.1,
            gc.b.1,
            gc.c.as_ref().map(|c| &c.1)
        );
        assert_close(&format!("gemm_op {what}"), &fast, &want, &scale);
        assert_close(&format!("reference {what}"), &reference, &want, &scale);
    }
}

#[test]
fn shapes_follow_numpy() {
    let cases: [(&[usize], &[usize], &[usize]); 9] = [
        (&[3], &[3], &[]),
        (&[3], &[2, 3, 4], &[2, 4]),
        (&[5, 2, 3], &[3], &[5, 2]),
        (&[7, 1, 2, 3], &[4, 3, 5], &[7, 4, 2, 5]),
        (&[2, 3], &[3, 4], &[2, 4]),
        (&[1, 2, 3], &[6, 3, 1], &[6, 2, 1]),
        (&[0, 2, 3], &[3, 4], &[0, 2, 4]),
        (&[2, 0], &[0, 4], &[2, 4]),
        (&[1, 1, 1, 1, 2, 3], &[3, 2], &[1, 1, 1, 1, 2, 2]),
    ];
    for (a, b, out) in cases {
        assert_eq!(
            matmul_shape(&sh(a), &sh(b)).unwrap(),
            sh(out),
            "{a:?} @ {b:?}"
        );
    }
    // k == 0 gives zeros; empty outputs are fine.
    let (sa, sb) = (sh(&[2, 0]), sh(&[0, 3]));
    let mut out = [f32::NAN; 6];
    matmul(&[], &sa, &[], &sb, &mut out, &mut []).unwrap();
    assert_eq!(out, [0.0; 6]);
    let mut out = [f32::NAN; 6];
    matmul_reference(&[], &sa, &[], &sb, &mut out).unwrap();
    assert_eq!(out, [0.0; 6]);
    matmul(&[], &sh(&[0, 4]), &[0.0; 8], &sh(&[4, 2]), &mut [], &mut []).unwrap();
    // A dot product.
    let mut out = [0.0f32];
    let s3 = sh(&[3]);
    matmul(
        &[1.0, 2.0, 3.0],
        &s3,
        &[4.0, 5.0, 6.0],
        &s3,
        &mut out,
        &mut [],
    )
    .unwrap();
    assert_eq!(out, [32.0]);
}

/// Products large enough for sgemm's packed path (where this CPU packs): a broadcast batch
/// walked one product at a time, a shared right matrix run as one tall product and a
/// transposed-B gemm; plus a rank-1 left operand against a batch (sgemm's small-m path).
#[test]
fn packed_sizes_match_reference() {
    let fill = |n: usize, f: f32| -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * f)
            .collect()
    };
    // (A, B, whether sgemm packs it on AVX2; a rank-1 A makes m = 1, sgemm's small-m path).
    let cases: [(&[usize], &[usize], bool); 3] = [
        (&[2, 1, 40, 30], &[3, 30, 36], true),
        (&[5, 8, 70], &[70, 50], true),
        (&[70], &[4, 70, 65], false),
    ];
    for (da, db, packs) in cases {
        let (sa, sb) = (sh(da), sh(db));
        if Isa::detect() == Isa::Avx2Fma {
            assert_eq!(
                matmul_scratch_len(&sa, &sb) > 0,
                packs,
                "{sa} @ {sb} on AVX2"
            );
        }
        let (a, b) = (fill(sa.numel(), 1.0), fill(sb.numel(), 0.5));
        let (fast, reference) = run_matmul(&a, &sa, &b, &sb);
        let scale = matmul_scale(&a, da, &b, db);
        assert_close(&format!("{sa} @ {sb}"), &fast, &reference, &scale);
    }
    let gc = GemmCase {
        attrs: GemmAttrs {
            trans_a: false,
            trans_b: true,
            alpha: 0.5,
            beta: -2.0,
        },
        a: (fill(48 * 64, 1.0), vec![48, 64]),
        b: (fill(52 * 64, 1.0), vec![52, 64]),
        c: Some((fill(52, 1.0), vec![52])),
    };
    if Isa::detect() == Isa::Avx2Fma {
        assert!(gemm_op_scratch_len(&gc.attrs, &sh(&gc.a.1), &sh(&gc.b.1)) > 0);
    }
    let (fast, reference) = gc.run();
    assert_close("gemm_op 48 x 52 x 64", &fast, &reference, &gc.scale());
}

#[test]
fn gemm_beta_zero_ignores_c() {
    let attrs = GemmAttrs {
        beta: 0.0,
        ..GemmAttrs::default()
    };
    let s = sh(&[2, 2]);
    let (a, b) = ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 0.0, 1.0]);
    let c = [f32::NAN; 4];
    let mut out = [0.0f32; 4];
    gemm_op(&attrs, &a, &s, &b, &s, Some((&c, &s)), &mut out, &mut []).unwrap();
    assert_eq!(out, a);
    gemm_op_reference(&attrs, &a, &s, &b, &s, Some((&c, &s)), &mut out).unwrap();
    assert_eq!(out, a);
    // Defaults: alpha = beta = 1.
    let d = GemmAttrs::default();
    assert_eq!(
        (d.trans_a, d.trans_b, d.alpha, d.beta),
        (false, false, 1.0, 1.0)
    );
    let bias = [10.0f32, 20.0];
    let sn = sh(&[2]);
    gemm_op(&d, &a, &s, &b, &s, Some((&bias, &sn)), &mut out, &mut []).unwrap();
    assert_eq!(out, [11.0, 22.0, 13.0, 24.0]);
}

#[test]
fn matmul_errors() {
    let s23 = sh(&[2, 3]);
    let s43 = sh(&[4, 3]);
    let a = [0.0f32; 6];
    let mut out = [0.0f32; 12];
    let rank0 = Err(Error::InvalidArgument {
        op: "matmul",
        what: "operands must have rank 1 or more",
    });
    assert_eq!(matmul_shape(&Shape::SCALAR, &s23), rank0);
    assert_eq!(matmul_shape(&s23, &Shape::SCALAR), rank0);
    assert_eq!(
        matmul_shape(&s23, &s43),
        Err(Error::DimMismatch {
            op: "matmul",
            what: "rows of B (columns of A)",
            expected: 3,
            got: 4
        })
    );
    assert_eq!(
        matmul(&a, &s23, &[0.0; 12], &s43, &mut out, &mut []),
        Err(Error::DimMismatch {
            op: "matmul",
            what: "rows of B (columns of A)",
            expected: 3,
            got: 4
        })
    );
    let (b1, b2) = (sh(&[2, 2, 3]), sh(&[3, 3, 4]));
    assert_eq!(
        matmul_shape(&b1, &b2),
        Err(Error::BroadcastMismatch {
            op: "matmul",
            lhs: b1,
            rhs: b2
        })
    );
    let s34 = sh(&[3, 4]);
    let b = [0.0f32; 12];
    assert_eq!(
        matmul(&a[..5], &s23, &b, &s34, &mut out[..8], &mut []),
        Err(Error::DimMismatch {
            op: "matmul",
            what: "lhs length",
            expected: 6,
            got: 5
        })
    );
    assert_eq!(
        matmul_reference(&a, &s23, &b[..11], &s34, &mut out[..8]),
        Err(Error::DimMismatch {
            op: "matmul",
            what: "rhs length",
            expected: 12,
            got: 11
        })
    );
    assert_eq!(
        matmul(&a, &s23, &b, &s34, &mut out[..7], &mut []),
        Err(Error::DimMismatch {
            op: "matmul",
            what: "output length",
            expected: 8,
            got: 7
        })
    );
    assert_eq!(
        matmul(&a, &s23, &b, &s34, &mut out, &mut []),
        Err(Error::DimMismatch {
            op: "matmul",
            what: "output length",
            expected: 8,
            got: 12
        })
    );
    // A product big enough for the packed path needs scratch (on a CPU that packs).
    let (sa, sb) = (sh(&[100, 100]), sh(&[100, 100]));
    let need = matmul_scratch_len(&sa, &sb);
    if need > 0 {
        let big = vec![0.0f32; 10_000];
        let mut o = vec![0.0f32; 10_000];
        let mut scratch = vec![0.0f32; need - 1];
        assert_eq!(
            matmul(&big, &sa, &big, &sb, &mut o, &mut scratch),
            Err(Error::BufferTooSmall {
                op: "matmul",
                what: "scratch",
                needed: need,
                len: need - 1
            })
        );
    }
    assert_eq!(matmul_scratch_len(&s23, &s43), 0);
    let huge = sh(&[usize::MAX, 2, 1]);
    assert_eq!(
        matmul_shape(&huge, &sh(&[1, 3])),
        Err(Error::Overflow { op: "matmul" })
    );
}

#[test]
fn gemm_errors() {
    let d = GemmAttrs::default();
    let (s23, s34, s3) = (sh(&[2, 3]), sh(&[3, 4]), sh(&[3]));
    let (a, b) = ([0.0f32; 6], [0.0f32; 12]);
    let mut out = [0.0f32; 8];
    assert_eq!(
        gemm_op_shape(&d, &s3, &s34),
        Err(Error::DimMismatch {
            op: "gemm_op",
            what: "rank of A",
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        gemm_op(&d, &a, &s23, &b, &sh(&[1, 3, 4]), None, &mut out, &mut []),
        Err(Error::DimMismatch {
            op: "gemm_op",
            what: "rank of B",
            expected: 2,
            got: 3
        })
    );
    let t = GemmAttrs { trans_a: true, ..d };
    assert_eq!(
        gemm_op_shape(&t, &s23, &s34),
        Err(Error::DimMismatch {
            op: "gemm_op",
            what: "rows of op(B) (columns of op(A))",
            expected: 2,
            got: 3
        })
    );
    assert_eq!(gemm_op_shape(&t, &sh(&[3, 2]), &s34).unwrap(), sh(&[2, 4]));
    let y = sh(&[2, 4]);
    for bad in [sh(&[3]), sh(&[2, 3]), sh(&[4, 4]), sh(&[1, 2, 4])] {
        let c = vec![0.0f32; bad.numel()];
        assert_eq!(
            gemm_op(&d, &a, &s23, &b, &s34, Some((&c, &bad)), &mut out, &mut []),
            Err(Error::BroadcastMismatch {
                op: "gemm_op",
                lhs: bad,
                rhs: y
            }),
            "C {bad}"
        );
        assert_eq!(
            gemm_op_reference(&d, &a, &s23, &b, &s34, Some((&c, &bad)), &mut out),
            Err(Error::BroadcastMismatch {
                op: "gemm_op",
                lhs: bad,
                rhs: y
            }),
            "C {bad}"
        );
    }
    let s4 = sh(&[4]);
    assert_eq!(
        gemm_op(
            &d,
            &a,
            &s23,
            &b,
            &s34,
            Some((&[0.0; 3], &s4)),
            &mut out,
            &mut []
        ),
        Err(Error::DimMismatch {
            op: "gemm_op",
            what: "C length",
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        gemm_op(&d, &a[..5], &s23, &b, &s34, None, &mut out, &mut []),
        Err(Error::DimMismatch {
            op: "gemm_op",
            what: "A length",
            expected: 6,
            got: 5
        })
    );
    assert_eq!(
        gemm_op_reference(&d, &a, &s23, &b[..10], &s34, None, &mut out),
        Err(Error::DimMismatch {
            op: "gemm_op",
            what: "B length",
            expected: 12,
            got: 10
        })
    );
    assert_eq!(
        gemm_op(&d, &a, &s23, &b, &s34, None, &mut out[..7], &mut []),
        Err(Error::DimMismatch {
            op: "gemm_op",
            what: "output length",
            expected: 8,
            got: 7
        })
    );
    let (sa, sb) = (sh(&[100, 100]), sh(&[100, 100]));
    let need = gemm_op_scratch_len(&d, &sa, &sb);
    if need > 0 {
        let big = vec![0.0f32; 10_000];
        let mut o = vec![0.0f32; 10_000];
        let mut scratch = vec![0.0f32; need - 1];
        assert_eq!(
            gemm_op(&d, &big, &sa, &big, &sb, None, &mut o, &mut scratch),
            Err(Error::BufferTooSmall {
                op: "gemm_op",
                what: "scratch",
                needed: need,
                len: need - 1
            })
        );
    }
    assert_eq!(gemm_op_scratch_len(&d, &s3, &s34), 0);
}

fn values(n: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-1.0f32..1.0, n)
}

/// Matmul operand shapes: batch axes that broadcast (each side may drop axes or use 1s),
/// odd m/n/k, and rank-1 operands.
fn matmul_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    let dim = || prop_oneof![8 => 1usize..24, 1 => 40usize..70, 1 => Just(0usize)];
    (
        prop::collection::vec(1usize..4, 0..=3),
        prop::collection::vec(any::<bool>(), 3),
        prop::collection::vec(any::<bool>(), 3),
        0usize..=3,
        0usize..=3,
        dim(),
        dim(),
        dim(),
        any::<u8>(),
    )
        .prop_map(|(batch, ones_a, ones_b, drop_a, drop_b, m, n, k, kind)| {
            let r = batch.len();
            let side = |ones: &[bool], drop: usize| -> Vec<usize> {
                let keep = r - drop.min(r);
                batch[r - keep..]
                    .iter()
                    .zip(&ones[r - keep..])
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .collect()
            };
            let mut a = side(&ones_a, drop_a);
            let mut b = side(&ones_b, drop_b);
            // kind & 3 == 0: rank-1 A; == 1: rank-1 B; else matrices.
            if kind % 4 == 0 {
                a = vec![k];
            } else {
                a.extend([m, k]);
            }
            if kind % 4 == 1 || kind % 7 == 0 {
                b = vec![k];
            } else {
                b.extend([k, n]);
            }
            (a, b)
        })
}

fn gemm_cases() -> impl Strategy<Value = GemmCase> {
    let dim = || prop_oneof![8 => 1usize..30, 1 => 40usize..70, 1 => Just(0usize)];
    (
        dim(),
        dim(),
        dim(),
        any::<(bool, bool)>(),
        prop::sample::select(vec![1.0f32, -0.5, 2.0, 0.0]),
        prop::sample::select(vec![1.0f32, 0.25, -1.0, 0.0]),
        0u8..7,
    )
        .prop_flat_map(|(m, n, k, (ta, tb), alpha, beta, c_kind)| {
            let ad = if ta { vec![k, m] } else { vec![m, k] };
            let bd = if tb { vec![n, k] } else { vec![k, n] };
            let cd = match c_kind {
                0 => None,
                1 => Some(vec![]),
                2 => Some(vec![1]),
                3 => Some(vec![n]),
                4 => Some(vec![m, 1]),
                5 => Some(vec![1, n]),
                _ => Some(vec![m, n]),
            };
            let cn = cd.as_ref().map_or(0, |d| d.iter().product());
            (values(m * k), values(k * n), values(cn)).prop_map(move |(a, b, c)| GemmCase {
                attrs: GemmAttrs {
                    trans_a: ta,
                    trans_b: tb,
                    alpha,
                    beta,
                },
                a: (a, ad.clone()),
                b: (b, bd.clone()),
                c: cd.clone().map(|d| (c, d)),
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matmul_matches_reference(
        (da, db) in matmul_shapes(),
        seed in values(97),
    ) {
        let (sa, sb) = (sh(&da), sh(&db));
        let fill = |n: usize, off: usize| -> Vec<f32> {
            (0..n).map(|i| seed[(i * 13 + off) % 97] * (1.0 + (i % 5) as f32 * 0.1)).collect()
        };
        let a = fill(sa.numel(), 0);
        let b = fill(sb.numel(), 41);
        let (fast, reference) = run_matmul(&a, &sa, &b, &sb);
        let scale = matmul_scale(&a, &da, &b, &db);
        for i in 0..fast.len() {
            let err = (fast[i] as f64 - reference[i] as f64).abs();
            prop_assert!(err <= TOL * scale[i], "{} @ {} element {}: {} vs {}",
                sa, sb, i, fast[i], reference[i]);
        }
    }

    #[test]
    fn gemm_matches_reference(case in gemm_cases()) {
        let (fast, reference) = case.run();
        let scale = case.scale();
        for i in 0..fast.len() {
            let err = (fast[i] as f64 - reference[i] as f64).abs();
            prop_assert!(err <= TOL * scale[i], "{:?} A {:?} B {:?} element {}: {} vs {}",
                case.attrs, case.a.1, case.b.1, i, fast[i], reference[i]);
        }
    }
}
