//! `born quantize`.

use crate::io;
use anyhow::{bail, Context, Result};
use born_std::core::model::graph::Graph;
use born_std::quantize::calibration::{self, Report};
use born_std::quantize::{quantize, Method};
use std::path::Path;

/// Rows listed in a warning before "...".
const SHOWN_ROWS: usize = 8;

/// How to calibrate, shared by `born quantize` and `born convert --quantize int8`.
pub struct Calibration<'a> {
    /// Representative inputs for graph input 0, stacked along the first axis (`.npy`).
    pub path: &'a Path,
    /// Range estimator.
    pub method: Method,
    /// Keep outliers instead of clipping them to the other values' range.
    pub keep_outliers: bool,
    /// Convert calibration data of another element type to float32.
    pub cast: bool,
}

/// The range estimator `--method NAME` (with `--percentile`) stands for.
pub fn method(name: &str, percentile: f32) -> Result<Method> {
    Ok(match name {
        "minmax" => Method::MinMax,
        "percentile" => Method::Percentile(percentile),
        other => bail!("unknown --method {other} (minmax or percentile)"),
    })
}

/// Quantizes the model at `path` to int8 with the calibration inputs in `calib` (checked
/// first, see [`calibrate`]), and writes it to `out`.
pub fn run(
    path: &Path,
    calib: &Path,
    out: &Path,
    method: &str,
    percentile: f32,
    keep_outliers: bool,
    cast: bool,
) -> Result<()> {
    let method = self::method(method, percentile)?;
    let bytes = io::read(path)?;
    let m = io::load(&bytes, path)?;
    let g = Graph::from_model(&m)?;
    let (q, report) = calibrate(
        &g,
        &Calibration {
            path: calib,
            method,
            keep_outliers,
            cast,
        },
    )?;
    let (qbytes, plan) = born_std::export::encode_planned(&q)?;
    born_std::export::write_model(out, &qbytes)?;
    println!("quantized {} {}", path.display(), summary(&report, method));
    println!(
        "wrote {}: {} bytes (f32 model {} bytes), arena {} bytes (no reuse: {})",
        out.display(),
        qbytes.len(),
        bytes.len(),
        plan.arena_len,
        plan.naive_len
    );
    Ok(())
}

/// `with N inputs (METHOD): I int8 ops, F f32/border ops`.
pub fn summary(report: &born_std::quantize::Report, method: Method) -> String {
    format!(
        "with {} inputs ({method:?}): {} int8 ops, {} f32/border ops",
        report.samples, report.int8_ops, report.f32_ops
    )
}

/// The int8 version of f32 graph `g`, calibrated on the inputs in `c.path`: their shape
/// must stack inputs of graph input 0's shape along the first axis, their values are checked
/// first (see `born_std::quantize::calibration`: NaN and infinite values are an error,
/// outliers are clipped with a warning unless `c.keep_outliers`), and rows that do not fill
/// a whole model input are left out with a warning.
pub fn calibrate(g: &Graph, c: &Calibration<'_>) -> Result<(Graph, born_std::quantize::Report)> {
    let calib = c.path;
    let input = *g.inputs.first().context("the model has no input")?;
    let want = g.tensors[input].shape;
    let a = born_std::npy::read_npy(calib)?;
    let rest = want.dims().get(1..).unwrap_or(&[]);
    if a.shape.get(1..) != Some(rest) {
        bail!(
            "calibration shape {:?} does not stack inputs of the model's shape {:?}",
            a.shape,
            want.dims()
        );
    }
    let have = super::run::file_dtype(&a.data);
    if have != "float32" {
        if !c.cast {
            bail!(
                "{} holds {have} data, the model's input is float32 (--cast converts it; the \
                 values are not rescaled)",
                calib.display()
            );
        }
        eprintln!(
            "born: {}: converted {have} to float32 (--cast; values are not rescaled)",
            calib.display()
        );
    }
    let mut data = a.to_f32();
    let name = &g.tensors[input].name;
    let checked = calibration::check(name, &data, rest.iter().product())
        .with_context(|| format!("checking {}", calib.display()))?;
    if checked.outliers > 0 {
        warn_outliers(calib, name, &checked, c.keep_outliers);
        if !c.keep_outliers {
            checked.clip(&mut data);
        }
    }
    let per = want.numel();
    let left = data.len() % per;
    if left > 0 && data.len() >= per {
        let row = rest.iter().product::<usize>().max(1);
        eprintln!(
            "born: warning: {}: the last {} of {} calibration row(s) do not fill a model input \
             of batch {}; they are not used",
            calib.display(),
            left / row,
            data.len() / row,
            per / row
        );
    }
    data.truncate(data.len() / per * per);
    if data.is_empty() {
        bail!("calibration data holds fewer rows than one model input");
    }
    let bar = io::progress(data.len() / per, "calibrate");
    let (q, report) = quantize(g, &data, c.method, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    Ok((q, report))
}

/// Says on standard error which rows hold outliers and what is done with them.
fn warn_outliers(calib: &Path, input: &str, r: &Report, kept: bool) {
    let mut rows: Vec<String> = r
        .outlier_rows
        .iter()
        .take(SHOWN_ROWS)
        .map(|k| k.to_string())
        .collect();
    if r.outlier_rows.len() > SHOWN_ROWS {
        rows.push("...".into());
    }
    let (lo, hi) = r.inlier_range;
    eprintln!(
        "born: warning: {}: calibration data for input `{input}` holds {} outlier(s) in row(s) \
         {} (largest magnitude {:e}; typical magnitude {}, outliers exceed {} times that)",
        calib.display(),
        r.outliers,
        rows.join(", "),
        r.largest,
        r.typical,
        calibration::OUTLIER_FACTOR
    );
    if kept {
        eprintln!("born: warning: outliers kept (--keep-outliers): they widen the int8 ranges");
    } else {
        eprintln!(
            "born: warning: outliers clipped to [{lo}, {hi}], the range of the other values \
             (--keep-outliers keeps them)"
        );
    }
}
