//! The data-movement ops (Transpose, Concat, Slice, Gather, GatherElements, Where, Expand,
//! Tile, Pad, Cast) through whole models: graph builder -> `.born` bytes -> loader ->
//! interpreter, compared with NumPy (scripts/fixtures/ops_movement.py, every element type
//! among the cases) and with hand-computed ONNX examples; then each op's record corrupted
//! (attributes, arity, operand types and shapes, output records) with the specific
//! `ModelError` the loader must give.

#![cfg(feature = "alloc")]

mod common;

use born_core::model::format::Dims;
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::ops::cast::{Cast, CastAttrs};
use born_core::ops::concat::{Concat, ConcatAttrs};
use born_core::ops::expand::{Expand, ExpandAttrs};
use born_core::ops::gather::{Gather, GatherAttrs};
use born_core::ops::gather_elements::GatherElements;
use born_core::ops::pad::{Mode, Pad, PadAttrs};
use born_core::ops::slice::{Slice, SliceAttrs};
use born_core::ops::tile::{Tile, TileAttrs};
use born_core::ops::transpose::{Transpose, TransposeAttrs};
use born_core::ops::where_select::Where;
use born_core::ops::{Op, MAX_INPUTS};
use born_core::{DType, Error, Interpreter, Model, ModelError, Shape};
use common::{assert_loads, encode, model_err, with_op, with_tensor};
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/ops_movement.json");

// ---------------------------------------------------------------------------------------
// Running graphs.

/// A tensor of a fixture case: element type, shape, little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
struct Data {
    dtype: DType,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn dtype(name: &str) -> DType {
    *DType::ALL
        .iter()
        .find(|d| d.name() == name)
        .unwrap_or_else(|| panic!("unknown dtype {name}"))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn data(v: &Value) -> Data {
    Data {
        dtype: dtype(v["dtype"].as_str().unwrap()),
        shape: v["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect(),
        bytes: unhex(v["hex"].as_str().unwrap()),
    }
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_i64().unwrap())
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    ints(v).into_iter().map(|e| e as usize).collect()
}

fn le<T: bytemuck::Pod>(v: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

/// Loads `bytes`, fills the graph inputs with `inputs` (bytes), invokes once and returns
/// every graph output's bytes.
fn invoke(bytes: &AlignedBytes, inputs: &[Vec<u8>]) -> born_core::Result<Vec<Vec<u8>>> {
    let m = Model::from_bytes(bytes)?;
    let mut arena = vec![0u8; Interpreter::arena_len(&m)?];
    let mut it = Interpreter::new(&m, &mut arena)?;
    for (k, x) in inputs.iter().enumerate() {
        it.input_raw_mut(k)?.copy_from_slice(x);
    }
    it.invoke()?;
    (0..m.outputs().len())
        .map(|k| it.output_raw(k).map(<[u8]>::to_vec))
        .collect()
}

/// Builds a graph of one op `O` over graph inputs shaped as `inputs`, checks the output
/// type and shape the builder inferred, runs it and compares the output bytes.
fn check<O: Op>(attrs: O::Attrs, inputs: &[Data], out: &Data, what: &str) {
    let mut g = Graph::new("movement", "ops_movement test");
    let ids: Vec<usize> = inputs
        .iter()
        .enumerate()
        .map(|(k, x)| g.add_input(&format!("x{k}"), x.dtype, &x.shape).unwrap())
        .collect();
    let y = g
        .add_op::<O>(attrs, &ids, "y")
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    g.mark_output(y).unwrap();
    assert_eq!(g.tensors[y].dtype, out.dtype, "{what}: output type");
    assert_eq!(
        g.tensors[y].shape,
        Shape::new(&out.shape).unwrap(),
        "{what}: output shape"
    );
    let bytes: Vec<Vec<u8>> = inputs.iter().map(|x| x.bytes.clone()).collect();
    let got = invoke(&encode(&g), &bytes).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert_eq!(got[0], out.bytes, "{what}: output bytes");
}

/// Runs every case of fixture list `name` with the attributes `attrs` makes of it; checks
/// that the cases cover a type other than f32.
fn fixture<O: Op>(name: &str, attrs: impl Fn(&Value) -> O::Attrs) {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    let cases = doc[name].as_array().unwrap();
    assert!(!cases.is_empty());
    let mut types = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let inputs: Vec<Data> = c["inputs"].as_array().unwrap().iter().map(data).collect();
        let out = data(&c["out"]);
        types.push(out.dtype);
        check::<O>(attrs(c), &inputs, &out, &format!("{name} case {i}"));
    }
    assert!(
        types.iter().any(|&t| t != DType::F32),
        "{name}: only f32 cases"
    );
}

fn f32s(v: &[f32]) -> Data {
    Data {
        dtype: DType::F32,
        shape: vec![v.len()],
        bytes: le(v),
    }
}

fn shaped(mut d: Data, shape: &[usize]) -> Data {
    d.shape = shape.to_vec();
    d
}

fn typed<T: bytemuck::Pod>(dtype: DType, shape: &[usize], v: &[T]) -> Data {
    Data {
        dtype,
        shape: shape.to_vec(),
        bytes: le(v),
    }
}

fn dims(d: &[usize]) -> Dims {
    Dims::from_shape(&Shape::new(d).unwrap()).unwrap()
}

fn shape(d: &[usize]) -> Shape {
    Shape::new(d).unwrap()
}

// ---------------------------------------------------------------------------------------
// Round trips against NumPy.

#[test]
fn transpose_matches_numpy() {
    fixture::<Transpose>("transpose", |c| match c["perm"].as_array() {
        None => TransposeAttrs::REVERSE,
        Some(_) => TransposeAttrs::new(&usizes(&c["perm"])).unwrap(),
    });
}

#[test]
fn concat_matches_numpy() {
    fixture::<Concat>("concat", |c| ConcatAttrs {
        axis: c["axis"].as_i64().unwrap() as i32,
    });
}

#[test]
fn slice_matches_numpy() {
    fixture::<Slice>("slice", |c| {
        let l = |k: &str| ints(&c[k]);
        SliceAttrs::new(&l("starts"), &l("ends"), &l("axes"), &l("steps")).unwrap()
    });
}

#[test]
fn gather_matches_numpy() {
    fixture::<Gather>("gather", |c| GatherAttrs {
        axis: c["axis"].as_i64().unwrap() as i32,
    });
}

#[test]
fn gather_elements_matches_numpy() {
    fixture::<GatherElements>("gather_elements", |c| GatherAttrs {
        axis: c["axis"].as_i64().unwrap() as i32,
    });
}

#[test]
fn where_matches_numpy() {
    fixture::<Where>("where", |_| ());
}

#[test]
fn expand_matches_numpy() {
    fixture::<Expand>("expand", |c| ExpandAttrs {
        shape: dims(&usizes(&c["shape"])),
    });
}

#[test]
fn tile_matches_numpy() {
    fixture::<Tile>("tile", |c| TileAttrs::new(&usizes(&c["repeats"])).unwrap());
}

#[test]
fn pad_matches_numpy() {
    fixture::<Pad>("pad", |c| {
        let mode = match c["mode"].as_str().unwrap() {
            "constant" => Mode::Constant,
            "reflect" => Mode::Reflect,
            _ => Mode::Edge,
        };
        let value = c["value"].as_f64().unwrap();
        PadAttrs::new(&usizes(&c["begin"]), &usizes(&c["end"]), mode, value).unwrap()
    });
}

#[test]
fn cast_matches_numpy() {
    fixture::<Cast>("cast", |c| CastAttrs {
        to: dtype(c["to"].as_str().unwrap()),
    });
}

// ---------------------------------------------------------------------------------------
// Round trips against hand-computed values (ONNX operator examples and edge cases).

#[test]
fn transpose_by_hand() {
    let x = shaped(f32s(&[0., 1., 2., 3., 4., 5.]), &[2, 3]);
    let out = shaped(f32s(&[0., 3., 1., 4., 2., 5.]), &[3, 2]);
    check::<Transpose>(
        TransposeAttrs::REVERSE,
        core::slice::from_ref(&x),
        &out,
        "reverse",
    );
    check::<Transpose>(
        TransposeAttrs::new(&[1, 0]).unwrap(),
        core::slice::from_ref(&x),
        &out,
        "[1, 0]",
    );
    check::<Transpose>(
        TransposeAttrs::new(&[0, 1]).unwrap(),
        core::slice::from_ref(&x),
        &x,
        "identity",
    );
    // A scalar: the default permutation of rank 0 is empty.
    let s = typed(DType::I64, &[], &[-5i64]);
    check::<Transpose>(
        TransposeAttrs::REVERSE,
        core::slice::from_ref(&s),
        &s,
        "scalar",
    );
}

#[test]
fn concat_by_hand() {
    // One tensor twice, and every input slot used (the same tensor MAX_INPUTS times).
    let x = typed(DType::I32, &[1, 2], &[7i32, 8]);
    let out = typed(DType::I32, &[2, 2], &[7i32, 8, 7, 8]);
    let mut g = Graph::new("concat", "test");
    let a = g.add_input("x", DType::I32, &[1, 2]).unwrap();
    let y = g
        .add_op::<Concat>(ConcatAttrs { axis: 0 }, &[a, a], "y")
        .unwrap();
    let z = g
        .add_op::<Concat>(ConcatAttrs { axis: 1 }, &[a; MAX_INPUTS], "z")
        .unwrap();
    g.mark_output(y).unwrap();
    g.mark_output(z).unwrap();
    assert_eq!(g.tensors[z].shape, shape(&[1, 2 * MAX_INPUTS]));
    let got = invoke(&encode(&g), &[x.bytes]).unwrap();
    assert_eq!(got[0], out.bytes);
    assert_eq!(got[1], le(&[7i32, 8].repeat(MAX_INPUTS)));
    // A constant part between two activations.
    let mut g = Graph::new("concat", "test");
    let a = g.add_input("a", DType::F32, &[2, 1]).unwrap();
    let c = g.add_const("c", &[2, 2], &[10f32, 11., 12., 13.]).unwrap();
    let y = g
        .add_op::<Concat>(ConcatAttrs { axis: -1 }, &[a, c, a], "y")
        .unwrap();
    g.mark_output(y).unwrap();
    let got = invoke(&encode(&g), &[le(&[1f32, 2.])]).unwrap();
    assert_eq!(got[0], le(&[1f32, 10., 11., 1., 2., 12., 13., 2.]));
}

#[test]
fn slice_by_hand() {
    // The ONNX operator examples.
    let x = shaped(f32s(&[1., 2., 3., 4., 5., 6., 7., 8.]), &[2, 4]);
    let a = SliceAttrs::new(&[1, 0], &[2, 3], &[0, 1], &[1, 2]).unwrap();
    check::<Slice>(
        a,
        core::slice::from_ref(&x),
        &shaped(f32s(&[5., 7.]), &[1, 2]),
        "steps",
    );
    let a = SliceAttrs::new(&[0, 1], &[-1, 1000], &[], &[]).unwrap();
    check::<Slice>(
        a,
        core::slice::from_ref(&x),
        &shaped(f32s(&[2., 3., 4.]), &[1, 3]),
        "clamped",
    );
    // Reversed along both axes.
    let a = SliceAttrs::new(&[-1, -1], &[i64::MIN, i64::MIN], &[], &[-1, -1]).unwrap();
    let rev = shaped(f32s(&[8., 7., 6., 5., 4., 3., 2., 1.]), &[2, 4]);
    check::<Slice>(a, core::slice::from_ref(&x), &rev, "reversed");
    // Every other element backwards from the end, on i16.
    let x = typed(DType::I16, &[7], &[0i16, 1, 2, 3, 4, 5, 6]);
    let a = SliceAttrs::new(&[100], &[0], &[0], &[-2]).unwrap();
    check::<Slice>(a, &[x], &typed(DType::I16, &[3], &[6i16, 4, 2]), "i16");
}

#[test]
fn gather_by_hand() {
    // ONNX example 1 (axis 0), indices a constant i64 tensor.
    let mut g = Graph::new("gather", "test");
    let x = g.add_input("x", DType::F32, &[3, 2]).unwrap();
    let i = g.add_const("i", &[2, 2], &[0i64, 1, 1, 2]).unwrap();
    let y = g
        .add_op::<Gather>(GatherAttrs { axis: 0 }, &[x, i], "y")
        .unwrap();
    g.mark_output(y).unwrap();
    assert_eq!(g.tensors[y].shape, shape(&[2, 2, 2]));
    let data = le(&[1.0f32, 1.2, 2.3, 3.4, 4.5, 5.7]);
    let got = invoke(&encode(&g), &[data]).unwrap();
    let want = le(&[1.0f32, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7]);
    assert_eq!(got[0], want);
    // ONNX example 2 (axis 1) with negative i32 indices.
    let x = shaped(
        f32s(&[1.0, 1.2, 1.9, 2.3, 3.4, 3.9, 4.5, 5.7, 5.9]),
        &[3, 3],
    );
    let idx = typed(DType::I32, &[1, 2], &[0i32, -1]);
    let out = shaped(f32s(&[1.0, 1.9, 2.3, 3.9, 4.5, 5.9]), &[3, 1, 2]);
    check::<Gather>(GatherAttrs { axis: 1 }, &[x, idx], &out, "axis 1");
}

#[test]
fn gather_index_out_of_range_fails_at_invoke() {
    for wide in [false, true] {
        let mut g = Graph::new("gather", "test");
        let x = g.add_input("x", DType::U8, &[3, 2]).unwrap();
        let t = if wide { DType::I64 } else { DType::I32 };
        let i = g.add_input("i", t, &[2]).unwrap();
        let y = g
            .add_op::<Gather>(GatherAttrs { axis: 0 }, &[x, i], "y")
            .unwrap();
        g.mark_output(y).unwrap();
        let idx = if wide { le(&[0i64, 3]) } else { le(&[0i32, 3]) };
        let e = invoke(&encode(&g), &[vec![1, 2, 3, 4, 5, 6], idx]).unwrap_err();
        assert_eq!(
            e,
            Error::IndexOutOfRange {
                op: "gather",
                what: "gather index",
                index: 3,
                len: 3
            }
        );
        let idx = if wide {
            le(&[-3i64, 2])
        } else {
            le(&[-3i32, 2])
        };
        let got = invoke(&encode(&g), &[vec![1, 2, 3, 4, 5, 6], idx]).unwrap();
        assert_eq!(got[0], [1, 2, 5, 6]);
    }
}

#[test]
fn gather_elements_by_hand() {
    // ONNX examples 1 and 2; i32 indices go through scratch.
    let x = typed(DType::I32, &[2, 2], &[1i32, 2, 3, 4]);
    let idx = typed(DType::I64, &[2, 2], &[0i64, 0, 1, 0]);
    let out = typed(DType::I32, &[2, 2], &[1i32, 1, 4, 3]);
    check::<GatherElements>(GatherAttrs { axis: 1 }, &[x, idx], &out, "example 1");
    let x = typed(DType::I32, &[3, 3], &[1i32, 2, 3, 4, 5, 6, 7, 8, 9]);
    let idx = typed(DType::I32, &[2, 3], &[1i32, 2, 0, 2, 0, 0]);
    let out = typed(DType::I32, &[2, 3], &[4i32, 8, 3, 7, 2, 3]);
    check::<GatherElements>(GatherAttrs { axis: 0 }, &[x, idx], &out, "example 2");
    // The scratch the i32 path asks for: one i64 per index.
    let mut g = Graph::new("ge", "test");
    let x = g.add_input("x", DType::I8, &[3, 3]).unwrap();
    let i = g.add_input("i", DType::I32, &[5, 3]).unwrap();
    let y = g
        .add_op::<GatherElements>(GatherAttrs { axis: 0 }, &[x, i], "y")
        .unwrap();
    g.mark_output(y).unwrap();
    let bytes = encode(&g);
    let m = Model::from_bytes(&bytes).unwrap();
    assert!(Interpreter::scratch_len(&m).unwrap() >= 15 * 8);
    let e = invoke(
        &bytes,
        &[
            vec![0; 9],
            le(&[0i32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -4, 0, 0]),
        ],
    );
    assert_eq!(
        e.unwrap_err(),
        Error::IndexOutOfRange {
            op: "gather_elements",
            what: "gather index",
            index: 4,
            len: 3
        }
    );
}

#[test]
fn where_by_hand() {
    // The ONNX example, then a broadcast condition over f16 values.
    let c = typed(DType::Bool, &[2, 2], &[1u8, 0, 1, 1]);
    let x = shaped(f32s(&[1., 2., 3., 4.]), &[2, 2]);
    let y = shaped(f32s(&[9., 8., 7., 6.]), &[2, 2]);
    let out = shaped(f32s(&[1., 8., 3., 4.]), &[2, 2]);
    check::<Where>((), &[c, x, y], &out, "example");
    let one = half::f16::from_f32(1.0).to_bits();
    let two = half::f16::from_f32(2.0).to_bits();
    let c = typed(DType::Bool, &[2, 1], &[0u8, 1]);
    let a = typed(DType::F16, &[3], &[one; 3]);
    let b = typed(DType::F16, &[], &[two]);
    let out = typed(DType::F16, &[2, 3], &[two, two, two, one, one, one]);
    check::<Where>((), &[c, a, b], &out, "f16");
}

#[test]
fn expand_by_hand() {
    // The ONNX example: [3, 1] to [2, 1, 6] is [2, 3, 6].
    let x = shaped(f32s(&[1., 2., 3.]), &[3, 1]);
    let mut want = Vec::new();
    for _ in 0..2 {
        for v in [1f32, 2., 3.] {
            want.extend([v; 6]);
        }
    }
    let out = shaped(f32s(&want), &[2, 3, 6]);
    let a = ExpandAttrs {
        shape: dims(&[2, 1, 6]),
    };
    check::<Expand>(a, core::slice::from_ref(&x), &out, "example");
    // A target of smaller rank keeps the input's shape.
    let a = ExpandAttrs { shape: dims(&[1]) };
    check::<Expand>(a, core::slice::from_ref(&x), &x, "smaller target");
}

#[test]
fn tile_by_hand() {
    let x = typed(DType::I64, &[2, 2], &[0i64, 1, 2, 3]);
    let out = typed(
        DType::I64,
        &[4, 4],
        &[0i64, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3],
    );
    check::<Tile>(TileAttrs::new(&[2, 2]).unwrap(), &[x], &out, "2x2");
}

#[test]
fn pad_by_hand() {
    // Constant, reflect and edge, one element before the second axis. (ONNX's examples
    // pad by 2 along an axis of 2, which reflect mode refuses: its pads must be smaller
    // than the dimension.)
    let x = shaped(f32s(&[1.0, 1.2, 2.3, 3.4, 4.5, 5.7]), &[3, 2]);
    let attrs = |mode, value| PadAttrs::new(&[0, 1], &[0, 0], mode, value).unwrap();
    let constant = [0.0f32, 1.0, 1.2, 0.0, 2.3, 3.4, 0.0, 4.5, 5.7];
    let reflect = [1.2f32, 1.0, 1.2, 3.4, 2.3, 3.4, 5.7, 4.5, 5.7];
    let edge = [1.0f32, 1.0, 1.2, 2.3, 2.3, 3.4, 4.5, 4.5, 5.7];
    for (mode, want) in [
        (Mode::Constant, constant),
        (Mode::Reflect, reflect),
        (Mode::Edge, edge),
    ] {
        let out = shaped(f32s(&want), &[3, 3]);
        check::<Pad>(
            attrs(mode, 0.0),
            core::slice::from_ref(&x),
            &out,
            &format!("{mode:?}"),
        );
    }
    // Fill values in the input's type: f16, u8, i64 and bool.
    let v = half::f16::from_f32(-2.5).to_bits();
    let x = typed(DType::F16, &[1], &[0u16]);
    let out = typed(DType::F16, &[3], &[v, 0, v]);
    check::<Pad>(
        PadAttrs::new(&[1], &[1], Mode::Constant, -2.5).unwrap(),
        &[x],
        &out,
        "f16",
    );
    let x = typed(DType::U8, &[1], &[9u8]);
    let out = typed(DType::U8, &[2], &[9u8, 255]);
    check::<Pad>(
        PadAttrs::new(&[0], &[1], Mode::Constant, 255.0).unwrap(),
        &[x],
        &out,
        "u8",
    );
    let big = -(1i64 << 53);
    let x = typed(DType::I64, &[1], &[1i64]);
    let out = typed(DType::I64, &[2], &[big, 1]);
    let a = PadAttrs::new(&[1], &[0], Mode::Constant, big as f64).unwrap();
    check::<Pad>(a, &[x], &out, "i64");
    let x = typed(DType::Bool, &[1], &[0u8]);
    let out = typed(DType::Bool, &[2], &[0u8, 1]);
    check::<Pad>(
        PadAttrs::new(&[0], &[1], Mode::Constant, 1.0).unwrap(),
        &[x],
        &out,
        "bool",
    );
}

#[test]
fn cast_by_hand() {
    // Float to integer saturates and sends NaN to 0 (NumPy leaves these platform-defined).
    let x = f32s(&[
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        300.7,
        -1e10,
        -1.9,
    ]);
    let out = typed(DType::I8, &[6], &[0i8, 127, -128, 127, -128, -1]);
    check::<Cast>(
        CastAttrs { to: DType::I8 },
        core::slice::from_ref(&x),
        &out,
        "to i8",
    );
    let out = typed(DType::Bool, &[6], &[1u8, 1, 1, 1, 1, 1]);
    check::<Cast>(CastAttrs { to: DType::Bool }, &[x], &out, "to bool");
    // Same type: the bytes unchanged, NaN payload included.
    let nan = f32::from_bits(0x7fc0_1234);
    let x = f32s(&[nan, -0.0]);
    check::<Cast>(
        CastAttrs { to: DType::F32 },
        core::slice::from_ref(&x),
        &x,
        "to f32",
    );
}

/// Several movement ops in one model, reading each other's outputs from the arena.
#[test]
fn movement_ops_chain() {
    let mut g = Graph::new("chain", "test");
    let x = g.add_input("x", DType::I16, &[2, 3]).unwrap();
    // [[0, 1, 2], [3, 4, 5]] -> transposed [[0, 3], [1, 4], [2, 5]]
    let t = g
        .add_op::<Transpose>(TransposeAttrs::REVERSE, &[x], "t")
        .unwrap();
    // rows 2 and 0 -> [[2, 5], [0, 3]]
    let s = SliceAttrs::new(&[2], &[i64::MIN], &[0], &[-2]).unwrap();
    let s = g.add_op::<Slice>(s, &[t], "s").unwrap();
    // padded with a column of -1 in front -> [[-1, 2, 5], [-1, 0, 3]]
    let p = PadAttrs::new(&[0, 1], &[0, 0], Mode::Constant, -1.0).unwrap();
    let p = g.add_op::<Pad>(p, &[s], "p").unwrap();
    // as i64, next to the input cast too -> [[-1, 2, 5, 0, 1, 2], [-1, 0, 3, 3, 4, 5]]
    let to = CastAttrs { to: DType::I64 };
    let a = g.add_op::<Cast>(to, &[p], "a").unwrap();
    let b = g.add_op::<Cast>(to, &[x], "b").unwrap();
    let c = g
        .add_op::<Concat>(ConcatAttrs { axis: 1 }, &[a, b], "c")
        .unwrap();
    // columns 0 and 4 -> [[-1, 1], [-1, 4]]
    let i = g.add_const("i", &[2], &[0i32, 4]).unwrap();
    let y = g
        .add_op::<Gather>(GatherAttrs { axis: 1 }, &[c, i], "y")
        .unwrap();
    g.mark_output(y).unwrap();
    let got = invoke(&encode(&g), &[le(&[0i16, 1, 2, 3, 4, 5])]).unwrap();
    assert_eq!(got[0], le(&[-1i64, 1, -1, 4]));
}

/// The builder runs the same rules as the loader: a bad record is refused when added.
#[test]
fn graph_builder_refuses_bad_attributes() {
    let mut g = Graph::new("bad", "test");
    let x = g.add_input("x", DType::F32, &[2, 3]).unwrap();
    let e = g
        .add_op::<Transpose>(TransposeAttrs::new(&[0, 0]).unwrap(), &[x], "y")
        .unwrap_err();
    assert_eq!(
        e,
        Error::Model(ModelError::Attribute {
            op: 0,
            what: "perm is not a permutation of the input's axes"
        })
    );
    let e = g
        .add_op::<Slice>(SliceAttrs::new(&[0], &[1], &[0], &[0]).unwrap(), &[x], "y")
        .unwrap_err();
    assert_eq!(
        e,
        Error::Model(ModelError::Attribute {
            op: 0,
            what: "slice step is zero"
        })
    );
    let e = g.add_op::<Where>((), &[x, x, x], "y").unwrap_err();
    assert_eq!(
        e,
        Error::Model(ModelError::DType {
            op: 0,
            operand: 0,
            expected: DType::Bool,
            got: DType::F32
        })
    );
    assert!(g.ops.is_empty());
}

// ---------------------------------------------------------------------------------------
// Corrupted op records.

/// A one-op graph: graph inputs `inputs` (name, type, shape), then the spare constants
/// `spares` (type, shape; zero-filled, not read by the op) that corruptions rewire the op
/// to, then op `O` over the inputs and its output. Returns the bytes and the ids of the
/// spares.
fn base<O: Op>(
    attrs: O::Attrs,
    inputs: &[(DType, &[usize])],
    spares: &[(DType, &[usize])],
) -> (AlignedBytes, Vec<u32>) {
    let mut g = Graph::new("base", "ops_movement test");
    let ins: Vec<usize> = inputs
        .iter()
        .enumerate()
        .map(|(k, &(t, d))| g.add_input(&format!("x{k}"), t, d).unwrap())
        .collect();
    let spare_ids = spares
        .iter()
        .enumerate()
        .map(|(k, &(t, d))| {
            let n = d.iter().product::<usize>() * t.size();
            let c = g.add_const(&format!("c{k}"), &[n], &vec![0u8; n]).unwrap();
            // Constants are stored as bytes; the record carries the type.
            g.tensors[c].dtype = t;
            g.tensors[c].shape = shape(d);
            c as u32
        })
        .collect();
    let y = g.add_op::<O>(attrs, &ins, "y").unwrap();
    g.mark_output(y).unwrap();
    let bytes = encode(&g);
    assert_loads(&bytes);
    (bytes, spare_ids)
}

fn attr_err(what: &'static str) -> ModelError {
    ModelError::Attribute { op: 0, what }
}

fn shape_err(operand: usize, what: &'static str) -> ModelError {
    ModelError::OperandShape {
        op: 0,
        operand,
        what,
    }
}

fn dtype_err(operand: usize, expected: DType, got: DType) -> ModelError {
    ModelError::DType {
        op: 0,
        operand,
        expected,
        got,
    }
}

fn output_err(expected: &[usize], got: &[usize]) -> ModelError {
    ModelError::OutputShape {
        op: 0,
        expected: shape(expected),
        got: shape(got),
    }
}

/// `bytes` with op 0's attributes replaced by `attrs`.
fn with_attrs<A: serde::Serialize>(bytes: &[u8], attrs: &A) -> AlignedBytes {
    with_op(bytes, 0, |d| {
        d.attrs = postcard::to_allocvec(attrs).unwrap()
    })
}

/// `bytes` with op 0's input `k` rewired to tensor `id`.
fn with_input(bytes: &[u8], k: usize, id: u32) -> AlignedBytes {
    with_op(bytes, 0, |d| d.inputs[k] = id)
}

/// The arity errors of op 0 (kind `O`) with `n` inputs listed instead of its own.
fn check_arity<O: Op>(bytes: &[u8], counts: &[usize]) {
    for &n in counts {
        let b = with_op(bytes, 0, |d| d.inputs.resize(n, d.inputs[0]));
        let (min, max) = O::INPUTS;
        assert_eq!(
            model_err(&b),
            ModelError::Arity {
                op: 0,
                kind: O::NAME,
                min,
                max: max.min(MAX_INPUTS),
                got: n
            },
            "{} with {n} inputs",
            O::NAME
        );
    }
    // Attribute bytes that do not decode (a trailing byte).
    let b = with_op(bytes, 0, |d| d.attrs.push(0));
    assert_eq!(model_err(&b), attr_err("attribute record does not decode"));
    // Two outputs.
    let b = with_op(bytes, 0, |d| d.outputs.push(d.outputs[0]));
    assert_eq!(
        model_err(&b),
        ModelError::Outputs {
            op: 0,
            kind: O::NAME,
            min: 1,
            max: 1,
            got: 2
        }
    );
}

#[test]
fn transpose_corruptions() {
    let a = TransposeAttrs::new(&[2, 0, 1]).unwrap();
    let i8s: &[usize] = &[2, 3, 4];
    let (b, sp) = base::<Transpose>(
        a,
        &[(DType::I8, i8s)],
        &[(DType::F32, i8s), (DType::I8, &[3, 2, 4])],
    );
    let bad = |perm: &[usize]| with_attrs(&b, &TransposeAttrs::new(perm).unwrap());
    let not_perm = attr_err("perm is not a permutation of the input's axes");
    assert_eq!(model_err(&bad(&[2, 0, 0])), not_perm);
    assert_eq!(model_err(&bad(&[3, 0, 1])), not_perm);
    let wrong_len = attr_err("perm length differs from the input's rank");
    assert_eq!(model_err(&bad(&[1, 0])), wrong_len);
    assert_eq!(model_err(&bad(&[0, 1, 2, 3, 4, 5])), wrong_len);
    let stray_err = attr_err("perm entries past its length must be 0");
    let stray = TransposeAttrs {
        rank: 3,
        perm: [2, 0, 1, 1, 0, 0],
    };
    assert_eq!(model_err(&with_attrs(&b, &stray)), stray_err);
    let too_long = TransposeAttrs {
        rank: 7,
        perm: [0; 6],
    };
    assert_eq!(model_err(&with_attrs(&b, &too_long)), stray_err);
    // The default permutation has no entries.
    let stray_default = TransposeAttrs {
        rank: 0,
        perm: [1, 0, 0, 0, 0, 0],
    };
    assert_eq!(model_err(&with_attrs(&b, &stray_default)), stray_err);
    // Another permutation than the output record's.
    assert_eq!(
        model_err(&bad(&[1, 0, 2])),
        output_err(&[3, 2, 4], &[4, 2, 3])
    );
    assert_eq!(
        model_err(&with_attrs(&b, &TransposeAttrs::REVERSE)),
        output_err(&[4, 3, 2], &[4, 2, 3])
    );
    // An input of another type or shape than the output record follows from.
    assert_eq!(
        model_err(&with_input(&b, 0, sp[0])),
        dtype_err(1, DType::F32, DType::I8)
    );
    assert_eq!(
        model_err(&with_input(&b, 0, sp[1])),
        output_err(&[4, 3, 2], &[4, 2, 3])
    );
    check_arity::<Transpose>(&b, &[0, 2]);
}

#[test]
fn concat_corruptions() {
    let i16s = DType::I16;
    let (b, sp) = base::<Concat>(
        ConcatAttrs { axis: 1 },
        &[(i16s, &[2, 1, 3]), (i16s, &[2, 4, 3])],
        &[
            (DType::I32, &[2, 2, 3]),
            (i16s, &[2, 3]),
            (i16s, &[3, 1, 3]),
            (i16s, &[2, 1, 3]),
        ],
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[0])),
        dtype_err(1, DType::I16, DType::I32)
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[1])),
        shape_err(1, "rank differs from operand 0's")
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[2])),
        shape_err(1, "dimensions off the concat axis differ from operand 0's")
    );
    // The type and rank of operand 0 set the rules for the others.
    assert_eq!(
        model_err(&with_input(&b, 0, sp[0])),
        dtype_err(1, DType::I32, DType::I16)
    );
    for axis in [3, -4, i32::MAX, i32::MIN] {
        assert_eq!(
            model_err(&with_attrs(&b, &ConcatAttrs { axis })),
            attr_err("concat axis out of range")
        );
    }
    // Along axis 0 the parts differ off the axis.
    assert_eq!(
        model_err(&with_attrs(&b, &ConcatAttrs { axis: 0 })),
        shape_err(1, "dimensions off the concat axis differ from operand 0's")
    );
    // A third part the output record does not count.
    let extra = with_op(&b, 0, |d| d.inputs.push(sp[3]));
    assert_eq!(model_err(&extra), output_err(&[2, 6, 3], &[2, 5, 3]));
    let one = with_op(&b, 0, |d| d.inputs.truncate(1));
    assert_eq!(model_err(&one), output_err(&[2, 1, 3], &[2, 5, 3]));
    check_arity::<Concat>(&b, &[0, MAX_INPUTS + 1]);
}

#[test]
fn slice_corruptions() {
    let a = SliceAttrs::new(&[1, -1], &[4, -7], &[0, 1], &[2, -2]).unwrap();
    let (b, sp) = base::<Slice>(a, &[(DType::I32, &[5, 6])], &[(DType::F32, &[5, 6])]);
    let bad = |s: &[i64], e: &[i64], ax: &[i64], st: &[i64]| {
        with_attrs(&b, &SliceAttrs::new(s, e, ax, st).unwrap())
    };
    assert_eq!(
        model_err(&bad(&[1, 0], &[4, 6], &[0, 1], &[2, 0])),
        attr_err("slice step is zero")
    );
    assert_eq!(
        model_err(&bad(&[1, 0], &[4, 6], &[0, -2], &[1, 1])),
        attr_err("slice names an axis twice")
    );
    for axis in [2, -3, i64::MAX, i64::MIN] {
        assert_eq!(
            model_err(&bad(&[0], &[1], &[axis], &[1])),
            attr_err("slice axis out of range")
        );
    }
    let mut stray = a;
    stray.ends[3] = 9;
    let stray_err = attr_err("slice entries past the count must be 0");
    assert_eq!(model_err(&with_attrs(&b, &stray)), stray_err);
    let mut stray = a;
    stray.n = 7;
    assert_eq!(model_err(&with_attrs(&b, &stray)), stray_err);
    // Another window than the output record's.
    assert_eq!(
        model_err(&bad(&[0, -1], &[5, -7], &[0, 1], &[2, -2])),
        output_err(&[3, 3], &[2, 3])
    );
    assert_eq!(
        model_err(&with_input(&b, 0, sp[0])),
        dtype_err(1, DType::F32, DType::I32)
    );
    check_arity::<Slice>(&b, &[0, 2]);
}

#[test]
fn gather_corruptions() {
    let (b, sp) = base::<Gather>(
        GatherAttrs { axis: 0 },
        &[(DType::F32, &[3, 4]), (DType::I64, &[2])],
        &[
            (DType::F32, &[2]),
            (DType::I32, &[2]),
            (DType::I64, &[1, 1, 1, 1, 1, 1]),
            (DType::U8, &[2]),
            (DType::I64, &[5]),
        ],
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[0])),
        dtype_err(1, DType::I64, DType::F32)
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[3])),
        dtype_err(1, DType::I64, DType::U8)
    );
    // i32 indices of the same shape are as good.
    assert_loads(&with_input(&b, 1, sp[1]));
    assert_eq!(
        model_err(&with_input(&b, 1, sp[2])),
        shape_err(1, "indices make the output rank exceed 6")
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[4])),
        output_err(&[5, 4], &[2, 4])
    );
    for axis in [2, -3] {
        assert_eq!(
            model_err(&with_attrs(&b, &GatherAttrs { axis })),
            attr_err("gather axis out of range")
        );
    }
    assert_eq!(
        model_err(&with_attrs(&b, &GatherAttrs { axis: 1 })),
        output_err(&[3, 2], &[2, 4])
    );
    check_arity::<Gather>(&b, &[1, 3]);
}

#[test]
fn gather_elements_corruptions() {
    let (b, sp) = base::<GatherElements>(
        GatherAttrs { axis: 0 },
        &[(DType::I8, &[3, 3]), (DType::I64, &[2, 3])],
        &[
            (DType::I64, &[3]),
            (DType::I64, &[2, 4]),
            (DType::U8, &[2, 3]),
            (DType::I64, &[4, 3]),
            (DType::I32, &[2, 3]),
        ],
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[0])),
        shape_err(1, "rank differs from the data's")
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[1])),
        shape_err(1, "a dimension off the gather axis exceeds the data's")
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[2])),
        dtype_err(1, DType::I64, DType::U8)
    );
    // Longer than the data along the axis is fine: the output record is what differs.
    assert_eq!(
        model_err(&with_input(&b, 1, sp[3])),
        output_err(&[4, 3], &[2, 3])
    );
    assert_loads(&with_input(&b, 1, sp[4]));
    // Data of another type than the output record.
    let b2 = with_tensor(&b, 0, |t| t.dtype = DType::U8);
    assert_eq!(model_err(&b2), dtype_err(2, DType::U8, DType::I8));
    for axis in [2, -3] {
        assert_eq!(
            model_err(&with_attrs(&b, &GatherAttrs { axis })),
            attr_err("gather axis out of range")
        );
    }
    check_arity::<GatherElements>(&b, &[1, 3]);
}

#[test]
fn where_corruptions() {
    let (b, sp) = base::<Where>(
        (),
        &[
            (DType::Bool, &[2, 1]),
            (DType::F32, &[1, 3]),
            (DType::F32, &[2, 3]),
        ],
        &[
            (DType::U8, &[2, 1]),
            (DType::I32, &[2, 3]),
            (DType::F32, &[4]),
            (DType::Bool, &[3, 1]),
            (DType::Bool, &[2, 2, 1]),
        ],
    );
    assert_eq!(
        model_err(&with_input(&b, 0, sp[0])),
        dtype_err(0, DType::Bool, DType::U8)
    );
    assert_eq!(
        model_err(&with_input(&b, 2, sp[1])),
        dtype_err(2, DType::F32, DType::I32)
    );
    assert_eq!(
        model_err(&with_input(&b, 1, sp[1])),
        dtype_err(2, DType::I32, DType::F32)
    );
    assert_eq!(
        model_err(&with_input(&b, 2, sp[2])),
        shape_err(2, "does not broadcast with operand 1")
    );
    assert_eq!(
        model_err(&with_input(&b, 0, sp[3])),
        shape_err(0, "does not broadcast with operands 1 and 2")
    );
    assert_eq!(
        model_err(&with_input(&b, 0, sp[4])),
        output_err(&[2, 2, 3], &[2, 3])
    );
    check_arity::<Where>(&b, &[2, 4]);
}

#[test]
fn expand_corruptions() {
    let a = ExpandAttrs {
        shape: dims(&[2, 1, 4]),
    };
    let (b, sp) = base::<Expand>(a, &[(DType::I16, &[3, 1])], &[(DType::I16, &[3, 2])]);
    let to = |d: &[usize]| with_attrs(&b, &ExpandAttrs { shape: dims(d) });
    let no = shape_err(0, "does not broadcast with the target shape");
    assert_eq!(model_err(&to(&[2, 2, 4])), no);
    assert_eq!(model_err(&with_input(&b, 0, sp[0])), no);
    assert_eq!(
        model_err(&to(&[1, 1, 4])),
        output_err(&[1, 3, 4], &[2, 3, 4])
    );
    let stray = ExpandAttrs {
        shape: Dims {
            rank: 2,
            dims: [2, 4, 1, 0, 0, 0],
        },
    };
    let bad_dims = attr_err("expand target rank above 6 or stray dimensions");
    assert_eq!(model_err(&with_attrs(&b, &stray)), bad_dims);
    let rank7 = ExpandAttrs {
        shape: Dims {
            rank: 7,
            dims: [1; 6],
        },
    };
    assert_eq!(model_err(&with_attrs(&b, &rank7)), bad_dims);
    let huge = u32::MAX as usize;
    assert_eq!(
        model_err(&to(&[huge, 1, huge])),
        attr_err("output size overflows")
    );
    check_arity::<Expand>(&b, &[0, 2]);
}

#[test]
fn tile_corruptions() {
    let (b, sp) = base::<Tile>(
        TileAttrs::new(&[2, 1]).unwrap(),
        &[(DType::F32, &[2, 3])],
        &[(DType::I32, &[2, 3])],
    );
    let reps = |r: &[usize]| with_attrs(&b, &TileAttrs::new(r).unwrap());
    let wrong_len = attr_err("repeats length differs from the input's rank");
    assert_eq!(model_err(&reps(&[2])), wrong_len);
    assert_eq!(model_err(&reps(&[2, 1, 1])), wrong_len);
    let stray = TileAttrs {
        rank: 2,
        repeats: [2, 1, 5, 0, 0, 0],
    };
    assert_eq!(
        model_err(&with_attrs(&b, &stray)),
        attr_err("repeats past its length must be 0")
    );
    let huge = u32::MAX as usize;
    let overflow = attr_err("output size overflows");
    assert_eq!(model_err(&reps(&[huge, huge])), overflow);
    assert_eq!(model_err(&reps(&[huge, 1])), overflow);
    assert_eq!(model_err(&reps(&[1, 2])), output_err(&[2, 6], &[4, 3]));
    assert_eq!(
        model_err(&with_input(&b, 0, sp[0])),
        dtype_err(1, DType::I32, DType::F32)
    );
    check_arity::<Tile>(&b, &[0, 2]);
}

#[test]
fn pad_corruptions() {
    let a = PadAttrs::new(&[1, 0], &[0, 2], Mode::Constant, 7.0).unwrap();
    let (b, sp) = base::<Pad>(a, &[(DType::U8, &[4, 3])], &[(DType::I8, &[4, 3])]);
    let value = |v: f64| {
        let mut x = a;
        x.value = v;
        with_attrs(&b, &x)
    };
    let unrepresentable = attr_err("pad value is not representable in the element type");
    for v in [256.0, -1.0, 1.5, f64::NAN, f64::INFINITY] {
        assert_eq!(model_err(&value(v)), unrepresentable, "u8 fill {v}");
    }
    assert_loads(&value(255.0));
    // Fill values are checked against the input's type: -1 is an i8, 200 is not.
    let i8_input = with_input(&value(-1.0), 0, sp[0]);
    assert_eq!(model_err(&i8_input), dtype_err(1, DType::I8, DType::U8));
    let i8_input = with_input(&value(200.0), 0, sp[0]);
    assert_eq!(model_err(&i8_input), unrepresentable);
    // Outside constant mode the value is not used.
    let mut reflect = a;
    (reflect.mode, reflect.value) = (Mode::Reflect, 1e300);
    assert_loads(&with_attrs(&b, &reflect));
    let far = PadAttrs::new(&[4, 0], &[0, 2], Mode::Reflect, 0.0).unwrap();
    assert_eq!(
        model_err(&with_attrs(&b, &far)),
        attr_err("reflect pads must be smaller than their dimension")
    );
    let far = PadAttrs::new(&[0, 0], &[0, 3], Mode::Reflect, 0.0).unwrap();
    assert_eq!(
        model_err(&with_attrs(&b, &far)),
        attr_err("reflect pads must be smaller than their dimension")
    );
    let short = PadAttrs::new(&[1], &[0], Mode::Constant, 0.0).unwrap();
    assert_eq!(
        model_err(&with_attrs(&b, &short)),
        attr_err("pads length differs from the input's rank")
    );
    let mut stray = a;
    stray.end[2] = 1;
    assert_eq!(
        model_err(&with_attrs(&b, &stray)),
        attr_err("pads past their length must be 0")
    );
    let huge = u32::MAX as usize;
    let big = PadAttrs::new(&[huge, 0], &[huge, 0], Mode::Edge, 0.0).unwrap();
    assert_eq!(
        model_err(&with_attrs(&b, &big)),
        attr_err("output size overflows")
    );
    let other = PadAttrs::new(&[0, 0], &[0, 2], Mode::Edge, 0.0).unwrap();
    assert_eq!(
        model_err(&with_attrs(&b, &other)),
        output_err(&[4, 5], &[5, 5])
    );
    // A mode byte no mode has.
    let mut raw = postcard::to_allocvec(&a).unwrap();
    let at = raw.len() - 9;
    assert_eq!(raw[at], 0, "mode precedes the 8 value bytes");
    raw[at] = 3;
    let b2 = with_op(&b, 0, |d| d.attrs = raw);
    assert_eq!(model_err(&b2), attr_err("attribute record does not decode"));
    check_arity::<Pad>(&b, &[0, 2]);
}

#[test]
fn pad_edge_of_empty_axis_is_refused() {
    let mut g = Graph::new("pad", "test");
    let x = g.add_input("x", DType::F32, &[0, 2]).unwrap();
    let a = PadAttrs::new(&[1, 0], &[0, 0], Mode::Edge, 0.0).unwrap();
    let e = g.add_op::<Pad>(a, &[x], "y").unwrap_err();
    assert_eq!(e, Error::Model(attr_err("edge padding of an empty axis")));
}

#[test]
fn cast_corruptions() {
    let (b, sp) = base::<Cast>(
        CastAttrs { to: DType::I8 },
        &[(DType::F32, &[2, 3])],
        &[(DType::F32, &[3, 2]), (DType::I64, &[2, 3])],
    );
    // A type index no element type has.
    let b2 = with_op(&b, 0, |d| d.attrs = vec![DType::ALL.len() as u8]);
    assert_eq!(model_err(&b2), attr_err("attribute record does not decode"));
    assert_eq!(
        model_err(&with_attrs(&b, &CastAttrs { to: DType::U8 })),
        dtype_err(1, DType::U8, DType::I8)
    );
    assert_eq!(
        model_err(&with_input(&b, 0, sp[0])),
        output_err(&[3, 2], &[2, 3])
    );
    // Any source type casts.
    assert_loads(&with_input(&b, 0, sp[1]));
    check_arity::<Cast>(&b, &[0, 2]);
}

/// The ids and names of the data-movement ops, as files and errors spell them.
#[test]
fn op_ids_and_names() {
    let ops = [
        (Transpose::ID, Transpose::NAME),
        (Concat::ID, Concat::NAME),
        (Slice::ID, Slice::NAME),
        (Gather::ID, Gather::NAME),
        (GatherElements::ID, GatherElements::NAME),
        (Where::ID, Where::NAME),
        (Expand::ID, Expand::NAME),
        (Tile::ID, Tile::NAME),
        (Pad::ID, Pad::NAME),
        (Cast::ID, Cast::NAME),
    ];
    let names = [
        "Transpose",
        "Concat",
        "Slice",
        "Gather",
        "GatherElements",
        "Where",
        "Expand",
        "Tile",
        "Pad",
        "Cast",
    ];
    for (k, &(id, name)) in ops.iter().enumerate() {
        assert_eq!(id, 30 + k as u16);
        assert_eq!(name, names[k]);
        assert_eq!(common::kind(id), name, "{name} is registered in ops::ALL");
    }
}
