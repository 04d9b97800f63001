//! The training loop: seeded shuffling, data-parallel gradient shards, evaluation.

use super::{Ad, EpochStats, Event, TrainConfig};
use crate::data::Mnist;
use crate::{Error, Result};
use born_core::backend::{Backend, Cpu};
use born_core::nn::Module;
use born_core::train::optim::{clip_grad_norm, Optimizer};
use born_core::train::{apply_grads, loss, param_grads, Autodiff};
use born_core::{Rng, Tensor};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// What one shard of a batch contributes.
struct ShardResult {
    rows: usize,
    loss: f32,
    correct: usize,
    grads: Vec<Option<Tensor<f32>>>,
}

/// Images `order[range]` of `data` as `[n, 1, 28, 28]` plus their labels.
fn gather(data: &Mnist, order: &[usize]) -> Result<(Tensor<f32>, Tensor<i32>)> {
    let mut x = Vec::with_capacity(order.len() * Mnist::PIXELS);
    let mut y = Vec::with_capacity(order.len());
    for &i in order {
        let img = data
            .image(i)
            .ok_or_else(|| Error::Invalid(format!("image {i} out of range")))?;
        x.extend_from_slice(img);
        let label = data
            .labels
            .get(i)
            .ok_or_else(|| Error::Invalid(format!("label {i} out of range")))?;
        y.push(i32::from(*label));
    }
    Ok((
        Tensor::from_vec(x, &[order.len(), 1, Mnist::SIDE, Mnist::SIDE])?,
        Tensor::from_vec(y, &[order.len()])?,
    ))
}

/// Rows whose largest logit (first on ties) is the label.
fn count_correct(logits: &Tensor<f32>, labels: &Tensor<i32>) -> Result<usize> {
    let pred = Cpu.argmax(logits, 1)?;
    Ok(pred
        .data()
        .iter()
        .zip(labels.data())
        .filter(|(p, l)| p == l)
        .count())
}

/// Forward and backward pass of one shard.
fn shard<M: Module<Ad> + ?Sized>(
    model: &M,
    data: &Mnist,
    order: &[usize],
    rng: &mut Rng,
) -> Result<ShardResult> {
    let ad = Autodiff::new(Cpu);
    let (x, labels) = gather(data, order)?;
    let x = ad.constant(&x)?;
    let logits = model.forward_train(&ad, &x, rng)?;
    let l = loss::cross_entropy(&ad, &logits, &labels)?;
    let grads = ad.backward(&l)?;
    Ok(ShardResult {
        rows: order.len(),
        loss: l.value().data().first().copied().unwrap_or(f32::NAN),
        correct: count_correct(logits.value(), &labels)?,
        grads: param_grads(model, &grads),
    })
}

/// `sum_s grads_s * rows_s / rows`, shard by shard in order (the same bits whatever thread
/// ran each shard).
fn combine(parts: &[ShardResult], rows: usize) -> Vec<Option<Tensor<f32>>> {
    let n = parts.first().map_or(0, |p| p.grads.len());
    (0..n)
        .map(|k| {
            let mut acc: Option<Tensor<f32>> = None;
            for p in parts {
                let Some(Some(g)) = p.grads.get(k) else {
                    continue;
                };
                let w = p.rows as f32 / rows as f32;
                match &mut acc {
                    None => {
                        let mut t = g.clone();
                        t.data_mut().iter_mut().for_each(|v| *v *= w);
                        acc = Some(t);
                    }
                    Some(a) => {
                        for (a, &v) in a.data_mut().iter_mut().zip(g.data()) {
                            *a += v * w;
                        }
                    }
                }
            }
            acc
        })
        .collect()
}

/// Accuracy and mean cross-entropy of `model` on `data`, in fixed chunks of 500 images
/// spread over the pool's threads (the same result whatever the thread count).
pub fn evaluate<M: Module<Ad> + Sync + ?Sized>(
    model: &M,
    data: &Mnist,
    pool: &rayon::ThreadPool,
) -> Result<(f32, f32)> {
    const CHUNK: usize = 500;
    let order: Vec<usize> = (0..data.len).collect();
    let parts: Vec<Result<(usize, f32)>> = pool.install(|| {
        order
            .par_chunks(CHUNK)
            .map(|idx| {
                let eval = Autodiff::new(Cpu).no_grad();
                let (x, labels) = gather(data, idx)?;
                let logits = model.forward(&eval, &eval.constant(&x)?)?;
                let l = loss::cross_entropy(&eval, &logits, &labels)?;
                let l = l.value().data().first().copied().unwrap_or(f32::NAN);
                Ok((
                    count_correct(logits.value(), &labels)?,
                    l * idx.len() as f32,
                ))
            })
            .collect()
    });
    let (mut correct, mut total) = (0usize, 0.0f32);
    for p in parts {
        let (c, l) = p?;
        correct += c;
        total += l;
    }
    let n = data.len.max(1) as f32;
    Ok((correct as f32 / n, total / n))
}

/// A rayon pool of `threads` threads (at least one).
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Invalid(format!("thread pool: {e}")))
}

/// Trains `model` on `train` with `opt`, evaluating on `test` after every epoch.
///
/// Each epoch shuffles the training set with a generator seeded from `cfg.seed` and walks it
/// in batches of `cfg.batch_size` (the last one may be smaller). A batch is cut into
/// `cfg.shards` contiguous shards whose gradients are computed in parallel on `cfg.threads`
/// threads and summed in shard order, so a given seed and shard count give the same bits
/// whatever the thread count. The learning rate of step `s` (counted from 0 over the whole
/// run) is `lr_at(s)`. After each epoch the model is saved to `cfg.checkpoint`, if set.
///
/// A non-finite loss stops training before the update it would cause, with
/// [`Error::NonFiniteLoss`] naming the step and the last checkpoint written; the model keeps
/// the parameters of the last good step.
pub fn fit<M: Module<Ad> + Sync + ?Sized>(
    model: &mut M,
    train: &Mnist,
    test: &Mnist,
    cfg: &TrainConfig,
    opt: &mut dyn Optimizer,
    lr_at: &dyn Fn(usize) -> f32,
    observer: &mut dyn FnMut(&Event),
) -> Result<Vec<EpochStats>> {
    if cfg.batch_size == 0 || cfg.shards == 0 || cfg.epochs == 0 {
        return Err(Error::Invalid(
            "epochs, batch size and shard count must be at least 1".into(),
        ));
    }
    if train.len == 0 {
        return Err(Error::Invalid("the training set is empty".into()));
    }
    let pool = thread_pool(cfg.threads)?;
    let mut rng = Rng::seed(cfg.seed);
    let mut order: Vec<usize> = (0..train.len).collect();
    let steps_per_epoch = train.len.div_ceil(cfg.batch_size);
    let mut history = Vec::new();
    let mut last_checkpoint: Option<PathBuf> = None;
    let mut step = 0usize;
    for epoch in 1..=cfg.epochs {
        rng.shuffle(&mut order);
        let start = Instant::now();
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        for (b, batch) in order.chunks(cfg.batch_size).enumerate() {
            let shard_len = batch.len().div_ceil(cfg.shards);
            let mut rngs: Vec<Rng> = (0..batch.len().div_ceil(shard_len))
                .map(|s| Rng::seed(cfg.seed ^ ((step as u64) << 20) ^ (s as u64 + 1)))
                .collect();
            let model_ref: &M = model;
            let parts: Vec<Result<ShardResult>> = pool.install(|| {
                batch
                    .par_chunks(shard_len)
                    .zip(rngs.par_iter_mut())
                    .map(|(idx, r)| shard(model_ref, train, idx, r))
                    .collect()
            });
            let parts = parts.into_iter().collect::<Result<Vec<_>>>()?;
            let rows = batch.len();
            let batch_loss: f32 =
                parts.iter().map(|p| p.loss * p.rows as f32).sum::<f32>() / rows as f32;
            if !batch_loss.is_finite() {
                return Err(Error::NonFiniteLoss {
                    epoch,
                    step: b + 1,
                    loss: batch_loss,
                    checkpoint: last_checkpoint,
                });
            }
            let mut grads = combine(&parts, rows);
            if let Some(max) = cfg.clip_norm {
                let mut slices: Vec<&mut [f32]> =
                    grads.iter_mut().flatten().map(|g| g.data_mut()).collect();
                clip_grad_norm(&mut slices, max)?;
            }
            opt.set_learning_rate(lr_at(step));
            apply_grads(model, &grads, opt)?;
            step += 1;
            loss_sum += f64::from(batch_loss) * rows as f64;
            correct += parts.iter().map(|p| p.correct).sum::<usize>();
            seen += rows;
            observer(&Event::Step {
                epoch,
                step: b + 1,
                steps: steps_per_epoch,
                loss: (loss_sum / seen as f64) as f32,
                accuracy: correct as f32 / seen as f32,
            });
        }
        let seconds = start.elapsed().as_secs_f32();
        let (test_accuracy, test_loss) = evaluate(model, test, &pool)?;
        let stats = EpochStats {
            epoch,
            train_loss: (loss_sum / seen.max(1) as f64) as f32,
            train_accuracy: correct as f32 / seen.max(1) as f32,
            test_loss,
            test_accuracy,
            seconds,
        };
        if let Some(path) = &cfg.checkpoint {
            crate::checkpoint::save(&Autodiff::new(Cpu), model, path)?;
            last_checkpoint = Some(path.clone());
        }
        observer(&Event::Epoch(stats));
        history.push(stats);
    }
    Ok(history)
}
