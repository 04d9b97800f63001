//! The ONNX `Resize` and `Upsample` translations on models built here: the opsets the
//! conformance suite does not cover (Upsample 7 and 9 with known scales, Resize 10 and 11
//! with empty inputs standing for absent ones) against hand-computed outputs, and the
//! nodes the importer refuses with a message naming the cause.

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
use born_std::onnx::{convert_bytes, OnnxError, Options};
use prost::Message;

const FLOAT: i32 = DataType::Float as i32;

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

fn f32s_init(name: &str, values: &[f32]) -> TensorProto {
    TensorProto {
        name: s(name),
        dims: vec![values.len() as i64],
        data_type: Some(FLOAT),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn i64s_init(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        name: s(name),
        dims: vec![values.len() as i64],
        data_type: Some(DataType::Int64 as i32),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn string_attr(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::String as i32),
        s: Some(v.as_bytes().to_vec()),
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

fn floats_attr(name: &str, v: &[f32]) -> AttributeProto {
    AttributeProto {
        name: s(name),
        r#type: Some(AttributeType::Floats as i32),
        floats: v.to_vec(),
        ..Default::default()
    }
}

/// A one-node model at `opset`: `op(inputs) -> y` over a graph input `x` of element type
/// `elem` and extents `dims`, with `inits` as initializers.
#[allow(clippy::too_many_arguments)]
fn model(
    opset: i64,
    op: &str,
    inputs: &[&str],
    attrs: Vec<AttributeProto>,
    elem: i32,
    dims: &[i64],
    out: &[i64],
    inits: Vec<TensorProto>,
) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        producer_name: s("onnx_resize"),
        opset_import: vec![OperatorSetIdProto {
            domain: s(""),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            name: s("g"),
            node: vec![NodeProto {
                op_type: s(op),
                name: s("r"),
                input: inputs.iter().map(|i| i.to_string()).collect(),
                output: vec!["y".to_string()],
                attribute: attrs,
                ..Default::default()
            }],
            input: vec![value("x", elem, dims)],
            output: vec![value("y", elem, out)],
            initializer: inits,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Converts `m` and runs it on `x`: the output's extents and values.
fn run(m: &ModelProto, x: &[f32]) -> Result<(Vec<usize>, Vec<f32>), OnnxError> {
    let c = convert_bytes(&m.encode_to_vec(), None, &Options::default())?;
    let (bytes, _) = born_std::export::encode_planned(&c.graph).expect("encode");
    let bytes = AlignedBytes::from_slice(&bytes);
    let model = Model::from_bytes(&bytes).expect("load");
    let mut arena = vec![0u8; Interpreter::arena_len(&model).expect("arena")];
    let mut it = Interpreter::new(&model, &mut arena).expect("prepare");
    let input: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    it.input_raw_mut(0).expect("input").copy_from_slice(&input);
    it.invoke().expect("invoke");
    let dims = it
        .output_def(0)
        .expect("output")
        .dims
        .to_shape()
        .expect("shape");
    let y = it.output_raw(0).expect("output");
    let y = y
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((dims.dims().to_vec(), y))
}

const X: [f32; 4] = [1.0, 2.0, 3.0, 4.0];

/// [[1, 2], [3, 4]] by 2 x 3 nearest: each element repeated (x = j / scale, rounded down).
const NEAREST_2X3: [f32; 24] = [
    1.0, 1.0, 1.0, 2.0, 2.0, 2.0, //
    1.0, 1.0, 1.0, 2.0, 2.0, 2.0, //
    3.0, 3.0, 3.0, 4.0, 4.0, 4.0, //
    3.0, 3.0, 3.0, 4.0, 4.0, 4.0,
];

#[test]
fn upsample_nearest_opsets_7_and_9() {
    let scales = [1.0, 1.0, 2.0, 3.0];
    let m = model(
        9,
        "Upsample",
        &["x", "scales"],
        vec![string_attr("mode", "nearest")],
        FLOAT,
        &[1, 1, 2, 2],
        &[1, 1, 4, 6],
        vec![f32s_init("scales", &scales)],
    );
    assert_eq!(
        run(&m, &X).unwrap(),
        (vec![1, 1, 4, 6], NEAREST_2X3.to_vec())
    );
    let m = model(
        7,
        "Upsample",
        &["x"],
        vec![floats_attr("scales", &scales)],
        FLOAT,
        &[1, 1, 2, 2],
        &[1, 1, 4, 6],
        vec![],
    );
    assert_eq!(
        run(&m, &X).unwrap(),
        (vec![1, 1, 4, 6], NEAREST_2X3.to_vec())
    );
}

#[test]
fn upsample_linear_is_asymmetric() {
    // x = j / 2 = 0, 0.5, 1, 1.5 along both axes, 1.5 reading the last element twice:
    // rows [1, 1.5, 2, 2] and [3, 3.5, 4, 4], blended the same way.
    let m = model(
        9,
        "Upsample",
        &["x", "scales"],
        vec![string_attr("mode", "linear")],
        FLOAT,
        &[2, 2],
        &[4, 4],
        vec![f32s_init("scales", &[2.0, 2.0])],
    );
    let want = vec![
        1.0, 1.5, 2.0, 2.0, //
        2.0, 2.5, 3.0, 3.0, //
        3.0, 3.5, 4.0, 4.0, //
        3.0, 3.5, 4.0, 4.0,
    ];
    assert_eq!(run(&m, &X).unwrap(), (vec![4, 4], want));
}

#[test]
fn resize_10_is_upsample() {
    let m = model(
        10,
        "Resize",
        &["x", "scales"],
        vec![],
        FLOAT,
        &[1, 1, 2, 2],
        &[1, 1, 4, 6],
        vec![f32s_init("scales", &[1.0, 1.0, 2.0, 3.0])],
    );
    assert_eq!(
        run(&m, &X).unwrap(),
        (vec![1, 1, 4, 6], NEAREST_2X3.to_vec())
    );
}

#[test]
fn resize_11_empty_inputs_are_absent() {
    // Opset 11 lists roi and scales as inputs; empty tensors leave them out. 2x2 -> 3x3
    // bilinear with align_corners: x = 0, 0.5, 1 along both axes.
    let m = model(
        11,
        "Resize",
        &["x", "roi", "scales", "sizes"],
        vec![
            string_attr("mode", "linear"),
            string_attr("coordinate_transformation_mode", "align_corners"),
        ],
        FLOAT,
        &[2, 2],
        &[3, 3],
        vec![
            f32s_init("roi", &[]),
            f32s_init("scales", &[]),
            i64s_init("sizes", &[3, 3]),
        ],
    );
    let want = vec![1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0];
    assert_eq!(run(&m, &X).unwrap(), (vec![3, 3], want));
}

fn refusal(m: &ModelProto) -> String {
    match run(m, &X) {
        Err(e) => e.to_string(),
        Ok(y) => panic!("converted: {y:?}"),
    }
}

fn resize_19(attrs: Vec<AttributeProto>, inputs: &[&str], inits: Vec<TensorProto>) -> ModelProto {
    model(19, "Resize", inputs, attrs, FLOAT, &[2, 2], &[4, 4], inits)
}

#[test]
fn refusals_name_the_cause() {
    let scales = || f32s_init("scales", &[2.0, 2.0]);
    let sizes = || i64s_init("sizes", &[4, 4]);
    // Scales computed at run time.
    let mut m = resize_19(vec![], &["x", "", "s"], vec![]);
    let g = m.graph.as_mut().unwrap();
    g.input.push(value("s", FLOAT, &[2]));
    let e = refusal(&m);
    assert!(e.contains("`s` must be known when converting"), "{e}");
    // Both scales and sizes, or neither.
    let m = resize_19(
        vec![],
        &["x", "", "scales", "sizes"],
        vec![scales(), sizes()],
    );
    assert!(
        refusal(&m).contains("both scales and sizes"),
        "{}",
        refusal(&m)
    );
    let m = resize_19(vec![], &["x"], vec![]);
    assert!(
        refusal(&m).contains("needs scales or sizes"),
        "{}",
        refusal(&m)
    );
    // Antialiased nearest, an unknown transformation, a bad scale, a wrong count.
    let m = resize_19(
        vec![int_attr("antialias", 1)],
        &["x", "", "scales"],
        vec![scales()],
    );
    assert!(refusal(&m).contains("antialias applies"), "{}", refusal(&m));
    let m = resize_19(
        vec![string_attr(
            "coordinate_transformation_mode",
            "tf_half_pixel_for_nn",
        )],
        &["x", "", "scales"],
        vec![scales()],
    );
    assert!(
        refusal(&m).contains("`tf_half_pixel_for_nn` is not supported"),
        "{}",
        refusal(&m)
    );
    let m = resize_19(
        vec![],
        &["x", "", "scales"],
        vec![f32s_init("scales", &[2.0, -1.0])],
    );
    assert!(
        refusal(&m).contains("must be finite and positive"),
        "{}",
        refusal(&m)
    );
    let m = resize_19(
        vec![],
        &["x", "", "scales"],
        vec![f32s_init("scales", &[2.0])],
    );
    assert!(
        refusal(&m).contains("1 scales for 2 axes"),
        "{}",
        refusal(&m)
    );
    let m = resize_19(
        vec![string_attr("mode", "area")],
        &["x", "", "scales"],
        vec![scales()],
    );
    assert!(refusal(&m).contains("mode `area`"), "{}", refusal(&m));
    // Not f32.
    let m = model(
        19,
        "Resize",
        &["x", "", "scales"],
        vec![],
        DataType::Int32 as i32,
        &[2, 2],
        &[4, 4],
        vec![scales()],
    );
    assert!(refusal(&m).contains("f32 only"), "{}", refusal(&m));
}
