//! Building small ONNX models with the protobuf types of [`born_std::onnx::proto`],
//! converting them, and running the converted graphs with born's interpreter.

// Each test crate that declares `mod common;` uses only a subset of these helpers.
#![allow(dead_code)]

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

/// The ONNX element type code of `float`.
pub const FLOAT: i32 = DataType::Float as i32;
/// The ONNX element type code of `int32`.
pub const INT32: i32 = DataType::Int32 as i32;
/// The ONNX element type code of `int64`.
pub const INT64: i32 = DataType::Int64 as i32;

// ---------------------------------------------------------------------------------------
// Building models.

/// `Some(v)` as an owned string: the form of the protobuf types' optional string fields.
pub fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// `dims` as ONNX extents; panics on an extent that does not fit in `i64`.
fn extents<D: Copy + TryInto<i64>>(dims: &[D]) -> Vec<i64> {
    dims.iter()
        .map(|&d| {
            d.try_into()
                .unwrap_or_else(|_| panic!("an extent does not fit in i64"))
        })
        .collect()
}

/// A tensor value `name` of element type `elem` with the fixed extents `dims`.
pub fn value<D: Copy + TryInto<i64>>(name: &str, elem: i32, dims: &[D]) -> ValueInfoProto {
    let dim = extents(dims)
        .into_iter()
        .map(|d| Dimension {
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

/// An `INT` attribute.
pub fn int_attr(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

/// A `FLOAT` attribute.
pub fn float_attr(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

/// A `FLOATS` attribute.
pub fn floats_attr(name: &str, v: &[f32]) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::Floats as i32),
        floats: v.to_vec(),
        ..Default::default()
    }
}

/// A `STRING` attribute holding the UTF-8 bytes of `v`.
pub fn string_attr(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::String as i32),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// A `STRINGS` attribute holding the UTF-8 bytes of each of `v`.
pub fn strings_attr(name: &str, v: &[&str]) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::Strings as i32),
        strings: v.iter().map(|x| x.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

/// A node `name` of the default domain: `op(inputs) -> outputs` with `attrs`. An empty
/// string among `inputs` or `outputs` stands for an absent optional one.
pub fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: s(op),
        name: s(name),
        input: inputs.iter().map(|i| i.to_string()).collect(),
        output: outputs.iter().map(|o| o.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

/// A tensor `name` of element type `elem` and extents `dims` holding `raw` as its inline
/// raw data (little-endian, row-major), for use as an initializer.
pub fn tensor<D: Copy + TryInto<i64>>(
    name: &str,
    dims: &[D],
    elem: i32,
    raw: Vec<u8>,
) -> TensorProto {
    TensorProto {
        name: s(name),
        dims: extents(dims),
        data_type: Some(elem),
        raw_data: Some(raw),
        ..Default::default()
    }
}

/// An f32 initializer of extents `dims` holding `values` as inline raw data.
pub fn init_f32(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    tensor(name, dims, FLOAT, le_f32(values))
}

/// An int64 initializer of extents `dims` holding `values` as inline raw data.
pub fn init_i64(name: &str, dims: &[i64], values: &[i64]) -> TensorProto {
    tensor(name, dims, INT64, le_i64(values))
}

/// The little-endian bytes of `values`, one after the other.
pub fn le_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The little-endian bytes of `values`, one after the other.
pub fn le_i64(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The f32 values of little-endian `bytes`; a trailing partial value is ignored.
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A model of IR version 8 importing `opset` of the default domain, with `producer` as its
/// producer name when given, and one graph `g` of `nodes`, graph `inputs` and `outputs`,
/// and `initializer`.
pub fn model_proto(
    producer: Option<&str>,
    opset: i64,
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    initializer: Vec<TensorProto>,
) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        producer_name: producer.and_then(s),
        opset_import: vec![OperatorSetIdProto {
            domain: s(""),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            name: s("g"),
            node: nodes,
            input: inputs,
            output: outputs,
            initializer,
            ..Default::default()
        }),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------
// Converting and running.

/// One output of a run: its extents, then its elements (bytes or values) in row-major order.
pub type Output<T> = (Vec<usize>, Vec<T>);

/// Encodes `m` and converts it with `opts`, without a model folder.
pub fn convert_with(m: &ModelProto, opts: &Options) -> Result<Converted, OnnxError> {
    convert_bytes(&m.encode_to_vec(), None, opts)
}

/// Encodes `m` and converts it with the default options, without a model folder.
pub fn convert(m: &ModelProto) -> Result<Converted, OnnxError> {
    convert_with(m, &Options::default())
}

/// Encodes `c`'s graph, loads it as a born model and calls `f` with the model and an
/// interpreter prepared on it; panics when any of those steps fails.
fn with_interpreter<R>(
    c: &Converted,
    f: impl FnOnce(&Model<'_>, &mut Interpreter<'_, '_>) -> R,
) -> R {
    let (bytes, _) = born_std::export::encode_planned(&c.graph).expect("encode");
    let bytes = AlignedBytes::from_slice(&bytes);
    let m = Model::from_bytes(&bytes).expect("the converted model loads");
    let mut arena = vec![0u8; Interpreter::arena_len(&m).expect("arena length")];
    let mut it = Interpreter::new(&m, &mut arena).expect("interpreter");
    f(&m, &mut it)
}

/// Runs `c` with `inputs[k]` as its f32 input `k`: output 0's values. Panics when an input
/// or output 0 is not f32, an input's length differs, or running fails.
pub fn run_f32(c: &Converted, inputs: &[&[f32]]) -> Vec<f32> {
    with_interpreter(c, |_, it| {
        for (k, x) in inputs.iter().enumerate() {
            it.input_mut::<f32>(k).expect("input").copy_from_slice(x);
        }
        it.invoke().expect("invoke");
        it.output::<f32>(0).expect("output").to_vec()
    })
}

/// Runs `c` with `feeds[k]` (little-endian bytes) as its input `k`: every output's
/// extents and bytes, in order. Panics when a feed's length differs or running fails.
pub fn run_raw(c: &Converted, feeds: &[Vec<u8>]) -> Vec<Output<u8>> {
    with_interpreter(c, |m, it| {
        for (k, x) in feeds.iter().enumerate() {
            it.input_raw_mut(k).expect("input").copy_from_slice(x);
        }
        it.invoke().expect("invoke");
        (0..m.outputs().len())
            .map(|k| {
                let dims = it
                    .output_def(k)
                    .expect("output")
                    .dims
                    .to_shape()
                    .expect("shape")
                    .dims()
                    .to_vec();
                (dims, it.output_raw(k).expect("output").to_vec())
            })
            .collect()
    })
}

/// [`run_raw`] on f32 inputs: every output's bytes, in order.
pub fn run_bytes(c: &Converted, inputs: &[&[f32]]) -> Vec<Vec<u8>> {
    let feeds: Vec<Vec<u8>> = inputs.iter().map(|x| le_f32(x)).collect();
    run_raw(c, &feeds).into_iter().map(|(_, y)| y).collect()
}

/// Converts `m` (see [`convert`]) and, when that succeeds, runs it on `feeds` as
/// [`run_raw`] does: the conversion's error, or every output's extents and bytes.
pub fn convert_run_raw(m: &ModelProto, feeds: &[Vec<u8>]) -> Result<Vec<Output<u8>>, OnnxError> {
    Ok(run_raw(&convert(m)?, feeds))
}

/// [`convert_run_raw`] with every output read as f32 values.
pub fn convert_run_f32(m: &ModelProto, feeds: &[Vec<u8>]) -> Result<Vec<Output<f32>>, OnnxError> {
    let outputs = convert_run_raw(m, feeds)?;
    Ok(outputs.into_iter().map(|(d, y)| (d, f32s(&y))).collect())
}

/// [`convert_run_f32`] on f32 inputs: output 0's extents and values.
pub fn convert_run_output0(m: &ModelProto, inputs: &[&[f32]]) -> Result<Output<f32>, OnnxError> {
    let feeds: Vec<Vec<u8>> = inputs.iter().map(|x| le_f32(x)).collect();
    Ok(convert_run_f32(m, &feeds)?.swap_remove(0))
}

/// The message of `r`'s error; panics, showing the value, when `r` is `Ok`.
pub fn refusal_message<T: std::fmt::Debug>(r: Result<T, OnnxError>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(y) => panic!("converted: {y:?}"),
    }
}
