//! Arena planning: where each activation tensor lives in one memory block.
//!
//! The idea of TensorFlow Lite Micro's `GreedyMemoryPlanner`: buffers are taken largest
//! first (ties: earlier first use, then lower index, so the plan is deterministic), and each
//! goes to the lowest offset, a multiple of `align`, where it overlaps no already placed
//! buffer whose lifetime intersects its own. On top of that, a buffer that an op may write in
//! place over its input ([`Buffer::reuse_of`]) shares that input's offset.
//!
//! Lifetimes are inclusive op indices: a buffer written by op `first` and last read by op
//! `last` occupies its bytes during ops `first..=last`. Two buffers whose lifetimes share an
//! op (e.g. the input and output of that op) never share bytes unless they form an accepted
//! in-place pair. Graph inputs use `first = 0` (written before op 0 runs), graph outputs
//! `last = number of ops` (read after the last op).
//!
//! Complexity: with `n` buffers, [`plan`] takes O(n² log n) time (for each buffer, the
//! already placed buffers it conflicts with are sorted by offset and scanned for a gap) and
//! O(n) memory; [`check`] takes O(n²) time and O(1) extra memory.

mod check;
mod place;

pub use check::check;
pub use place::plan;

/// One tensor to place in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// Bytes it needs; 0 is allowed (placed at offset 0, overlaps nothing).
    pub size: usize,
    /// Index of the op that writes it (0 for graph inputs, written before op 0).
    pub first: usize,
    /// Index of the op that reads it last (number of ops for graph outputs); `>= first`.
    pub last: usize,
    /// `Some(j)`: the op that writes this buffer can work in place on buffer `j`. The
    /// planner gives both the same offset when the claim is consistent: `j` is another
    /// buffer, `j`'s last use is this buffer's first op (`buffers[j].last == self.first`),
    /// and `self.size <= buffers[j].size`. Otherwise the hint is ignored and the two are
    /// planned separately. Each buffer takes at most one in-place successor (the lowest
    /// index asking); chains (`c` in place on `b` in place on `a`) share one slot, except
    /// that a link is refused when it would put three buffers in one slot during a single op
    /// (a middle buffer with `first == last`).
    pub reuse_of: Option<usize>,
}

/// Where each buffer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Byte offset of each buffer in the arena, in the order of the input; each a multiple
    /// of `align`.
    pub offsets: Vec<usize>,
    /// Bytes the arena needs: the largest `offset + size` (0 when there are no buffers).
    /// Not rounded up to `align`.
    pub arena_len: usize,
    /// Bytes needed with no reuse at all: the sum of the sizes, each rounded up to `align`.
    /// Always `>= arena_len`.
    pub naive_len: usize,
}

/// What is wrong with a planning request or a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `align` is 0 or not a power of two.
    #[error("alignment {align} is not a power of two")]
    BadAlign {
        /// The alignment given.
        align: usize,
    },
    /// A buffer is last read before it is written.
    #[error("buffer {index}: first use {first} is after last use {last}")]
    BadLifetime {
        /// Buffer index.
        index: usize,
        /// Its `first`.
        first: usize,
        /// Its `last`.
        last: usize,
    },
    /// `reuse_of` names a buffer that does not exist.
    #[error("buffer {index}: reuse_of {reuse_of} is out of range (only {len} buffers)")]
    ReuseOutOfRange {
        /// Buffer index.
        index: usize,
        /// Its `reuse_of`.
        reuse_of: usize,
        /// Number of buffers.
        len: usize,
    },
    /// A size or offset computation does not fit in `usize`.
    #[error("arena size overflows usize (at buffer {index})")]
    Overflow {
        /// The buffer whose size or offset overflowed.
        index: usize,
    },
    /// [`check`] was given a different number of offsets than buffers.
    #[error("{got} offsets for {expected} buffers")]
    OffsetCount {
        /// Number of buffers.
        expected: usize,
        /// Number of offsets.
        got: usize,
    },
    /// [`check`] found an offset that is not a multiple of `align`.
    #[error("buffer {index}: offset {offset} is not a multiple of {align}")]
    Misaligned {
        /// Buffer index.
        index: usize,
        /// Its offset.
        offset: usize,
        /// The alignment.
        align: usize,
    },
    /// [`check`] found two buffers alive during the same op whose bytes overlap (and that
    /// are not an in-place pair at the same offset).
    #[error("buffers {a} and {b} are alive during the same op and overlap in memory")]
    Overlap {
        /// Lower buffer index.
        a: usize,
        /// Higher buffer index.
        b: usize,
    },
}

/// Checks `align` and every buffer's lifetime and `reuse_of`.
fn validate(buffers: &[Buffer], align: usize) -> Result<(), PlanError> {
    if !align.is_power_of_two() {
        return Err(PlanError::BadAlign { align });
    }
    for (index, b) in buffers.iter().enumerate() {
        if b.first > b.last {
            return Err(PlanError::BadLifetime {
                index,
                first: b.first,
                last: b.last,
            });
        }
        if let Some(reuse_of) = b.reuse_of {
            if reuse_of >= buffers.len() {
                return Err(PlanError::ReuseOutOfRange {
                    index,
                    reuse_of,
                    len: buffers.len(),
                });
            }
        }
    }
    Ok(())
}

/// Whether buffer `i` may take buffer `j`'s place (the condition stated on
/// [`Buffer::reuse_of`], for the pair alone).
fn in_place_ok(buffers: &[Buffer], i: usize, j: usize) -> bool {
    match (buffers.get(i), buffers.get(j)) {
        (Some(bi), Some(bj)) => {
            i != j && bi.reuse_of == Some(j) && bj.last == bi.first && bi.size <= bj.size
        }
        _ => false,
    }
}

/// Whether two inclusive lifetimes share an op.
fn lifetimes_meet(a: &Buffer, b: &Buffer) -> bool {
    a.first <= b.last && b.first <= a.last
}

/// `x` rounded up to a multiple of `align` (a power of two), `None` on overflow.
fn align_up(x: usize, align: usize) -> Option<usize> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}
