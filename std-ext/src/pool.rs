//! Many threads, one model: a pool of arenas so each concurrent inference gets its own.

use born_core::{Interpreter, Model};
use std::sync::Mutex;

/// Arenas for one model, handed out one per concurrent call of [`Pool::run`]. The model is
/// shared (it is `Sync`); arenas are reused across calls, so steady-state use allocates
/// nothing.
pub struct Pool<'m> {
    model: &'m Model<'m>,
    arena_len: usize,
    free: Mutex<Vec<Vec<u8>>>,
}

impl<'m> Pool<'m> {
    /// A pool for `model` (no arenas yet: each is made on first need).
    pub fn new(model: &'m Model<'m>) -> born_core::Result<Pool<'m>> {
        Ok(Pool {
            model,
            arena_len: Interpreter::arena_len(model)?,
            free: Mutex::new(Vec::new()),
        })
    }

    /// The model.
    pub fn model(&self) -> &'m Model<'m> {
        self.model
    }

    /// Runs `f` with an interpreter over an arena of its own, then returns the arena to the
    /// pool. Safe to call from any number of threads at once.
    pub fn run<R>(
        &self,
        f: impl FnOnce(&mut Interpreter<'m, '_>) -> born_core::Result<R>,
    ) -> born_core::Result<R> {
        let popped = self.free.lock().map(|mut v| v.pop()).unwrap_or(None);
        let mut arena = popped.unwrap_or_else(|| vec![0u8; self.arena_len]);
        let result = {
            let mut it = Interpreter::new(self.model, &mut arena)?;
            f(&mut it)
        };
        if let Ok(mut v) = self.free.lock() {
            v.push(arena);
        }
        result
    }
}
