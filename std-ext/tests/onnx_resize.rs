//! The ONNX `Resize` and `Upsample` translations on models built here: the opsets the
//! conformance suite does not cover (Upsample 7 and 9 with known scales, Resize 10 and 11
//! with empty inputs standing for absent ones) against hand-computed outputs, and the
//! nodes the importer refuses with a message naming the cause.

mod common;

use born_std::onnx::proto::tensor_proto::DataType;
use born_std::onnx::proto::{AttributeProto, ModelProto, TensorProto};
use common::onnx::{
    convert_run_output0, floats_attr, init_f32, init_i64, int_attr, model_proto, node,
    refusal_message, string_attr, value, FLOAT,
};

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
    let n = node(op, "r", inputs, &["y"], attrs);
    let input = vec![value("x", elem, dims)];
    let output = vec![value("y", elem, out)];
    model_proto(Some("onnx_resize"), opset, vec![n], input, output, inits)
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
        vec![init_f32("scales", &[4], &scales)],
    );
    assert_eq!(
        convert_run_output0(&m, &[&X]).unwrap(),
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
        convert_run_output0(&m, &[&X]).unwrap(),
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
        vec![init_f32("scales", &[2], &[2.0, 2.0])],
    );
    let want = vec![
        1.0, 1.5, 2.0, 2.0, //
        2.0, 2.5, 3.0, 3.0, //
        3.0, 3.5, 4.0, 4.0, //
        3.0, 3.5, 4.0, 4.0,
    ];
    assert_eq!(convert_run_output0(&m, &[&X]).unwrap(), (vec![4, 4], want));
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
        vec![init_f32("scales", &[4], &[1.0, 1.0, 2.0, 3.0])],
    );
    assert_eq!(
        convert_run_output0(&m, &[&X]).unwrap(),
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
            init_f32("roi", &[0], &[]),
            init_f32("scales", &[0], &[]),
            init_i64("sizes", &[2], &[3, 3]),
        ],
    );
    let want = vec![1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0];
    assert_eq!(convert_run_output0(&m, &[&X]).unwrap(), (vec![3, 3], want));
}

fn refusal(m: &ModelProto) -> String {
    refusal_message(convert_run_output0(m, &[&X]))
}

fn resize_19(attrs: Vec<AttributeProto>, inputs: &[&str], inits: Vec<TensorProto>) -> ModelProto {
    model(19, "Resize", inputs, attrs, FLOAT, &[2, 2], &[4, 4], inits)
}

#[test]
fn refusals_name_the_cause() {
    let scales = || init_f32("scales", &[2], &[2.0, 2.0]);
    let sizes = || init_i64("sizes", &[2], &[4, 4]);
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
        vec![init_f32("scales", &[2], &[2.0, -1.0])],
    );
    assert!(
        refusal(&m).contains("must be finite and positive"),
        "{}",
        refusal(&m)
    );
    let m = resize_19(
        vec![],
        &["x", "", "scales"],
        vec![init_f32("scales", &[1], &[2.0])],
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
