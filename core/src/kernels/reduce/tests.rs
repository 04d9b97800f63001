//! Every fast path against the portable chunked path, bit for bit, on the CPUs that have
//! it; the public tests in `core/tests/reduce.rs` compare the dispatch with the reference.

extern crate std;
use super::{reduce_on, Path, ReduceOp};
use proptest::prelude::*;
use std::vec::Vec;

const OPS: [ReduceOp; 6] = [
    ReduceOp::Sum,
    ReduceOp::Mean,
    ReduceOp::Max,
    ReduceOp::Min,
    ReduceOp::Prod,
    ReduceOp::SumSquares,
];

/// The SIMD paths this CPU can run.
fn simd_paths() -> Vec<Path> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::has_avx2_fma() {
        v.push(Path::Avx2);
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    v.push(Path::Neon);
    v
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        Just(3),
        Just(7),
        Just(8),
        Just(9),
        Just(15),
        Just(16),
        Just(17),
        Just(33),
        1usize..70
    ]
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        20 => -4.0f32..4.0,
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn simd_paths_match_generic_bitwise(
        outer in 1usize..4,
        len in dim(),
        inner in dim(),
        seed in proptest::collection::vec(value(), 1..64),
    ) {
        let n = outer * len * inner;
        let x: Vec<f32> = (0..n).map(|i| seed[(i * 7 + i / 5) % seed.len()]).collect();
        for op in OPS {
            let mut want = std::vec![0.0f32; outer * inner];
            reduce_on(Path::Generic, op, &x, len, inner, &mut want);
            for path in simd_paths() {
                let mut got = std::vec![0.0f32; outer * inner];
                reduce_on(path, op, &x, len, inner, &mut got);
                prop_assert!(same_bits(&got, &want), "{:?} {:?}: {:?} vs {:?}", path, op, got, want);
            }
        }
    }
}
