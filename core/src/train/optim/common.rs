//! Per-parameter optimizer state, keyed by the index the training loop passes to
//! [`super::Optimizer::update`], and the argument checks the optimizers share.

use crate::error::{Error, Result};
use alloc::vec::Vec;

/// One parameter's state and the length fixed by its first update.
#[derive(Clone, Debug)]
struct Slot<S> {
    index: usize,
    len: usize,
    state: S,
}

/// State per parameter index, created on the index's first update.
///
/// Entries are kept sorted by index and found by binary search, so memory grows with the
/// number of parameters seen, not with the largest index (an index of `usize::MAX` costs one
/// entry).
#[derive(Clone, Debug)]
pub(crate) struct Slots<S> {
    entries: Vec<Slot<S>>,
}

impl<S> Slots<S> {
    pub(crate) const fn new() -> Self {
        Slots {
            entries: Vec::new(),
        }
    }

    /// The state of parameter `index`, created by `make(len)` on the first call for the index
    /// (the flag is then `true`). A later call with another `len` is a `DimMismatch` naming
    /// `op`.
    pub(crate) fn get(
        &mut self,
        op: &'static str,
        index: usize,
        len: usize,
        make: impl FnOnce(usize) -> S,
    ) -> Result<(&mut S, bool)> {
        let (at, created) = match self.entries.binary_search_by_key(&index, |s| s.index) {
            Ok(at) => (at, false),
            Err(at) => {
                let state = make(len);
                self.entries.insert(at, Slot { index, len, state });
                (at, true)
            }
        };
        let count = self.entries.len();
        match self.entries.get_mut(at) {
            Some(slot) if slot.len == len => Ok((&mut slot.state, created)),
            Some(slot) => Err(Error::DimMismatch {
                op,
                what: "parameter length (differs from this index's first update)",
                expected: slot.len,
                got: len,
            }),
            // Unreachable: `at` is a found or just-filled position.
            None => Err(Error::IndexOutOfRange {
                op,
                what: "optimizer state slot",
                index: at,
                len: count,
            }),
        }
    }

    /// Forgets every parameter's state.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Checks that a gradient is as long as its parameter.
pub(crate) fn check_lengths(op: &'static str, param: &[f32], grad: &[f32]) -> Result<()> {
    if param.len() == grad.len() {
        Ok(())
    } else {
        Err(Error::DimMismatch {
            op,
            what: "gradient length (must equal the parameter's)",
            expected: param.len(),
            got: grad.len(),
        })
    }
}

/// Returns `Ok(x)` when `ok(x)` holds (NaN fails every comparison, so it is rejected by any
/// range test written as `ok`), else `InvalidArgument { op, what }`.
pub(crate) fn check(
    op: &'static str,
    x: f32,
    ok: impl FnOnce(f32) -> bool,
    what: &'static str,
) -> Result<f32> {
    if ok(x) {
        Ok(x)
    } else {
        Err(Error::InvalidArgument { op, what })
    }
}

/// A usable learning rate: finite and `>= 0`.
pub(crate) fn valid_lr(lr: f32) -> bool {
    lr.is_finite() && lr >= 0.0
}
