//! Embedding lookup and Gather: NumPy fixtures (scripts/fixtures/gather.py), the fast paths
//! against their reference twins on random shapes, hand-computed cases and every error
//! path. Gathers copy values, so every comparison is exact.

use born_core::kernels::gather::{embedding, embedding_reference, gather, gather_reference};
use born_core::Error;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/gather.json");

type EmbFn = fn(&[f32], usize, usize, &[i32], &mut [f32]) -> born_core::Result<()>;
type GatherFn = fn(&[f32], usize, usize, usize, &[i32], &mut [f32]) -> born_core::Result<()>;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e.as_f64().expect("number") as f32)
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

#[test]
fn numpy_fixtures() {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    for case in doc["embedding"].as_array().unwrap() {
        let (rows, dim) = (usize_of(&case["rows"]), usize_of(&case["dim"]));
        let table = floats(&case["table"]);
        let ids = ints(&case["ids"]);
        let want = floats(&case["out"]);
        for f in [embedding as EmbFn, embedding_reference] {
            let mut out = vec![f32::NAN; ids.len() * dim];
            f(&table, rows, dim, &ids, &mut out).unwrap();
            assert_eq!(out, want, "embedding {rows}x{dim}");
        }
    }
    for case in doc["gather"].as_array().unwrap() {
        let (outer, len, inner) = (
            usize_of(&case["outer"]),
            usize_of(&case["len"]),
            usize_of(&case["inner"]),
        );
        let x = floats(&case["x"]);
        let idx = ints(&case["indices"]);
        let want = floats(&case["out"]);
        for f in [gather as GatherFn, gather_reference] {
            let mut out = vec![f32::NAN; outer * idx.len() * inner];
            f(&x, outer, len, inner, &idx, &mut out).unwrap();
            assert_eq!(out, want, "gather {} axis {}", case["shape"], case["axis"]);
        }
    }
}

#[test]
fn hand_computed() {
    let table = [0.0f32, 1.0, 10.0, 11.0, 20.0, 21.0];
    let mut out = [0.0f32; 8];
    embedding(&table, 3, 2, &[2, 0, 2], &mut out).unwrap();
    assert_eq!(out, [20.0, 21.0, 0.0, 1.0, 20.0, 21.0, 0.0, 0.0]);
    // x = [[0, 1, 2], [3, 4, 5]] gathered along axis 1 with [-1, 0] and along axis 0 with [-2].
    let x = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
    let mut g = [0.0f32; 4];
    gather(&x, 2, 3, 1, &[-1, 0], &mut g).unwrap();
    assert_eq!(g, [2.0, 0.0, 5.0, 3.0]);
    let mut h = [0.0f32; 3];
    gather(&x, 1, 2, 3, &[-2], &mut h).unwrap();
    assert_eq!(h, [0.0, 1.0, 2.0]);
    // Zero sizes are legal.
    embedding(&table, 3, 2, &[], &mut []).unwrap();
    embedding(&[], 3, 0, &[1, 2], &mut []).unwrap();
    gather(&x, 2, 3, 1, &[], &mut []).unwrap();
    gather(&[], 0, 3, 1, &[1], &mut []).unwrap();
}

#[test]
fn errors() {
    let table = [1.0f32; 6];
    let mut out = [7.0f32; 8];
    for f in [embedding as EmbFn, embedding_reference] {
        // Out-of-range ids anywhere in the list: nothing is written.
        assert_eq!(
            f(&table, 3, 2, &[0, 1, 3], &mut out),
            Err(Error::IndexOutOfRange {
                op: "embedding",
                what: "token id",
                index: 3,
                len: 3
            })
        );
        // A negative id is reported by its absolute value.
        assert_eq!(
            f(&table, 3, 2, &[0, -2], &mut out),
            Err(Error::IndexOutOfRange {
                op: "embedding",
                what: "token id",
                index: 2,
                len: 3
            })
        );
        assert_eq!(
            f(&table, 3, 2, &[i32::MIN], &mut out),
            Err(Error::IndexOutOfRange {
                op: "embedding",
                what: "token id",
                index: 1 << 31,
                len: 3
            })
        );
        assert_eq!(out, [7.0; 8]);
        // A table without rows rejects every id.
        assert_eq!(
            f(&[], 0, 2, &[0], &mut out),
            Err(Error::IndexOutOfRange {
                op: "embedding",
                what: "token id",
                index: 0,
                len: 0
            })
        );
        assert_eq!(
            f(&table[..5], 3, 2, &[0], &mut out),
            Err(Error::BufferTooSmall {
                op: "embedding",
                what: "table",
                needed: 6,
                len: 5
            })
        );
        assert_eq!(
            f(&table, 3, 2, &[0, 1, 2, 0, 1], &mut out),
            Err(Error::BufferTooSmall {
                op: "embedding",
                what: "output",
                needed: 10,
                len: 8
            })
        );
        assert_eq!(
            f(&table, usize::MAX, 2, &[0], &mut out),
            Err(Error::Overflow { op: "embedding" })
        );
    }
    let x = [1.0f32; 12];
    for f in [gather as GatherFn, gather_reference] {
        assert_eq!(
            f(&x, 2, 3, 2, &[0, 3], &mut out),
            Err(Error::IndexOutOfRange {
                op: "gather",
                what: "gather index",
                index: 3,
                len: 3
            })
        );
        assert_eq!(
            f(&x, 2, 3, 2, &[-3, -4], &mut out),
            Err(Error::IndexOutOfRange {
                op: "gather",
                what: "gather index",
                index: 4,
                len: 3
            })
        );
        assert_eq!(out, [7.0; 8]);
        assert_eq!(
            f(&x[..11], 2, 3, 2, &[0], &mut out),
            Err(Error::BufferTooSmall {
                op: "gather",
                what: "input",
                needed: 12,
                len: 11
            })
        );
        assert_eq!(
            f(&x, 2, 3, 2, &[0, 1, 2], &mut out),
            Err(Error::BufferTooSmall {
                op: "gather",
                what: "output",
                needed: 12,
                len: 8
            })
        );
        assert_eq!(
            f(&x, usize::MAX, 3, 2, &[0], &mut out),
            Err(Error::Overflow { op: "gather" })
        );
    }
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        Just(3),
        Just(7),
        Just(8),
        Just(9),
        Just(17),
        Just(33),
        1usize..20
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fast_matches_reference(
        outer in size(),
        len in size(),
        inner in size(),
        picks in proptest::collection::vec(any::<i32>(), 0..40),
    ) {
        let x: Vec<f32> = (0..outer * len * inner).map(|i| i as f32 * 0.5 - 3.0).collect();
        // Valid ONNX indices in -len..len.
        let idx: Vec<i32> = picks.iter().map(|&p| p.rem_euclid(2 * len as i32) - len as i32).collect();
        let mut a = vec![f32::NAN; outer * idx.len() * inner];
        let mut b = vec![0.0f32; outer * idx.len() * inner];
        gather(&x, outer, len, inner, &idx, &mut a).unwrap();
        gather_reference(&x, outer, len, inner, &idx, &mut b).unwrap();
        prop_assert_eq!(&a, &b);
        // The same table as an embedding of `outer * len` rows of width `inner`.
        let rows = outer * len;
        let ids: Vec<i32> = picks.iter().map(|&p| p.rem_euclid(rows as i32)).collect();
        let mut a = vec![f32::NAN; ids.len() * inner];
        let mut b = vec![0.0f32; ids.len() * inner];
        embedding(&x, rows, inner, &ids, &mut a).unwrap();
        embedding_reference(&x, rows, inner, &ids, &mut b).unwrap();
        prop_assert_eq!(&a, &b);
    }
}
