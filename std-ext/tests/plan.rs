//! `born_std::plan`: hand cases with known arenas, error paths, and properties of random
//! graphs judged by the independent `check`.

use born_std::plan::{check, plan, Buffer, Plan, PlanError};
use proptest::prelude::*;

fn buf(size: usize, first: usize, last: usize) -> Buffer {
    Buffer {
        size,
        first,
        last,
        reuse_of: None,
    }
}

fn in_place(size: usize, first: usize, last: usize, of: usize) -> Buffer {
    Buffer {
        size,
        first,
        last,
        reuse_of: Some(of),
    }
}

/// Plans, checks the plan, and returns it.
fn planned(buffers: &[Buffer], align: usize) -> Plan {
    let p = plan(buffers, align).unwrap();
    check(buffers, &p.offsets, align).unwrap();
    assert!(p.arena_len <= p.naive_len);
    p
}

#[test]
fn a_chain_ping_pongs_between_two_slots() {
    // Input t0, then four ops each reading the previous tensor and writing the next; t4 is
    // the graph output (last = 4 ops).
    let b = [
        buf(100, 0, 0),
        buf(100, 0, 1),
        buf(100, 1, 2),
        buf(100, 2, 3),
        buf(100, 3, 4),
    ];
    let p = planned(&b, 1);
    assert_eq!(p.offsets, vec![0, 100, 0, 100, 0]);
    assert_eq!((p.arena_len, p.naive_len), (200, 500));
}

#[test]
fn greedy_by_size_gives_its_known_arena() {
    // Op 0 reads C, E; op 1 E, F; op 2 D, F. Peak live bytes are 16 (C+E, D+F), and
    // C[0,10) E[10,16) F[0,6) D[6,16) reaches it, but greedy by size puts the two 10-byte
    // buffers at 0 first (their lifetimes are disjoint), then E at 10 and F above both: 22.
    let b = [buf(10, 0, 0), buf(10, 2, 2), buf(6, 0, 1), buf(6, 1, 2)];
    let p = planned(&b, 1);
    assert_eq!(p.offsets, vec![0, 0, 10, 16]);
    assert_eq!((p.arena_len, p.naive_len), (22, 32));
    // With 4-byte alignment E moves to 12 and F to 20.
    let p = planned(&b, 4);
    assert_eq!(p.offsets, vec![0, 0, 12, 20]);
    assert_eq!((p.arena_len, p.naive_len), (26, 40));
    // The optimal placement passes the checker too.
    check(&b, &[0, 6, 10, 0], 1).unwrap();
}

#[test]
fn ties_go_to_earlier_first_use_then_lower_index() {
    let b = [buf(8, 1, 2), buf(8, 0, 2), buf(8, 1, 2)];
    let p = planned(&b, 1);
    assert_eq!(p.offsets, vec![8, 0, 16]);
}

/// Input X kept for a residual (read by ops 0 and 1), conv output Y, ReLU output Z written
/// in place over Y, then the output W.
fn conv_relu(z_size: usize) -> [Buffer; 4] {
    [
        buf(784, 0, 1),
        buf(100, 0, 1),
        in_place(z_size, 1, 2, 1),
        buf(10, 2, 3),
    ]
}

#[test]
fn in_place_outputs_share_their_input_slot() {
    let p = planned(&conv_relu(100), 1);
    assert_eq!(p.offsets, vec![0, 784, 784, 0]);
    assert_eq!(p.arena_len, 884);
    // Smaller output: still in place.
    let p = planned(&conv_relu(60), 1);
    assert_eq!(p.offsets, vec![0, 784, 784, 0]);
    // Planned separately, Z would need room beside X and Y.
    let mut separate = conv_relu(100);
    separate[2].reuse_of = None;
    assert_eq!(planned(&separate, 1).arena_len, 984);
}

#[test]
fn inconsistent_in_place_hints_are_planned_separately() {
    // Larger than the buffer it would replace.
    let p = planned(&conv_relu(120), 1);
    assert_ne!(p.offsets[1], p.offsets[2]);
    assert_eq!(p.arena_len, 1004);
    // Y is still read after Z is written.
    let b = [
        buf(784, 0, 1),
        buf(100, 0, 2),
        in_place(100, 1, 2, 1),
        buf(10, 2, 3),
    ];
    let p = planned(&b, 1);
    assert_ne!(p.offsets[1], p.offsets[2]);
    // A buffer in place on itself.
    let b = [in_place(8, 0, 1, 0), buf(8, 1, 2)];
    assert_eq!(planned(&b, 1).offsets, vec![0, 8]);
    // Two outputs of one op both in place on the same input: only the first is.
    let b = [buf(16, 0, 1), in_place(16, 1, 2, 0), in_place(16, 1, 2, 0)];
    let p = planned(&b, 1);
    assert_eq!(p.offsets[0], p.offsets[1]);
    assert_ne!(p.offsets[0], p.offsets[2]);
    // Mutual hints between one-op buffers: one link only.
    let b = [in_place(8, 1, 1, 1), in_place(8, 1, 1, 0)];
    assert_eq!(planned(&b, 1).offsets, vec![0, 0]);
}

#[test]
fn in_place_chains_share_one_slot() {
    // A -> B -> C, each written in place over the previous (e.g. conv, bias, relu).
    let b = [
        buf(64, 0, 1),
        in_place(64, 1, 2, 0),
        in_place(48, 2, 3, 1),
        buf(64, 0, 3),
    ];
    let p = planned(&b, 16);
    assert_eq!(p.offsets, vec![0, 0, 0, 64]);
    assert_eq!(p.arena_len, 128);
    // B lives during op 1 only: A, B and C would all be in one slot during that op, with A
    // and C not an in-place pair, so C gets its own slot.
    let b = [buf(8, 0, 1), in_place(8, 1, 1, 0), in_place(8, 1, 2, 1)];
    let p = planned(&b, 1);
    assert_eq!(p.offsets, vec![0, 0, 8]);
}

#[test]
fn zero_sized_and_empty_inputs() {
    let p = planned(&[], 8);
    assert_eq!(
        p,
        Plan {
            offsets: vec![],
            arena_len: 0,
            naive_len: 0
        }
    );
    let p = planned(&[buf(0, 0, 5), buf(3, 0, 5), buf(0, 2, 2)], 8);
    assert_eq!(p.offsets, vec![0, 0, 0]);
    assert_eq!((p.arena_len, p.naive_len), (3, 8));
}

#[test]
fn bad_requests_are_errors() {
    let ok = [buf(4, 0, 1)];
    assert_eq!(plan(&ok, 0), Err(PlanError::BadAlign { align: 0 }));
    assert_eq!(plan(&ok, 12), Err(PlanError::BadAlign { align: 12 }));
    assert_eq!(
        plan(&[buf(4, 0, 1), buf(4, 3, 2)], 4),
        Err(PlanError::BadLifetime {
            index: 1,
            first: 3,
            last: 2
        })
    );
    assert_eq!(
        plan(&[buf(4, 0, 1), in_place(4, 1, 2, 2)], 4),
        Err(PlanError::ReuseOutOfRange {
            index: 1,
            reuse_of: 2,
            len: 2
        })
    );
    assert_eq!(
        plan(
            &[buf(usize::MAX / 2 + 1, 0, 1), buf(usize::MAX / 2 + 1, 0, 1)],
            1
        ),
        Err(PlanError::Overflow { index: 1 })
    );
    assert_eq!(
        plan(&[buf(usize::MAX, 0, 1)], 2),
        Err(PlanError::Overflow { index: 0 })
    );
    assert_eq!(check(&ok, &[0], 3), Err(PlanError::BadAlign { align: 3 }));
    assert!(PlanError::BadAlign { align: 3 }
        .to_string()
        .contains("power of two"));
}

#[test]
fn the_checker_rejects_bad_plans() {
    let b = [buf(8, 0, 1), buf(8, 1, 2), buf(8, 2, 3)];
    check(&b, &[0, 8, 0], 8).unwrap();
    assert_eq!(
        check(&b, &[0, 8], 8),
        Err(PlanError::OffsetCount {
            expected: 3,
            got: 2
        })
    );
    assert_eq!(
        check(&b, &[0, 4, 0], 4),
        Err(PlanError::Overlap { a: 0, b: 1 })
    );
    assert_eq!(
        check(&b, &[0, 4, 16], 8),
        Err(PlanError::Misaligned {
            index: 1,
            offset: 4,
            align: 8
        })
    );
    assert_eq!(
        check(&b, &[0, 8, 8], 8),
        Err(PlanError::Overlap { a: 1, b: 2 })
    );
    assert_eq!(
        check(&b, &[0, 8, usize::MAX - 7], 8),
        Err(PlanError::Overflow { index: 2 })
    );
    // An in-place pair may share its offset, but not overlap partly.
    let b = [buf(8, 0, 1), in_place(8, 1, 2, 0)];
    check(&b, &[0, 0], 4).unwrap();
    assert_eq!(
        check(&b, &[0, 4], 4),
        Err(PlanError::Overlap { a: 0, b: 1 })
    );
    // Two in-place claims on one buffer cannot both be honoured.
    let b = [buf(8, 0, 1), in_place(8, 1, 2, 0), in_place(8, 1, 2, 0)];
    assert_eq!(
        check(&b, &[0, 0, 0], 4),
        Err(PlanError::Overlap { a: 1, b: 2 })
    );
    // A claim that does not hold (size too big) gives no right to share.
    let b = [buf(8, 0, 1), in_place(9, 1, 2, 0)];
    assert_eq!(
        check(&b, &[0, 0], 1),
        Err(PlanError::Overlap { a: 0, b: 1 })
    );
}

/// Largest number of bytes alive during one op, counting an in-place buffer and the buffer
/// it replaces once when both are alive (valid for any plan `check` accepts).
fn peak_live(buffers: &[Buffer]) -> usize {
    let last_op = buffers.iter().map(|b| b.last).max().unwrap_or(0);
    (0..=last_op)
        .map(|t| {
            let live = |b: &Buffer| b.first <= t && t <= b.last;
            buffers
                .iter()
                .enumerate()
                .filter(|(_, b)| live(b))
                .map(
                    |(i, b)| match b.reuse_of.and_then(|j| buffers.get(j).map(|p| (j, p))) {
                        Some((j, p))
                            if j != i && live(p) && p.last == b.first && b.size <= p.size =>
                        {
                            0
                        }
                        _ => b.size,
                    },
                )
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

/// Random graphs: sizes (some 0), lifetimes over 12 ops, and in-place hints, most of them
/// consistent (pointing at a buffer that dies when this one is written, size clamped).
fn graphs() -> impl Strategy<Value = (Vec<Buffer>, usize)> {
    let raw = prop::collection::vec(
        (
            0usize..300,
            0usize..12,
            0usize..6,
            prop::option::weighted(0.4, 0usize..64),
            any::<bool>(),
        ),
        0..40,
    );
    let align = prop::sample::select(vec![1usize, 2, 4, 8, 16, 64]);
    (raw, align).prop_map(|(raw, align)| {
        let mut b: Vec<Buffer> = raw
            .iter()
            .map(|&(s, f, l, _, _)| buf(s, f, f + l))
            .collect();
        let n = b.len();
        for (i, &(_, _, _, pick, clamp)) in raw.iter().enumerate() {
            let Some(k) = pick else { continue };
            let first = b[i].first;
            let fits: Vec<usize> = (0..n).filter(|&j| j != i && b[j].last == first).collect();
            if fits.is_empty() {
                b[i].reuse_of = Some(k % n);
            } else {
                let j = fits[k % fits.len()];
                b[i].reuse_of = Some(j);
                if clamp {
                    b[i].size = b[i].size.min(b[j].size);
                }
            }
        }
        (b, align)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn plans_are_valid_bounded_and_deterministic((b, align) in graphs()) {
        let p = plan(&b, align).unwrap();
        prop_assert_eq!(check(&b, &p.offsets, align), Ok(()));
        prop_assert!(p.offsets.iter().all(|o| o % align == 0));
        prop_assert!(p.arena_len >= peak_live(&b), "{} < {}", p.arena_len, peak_live(&b));
        prop_assert!(p.arena_len <= p.naive_len);
        let naive: usize = b.iter().map(|x| x.size.div_ceil(align) * align).sum();
        prop_assert_eq!(p.naive_len, naive);
        let end = b.iter().zip(&p.offsets).map(|(x, o)| o + x.size).max().unwrap_or(0);
        prop_assert_eq!(p.arena_len, end);
        prop_assert_eq!(plan(&b.clone(), align).unwrap(), p);
    }

    #[test]
    fn without_hints_the_bound_is_the_peak((b, align) in graphs()) {
        let b: Vec<Buffer> = b.into_iter().map(|x| Buffer { reuse_of: None, ..x }).collect();
        let p = plan(&b, align).unwrap();
        prop_assert_eq!(check(&b, &p.offsets, align), Ok(()));
        prop_assert!(p.arena_len >= peak_live(&b));
        // No hints: every pair of buffers alive together is disjoint.
        for i in 0..b.len() {
            for j in i + 1..b.len() {
                let meet = b[i].first <= b[j].last && b[j].first <= b[i].last;
                if meet && b[i].size > 0 && b[j].size > 0 {
                    let (oi, oj) = (p.offsets[i], p.offsets[j]);
                    prop_assert!(oi + b[i].size <= oj || oj + b[j].size <= oi);
                }
            }
        }
    }

    #[test]
    fn a_lone_consistent_hint_is_honoured(size in 1usize..100, shrink in 0usize..100, align in prop::sample::select(vec![1usize, 8, 64])) {
        let b = [buf(size, 0, 2), in_place(size - shrink.min(size - 1), 2, 4, 0), buf(size, 0, 4)];
        let p = planned(&b, align);
        prop_assert_eq!(p.offsets[0], p.offsets[1]);
    }
}
