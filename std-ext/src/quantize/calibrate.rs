//! Activation ranges from representative inputs: the f32 model runs with a plan that keeps
//! every tensor, and each f32 activation's range is observed.

use super::Method;
use crate::error::{Error, Result};
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::{DType, Interpreter, Model};

const BINS: usize = 2048;

/// Observed range of one tensor.
#[derive(Clone, Debug)]
struct Stat {
    min: f32,
    max: f32,
    hist: Vec<u64>,
}

/// Calibrated `[min, max]` of every f32 activation tensor of `g` (indexed by tensor id;
/// `None` for constants and non-f32 tensors).
///
/// `samples` holds whole batches of graph input 0 back to back; `progress(done, total)` is
/// called after each batch of each pass.
pub fn ranges(
    g: &Graph,
    samples: &[f32],
    method: Method,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Option<(f32, f32)>>> {
    if g.inputs.len() != 1 || g.tensors[g.inputs[0]].dtype != DType::F32 {
        return Err(Error::Invalid(
            "calibration needs a model with exactly one f32 input".into(),
        ));
    }
    let per = g.tensors[g.inputs[0]].shape.numel();
    if samples.is_empty() || samples.len() % per != 0 {
        return Err(Error::Invalid(format!(
            "calibration data holds {} values, not a whole number of model inputs of {per}",
            samples.len()
        )));
    }
    let (offsets, len) = g.naive_plan()?;
    let bytes = AlignedBytes::from_slice(&g.encode(&offsets, len)?);
    let model = Model::from_bytes(&bytes)?;
    let mut arena = vec![0u8; Interpreter::arena_len(&model)?];
    let mut it = Interpreter::new(&model, &mut arena)?;
    let watched: Vec<usize> = g
        .tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.data.is_none() && t.dtype == DType::F32)
        .map(|(i, _)| i)
        .collect();
    let mut stats: Vec<Option<Stat>> = vec![None; g.tensors.len()];
    let batches = samples.len() / per;
    let passes = if matches!(method, Method::MinMax) {
        1
    } else {
        2
    };
    for pass in 0..passes {
        for (b, chunk) in samples.chunks_exact(per).enumerate() {
            it.input_mut::<f32>(0)?.copy_from_slice(chunk);
            it.invoke()?;
            for &t in &watched {
                let v: &[f32] = it.tensor(t)?;
                observe(&mut stats[t], v, pass);
            }
            progress(pass * batches + b + 1, passes * batches);
        }
    }
    Ok(stats
        .into_iter()
        .map(|s| s.map(|s| range_of(&s, method)))
        .collect())
}

fn observe(slot: &mut Option<Stat>, v: &[f32], pass: usize) {
    let s = slot.get_or_insert_with(|| Stat {
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        hist: vec![0; BINS],
    });
    if pass == 0 {
        for &x in v.iter().filter(|x| x.is_finite()) {
            s.min = s.min.min(x);
            s.max = s.max.max(x);
        }
        return;
    }
    let width = (s.max - s.min).max(f32::MIN_POSITIVE);
    for &x in v.iter().filter(|x| x.is_finite()) {
        let bin = (((x - s.min) / width) * BINS as f32) as usize;
        s.hist[bin.min(BINS - 1)] += 1;
    }
}

/// The range to quantize over: the observed one, or the central `p` percent of the
/// observed values (the tails are clipped) for [`Method::Percentile`].
fn range_of(s: &Stat, method: Method) -> (f32, f32) {
    if !(s.min.is_finite() && s.max.is_finite()) {
        return (0.0, 0.0);
    }
    let Method::Percentile(p) = method else {
        return (s.min, s.max);
    };
    let total: u64 = s.hist.iter().sum();
    if total == 0 {
        return (s.min, s.max);
    }
    let tail = ((1.0 - f64::from(p) / 100.0) / 2.0 * total as f64) as u64;
    let width = (s.max - s.min) / BINS as f32;
    let (mut lo, mut acc) = (0usize, 0u64);
    while lo < BINS && acc + s.hist[lo] <= tail {
        acc += s.hist[lo];
        lo += 1;
    }
    let (mut hi, mut acc) = (BINS, 0u64);
    while hi > lo + 1 && acc + s.hist[hi - 1] <= tail {
        acc += s.hist[hi - 1];
        hi -= 1;
    }
    (s.min + lo as f32 * width, s.min + hi as f32 * width)
}
