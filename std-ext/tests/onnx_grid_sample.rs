//! The ONNX translation of `GridSample`: opset 16's `bilinear`/`bicubic` names and default,
//! opset 20's `linear`/`cubic` and 3-D input, a grid given at run time or as an
//! initializer, on models built here with the protobuf types: converted, run by born and
//! compared with hand-computed outputs; and the refusals as errors naming the node.

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

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
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
                elem_type: Some(FLOAT),
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

fn init(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        name: s(name),
        dims: dims.to_vec(),
        data_type: Some(FLOAT),
        raw_data: Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        ..Default::default()
    }
}

/// A `GridSample` node at `opset` over `x` of `x_dims` and `grid` of `g_dims` (a graph
/// input, or an initializer holding `grid_init`), output `y` of `y_dims`.
fn model(
    opset: i64,
    attrs: Vec<AttributeProto>,
    (x_dims, g_dims, y_dims): (&[i64], &[i64], &[i64]),
    grid_init: Option<&[f32]>,
) -> ModelProto {
    let mut input = vec![value("x", x_dims)];
    let mut initializer = vec![];
    match grid_init {
        Some(g) => initializer.push(init("grid", g_dims, g)),
        None => input.push(value("grid", g_dims)),
    }
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: s(""),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            name: s("g"),
            node: vec![NodeProto {
                op_type: s("GridSample"),
                name: s("gs"),
                input: vec!["x".into(), "grid".into()],
                output: vec!["y".into()],
                attribute: attrs,
                ..Default::default()
            }],
            input,
            output: vec![value("y", y_dims)],
            initializer,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn convert(m: &ModelProto) -> Result<Converted, OnnxError> {
    convert_bytes(&m.encode_to_vec(), None, &Options::default())
}

/// Runs `c` on its f32 inputs; returns output 0.
fn run(c: &Converted, inputs: &[&[f32]]) -> Vec<f32> {
    let (bytes, _) = born_std::export::encode_planned(&c.graph).expect("encode");
    let bytes = AlignedBytes::from_slice(&bytes);
    let m = Model::from_bytes(&bytes).expect("the converted model loads");
    let mut arena = vec![0u8; Interpreter::arena_len(&m).expect("arena length")];
    let mut it = Interpreter::new(&m, &mut arena).expect("interpreter");
    for (k, x) in inputs.iter().enumerate() {
        it.input_mut::<f32>(k).expect("input").copy_from_slice(x);
    }
    it.invoke().expect("invoke");
    it.output::<f32>(0).expect("output").to_vec()
}

const X22: [f32; 4] = [1.0, 2.0, 3.0, 4.0];
/// The centre, then the outer top-left corner (without aligned corners).
const CENTRE_CORNER: [f32; 4] = [0.0, 0.0, -1.0, -1.0];
const DIMS22: (&[i64], &[i64], &[i64]) = (&[1, 1, 2, 2], &[1, 1, 2, 2], &[1, 1, 1, 2]);

#[test]
fn opset_16_defaults_and_names() {
    // Defaults: bilinear, zeros, corners not aligned. The centre of [[1, 2], [3, 4]] is
    // the mean 2.5; the outer corner reads a quarter of element (0, 0) and padding: 0.25.
    let c = convert(&model(16, vec![], DIMS22, None)).expect("converts");
    assert_eq!(run(&c, &[&X22, &CENTRE_CORNER]), [2.5, 0.25]);
    let attrs = vec![
        str_attr("mode", "bilinear"),
        str_attr("padding_mode", "border"),
    ];
    let c = convert(&model(16, attrs, DIMS22, None)).expect("converts");
    assert_eq!(run(&c, &[&X22, &CENTRE_CORNER]), [2.5, 1.0]);
    // Bicubic with aligned corners on the row [0, 1, 4, 9] at its middle (x = 1.5):
    // weights -0.09375, 0.59375, 0.59375, -0.09375, sum 2.125.
    let attrs = vec![str_attr("mode", "bicubic"), int_attr("align_corners", 1)];
    let dims: (&[i64], &[i64], &[i64]) = (&[1, 1, 1, 4], &[1, 1, 1, 2], &[1, 1, 1, 1]);
    let c = convert(&model(16, attrs, dims, None)).expect("converts");
    assert_eq!(run(&c, &[&[0.0, 1.0, 4.0, 9.0], &[0.0, 0.0]]), [2.125]);
}

#[test]
fn opset_20_names_3d_and_a_constant_grid() {
    // The grid as an initializer; reflection pads like border at this corner.
    let attrs = vec![
        str_attr("mode", "linear"),
        str_attr("padding_mode", "reflection"),
    ];
    let c = convert(&model(20, attrs, DIMS22, Some(&CENTRE_CORNER))).expect("converts");
    assert_eq!(run(&c, &[&X22]), [2.5, 1.0]);
    // Nearest in 3-D, aligned corners: x [1, 1, 2, 2, 2] holding 0..8; (x, y, z) =
    // (-1, 1, 1) is element (1, 1, 0) = 6, (1, -1, -1) element (0, 0, 1) = 1.
    let attrs = vec![str_attr("mode", "nearest"), int_attr("align_corners", 1)];
    let dims: (&[i64], &[i64], &[i64]) = (&[1, 1, 2, 2, 2], &[1, 1, 1, 2, 3], &[1, 1, 1, 1, 2]);
    let c = convert(&model(22, attrs, dims, None)).expect("converts");
    let x: Vec<f32> = (0..8).map(|v| v as f32).collect();
    let grid = [-1.0, 1.0, 1.0, 1.0, -1.0, -1.0];
    assert_eq!(run(&c, &[&x, &grid]), [6.0, 1.0]);
}

#[test]
fn refusals_name_the_node() {
    let refused = |opset, attrs, dims| {
        let e = convert(&model(opset, attrs, dims, None)).expect_err("refused");
        let msg = e.to_string();
        assert!(msg.contains("GridSample"), "{msg}");
        msg
    };
    let msg = refused(20, vec![str_attr("mode", "area")], DIMS22);
    assert!(msg.contains("mode `area`"), "{msg}");
    let msg = refused(20, vec![str_attr("padding_mode", "wrap")], DIMS22);
    assert!(msg.contains("padding_mode `wrap`"), "{msg}");
    let msg = refused(20, vec![int_attr("align_corners", 2)], DIMS22);
    assert!(msg.contains("align_corners must be 0 or 1"), "{msg}");
    // 3-D input needs opset 20.
    let dims: (&[i64], &[i64], &[i64]) = (&[1, 1, 2, 2, 2], &[1, 1, 1, 2, 3], &[1, 1, 1, 1, 2]);
    let msg = refused(16, vec![], dims);
    assert!(msg.contains("4-D input"), "{msg}");
    // A grid whose last extent is not the number of spatial axes.
    let dims: (&[i64], &[i64], &[i64]) = (&[1, 1, 2, 2], &[1, 1, 2, 3], &[1, 1, 1, 2]);
    let msg = refused(20, vec![], dims);
    assert!(msg.contains("last extent"), "{msg}");
}
