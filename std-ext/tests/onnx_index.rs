//! The ONNX translations of `TopK` (its `k` as an attribute before opset 10, as a known
//! input from then on), the old `Scatter`, `ScatterElements`, `ScatterND` and `GatherND`,
//! on models built here with the protobuf types: converted, run by born and compared with
//! hand-computed outputs; and the refusals (a `k` computed at run time, a `k` past the
//! axis, an unknown reduction) as errors naming the node.

use born_std::core::interp::Interpreter;
use born_std::core::model::graph::AlignedBytes;
use born_std::core::Model;
use born_std::onnx::proto::attribute_proto::AttributeType;
use born_std::onnx::proto::tensor_proto::DataType;
use born_std::onnx::proto::tensor_shape_proto::{dimension, Dimension};
use born_std::onnx::proto::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use born_std::onnx::{convert_bytes, Converted, OnnxError, Options};
use prost::Message;

const FLOAT: i32 = DataType::Float as i32;
const INT64: i32 = DataType::Int64 as i32;

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn value(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(dimension::Value::DimValue(d)),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: s(name),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int_attr(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

fn str_attr(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::String as i32),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: s(op),
        name: s("n"),
        input: inputs.iter().map(|i| i.to_string()).collect(),
        output: outputs.iter().map(|o| o.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn init_f32(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        name: s(name),
        dims: dims.to_vec(),
        data_type: Some(FLOAT),
        raw_data: Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn init_i64(name: &str, dims: &[i64], v: &[i64]) -> TensorProto {
    TensorProto {
        name: s(name),
        dims: dims.to_vec(),
        data_type: Some(INT64),
        raw_data: Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        ..Default::default()
    }
}

/// One node over a float input `x` of `dims`, at `opset`.
fn model(
    opset: i64,
    n: NodeProto,
    dims: &[i64],
    outputs: Vec<ValueInfoProto>,
    initializer: Vec<TensorProto>,
) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: s(""),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            name: s("g"),
            node: vec![n],
            input: vec![value("x", FLOAT, dims)],
            output: outputs,
            initializer,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn convert(m: &ModelProto) -> Result<Converted, OnnxError> {
    convert_bytes(&m.encode_to_vec(), None, &Options::default())
}

/// Runs `c` on one f32 input; returns every output's bytes.
fn run(c: &Converted, x: &[f32]) -> Vec<Vec<u8>> {
    let (bytes, _) = born_std::export::encode_planned(&c.graph).expect("encode");
    let bytes = AlignedBytes::from_slice(&bytes);
    let m = Model::from_bytes(&bytes).expect("the converted model loads");
    let mut arena = vec![0u8; Interpreter::arena_len(&m).expect("arena length")];
    let mut it = Interpreter::new(&m, &mut arena).expect("interpreter");
    it.input_mut::<f32>(0).expect("input 0").copy_from_slice(x);
    it.invoke().expect("invoke");
    (0..m.outputs().len())
        .map(|k| it.output_raw(k).expect("output").to_vec())
        .collect()
}

fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_i64(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn top_k_outputs() -> Vec<ValueInfoProto> {
    vec![value("v", FLOAT, &[1, 2]), value("i", INT64, &[1, 2])]
}

const X: [f32; 4] = [1.0, 4.0, 3.0, 4.0];

#[test]
fn top_k_attribute_before_opset_10() {
    let n = node("TopK", &["x"], &["v", "i"], vec![int_attr("k", 2)]);
    let c = convert(&model(1, n, &[1, 4], top_k_outputs(), vec![])).expect("converts");
    // The last axis by default; the tie of the two 4s goes to position 1 first.
    assert_eq!(run(&c, &X), [bytes_f32(&[4.0, 4.0]), bytes_i64(&[1, 3])]);
}

#[test]
fn top_k_input_from_opset_10_and_smallest_from_11() {
    let k = init_i64("k", &[1], &[2]);
    let n = node("TopK", &["x", "k"], &["v", "i"], vec![]);
    let m = model(10, n, &[1, 4], top_k_outputs(), vec![k.clone()]);
    let c = convert(&m).expect("converts");
    assert_eq!(run(&c, &X), [bytes_f32(&[4.0, 4.0]), bytes_i64(&[1, 3])]);
    let attrs = vec![int_attr("largest", 0), int_attr("axis", 1)];
    let n = node("TopK", &["x", "k"], &["v", "i"], attrs);
    let c = convert(&model(11, n, &[1, 4], top_k_outputs(), vec![k])).expect("converts");
    assert_eq!(run(&c, &X), [bytes_f32(&[1.0, 3.0]), bytes_i64(&[0, 2])]);
}

#[test]
fn top_k_refusals_name_the_node() {
    // k past the axis length.
    let k = init_i64("k", &[1], &[5]);
    let n = node("TopK", &["x", "k"], &["v", "i"], vec![]);
    let e = convert(&model(11, n, &[1, 4], top_k_outputs(), vec![k])).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("TopK") && msg.contains("k = 5"), "{msg}");
    // k computed at run time.
    let n = node("TopK", &["x", "k"], &["v", "i"], vec![]);
    let mut m = model(11, n, &[1, 4], top_k_outputs(), vec![]);
    if let Some(g) = m.graph.as_mut() {
        g.input.push(value("k", INT64, &[1]));
    }
    assert!(matches!(convert(&m), Err(OnnxError::NotConstant { .. })));
    // A k of two values.
    let k = init_i64("k", &[2], &[1, 2]);
    let n = node("TopK", &["x", "k"], &["v", "i"], vec![]);
    let e = convert(&model(11, n, &[1, 4], top_k_outputs(), vec![k])).unwrap_err();
    assert!(e.to_string().contains("k must hold one value"), "{e}");
}

fn scatter_model(op: &str, opset: i64, attrs: Vec<AttributeProto>) -> ModelProto {
    let i = init_i64("i", &[1, 2], &[1, -1]);
    let u = init_f32("u", &[1, 2], &[9.0, 8.0]);
    let n = node(op, &["x", "i", "u"], &["y"], attrs);
    let out = vec![value("y", FLOAT, &[1, 4])];
    model(opset, n, &[1, 4], out, vec![i, u])
}

#[test]
fn scatter_and_scatter_elements() {
    // The old Scatter (opset 10): positions 1 and -1 (3) of the row.
    let c = convert(&scatter_model("Scatter", 10, vec![int_attr("axis", 1)])).expect("Scatter");
    assert_eq!(run(&c, &X), [bytes_f32(&[1.0, 9.0, 3.0, 8.0])]);
    let attrs = vec![int_attr("axis", 1), str_attr("reduction", "mul")];
    let c = convert(&scatter_model("ScatterElements", 18, attrs)).expect("ScatterElements");
    assert_eq!(run(&c, &X), [bytes_f32(&[1.0, 36.0, 3.0, 32.0])]);
    let attrs = vec![int_attr("axis", 1), str_attr("reduction", "mean")];
    let e = convert(&scatter_model("ScatterElements", 18, attrs)).unwrap_err();
    assert!(e.to_string().contains("reduction \"mean\""), "{e}");
}

#[test]
fn scatter_nd_and_gather_nd() {
    // ScatterND on a [2, 2] input: row 1 replaced, then added to.
    let i = init_i64("i", &[2, 1], &[1, 1]);
    let u = init_f32("u", &[2, 2], &[10.0, 20.0, 30.0, 40.0]);
    let attrs = vec![str_attr("reduction", "add")];
    let n = node("ScatterND", &["x", "i", "u"], &["y"], attrs);
    let out = vec![value("y", FLOAT, &[2, 2])];
    let c = convert(&model(18, n, &[2, 2], out, vec![i, u])).expect("ScatterND");
    assert_eq!(run(&c, &X), [bytes_f32(&[1.0, 4.0, 43.0, 64.0])]);
    // GatherND with batch_dims 1: x[0, 1] and x[1, 0].
    let i = init_i64("i", &[2, 1], &[1, 0]);
    let n = node(
        "GatherND",
        &["x", "i"],
        &["y"],
        vec![int_attr("batch_dims", 1)],
    );
    let out = vec![value("y", FLOAT, &[2])];
    let c = convert(&model(13, n, &[2, 2], out, vec![i])).expect("GatherND");
    assert_eq!(run(&c, &X), [bytes_f32(&[4.0, 3.0])]);
}
