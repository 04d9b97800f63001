//! The training loop: bitwise determinism, thread-count independence, NaN handling with the
//! last good checkpoint kept, bad data, and MNIST accuracy of the MLP.

use born_std::core::backend::{Backend, Cpu};
use born_std::core::nn::{Module, Sequential};
use born_std::core::train::optim::Adam;
use born_std::core::Rng;
use born_std::data::{self, Mnist, Split};
use born_std::train::{self, fit, Ad, MnistModel, TrainConfig};
use born_std::Error;

/// `n` random images whose label is the brightest of ten horizontal bands (learnable).
fn synthetic(n: usize, seed: u64) -> Mnist {
    let mut rng = Rng::seed(seed);
    let mut images = vec![0.0f32; n * Mnist::PIXELS];
    let mut labels = Vec::with_capacity(n);
    for img in images.chunks_exact_mut(Mnist::PIXELS) {
        rng.fill_uniform(img, 0.0, 0.5);
        let label = rng.below(10) as usize;
        for row in 0..2 {
            let r = label * 2 + row + 4;
            for v in &mut img[r * 28..(r + 1) * 28] {
                *v += 0.5;
            }
        }
        labels.push(label as u8);
    }
    Mnist {
        images,
        labels,
        len: n,
    }
}

fn params_bits(model: &Sequential<Ad>) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit_params(&mut |_, p| bits.extend(p.value().data().iter().map(|v| v.to_bits())));
    bits
}

fn train_small(cfg: &TrainConfig, data: &Mnist) -> Sequential<Ad> {
    let ad = Ad::new(Cpu);
    let mut model = MnistModel::Mlp
        .build(&ad, &mut Rng::seed(cfg.seed))
        .unwrap();
    train::train(&mut model, data, data, cfg, &mut |_| {}).unwrap();
    model
}

fn small_cfg() -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch_size: 32,
        lr: 3e-3,
        ..TrainConfig::default()
    }
}

#[test]
fn same_seed_gives_the_same_weights_bit_for_bit() {
    let data = synthetic(256, 1);
    let cfg = small_cfg();
    let a = params_bits(&train_small(&cfg, &data));
    let b = params_bits(&train_small(&cfg, &data));
    assert_eq!(a, b);
    let other = params_bits(&train_small(&TrainConfig { seed: 7, ..cfg }, &data));
    assert_ne!(a, other, "a different seed must give different weights");
}

#[test]
fn thread_count_does_not_change_the_bits_for_a_fixed_shard_count() {
    let data = synthetic(200, 2);
    let base = TrainConfig {
        shards: 3,
        ..small_cfg()
    };
    let one = params_bits(&train_small(
        &TrainConfig {
            threads: 1,
            ..base.clone()
        },
        &data,
    ));
    let three = params_bits(&train_small(&TrainConfig { threads: 3, ..base }, &data));
    assert_eq!(one, three);
}

#[test]
fn training_learns_the_synthetic_task() {
    let data = synthetic(512, 3);
    let test = synthetic(256, 4);
    let ad = Ad::new(Cpu);
    let mut model = MnistModel::Mlp.build(&ad, &mut Rng::seed(0)).unwrap();
    let h = train::train(
        &mut model,
        &data,
        &test,
        &TrainConfig {
            epochs: 3,
            ..small_cfg()
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(h[2].train_loss < h[0].train_loss, "{h:?}");
    assert!(h[2].test_accuracy > 0.9, "{h:?}");
}

#[test]
fn nan_loss_stops_and_keeps_the_last_good_checkpoint() {
    let dir = std::env::temp_dir().join(format!("born-nan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("model.safetensors");
    let data = synthetic(128, 5);
    let cfg = TrainConfig {
        epochs: 3,
        batch_size: 32,
        checkpoint: Some(ckpt.clone()),
        ..TrainConfig::default()
    };
    let ad = Ad::new(Cpu);
    let mut model = MnistModel::Mlp.build(&ad, &mut Rng::seed(0)).unwrap();
    let mut opt = Adam::new(1e-3).unwrap();
    // A sane rate for the first epoch, then one that blows the weights up.
    let lr_at = |s: usize| if s < 4 { 1e-3 } else { 1e30 };
    let err = fit(
        &mut model,
        &data,
        &data,
        &cfg,
        &mut opt,
        &lr_at,
        &mut |_| {},
    )
    .unwrap_err();
    match &err {
        Error::NonFiniteLoss {
            epoch: 2,
            checkpoint: Some(p),
            loss,
            ..
        } => {
            assert_eq!(p, &ckpt);
            assert!(!loss.is_finite());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("last good checkpoint kept at"),
        "{err}"
    );

    // The checkpoint is the model after epoch 1: train one epoch anew and compare bits.
    let mut reference = MnistModel::Mlp.build(&ad, &mut Rng::seed(0)).unwrap();
    let mut opt = Adam::new(1e-3).unwrap();
    let one = TrainConfig {
        epochs: 1,
        checkpoint: None,
        ..cfg
    };
    fit(
        &mut reference,
        &data,
        &data,
        &one,
        &mut opt,
        &lr_at,
        &mut |_| {},
    )
    .unwrap();
    let mut restored = MnistModel::Mlp.build(&ad, &mut Rng::seed(9)).unwrap();
    born_std::checkpoint::load(&ad, &mut restored, &ckpt).unwrap();
    assert_eq!(params_bits(&restored), params_bits(&reference));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn inconsistent_data_and_settings_are_errors() {
    let mut data = synthetic(64, 6);
    data.labels.truncate(40);
    let ad = Ad::new(Cpu);
    let mut model = MnistModel::Mlp.build(&ad, &mut Rng::seed(0)).unwrap();
    let err = train::train(&mut model, &data, &data, &small_cfg(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref m) if m.contains("label")),
        "{err}"
    );

    let data = synthetic(64, 6);
    for bad in [
        TrainConfig {
            batch_size: 0,
            ..small_cfg()
        },
        TrainConfig {
            shards: 0,
            ..small_cfg()
        },
    ] {
        let err = train::train(&mut model, &data, &data, &bad, &mut |_| {}).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
    }
    let err = train::train(
        &mut model,
        &data,
        &data,
        &TrainConfig {
            lr: -1.0,
            ..small_cfg()
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::Core(_)), "{err}");
}

#[test]
fn exported_model_takes_image_and_gives_logits_like_the_eager_model() {
    let ad = Ad::new(Cpu);
    let model = MnistModel::Cnn.build(&ad, &mut Rng::seed(3)).unwrap();
    let g = train::classifier_graph(&model, &ad, "cnn").unwrap();
    let (bytes, _) = born_std::export::encode_planned(&g).unwrap();
    let aligned = born_std::core::model::graph::AlignedBytes::from_slice(&bytes);
    let m = born_std::core::Model::from_bytes(&aligned).unwrap();
    let mut arena = vec![0u8; born_std::core::Interpreter::arena_len(&m).unwrap()];
    let mut it = born_std::core::Interpreter::new(&m, &mut arena).unwrap();
    let data = synthetic(1, 8);
    it.input_by_name::<f32>("image")
        .unwrap()
        .copy_from_slice(&data.images);
    it.invoke().unwrap();
    let x = ad
        .constant(&born_std::core::Tensor::from_vec(data.images.clone(), &[1, 1, 28, 28]).unwrap())
        .unwrap();
    let eager = model.forward(&ad.no_grad(), &x).unwrap();
    let out: &[f32] = it.output(0).unwrap();
    assert_eq!(out, eager.value().data());
    assert_eq!(m.output_index("logits"), Some(0));
    assert_eq!(m.input_index("image"), Some(0));
}

/// The MLP 784-128-10 reaches 97.5% on the 10,000 MNIST test images (the data directory
/// must exist; CI has it).
#[test]
fn mnist_mlp_reaches_97_5_percent() {
    let Some(dir) = data::data_dir().filter(|d| d.join("mnist").exists()) else {
        eprintln!("skipped: no MNIST in the data directory (set BORN_DATA)");
        return;
    };
    let train_set = data::load_mnist(&dir, Split::Train).unwrap();
    let test_set = data::load_mnist(&dir, Split::Test).unwrap();
    let cfg = TrainConfig {
        epochs: 10,
        threads: 2,
        shards: 2,
        ..TrainConfig::default()
    };
    let ad = Ad::new(Cpu);
    let mut model = MnistModel::Mlp.build(&ad, &mut Rng::seed(0)).unwrap();
    let h = train::train(&mut model, &train_set, &test_set, &cfg, &mut |_| {}).unwrap();
    let acc = h.last().unwrap().test_accuracy;
    eprintln!("MNIST MLP: {h:?}");
    assert!(acc >= 0.975, "test accuracy {acc}");
    // The exported model agrees with the training loop's evaluation.
    let g = train::classifier_graph(&model, &ad, "mlp").unwrap();
    let (bytes, _) = born_std::export::encode_planned(&g).unwrap();
    let e = train::evaluate_born(&bytes, &test_set).unwrap();
    assert!((e.accuracy - acc).abs() < 1e-3, "{} vs {acc}", e.accuracy);
    let _ = Cpu.name();
}
