//! One shared model, 8 threads x 1,000 inferences each through `born_std::Pool`: every
//! output is checked, bit for bit, against a single-threaded reference (the eager forward
//! pass for the f32 model; a one-thread interpreter run for the int8 model), and a model
//! rebuilt from the same seed gives the same file and the same bits.

use born_core::backend::Cpu;
use born_core::model::graph::AlignedBytes;
use born_core::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential};
use born_core::{Interpreter, Model, Rng, Tensor};
use born_std::quantize::{quantize, Method};
use born_std::Pool;

const THREADS: usize = 8;
const PER_THREAD: usize = 1000;
const INPUTS: usize = 64;

fn cnn(rng: &mut Rng) -> Sequential<Cpu> {
    Sequential::new()
        .push(Conv2d::new(1, 4, 3, &Cpu, rng).unwrap().padding(1))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(4 * 7 * 7, 16, &Cpu, rng).unwrap())
        .push(ReLU)
        .push(Linear::new(16, 10, &Cpu, rng).unwrap())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs `inputs` on `model` from 8 threads, 1,000 inferences each (thread `t` starts at a
/// different input), and checks every output against `want`.
fn hammer(model: &Model<'_>, inputs: &[Vec<f32>], want: &[Vec<u32>]) {
    let pool = Pool::new(model).unwrap();
    let checked: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let pool = &pool;
                s.spawn(move || {
                    let mut n = 0;
                    for i in 0..PER_THREAD {
                        let k = (t * 7 + i) % inputs.len();
                        let got = pool
                            .run(|it| {
                                it.input_mut::<f32>(0)?.copy_from_slice(&inputs[k]);
                                it.invoke()?;
                                Ok(bits(it.output::<f32>(0)?))
                            })
                            .unwrap();
                        assert_eq!(got, want[k], "thread {t}, inference {i}, input {k}");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(checked, THREADS * PER_THREAD);
}

fn inputs(rng: &mut Rng) -> Vec<Vec<f32>> {
    (0..INPUTS)
        .map(|_| Tensor::randn(&[1, 1, 14, 14], rng).unwrap().data().to_vec())
        .collect()
}

#[test]
fn f32_model_shared_by_8_threads_matches_eager_bits() {
    let mut rng = Rng::seed(11);
    let net = cnn(&mut rng);
    let (bytes, _) = born_std::export::export(&net, &Cpu, "cnn", &[1, 1, 14, 14]).unwrap();
    let bytes = AlignedBytes::from_slice(&bytes);
    let model = Model::from_bytes(&bytes).unwrap();
    let xs = inputs(&mut rng);
    let want: Vec<Vec<u32>> = xs
        .iter()
        .map(|x| {
            let t = Tensor::from_vec(x.clone(), &[1, 1, 14, 14]).unwrap();
            bits(net.forward(&Cpu, &t).unwrap().data())
        })
        .collect();
    hammer(&model, &xs, &want);

    // A model rebuilt from the same seed exports to the same bytes and gives the same bits.
    let again = cnn(&mut Rng::seed(11));
    let (bytes2, _) = born_std::export::export(&again, &Cpu, "cnn", &[1, 1, 14, 14]).unwrap();
    assert_eq!(&bytes2[..], &bytes[..]);
    for (x, w) in xs.iter().zip(&want) {
        let t = Tensor::from_vec(x.clone(), &[1, 1, 14, 14]).unwrap();
        assert_eq!(&bits(again.forward(&Cpu, &t).unwrap().data()), w);
    }
}

#[test]
fn int8_model_shared_by_8_threads_matches_one_thread() {
    let mut rng = Rng::seed(12);
    let net = cnn(&mut rng);
    let g = born_core::nn::to_graph(&net, &Cpu, "cnn", &[1, 1, 14, 14]).unwrap();
    let xs = inputs(&mut rng);
    let calib: Vec<f32> = xs.iter().flatten().copied().collect();
    let (q, report) = quantize(&g, &calib, Method::MinMax, &mut |_, _| {}).unwrap();
    assert!(report.int8_ops >= 4, "{report:?}");
    let (bytes, _) = born_std::export::encode_planned(&q).unwrap();
    let bytes = AlignedBytes::from_slice(&bytes);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&model).unwrap()];
    let mut it = Interpreter::new(&model, &mut arena).unwrap();
    let want: Vec<Vec<u32>> = xs
        .iter()
        .map(|x| {
            it.input_mut::<f32>(0).unwrap().copy_from_slice(x);
            it.invoke().unwrap();
            bits(it.output::<f32>(0).unwrap())
        })
        .collect();
    hammer(&model, &xs, &want);
}
