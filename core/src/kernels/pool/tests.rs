//! Every pooling path (portable and, where the CPU has them, AVX2 / NEON) against the
//! reference, bit for bit; the public tests in `core/tests/pool.rs` cover the dispatch.

extern crate std;
use super::{fast, prepare, reference, Path, Pool2d};
use proptest::prelude::*;
use std::vec::Vec;

/// Every path this CPU can run.
fn paths() -> Vec<Path> {
    let mut v = std::vec![Path::Generic];
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::has_avx2_fma() {
        v.push(Path::Avx2);
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    v.push(Path::Neon);
    v
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        30 => -4.0f32..4.0,
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::NEG_INFINITY),
    ]
}

fn check_all(p: &Pool2d, shape: [usize; 4], x: &[f32]) -> Result<(), TestCaseError> {
    let g = prepare("test", p, x.len(), shape, usize::MAX)
        .map_err(|e| TestCaseError::fail(std::format!("{e}")))?;
    let n_out = g.planes * g.oh * g.ow;
    for maximum in [true, false] {
        let mut want = std::vec![0.0f32; n_out];
        reference::pool(maximum, &g, x, &mut want);
        for path in paths() {
            let mut got = std::vec![0.0f32; n_out];
            if maximum {
                fast::<true>(path, &g, x, &mut got);
            } else {
                fast::<false>(path, &g, x, &mut got);
            }
            prop_assert!(
                same_bits(&got, &want),
                "{path:?} max={maximum} {p:?} {shape:?}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn two_by_two_paths_match_reference(
        n in 1usize..3,
        c in 1usize..3,
        h in 1usize..12,
        w in prop_oneof![Just(1usize), Just(2), Just(15), Just(16), Just(17), Just(33), 1usize..70],
        ceil in any::<bool>(),
        seed in proptest::collection::vec(value(), 1..50),
    ) {
        let p = Pool2d { ceil_mode: ceil, ..Pool2d::new([2, 2]) };
        if p.output_hw(h, w).is_err() {
            return Ok(());
        }
        let x: Vec<f32> = (0..n * c * h * w).map(|i| seed[(i * 5 + i / 3) % seed.len()]).collect();
        check_all(&p, [n, c, h, w], &x)?;
    }

    #[test]
    fn general_paths_match_reference(
        h in 1usize..14,
        w in 1usize..20,
        k in (1usize..5, 1usize..5),
        s in (1usize..4, 1usize..4),
        d in (1usize..3, 1usize..3),
        pad in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
        ceil in any::<bool>(),
        include_pad in any::<bool>(),
        seed in proptest::collection::vec(value(), 1..50),
    ) {
        let p = Pool2d {
            kernel: [k.0, k.1],
            stride: [s.0, s.1],
            padding: [pad.0.min(k.0 / 2), pad.1.min(k.1 / 2), pad.2.min(k.0 / 2), pad.3.min(k.1 / 2)],
            dilation: [d.0, d.1],
            ceil_mode: ceil,
            count_include_pad: include_pad,
        };
        if p.output_hw(h, w).is_err() {
            return Ok(());
        }
        let x: Vec<f32> = (0..2 * h * w).map(|i| seed[(i * 5 + i / 3) % seed.len()]).collect();
        check_all(&p, [1, 2, h, w], &x)?;
    }
}
