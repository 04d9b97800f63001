//! The ONNX translation of `GridSample`: opset 16's `bilinear`/`bicubic` names and default,
//! opset 20's `linear`/`cubic` and 3-D input, a grid given at run time or as an
//! initializer, on models built here with the protobuf types: converted, run by born and
//! compared with hand-computed outputs; and the refusals as errors naming the node.

mod common;

use born_std::onnx::proto::{AttributeProto, ModelProto};
use common::onnx::{
    convert, init_f32, int_attr, model_proto, node, run_f32, string_attr, value, FLOAT,
};

/// A `GridSample` node at `opset` over `x` of `x_dims` and `grid` of `g_dims` (a graph
/// input, or an initializer holding `grid_init`), output `y` of `y_dims`.
fn model(
    opset: i64,
    attrs: Vec<AttributeProto>,
    (x_dims, g_dims, y_dims): (&[i64], &[i64], &[i64]),
    grid_init: Option<&[f32]>,
) -> ModelProto {
    let mut input = vec![value("x", FLOAT, x_dims)];
    let mut initializer = vec![];
    match grid_init {
        Some(g) => initializer.push(init_f32("grid", g_dims, g)),
        None => input.push(value("grid", FLOAT, g_dims)),
    }
    let n = node("GridSample", "gs", &["x", "grid"], &["y"], attrs);
    let output = vec![value("y", FLOAT, y_dims)];
    model_proto(None, opset, vec![n], input, output, initializer)
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
    assert_eq!(run_f32(&c, &[&X22, &CENTRE_CORNER]), [2.5, 0.25]);
    let attrs = vec![
        string_attr("mode", "bilinear"),
        string_attr("padding_mode", "border"),
    ];
    let c = convert(&model(16, attrs, DIMS22, None)).expect("converts");
    assert_eq!(run_f32(&c, &[&X22, &CENTRE_CORNER]), [2.5, 1.0]);
    // Bicubic with aligned corners on the row [0, 1, 4, 9] at its middle (x = 1.5):
    // weights -0.09375, 0.59375, 0.59375, -0.09375, sum 2.125.
    let attrs = vec![string_attr("mode", "bicubic"), int_attr("align_corners", 1)];
    let dims: (&[i64], &[i64], &[i64]) = (&[1, 1, 1, 4], &[1, 1, 1, 2], &[1, 1, 1, 1]);
    let c = convert(&model(16, attrs, dims, None)).expect("converts");
    assert_eq!(run_f32(&c, &[&[0.0, 1.0, 4.0, 9.0], &[0.0, 0.0]]), [2.125]);
}

#[test]
fn opset_20_names_3d_and_a_constant_grid() {
    // The grid as an initializer; reflection pads like border at this corner.
    let attrs = vec![
        string_attr("mode", "linear"),
        string_attr("padding_mode", "reflection"),
    ];
    let c = convert(&model(20, attrs, DIMS22, Some(&CENTRE_CORNER))).expect("converts");
    assert_eq!(run_f32(&c, &[&X22]), [2.5, 1.0]);
    // Nearest in 3-D, aligned corners: x [1, 1, 2, 2, 2] holding 0..8; (x, y, z) =
    // (-1, 1, 1) is element (1, 1, 0) = 6, (1, -1, -1) element (0, 0, 1) = 1.
    let attrs = vec![string_attr("mode", "nearest"), int_attr("align_corners", 1)];
    let dims: (&[i64], &[i64], &[i64]) = (&[1, 1, 2, 2, 2], &[1, 1, 1, 2, 3], &[1, 1, 1, 1, 2]);
    let c = convert(&model(22, attrs, dims, None)).expect("converts");
    let x: Vec<f32> = (0..8).map(|v| v as f32).collect();
    let grid = [-1.0, 1.0, 1.0, 1.0, -1.0, -1.0];
    assert_eq!(run_f32(&c, &[&x, &grid]), [6.0, 1.0]);
}

#[test]
fn refusals_name_the_node() {
    let refused = |opset, attrs, dims| {
        let e = convert(&model(opset, attrs, dims, None)).expect_err("refused");
        let msg = e.to_string();
        assert!(msg.contains("GridSample"), "{msg}");
        msg
    };
    let msg = refused(20, vec![string_attr("mode", "area")], DIMS22);
    assert!(msg.contains("mode `area`"), "{msg}");
    let msg = refused(20, vec![string_attr("padding_mode", "wrap")], DIMS22);
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
