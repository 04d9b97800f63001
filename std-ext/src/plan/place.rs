//! The greedy placement.

use super::{align_up, in_place_ok, validate, Buffer, Plan, PlanError};

/// A set of buffers that share one slot: an in-place chain.
struct Group {
    /// Index of the chain's head (the buffer that is not in place on another).
    head: usize,
    size: usize,
    first: usize,
    last: usize,
}

/// Places `buffers` in one arena (see the [module documentation](super)).
///
/// The result passes [`super::check`]; `arena_len <= naive_len`; the same input always gives
/// the same plan. Errors: [`PlanError::BadAlign`] (align 0 or not a power of two),
/// [`PlanError::BadLifetime`] (`first > last`), [`PlanError::ReuseOutOfRange`],
/// [`PlanError::Overflow`] (sizes or offsets beyond `usize`).
///
/// O(n² log n) time, O(n) memory for `n` buffers.
pub fn plan(buffers: &[Buffer], align: usize) -> Result<Plan, PlanError> {
    validate(buffers, align)?;
    let naive_len = buffers
        .iter()
        .enumerate()
        .try_fold(0usize, |acc, (index, b)| {
            align_up(b.size, align)
                .and_then(|s| acc.checked_add(s))
                .ok_or(PlanError::Overflow { index })
        })?;

    let head = chain_heads(buffers);
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of = vec![0usize; buffers.len()];
    let mut group_of_head: Vec<Option<usize>> = vec![None; buffers.len()];
    for (i, b) in buffers.iter().enumerate() {
        let h = head.get(i).copied().unwrap_or(i);
        let gi = match group_of_head.get(h).copied().flatten() {
            Some(gi) => gi,
            None => {
                if let Some(slot) = group_of_head.get_mut(h) {
                    *slot = Some(groups.len());
                }
                groups.push(Group {
                    head: h,
                    size: 0,
                    first: b.first,
                    last: b.last,
                });
                groups.len() - 1
            }
        };
        if let (Some(g), Some(slot)) = (groups.get_mut(gi), group_of.get_mut(i)) {
            g.size = g.size.max(b.size);
            g.first = g.first.min(b.first);
            g.last = g.last.max(b.last);
            *slot = gi;
        }
    }

    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&gi| {
        groups
            .get(gi)
            .map(|g| (std::cmp::Reverse(g.size), g.first, g.head))
    });

    // (group index, offset, end) of the groups placed so far.
    let mut placed: Vec<(usize, usize, usize)> = Vec::with_capacity(groups.len());
    let mut group_offset = vec![0usize; groups.len()];
    let mut arena_len = 0usize;
    for &gi in &order {
        let Some(g) = groups.get(gi) else { continue };
        let mut conflicts: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&(pj, o, e)| {
                e > o
                    && groups
                        .get(pj)
                        .is_some_and(|p| p.first <= g.last && g.first <= p.last)
            })
            .map(|&(_, o, e)| (o, e))
            .collect();
        conflicts.sort_unstable();
        let overflow = PlanError::Overflow { index: g.head };
        let mut offset = 0usize;
        for (o, e) in conflicts {
            if offset.checked_add(g.size).ok_or(overflow.clone())? <= o {
                break;
            }
            offset = offset.max(align_up(e, align).ok_or(overflow.clone())?);
        }
        let end = offset.checked_add(g.size).ok_or(overflow)?;
        arena_len = arena_len.max(end);
        placed.push((gi, offset, end));
        if let Some(slot) = group_offset.get_mut(gi) {
            *slot = offset;
        }
    }

    let offsets = group_of
        .iter()
        .map(|&gi| group_offset.get(gi).copied().unwrap_or(0))
        .collect();
    Ok(Plan {
        offsets,
        arena_len,
        naive_len,
    })
}

/// For each buffer, the head of the in-place chain it belongs to (itself when none).
///
/// Links `i -> j` (from `reuse_of`) are accepted in index order of `i` when the pair
/// condition holds, `j` has no accepted successor yet, the link closes no cycle, and neither
/// `j` (already having a predecessor) nor `i` (already having a successor) is a one-op
/// buffer (`first == last`): such a middle link would put three buffers in one slot during
/// that op, two of which are not an in-place pair.
fn chain_heads(buffers: &[Buffer]) -> Vec<usize> {
    let n = buffers.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut has_child = vec![false; n];
    let is_point = |k: usize| buffers.get(k).is_some_and(|b| b.first == b.last);
    for (i, b) in buffers.iter().enumerate() {
        let Some(j) = b.reuse_of else { continue };
        if !in_place_ok(buffers, i, j) || has_child.get(j).copied().unwrap_or(true) {
            continue;
        }
        let j_has_parent = parent.get(j).is_some_and(Option::is_some);
        let i_has_child = has_child.get(i).copied().unwrap_or(false);
        if (is_point(j) && j_has_parent) || (is_point(i) && i_has_child) {
            continue;
        }
        if root(&parent, j) == i {
            continue;
        }
        if let (Some(p), Some(c)) = (parent.get_mut(i), has_child.get_mut(j)) {
            *p = Some(j);
            *c = true;
        }
    }
    (0..n).map(|i| root(&parent, i)).collect()
}

/// Follows `parent` links from `k` to the head (at most `parent.len()` steps).
fn root(parent: &[Option<usize>], mut k: usize) -> usize {
    for _ in 0..parent.len() {
        match parent.get(k).copied().flatten() {
            Some(p) => k = p,
            None => break,
        }
    }
    k
}
