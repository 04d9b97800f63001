//! The quick start: a 784-128-10 MLP built with `Sequential` on the CPU backend, run on one
//! random 1x784 input.
//!
//! Run: `cargo run --release -p born-examples --example quickstart`

use born_core::backend::{Backend, Cpu};
use born_core::nn::{self, Linear, Module, ReLU, Sequential, Softmax};
use born_core::{Rng, Tensor};

fn main() -> Result<(), born_core::Error> {
    let backend = Cpu;
    let mut rng = Rng::seed(42);

    let model = Sequential::new()
        .push(Linear::new(784, 128, &backend, &mut rng)?)
        .push(ReLU)
        .push(Linear::new(128, 10, &backend, &mut rng)?)
        .push(Softmax::new(-1));
    println!("{}", model.describe());
    println!("parameters: {}", nn::num_params(&backend, &model));

    let input = backend.to_device(&Tensor::randn(&[1, 784], &mut rng)?)?;
    let probs = backend.to_host(&model.forward(&backend, &input)?)?;

    println!("output shape: {:?}", probs.dims());
    println!("probabilities: {:.4?}", probs.data());
    let sum: f32 = probs.data().iter().sum();
    println!("sum: {sum:.6}");
    let best = backend.argmax(&model.forward(&backend, &input)?, 1)?;
    println!("predicted class: {}", best.data()[0]);
    Ok(())
}
