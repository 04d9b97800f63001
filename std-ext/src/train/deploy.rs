//! From a trained classifier to `.born` files, and their accuracy and speed under the
//! interpreter.

use crate::data::Mnist;
use crate::export::{encode_planned, PlanReport};
use crate::quantize::{self, Method};
use crate::{Error, Result};
use born_core::backend::Backend;
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::nn::{self, Module};
use born_core::{Interpreter, Model};
use std::time::Instant;

/// Name of the exported models' input: f32 `[1, 1, 28, 28]`, pixels / 255.
pub const INPUT_NAME: &str = "image";
/// Name of the exported models' output: f32 `[1, 10]` logits.
pub const OUTPUT_NAME: &str = "logits";

/// The inference graph of an MNIST classifier for one image, input named
/// [`INPUT_NAME`] and output [`OUTPUT_NAME`] (the contract of the PyTorch-exported model in
/// the reference data).
pub fn classifier_graph<B: Backend, M: Module<B> + ?Sized>(
    model: &M,
    backend: &B,
    name: &str,
) -> Result<Graph> {
    let mut g = nn::to_graph(model, backend, name, &[1, 1, Mnist::SIDE, Mnist::SIDE])?;
    let (Some(&i), Some(&o)) = (g.inputs.first(), g.outputs.first()) else {
        return Err(Error::Invalid(
            "exported graph has no input or output".into(),
        ));
    };
    g.tensors[i].name = INPUT_NAME.into();
    g.tensors[o].name = OUTPUT_NAME.into();
    Ok(g)
}

/// `.born` bytes of an f32 classifier graph and of its int8 version calibrated on the first
/// `calibration` images of `train` (min/max ranges), with their arena plans.
pub fn export_f32_and_int8(
    g: &Graph,
    train: &Mnist,
    calibration: usize,
) -> Result<[(Vec<u8>, PlanReport); 2]> {
    let f32_model = encode_planned(g)?;
    let n = calibration.min(train.len) * Mnist::PIXELS;
    let samples = train
        .images
        .get(..n)
        .ok_or_else(|| Error::Invalid("calibration images out of range".into()))?;
    let (q, _) = quantize::quantize(g, samples, Method::MinMax, &mut |_, _| {})?;
    Ok([f32_model, encode_planned(&q)?])
}

/// How a `.born` classifier does on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BornEval {
    /// Fraction of images classified correctly.
    pub accuracy: f32,
    /// Mean microseconds per `invoke` (one image, one thread).
    pub micros: f32,
    /// Bytes of arena the interpreter needs (plan plus kernel scratch).
    pub arena_len: usize,
}

/// Runs a `.born` classifier (one image per `invoke`) over `data` on one thread.
pub fn evaluate_born(bytes: &[u8], data: &Mnist) -> Result<BornEval> {
    let aligned = AlignedBytes::from_slice(bytes);
    let model = Model::from_bytes(&aligned)?;
    let arena_len = Interpreter::arena_len(&model)?;
    let mut arena = vec![0u8; arena_len];
    let mut it = Interpreter::new(&model, &mut arena)?;
    let mut correct = 0usize;
    let start = Instant::now();
    for (i, &label) in data.labels.iter().enumerate() {
        let img = data
            .image(i)
            .ok_or_else(|| Error::Invalid(format!("image {i} out of range")))?;
        let input = it.input_mut::<f32>(0)?;
        if input.len() != img.len() {
            return Err(Error::Invalid(format!(
                "the model's input holds {} values, an image {}",
                input.len(),
                img.len()
            )));
        }
        input.copy_from_slice(img);
        it.invoke()?;
        let logits: &[f32] = it.output(0)?;
        let pred = logits
            .iter()
            .enumerate()
            .fold(0, |b, (k, &v)| if v > logits[b] { k } else { b });
        correct += usize::from(pred == usize::from(label));
    }
    let n = data.labels.len().max(1);
    Ok(BornEval {
        accuracy: correct as f32 / n as f32,
        micros: start.elapsed().as_secs_f32() * 1e6 / n as f32,
        arena_len,
    })
}
