//! `born`: train, convert, inspect, run, quantize and benchmark `.born` models.

mod bench;
mod convert;
mod demo;
mod inspect;
mod io;
mod quantize;
mod run;
mod threads;
mod train;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "born",
    version,
    about = "Train, convert, inspect, run, quantize and benchmark .born models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Trains the MNIST CNN (or reuses its checkpoint), exports f32 and int8 .born files,
    /// and compares them on the 10,000 test images; writes a loss/accuracy plot.
    Demo {
        /// Data directory holding mnist/ (default: BORN_DATA, else ../shared/data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Where the checkpoint, models and plot go.
        #[arg(long, default_value = "target/born-demo")]
        out_dir: PathBuf,
        /// Training epochs.
        #[arg(long, default_value_t = 4)]
        epochs: usize,
        /// Worker threads, 0 = all available cores. Also the number of gradient shards.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Train again even if a checkpoint exists.
        #[arg(long)]
        retrain: bool,
        /// Exit non-zero unless f32 reaches 99.0% and int8 stays within 0.5 points of it.
        #[arg(long)]
        check: bool,
    },
    /// Trains an MNIST or Fashion-MNIST classifier and exports it to .born.
    Train(Box<TrainCli>),
    /// Converts an ONNX model to .born (optionally quantized to int8); prints the
    /// converter's notes and a summary.
    Convert(Box<convert::Args>),
    /// Ops, shapes, parameters, weight bytes and arena bytes of a model.
    Inspect {
        /// The model file.
        model: PathBuf,
    },
    /// Runs a model on NumPy inputs and writes NumPy outputs. An input whose leading (batch)
    /// dimension is larger than the model's is run in chunks and the outputs are stacked.
    Run {
        /// The model file.
        model: PathBuf,
        /// An input: `x.npy` (graph inputs in order) or `name=x.npy`. Repeat for several.
        #[arg(long, short, required = true)]
        input: Vec<String>,
        /// Output file; repeat for several graph outputs (one given with several outputs
        /// writes `name.K.npy` for output K).
        #[arg(long, short, required = true)]
        output: Vec<PathBuf>,
        /// Threads that run chunks concurrently, 0 = all available cores (results are the
        /// same for any count).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Convert inputs whose element type differs from the model input's (uint8, int64,
        /// float64... to float32; int64 to int32). Values are converted, not rescaled.
        #[arg(long)]
        cast: bool,
    },
    /// Post-training int8 quantization, calibrated on representative inputs.
    Quantize {
        /// The f32 model file.
        model: PathBuf,
        /// Representative inputs for graph input 0, stacked along the batch axis.
        #[arg(long)]
        calibration: PathBuf,
        /// Where to write the int8 model.
        #[arg(long, short)]
        output: PathBuf,
        /// Range estimator: `minmax`, or `percentile` (clips the outer tails).
        #[arg(long, default_value = "minmax")]
        method: String,
        /// Central percentage kept by `--method percentile`.
        #[arg(long, default_value_t = 99.99)]
        percentile: f32,
        /// Keep calibration outliers (magnitudes over 100 times the 99th percentile of the
        /// nonzero magnitudes) instead of clipping them to the other values' range. NaN and
        /// infinite values are always an error.
        #[arg(long)]
        keep_outliers: bool,
        /// Convert calibration data of another element type (uint8, int64, float64, ...) to
        /// float32; the values are not rescaled.
        #[arg(long)]
        cast: bool,
    },
    /// Latency percentiles and throughput of `invoke`.
    Bench {
        /// The model file.
        model: PathBuf,
        /// Threads, each with its own interpreter on the shared model; 0 = all available
        /// cores.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Timed inferences per thread.
        #[arg(long, default_value_t = 1000)]
        iters: usize,
        /// Untimed inferences per thread first.
        #[arg(long, default_value_t = 50)]
        warmup: usize,
    },
}

/// The arguments of `born train`.
#[derive(clap::Args)]
struct TrainCli {
    /// `mnist` or `fashion`.
    dataset: String,
    /// `mlp` (784-128-10) or `cnn` (two conv + pool layers, two dense).
    #[arg(long, default_value = "cnn")]
    model: String,
    /// Passes over the 60,000 training images (default: 10 for mlp, 4 for cnn).
    #[arg(long)]
    epochs: Option<usize>,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Base learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    /// `adam`, `adamw` or `sgd`.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,
    /// SGD with Nesterov momentum.
    #[arg(long)]
    nesterov: bool,
    /// Weight decay (L2 for sgd/adam, decoupled for adamw).
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    /// `cosine` (to 0 over the run), `constant` or `step`.
    #[arg(long, default_value = "cosine")]
    schedule: String,
    /// Epochs between decays of `--schedule step`.
    #[arg(long, default_value_t = 1)]
    step_epochs: usize,
    /// Decay factor of `--schedule step`.
    #[arg(long, default_value_t = 0.5)]
    gamma: f32,
    /// Linear warmup steps (from lr/10).
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Clip the gradient norm to this value.
    #[arg(long)]
    clip: Option<f32>,
    /// Seed of initialisation, shuffling and dropout.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads, 0 = all available cores.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Gradient shards per batch (default: the thread count). The trained bits depend
    /// on the seed and the shard count only.
    #[arg(long)]
    shards: Option<usize>,
    /// Data directory holding mnist/ and fashion-mnist/ (default: BORN_DATA, else
    /// ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The f32 model to write.
    #[arg(long, short, default_value = "model.born")]
    out: PathBuf,
    /// Also write an int8 model here (calibrated on 1,000 training images).
    #[arg(long)]
    int8: Option<PathBuf>,
    /// safetensors checkpoint written after every epoch (default: OUT with extension
    /// .safetensors).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Start from this safetensors checkpoint.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Write per-epoch results as JSON here.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Write a PNG plot of loss and accuracy per epoch here.
    #[arg(long)]
    plot: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo {
            data,
            out_dir,
            epochs,
            threads,
            retrain,
            check,
        } => threads::resolve(threads).and_then(|threads| {
            demo::run(demo::Args {
                data,
                out_dir,
                epochs,
                threads,
                retrain,
                check,
            })
        }),
        Command::Train(t) => (|| {
            let TrainCli {
                dataset,
                model,
                epochs,
                batch,
                lr,
                optimizer,
                momentum,
                nesterov,
                weight_decay,
                schedule,
                step_epochs,
                gamma,
                warmup,
                clip,
                seed,
                threads,
                shards,
                data,
                out,
                int8,
                checkpoint,
                resume,
                summary,
                plot,
            } = *t;
            let threads = threads::resolve(threads)?;
            let model: born_std::train::MnistModel = model.parse().map_err(anyhow::Error::msg)?;
            let cfg = born_std::train::TrainConfig {
                epochs: epochs.unwrap_or(model.default_epochs()),
                batch_size: batch,
                lr,
                weight_decay,
                optimizer: train::optimizer_kind(&optimizer, momentum, nesterov)?,
                schedule: train::schedule_kind(&schedule, step_epochs, gamma)?,
                warmup_steps: warmup,
                clip_norm: clip,
                seed,
                threads,
                shards: shards.unwrap_or(threads),
                checkpoint: Some(checkpoint.unwrap_or_else(|| out.with_extension("safetensors"))),
            };
            train::run(train::Args {
                dataset,
                model,
                cfg,
                data,
                out,
                int8,
                resume,
                summary,
                plot,
            })
        })(),
        Command::Convert(a) => convert::run(&a),
        Command::Inspect { model } => inspect::run(&model),
        Command::Run {
            model,
            input,
            output,
            threads,
            cast,
        } => threads::resolve(threads).and_then(|t| run::run(&model, &input, &output, t, cast)),
        Command::Quantize {
            model,
            calibration,
            output,
            method,
            percentile,
            keep_outliers,
            cast,
        } => quantize::run(
            &model,
            &calibration,
            &output,
            &method,
            percentile,
            keep_outliers,
            cast,
        ),
        Command::Bench {
            model,
            threads,
            iters,
            warmup,
        } => threads::resolve(threads).and_then(|t| bench::run(&model, t, iters, warmup)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("born: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// `e` and its causes joined by ": ", each message once: a cause is left out when the
/// message before it already ends with it (as `"{path}: {source}"` errors do).
fn message(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let m = cause.to_string();
        if !parts.last().is_some_and(|last| last.ends_with(&m)) {
            parts.push(m);
        }
    }
    parts.join(": ")
}
