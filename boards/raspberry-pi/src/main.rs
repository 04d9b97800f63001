//! `born-pi MODEL.born [IMAGES] [--logits] [--bench N]`: one predicted class per line.

use anyhow::{bail, Context, Result};
use born_core::Model;
use born_pi::{argmax, parse_images, Latency, Session};
use clap::Parser;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Classifies images with a .born model (born-core's interpreter; NEON kernels on aarch64)
/// and prints one predicted class per line.
#[derive(Parser, Debug)]
#[command(name = "born-pi", version)]
struct Args {
    /// The model (.born), e.g. an MNIST MLP or CNN from `born train` / `born quantize`.
    model: PathBuf,
    /// Images: an .npy of f32 (used as is) or u8 (scaled by 1/255), shape [N,1,28,28],
    /// [N,784] or [N,28,28]; or raw u8 pixels, N*784 bytes, scaled by 1/255. `-` or
    /// nothing reads standard input.
    images: Option<PathBuf>,
    /// Print each image's logits after its class: `CLASS L0 L1 ...`.
    #[arg(long)]
    logits: bool,
    /// Also time N invokes (after one warm-up, cycling over the images) and print the
    /// per-inference latency to standard error.
    #[arg(long, value_name = "N")]
    bench: Option<usize>,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("born-pi: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let bytes = born_std::export::read_model(&args.model)
        .with_context(|| format!("cannot read the model {}", args.model.display()))?;
    let model = Model::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid .born model", args.model.display()))?;
    let mut arena = vec![0u8; Session::arena_len(&model)?];
    let mut session =
        Session::new(&model, &mut arena).with_context(|| args.model.display().to_string())?;

    let (input, what) = match args.images.as_deref() {
        None => (read_stdin()?, "standard input".to_string()),
        Some(p) if p.as_os_str() == "-" => (read_stdin()?, "standard input".to_string()),
        Some(p) => (
            std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
            p.display().to_string(),
        ),
    };
    let images = parse_images(&input, session.shape(), &what)?;
    let logits = session.run_all(&images)?;

    let mut out = BufWriter::new(std::io::stdout().lock());
    for l in &logits {
        write!(out, "{}", argmax(l))?;
        if args.logits {
            for x in l {
                write!(out, " {x}")?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;

    if let Some(n) = args.bench {
        if n == 0 {
            bail!("--bench needs at least 1 invoke");
        }
        bench(&mut session, &images, n)?;
    }
    Ok(())
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut v = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut v)
        .context("cannot read standard input")?;
    Ok(v)
}

fn bench(session: &mut Session<'_, '_>, images: &born_pi::Images, n: usize) -> Result<()> {
    let batch = session.shape().batch;
    let batches = images.n.div_ceil(batch);
    session.run_batch(images, 0)?;
    let mut micros = Vec::with_capacity(n);
    for i in 0..n {
        let first = (i % batches) * batch;
        let t = Instant::now();
        session.run_batch(images, first)?;
        micros.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let total: f64 = micros.iter().sum();
    let Some(l) = Latency::of(&mut micros) else {
        bail!("no timings");
    };
    let per_image = if batch > 1 {
        format!(" ({:.1} us per image)", l.mean / batch as f64)
    } else {
        String::new()
    };
    eprintln!(
        "bench: {n} invokes of batch {batch}: mean {:.1} us{per_image}, min {:.1}, p50 {:.1}, \
         p90 {:.1}, p99 {:.1}, max {:.1} us; {:.0} images/s",
        l.mean,
        l.min,
        l.p50,
        l.p90,
        l.p99,
        l.max,
        (n * batch) as f64 / (total / 1e6)
    );
    Ok(())
}
