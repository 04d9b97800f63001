//! The independent plan checker.

use super::{in_place_ok, lifetimes_meet, validate, Buffer, PlanError};

/// Checks a placement: `offsets[i]` is where buffer `i` starts.
///
/// Passes when every offset is a multiple of `align`, no `offset + size` overflows, and any
/// two buffers of nonzero size whose lifetimes share an op occupy disjoint bytes, except an
/// in-place pair (`b.reuse_of == Some(a)` with `buffers[a].last == b.first` and
/// `b.size <= buffers[a].size`) placed at identical offsets. It does not use the planner's
/// code paths beyond the shared input validation and that pair condition, so tests can use
/// it to judge [`super::plan`].
///
/// Errors: those of input validation ([`PlanError::BadAlign`], [`PlanError::BadLifetime`],
/// [`PlanError::ReuseOutOfRange`]), then [`PlanError::OffsetCount`],
/// [`PlanError::Misaligned`], [`PlanError::Overflow`], [`PlanError::Overlap`] (the first
/// offending pair, in index order). O(n²) time.
pub fn check(buffers: &[Buffer], offsets: &[usize], align: usize) -> Result<(), PlanError> {
    validate(buffers, align)?;
    if offsets.len() != buffers.len() {
        return Err(PlanError::OffsetCount {
            expected: buffers.len(),
            got: offsets.len(),
        });
    }
    for (index, (b, &offset)) in buffers.iter().zip(offsets).enumerate() {
        if offset % align != 0 {
            return Err(PlanError::Misaligned {
                index,
                offset,
                align,
            });
        }
        if offset.checked_add(b.size).is_none() {
            return Err(PlanError::Overflow { index });
        }
    }
    let placed = buffers.iter().zip(offsets).enumerate();
    for (a, (ba, &oa)) in placed.clone() {
        for (b, (bb, &ob)) in placed.clone().skip(a + 1) {
            if ba.size == 0 || bb.size == 0 || !lifetimes_meet(ba, bb) {
                continue;
            }
            // Ends cannot overflow: checked above.
            let disjoint = oa + ba.size <= ob || ob + bb.size <= oa;
            let in_place = oa == ob && (in_place_ok(buffers, a, b) || in_place_ok(buffers, b, a));
            if !disjoint && !in_place {
                return Err(PlanError::Overlap { a, b });
            }
        }
    }
    Ok(())
}
