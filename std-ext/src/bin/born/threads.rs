//! `--threads`, the same for every subcommand: 0 means every available core, and a count
//! above [`MAX`] is refused.

use anyhow::{bail, Context, Result};

/// The most threads a subcommand starts.
pub const MAX: usize = 1024;

/// The cores this process may use.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The thread count `--threads n` asks for: `n`, or every available core when `n` is 0.
pub fn resolve(n: usize) -> Result<usize> {
    let n = if n == 0 { cores() } else { n };
    if n > MAX {
        bail!(
            "--threads {n} is more than {MAX}, the most born starts (this machine has {} \
             cores; --threads 0 uses them all)",
            cores()
        );
    }
    Ok(n)
}

/// A pool of `n` worker threads; when the system cannot start them, an error that says so
/// (instead of a panic).
pub fn pool(n: usize) -> Result<rayon::ThreadPool> {
    born_std::train::thread_pool(n).with_context(|| format!("cannot start {n} worker thread(s)"))
}
