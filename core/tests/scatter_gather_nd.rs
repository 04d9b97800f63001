//! ScatterElements, ScatterND and GatherND through whole models (graph builder -> `.born`
//! bytes -> loader -> interpreter) on hand-computed cases: the ONNX operator examples,
//! negative indices, repeated indices under every reduction, integer and byte element
//! types; then out-of-range indices (an error at invoke, no panic) and the errors of their
//! rules.

#![cfg(feature = "alloc")]

mod common;

use born_core::kernels::tensor::{gather_nd, scatter_nd, Reduction};
use born_core::model::graph::Graph;
use born_core::ops::gather_nd::{GatherNd, GatherNdAttrs};
use born_core::ops::scatter_elements::{ScatterElements, ScatterElementsAttrs};
use born_core::ops::scatter_nd::{ScatterNd, ScatterNdAttrs};
use born_core::ops::Op;
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

fn f32s(dims: &[usize], v: &[f32]) -> Data {
    data(DType::F32, dims, v)
}

fn i64s(dims: &[usize], v: &[i64]) -> Data {
    data(DType::I64, dims, v)
}

/// The graph of one op `O` over graph inputs like `inputs`.
fn graph<O: Op>(a: O::Attrs, inputs: &[&Data]) -> born_core::Result<Graph> {
    let mut g = Graph::new("index", "scatter/gather test");
    let mut ids = Vec::new();
    for (k, x) in inputs.iter().enumerate() {
        ids.push(g.add_input(&format!("x{k}"), x.dtype, &x.dims)?);
    }
    let y = g.add_op::<O>(a, &ids, "y")?;
    g.mark_output(y)?;
    Ok(g)
}

/// Runs op `O` on `inputs`; returns its output.
fn run<O: Op>(a: O::Attrs, inputs: &[&Data]) -> born_core::Result<Data> {
    let g = graph::<O>(a, inputs)?;
    let bytes = encode(&g);
    let m = Model::from_bytes(&bytes)?;
    let mut arena = vec![0u8; Interpreter::arena_len(&m)?];
    let mut it = Interpreter::new(&m, &mut arena)?;
    for (k, x) in inputs.iter().enumerate() {
        it.input_raw_mut(k)?.copy_from_slice(&x.bytes);
    }
    it.invoke()?;
    let t = &g.tensors[g.outputs[0]];
    Ok(Data {
        dtype: t.dtype,
        dims: t.shape.dims().to_vec(),
        bytes: it.output_raw(0)?.to_vec(),
    })
}

fn check<O: Op>(a: O::Attrs, inputs: &[&Data], want: &Data) {
    let got = run::<O>(a, inputs).unwrap_or_else(|e| panic!("{a:?}: {e:?}"));
    assert_eq!(&got, want, "{a:?}");
}

/// The model error building the graph gives.
fn rule_err<O: Op>(a: O::Attrs, inputs: &[&Data]) -> ModelError {
    match graph::<O>(a, inputs) {
        Err(Error::Model(e)) => e,
        other => panic!("{a:?}: expected a model error, got {:?}", other.err()),
    }
}

fn se(axis: i32, reduction: Reduction) -> ScatterElementsAttrs {
    ScatterElementsAttrs { axis, reduction }
}

fn snd(reduction: Reduction) -> ScatterNdAttrs {
    ScatterNdAttrs { reduction }
}

// ---------------------------------------------------------------------------------------
// ScatterElements.

#[test]
fn scatter_elements_onnx_examples() {
    // Example 1: axis 0 into a 3x3 zero tensor.
    let x = f32s(&[3, 3], &[0.; 9]);
    let i = i64s(&[2, 3], &[1, 0, 2, 0, 2, 1]);
    let u = f32s(&[2, 3], &[1.0, 1.1, 1.2, 2.0, 2.1, 2.2]);
    let want = f32s(&[3, 3], &[2.0, 1.1, 0.0, 1.0, 0.0, 2.2, 0.0, 2.1, 1.2]);
    check::<ScatterElements>(se(0, Reduction::None), &[&x, &i, &u], &want);
    // Example 2: axis 1 (and -1), positions 1 and 3.
    let x = f32s(&[1, 5], &[1., 2., 3., 4., 5.]);
    let u = f32s(&[1, 2], &[1.1, 2.1]);
    let i = i64s(&[1, 2], &[1, 3]);
    let want = f32s(&[1, 5], &[1., 1.1, 3., 2.1, 5.]);
    for axis in [1, -1] {
        check::<ScatterElements>(se(axis, Reduction::None), &[&x, &i, &u], &want);
    }
    // Negative indices count from the end: -3 is position 2.
    let i = i64s(&[1, 2], &[1, -3]);
    let want = f32s(&[1, 5], &[1., 1.1, 2.1, 4., 5.]);
    check::<ScatterElements>(se(1, Reduction::None), &[&x, &i, &u], &want);
    // i32 indices.
    let i = data(DType::I32, &[1, 2], &[-1i32, 0]);
    let want = f32s(&[1, 5], &[2.1, 2., 3., 4., 1.1]);
    check::<ScatterElements>(se(1, Reduction::None), &[&x, &i, &u], &want);
}

#[test]
fn scatter_elements_repeated_indices() {
    // Both updates land on position 1 (data 2.0): in order, 1.1 then 2.1.
    let x = f32s(&[1, 5], &[1., 2., 3., 4., 5.]);
    let i = i64s(&[1, 2], &[1, 1]);
    let u = f32s(&[1, 2], &[1.1, 2.1]);
    let at1 = |v: f32| f32s(&[1, 5], &[1., v, 3., 4., 5.]);
    let cases = [
        (Reduction::None, 2.1),
        (Reduction::Add, (2.0f32 + 1.1) + 2.1),
        (Reduction::Mul, (2.0f32 * 1.1) * 2.1),
        (Reduction::Max, 2.1),
        (Reduction::Min, 1.1),
    ];
    for (r, v) in cases {
        check::<ScatterElements>(se(1, r), &[&x, &i, &u], &at1(v));
    }
}

#[test]
fn scatter_elements_integers_and_bytes() {
    // i32 data, i32 indices, repeats: [10 20 30] + at 0: 1, 3; at 2: 2, 4 (via -1).
    let x = data(DType::I32, &[3], &[10i32, 20, 30]);
    let i = data(DType::I32, &[4], &[0i32, 2, 0, -1]);
    let u = data(DType::I32, &[4], &[1i32, 2, 3, 4]);
    let cases: [(Reduction, [i32; 3]); 5] = [
        (Reduction::None, [3, 20, 4]),
        (Reduction::Add, [14, 20, 36]),
        (Reduction::Mul, [30, 20, 240]),
        (Reduction::Max, [10, 20, 30]),
        (Reduction::Min, [1, 20, 2]),
    ];
    for (r, want) in cases {
        let want = data(DType::I32, &[3], &want);
        check::<ScatterElements>(se(0, r), &[&x, &i, &u], &want);
    }
    // Integers wrap: 120 + 10 in i8 is -126; u8 200 * 2 is 144.
    let x = data(DType::I8, &[1], &[120i8]);
    let u = data(DType::I8, &[1], &[10i8]);
    let i = i64s(&[1], &[0]);
    let want = data(DType::I8, &[1], &[-126i8]);
    check::<ScatterElements>(se(0, Reduction::Add), &[&x, &i, &u], &want);
    let x = data(DType::U8, &[2], &[200u8, 7]);
    let u = data(DType::U8, &[1], &[2u8]);
    let want = data(DType::U8, &[2], &[144u8, 7]);
    check::<ScatterElements>(se(0, Reduction::Mul), &[&x, &i, &u], &want);
    // i64 max.
    let x = i64s(&[2, 2], &[5, -5, 7, 1]);
    let i = i64s(&[2, 2], &[1, 1, 0, 0]);
    let u = i64s(&[2, 2], &[6, -9, 0, 3]);
    // Row-major over indices: (0,0)->[1][0]=max(7,6); (0,1)->[1][1]=max(1,-9);
    // (1,0)->[0][0]=max(5,0); (1,1)->[0][1]=max(-5,3).
    let want = i64s(&[2, 2], &[5, 3, 7, 1]);
    check::<ScatterElements>(se(0, Reduction::Max), &[&x, &i, &u], &want);
    // u64 add wraps past u64::MAX; f64 min; u16 max compares unsigned.
    let x = data(DType::U64, &[2], &[u64::MAX, 5]);
    let u = data(DType::U64, &[2], &[2u64, 1]);
    let i = i64s(&[2], &[0, 1]);
    let want = data(DType::U64, &[2], &[1u64, 6]);
    check::<ScatterElements>(se(0, Reduction::Add), &[&x, &i, &u], &want);
    let x = data(DType::F64, &[2], &[1.5f64, -1.0]);
    let u = data(DType::F64, &[2], &[0.5f64, 3.0]);
    let want = data(DType::F64, &[2], &[0.5f64, -1.0]);
    check::<ScatterElements>(se(0, Reduction::Min), &[&x, &i, &u], &want);
    let x = data(DType::U16, &[2], &[40000u16, 7]);
    let u = data(DType::U16, &[2], &[3u16, 50000]);
    let want = data(DType::U16, &[2], &[40000u16, 50000]);
    check::<ScatterElements>(se(0, Reduction::Max), &[&x, &i, &u], &want);
    // Bool data without a reduction moves bytes.
    let x = data(DType::Bool, &[4], &[0u8, 0, 1, 1]);
    let u = data(DType::Bool, &[2], &[1u8, 0]);
    let i = i64s(&[2], &[1, 2]);
    let want = data(DType::Bool, &[4], &[0u8, 1, 0, 1]);
    check::<ScatterElements>(se(0, Reduction::None), &[&x, &i, &u], &want);
}

#[test]
fn scatter_elements_shorter_indices() {
    // Indices [1, 2] on data [2, 3] along axis 1: only row 0 is written.
    let x = f32s(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let i = i64s(&[1, 2], &[2, 0]);
    let u = f32s(&[1, 2], &[9., 8.]);
    let want = f32s(&[2, 3], &[8., 2., 9., 4., 5., 6.]);
    check::<ScatterElements>(se(1, Reduction::None), &[&x, &i, &u], &want);
}

#[test]
fn scatter_elements_out_of_range() {
    let x = f32s(&[1, 5], &[1., 2., 3., 4., 5.]);
    let u = f32s(&[1, 2], &[1.1, 2.1]);
    for (bad, index) in [(5i64, 5usize), (-6, 6), (i64::MIN, 1 << 63)] {
        let i = i64s(&[1, 2], &[0, bad]);
        for r in [Reduction::None, Reduction::Add] {
            assert_eq!(
                run::<ScatterElements>(se(1, r), &[&x, &i, &u]),
                Err(Error::IndexOutOfRange {
                    op: "scatter_elements",
                    what: "scatter index",
                    index,
                    len: 5
                })
            );
        }
    }
}

#[test]
fn scatter_elements_rules() {
    let x = f32s(&[2, 3], &[0.; 6]);
    let i = i64s(&[2, 3], &[0; 6]);
    let u = f32s(&[2, 3], &[0.; 6]);
    let shape = |operand, what| ModelError::OperandShape {
        op: 0,
        operand,
        what,
    };
    let dtype = |operand, expected, got| ModelError::DType {
        op: 0,
        operand,
        expected,
        got,
    };
    let r = Reduction::None;
    assert_eq!(
        rule_err::<ScatterElements>(se(2, r), &[&x, &i, &u]),
        ModelError::Attribute {
            op: 0,
            what: "scatter axis out of range"
        }
    );
    let fi = f32s(&[2, 3], &[0.; 6]);
    assert_eq!(
        rule_err::<ScatterElements>(se(0, r), &[&x, &fi, &u]),
        dtype(1, DType::I64, DType::F32)
    );
    let i1 = i64s(&[6], &[0; 6]);
    assert_eq!(
        rule_err::<ScatterElements>(se(0, r), &[&x, &i1, &u]),
        shape(1, "rank differs from the data's")
    );
    let wide = i64s(&[2, 4], &[0; 8]);
    let uw = f32s(&[2, 4], &[0.; 8]);
    assert_eq!(
        rule_err::<ScatterElements>(se(0, r), &[&x, &wide, &uw]),
        shape(1, "a dimension off the scatter axis exceeds the data's")
    );
    let u2 = f32s(&[3, 2], &[0.; 6]);
    assert_eq!(
        rule_err::<ScatterElements>(se(0, r), &[&x, &i, &u2]),
        shape(2, "shape differs from the one the indices imply")
    );
    let ui = data(DType::I32, &[2, 3], &[0i32; 6]);
    assert_eq!(
        rule_err::<ScatterElements>(se(0, r), &[&x, &i, &ui]),
        dtype(2, DType::F32, DType::I32)
    );
    // Reductions need f32 or an integer type.
    let b = data(DType::Bool, &[2, 3], &[0u8; 6]);
    assert_eq!(
        rule_err::<ScatterElements>(se(0, Reduction::Add), &[&b, &i, &b]),
        dtype(0, DType::F32, DType::Bool)
    );
    let h = data(DType::F16, &[2, 3], &[0u16; 6]);
    assert_eq!(
        rule_err::<ScatterElements>(se(0, Reduction::Mul), &[&h, &i, &h]),
        dtype(0, DType::F32, DType::F16)
    );
    // Without a reduction f16 and bool move as bytes.
    let hi = i64s(&[1, 1], &[1]);
    let hu = data(DType::F16, &[1, 1], &[0x3c00u16]);
    let want = data(DType::F16, &[2, 3], &[0u16, 0, 0, 0x3c00, 0, 0]);
    check::<ScatterElements>(se(0, r), &[&h, &hi, &hu], &want);
    assert_eq!(
        rule_err::<ScatterElements>(se(0, Reduction::Max), &[&x, &i],),
        ModelError::Arity {
            op: 0,
            kind: "ScatterElements",
            min: 3,
            max: 3,
            got: 2
        }
    );
}

// ---------------------------------------------------------------------------------------
// ScatterND.

#[test]
fn scatter_nd_onnx_examples() {
    // Example 1: single elements of a vector.
    let x = f32s(&[8], &[1., 2., 3., 4., 5., 6., 7., 8.]);
    let i = i64s(&[4, 1], &[4, 3, 1, 7]);
    let u = f32s(&[4], &[9., 10., 11., 12.]);
    let want = f32s(&[8], &[1., 11., 3., 10., 9., 6., 7., 12.]);
    check::<ScatterNd>(snd(Reduction::None), &[&x, &i, &u], &want);
    // Example 2: whole 4x4 slices 0 and 2 of a 4x4x4 tensor replaced.
    let xv: Vec<f32> = (0..64).map(|v| v as f32).collect();
    let x = f32s(&[4, 4, 4], &xv);
    let i = i64s(&[2, 1], &[0, 2]);
    let uv: Vec<f32> = (0..32).map(|v| 100. + v as f32).collect();
    let u = f32s(&[2, 4, 4], &uv);
    let mut wv = xv.clone();
    wv[..16].copy_from_slice(&uv[..16]);
    wv[32..48].copy_from_slice(&uv[16..]);
    check::<ScatterNd>(snd(Reduction::None), &[&x, &i, &u], &f32s(&[4, 4, 4], &wv));
}

#[test]
fn scatter_nd_rows_of_two_coordinates() {
    // [2, 2, 3]; rows (0, 1) and (1, -2) = (1, 0) address rows of 3.
    let x = data(DType::I32, &[2, 2, 3], &[0i32; 12]);
    let i = i64s(&[2, 2], &[0, 1, 1, -2]);
    let u = data(DType::I32, &[2, 3], &[1i32, 2, 3, 4, 5, 6]);
    let want = data(
        DType::I32,
        &[2, 2, 3],
        &[0i32, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0],
    );
    check::<ScatterNd>(snd(Reduction::None), &[&x, &i, &u], &want);
    // Full coordinates: single elements, indices of rank 3.
    let x = f32s(&[2, 2], &[1., 2., 3., 4.]);
    let i = i64s(&[1, 2, 2], &[0, 0, 1, 1]);
    let u = f32s(&[1, 2], &[9., 8.]);
    check::<ScatterNd>(
        snd(Reduction::None),
        &[&x, &i, &u],
        &f32s(&[2, 2], &[9., 2., 3., 8.]),
    );
}

#[test]
fn scatter_nd_repeated_indices() {
    // Rows 0, 0, 3 of [1 2 3 4] with updates 5, 6, 7.
    let x = f32s(&[4], &[1., 2., 3., 4.]);
    let i = i64s(&[3, 1], &[0, 0, 3]);
    let u = f32s(&[3], &[5., 6., 7.]);
    let cases: [(Reduction, [f32; 4]); 5] = [
        (Reduction::None, [6., 2., 3., 7.]),
        (Reduction::Add, [12., 2., 3., 11.]),
        (Reduction::Mul, [30., 2., 3., 28.]),
        (Reduction::Max, [6., 2., 3., 7.]),
        (Reduction::Min, [1., 2., 3., 4.]),
    ];
    for (r, want) in cases {
        check::<ScatterNd>(snd(r), &[&x, &i, &u], &f32s(&[4], &want));
    }
    // i64 rows of two: slice 0 twice.
    let x = i64s(&[2, 2], &[1, 2, 3, 4]);
    let i = i64s(&[2, 1], &[0, -2]);
    let u = i64s(&[2, 2], &[10, 20, 30, 40]);
    check::<ScatterNd>(
        snd(Reduction::Add),
        &[&x, &i, &u],
        &i64s(&[2, 2], &[41, 62, 3, 4]),
    );
    // NaN wins max and min.
    let x = f32s(&[2], &[1., f32::NAN]);
    let i = i64s(&[2, 1], &[0, 1]);
    let u = f32s(&[2], &[f32::NAN, 5.]);
    let got = run::<ScatterNd>(snd(Reduction::Max), &[&x, &i, &u]).unwrap();
    let got: &[f32] = bytemuck::cast_slice(&got.bytes);
    assert!(got[0].is_nan() && got[1].is_nan());
}

#[test]
fn scatter_nd_out_of_range_and_rules() {
    let x = f32s(&[2, 3], &[0.; 6]);
    let i = i64s(&[2, 2], &[0, 0, 1, 3]);
    let u = f32s(&[2], &[1., 2.]);
    for r in [Reduction::None, Reduction::Mul] {
        assert_eq!(
            run::<ScatterNd>(snd(r), &[&x, &i, &u]),
            Err(Error::IndexOutOfRange {
                op: "scatter_nd",
                what: "scatter index",
                index: 3,
                len: 3
            })
        );
    }
    let i = i64s(&[2, 2], &[-3, 0, 0, 0]);
    assert_eq!(
        run::<ScatterNd>(snd(Reduction::None), &[&x, &i, &u]),
        Err(Error::IndexOutOfRange {
            op: "scatter_nd",
            what: "scatter index",
            index: 3,
            len: 2
        })
    );
    let shape = |operand, what| ModelError::OperandShape {
        op: 0,
        operand,
        what,
    };
    let r = Reduction::None;
    let i32i = data(DType::I32, &[2, 2], &[0i32; 4]);
    assert_eq!(
        rule_err::<ScatterNd>(snd(r), &[&x, &i32i, &u]),
        ModelError::DType {
            op: 0,
            operand: 1,
            expected: DType::I64,
            got: DType::I32
        }
    );
    let deep = i64s(&[1, 3], &[0; 3]);
    let u1 = f32s(&[1], &[0.]);
    assert_eq!(
        rule_err::<ScatterNd>(snd(r), &[&x, &deep, &u1]),
        shape(1, "last dimension exceeds the data rank")
    );
    let u3 = f32s(&[3], &[0.; 3]);
    assert_eq!(
        rule_err::<ScatterNd>(snd(r), &[&x, &i, &u3]),
        shape(2, "shape differs from the one the indices imply")
    );
    let scalar = i64s(&[], &[0]);
    assert_eq!(
        rule_err::<ScatterNd>(snd(r), &[&x, &scalar, &u]),
        shape(1, "must have rank 1 or more")
    );
}

#[test]
fn scatter_nd_kernel_whole_tensor_rows() {
    // k = 0: every row replaces (or combines with) the whole tensor.
    let mut out = [1i32, 2, 3];
    scatter_nd(&mut out, &[3], &[], &[2, 0], &[1, 1, 1, 2, 2, 2], |e, u| {
        e + u
    })
    .unwrap();
    assert_eq!(out, [4, 5, 6]);
    // An error leaves `out` untouched.
    let mut out = [1i32, 2, 3];
    let e = scatter_nd(&mut out, &[3], &[0, 7], &[2, 1], &[9, 9], |_, u| u);
    assert!(matches!(e, Err(Error::IndexOutOfRange { index: 7, .. })));
    assert_eq!(out, [1, 2, 3]);
}

// ---------------------------------------------------------------------------------------
// GatherND.

fn gnd(batch_dims: u32) -> GatherNdAttrs {
    GatherNdAttrs { batch_dims }
}

#[test]
fn gather_nd_onnx_examples() {
    let d2 = data(DType::I32, &[2, 2], &[0i32, 1, 2, 3]);
    let d3 = data(DType::I32, &[2, 2, 2], &[0i32, 1, 2, 3, 4, 5, 6, 7]);
    let i32s = |dims: &[usize], v: &[i32]| data(DType::I32, dims, v);
    // Example 1: elements.
    let i = i64s(&[2, 2], &[0, 0, 1, 1]);
    check::<GatherNd>(gnd(0), &[&d2, &i], &i32s(&[2], &[0, 3]));
    // Example 2: rows.
    let i = i64s(&[2, 1], &[1, 0]);
    check::<GatherNd>(gnd(0), &[&d2, &i], &i32s(&[2, 2], &[2, 3, 0, 1]));
    // Example 3: rows of a rank-3 tensor.
    let i = i64s(&[2, 2], &[0, 1, 1, 0]);
    check::<GatherNd>(gnd(0), &[&d3, &i], &i32s(&[2, 2], &[2, 3, 4, 5]));
    // Example 4: indices of rank 3.
    let i = i64s(&[2, 1, 2], &[0, 1, 1, 0]);
    check::<GatherNd>(gnd(0), &[&d3, &i], &i32s(&[2, 1, 2], &[2, 3, 4, 5]));
    // Example 5: batch_dims 1, row 1 of batch 0 and row 0 of batch 1.
    let i = i64s(&[2, 1], &[1, 0]);
    check::<GatherNd>(gnd(1), &[&d3, &i], &i32s(&[2, 2], &[2, 3, 4, 5]));
    // f32 data (the ONNX float32 case).
    let x = f32s(&[2, 2, 2], &[0., 1., 2., 3., 4., 5., 6., 7.]);
    let i = i64s(&[2, 1, 2], &[0, 1, 1, 0]);
    check::<GatherNd>(gnd(0), &[&x, &i], &f32s(&[2, 1, 2], &[2., 3., 4., 5.]));
}

#[test]
fn gather_nd_negative_indices_and_batches() {
    let x = data(DType::I16, &[2, 3], &[0i16, 1, 2, 3, 4, 5]);
    let i = i64s(&[2, 2], &[-1, -3, 0, -1]);
    check::<GatherNd>(gnd(0), &[&x, &i], &data(DType::I16, &[2], &[3i16, 2]));
    // batch_dims 1 with element coordinates: x[b, i[b]].
    let i = i64s(&[2, 2, 1], &[2, 0, 1, -1]);
    check::<GatherNd>(
        gnd(1),
        &[&x, &i],
        &data(DType::I16, &[2, 2], &[2i16, 0, 4, 5]),
    );
    // batch_dims 2 on [2, 2, 3]: picks x[a, b, i[a, b]].
    let v: Vec<i64> = (0..12).collect();
    let x = i64s(&[2, 2, 3], &v);
    let i = i64s(&[2, 2, 1], &[0, 1, 2, -1]);
    check::<GatherNd>(gnd(2), &[&x, &i], &i64s(&[2, 2], &[0, 4, 8, 11]));
}

#[test]
fn gather_nd_out_of_range_and_rules() {
    let x = f32s(&[2, 2], &[0., 1., 2., 3.]);
    let i = i64s(&[2, 2], &[0, 0, 2, 1]);
    assert_eq!(
        run::<GatherNd>(gnd(0), &[&x, &i]),
        Err(Error::IndexOutOfRange {
            op: "gather_nd",
            what: "gather index",
            index: 2,
            len: 2
        })
    );
    let i = i64s(&[1, 1], &[-3]);
    assert_eq!(
        run::<GatherNd>(gnd(0), &[&x, &i]),
        Err(Error::IndexOutOfRange {
            op: "gather_nd",
            what: "gather index",
            index: 3,
            len: 2
        })
    );
    let shape = |what| ModelError::OperandShape {
        op: 0,
        operand: 1,
        what,
    };
    let deep = i64s(&[1, 3], &[0; 3]);
    let what = "last dimension must be 1 to the data rank less batch_dims";
    assert_eq!(rule_err::<GatherNd>(gnd(0), &[&x, &deep]), shape(what));
    let i = i64s(&[2, 2], &[0; 4]);
    assert_eq!(rule_err::<GatherNd>(gnd(1), &[&x, &i]), shape(what));
    let batch = i64s(&[3, 1], &[0; 3]);
    assert_eq!(
        rule_err::<GatherNd>(gnd(1), &[&x, &batch]),
        shape("batch dimensions differ from the data's")
    );
    assert_eq!(
        rule_err::<GatherNd>(gnd(2), &[&x, &i]),
        ModelError::Attribute {
            op: 0,
            what: "batch_dims must be below the ranks of data and indices"
        }
    );
    let i32i = data(DType::I32, &[2, 2], &[0i32; 4]);
    assert_eq!(
        rule_err::<GatherNd>(gnd(0), &[&x, &i32i]),
        ModelError::DType {
            op: 0,
            operand: 1,
            expected: DType::I64,
            got: DType::I32
        }
    );
}

#[test]
fn gather_nd_kernel_errors_leave_out_untouched() {
    let mut out = [7i32; 2];
    let e = gather_nd(&[0, 1, 2, 3], &[2, 2], &[0, 0, 0, 9], &[2, 2], 0, &mut out);
    assert!(matches!(
        e,
        Err(Error::IndexOutOfRange {
            index: 9,
            len: 2,
            ..
        })
    ));
    assert_eq!(out, [7, 7]);
    let e = gather_nd(&[0, 1, 2, 3], &[2, 2], &[0, 0], &[2, 1], 0, &mut out);
    assert!(matches!(
        e,
        Err(Error::DimMismatch {
            what: "output length",
            ..
        })
    ));
    // batch_dims 1: x[b, i[b]] = [x[0, 1], x[1, 0]].
    gather_nd(&[0, 1, 2, 3], &[2, 2], &[1, 0], &[2, 1], 1, &mut out).unwrap();
    assert_eq!(out, [1, 2]);
    let e = gather_nd(&[0, 1, 2, 3], &[2, 2], &[0, 0], &[2, 1], 2, &mut out);
    assert_eq!(
        e,
        Err(Error::InvalidArgument {
            op: "gather_nd",
            what: "batch_dims must be below the indices rank"
        })
    );
    // k = 0 picks whole batches.
    let mut out = [0i32; 4];
    gather_nd(&[0, 1, 2, 3], &[2, 2], &[], &[2, 0], 1, &mut out).unwrap();
    assert_eq!(out, [0, 1, 2, 3]);
}
