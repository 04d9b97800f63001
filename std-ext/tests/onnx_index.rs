//! The ONNX translations of `TopK` (its `k` as an attribute before opset 10, as a known
//! input from then on), the old `Scatter`, `ScatterElements`, `ScatterND` and `GatherND`,
//! on models built here with the protobuf types: converted, run by born and compared with
//! hand-computed outputs; and the refusals (a `k` computed at run time, a `k` past the
//! axis, an unknown reduction) as errors naming the node.

mod common;

use born_std::onnx::proto::{AttributeProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use born_std::onnx::OnnxError;
use common::onnx::{
    convert, init_f32, init_i64, int_attr, le_f32, le_i64, model_proto, node, run_bytes,
    string_attr, value, FLOAT, INT64,
};

/// One node over a float input `x` of `dims`, at `opset`.
fn model(
    opset: i64,
    n: NodeProto,
    dims: &[i64],
    outputs: Vec<ValueInfoProto>,
    initializer: Vec<TensorProto>,
) -> ModelProto {
    let input = vec![value("x", FLOAT, dims)];
    model_proto(None, opset, vec![n], input, outputs, initializer)
}

fn top_k_outputs() -> Vec<ValueInfoProto> {
    vec![value("v", FLOAT, &[1, 2]), value("i", INT64, &[1, 2])]
}

const X: [f32; 4] = [1.0, 4.0, 3.0, 4.0];

#[test]
fn top_k_attribute_before_opset_10() {
    let n = node("TopK", "n", &["x"], &["v", "i"], vec![int_attr("k", 2)]);
    let c = convert(&model(1, n, &[1, 4], top_k_outputs(), vec![])).expect("converts");
    // The last axis by default; the tie of the two 4s goes to position 1 first.
    assert_eq!(run_bytes(&c, &[&X]), [le_f32(&[4.0, 4.0]), le_i64(&[1, 3])]);
}

#[test]
fn top_k_input_from_opset_10_and_smallest_from_11() {
    let k = init_i64("k", &[1], &[2]);
    let n = node("TopK", "n", &["x", "k"], &["v", "i"], vec![]);
    let m = model(10, n, &[1, 4], top_k_outputs(), vec![k.clone()]);
    let c = convert(&m).expect("converts");
    assert_eq!(run_bytes(&c, &[&X]), [le_f32(&[4.0, 4.0]), le_i64(&[1, 3])]);
    let attrs = vec![int_attr("largest", 0), int_attr("axis", 1)];
    let n = node("TopK", "n", &["x", "k"], &["v", "i"], attrs);
    let c = convert(&model(11, n, &[1, 4], top_k_outputs(), vec![k])).expect("converts");
    assert_eq!(run_bytes(&c, &[&X]), [le_f32(&[1.0, 3.0]), le_i64(&[0, 2])]);
}

#[test]
fn top_k_refusals_name_the_node() {
    // k past the axis length.
    let k = init_i64("k", &[1], &[5]);
    let n = node("TopK", "n", &["x", "k"], &["v", "i"], vec![]);
    let e = convert(&model(11, n, &[1, 4], top_k_outputs(), vec![k])).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("TopK") && msg.contains("k = 5"), "{msg}");
    // k computed at run time.
    let n = node("TopK", "n", &["x", "k"], &["v", "i"], vec![]);
    let mut m = model(11, n, &[1, 4], top_k_outputs(), vec![]);
    if let Some(g) = m.graph.as_mut() {
        g.input.push(value("k", INT64, &[1]));
    }
    assert!(matches!(convert(&m), Err(OnnxError::NotConstant { .. })));
    // A k of two values.
    let k = init_i64("k", &[2], &[1, 2]);
    let n = node("TopK", "n", &["x", "k"], &["v", "i"], vec![]);
    let e = convert(&model(11, n, &[1, 4], top_k_outputs(), vec![k])).unwrap_err();
    assert!(e.to_string().contains("k must hold one value"), "{e}");
}

fn scatter_model(op: &str, opset: i64, attrs: Vec<AttributeProto>) -> ModelProto {
    let i = init_i64("i", &[1, 2], &[1, -1]);
    let u = init_f32("u", &[1, 2], &[9.0, 8.0]);
    let n = node(op, "n", &["x", "i", "u"], &["y"], attrs);
    let out = vec![value("y", FLOAT, &[1, 4])];
    model(opset, n, &[1, 4], out, vec![i, u])
}

#[test]
fn scatter_and_scatter_elements() {
    // The old Scatter (opset 10): positions 1 and -1 (3) of the row.
    let c = convert(&scatter_model("Scatter", 10, vec![int_attr("axis", 1)])).expect("Scatter");
    assert_eq!(run_bytes(&c, &[&X]), [le_f32(&[1.0, 9.0, 3.0, 8.0])]);
    let attrs = vec![int_attr("axis", 1), string_attr("reduction", "mul")];
    let c = convert(&scatter_model("ScatterElements", 18, attrs)).expect("ScatterElements");
    assert_eq!(run_bytes(&c, &[&X]), [le_f32(&[1.0, 36.0, 3.0, 32.0])]);
    let attrs = vec![int_attr("axis", 1), string_attr("reduction", "mean")];
    let e = convert(&scatter_model("ScatterElements", 18, attrs)).unwrap_err();
    assert!(e.to_string().contains("reduction \"mean\""), "{e}");
}

#[test]
fn scatter_nd_and_gather_nd() {
    // ScatterND on a [2, 2] input: row 1 replaced, then added to.
    let i = init_i64("i", &[2, 1], &[1, 1]);
    let u = init_f32("u", &[2, 2], &[10.0, 20.0, 30.0, 40.0]);
    let attrs = vec![string_attr("reduction", "add")];
    let n = node("ScatterND", "n", &["x", "i", "u"], &["y"], attrs);
    let out = vec![value("y", FLOAT, &[2, 2])];
    let c = convert(&model(18, n, &[2, 2], out, vec![i, u])).expect("ScatterND");
    assert_eq!(run_bytes(&c, &[&X]), [le_f32(&[1.0, 4.0, 43.0, 64.0])]);
    // GatherND with batch_dims 1: x[0, 1] and x[1, 0].
    let i = init_i64("i", &[2, 1], &[1, 0]);
    let n = node(
        "GatherND",
        "n",
        &["x", "i"],
        &["y"],
        vec![int_attr("batch_dims", 1)],
    );
    let out = vec![value("y", FLOAT, &[2])];
    let c = convert(&model(13, n, &[2, 2], out, vec![i])).expect("GatherND");
    assert_eq!(run_bytes(&c, &[&X]), [le_f32(&[4.0, 3.0])]);
}
