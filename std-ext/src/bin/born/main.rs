//! `born`: inspect, run, quantize and benchmark `.born` models.

mod bench;
mod inspect;
mod io;
mod quantize;
mod run;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "born",
    version,
    about = "Inspect, run, quantize and benchmark .born models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        /// Threads that run chunks concurrently (results are the same for any count).
        #[arg(long, default_value_t = 1)]
        threads: usize,
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
    },
    /// Latency percentiles and throughput of `invoke`.
    Bench {
        /// The model file.
        model: PathBuf,
        /// Threads, each with its own interpreter on the shared model.
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { model } => inspect::run(&model),
        Command::Run {
            model,
            input,
            output,
            threads,
        } => run::run(&model, &input, &output, threads),
        Command::Quantize {
            model,
            calibration,
            output,
            method,
            percentile,
        } => quantize::run(&model, &calibration, &output, &method, percentile),
        Command::Bench {
            model,
            threads,
            iters,
            warmup,
        } => bench::run(&model, threads, iters, warmup),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("born: {e:#}");
            ExitCode::FAILURE
        }
    }
}
