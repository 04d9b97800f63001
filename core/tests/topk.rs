//! TopK through whole models (graph builder -> `.born` bytes -> loader -> interpreter) on
//! hand-computed cases: the ONNX operator examples, ties (the lower position first), NaN
//! and signed zeros, every element type it takes, `sorted = false`; the kernel against a
//! stable-sort reference on random rows full of ties; and the errors of its rules.

#![cfg(feature = "alloc")]

mod common;

use born_core::kernels::tensor::{top_k, TopKSpec};
use born_core::model::graph::Graph;
use born_core::ops::top_k::{TopK, TopKAttrs};
use born_core::{DType, Error, Interpreter, Model, ModelError};
use common::encode;

/// A tensor: element type, dimensions, little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
struct Data {
    dtype: DType,
    dims: Vec<usize>,
    bytes: Vec<u8>,
}

fn data<T: bytemuck::Pod>(dtype: DType, dims: &[usize], v: &[T]) -> Data {
    Data {
        dtype,
        dims: dims.to_vec(),
        bytes: bytemuck::cast_slice(v).to_vec(),
    }
}

fn attrs(axis: i32, k: u32, largest: bool, sorted: bool) -> TopKAttrs {
    TopKAttrs {
        axis,
        k,
        largest,
        sorted,
    }
}

/// The graph `x -> TopK -> (values, indices)` over an input like `x`.
fn graph(a: TopKAttrs, x: &Data) -> born_core::Result<Graph> {
    let mut g = Graph::new("topk", "topk test");
    let i = g.add_input("x", x.dtype, &x.dims)?;
    let ids = g.add_op_multi::<TopK>(a, &[i], &["values", "indices"])?;
    for id in ids {
        g.mark_output(id)?;
    }
    Ok(g)
}

/// Runs TopK on `x`; returns both outputs (type, dims, bytes).
fn run(a: TopKAttrs, x: &Data) -> born_core::Result<(Data, Data)> {
    let g = graph(a, x)?;
    let bytes = encode(&g);
    let m = Model::from_bytes(&bytes)?;
    let mut arena = vec![0u8; Interpreter::arena_len(&m)?];
    let mut it = Interpreter::new(&m, &mut arena)?;
    it.input_raw_mut(0)?.copy_from_slice(&x.bytes);
    it.invoke()?;
    let out = |k: usize| -> born_core::Result<Data> {
        let t = &g.tensors[g.outputs[k]];
        Ok(Data {
            dtype: t.dtype,
            dims: t.shape.dims().to_vec(),
            bytes: it.output_raw(k)?.to_vec(),
        })
    };
    Ok((out(0)?, out(1)?))
}

/// Checks TopK of `x` against the expected values (of `x`'s type) and indices.
fn check<T: bytemuck::Pod>(a: TopKAttrs, x: &Data, dims: &[usize], values: &[T], idx: &[i64]) {
    let (v, i) = run(a, x).unwrap_or_else(|e| panic!("{a:?}: {e:?}"));
    assert_eq!(v, data(x.dtype, dims, values), "{a:?}: values");
    assert_eq!(i, data(DType::I64, dims, idx), "{a:?}: indices");
}

fn iota(n: usize) -> Vec<f32> {
    (0..n).map(|v| v as f32).collect()
}

#[test]
fn onnx_examples() {
    // X = arange(12).reshape(3, 4), k = 3 along axis 1 (and -1).
    let x = data(DType::F32, &[3, 4], &iota(12));
    let want = [3f32, 2., 1., 7., 6., 5., 11., 10., 9.];
    for axis in [1, -1] {
        check(
            attrs(axis, 3, true, true),
            &x,
            &[3, 3],
            &want,
            &[3, 2, 1, 3, 2, 1, 3, 2, 1],
        );
    }
    // The smallest three of [[0 1 2 3] [4 5 6 7] [11 10 9 8]].
    let x = data(
        DType::F32,
        &[3, 4],
        &[0f32, 1., 2., 3., 4., 5., 6., 7., 11., 10., 9., 8.],
    );
    check(
        attrs(1, 3, false, true),
        &x,
        &[3, 3],
        &[0f32, 1., 2., 4., 5., 6., 8., 9., 10.],
        &[0, 1, 2, 0, 1, 2, 3, 2, 1],
    );
}

#[test]
fn ties_go_to_the_lower_position() {
    let x = data(DType::F32, &[5], &[3f32, 1., 3., 2., 3.]);
    check(
        attrs(0, 3, true, true),
        &x,
        &[3],
        &[3f32, 3., 3.],
        &[0, 2, 4],
    );
    check(
        attrs(0, 4, true, true),
        &x,
        &[4],
        &[3f32, 3., 3., 2.],
        &[0, 2, 4, 3],
    );
    check(attrs(0, 2, false, true), &x, &[2], &[1f32, 2.], &[1, 3]);
    let x = data(DType::F32, &[4], &[2f32, 1., 2., 1.]);
    check(
        attrs(0, 3, false, true),
        &x,
        &[3],
        &[1f32, 1., 2.],
        &[1, 3, 0],
    );
    check(
        attrs(0, 3, true, true),
        &x,
        &[3],
        &[2f32, 2., 1.],
        &[0, 2, 1],
    );
    // The ONNX same-values cases (i64).
    let x = data(DType::I64, &[4], &[0i64; 4]);
    check(attrs(0, 3, true, true), &x, &[3], &[0i64; 3], &[0, 1, 2]);
    let x = data(
        DType::I64,
        &[3, 4],
        &[0i64, 0, 0, 0, 1, 1, 1, 1, 2, 2, 1, 1],
    );
    check(
        attrs(1, 3, true, true),
        &x,
        &[3, 3],
        &[0i64, 0, 0, 1, 1, 1, 2, 2, 1],
        &[0, 1, 2, 0, 1, 2, 0, 1, 2],
    );
    // +0 and -0 tie: the lower position first, and each keeps its own bits.
    let x = data(DType::F32, &[3], &[-0.0f32, 0.0, -1.0]);
    check(attrs(0, 2, true, true), &x, &[2], &[-0.0f32, 0.0], &[0, 1]);
    let x = data(DType::F32, &[3], &[0.0f32, -0.0, -1.0]);
    check(
        attrs(0, 3, false, true),
        &x,
        &[3],
        &[-1.0f32, 0.0, -0.0],
        &[2, 0, 1],
    );
}

#[test]
fn nan_ranks_above_every_number() {
    let nan = f32::NAN;
    let x = data(DType::F32, &[4], &[1f32, nan, 3., f32::INFINITY]);
    let (v, i) = run(attrs(0, 2, true, true), &x).unwrap();
    let v: &[f32] = bytemuck::cast_slice(&v.bytes);
    assert!(v[0].is_nan());
    assert_eq!(v[1], f32::INFINITY);
    assert_eq!(i.bytes, bytemuck::cast_slice(&[1i64, 3]));
    check(
        attrs(0, 3, false, true),
        &x,
        &[3],
        &[1f32, 3., f32::INFINITY],
        &[0, 2, 3],
    );
}

#[test]
fn along_an_inner_axis() {
    // [[1 6] [5 2] [3 4]] along axis 0: each column on its own.
    let x = data(DType::F32, &[3, 2], &[1f32, 6., 5., 2., 3., 4.]);
    for axis in [0, -2] {
        check(
            attrs(axis, 2, true, true),
            &x,
            &[2, 2],
            &[5f32, 6., 3., 4.],
            &[1, 0, 2, 2],
        );
    }
    check(attrs(0, 1, false, true), &x, &[1, 2], &[1f32, 2.], &[0, 1]);
    // A middle axis of [2, 3, 2]: x[a, b, c] = (b * 7 + c * 3 + a) % 5.
    let v: Vec<i32> = (0..12)
        .map(|f| {
            let (a, b, c) = (f / 6, (f / 2) % 3, f % 2);
            (b * 7 + c * 3 + a) % 5
        })
        .collect();
    // a=0: c=0 column [0 2 4], c=1 [3 0 2]; a=1: c=0 [1 3 0], c=1 [4 1 3].
    assert_eq!(v, [0, 3, 2, 0, 4, 2, 1, 4, 3, 1, 0, 3]);
    let x = data(DType::I32, &[2, 3, 2], &v);
    check(
        attrs(1, 2, true, true),
        &x,
        &[2, 2, 2],
        &[4i32, 3, 2, 2, 3, 4, 1, 3],
        &[2, 0, 1, 2, 1, 0, 0, 2],
    );
}

#[test]
fn unsorted_keeps_positions_in_order() {
    let x = data(DType::F32, &[3], &[3f32, 5., 1.]);
    check(attrs(0, 2, true, true), &x, &[2], &[5f32, 3.], &[1, 0]);
    check(attrs(0, 2, true, false), &x, &[2], &[3f32, 5.], &[0, 1]);
    check(attrs(0, 2, false, false), &x, &[2], &[3f32, 1.], &[0, 2]);
}

#[test]
fn every_element_type() {
    let x = data(DType::I32, &[4], &[-5i32, 7, -1, 7]);
    check(attrs(0, 2, true, true), &x, &[2], &[7i32, 7], &[1, 3]);
    check(attrs(0, 2, false, true), &x, &[2], &[-5i32, -1], &[0, 2]);
    let x = data(DType::I64, &[3], &[i64::MIN, i64::MAX, 0]);
    check(
        attrs(0, 3, true, true),
        &x,
        &[3],
        &[i64::MAX, 0, i64::MIN],
        &[1, 2, 0],
    );
    // Unsigned: 200 ranks above 3.
    let x = data(DType::U8, &[3], &[200u8, 3, 255]);
    check(attrs(0, 2, true, true), &x, &[2], &[255u8, 200], &[2, 0]);
    let x = data(DType::I8, &[3], &[-128i8, 3, 127]);
    check(attrs(0, 2, false, true), &x, &[2], &[-128i8, 3], &[0, 1]);
    let x = data(DType::I16, &[2, 2], &[-3i16, 9, 8, -8]);
    check(attrs(1, 1, true, true), &x, &[2, 1], &[9i16, 8], &[1, 0]);
    // The ONNX uint64 case, and unsigned values above the signed range.
    let v: Vec<u64> = (0..12).collect();
    let x = data(DType::U64, &[3, 4], &v);
    check(
        attrs(1, 3, true, true),
        &x,
        &[3, 3],
        &[3u64, 2, 1, 7, 6, 5, 11, 10, 9],
        &[3, 2, 1, 3, 2, 1, 3, 2, 1],
    );
    let x = data(DType::U64, &[3], &[1u64, u64::MAX, 1 << 63]);
    check(
        attrs(0, 2, true, true),
        &x,
        &[2],
        &[u64::MAX, 1 << 63],
        &[1, 2],
    );
    let x = data(DType::U32, &[3], &[7u32, u32::MAX, 0]);
    check(attrs(0, 2, false, true), &x, &[2], &[0u32, 7], &[2, 0]);
    let x = data(DType::U16, &[3], &[40000u16, 2, 40000]);
    check(
        attrs(0, 2, true, true),
        &x,
        &[2],
        &[40000u16, 40000],
        &[0, 2],
    );
    let x = data(DType::F64, &[4], &[0.5f64, f64::NAN, -2.0, 0.25]);
    check(
        attrs(0, 3, false, true),
        &x,
        &[3],
        &[-2.0f64, 0.25, 0.5],
        &[2, 3, 0],
    );
}

#[test]
fn scratch_is_one_position_per_axis_element() {
    let x = data(DType::F32, &[2, 100], &[0f32; 200]);
    let m = encode(&graph(attrs(1, 4, true, true), &x).unwrap());
    let m = Model::from_bytes(&m).unwrap();
    assert!(Interpreter::scratch_len(&m).unwrap() >= 400);
}

#[test]
fn rules() {
    let x = data(DType::F32, &[2, 3], &[0f32; 6]);
    let err = |a, x: &Data| match graph(a, x) {
        Err(Error::Model(e)) => e,
        other => panic!("{a:?}: expected a model error, got {:?}", other.err()),
    };
    assert_eq!(
        err(attrs(1, 4, true, true), &x),
        ModelError::Attribute {
            op: 0,
            what: "topk k exceeds the axis length"
        }
    );
    assert_eq!(
        err(attrs(2, 1, true, true), &x),
        ModelError::Attribute {
            op: 0,
            what: "topk axis out of range"
        }
    );
    for dtype in [DType::Bool, DType::F16] {
        let x = data(dtype, &[2], &[0u16]);
        assert_eq!(
            err(attrs(0, 1, true, true), &x),
            ModelError::DType {
                op: 0,
                operand: 0,
                expected: DType::F32,
                got: dtype
            }
        );
    }
    // k = len is a full sort.
    check(
        attrs(1, 3, true, true),
        &data(DType::F32, &[1, 3], &[2f32, 9., 4.]),
        &[1, 3],
        &[9f32, 4., 2.],
        &[1, 2, 0],
    );
}

#[test]
fn kernel_errors() {
    let spec = TopKSpec {
        outer: 1,
        len: 3,
        inner: 1,
        k: 2,
        largest: true,
        sorted: true,
    };
    let x = [1f32, 2., 3.];
    let (mut v, mut i, mut s) = ([0f32; 2], [0i64; 2], [0u32; 3]);
    top_k(&x, &spec, &mut v, &mut i, &mut s).unwrap();
    assert_eq!((v, i), ([3., 2.], [2, 1]));
    let short = top_k(&x, &spec, &mut v, &mut i, &mut s[..2]);
    assert!(matches!(short, Err(Error::BufferTooSmall { .. })));
    let big = TopKSpec { k: 4, ..spec };
    assert_eq!(
        top_k(&x, &big, &mut v, &mut i, &mut s),
        Err(Error::InvalidArgument {
            op: "top_k",
            what: "k exceeds the axis length"
        })
    );
    assert!(matches!(
        top_k(&x[..2], &spec, &mut v, &mut i, &mut s),
        Err(Error::DimMismatch {
            what: "input length",
            ..
        })
    ));
    // k = 0 writes nothing.
    let none = TopKSpec { k: 0, ..spec };
    top_k(&x, &none, &mut [], &mut [], &mut s).unwrap();
}

/// A small deterministic generator (xorshift).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn kernel_matches_a_stable_sort() {
    // Values from 0..5 so that most rows are full of ties; the reference sorts each row's
    // positions stably by value (descending for largest), so equal values stay in
    // position order.
    let mut st = 0x9e37_79b9_7f4a_7c15u64;
    for case in 0..200 {
        let outer = 1 + (next(&mut st) % 3) as usize;
        let len = 1 + (next(&mut st) % 12) as usize;
        let inner = 1 + (next(&mut st) % 3) as usize;
        let k = (next(&mut st) as usize) % (len + 1);
        let largest = next(&mut st) % 2 == 0;
        let sorted = next(&mut st) % 3 != 0;
        let x: Vec<i32> = (0..outer * len * inner)
            .map(|_| (next(&mut st) % 5) as i32)
            .collect();
        let mut want_v = vec![0i32; outer * k * inner];
        let mut want_i = vec![0i64; outer * k * inner];
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| x[(o * len + j) * inner + i];
                let mut pos: Vec<usize> = (0..len).collect();
                if largest {
                    pos.sort_by_key(|&a| std::cmp::Reverse(at(a)));
                } else {
                    pos.sort_by_key(|&a| at(a));
                }
                pos.truncate(k);
                if !sorted {
                    pos.sort();
                }
                for (j, &p) in pos.iter().enumerate() {
                    want_v[(o * k + j) * inner + i] = at(p);
                    want_i[(o * k + j) * inner + i] = p as i64;
                }
            }
        }
        let spec = TopKSpec {
            outer,
            len,
            inner,
            k,
            largest,
            sorted,
        };
        let mut v = vec![0i32; want_v.len()];
        let mut i = vec![0i64; want_i.len()];
        let mut s = vec![0u32; len];
        top_k(&x, &spec, &mut v, &mut i, &mut s).unwrap();
        assert_eq!((v, i), (want_v, want_i), "case {case}: {spec:?} of {x:?}");
    }
}
