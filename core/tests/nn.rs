//! nn modules and the CPU backend against hand-computed values.

use born_core::backend::{Backend, Cpu};
use born_core::kernels::conv::Conv2d as ConvParams;
use born_core::kernels::reduce::ReduceOp;
use born_core::nn::{
    self, BatchNorm2d, Conv2d, Dropout, Embedding, Flatten, LayerNorm, Linear, MaxPool2d, Module,
    RMSNorm, ReLU, Sequential, Softmax,
};
use born_core::{Error, Rng, Tensor};

fn t(data: &[f32], dims: &[usize]) -> Tensor<f32> {
    Tensor::from_vec(data.to_vec(), dims).unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "index {i}: {x} vs {y}"
        );
    }
}

#[test]
fn linear_matches_hand_computation() {
    let b = Cpu;
    // W = [[1, 2, 3], [-1, 0, 1]], bias = [0.5, -0.5]; x = [[1, 1, 1], [2, 0, -1]].
    let lin = Linear::from_params(
        &b,
        t(&[1., 2., 3., -1., 0., 1.], &[2, 3]),
        Some(t(&[0.5, -0.5], &[2])),
    )
    .unwrap();
    let y = lin
        .forward(&b, &t(&[1., 1., 1., 2., 0., -1.], &[2, 3]))
        .unwrap();
    assert_eq!(y.dims(), &[2, 2]);
    close(y.data(), &[6.5, -0.5, -0.5, -3.5], 1e-6);
    // Leading axes pass through.
    let y3 = lin
        .forward(&b, &t(&[1., 1., 1., 2., 0., -1.], &[1, 2, 3]))
        .unwrap();
    assert_eq!(y3.dims(), &[1, 2, 2]);
    assert!(matches!(
        lin.forward(&b, &t(&[1., 1.], &[1, 2])),
        Err(Error::DimMismatch { op: "linear", .. })
    ));
}

#[test]
fn quickstart_mlp_shapes_names_and_probabilities() {
    let b = Cpu;
    let mut rng = Rng::seed(1);
    let model = Sequential::new()
        .push(Linear::new(784, 128, &b, &mut rng).unwrap())
        .push(ReLU)
        .push(Linear::new(128, 10, &b, &mut rng).unwrap())
        .push(Softmax::new(-1));
    assert_eq!(nn::num_params(&b, &model), 784 * 128 + 128 + 128 * 10 + 10);
    let mut names = Vec::new();
    model.visit_params(&mut |n, _| names.push(n.to_string()));
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    let x = Tensor::randn(&[3, 784], &mut rng).unwrap();
    let p = model.forward(&b, &x).unwrap();
    assert_eq!(p.dims(), &[3, 10]);
    for row in p.data().chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(row.iter().all(|&v| v > 0.0));
    }
    // PyTorch's init bound for in_features = 784 is 1/28.
    let mut max_w = 0.0f32;
    model.layers()[0]
        .visit_params(&mut |_, w| max_w = w.data().iter().fold(max_w, |m, v| m.max(v.abs())));
    assert!(max_w <= 1.0 / 28.0 && max_w > 0.9 / 28.0);
}

#[test]
fn conv_pool_flatten_pipeline() {
    let b = Cpu;
    let mut rng = Rng::seed(2);
    // A 2x2 all-ones kernel without bias sums each window.
    let mut conv =
        Conv2d::with_params(1, 1, [2, 2], ConvParams::default(), false, &b, &mut rng).unwrap();
    conv.weight = t(&[1.0; 4], &[1, 1, 2, 2]);
    let x = t(
        &(0..16).map(|v| v as f32).collect::<Vec<_>>(),
        &[1, 1, 4, 4],
    );
    let model = Sequential::new()
        .push(conv)
        .push(MaxPool2d::new(2))
        .push(Flatten);
    let y = model.forward(&b, &x).unwrap();
    // Window sums form a 3x3 map [[10,14,18],[26,30,34],[42,46,50]]; 2x2 max pool keeps 30.
    assert_eq!(y.dims(), &[1, 1]);
    close(y.data(), &[30.0], 0.0);
}

#[test]
fn norms_match_hand_computation() {
    let b = Cpu;
    let x = t(&[1., 2., 3., 4.], &[1, 4]);
    let ln = LayerNorm::new(4, 0.0, &b).unwrap();
    // mean 2.5, variance 1.25.
    let s = 1.25f32.sqrt();
    close(
        ln.forward(&b, &x).unwrap().data(),
        &[-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s],
        1e-5,
    );
    let rms = RMSNorm::new(4, 0.0, &b).unwrap();
    // mean square 7.5.
    let r = 7.5f32.sqrt();
    close(
        rms.forward(&b, &x).unwrap().data(),
        &[1. / r, 2. / r, 3. / r, 4. / r],
        1e-5,
    );
    let mut bn = BatchNorm2d::new(2, 0.0, &b).unwrap();
    bn.running_mean = t(&[1.0, -1.0], &[2]);
    bn.running_var = t(&[4.0, 1.0], &[2]);
    bn.bias = t(&[0.0, 10.0], &[2]);
    let y = bn
        .forward(&b, &t(&[3., 5., 0., 1.], &[1, 2, 1, 2]))
        .unwrap();
    close(y.data(), &[1.0, 2.0, 11.0, 12.0], 1e-6);
}

#[test]
fn embedding_and_reductions() {
    let b = Cpu;
    let mut rng = Rng::seed(3);
    let mut emb = Embedding::new(3, 2, &b, &mut rng).unwrap();
    emb.weight = t(&[0., 1., 10., 11., 20., 21.], &[3, 2]);
    let ids = Tensor::from_vec(vec![2, 0, 2], &[3]).unwrap();
    let y = emb.forward(&b, &ids).unwrap();
    assert_eq!(y.dims(), &[3, 2]);
    close(y.data(), &[20., 21., 0., 1., 20., 21.], 0.0);
    let bad = Tensor::from_vec(vec![3], &[1]).unwrap();
    assert!(matches!(
        emb.forward(&b, &bad),
        Err(Error::IndexOutOfRange { .. })
    ));
    let x = t(&[1., 5., 2., 7., 0., 3.], &[2, 3]);
    close(
        b.reduce(ReduceOp::Sum, &x, 1, false).unwrap().data(),
        &[8., 10.],
        0.0,
    );
    assert_eq!(
        b.reduce(ReduceOp::Max, &x, 0, true).unwrap().dims(),
        &[1, 3]
    );
    assert_eq!(b.argmax(&x, 1).unwrap().data(), &[1, 0]);
}

#[test]
fn matmul_broadcasts_batches() {
    let b = Cpu;
    // a: [2, 1, 2] (two 1x2 rows), w: [2, 2] shared by both batches.
    let a = t(&[1., 2., 3., 4.], &[2, 1, 2]);
    let w = t(&[1., 0., 1., 1.], &[2, 2]);
    let y = b.matmul(&a, &w).unwrap();
    assert_eq!(y.dims(), &[2, 1, 2]);
    close(y.data(), &[3., 2., 7., 4.], 0.0);
    assert!(matches!(
        b.matmul(&a, &t(&[1.; 3], &[3, 1])),
        Err(Error::DimMismatch { op: "matmul", .. })
    ));
}

#[test]
fn dropout_is_identity_at_inference_and_seeded_in_training() {
    let b = Cpu;
    let d = Dropout::new(0.5).unwrap();
    let x = Tensor::full(&[1000], 1.0f32).unwrap();
    assert_eq!(d.forward(&b, &x).unwrap(), x);
    let y1 = d.forward_train(&b, &x, &mut Rng::seed(9)).unwrap();
    let y2 = d.forward_train(&b, &x, &mut Rng::seed(9)).unwrap();
    assert_eq!(y1, y2);
    let kept = y1.data().iter().filter(|&&v| v == 2.0).count();
    let dropped = y1.data().iter().filter(|&&v| v == 0.0).count();
    assert_eq!(kept + dropped, 1000);
    assert!((400..600).contains(&kept), "kept {kept}");
    assert!(matches!(
        Dropout::new(1.0),
        Err(Error::InvalidArgument { .. })
    ));
}
