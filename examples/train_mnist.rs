//! Trains an MNIST classifier with born-std's library API and deploys it: the same code path
//! as `born train`, in a few lines.
//!
//! ```text
//! BORN_DATA=../shared/data cargo run --release -p born-examples --example train_mnist -- mlp 5
//! ```
//! Arguments: model (`mlp` or `cnn`, default `mlp`), epochs (default 5), output `.born` file
//! (default `target/mnist.born`).

use born_core::backend::Cpu;
use born_core::train::Autodiff;
use born_core::Rng;
use born_std::data::{self, Split};
use born_std::train::{self, Event, MnistModel, TrainConfig};
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind: MnistModel = args.first().map_or("mlp", String::as_str).parse()?;
    let epochs: usize = args.get(1).map_or(Ok(5), |s| s.parse())?;
    let out = args.get(2).map_or("target/mnist.born", String::as_str);

    let dir = data::data_dir().ok_or("no data directory: set BORN_DATA")?;
    let train_set = data::load_mnist(&dir, Split::Train)?;
    let test_set = data::load_mnist(&dir, Split::Test)?;

    let threads = std::thread::available_parallelism()?.get();
    let cfg = TrainConfig {
        epochs,
        threads,
        shards: threads,
        ..TrainConfig::default()
    };
    let ad = Autodiff::new(Cpu);
    let mut model = kind.build(&ad, &mut Rng::seed(cfg.seed))?;
    let history = train::train(&mut model, &train_set, &test_set, &cfg, &mut |e| {
        if let Event::Epoch(s) = e {
            println!(
                "epoch {}: loss {:.4}, test accuracy {:.2}% ({:.1} s)",
                s.epoch,
                s.train_loss,
                s.test_accuracy * 100.0,
                s.seconds
            );
        }
    })?;

    // The trained modules export as they are: research code = production code.
    let g = train::classifier_graph(&model, &ad, "mnist")?;
    let (bytes, plan) = born_std::export::encode_planned(&g)?;
    born_std::export::write_model(out.as_ref(), &bytes)?;
    let eval = train::evaluate_born(&bytes, &test_set)?;
    println!(
        "{out}: {} bytes, arena {} bytes; interpreter accuracy {:.2}% (training loop said {:.2}%), {:.1} us per image",
        bytes.len(),
        plan.arena_len,
        eval.accuracy * 100.0,
        history.last().map_or(0.0, |s| s.test_accuracy) * 100.0,
        eval.micros
    );
    Ok(())
}
