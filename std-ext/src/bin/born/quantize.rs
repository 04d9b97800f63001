//! `born quantize`.

use crate::io;
use anyhow::{bail, Context, Result};
use born_std::core::model::graph::Graph;
use born_std::quantize::calibration::{self, Report};
use born_std::quantize::{quantize, Method};
use std::path::Path;

/// Rows listed in a warning before "...".
const SHOWN_ROWS: usize = 8;

/// Quantizes the model at `path` to int8 with the calibration inputs in `calib` (checked
/// first, see `born_std::quantize::calibration`; outliers are clipped unless
/// `keep_outliers`), and writes it to `out`.
pub fn run(
    path: &Path,
    calib: &Path,
    out: &Path,
    method: &str,
    percentile: f32,
    keep_outliers: bool,
    cast: bool,
) -> Result<()> {
    let method = match method {
        "minmax" => Method::MinMax,
        "percentile" => Method::Percentile(percentile),
        other => bail!("unknown --method {other} (minmax or percentile)"),
    };
    let bytes = io::read(path)?;
    let m = io::load(&bytes, path)?;
    let g = Graph::from_model(&m)?;
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
        if !cast {
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
        warn_outliers(calib, name, &checked, keep_outliers);
        if !keep_outliers {
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
    let (q, report) = quantize(&g, &data, method, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let (qbytes, plan) = born_std::export::encode_planned(&q)?;
    born_std::export::write_model(out, &qbytes)?;
    println!(
        "quantized {} with {} inputs ({method:?}): {} int8 ops, {} f32/border ops",
        path.display(),
        report.samples,
        report.int8_ops,
        report.f32_ops
    );
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
