//! Batch-1, one-thread latency of ONNX models in born and in tract, on the same input, after
//! checking that the two runtimes' outputs agree.
//!
//! ```text
//! born-onnx-bench [--iters N] [--warmup W] [--rounds R] [--round-ms MS] [--out-dir DIR]
//!     MODEL.onnx [--feed NAME=FILE.npy ...] [MODEL.onnx [--feed ...] ...]
//! ```
//!
//! For each model: every graph input `NAME` gets the first example (index 0 of the first
//! axis) of `FILE.npy` (by default `NAME.npy` beside the model), so its shape is the file's
//! with the first dimension set to 1. The model is converted by `born_std::onnx::convert`
//! with those shapes and run by born's interpreter; tract loads the same file with those
//! shapes as fixed input facts, `into_optimized()`, `into_runnable()`. The two outputs are
//! compared (worst `max |born - tract| / max |tract|` over the outputs, at most 1e-3 to
//! pass), then the two runtimes are timed in alternation: `R` rounds of `N` inferences each
//! (after `W` warm-up inferences each), the per-inference time of a round being its wall
//! time over `N`; the median over the rounds is reported. Without `--iters`, `N` is chosen
//! so that the slower runtime's round takes about `--round-ms` (default 1000). born's time
//! includes copying the inputs into its arena; tract's is one `SimpleState::run` on a state
//! spawned once, given the input tensors (shared, not copied).
//!
//! Both run on the calling thread. born's interpreter never spawns threads. tract runs
//! single-threaded unless a multithreaded executor is configured (its default executor is
//! `Executor::SingleThread`, and the `multithread-mm` feature of `tract-linalg` is off in this
//! build); the one tract operator that uses rayon's global pool regardless, the flash
//! attention kernel, is held to one thread by `TRACT_FLASH_SDPA_ST`, which this program
//! sets. The program checks it: it prints the process's CPU time over wall time during each
//! runtime's timed rounds, and its thread count.
//!
//! With `--out-dir`, born's first output is written to `DIR/<model>.born.npy` (as float32),
//! for comparison with a third runtime; `<model>` is the model's folder name when the file
//! is called `model.onnx`, else its file stem.
//!
//! The last line for each model starts with `RESULT` and holds `key=value` fields for
//! `scripts/bench_onnx.sh`; `NA` marks a runtime that could not load or run the model.
//! The exit status is 1 when any model failed to load or the outputs disagreed.

use anyhow::{anyhow, bail, Context, Result};
use born_std::core::dtype::DType;
use born_std::core::interp::Interpreter;
use born_std::core::model::graph::AlignedBytes;
use born_std::core::Model;
use born_std::npy::{read_npy, NpyData};
use born_std::onnx::{convert, Options};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tract_onnx::prelude::*;

/// Largest `max |born - tract| / max |tract|` counted as agreement.
const AGREE: f32 = 1e-3;

struct Settings {
    iters: Option<usize>,
    warmup: Option<usize>,
    rounds: usize,
    round_ms: f64,
    out_dir: Option<PathBuf>,
}

struct Spec {
    path: PathBuf,
    feeds: Vec<(String, PathBuf)>,
}

/// One graph input: name and the first example of its data, with shape `[1, ...]`.
struct Feed {
    name: String,
    shape: Vec<usize>,
    data: Data,
}

enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl Feed {
    fn le_bytes(&self) -> Vec<u8> {
        match &self.data {
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    fn tract_fact(&self) -> InferenceFact {
        let dt = match self.data {
            Data::F32(_) => f32::datum_type(),
            Data::I64(_) => i64::datum_type(),
        };
        InferenceFact::dt_shape(dt, self.shape.clone())
    }

    fn tract_tensor(&self) -> Result<Tensor> {
        Ok(match &self.data {
            Data::F32(v) => Tensor::from_shape(&self.shape, v.as_slice())?,
            Data::I64(v) => Tensor::from_shape(&self.shape, v.as_slice())?,
        })
    }

    fn describe(&self) -> String {
        let t = match self.data {
            Data::F32(_) => "float32",
            Data::I64(_) => "int64",
        };
        format!("{} {t} {:?}", self.name, self.shape)
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: born-onnx-bench [--iters N] [--warmup W] [--rounds R] [--round-ms MS] \
         [--out-dir DIR] MODEL.onnx [--feed NAME=FILE.npy ...] [MODEL.onnx ...]"
    );
    std::process::exit(2)
}

fn parse_args() -> Result<(Settings, Vec<Spec>)> {
    let mut s = Settings {
        iters: None,
        warmup: None,
        rounds: 5,
        round_ms: 1000.0,
        out_dir: None,
    };
    let mut specs: Vec<Spec> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--iters" => s.iters = Some(value().parse().context("--iters")?),
            "--warmup" => s.warmup = Some(value().parse().context("--warmup")?),
            "--rounds" => s.rounds = value().parse().context("--rounds")?,
            "--round-ms" => s.round_ms = value().parse().context("--round-ms")?,
            "--out-dir" => s.out_dir = Some(value().into()),
            "--feed" => {
                let v = value();
                let (name, file) = v.split_once('=').unwrap_or_else(|| usage());
                let spec = specs.last_mut().unwrap_or_else(|| usage());
                spec.feeds.push((name.to_string(), file.into()));
            }
            "-h" | "--help" => usage(),
            _ if a.starts_with("--") => usage(),
            _ => specs.push(Spec {
                path: a.into(),
                feeds: Vec::new(),
            }),
        }
    }
    if specs.is_empty() || s.rounds == 0 || s.iters == Some(0) {
        usage();
    }
    Ok((s, specs))
}

/// Names of the graph inputs that are not initializers, in graph order.
fn onnx_inputs(path: &Path) -> Result<Vec<String>> {
    use born_std::onnx::proto::ModelProto;
    use prost::Message;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let m = ModelProto::decode(bytes.as_slice()).context("decoding the ONNX protobuf")?;
    let g = m.graph.ok_or_else(|| anyhow!("the model has no graph"))?;
    let inits: Vec<&str> = g
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    Ok(g.input
        .iter()
        .filter_map(|v| v.name.clone())
        .filter(|n| !inits.contains(&n.as_str()))
        .collect())
}

fn load_feed(name: &str, file: &Path) -> Result<Feed> {
    let a = read_npy(file)?;
    let (&n, rest) = a
        .shape
        .split_first()
        .ok_or_else(|| anyhow!("{}: a 0-d array has no examples", file.display()))?;
    if n == 0 {
        bail!("{}: no examples", file.display());
    }
    let per: usize = rest.iter().product();
    let mut shape = vec![1];
    shape.extend_from_slice(rest);
    let data = match a.data {
        NpyData::F32(v) => Data::F32(v[..per].to_vec()),
        NpyData::I64(v) => Data::I64(v[..per].to_vec()),
        _ => bail!(
            "{}: only float32 and int64 inputs are handled",
            file.display()
        ),
    };
    Ok(Feed {
        name: name.to_string(),
        shape,
        data,
    })
}

fn le_f32(dtype: DType, bytes: &[u8]) -> Result<Vec<f32>> {
    Ok(match dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        DType::I64 => bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        DType::I32 => bytes
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        d => bail!("born output of type {d:?} is not compared"),
    })
}

/// User plus system CPU seconds of this process so far (`/proc/self/stat`), if readable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ, 100 on Linux
}

fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Wall and CPU time spent in one runtime's timed rounds.
struct Usage {
    wall: f64,
    cpu: Option<f64>,
}

impl Usage {
    fn new() -> Usage {
        Usage {
            wall: 0.0,
            cpu: Some(0.0),
        }
    }

    fn add(&mut self, wall: f64, cpu: Option<f64>) {
        self.wall += wall;
        self.cpu = self.cpu.zip(cpu).map(|(a, b)| a + b);
    }

    fn ratio(&self) -> String {
        match self.cpu {
            Some(c) if self.wall > 0.0 => format!("{:.2}", c / self.wall),
            _ => "?".into(),
        }
    }
}

/// Runs `f` `n` times; returns the wall seconds and the CPU seconds it took.
fn timed(n: usize, f: &mut dyn FnMut() -> Result<()>) -> Result<(f64, Option<f64>)> {
    let c0 = cpu_seconds();
    let t = Instant::now();
    for _ in 0..n {
        f()?;
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok((wall, cpu))
}

fn short_name(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    match path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|s| s.to_str())
    {
        Some(dir) if stem == "model" => dir.to_string(),
        _ => stem.to_string(),
    }
}

/// Benchmarks one model; returns whether both runtimes loaded it and agreed.
fn bench(spec: &Spec, s: &Settings) -> Result<bool> {
    let name = short_name(&spec.path);
    println!("== {name} ({})", spec.path.display());
    let dir = spec.path.parent().unwrap_or(Path::new("."));
    let mut feeds = Vec::new();
    for input in onnx_inputs(&spec.path)? {
        let file = spec
            .feeds
            .iter()
            .find(|(n, _)| *n == input)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| dir.join(format!("{input}.npy")));
        feeds.push(load_feed(&input, &file)?);
    }
    for (n, _) in &spec.feeds {
        if !feeds.iter().any(|f| f.name == *n) {
            bail!("--feed {n}: the model has no graph input of that name");
        }
    }
    let described: Vec<String> = feeds.iter().map(Feed::describe).collect();
    println!("inputs: {}", described.join(", "));

    // born: convert at batch 1, load, bind the inputs.
    let opts = Options {
        input_shapes: feeds
            .iter()
            .map(|f| (f.name.clone(), f.shape.clone()))
            .collect(),
        ..Options::default()
    };
    let t = Instant::now();
    let born_file = match convert(&spec.path, &opts) {
        Ok((bytes, notes)) => {
            println!(
                "born: converted in {:.2} s, {} bytes",
                t.elapsed().as_secs_f64(),
                bytes.len()
            );
            for n in notes {
                println!("born: note: {n}");
            }
            Some(AlignedBytes::from_slice(&bytes))
        }
        Err(e) => {
            println!("born: FAILED to convert: {e}");
            None
        }
    };
    let born_model = match &born_file {
        Some(b) => match Model::from_bytes(b) {
            Ok(m) => Some(m),
            Err(e) => {
                println!("born: FAILED to load the converted model: {e}");
                None
            }
        },
        None => None,
    };
    let mut arena = match &born_model {
        Some(m) => vec![0u8; Interpreter::arena_len(m)?],
        None => Vec::new(),
    };
    let mut born = match &born_model {
        Some(m) => match Interpreter::new(m, &mut arena) {
            Ok(it) => Some(it),
            Err(e) => {
                println!("born: FAILED to build the interpreter: {e}");
                None
            }
        },
        None => None,
    };
    // Each born input's bytes, in the order of the born model's inputs.
    let mut born_inputs: Vec<Vec<u8>> = Vec::new();
    if let (Some(it), Some(m)) = (&born, &born_model) {
        for k in 0..m.meta().n_inputs as usize {
            let def = it.input_def(k)?;
            let f = feeds
                .iter()
                .find(|f| f.name == def.name)
                .ok_or_else(|| anyhow!("born input `{}` is not a graph input", def.name))?;
            born_inputs.push(f.le_bytes());
        }
    }
    let born_run = |it: &mut Interpreter| -> Result<()> {
        for (k, x) in born_inputs.iter().enumerate() {
            let dst = it.input_raw_mut(k)?;
            if dst.len() != x.len() {
                bail!(
                    "born input {k}: {} bytes, the data has {}",
                    dst.len(),
                    x.len()
                );
            }
            dst.copy_from_slice(x);
        }
        it.invoke()?;
        Ok(())
    };

    // tract: the same file, fixed batch-1 facts, optimized.
    let t = Instant::now();
    let tract_plan = (|| -> Result<_> {
        let mut model = tract_onnx::onnx().model_for_path(&spec.path)?;
        let outlets = model.input_outlets()?.to_vec();
        // For each tract input, the feed it takes.
        let mut order = Vec::new();
        for (i, o) in outlets.iter().enumerate() {
            let input = &model.node(o.node).name;
            let k = feeds
                .iter()
                .position(|f| f.name == *input)
                .ok_or_else(|| anyhow!("tract input `{input}` is not a graph input"))?;
            model.set_input_fact(i, feeds[k].tract_fact())?;
            order.push(k);
        }
        let plan = model.into_optimized()?.into_runnable()?;
        Ok((plan, order))
    })();
    let (tract_plan, tract_order) = match tract_plan {
        Ok((p, o)) => {
            println!(
                "tract: loaded and optimized in {:.2} s",
                t.elapsed().as_secs_f64()
            );
            (Some(p), o)
        }
        Err(e) => {
            println!("tract: FAILED to load: {e:#}");
            (None, Vec::new())
        }
    };
    let mut tract_state = match &tract_plan {
        Some(p) => Some(p.spawn()?),
        None => None,
    };
    let tract_inputs: TVec<TValue> = tract_order
        .iter()
        .map(|&i| feeds[i].tract_tensor().map(|t| t.into_tvalue()))
        .collect::<Result<_>>()?;

    // Agreement on one inference.
    let mut ok = born.is_some() && tract_state.is_some();
    let mut rel = None;
    if let (Some(it), Some(st)) = (born.as_mut(), tract_state.as_mut()) {
        born_run(it)?;
        let got = st.run(tract_inputs.clone())?;
        let n_out = born_model.as_ref().unwrap().meta().n_outputs as usize;
        if n_out != got.len() {
            println!("outputs: born has {n_out}, tract {}", got.len());
            ok = false;
        }
        let mut worst = 0f32;
        for (k, t) in got.iter().enumerate().take(n_out) {
            let def = it.output_def(k)?;
            let b = le_f32(def.dtype, it.output_raw(k)?)?;
            if let (0, Some(out)) = (k, &s.out_dir) {
                let dims = def
                    .dims
                    .to_shape()
                    .map(|s| s.dims().to_vec())
                    .unwrap_or_default();
                std::fs::create_dir_all(out)?;
                let file = out.join(format!("{name}.born.npy"));
                born_std::npy::write_npy_f32(&file, &dims, &b)?;
                println!("born: output 0 written to {}", file.display());
            }
            let t: Vec<f32> = t
                .cast_to::<f32>()?
                .to_plain_array_view::<f32>()?
                .iter()
                .copied()
                .collect();
            if b.len() != t.len() {
                println!(
                    "output {k} `{}`: born has {} elements, tract {}",
                    def.name,
                    b.len(),
                    t.len()
                );
                ok = false;
                continue;
            }
            let diff = b
                .iter()
                .zip(&t)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            let max = t.iter().fold(0f32, |m, y| m.max(y.abs()));
            let r = if b.iter().chain(&t).any(|x| x.is_nan()) {
                f32::NAN
            } else {
                diff / max.max(f32::MIN_POSITIVE)
            };
            println!(
                "output {k} `{}` ({} values): max |born - tract| {diff:.3e}, max |tract| \
                 {max:.3e}, ratio {r:.3e}",
                def.name,
                t.len()
            );
            worst = if r.is_nan() { f32::NAN } else { worst.max(r) };
        }
        let agree = worst <= AGREE; // false for NaN
        println!(
            "agreement: worst ratio {worst:.3e} ({})",
            if agree {
                "ok, <= 1e-3"
            } else {
                "DISAGREE, > 1e-3"
            }
        );
        ok &= agree;
        rel = Some(worst);
    }

    // Iterations: N per round, W warm-up inferences each.
    let tract_run = |st: &mut TypedSimpleState| -> Result<()> {
        st.run(tract_inputs.clone())?;
        Ok(())
    };
    let mut once = [0f64; 2];
    if let Some(it) = born.as_mut() {
        once[0] = timed(1, &mut || born_run(it))?.0;
    }
    if let Some(st) = tract_state.as_mut() {
        once[1] = timed(1, &mut || tract_run(st))?.0;
    }
    let slow = once[0].max(once[1]);
    if slow == 0.0 {
        println!("RESULT model={name} born_us=NA tract_us=NA rel=NA iters=0 warmup=0 rounds=0");
        return Ok(false);
    }
    let iters = s
        .iters
        .unwrap_or_else(|| ((s.round_ms / 1e3 / slow).round() as usize).max(1));
    let warmup = s.warmup.unwrap_or((iters / 10).max(2));
    if let Some(it) = born.as_mut() {
        timed(warmup, &mut || born_run(it))?;
    }
    if let Some(st) = tract_state.as_mut() {
        timed(warmup, &mut || tract_run(st))?;
    }
    let (mut born_us, mut tract_us) = (Vec::new(), Vec::new());
    let (mut born_use, mut tract_use) = (Usage::new(), Usage::new());
    for r in 0..s.rounds {
        let mut line = format!("round {}:", r + 1);
        if let Some(it) = born.as_mut() {
            let (w, c) = timed(iters, &mut || born_run(it))?;
            born_use.add(w, c);
            born_us.push(w / iters as f64 * 1e6);
            line += &format!(" born {:.1} us", w / iters as f64 * 1e6);
        }
        if let Some(st) = tract_state.as_mut() {
            let (w, c) = timed(iters, &mut || tract_run(st))?;
            tract_use.add(w, c);
            tract_us.push(w / iters as f64 * 1e6);
            line += &format!(" tract {:.1} us", w / iters as f64 * 1e6);
        }
        println!("{line}");
    }
    let fmt = |v: &mut Vec<f64>| {
        if v.is_empty() {
            "NA".to_string()
        } else {
            format!("{:.1}", median(v))
        }
    };
    let (b, t) = (fmt(&mut born_us), fmt(&mut tract_us));
    println!(
        "median per inference: born {b} us, tract {t} us ({iters} inferences x {} rounds, \
         {warmup} warm-up)",
        s.rounds
    );
    println!(
        "CPU time / wall time in the timed rounds: born {}, tract {}; threads in the process: {}",
        born_use.ratio(),
        tract_use.ratio(),
        threads().map_or("?".into(), |n| n.to_string())
    );
    let rel = rel.map_or("NA".into(), |r| format!("{r:.3e}"));
    println!(
        "RESULT model={name} born_us={b} tract_us={t} rel={rel} iters={iters} warmup={warmup} \
         rounds={} cpu_born={} cpu_tract={}",
        s.rounds,
        born_use.ratio(),
        tract_use.ratio()
    );
    Ok(ok)
}

fn main() {
    // tract's flash-attention kernel would otherwise spread heads over rayon's global pool.
    std::env::set_var("TRACT_FLASH_SDPA_ST", "1");
    let (settings, specs) = parse_args().unwrap_or_else(|e| {
        eprintln!("born-onnx-bench: {e:#}");
        std::process::exit(2)
    });
    let mut all_ok = true;
    for spec in &specs {
        match bench(spec, &settings) {
            Ok(ok) => all_ok &= ok,
            Err(e) => {
                println!("ERROR {}: {e:#}", spec.path.display());
                println!(
                    "RESULT model={} born_us=NA tract_us=NA rel=NA iters=0 warmup=0 rounds=0",
                    short_name(&spec.path)
                );
                all_ok = false;
            }
        }
    }
    std::process::exit(if all_ok { 0 } else { 1 })
}
