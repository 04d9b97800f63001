//! Same model and input give the same output bits on every run and on every thread, with one model shared by all threads.

use born_core::backend::{Backend, Cpu};
use born_core::kernels::conv::Conv2d as ConvParams;
use born_core::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential};
use born_core::{Rng, Tensor};

fn cnn(rng: &mut Rng) -> Sequential<Cpu> {
    let b = Cpu;
    let pad1 = ConvParams {
        padding: [1; 4],
        ..ConvParams::default()
    };
    Sequential::new()
        .push(Conv2d::with_params(1, 8, [3, 3], pad1, true, &b, rng).unwrap())
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Conv2d::with_params(8, 16, [3, 3], pad1, true, &b, rng).unwrap())
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(16 * 7 * 7, 10, &b, rng).unwrap())
}

fn bits(t: &Tensor<f32>) -> Vec<u32> {
    t.data().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn same_bits_across_runs_and_threads() {
    let model = cnn(&mut Rng::seed(11));
    let x = Tensor::randn(&[4, 1, 28, 28], &mut Rng::seed(12)).unwrap();
    let reference = bits(&model.forward(&Cpu, &x).unwrap());
    assert_eq!(reference.len(), 40);
    assert_eq!(bits(&model.forward(&Cpu, &x).unwrap()), reference);

    // A model built from the same seed is the same model.
    let again = cnn(&mut Rng::seed(11));
    assert_eq!(bits(&again.forward(&Cpu, &x).unwrap()), reference);

    let outputs: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| bits(&model.forward(&Cpu, &x).unwrap())))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in outputs {
        assert_eq!(out, reference);
    }
    assert_eq!(Cpu.name(), "cpu");
}
