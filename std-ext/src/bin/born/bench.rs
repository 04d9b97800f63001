//! `born bench`: latency percentiles and throughput of `invoke`.

use crate::io;
use anyhow::{bail, Result};
use born_std::Pool;
use std::path::Path;
use std::time::{Duration, Instant};

/// The `p`-th percentile of sorted `v`.
fn pct(v: &[Duration], p: f64) -> Duration {
    let i = ((v.len() as f64 - 1.0) * p / 100.0).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

/// Benchmarks `invoke` on `threads` threads (already resolved, see `threads::resolve`).
pub fn run(path: &Path, threads: usize, iters: usize, warmup: usize) -> Result<()> {
    if iters == 0 {
        bail!("--iters must be at least 1");
    }
    let bytes = io::read(path)?;
    let m = io::load(&bytes, path)?;
    let pool = Pool::new(&m)?;
    let workers = crate::threads::pool(threads)?;
    let bar = io::progress(threads * iters, "bench");
    let barrier = std::sync::Barrier::new(threads);
    type Timed = (Vec<Duration>, Instant, Instant);
    // Every worker runs this once; the barrier starts their timed phases together, and each
    // worker reaches it exactly once whatever fails.
    let per_thread: Vec<born_std::core::Result<Timed>> = workers.broadcast(|_| {
        let mut waited = false;
        let timed = pool.run(|it| {
            let warm = (0..warmup).try_for_each(|_| it.invoke());
            barrier.wait();
            waited = true;
            warm?;
            let mut lat = Vec::with_capacity(iters);
            let begin = Instant::now();
            for _ in 0..iters {
                let t = Instant::now();
                it.invoke()?;
                lat.push(t.elapsed());
                bar.inc(1);
            }
            Ok((lat, begin, Instant::now()))
        });
        if !waited {
            barrier.wait();
        }
        timed
    });
    bar.finish_and_clear();
    let mut all = Vec::new();
    let (mut first, mut last): (Option<Instant>, Option<Instant>) = (None, None);
    for r in per_thread {
        let (lat, b, e) = r?;
        all.extend(lat);
        first = Some(first.map_or(b, |f| f.min(b)));
        last = Some(last.map_or(e, |l| l.max(e)));
    }
    let wall = match (first, last) {
        (Some(f), Some(l)) => l - f,
        _ => Duration::ZERO,
    };
    all.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{}: {threads} thread(s) x {iters} inferences (+{warmup} warm-up each)",
        path.display()
    );
    println!(
        "latency   p50 {:.1} us   p90 {:.1} us   p99 {:.1} us   min {:.1} us",
        us(pct(&all, 50.0)),
        us(pct(&all, 90.0)),
        us(pct(&all, 99.0)),
        us(all.first().copied().unwrap_or_default())
    );
    println!(
        "throughput {:.0} inferences/s (timed phase {:.3} s)",
        all.len() as f64 / wall.as_secs_f64().max(1e-9),
        wall.as_secs_f64()
    );
    Ok(())
}
