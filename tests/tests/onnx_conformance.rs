//! The ONNX backend node tests (onnx 1.22.0, 1,765 cases): each case's `model.onnx` is
//! converted by `born_std::onnx`, run by born on the case's inputs and compared with its
//! expected outputs (f32: `rtol 1e-4`, `atol 1e-5`, looser only for the cases in [`LOOSE`],
//! each with its reason; f16: `rtol 1e-3`, `atol 1e-3`, half precision's resolution;
//! integers and bools exactly).
//!
//! The cases come from `scripts/onnx-node-tests.sh` (into `target/onnx-node-tests/node`, or
//! the folder in `BORN_ONNX_NODE_TESTS`). Every case must pass or fail with an error (a
//! panic fails the test), every case listed in `tests/onnx_node_passing.txt` must pass, and
//! the test prints how many failed for which reason. With `BORN_ONNX_UPDATE=1` it rewrites
//! that list and `docs/ONNX_SUPPORT.md` from the run; with `BORN_ONNX_VERBOSE=1` it prints
//! each failing case's error.

use born_std::core::dtype::DType;
use born_std::onnx::{self, Const, OnnxError, Options};
use born_tests::{run_model, tolerance_ratio};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cases_dir() -> PathBuf {
    std::env::var_os("BORN_ONNX_NODE_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/onnx-node-tests/node"))
}

/// Why a case failed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Failure {
    /// Operator types with no translation.
    UnsupportedOp(String),
    /// An element type born does not have (double, string, uint32...).
    UnsupportedType,
    /// The converter refused the model (attribute, shape or rule outside born's ops).
    Convert,
    /// A test input could not be read or fed.
    Input,
    /// born failed at run time.
    Run,
    /// Output element type or shape differs from the expected one.
    OutputShape,
    /// Output values outside the tolerance.
    Values,
    /// The converter or runtime panicked (never acceptable).
    Panic,
}

impl Failure {
    fn label(&self) -> String {
        match self {
            Failure::UnsupportedOp(_) => "unsupported operator".into(),
            Failure::UnsupportedType => "unsupported element type".into(),
            Failure::Convert => "conversion refused (attribute, shape or op rule)".into(),
            Failure::Input => "test input not readable (sequence, optional or type)".into(),
            Failure::Run => "error at run time".into(),
            Failure::OutputShape => "output type or shape differs".into(),
            Failure::Values => "output values outside tolerance".into(),
            Failure::Panic => "panic".into(),
        }
    }
}

fn read_pbs(dir: &Path, prefix: &str) -> Result<Vec<Const>, String> {
    let mut out = Vec::new();
    for k in 0.. {
        let p = dir.join(format!("{prefix}_{k}.pb"));
        if !p.exists() {
            break;
        }
        let bytes = std::fs::read(&p).map_err(|e| e.to_string())?;
        out.push(onnx::read_tensor(&bytes).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn input_names(model: &[u8]) -> Vec<String> {
    use prost::Message;
    let Ok(m) = onnx::proto::ModelProto::decode(model) else {
        return vec![];
    };
    let g = m.graph.unwrap_or_default();
    let inits: Vec<&str> = g.initializer.iter().map(|t| t.name()).collect();
    g.input
        .iter()
        .filter(|i| !inits.contains(&i.name()))
        .map(|i| i.name().to_string())
        .collect()
}

fn is_type_error(e: &OnnxError) -> bool {
    let s = e.to_string();
    s.contains("not supported by born") && (s.contains("element type") || s.contains("cast to"))
        || s.contains("f32 only")
        || s.contains("reduces f32")
}

/// Cases that need a looser f32 tolerance (`rtol`, `atol`), and why.
const LOOSE: &[(&str, f32, f32, &str)] = &[
    (
        "test_averagepool_2d_ceil_last_window_starts_on_pad",
        1e-3,
        1e-4,
        "the expected outputs are stored rounded to 4 decimals",
    ),
    (
        "test_gridsample_bicubic",
        1e-3,
        1e-4,
        "the expected outputs are stored rounded to 4 decimals",
    ),
];

fn values_match(case: &str, got: &[u8], want: &Const) -> bool {
    match want.dtype {
        DType::F32 => {
            let (rtol, atol) = LOOSE
                .iter()
                .find(|l| l.0 == case)
                .map_or((1e-4, 1e-5), |l| (l.1, l.2));
            let g = onnx::tensor::f32s(got);
            tolerance_ratio(&g, &want.to_f32(), rtol, atol) <= 1.0
        }
        DType::F16 => {
            let g: Vec<f32> = got
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect();
            tolerance_ratio(&g, &want.to_f32(), 1e-3, 1e-3) <= 1.0
        }
        _ => got == want.bytes.as_slice(),
    }
}

fn run_case(dir: &Path) -> Result<(), Failure> {
    let model = std::fs::read(dir.join("model.onnx")).map_err(|_| Failure::Input)?;
    let data = dir.join("test_data_set_0");
    let inputs = read_pbs(&data, "input").map_err(|e| {
        if e.contains("element type") {
            Failure::UnsupportedType
        } else {
            Failure::Input
        }
    })?;
    let expected = read_pbs(&data, "output").map_err(|e| {
        if e.contains("element type") {
            Failure::UnsupportedType
        } else {
            Failure::Input
        }
    })?;
    let names = input_names(&model);
    let opts = Options {
        input_shapes: names
            .iter()
            .zip(&inputs)
            .map(|(n, c)| (n.clone(), c.dims.clone()))
            .collect(),
        ..Options::default()
    };
    if names.len() != inputs.len() {
        return Err(Failure::Input);
    }
    let mut converted = onnx::convert_bytes(&model, Some(dir), &opts);
    // Inputs born needs known when converting (a reshape's target, axes, pads, scales, a
    // branch condition, a trip count) are graph inputs in these tests where exporters
    // write initializers or constants: freeze the one the converter names to the test's
    // value (or, when it names a value computed from inputs, every integer and bool input)
    // and convert again.
    let mut frozen: Vec<usize> = Vec::new();
    for _ in 0..8 {
        let Err(OnnxError::NotConstant { input, .. }) = &converted else {
            break;
        };
        let before = frozen.len();
        match names.iter().position(|n| n == input) {
            Some(k) if !frozen.contains(&k) => frozen.push(k),
            _ => {
                let more: Vec<usize> = (0..names.len())
                    .filter(|&k| {
                        !frozen.contains(&k)
                            && matches!(inputs[k].dtype, DType::I64 | DType::I32 | DType::Bool)
                    })
                    .collect();
                frozen.extend(more);
            }
        }
        if frozen.len() == before {
            break;
        }
        let opts = Options {
            input_shapes: (0..names.len())
                .filter(|k| !frozen.contains(k))
                .map(|k| opts.input_shapes[k].clone())
                .collect(),
            input_values: frozen
                .iter()
                .map(|&k| (names[k].clone(), inputs[k].clone()))
                .collect(),
            ..Options::default()
        };
        converted = onnx::convert_bytes(&model, Some(dir), &opts);
    }
    let fed: Vec<&Const> = (0..inputs.len())
        .filter(|k| !frozen.contains(k))
        .map(|k| &inputs[k])
        .collect();
    if let (Err(e), Some(_)) = (&converted, std::env::var_os("BORN_ONNX_VERBOSE")) {
        println!("{}: {e}", dir.display());
    }
    let converted = converted.map_err(|e| match e {
        OnnxError::Unsupported(list) => Failure::UnsupportedOp(
            list.iter()
                .map(|u| u.op_type.clone())
                .collect::<Vec<_>>()
                .join("+"),
        ),
        ref e if is_type_error(e) => Failure::UnsupportedType,
        OnnxError::InputShape(ref s) if s.contains("element type") => Failure::UnsupportedType,
        _ => Failure::Convert,
    })?;
    let (bytes, _) =
        born_std::export::encode_planned(&converted.graph).map_err(|_| Failure::Convert)?;
    let feeds: Vec<&[u8]> = fed.iter().map(|c| c.bytes.as_slice()).collect();
    let outs = run_model(&bytes, &feeds).map_err(|e| {
        if std::env::var_os("BORN_ONNX_VERBOSE").is_some() {
            println!("{}: run: {e}", dir.display());
        }
        Failure::Run
    })?;
    if outs.len() != expected.len() {
        return Err(Failure::OutputShape);
    }
    for ((dtype, dims, got), want) in outs.iter().zip(&expected) {
        if *dtype != want.dtype || *dims != want.dims {
            if std::env::var_os("BORN_ONNX_VERBOSE").is_some() {
                println!(
                    "{}: output {dtype:?} {dims:?}, expected {:?} {:?}",
                    dir.display(),
                    want.dtype,
                    want.dims
                );
            }
            return Err(Failure::OutputShape);
        }
        let case = dir.file_name().unwrap_or_default().to_string_lossy();
        if !values_match(&case, got, want) {
            if std::env::var_os("BORN_ONNX_VERBOSE").is_some() {
                println!("{}: values differ", dir.display());
            }
            return Err(Failure::Values);
        }
    }
    Ok(())
}

fn snake(op: &str) -> String {
    let mut s = String::new();
    for (i, ch) in op.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            let prev = op.as_bytes()[i - 1] as char;
            let next = op.chars().nth(i + 1);
            if prev.is_ascii_lowercase() || next.is_some_and(|n| n.is_ascii_lowercase()) {
                s.push('_');
            }
        }
        s.push(ch.to_ascii_lowercase());
    }
    s
}

/// The operator a case tests: its node's type when it has one node type, else the
/// operator whose snake-case name is the longest prefix of the case's name.
fn case_ops(dirs: &[PathBuf]) -> Vec<String> {
    use prost::Message;
    let types: Vec<Vec<String>> = dirs
        .iter()
        .map(|d| {
            let bytes = std::fs::read(d.join("model.onnx")).unwrap_or_default();
            let g = onnx::proto::ModelProto::decode(bytes.as_slice())
                .ok()
                .and_then(|m| m.graph)
                .unwrap_or_default();
            let mut t: Vec<String> = g.node.iter().map(|n| n.op_type().to_string()).collect();
            t.sort();
            t.dedup();
            t
        })
        .collect();
    let mut by_snake: Vec<(String, String)> = types
        .iter()
        .filter(|t| t.len() == 1)
        .map(|t| (snake(&t[0]), t[0].clone()))
        .collect();
    by_snake.sort();
    by_snake.dedup();
    dirs.iter()
        .zip(&types)
        .map(|(d, t)| {
            if t.len() == 1 {
                return t[0].clone();
            }
            let name = d.file_name().unwrap_or_default().to_string_lossy();
            let name = name.trim_start_matches("test_");
            by_snake
                .iter()
                .filter(|(s, _)| name.starts_with(s.as_str()))
                .max_by_key(|(s, _)| s.len())
                .map(|(_, op)| op.clone())
                .unwrap_or_else(|| "(other graphs)".into())
        })
        .collect()
}

#[test]
fn onnx_node_tests() {
    let dir = cases_dir();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run scripts/onnx-node-tests.sh first",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").exists())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 1765, "onnx 1.22.0 ships 1,765 node test cases");

    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let results: Vec<Result<(), Failure>> = dirs
        .iter()
        .map(|d| std::panic::catch_unwind(|| run_case(d)).unwrap_or(Err(Failure::Panic)))
        .collect();
    std::panic::set_hook(quiet);

    let names: Vec<String> = dirs
        .iter()
        .map(|d| {
            d.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let passed: Vec<&str> = names
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(n, _)| n.as_str())
        .collect();

    // Failures by reason, and the operator types most often missing.
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut missing: BTreeMap<String, usize> = BTreeMap::new();
    let mut panics = Vec::new();
    for (n, r) in names.iter().zip(&results) {
        if let Err(f) = r {
            *reasons.entry(f.label()).or_default() += 1;
            if let Failure::UnsupportedOp(ops) = f {
                *missing.entry(ops.clone()).or_default() += 1;
            }
            if *f == Failure::Panic {
                panics.push(n.clone());
            }
        }
    }
    println!("ONNX node tests: {} / {} pass", passed.len(), names.len());
    for (reason, count) in &reasons {
        println!("  {count:5}  {reason}");
    }

    let listed_path = root().join("tests/onnx_node_passing.txt");
    if std::env::var_os("BORN_ONNX_UPDATE").is_some() {
        let mut list = String::from(
            "# ONNX node test cases that pass (checked by tests/tests/onnx_conformance.rs;\n\
             # rewritten with BORN_ONNX_UPDATE=1).\n",
        );
        for p in &passed {
            list.push_str(p);
            list.push('\n');
        }
        std::fs::write(&listed_path, list).expect("write passing list");
        let ops = case_ops(&dirs);
        let doc = support_doc(&names, &results, &ops, &reasons, &missing);
        std::fs::write(root().join("docs/ONNX_SUPPORT.md"), doc).expect("write docs");
    }

    assert!(panics.is_empty(), "cases panicked: {panics:?}");
    let listed = std::fs::read_to_string(&listed_path).unwrap_or_default();
    let regressed: Vec<&str> = listed
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !passed.contains(l))
        .collect();
    assert!(
        regressed.is_empty(),
        "{} listed cases no longer pass: {regressed:?}",
        regressed.len()
    );
}

fn support_doc(
    names: &[String],
    results: &[Result<(), Failure>],
    ops: &[String],
    reasons: &BTreeMap<String, usize>,
    missing: &BTreeMap<String, usize>,
) -> String {
    let total = names.len();
    let pass = results.iter().filter(|r| r.is_ok()).count();
    let mut by_op: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (op, r) in ops.iter().zip(results) {
        let e = by_op.entry(op.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(r.is_ok());
    }
    let mut s = String::new();
    let _ = writeln!(s, "# ONNX support\n");
    let _ = writeln!(
        s,
        "`born convert` (and `born_std::onnx`) translates ONNX models into `.born` files. This page \
         is written by the conformance runner from the ONNX backend node tests of the `onnx` 1.22.0 \
         wheel: each case is converted, run by born and compared with its expected outputs (f32 \
         `rtol 1e-4`, `atol 1e-5`; f16 `1e-3`; integers and bools exactly).\n"
    );
    let _ = writeln!(
        s,
        "**{pass} / {total} cases pass** ({:.1} %).\n",
        100.0 * pass as f64 / total as f64
    );
    let _ = writeln!(
        s,
        "born's shapes are static and some inputs must be known when converting (a \
         reshape's target, axes, pads, scales, a branch condition, a trip count). Exporters \
         write those as initializers or constants; in these tests they are graph inputs, so \
         when the converter names such an input the runner freezes it to the test's value \
         (`Options::input_values`) and converts again. Looser tolerances, each with its reason:\n"
    );
    for (case, rtol, atol, why) in LOOSE {
        let _ = writeln!(s, "- `{case}`: `rtol {rtol}`, `atol {atol}` ({why}).");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Regenerate: `bash scripts/onnx-node-tests.sh && BORN_ONNX_UPDATE=1 cargo test -p born-tests \
         --test onnx_conformance -- --nocapture` (it also rewrites `tests/onnx_node_passing.txt`, the \
         list CI checks for regressions).\n"
    );
    let _ = writeln!(s, "## Failures by reason\n\n| reason | cases |\n|---|---:|");
    for (reason, count) in reasons {
        let _ = writeln!(s, "| {reason} | {count} |");
    }
    let _ = writeln!(
        s,
        "\n## Operator types without a translation (cases)\n\n| operator(s) | cases |\n|---|---:|"
    );
    let mut m: Vec<(&String, &usize)> = missing.iter().collect();
    m.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (op, count) in m {
        let _ = writeln!(s, "| {op} | {count} |");
    }
    let _ = writeln!(
        s,
        "\n## Cases by operator\n\nA case counts under the operator it tests (the `_expanded` cases, \
         which spell an operator out as a graph of simpler ones, count under that operator).\n\n\
         | operator | cases | pass |\n|---|---:|---:|"
    );
    for (op, (n, p)) in &by_op {
        let _ = writeln!(s, "| {op} | {n} | {p} |");
    }
    let _ = writeln!(
        s,
        "\n## Operators with a translation\n\n{}",
        onnx::supported_ops().join(", ")
    );
    s
}
