//! `born convert`: an ONNX model to a `.born` file, optionally quantized to int8.

use crate::{inspect, io, quantize};
use anyhow::{bail, Result};
use born_std::core::model::graph::{AlignedBytes, Graph};
use born_std::core::Model;
use born_std::quantize::Method;
use std::path::{Path, PathBuf};

/// The arguments of `born convert`.
#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model file (external data files are read from its folder).
    model: PathBuf,
    /// Where to write the .born model.
    #[arg(long, short)]
    output: PathBuf,
    /// The shape of a graph input, `NAME=D0,D1,...` (e.g. `image=1,1,28,28`); repeat for
    /// several inputs. The dynamic dimensions of inputs not given are set to 1.
    #[arg(long, value_name = "NAME=DIMS", value_parser = parse_input_shape)]
    input_shape: Vec<(String, Vec<usize>)>,
    /// Model name written into the file (default: the ONNX graph's name).
    #[arg(long)]
    name: Option<String>,
    /// Quantize the converted model: `int8` (post-training, as `born quantize` does,
    /// calibrated on --calibration with the min/max of each tensor).
    #[arg(long, value_name = "TYPE", value_parser = ["int8"], requires = "calibration")]
    quantize: Option<String>,
    /// Representative inputs for graph input 0 stacked along the first axis (each must have
    /// the model input's shape without its first dimension), for --quantize.
    #[arg(long, requires = "quantize")]
    calibration: Option<PathBuf>,
    /// Keep calibration outliers instead of clipping them (as in `born quantize`).
    #[arg(long, requires = "quantize")]
    keep_outliers: bool,
    /// Convert calibration data of another element type to float32 (as in `born quantize`).
    #[arg(long, requires = "quantize")]
    cast: bool,
}

/// `NAME=D0,D1,...` as a name and dimensions (the name is what precedes the last `=`).
fn parse_input_shape(s: &str) -> std::result::Result<(String, Vec<usize>), String> {
    let expected = "expected NAME=D0,D1,... such as image=1,3,224,224";
    let Some((name, dims)) = s.rsplit_once('=') else {
        return Err(format!("no `=` in `{s}`: {expected}"));
    };
    if name.is_empty() {
        return Err(format!("no input name before `=` in `{s}`: {expected}"));
    }
    if dims.trim().is_empty() {
        return Err(format!("no dimensions after `=` in `{s}`: {expected}"));
    }
    let dims = dims
        .split(',')
        .map(|d| match d.trim().parse::<usize>() {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(format!(
                "dimension `{}` of `{s}` is not a positive integer: {expected}",
                d.trim()
            )),
        })
        .collect::<std::result::Result<Vec<usize>, String>>()?;
    Ok((name.to_string(), dims))
}

/// Converts `a.model`, quantizes it when asked, writes it to `a.output`, and prints the
/// converter's notes (on standard error) and a summary of the written model.
pub fn run(a: &Args) -> Result<()> {
    let calib: Vec<&Path> = a.calibration.iter().map(PathBuf::as_path).collect();
    crate::run::refuse_overwrite(std::slice::from_ref(&a.output), &a.model, &calib)?;
    for (k, (name, _)) in a.input_shape.iter().enumerate() {
        if a.input_shape[..k].iter().any(|(n, _)| n == name) {
            bail!("--input-shape given twice for input `{name}`");
        }
    }
    let opts = born_std::onnx::Options {
        input_shapes: a.input_shape.clone(),
        name: a.name.clone(),
        ..Default::default()
    };
    let (mut bytes, notes) = born_std::onnx::convert(&a.model, &opts)?;
    for n in &notes {
        eprintln!("born: note: {n}");
    }
    if let Some(kind) = &a.quantize {
        let Some(path) = a.calibration.as_deref() else {
            bail!("--quantize {kind} needs --calibration");
        };
        let f32_model = AlignedBytes::from_slice(&bytes);
        let g = Graph::from_model(&Model::from_bytes(&f32_model)?)?;
        let method = Method::MinMax;
        let (q, report) = quantize::calibrate(
            &g,
            &quantize::Calibration {
                path,
                method,
                keep_outliers: a.keep_outliers,
                cast: a.cast,
            },
        )?;
        println!("quantized {}", quantize::summary(&report, method));
        bytes = born_std::export::encode_planned(&q)?.0;
    }
    born_std::export::write_model(&a.output, &bytes)?;
    let written = AlignedBytes::from_slice(&bytes);
    let t = inspect::totals(&io::load(&written, &a.output)?)?;
    println!(
        "wrote {}: {} ops, {} tensors, weights {} bytes, arena {} bytes (file {} bytes)",
        a.output.display(),
        t.ops,
        t.tensors,
        t.weight_bytes,
        t.arena_bytes,
        bytes.len()
    );
    Ok(())
}
