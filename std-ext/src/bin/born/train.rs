//! `born train`: trains an MNIST or Fashion-MNIST classifier and exports it to `.born`.

use anyhow::{bail, Context, Result};
use born_std::core::backend::Cpu;
use born_std::core::train::Autodiff;
use born_std::core::Rng;
use born_std::data::{self, Mnist, Split};
use born_std::train::{
    self, EpochStats, Event, MnistModel, OptimizerKind, ScheduleKind, TrainConfig,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// What `born train` was asked to do.
pub struct Args {
    pub dataset: String,
    pub model: MnistModel,
    pub cfg: TrainConfig,
    pub data: Option<PathBuf>,
    pub out: PathBuf,
    pub int8: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub plot: Option<PathBuf>,
}

/// Parses `adam`, `adamw`, `sgd` (with the momentum flags) into an optimizer kind.
pub fn optimizer_kind(name: &str, momentum: f32, nesterov: bool) -> Result<OptimizerKind> {
    Ok(match name {
        "adam" => OptimizerKind::Adam,
        "adamw" => OptimizerKind::AdamW,
        "sgd" => OptimizerKind::Sgd { momentum, nesterov },
        _ => bail!("unknown optimizer {name:?} (expected adam, adamw or sgd)"),
    })
}

/// Parses `cosine`, `constant`, `step` into a schedule kind.
pub fn schedule_kind(name: &str, step_epochs: usize, gamma: f32) -> Result<ScheduleKind> {
    Ok(match name {
        "cosine" => ScheduleKind::Cosine,
        "constant" => ScheduleKind::Constant,
        "step" => ScheduleKind::Step {
            epochs: step_epochs,
            gamma,
        },
        _ => bail!("unknown schedule {name:?} (expected cosine, constant or step)"),
    })
}

/// The data directory from `--data`, else `BORN_DATA` or `../shared/data`.
pub fn data_dir(flag: Option<&Path>) -> Result<PathBuf> {
    match flag {
        Some(d) => Ok(d.to_path_buf()),
        None => data::data_dir().context(
            "no data directory: pass --data DIR or set BORN_DATA (it must hold \
             mnist/ and fashion-mnist/ with the IDX files)",
        ),
    }
}

/// Training and test sets of `dataset` (`mnist` or `fashion`).
pub fn load(dataset: &str, dir: &Path) -> Result<(Mnist, Mnist)> {
    let loader = match dataset {
        "mnist" => data::load_mnist,
        "fashion" | "fashion-mnist" => data::load_fashion_mnist,
        _ => bail!("unknown data set {dataset:?} (expected mnist or fashion)"),
    };
    Ok((loader(dir, Split::Train)?, loader(dir, Split::Test)?))
}

/// A progress observer drawing one bar per epoch, with running loss and accuracy.
pub fn progress_observer(epochs: usize) -> impl FnMut(&Event) {
    let mut bar: Option<ProgressBar> = None;
    move |e: &Event| match *e {
        Event::Step {
            epoch,
            step,
            steps,
            loss,
            accuracy,
        } => {
            let b = bar.get_or_insert_with(|| {
                let b = ProgressBar::new(steps as u64);
                if let Ok(style) = ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
                ) {
                    b.set_style(style.progress_chars("=> "));
                }
                b.set_prefix(format!("epoch {epoch}/{epochs}"));
                b
            });
            b.set_position(step as u64);
            if step % 20 == 0 || step == steps {
                b.set_message(format!("loss {loss:.4} acc {:.2}%", accuracy * 100.0));
            }
        }
        Event::Epoch(s) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            println!(
                "epoch {}/{epochs}: train loss {:.4}, train acc {:.2}%, test loss {:.4}, test acc {:.2}% ({:.1} s)",
                s.epoch,
                s.train_loss,
                s.train_accuracy * 100.0,
                s.test_loss,
                s.test_accuracy * 100.0,
                s.seconds
            );
        }
    }
}

/// The summary JSON `scripts/compare_torch.py` reads.
pub fn summary_json(dataset: &str, model: MnistModel, threads: usize, h: &[EpochStats]) -> String {
    let epochs: Vec<serde_json::Value> = h
        .iter()
        .map(|s| {
            serde_json::json!({
                "epoch": s.epoch,
                "train_loss": s.train_loss,
                "train_accuracy": s.train_accuracy,
                "test_loss": s.test_loss,
                "test_accuracy": s.test_accuracy,
                "seconds": s.seconds,
            })
        })
        .collect();
    serde_json::json!({
        "dataset": dataset,
        "model": model.name(),
        "threads": threads,
        "epochs": epochs,
        "train_seconds": h.iter().map(|s| f64::from(s.seconds)).sum::<f64>(),
        "test_accuracy": h.last().map_or(0.0, |s| s.test_accuracy),
    })
    .to_string()
}

/// Fails unless `path` (given as `flag`) can be written: creates its folder, and opens the
/// file for writing without truncating it (a file created for the test is removed again).
fn check_writable(flag: &str, path: &Path) -> Result<()> {
    let fail = |why: &str| format!("{flag} {}: {why}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| fail(&format!("cannot create the folder {}", dir.display())))?;
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| fail("cannot write the file"))?;
    if !existed {
        std::fs::remove_file(path).with_context(|| fail("cannot remove the test file"))?;
    }
    Ok(())
}

/// Trains, then writes the model and whatever else was asked for. Every output location is
/// checked before the data is loaded, so an unwritable path fails at once.
pub fn run(a: Args) -> Result<()> {
    let outputs = [
        ("--out", Some(&a.out)),
        ("--checkpoint", a.cfg.checkpoint.as_ref()),
        ("--int8", a.int8.as_ref()),
        ("--summary", a.summary.as_ref()),
        ("--plot", a.plot.as_ref()),
    ];
    for (flag, path) in outputs {
        if let Some(path) = path {
            check_writable(flag, path)?;
        }
    }
    let dir = data_dir(a.data.as_deref())?;
    let (train_set, test_set) = load(&a.dataset, &dir)?;
    let ad = Autodiff::new(Cpu);
    let mut rng = Rng::seed(a.cfg.seed);
    let mut model = a.model.build(&ad, &mut rng)?;
    if let Some(path) = &a.resume {
        born_std::checkpoint::load(&ad, &mut model, path).context("resuming (--resume)")?;
        println!("resumed from {}", path.display());
    }
    println!(
        "training {} on {} ({} images, {} test): {} epochs, batch {}, lr {}, {:?}, {:?}, {} thread(s), {} shard(s), seed {}",
        a.model.name(),
        a.dataset,
        train_set.len,
        test_set.len,
        a.cfg.epochs,
        a.cfg.batch_size,
        a.cfg.lr,
        a.cfg.optimizer,
        a.cfg.schedule,
        a.cfg.threads,
        a.cfg.shards,
        a.cfg.seed
    );
    let history = train::train(
        &mut model,
        &train_set,
        &test_set,
        &a.cfg,
        &mut progress_observer(a.cfg.epochs),
    )?;
    let g = train::classifier_graph(&model, &ad, &format!("{}-{}", a.dataset, a.model.name()))?;
    let (bytes, plan) = born_std::export::encode_planned(&g)?;
    born_std::export::write_model(&a.out, &bytes)?;
    println!(
        "wrote {} ({} bytes, arena {} bytes)",
        a.out.display(),
        bytes.len(),
        plan.arena_len
    );
    if let Some(path) = &a.int8 {
        let [_, (qbytes, qplan)] = train::export_f32_and_int8(&g, &train_set, 1000)?;
        born_std::export::write_model(path, &qbytes)?;
        println!(
            "wrote {} ({} bytes, arena {} bytes)",
            path.display(),
            qbytes.len(),
            qplan.arena_len
        );
    }
    if let Some(path) = &a.summary {
        let json = summary_json(&a.dataset, a.model, a.cfg.threads, &history);
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &a.plot {
        write_plot(path, &format!("{} {}", a.dataset, a.model.name()), &history)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Loss and accuracy per epoch as a PNG.
pub fn write_plot(path: &Path, title: &str, h: &[EpochStats]) -> Result<()> {
    let loss: Vec<f32> = h.iter().map(|s| s.train_loss).collect();
    let train_acc: Vec<f32> = h.iter().map(|s| s.train_accuracy).collect();
    let test_acc: Vec<f32> = h.iter().map(|s| s.test_accuracy).collect();
    born_std::plot::plot_training(path, title, &loss, &train_acc, &test_acc)?;
    Ok(())
}
