//! The ONNX importer on broken models: each defect is an [`OnnxError`] of the right kind
//! whose message names the node, tensor, input or file at fault, never a panic. The models
//! are built here with the protobuf types, from one valid model changed in one place.

mod common;

use born_std::core::model::graph::AlignedBytes;
use born_std::core::Model;
use born_std::onnx::proto::attribute_proto::AttributeType;
use born_std::onnx::proto::tensor_proto::{DataLocation, DataType};
use born_std::onnx::proto::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TypeProto, ValueInfoProto,
};
use born_std::onnx::{convert_bytes, convert_file, Converted, OnnxError, Options};
use common::onnx::{
    convert, convert_with, init_f32, init_i64, le_f32, model_proto, node, run_f32, s, value, FLOAT,
};
use prost::Message;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

const COMPLEX64: i32 = DataType::Complex64 as i32;
const STRING: i32 = DataType::String as i32;

// ---------------------------------------------------------------------------------------
// Building models.

/// A float [1, 4] value.
fn f14(name: &str) -> ValueInfoProto {
    value(name, FLOAT, &[1, 4])
}

/// A model importing opset 17 of the default domain.
fn model(
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    initializer: Vec<TensorProto>,
) -> ModelProto {
    model_proto(
        Some("onnx_malformed"),
        17,
        nodes,
        inputs,
        outputs,
        initializer,
    )
}

/// The valid reference model: `y = Relu(x)` over a float [1, 4] input.
fn relu_model() -> ModelProto {
    model(
        vec![node("Relu", "relu", &["x"], &["y"], vec![])],
        vec![f14("x")],
        vec![f14("y")],
        vec![],
    )
}

/// `y = Add(x, w)` with `w` a [1, 4] initializer.
fn add_model() -> ModelProto {
    model(
        vec![node("Add", "add", &["x", "w"], &["y"], vec![])],
        vec![f14("x")],
        vec![f14("y")],
        vec![init_f32("w", &[1, 4], &[1.0, 2.0, 3.0, 4.0])],
    )
}

fn graph_mut(m: &mut ModelProto) -> &mut GraphProto {
    m.graph.as_mut().expect("the model has a graph")
}

/// The conversion error of `m`; fails the test when `m` converts.
fn err_of(m: &ModelProto) -> OnnxError {
    convert(m).expect_err("the model must be refused")
}

/// Asserts `e`'s message contains every one of `needles`.
fn assert_names(e: &OnnxError, needles: &[&str]) {
    let msg = e.to_string();
    for n in needles {
        assert!(msg.contains(n), "`{msg}` does not mention `{n}`");
    }
}

// ---------------------------------------------------------------------------------------
// A temporary folder for models with external data.

/// A fresh folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "born-onnx-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&p, bytes).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An f32 [1, 4] initializer `w` stored in external data with the given keys.
fn external_init(entries: &[(&str, &str)]) -> TensorProto {
    TensorProto {
        name: s("w"),
        dims: vec![1, 4],
        data_type: Some(FLOAT),
        data_location: Some(DataLocation::External as i32),
        external_data: entries
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: s(k),
                value: s(v),
            })
            .collect(),
        ..Default::default()
    }
}

/// `y = Relu(Add(x, w))` with `w` in external data.
fn external_model(entries: &[(&str, &str)]) -> ModelProto {
    model(
        vec![
            node("Add", "add", &["x", "w"], &["s"], vec![]),
            node("Relu", "relu", &["s"], &["y"], vec![]),
        ],
        vec![f14("x")],
        vec![f14("y")],
        vec![external_init(entries)],
    )
}

/// Writes `m` as `model.onnx` in `dir` and converts it from there.
fn convert_in(dir: &TempDir, m: &ModelProto) -> Result<Converted, OnnxError> {
    let path = dir.write("model.onnx", &m.encode_to_vec());
    convert_file(&path, &Options::default())
}

fn tensor_error(e: &OnnxError, tensor_name: &str) {
    match e {
        OnnxError::Tensor { tensor, .. } => assert_eq!(tensor, tensor_name, "{e}"),
        other => panic!("expected a tensor error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The reference models convert, so each refusal below is due to its one defect.

#[test]
fn reference_models_convert_and_run() {
    let relu = convert(&relu_model()).expect("Relu model");
    assert_eq!(
        run_f32(&relu, &[&[-1.0, 0.5, -0.0, 3.0]]),
        [0.0, 0.5, 0.0, 3.0]
    );
    let add = convert(&add_model()).expect("Add model");
    assert_eq!(
        run_f32(&add, &[&[0.5, -1.0, 2.0, 10.0]]),
        [1.5, 1.0, 5.0, 14.0]
    );
}

// ---------------------------------------------------------------------------------------
// Bytes that are not an ONNX model.

#[test]
fn truncated_protobuf_is_an_error_at_every_length() {
    let bytes = add_model().encode_to_vec();
    assert!(bytes.len() > 40, "reference model is {} bytes", bytes.len());
    let mut decode_errors = 0;
    for len in 0..bytes.len() {
        match convert_bytes(&bytes[..len], None, &Options::default()) {
            Ok(_) => panic!("{len} of {} bytes converted", bytes.len()),
            Err(OnnxError::Decode { what, .. }) => {
                assert_eq!(what, "ModelProto");
                decode_errors += 1;
            }
            // A cut between two fields decodes as a shorter message that lacks its graph
            // or part of its nodes (malformed), or its opset import (which leaves every
            // node unsupported).
            Err(OnnxError::Malformed(_) | OnnxError::Unsupported(_)) => {}
            Err(e) => panic!("{len} of {} bytes: unexpected error {e:?}", bytes.len()),
        }
    }
    // Most cuts fall inside a field.
    assert!(
        decode_errors * 2 > bytes.len(),
        "{decode_errors} decode errors out of {} cuts",
        bytes.len()
    );
    // The cut at 0 is an empty message, without a graph; one byte short of the end cuts
    // the opset import's version varint.
    let empty = convert_bytes(&[], None, &Options::default()).unwrap_err();
    assert!(matches!(empty, OnnxError::Malformed(_)), "{empty:?}");
    assert_names(&empty, &["no graph"]);
    let short = convert_bytes(&bytes[..bytes.len() - 1], None, &Options::default()).unwrap_err();
    assert!(matches!(short, OnnxError::Decode { .. }), "{short:?}");
    assert_names(&short, &["not a valid ONNX protobuf (ModelProto)"]);
}

#[test]
fn garbage_bytes_are_a_decode_error() {
    // Wire type 7 does not exist.
    let e = convert_bytes(&[0xff; 64], None, &Options::default()).unwrap_err();
    assert!(
        matches!(
            e,
            OnnxError::Decode {
                what: "ModelProto",
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, &["not a valid ONNX protobuf (ModelProto)"]);
    // A length prefix far past the end of the input.
    let e = convert_bytes(
        &[0x3a, 0xff, 0xff, 0xff, 0x0f, 1, 2],
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(e, OnnxError::Decode { .. }), "{e:?}");
    // Text instead of a protobuf.
    let e = convert_bytes(b"this is not an onnx model", None, &Options::default()).unwrap_err();
    assert!(matches!(e, OnnxError::Decode { .. }), "{e:?}");
}

#[test]
fn model_without_graph_or_default_opset_is_malformed() {
    let mut m = relu_model();
    m.graph = None;
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["no graph"]);

    // Without an opset of the default domain no node of it has a translation.
    let mut m = relu_model();
    m.opset_import[0].domain = s("com.example");
    let e = err_of(&m);
    let OnnxError::Unsupported(list) = &e else {
        panic!("expected Unsupported, got {e:?}");
    };
    assert_eq!(list.len(), 1, "{e}");
    assert_eq!(
        (list[0].op_type.as_str(), list[0].domain.as_str()),
        ("Relu", "")
    );
    assert_eq!(list[0].nodes, ["relu"]);

    let mut m = relu_model();
    m.opset_import.push(OperatorSetIdProto {
        domain: s("ai.onnx"),
        version: Some(13),
    });
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["imported twice"]);
}

// ---------------------------------------------------------------------------------------
// Graph structure.

#[test]
fn missing_initializer_is_a_dangling_input() {
    let mut m = add_model();
    graph_mut(&mut m).initializer.clear();
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["input `w`", "node `add`", "neither a graph input"]);
}

#[test]
fn dangling_input_of_an_unnamed_node_is_named_by_position() {
    let mut m = relu_model();
    let g = graph_mut(&mut m);
    g.node.push(node("Relu", "", &["nowhere"], &["z"], vec![]));
    g.output.push(f14("z"));
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["input `nowhere`", "node `#1`"]);
}

#[test]
fn graph_output_never_computed_is_malformed() {
    let mut m = relu_model();
    graph_mut(&mut m).output.push(f14("ghost"));
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["graph output `ghost`", "never computed"]);
}

#[test]
fn cycle_between_two_nodes_is_malformed() {
    // a = Add(x, b), b = Relu(a): each waits for the other.
    let m = model(
        vec![
            node("Add", "first", &["x", "b"], &["a"], vec![]),
            node("Relu", "second", &["a"], &["b"], vec![]),
        ],
        vec![f14("x")],
        vec![f14("b")],
        vec![],
    );
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["cycle", "first", "second"]);
}

#[test]
fn node_reading_its_own_output_is_a_cycle() {
    let m = model(
        vec![node("Add", "self_loop", &["x", "y"], &["y"], vec![])],
        vec![f14("x")],
        vec![f14("y")],
        vec![],
    );
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["cycle", "self_loop"]);
}

#[test]
fn value_defined_twice_is_malformed() {
    // Two nodes write `y`.
    let mut m = relu_model();
    graph_mut(&mut m)
        .node
        .push(node("Relu", "again", &["x"], &["y"], vec![]));
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["value `y`", "node `again`", "more than once"]);

    // A node overwrites a graph input.
    let mut m = relu_model();
    graph_mut(&mut m).node[0].output = vec!["x".into()];
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["value `x`", "node `relu`", "more than once"]);

    // A node overwrites an initializer.
    let mut m = add_model();
    graph_mut(&mut m)
        .node
        .push(node("Relu", "clobber", &["x"], &["w"], vec![]));
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Malformed(_)), "{e:?}");
    assert_names(&e, &["value `w`", "node `clobber`", "more than once"]);
}

// ---------------------------------------------------------------------------------------
// Shapes.

fn shapes(name: &str, dims: &[usize]) -> Options {
    Options {
        input_shapes: vec![(name.to_string(), dims.to_vec())],
        ..Default::default()
    }
}

#[test]
fn given_input_shape_matching_the_model_converts() {
    let c = convert_with(&relu_model(), &shapes("x", &[1, 4])).expect("matching shape");
    assert_eq!(
        run_f32(&c, &[&[-2.0, 2.0, -3.0, 3.0]]),
        [0.0, 2.0, 0.0, 3.0]
    );
}

#[test]
fn given_input_shape_contradicting_a_fixed_dim_is_refused() {
    let e = convert_with(&relu_model(), &shapes("x", &[2, 4])).unwrap_err();
    assert!(matches!(e, OnnxError::InputShape(_)), "{e:?}");
    assert_names(&e, &["input `x`", "dimension 0 is fixed at 1", "given 2"]);
}

#[test]
fn given_input_shape_of_the_wrong_rank_is_refused() {
    let e = convert_with(&relu_model(), &shapes("x", &[1, 4, 1])).unwrap_err();
    assert!(matches!(e, OnnxError::InputShape(_)), "{e:?}");
    assert_names(&e, &["input `x`", "given 3 dimensions", "declares 2"]);
}

#[test]
fn given_shape_for_an_unknown_input_is_refused() {
    let e = convert_with(&relu_model(), &shapes("nope", &[1, 4])).unwrap_err();
    assert!(matches!(e, OnnxError::InputShape(_)), "{e:?}");
    assert_names(&e, &["no input `nope`", "inputs: x"]);
}

#[test]
fn add_of_shapes_that_do_not_broadcast_is_refused() {
    // Both operands computed at run time.
    let m = model(
        vec![node("Add", "add", &["x", "z"], &["y"], vec![])],
        vec![f14("x"), value("z", FLOAT, &[1, 3])],
        vec![f14("y")],
        vec![],
    );
    let e = err_of(&m);
    match &e {
        OnnxError::Node { node, op_type, .. } => {
            assert_eq!((node.as_str(), op_type.as_str()), ("add", "Add"), "{e}");
        }
        other => panic!("expected a node error, got {other:?}"),
    }
    assert_names(&e, &["does not broadcast"]);

    // One operand a constant.
    let mut m = add_model();
    graph_mut(&mut m).initializer = vec![init_f32("w", &[1, 3], &[1.0, 2.0, 3.0])];
    let e = err_of(&m);
    assert!(
        matches!(&e, OnnxError::Node { node, .. } if node == "add"),
        "{e:?}"
    );

    // Both constants: the node is folded, and the fold reports the same fault.
    let m = model(
        vec![node("Add", "add", &["u", "w"], &["y"], vec![])],
        vec![],
        vec![f14("y")],
        vec![
            init_f32("u", &[1, 4], &[1.0; 4]),
            init_f32("w", &[1, 3], &[1.0; 3]),
        ],
    );
    let e = err_of(&m);
    assert!(
        matches!(&e, OnnxError::Node { node, .. } if node == "add"),
        "{e:?}"
    );
}

#[test]
fn negative_declared_input_dim_is_refused() {
    let mut m = relu_model();
    graph_mut(&mut m).input = vec![value("x", FLOAT, &[1, -4])];
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::InputShape(_)), "{e:?}");
    assert_names(&e, &["input `x`", "dimension 1 is negative (-4)"]);
}

#[test]
fn input_of_rank_above_born_is_refused() {
    let mut m = relu_model();
    graph_mut(&mut m).input = vec![value("x", FLOAT, &[1; 12])];
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::InputShape(_)), "{e:?}");
    assert_names(&e, &["input `x`", "rank 12"]);
}

#[test]
fn input_without_shape_needs_one_given() {
    let mut m = relu_model();
    let g = graph_mut(&mut m);
    if let Some(type_proto::Value::TensorType(t)) =
        g.input[0].r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.shape = None;
    }
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::InputShape(_)), "{e:?}");
    assert_names(&e, &["input `x`", "no declared shape"]);
    let c = convert_with(&m, &shapes("x", &[1, 4])).expect("shape given");
    assert_eq!(
        run_f32(&c, &[&[1.0, -1.0, 1.0, -1.0]]),
        [1.0, 0.0, 1.0, 0.0]
    );
}

/// What converting `m` with `opts` and encoding the result gives: `Ok` when both succeed,
/// `Err` with the refusal, or with the panic message when either panics.
fn convert_and_encode(m: &ModelProto, opts: &Options) -> Result<(), String> {
    let bytes = m.encode_to_vec();
    let r = std::panic::catch_unwind(|| -> Result<(), String> {
        let c = convert_bytes(&bytes, None, opts).map_err(|e| format!("refused: {e}"))?;
        born_std::export::encode_planned(&c.graph).map_err(|e| format!("refused: {e}"))?;
        Ok(())
    });
    r.unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(format!("panicked: {msg}"))
    })
}

/// `op` over one float input `h` of dimensions `dims`, output `y` (and `more` outputs).
fn over_input(op: &str, dims: &[i64], more: &[&str]) -> ModelProto {
    let mut outs = vec!["y"];
    outs.extend_from_slice(more);
    let mut outputs = vec![f14("y")];
    outputs.extend(more.iter().map(|o| f14(o)));
    model(
        vec![node(op, op, &["h"], &outs, vec![])],
        vec![value("h", FLOAT, dims)],
        outputs,
        vec![],
    )
}

#[test]
fn absurd_sizes_are_refused_without_panicking() {
    const G: i64 = 1 << 40;
    let mut cases: Vec<(&str, ModelProto, Options)> = Vec::new();
    let plain = Options::default;
    // Run-time tensors: a graph input of 2^80 elements, or of 2^62 elements (the count
    // fits a usize, the bytes do not), through ops that compute with its dimensions.
    cases.push((
        "Relu of [2^40, 2^40]",
        over_input("Relu", &[G, G], &[]),
        plain(),
    ));
    let m = over_input("Relu", &[1 << 31, 1 << 31], &[]);
    cases.push(("Relu of [2^31, 2^31]", m, plain()));
    cases.push((
        "Shape of [2^40, 2^40]",
        over_input("Shape", &[G, G], &[]),
        plain(),
    ));
    cases.push((
        "Size of [2^40; 3]",
        over_input("Size", &[G, G, G], &[]),
        plain(),
    ));
    let m = over_input("Flatten", &[G, G, G], &[]);
    cases.push(("Flatten of [2^40; 3]", m, plain()));
    let m = over_input("Dropout", &[G, G, 2], &["mask"]);
    cases.push(("Dropout mask of [2^40, 2^40, 2]", m, plain()));
    let mut m = over_input("LayerNormalization", &[G, G, 2], &[]);
    graph_mut(&mut m).node[0].attribute.push(AttributeProto {
        name: s("axis"),
        r#type: Some(AttributeType::Int as i32),
        i: Some(0),
        ..Default::default()
    });
    cases.push(("LayerNormalization of [2^40, 2^40, 2]", m, plain()));
    let mut m = over_input("Softmax", &[G, G, 2], &[]);
    m.opset_import[0].version = Some(11);
    graph_mut(&mut m).node[0].attribute.push(AttributeProto {
        name: s("axis"),
        r#type: Some(AttributeType::Int as i32),
        i: Some(0),
        ..Default::default()
    });
    cases.push(("Softmax (opset 11) of [2^40, 2^40, 2]", m, plain()));
    // The same size given as an input shape for a dynamic input.
    let mut m = relu_model();
    if let Some(type_proto::Value::TensorType(t)) = graph_mut(&mut m).input[0]
        .r#type
        .as_mut()
        .and_then(|t| t.value.as_mut())
    {
        t.shape = None;
    }
    let big = 1usize << 40;
    cases.push(("Relu of given [2^40, 2^40]", m, shapes("x", &[big, big])));
    // Shapes computed from constants.
    let m = model(
        vec![node("ConstantOfShape", "cos", &["shape"], &["y"], vec![])],
        vec![],
        vec![f14("y")],
        vec![init_i64("shape", &[2], &[G, G])],
    );
    cases.push(("ConstantOfShape [2^40, 2^40]", m, plain()));
    let m = model(
        vec![node("Reshape", "reshape", &["x", "shape"], &["y"], vec![])],
        vec![f14("x")],
        vec![f14("y")],
        vec![init_i64("shape", &[2], &[1 << 62, 1 << 62])],
    );
    cases.push(("Reshape [1, 4] to [2^62, 2^62]", m, plain()));

    let bad: Vec<String> = cases
        .iter()
        .filter_map(|(what, m, opts)| match convert_and_encode(m, opts) {
            Err(e) if e.starts_with("refused: ") => None,
            Err(e) => Some(format!("{what}: {e}")),
            Ok(()) => Some(format!("{what}: converted and encoded")),
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} cases:\n{}",
        bad.len(),
        cases.len(),
        bad.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Initializers.

#[test]
fn initializer_with_absurd_dims_is_refused() {
    let mut m = add_model();
    graph_mut(&mut m).initializer[0].dims = vec![1 << 40, 1 << 40];
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["too large"]);

    // Each dimension fits, their product overflows.
    let mut m = add_model();
    graph_mut(&mut m).initializer[0].dims = vec![i64::MAX, i64::MAX, 2];
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["too large"]);
}

#[test]
fn initializer_with_negative_dim_is_refused() {
    let mut m = add_model();
    graph_mut(&mut m).initializer[0].dims = vec![-1, 4];
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["negative dimension -1"]);
}

#[test]
fn initializer_data_length_must_match_its_dims() {
    // raw_data: 12 bytes for 4 floats.
    let mut m = add_model();
    graph_mut(&mut m).initializer[0].raw_data = Some(vec![0; 12]);
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["holds 12 bytes", "[1, 4]", "need 16"]);

    // float_data: 3 values for 4.
    let mut m = add_model();
    let w = &mut graph_mut(&mut m).initializer[0];
    w.raw_data = None;
    w.float_data = vec![1.0, 2.0, 3.0];
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["holds 3 values", "need 4"]);

    // No data at all.
    let mut m = add_model();
    graph_mut(&mut m).initializer[0].raw_data = None;
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["holds 0 values"]);
}

#[test]
fn initializer_in_float_data_converts() {
    let mut m = add_model();
    let w = &mut graph_mut(&mut m).initializer[0];
    w.raw_data = None;
    w.float_data = vec![-1.0, -2.0, -3.0, -4.0];
    let c = convert(&m).expect("float_data initializer");
    assert_eq!(
        run_f32(&c, &[&[1.0, 1.0, 1.0, 1.0]]),
        [0.0, -1.0, -2.0, -3.0]
    );
}

// ---------------------------------------------------------------------------------------
// Element types.

#[test]
fn complex_input_is_an_unsupported_element_type() {
    let mut m = relu_model();
    graph_mut(&mut m).input = vec![value("x", COMPLEX64, &[1, 4])];
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::InputShape(_)), "{e:?}");
    assert_names(&e, &["input `x`", "COMPLEX64", "not supported"]);
}

#[test]
fn string_initializer_is_an_unsupported_element_type() {
    let mut m = add_model();
    let w = &mut graph_mut(&mut m).initializer[0];
    w.data_type = Some(STRING);
    w.raw_data = None;
    w.string_data = vec![b"a".to_vec(); 4];
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["STRING", "not supported"]);
}

#[test]
fn unknown_element_type_code_is_named_by_its_code() {
    let mut m = add_model();
    graph_mut(&mut m).initializer[0].data_type = Some(999);
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["type code 999"]);
}

#[test]
fn non_tensor_input_is_refused() {
    let mut m = relu_model();
    graph_mut(&mut m).input[0].r#type = Some(TypeProto {
        value: Some(type_proto::Value::SequenceType(Box::new(
            type_proto::Sequence {
                elem_type: Some(Box::new(f14("e").r#type.unwrap())),
            },
        ))),
        ..Default::default()
    });
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::InputShape(_)), "{e:?}");
    assert_names(&e, &["input `x`", "not a tensor"]);
}

// ---------------------------------------------------------------------------------------
// External data.

const W: [f32; 4] = [1.0, 2.0, 3.0, 4.0];

/// 8 bytes of padding, then `W`.
fn w_bin() -> Vec<u8> {
    let mut b = vec![0xee; 8];
    b.extend(le_f32(&W));
    b
}

#[test]
fn external_data_converts_and_runs() {
    let dir = TempDir::new("ext-ok");
    dir.write("w.bin", &w_bin());
    let m = external_model(&[("location", "w.bin"), ("offset", "8"), ("length", "16")]);
    let c = convert_in(&dir, &m).expect("external data model");
    // relu(x + w)
    let x = [-3.0, -1.0, 2.0, 10.0];
    let want: Vec<f32> = x.iter().zip(W).map(|(a, b)| (a + b).max(0.0)).collect();
    assert_eq!(want, [0.0, 1.0, 5.0, 14.0]);
    assert_eq!(run_f32(&c, &[&x]), want);

    // The same in a subfolder, without a length key.
    dir.write("weights/w.bin", &w_bin());
    let m = external_model(&[("location", "weights/w.bin"), ("offset", "8")]);
    let c = convert_in(&dir, &m).expect("external data in a subfolder");
    assert_eq!(run_f32(&c, &[&x]), want);
}

#[test]
fn external_data_needs_the_model_folder() {
    let m = external_model(&[("location", "w.bin")]);
    let e = err_of(&m);
    tensor_error(&e, "w");
    assert_names(&e, &["model's folder"]);
}

#[test]
fn external_data_outside_the_model_folder_is_refused() {
    let outer = TempDir::new("ext-escape");
    outer.write("x.bin", &w_bin());
    let dir = TempDir(outer.path().join("model"));
    std::fs::create_dir_all(dir.path()).expect("model folder");
    dir.write("w.bin", &w_bin());

    // A parent component.
    let e = convert_in(&dir, &external_model(&[("location", "../x.bin")])).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &["`../x.bin`", "outside the model's folder"]);

    // A parent component that comes back inside.
    let e = convert_in(&dir, &external_model(&[("location", "sub/../w.bin")])).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &["outside the model's folder"]);

    // An absolute path, to a file that exists (inside the folder, even).
    let abs = dir.path().join("w.bin");
    let abs = abs.to_str().expect("UTF-8 temp path");
    let e = convert_in(&dir, &external_model(&[("location", abs), ("offset", "8")])).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &[abs, "outside the model's folder"]);

    // A symbolic link inside the folder to a file outside it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outer.path().join("x.bin"), dir.path().join("link.bin"))
            .expect("symlink");
        let m = external_model(&[("location", "link.bin"), ("offset", "8")]);
        let e = convert_in(&dir, &m).unwrap_err();
        tensor_error(&e, "w");
        assert_names(&e, &["`link.bin`", "outside the model's folder"]);
    }
}

#[test]
fn external_data_past_the_end_of_its_file_is_refused() {
    let dir = TempDir::new("ext-short");
    dir.write("w.bin", &w_bin()[..12]);
    // 16 bytes needed at offset 0 of a 12-byte file.
    let e = convert_in(&dir, &external_model(&[("location", "w.bin")])).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &["runs past the end of `w.bin`", "12 bytes"]);

    // An offset beyond the file.
    let m = external_model(&[("location", "w.bin"), ("offset", "100")]);
    let e = convert_in(&dir, &m).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &["runs past the end"]);

    // An offset where offset + length overflows.
    let max = u64::MAX.to_string();
    let m = external_model(&[("location", "w.bin"), ("offset", &max)]);
    let e = convert_in(&dir, &m).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &["runs past the end"]);
}

#[test]
fn external_data_keys_are_checked() {
    let dir = TempDir::new("ext-keys");
    dir.write("w.bin", &w_bin());

    let m = external_model(&[("location", "w.bin"), ("length", "12")]);
    let e = convert_in(&dir, &m).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &["length 12", "16 bytes"]);

    let m = external_model(&[("location", "w.bin"), ("offset", "-8")]);
    let e = convert_in(&dir, &m).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &["offset `-8`"]);

    let m = external_model(&[("offset", "8")]);
    let e = convert_in(&dir, &m).unwrap_err();
    tensor_error(&e, "w");
    assert_names(&e, &["no location"]);

    // A file that does not exist.
    let m = external_model(&[("location", "missing.bin")]);
    let e = convert_in(&dir, &m).unwrap_err();
    match &e {
        OnnxError::Io { path, .. } => assert!(path.ends_with("missing.bin"), "{e}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn missing_model_file_is_an_io_error() {
    let dir = TempDir::new("no-model");
    let path = dir.path().join("absent.onnx");
    let e = convert_file(&path, &Options::default()).unwrap_err();
    match &e {
        OnnxError::Io { path: p, .. } => assert_eq!(p, &path),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Operators and attributes.

#[test]
fn unsupported_ops_are_listed_together() {
    // x -> Foo -> Foo -> Bar -> y
    let m = model(
        vec![
            node("Foo", "foo_a", &["x"], &["a"], vec![]),
            node("Foo", "foo_b", &["a"], &["b"], vec![]),
            node("Bar", "bar", &["b"], &["y"], vec![]),
        ],
        vec![f14("x")],
        vec![f14("y")],
        vec![],
    );
    let e = err_of(&m);
    let OnnxError::Unsupported(list) = &e else {
        panic!("expected Unsupported, got {e:?}");
    };
    let got: Vec<(&str, &str, i64, Vec<&str>)> = list
        .iter()
        .map(|u| {
            let nodes = u.nodes.iter().map(String::as_str).collect();
            (u.op_type.as_str(), u.domain.as_str(), u.opset, nodes)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Foo", "", 17, vec!["foo_a", "foo_b"]),
            ("Bar", "", 17, vec!["bar"]),
        ]
    );
    let msg = e.to_string();
    assert!(msg.starts_with("2 unsupported operator type(s):"), "{msg}");
    assert_names(
        &e,
        &[
            "Foo (domain ai.onnx, opset 17): foo_a, foo_b",
            "Bar (domain ai.onnx, opset 17): bar",
        ],
    );
}

#[test]
fn op_of_an_unimported_domain_is_unsupported() {
    let mut m = relu_model();
    graph_mut(&mut m).node[0].domain = s("com.example");
    let e = err_of(&m);
    let OnnxError::Unsupported(list) = &e else {
        panic!("expected Unsupported, got {e:?}");
    };
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].domain, "com.example");
    assert_eq!(list[0].nodes, ["relu"]);
    assert_names(&e, &["Relu (domain com.example"]);
}

#[test]
fn op_older_than_its_translation_is_unsupported() {
    // Add is translated from opset 7 on.
    let mut m = add_model();
    m.opset_import[0].version = Some(6);
    let e = err_of(&m);
    let OnnxError::Unsupported(list) = &e else {
        panic!("expected Unsupported, got {e:?}");
    };
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].op_type.as_str(), list[0].opset), ("Add", 6));
}

#[test]
fn unsupported_op_no_output_depends_on_is_dropped() {
    let mut m = relu_model();
    graph_mut(&mut m)
        .node
        .push(node("Foo", "dead", &["x"], &["unused"], vec![]));
    let c = convert(&m).expect("the dead node is dropped");
    assert_eq!(
        run_f32(&c, &[&[-1.0, 1.0, -2.0, 2.0]]),
        [0.0, 1.0, 0.0, 2.0]
    );
}

fn leaky_relu(alpha: AttributeProto) -> ModelProto {
    let mut n = node("LeakyRelu", "leaky", &["x"], &["y"], vec![]);
    n.attribute.push(alpha);
    model(vec![n], vec![f14("x")], vec![f14("y")], vec![])
}

#[test]
fn attribute_of_the_right_type_converts() {
    let m = leaky_relu(AttributeProto {
        name: s("alpha"),
        r#type: Some(AttributeType::Float as i32),
        f: Some(0.5),
        ..Default::default()
    });
    let c = convert(&m).expect("LeakyRelu with a float alpha");
    assert_eq!(
        run_f32(&c, &[&[-2.0, 2.0, -4.0, 0.0]]),
        [-1.0, 2.0, -2.0, 0.0]
    );
}

#[test]
fn attribute_of_the_wrong_type_is_refused() {
    // alpha is a float; here an int.
    let m = leaky_relu(AttributeProto {
        name: s("alpha"),
        r#type: Some(AttributeType::Int as i32),
        i: Some(1),
        ..Default::default()
    });
    let e = err_of(&m);
    match &e {
        OnnxError::Node { node, op_type, .. } => {
            assert_eq!((node.as_str(), op_type.as_str()), ("leaky", "LeakyRelu"));
        }
        other => panic!("expected a node error, got {other:?}"),
    }
    assert_names(&e, &["attribute `alpha`", "is INT, expected FLOAT"]);

    // A list where a single value is expected.
    let m = leaky_relu(AttributeProto {
        name: s("alpha"),
        r#type: Some(AttributeType::Floats as i32),
        floats: vec![0.1, 0.2],
        ..Default::default()
    });
    let e = err_of(&m);
    assert!(matches!(e, OnnxError::Node { .. }), "{e:?}");
    assert_names(&e, &["attribute `alpha`", "is FLOATS, expected FLOAT"]);
}

#[test]
fn attribute_error_of_an_unnamed_node_names_it_by_position() {
    let mut m = leaky_relu(AttributeProto {
        name: s("alpha"),
        r#type: Some(AttributeType::Int as i32),
        i: Some(1),
        ..Default::default()
    });
    graph_mut(&mut m).node[0].name = None;
    let e = err_of(&m);
    match &e {
        OnnxError::Node { node, op_type, .. } => {
            assert_eq!(
                (node.as_str(), op_type.as_str()),
                ("#0", "LeakyRelu"),
                "{e}"
            );
        }
        other => panic!("expected a node error, got {other:?}"),
    }
    assert_names(&e, &["node `#0`", "attribute `alpha`"]);
}

#[test]
fn failure_of_a_folded_node_names_the_node() {
    // Gather of constants is folded by running born's interpreter; index 5 of 2 values
    // fails there, and the error must still say which node.
    let mut gather = node("Gather", "gather", &["c", "i"], &["y"], vec![]);
    gather.attribute.push(AttributeProto {
        name: s("axis"),
        r#type: Some(AttributeType::Int as i32),
        i: Some(0),
        ..Default::default()
    });
    let m = model(
        vec![gather],
        vec![],
        vec![f14("y")],
        vec![init_f32("c", &[2], &[1.0, 2.0]), init_i64("i", &[1], &[5])],
    );
    let e = err_of(&m);
    assert!(
        matches!(&e, OnnxError::Node { node, op_type, .. } if node == "gather" && op_type == "Gather"),
        "{e:?}"
    );
    assert_names(&e, &["node `gather`", "out of range"]);
}

#[test]
fn attribute_of_the_wrong_type_on_a_folded_node_is_refused() {
    // Softmax of a constant: folded, so the attribute is read on the fold path.
    let mut n = node("Softmax", "sm", &["w"], &["y"], vec![]);
    n.attribute.push(AttributeProto {
        name: s("axis"),
        r#type: Some(AttributeType::String as i32),
        s: Some(b"last".to_vec()),
        ..Default::default()
    });
    let m = model(
        vec![n],
        vec![],
        vec![f14("y")],
        vec![init_f32("w", &[1, 4], &W)],
    );
    let e = err_of(&m);
    assert!(
        matches!(&e, OnnxError::Node { node, op_type, .. } if node == "sm" && op_type == "Softmax"),
        "{e:?}"
    );
    assert_names(&e, &["attribute `axis`", "is STRING, expected INT"]);
}

// ---------------------------------------------------------------------------------------
// The fuzz target's seeds.

/// The seed corpus of the `onnx_convert` fuzz target (`fuzz/corpus/onnx_convert/`, written
/// by `scripts/onnx_fuzz_seeds.py`): each is a small valid model that converts, encodes and
/// loads.
#[test]
fn fuzz_seeds_convert() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/onnx_convert");
    let names = [
        "relu",
        "add-init",
        "conv-bn-relu",
        "gemm-softmax",
        "shape-reshape",
        "const-where-cast",
    ];
    for name in names {
        let path = dir.join(format!("seed-{name}.onnx"));
        let Ok(bytes) = std::fs::read(&path) else {
            // The fuzz folder is not part of every checkout (e.g. a packaged crate).
            continue;
        };
        assert!(bytes.len() < 2048, "{name}: {} bytes", bytes.len());
        let c = convert_bytes(&bytes, None, &Options::default())
            .unwrap_or_else(|e| panic!("seed {name}: {e}"));
        let (encoded, _) = born_std::export::encode_planned(&c.graph)
            .unwrap_or_else(|e| panic!("seed {name}: {e}"));
        Model::from_bytes(&AlignedBytes::from_slice(&encoded))
            .unwrap_or_else(|e| panic!("seed {name}: {e}"));
    }
}
