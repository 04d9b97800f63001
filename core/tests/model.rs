//! Export -> encode -> load -> interpret round trips against the eager forward pass.

use born_core::backend::Cpu;
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::nn::{self, Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential};
use born_core::{Interpreter, Model, Rng, Tensor};

fn mlp(rng: &mut Rng) -> Sequential<Cpu> {
    Sequential::new()
        .push(Linear::new(784, 128, &Cpu, rng).unwrap())
        .push(ReLU)
        .push(Linear::new(128, 10, &Cpu, rng).unwrap())
}

fn cnn(rng: &mut Rng) -> Sequential<Cpu> {
    Sequential::new()
        .push(Conv2d::new(1, 8, 3, &Cpu, rng).unwrap().padding(1))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Conv2d::new(8, 16, 3, &Cpu, rng).unwrap().padding(1))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(16 * 7 * 7, 32, &Cpu, rng).unwrap())
        .push(ReLU)
        .push(Linear::new(32, 10, &Cpu, rng).unwrap())
}

fn encode_naive(g: &Graph) -> AlignedBytes {
    let (offsets, len) = g.naive_plan().unwrap();
    AlignedBytes::from_slice(&g.encode(&offsets, len).unwrap())
}

fn check_round_trip(model: &Sequential<Cpu>, dims: &[usize], rng: &mut Rng) {
    let g = nn::to_graph(model, &Cpu, "m", dims).unwrap();
    let bytes = encode_naive(&g);
    let m = Model::from_bytes(&bytes).unwrap();
    let x = Tensor::randn(dims, rng).unwrap();
    let eager = model.forward(&Cpu, &x).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let mut it = Interpreter::new(&m, &mut arena).unwrap();
    it.input_mut::<f32>(0).unwrap().copy_from_slice(x.data());
    it.invoke().unwrap();
    let got: &[f32] = it.output(0).unwrap();
    assert_eq!(got.len(), eager.data().len());
    for (a, b) in got.iter().zip(eager.data()) {
        assert_eq!(a.to_bits(), b.to_bits(), "{a} vs {b}");
    }
}

#[test]
fn mlp_round_trip_is_bit_exact() {
    let mut rng = Rng::seed(1);
    let m = mlp(&mut rng);
    check_round_trip(&m, &[1, 784], &mut rng);
    check_round_trip(&m, &[5, 784], &mut rng);
}

#[test]
fn cnn_round_trip_is_bit_exact() {
    let mut rng = Rng::seed(2);
    let m = cnn(&mut rng);
    check_round_trip(&m, &[2, 1, 28, 28], &mut rng);
}

#[test]
fn relu_is_fused_into_the_producer() {
    let mut rng = Rng::seed(3);
    let g = nn::to_graph(&mlp(&mut rng), &Cpu, "m", &[1, 784]).unwrap();
    assert_eq!(g.ops.len(), 2);
}

#[test]
fn op_resolver_limits_the_kernels() {
    use born_core::{Error, OpResolver};
    let mut rng = Rng::seed(4);
    let net = cnn(&mut rng);
    let g = nn::to_graph(&net, &Cpu, "m", &[1, 1, 28, 28]).unwrap();
    let bytes = encode_naive(&g);
    let m = Model::from_bytes(&bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let partial = OpResolver::new().with_conv2d().with_max_pool2d();
    match Interpreter::with_ops(&m, &mut arena, &partial) {
        Err(Error::InvalidArgument { op, .. }) => assert_eq!(op, "Reshape"),
        other => panic!("expected a missing-kernel error, got {:?}", other.err()),
    }
    static OPS: OpResolver = OpResolver::new()
        .with_conv2d()
        .with_max_pool2d()
        .with_reshape()
        .with_fully_connected();
    let x = Tensor::randn(&[1, 1, 28, 28], &mut rng).unwrap();
    let mut it = Interpreter::with_ops(&m, &mut arena, &OPS).unwrap();
    it.input_mut::<f32>(0).unwrap().copy_from_slice(x.data());
    it.invoke().unwrap();
    let want = net.forward(&Cpu, &x).unwrap();
    let got: &[f32] = it.output(0).unwrap();
    assert_eq!(got, want.data());
}
