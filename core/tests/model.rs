//! Export -> encode -> load -> interpret round trips against the eager forward pass.

use born_core::backend::Cpu;
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::nn::{self, Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential};
use born_core::{DType, Interpreter, Model, ModelError, Rng, Shape, Tensor};

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
    use born_core::ops::conv2d::Conv2d;
    use born_core::ops::fully_connected::FullyConnected;
    use born_core::ops::pool::MaxPool2d;
    use born_core::ops::reshape::Reshape;
    use born_core::ops::Op;
    use born_core::{Error, OpResolver};
    let mut rng = Rng::seed(4);
    let net = cnn(&mut rng);
    let g = nn::to_graph(&net, &Cpu, "m", &[1, 1, 28, 28]).unwrap();
    let bytes = encode_naive(&g);
    let m = Model::from_bytes(&bytes).unwrap();
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let partial: OpResolver<2> = OpResolver::new().with::<Conv2d>().with::<MaxPool2d>();
    // The first op the resolver lacks, by index and id.
    let reshape_at = (0..m.n_ops())
        .find(|&i| m.op(i).unwrap().op == Reshape::ID)
        .unwrap();
    let want = ModelError::UnknownOp {
        op: reshape_at,
        id: Reshape::ID,
    };
    match Interpreter::with_ops(&m, &mut arena, &partial) {
        Err(Error::Model(e)) => assert_eq!(e, want),
        other => panic!("expected a missing-op error, got {:?}", other.err()),
    }
    match Model::from_bytes_with(&bytes, partial.table()) {
        Err(Error::Model(e)) => assert_eq!(e, want),
        other => panic!("expected a missing-op error, got {:?}", other.err()),
    }
    static OPS: OpResolver<4> = OpResolver::new()
        .with::<Conv2d>()
        .with::<MaxPool2d>()
        .with::<Reshape>()
        .with::<FullyConnected>();
    let m = Model::from_bytes_with(&bytes, OPS.table()).unwrap();
    let x = Tensor::randn(&[1, 1, 28, 28], &mut rng).unwrap();
    let mut it = Interpreter::with_ops(&m, &mut arena, &OPS).unwrap();
    it.input_mut::<f32>(0).unwrap().copy_from_slice(x.data());
    it.invoke().unwrap();
    let want = net.forward(&Cpu, &x).unwrap();
    let got: &[f32] = it.output(0).unwrap();
    assert_eq!(got, want.data());
    // A resolver with more registrations than room is refused, not truncated.
    let full: OpResolver<1> = OpResolver::new().with::<Conv2d>().with::<MaxPool2d>();
    assert!(matches!(
        Model::from_bytes_with(&bytes, full.table()),
        Err(Error::Model(ModelError::Count { .. }))
    ));
}

/// A running sum kept in a state tensor: `y = s + x; s <- y`. Each invoke adds its input to
/// what the previous invokes left; `reset_state` starts again from zero.
#[test]
fn state_tensor_persists_across_invokes() {
    use born_core::kernels::elementwise::BinaryOp;
    use born_core::model::graph::Graph;
    use born_core::ops::binary::Binary;
    use born_core::ops::reshape::{Reshape, ReshapeAttrs};
    let mut g = Graph::new("sum", "model test");
    let x = g.add_input("x", DType::F32, &[3]).unwrap();
    let s = g.add_state("s", DType::F32, &[3]).unwrap();
    let y = g.add_op::<Binary>(BinaryOp::Add, &[s, x], "y").unwrap();
    let keep = ReshapeAttrs {
        shape: born_core::model::format::Dims::from_shape(&Shape::new(&[3]).unwrap()).unwrap(),
    };
    g.add_op_into::<Reshape>(keep, &[y], &[s]).unwrap();
    g.mark_output(y).unwrap();
    let bytes = encode_naive(&g);
    let m = Model::from_bytes(&bytes).unwrap();
    assert_eq!(m.state_len(), 16);
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let mut it = Interpreter::new(&m, &mut arena).unwrap();
    let inputs = [[1.0f32, 2.0, 3.0], [0.5, -1.0, 4.0], [10.0, 0.0, -3.0]];
    let mut sum = [0.0f32; 3];
    for x in inputs {
        it.input_mut::<f32>(0).unwrap().copy_from_slice(&x);
        it.invoke().unwrap();
        for (a, b) in sum.iter_mut().zip(x) {
            *a += b;
        }
        assert_eq!(it.output::<f32>(0).unwrap(), sum);
        assert_eq!(it.state::<f32>(0).unwrap(), sum);
    }
    it.state_mut::<f32>(0)
        .unwrap()
        .copy_from_slice(&[100.0, 200.0, 300.0]);
    it.input_mut::<f32>(0)
        .unwrap()
        .copy_from_slice(&[1.0, 1.0, 1.0]);
    it.invoke().unwrap();
    assert_eq!(it.output::<f32>(0).unwrap(), [101.0, 201.0, 301.0]);
    it.reset_state();
    it.invoke().unwrap();
    assert_eq!(it.output::<f32>(0).unwrap(), [1.0, 1.0, 1.0]);
    // The graph read back from the file keeps the state tensor and re-encodes the same.
    let back = born_core::model::graph::Graph::from_model(&m).unwrap();
    assert!(back.tensors[s].state);
    assert_eq!(encode_naive(&back).to_vec(), bytes.to_vec());
}

/// A multi-output op: Split of `[2, 5]` along axis 1 into `[2, 2]` and `[2, 3]`, both graph
/// outputs, through builder, encoder, loader and interpreter.
#[test]
fn multi_output_op_round_trips() {
    use born_core::model::graph::Graph;
    use born_core::ops::split::{Split, SplitAttrs};
    let mut g = Graph::new("split", "model test");
    let x = g.add_input("x", DType::I32, &[2, 5]).unwrap();
    let mut sizes = [0u32; born_core::ops::MAX_OUTPUTS];
    sizes[..2].copy_from_slice(&[2, 3]);
    let outs = g
        .add_op_multi::<Split>(SplitAttrs { axis: -1, sizes }, &[x], &["a", "b"])
        .unwrap();
    assert_eq!(g.tensors[outs[0]].shape, Shape::new(&[2, 2]).unwrap());
    assert_eq!(g.tensors[outs[1]].shape, Shape::new(&[2, 3]).unwrap());
    for &o in &outs {
        g.mark_output(o).unwrap();
    }
    let bytes = encode_naive(&g);
    let m = Model::from_bytes(&bytes).unwrap();
    assert_eq!(m.op(0).unwrap().n_outputs(), 2);
    let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
    let mut it = Interpreter::new(&m, &mut arena).unwrap();
    let data: Vec<i32> = (0..10).collect();
    it.input_mut::<i32>(0).unwrap().copy_from_slice(&data);
    it.invoke().unwrap();
    assert_eq!(it.output::<i32>(0).unwrap(), [0, 1, 5, 6]);
    assert_eq!(it.output::<i32>(1).unwrap(), [2, 3, 4, 7, 8, 9]);
    // Sizes that do not add up to the axis are refused when the graph is built.
    let mut bad = [0u32; born_core::ops::MAX_OUTPUTS];
    bad[..2].copy_from_slice(&[2, 2]);
    let e = g
        .add_op_multi::<Split>(
            SplitAttrs {
                axis: 1,
                sizes: bad,
            },
            &[x],
            &["c", "d"],
        )
        .unwrap_err();
    assert_eq!(
        e,
        born_core::Error::Model(ModelError::Attribute {
            op: 1,
            what: "split sizes must be positive and add up to the axis"
        })
    );
}
