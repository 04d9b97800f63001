//! Tests of `born_core::kernels::gemm`.
//!
//! Tolerance: for each element, |got - want| <= 1e-5 * sqrt(k + 1) * scale + 1e-6, where
//! `scale = |alpha| * sum_p |op(A)[i][p] * op(B)[p][j]| + |beta * C0[i][j]|` (the magnitude of
//! the terms; a relative bound that does not blow up on cancellation). f32 rounding of a
//! k-term sum is about sqrt(k) * 6e-8 * scale on average, so this leaves a wide margin while
//! still catching any wrong or missing term (which is of order scale / k).

use born_core::kernels::gemm::{
    scratch_len, scratch_len_for, sgemm, sgemm_batched, sgemm_for, sgemm_reference, Gemm, Isa,
};
use born_core::Error;
use proptest::prelude::*;
use serde::Deserialize;

/// Deterministic values in [-1, 1).
fn fill(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// One problem with its buffers (stored A, B and the initial C).
#[derive(Clone, Debug)]
struct Case {
    g: Gemm,
    lda: usize,
    ldb: usize,
    ldc: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl Case {
    #[allow(clippy::too_many_arguments)]
    fn new(g: Gemm, ea: usize, eb: usize, ec: usize, seed: u32) -> Case {
        let (ar, ac) = if g.trans_a { (g.k, g.m) } else { (g.m, g.k) };
        let (br, bc) = if g.trans_b { (g.n, g.k) } else { (g.k, g.n) };
        let (lda, ldb, ldc) = (ac + ea, bc + eb, g.n + ec);
        Case {
            g,
            lda,
            ldb,
            ldc,
            a: fill(ar * lda, seed),
            b: fill(br * ldb, seed ^ 0x55),
            c: fill(g.m * ldc, seed ^ 0xaa),
        }
    }

    fn op_a(&self, i: usize, p: usize) -> f32 {
        if self.g.trans_a {
            self.a[p * self.lda + i]
        } else {
            self.a[i * self.lda + p]
        }
    }

    fn op_b(&self, p: usize, j: usize) -> f32 {
        if self.g.trans_b {
            self.b[j * self.ldb + p]
        } else {
            self.b[p * self.ldb + j]
        }
    }

    /// The tolerance scale of element (i, j) (see the file docs).
    fn scale(&self, i: usize, j: usize) -> f64 {
        let g = &self.g;
        let s: f64 = (0..g.k)
            .map(|p| (self.op_a(i, p) as f64 * self.op_b(p, j) as f64).abs())
            .sum();
        (g.alpha as f64).abs() * s + (g.beta as f64 * self.c[i * self.ldc + j] as f64).abs()
    }

    fn reference(&self) -> Vec<f32> {
        let mut c = self.c.clone();
        sgemm_reference(
            &self.g, &self.a, self.lda, &self.b, self.ldb, &mut c, self.ldc,
        )
        .expect("reference");
        c
    }

    fn run(&self, isa: Isa) -> Vec<f32> {
        let mut c = self.c.clone();
        let mut s = vec![f32::NAN; scratch_len_for(isa, &self.g)];
        sgemm_for(
            isa, &self.g, &self.a, self.lda, &self.b, self.ldb, &mut c, self.ldc, &mut s,
        )
        .expect("sgemm_for");
        c
    }

    /// Checks `got` against `want` within tolerance, and that padding columns of C are
    /// untouched.
    fn assert_close(&self, got: &[f32], want: &[f32]) {
        let g = &self.g;
        let tol_rel = 1e-5 * ((g.k + 1) as f64).sqrt();
        for i in 0..g.m {
            for j in 0..self.ldc {
                let idx = i * self.ldc + j;
                if j >= g.n {
                    assert_eq!(
                        got[idx].to_bits(),
                        self.c[idx].to_bits(),
                        "padding ({i},{j})"
                    );
                    continue;
                }
                let tol = tol_rel * self.scale(i, j) + 1e-6;
                let err = (got[idx] as f64 - want[idx] as f64).abs();
                assert!(
                    err <= tol,
                    "{g:?} lda {} ldb {} ldc {}: ({i},{j}) got {} want {} err {err} tol {tol}",
                    self.lda,
                    self.ldb,
                    self.ldc,
                    got[idx],
                    want[idx]
                );
            }
        }
    }
}

fn isas() -> Vec<Isa> {
    [Isa::Avx2Fma, Isa::Neon, Isa::Generic]
        .into_iter()
        .filter(|i| i.is_available())
        .collect()
}

/// Dimensions that hit tails of every tile size (MR 4/6/8, NR 4/8/16) and of KC (256).
fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![
            1usize, 2, 3, 5, 6, 7, 8, 9, 12, 15, 16, 17, 24, 31, 33
        ]),
        1usize..80,
    ]
}

fn scalars() -> impl Strategy<Value = (f32, f32)> {
    (
        prop::sample::select(vec![1.0f32, -0.5, 2.25]),
        prop::sample::select(vec![0.0f32, 1.0, 0.75, -1.5]),
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        // Now and then more rows than one A block (MC = 144 on AVX2, 128 NEON, 64 generic).
        prop_oneof![6 => dim(), 1 => 140usize..300],
        dim(),
        prop_oneof![dim(), 250usize..270],
        any::<bool>(),
        any::<bool>(),
        scalars(),
        (0usize..3, 0usize..3, 0usize..3),
        any::<u32>(),
    )
        .prop_map(
            |(m, n, k, trans_a, trans_b, (alpha, beta), (ea, eb, ec), seed)| {
                let g = Gemm {
                    m,
                    n,
                    k,
                    trans_a,
                    trans_b,
                    alpha,
                    beta,
                };
                Case::new(g, ea, eb, ec, seed)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The dispatching entry point against the reference.
    #[test]
    fn sgemm_matches_reference(cs in case()) {
        let want = cs.reference();
        let mut got = cs.c.clone();
        let mut s = vec![0.0; scratch_len(&cs.g)];
        sgemm(&cs.g, &cs.a, cs.lda, &cs.b, cs.ldb, &mut got, cs.ldc, &mut s).unwrap();
        cs.assert_close(&got, &want);
    }

    /// Each instruction set this CPU has (AVX2 + FMA micro-kernel, the portable generic
    /// micro-kernel, NEON on aarch64), called directly, against the reference.
    #[test]
    fn every_isa_matches_reference(cs in case()) {
        let want = cs.reference();
        for isa in isas() {
            let got = cs.run(isa);
            cs.assert_close(&got, &want);
        }
    }

    /// Splitting C into row blocks or column blocks (as threads would) gives the same bits,
    /// whichever path (direct, packed, small-m) each piece takes; except that with transposed
    /// B the small-m path (m <= 4) sums in another order, so a row split keeps the bits only
    /// when every piece is on the same side of m <= 4 as the whole (else it is checked
    /// against the reference).
    #[test]
    fn splits_give_same_bits(cs in case(), rs in 0.0f64..1.0, cs_frac in 0.0f64..1.0) {
        for isa in isas() {
            let full = cs.run(isa);
            let g = cs.g;
            // Rows [0, r) and [r, m).
            let r = ((g.m as f64 * rs) as usize).min(g.m);
            let mut c = cs.c.clone();
            for (r0, r1) in [(0, r), (r, g.m)] {
                let gi = Gemm { m: r1 - r0, ..g };
                let a_off = if g.trans_a { r0 } else { r0 * cs.lda };
                let mut s = vec![0.0; scratch_len_for(isa, &gi)];
                sgemm_for(isa, &gi, &cs.a[a_off..], cs.lda, &cs.b, cs.ldb,
                    &mut c[r0 * cs.ldc..], cs.ldc, &mut s).unwrap();
            }
            let same_side = |rows: usize| rows == 0 || (rows <= SMALL_M) == (g.m <= SMALL_M);
            if !g.trans_b || (same_side(r) && same_side(g.m - r)) {
                prop_assert!(bits_eq(&c, &full), "row split at {} differs ({:?})", r, isa);
            } else {
                cs.assert_close(&c, &cs.reference());
            }
            // Columns [0, q) and [q, n).
            let q = ((g.n as f64 * cs_frac) as usize).min(g.n);
            let mut c = cs.c.clone();
            for (q0, q1) in [(0, q), (q, g.n)] {
                let gi = Gemm { n: q1 - q0, ..g };
                let b_off = if g.trans_b { q0 * cs.ldb } else { q0 };
                let mut s = vec![0.0; scratch_len_for(isa, &gi)];
                sgemm_for(isa, &gi, &cs.a, cs.lda, &cs.b[b_off..], cs.ldb,
                    &mut c[q0..], cs.ldc, &mut s).unwrap();
            }
            prop_assert!(bits_eq(&c, &full), "column split at {} differs ({:?})", q, isa);
        }
    }

    /// Batched against per-batch reference, with A or B broadcast (stride 0) or not.
    #[test]
    fn batched_matches_reference(
        cs in case(),
        batch in 1usize..4,
        bcast_a in any::<bool>(),
        bcast_b in any::<bool>(),
        gap in 0usize..5,
    ) {
        let g = cs.g;
        let one = |len: usize, seed: u32| fill(len, seed);
        let (sa1, sb1, sc1) = (cs.a.len(), cs.b.len(), cs.c.len());
        let stride_a = if bcast_a { 0 } else { sa1 + gap };
        let stride_b = if bcast_b { 0 } else { sb1 + gap };
        let stride_c = sc1 + gap;
        let a = one(stride_a * (batch - 1) + sa1, 1);
        let b = one(stride_b * (batch - 1) + sb1, 2);
        let c0 = one(stride_c * (batch - 1) + sc1, 3);
        let mut c = c0.clone();
        let mut s = vec![0.0; scratch_len(&g)];
        sgemm_batched(&g, batch, &a, cs.lda, stride_a, &b, cs.ldb, stride_b,
            &mut c, cs.ldc, stride_c, &mut s).unwrap();
        for i in 0..batch {
            let ci = Case {
                a: a[i * stride_a..i * stride_a + sa1].to_vec(),
                b: b[i * stride_b..i * stride_b + sb1].to_vec(),
                c: c0[i * stride_c..i * stride_c + sc1].to_vec(),
                ..cs.clone()
            };
            let want = ci.reference();
            ci.assert_close(&c[i * stride_c..i * stride_c + sc1], &want);
            // Same bits as a separate sgemm call.
            let mut sep = ci.c.clone();
            sgemm(&g, &ci.a, cs.lda, &ci.b, cs.ldb, &mut sep, cs.ldc, &mut s).unwrap();
            prop_assert!(bits_eq(&sep, &c[i * stride_c..i * stride_c + sc1]));
        }
    }
}

/// Largest m of the small-m path.
const SMALL_M: usize = 4;

/// Small-m shapes: m in 1..=6 (both sides of the small-m bound), n and k with tails of
/// every kernel width (8 lanes, 2..8 rows or 16..64 columns per call) and of KC (256).
fn small_case() -> impl Strategy<Value = Case> {
    (
        1usize..=6,
        prop_oneof![dim(), 60usize..140],
        prop_oneof![
            prop::sample::select(vec![1usize, 3, 7, 8, 9, 15, 16, 17, 33, 255, 256, 257]),
            1usize..100,
            250usize..600,
        ],
        any::<bool>(),
        any::<bool>(),
        scalars(),
        (0usize..3, 0usize..3, 0usize..3),
        any::<u32>(),
    )
        .prop_map(
            |(m, n, k, trans_a, trans_b, (alpha, beta), (ea, eb, ec), seed)| {
                let g = Gemm {
                    m,
                    n,
                    k,
                    trans_a,
                    trans_b,
                    alpha,
                    beta,
                };
                Case::new(g, ea, eb, ec, seed)
            },
        )
}

/// The documented summation of the small-m transposed-B path for element (i, j): 8 lanes,
/// lane l summing the products of p = l mod 8 in increasing p (fused on SIMD paths),
/// then `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))` and the alpha / beta update.
/// Whether the portable small-m dot is the 4-lane one (bare metal and 32-bit Arm).
const MCU_DOT: bool = cfg!(any(target_os = "none", target_arch = "arm"));

/// The documented order of the 4-lane portable dot: lane `p % 4`, multiply then add, no
/// padding, `(l0 + l1) + (l2 + l3)`.
fn small_dot_model4(cs: &Case, i: usize, j: usize) -> f32 {
    let mut l = [0.0f32; 4];
    for p in 0..cs.g.k {
        l[p % 4] += cs.op_a(i, p) * cs.op_b(p, j);
    }
    let r = cs.g.alpha * ((l[0] + l[1]) + (l[2] + l[3]));
    let c0 = cs.c[i * cs.ldc + j];
    if cs.g.beta == 0.0 {
        r
    } else {
        r + cs.g.beta * c0
    }
}

fn small_dot_model(cs: &Case, i: usize, j: usize, fused: bool) -> f32 {
    if MCU_DOT && !fused {
        return small_dot_model4(cs, i, j);
    }
    let mut l = [0.0f32; 8];
    for p in 0..cs.g.k {
        let (x, w) = (cs.op_a(i, p), cs.op_b(p, j));
        l[p % 8] = if fused {
            x.mul_add(w, l[p % 8])
        } else {
            l[p % 8] + x * w
        };
    }
    // Zero-padded lanes of the last chunk add 0 * 0.
    if cs.g.k % 8 != 0 {
        for v in l.iter_mut().skip(cs.g.k % 8) {
            *v += 0.0;
        }
    }
    let s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    let r = cs.g.alpha * s;
    let c0 = cs.c[i * cs.ldc + j];
    if cs.g.beta == 0.0 {
        r
    } else {
        r + cs.g.beta * c0
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The small-m path (m <= 4; m = 5, 6 take the others) on every instruction set this CPU
    /// has, against the reference, both transposes, alpha / beta, padded strides.
    #[test]
    fn small_m_matches_reference(cs in small_case()) {
        let want = cs.reference();
        for isa in isas() {
            cs.assert_close(&cs.run(isa), &want);
        }
        let mut got = cs.c.clone();
        let mut s = vec![0.0; scratch_len(&cs.g)];
        sgemm(&cs.g, &cs.a, cs.lda, &cs.b, cs.ldb, &mut got, cs.ldc, &mut s).unwrap();
        cs.assert_close(&got, &want);
    }

    /// With transposed B and m <= 4 each element has exactly the bits of the documented
    /// summation order; with plain B the bits are those of the taller (direct or packed)
    /// product the rows belong to.
    #[test]
    fn small_m_order_is_the_documented_one(cs in small_case()) {
        let g = cs.g;
        prop_assume!(g.m <= SMALL_M);
        for isa in isas() {
            let got = cs.run(isa);
            if g.trans_b {
                for i in 0..g.m {
                    for j in 0..g.n {
                        let want = small_dot_model(&cs, i, j, isa != Isa::Generic);
                        let v = got[i * cs.ldc + j];
                        prop_assert!(v.to_bits() == want.to_bits(),
                            "{:?} {:?} ({}, {}): {} vs model {}", isa, g, i, j, v, want);
                    }
                }
            } else {
                // The same rows inside a 7-row product (direct or packed path).
                let tall = Gemm { m: 7, ..g };
                let mut t = Case::new(tall, cs.lda - if g.trans_a { g.m } else { g.k },
                    cs.ldb - if g.trans_b { g.k } else { g.n }, cs.ldc - g.n, 0);
                for i in 0..g.m {
                    for p in 0..g.k {
                        let v = cs.op_a(i, p);
                        if g.trans_a { t.a[p * t.lda + i] = v } else { t.a[i * t.lda + p] = v }
                    }
                }
                t.b.clone_from(&cs.b);
                t.c[..cs.c.len()].copy_from_slice(&cs.c);
                let full = t.run(isa);
                prop_assert!(bits_eq(&got, &full[..got.len()]), "{:?} {:?}", isa, g);
            }
        }
    }
}

/// Batched transposed-B GEMVs with shared weights (merged up to 4 rows per call) give the
/// same bits as separate calls.
#[test]
fn batched_small_m_same_bits() {
    for m in 1..=5 {
        let g = Gemm {
            trans_b: true,
            beta: 1.0,
            ..Gemm::new(m, 37, 300)
        };
        let batch = 7;
        let a = fill(batch * g.m * g.k, 1);
        let b = fill(g.k * g.n, 2);
        let c0 = fill(batch * g.m * g.n, 3);
        let mut c = c0.clone();
        let mut s = vec![0.0; scratch_len(&g)];
        sgemm_batched(
            &g,
            batch,
            &a,
            g.k,
            g.m * g.k,
            &b,
            g.k,
            0,
            &mut c,
            g.n,
            g.m * g.n,
            &mut s,
        )
        .unwrap();
        for i in 0..batch {
            let r = i * g.m * g.n..(i + 1) * g.m * g.n;
            let mut ci = c0[r.clone()].to_vec();
            sgemm(&g, &a[i * g.m * g.k..], g.k, &b, g.k, &mut ci, g.n, &mut s).unwrap();
            assert!(bits_eq(&ci, &c[r]), "m {m} batch {i}");
        }
    }
}

/// A hand-computed GEMV in the torch Linear layout (`y = x * W^T + y`), where the summation
/// order matters: 1e8 + 1 - 1e8 in f32 depends on where the 1 is added.
#[test]
fn small_m_hand_computed() {
    // W rows: [1, 2, 3], [4, 5, 6]; x = [1, 1, 2]; y0 = [10, 20]; y = x W^T + y0.
    let g = Gemm {
        trans_b: true,
        beta: 1.0,
        ..Gemm::new(1, 2, 3)
    };
    let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let x = [1.0, 1.0, 2.0];
    for isa in isas() {
        let mut y = [10.0, 20.0];
        sgemm_for(isa, &g, &x, 3, &w, 3, &mut y, 2, &mut []).unwrap();
        assert_eq!(y, [19.0, 41.0], "{isa:?}");
    }
    // k = 9: lanes 0 and 8 share lane 0, so 1e8 and -1e8 cancel exactly before the 1s
    // in lanes 1..7 are added: the sum is exactly 7 (the sequential order gives 0). With the
    // 4-lane portable dot, lane 0 holds 1e8 + 1 (rounds to 1e8) - 1e8 = 0 and lanes 1..3
    // hold 2 each: 6.
    let g = Gemm {
        trans_b: true,
        ..Gemm::new(1, 1, 9)
    };
    let x = [1e8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1e8];
    let w = [1.0; 9];
    for isa in isas() {
        let mut y = [f32::NAN];
        sgemm_for(isa, &g, &x, 9, &w, 9, &mut y, 1, &mut []).unwrap();
        let want = if MCU_DOT && isa == Isa::Generic {
            6.0
        } else {
            7.0
        };
        assert_eq!(y, [want], "{isa:?}");
    }
}

fn bits_eq(x: &[f32], y: &[f32]) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| a.to_bits() == b.to_bits())
}

/// Shared weights with stacked A and C: the batched call runs one tall GEMM; it must give
/// the same bits as separate calls.
#[test]
fn batched_tall_merge_same_bits() {
    let g = Gemm::new(5, 37, 300);
    let batch = 7;
    let a = fill(batch * g.m * g.k, 1);
    let b = fill(g.k * g.n, 2);
    let mut c = vec![0.0; batch * g.m * g.n];
    let mut s = vec![0.0; scratch_len(&g)];
    sgemm_batched(
        &g,
        batch,
        &a,
        g.k,
        g.m * g.k,
        &b,
        g.n,
        0,
        &mut c,
        g.n,
        g.m * g.n,
        &mut s,
    )
    .unwrap();
    for i in 0..batch {
        let mut ci = vec![0.0; g.m * g.n];
        sgemm(&g, &a[i * g.m * g.k..], g.k, &b, g.n, &mut ci, g.n, &mut s).unwrap();
        assert!(bits_eq(&ci, &c[i * g.m * g.n..(i + 1) * g.m * g.n]));
    }
}

/// Large enough to cross every block boundary: m > MC, n > NC, k > KC.
#[test]
fn crosses_all_blocks() {
    for (ta, tb) in [(false, false), (true, true)] {
        let g = Gemm {
            trans_a: ta,
            trans_b: tb,
            alpha: 0.5,
            beta: 1.0,
            ..Gemm::new(150, 4100, 260)
        };
        let cs = Case::new(g, 1, 0, 2, 9);
        let want = cs.reference();
        for isa in isas() {
            cs.assert_close(&cs.run(isa), &want);
        }
    }
}

/// Small hand-computed product.
#[test]
fn hand_computed() {
    // [1 2 3; 4 5 6] * [7 8; 9 10; 11 12] = [58 64; 139 154]
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
    let g = Gemm::new(2, 2, 3);
    for isa in isas() {
        let mut c = [0.0; 4];
        sgemm_for(isa, &g, &a, 3, &b, 2, &mut c, 2, &mut []).unwrap();
        assert_eq!(c, [58.0, 64.0, 139.0, 154.0]);
    }
    let mut c = [1.0; 4];
    let g = Gemm {
        alpha: 2.0,
        beta: -1.0,
        trans_b: true,
        ..g
    };
    // B^T stored 2 x 3: [7 9 11; 8 10 12]
    let bt = [7.0, 9.0, 11.0, 8.0, 10.0, 12.0];
    sgemm_reference(&g, &a, 3, &bt, 3, &mut c, 2).unwrap();
    assert_eq!(c, [115.0, 127.0, 277.0, 307.0]);
}

/// Runs `f` on every ISA with the given problem and returns C for each.
fn each_isa(g: &Gemm, a: &[f32], b: &[f32], c0: &[f32]) -> Vec<Vec<f32>> {
    let (lda, ldb) = (
        if g.trans_a { g.m } else { g.k },
        if g.trans_b { g.k } else { g.n },
    );
    let mut out = Vec::new();
    for isa in isas() {
        let mut c = c0.to_vec();
        let mut s = vec![0.0; scratch_len_for(isa, g)];
        sgemm_for(isa, g, a, lda, b, ldb, &mut c, g.n, &mut s).unwrap();
        out.push(c);
    }
    let mut c = c0.to_vec();
    sgemm_reference(g, a, lda, b, ldb, &mut c, g.n).unwrap();
    out.push(c);
    out
}

#[test]
fn beta_zero_ignores_nan_in_c() {
    for (m, n, k) in [(3, 5, 4), (40, 40, 40)] {
        let g = Gemm::new(m, n, k);
        let a = fill(m * k, 1);
        let b = fill(k * n, 2);
        for c in each_isa(&g, &a, &b, &vec![f32::NAN; m * n]) {
            assert!(c.iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn alpha_zero_and_k_zero_scale_c() {
    let c0 = [1.0, -2.0, 3.0, f32::NAN];
    // alpha == 0: A (full of NaN) is not read; C = beta * C.
    let g = Gemm {
        alpha: 0.0,
        beta: 2.0,
        ..Gemm::new(2, 2, 3)
    };
    for c in each_isa(&g, &[f32::NAN; 6], &[1.0; 6], &c0) {
        assert_eq!(&c[..3], &[2.0, -4.0, 6.0]);
        assert!(c[3].is_nan());
    }
    // k == 0 with beta 0: C = 0.
    let g = Gemm::new(2, 2, 0);
    for c in each_isa(&g, &[], &[], &c0) {
        assert_eq!(c, vec![0.0; 4]);
    }
    // m == 0 and n == 0: nothing happens.
    for (m, n) in [(0, 3), (3, 0)] {
        let g = Gemm::new(m, n, 2);
        let mut c = [5.0; 4];
        sgemm(&g, &[1.0; 6], 2, &[1.0; 6], n, &mut c, n.max(1), &mut []).unwrap();
        assert_eq!(c, [5.0; 4]);
    }
}

#[test]
fn deterministic_bits() {
    let cs = Case::new(
        Gemm {
            alpha: 0.3,
            beta: 0.7,
            ..Gemm::new(70, 90, 600)
        },
        0,
        0,
        0,
        4,
    );
    for isa in isas() {
        let first = cs.run(isa);
        for _ in 0..3 {
            assert!(bits_eq(&first, &cs.run(isa)));
        }
    }
}

#[test]
fn scratch_sizes() {
    // Small plain-B products need no scratch anywhere.
    assert_eq!(scratch_len(&Gemm::new(1, 4096, 4096)), 0);
    assert_eq!(scratch_len(&Gemm::new(32, 32, 32)), 0);
    for isa in isas() {
        // Nor does any product with m <= 4 (the small-m path), transposed or not.
        for m in 1..=SMALL_M {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let g = Gemm {
                    trans_a: ta,
                    trans_b: tb,
                    ..Gemm::new(m, 4096, 4096)
                };
                assert_eq!(scratch_len_for(isa, &g), 0);
            }
        }
        assert_eq!(scratch_len_for(isa, &Gemm::new(0, 9, 9)), 0);
        assert_eq!(scratch_len_for(isa, &Gemm::new(9, 9, 0)), 0);
    }
    if Isa::Avx2Fma.is_available() {
        // Formula from the module docs.
        let s = |m, n, k| scratch_len_for(Isa::Avx2Fma, &Gemm::new(m, n, k));
        assert_eq!(s(512, 512, 512), 144 * 256 + 512 * 256 + 32);
        assert_eq!(s(1024, 1024, 1024), 144 * 256 + 1024 * 256 + 32);
        let gt = Gemm {
            trans_b: true,
            ..Gemm::new(5, 4096, 4096)
        };
        assert_eq!(scratch_len_for(Isa::Avx2Fma, &gt), 6 * 256 + 64 * 256 + 32);
        // A single A block (m <= 144): four 16-wide B panels at a time.
        assert_eq!(s(100, 1000, 300), 102 * 256 + 64 * 256 + 32);
    }
}

// ---------------------------------------------------------------------------------------
// Errors

fn sgemm_err(
    g: &Gemm,
    la: usize,
    lda: usize,
    lb: usize,
    ldb: usize,
    lc: usize,
    ldc: usize,
) -> Error {
    let (a, b) = (vec![0.0; la], vec![0.0; lb]);
    let mut c = vec![0.0; lc];
    let mut s = vec![0.0; scratch_len(g)];
    let e1 = sgemm(g, &a, lda, &b, ldb, &mut c, ldc, &mut s).unwrap_err();
    let e2 = sgemm_reference(g, &a, lda, &b, ldb, &mut c, ldc).unwrap_err();
    assert_eq!(e1, e2, "fast and reference paths report the same error");
    e1
}

#[test]
fn error_short_buffers() {
    let g = Gemm::new(3, 4, 5);
    let e = sgemm_err(&g, 14, 5, 20, 4, 12, 4);
    assert_eq!(
        e,
        Error::BufferTooSmall {
            op: "gemm",
            what: "a",
            needed: 15,
            len: 14
        }
    );
    let e = sgemm_err(&g, 15, 5, 19, 4, 12, 4);
    assert!(matches!(
        e,
        Error::BufferTooSmall {
            what: "b",
            needed: 20,
            len: 19,
            ..
        }
    ));
    let e = sgemm_err(&g, 15, 5, 20, 4, 11, 4);
    assert!(matches!(
        e,
        Error::BufferTooSmall {
            what: "c",
            needed: 12,
            len: 11,
            ..
        }
    ));
    // With padding strides: A 3 x 5 at lda 7 needs 2 * 7 + 5 = 19.
    let e = sgemm_err(&g, 18, 7, 20, 4, 12, 4);
    assert!(matches!(
        e,
        Error::BufferTooSmall {
            what: "a",
            needed: 19,
            ..
        }
    ));
    // Transposed A is 5 x 3: needs 4 * 3 + 3 = 15 at lda 3.
    let gt = Gemm { trans_a: true, ..g };
    let e = sgemm_err(&gt, 14, 3, 20, 4, 12, 4);
    assert!(matches!(
        e,
        Error::BufferTooSmall {
            what: "a",
            needed: 15,
            ..
        }
    ));
}

#[test]
fn error_bad_leading_dims() {
    let g = Gemm::new(3, 4, 5);
    for (lda, ldb, ldc) in [(4, 4, 4), (5, 3, 4), (5, 4, 3)] {
        let e = sgemm_err(&g, 100, lda, 100, ldb, 100, ldc);
        assert!(
            matches!(e, Error::InvalidArgument { op: "gemm", .. }),
            "{e:?}"
        );
    }
    // trans_b: stored B is 4 x 5, so ldb must be >= 5.
    let g = Gemm { trans_b: true, ..g };
    let e = sgemm_err(&g, 100, 5, 100, 4, 100, 4);
    assert!(matches!(e, Error::InvalidArgument { op: "gemm", .. }));
}

#[test]
fn error_overflow() {
    let g = Gemm::new(usize::MAX / 2, 1, 4);
    let e = sgemm_err(&g, 4, 4, 4, 1, 4, 1);
    assert_eq!(e, Error::Overflow { op: "gemm" });
}

#[test]
fn error_short_scratch() {
    let g = Gemm::new(100, 100, 100);
    let need = scratch_len(&g);
    assert!(need > 0);
    let a = vec![0.0; 10_000];
    let mut c = vec![0.0; 10_000];
    let mut s = vec![0.0; need - 1];
    let e = sgemm(&g, &a, 100, &a, 100, &mut c, 100, &mut s).unwrap_err();
    assert_eq!(
        e,
        Error::BufferTooSmall {
            op: "gemm",
            what: "scratch",
            needed: need,
            len: need - 1
        }
    );
    let e = sgemm_batched(
        &g,
        2,
        &a,
        100,
        0,
        &a,
        100,
        0,
        &mut vec![0.0; 20_000],
        100,
        10_000,
        &mut s,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::BufferTooSmall {
            what: "scratch",
            ..
        }
    ));
}

#[test]
fn error_unavailable_isa() {
    let g = Gemm::new(2, 2, 2);
    for isa in [Isa::Avx2Fma, Isa::Neon] {
        if !isa.is_available() {
            let e = sgemm_for(
                isa,
                &g,
                &[0.0; 4],
                2,
                &[0.0; 4],
                2,
                &mut [0.0; 4],
                2,
                &mut [],
            )
            .unwrap_err();
            assert!(matches!(e, Error::InvalidArgument { op: "gemm", .. }));
        }
    }
}

#[test]
fn error_batched() {
    let g = Gemm::new(2, 2, 2);
    let mut s = vec![0.0; scratch_len(&g)];
    // stride_c == 0 with several batches.
    let e = sgemm_batched(
        &g,
        2,
        &[0.0; 8],
        2,
        4,
        &[0.0; 8],
        2,
        4,
        &mut [0.0; 8],
        2,
        0,
        &mut s,
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { op: "gemm", .. }));
    // Second batch's A runs past the buffer: needs 4 + 4 = 8.
    let e = sgemm_batched(
        &g,
        2,
        &[0.0; 7],
        2,
        4,
        &[0.0; 8],
        2,
        4,
        &mut [0.0; 8],
        2,
        4,
        &mut s,
    )
    .unwrap_err();
    assert_eq!(
        e,
        Error::BufferTooSmall {
            op: "gemm",
            what: "a",
            needed: 8,
            len: 7
        }
    );
    let e = sgemm_batched(
        &g,
        3,
        &[0.0; 4],
        2,
        0,
        &[0.0; 8],
        2,
        4,
        &mut [0.0; 12],
        2,
        4,
        &mut s,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::BufferTooSmall {
            what: "b",
            needed: 12,
            ..
        }
    ));
    let e = sgemm_batched(
        &g,
        3,
        &[0.0; 4],
        2,
        0,
        &[0.0; 4],
        2,
        0,
        &mut [0.0; 11],
        2,
        4,
        &mut s,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::BufferTooSmall {
            what: "c",
            needed: 12,
            ..
        }
    ));
    // batch == 0 is a no-op.
    sgemm_batched(&g, 0, &[], 2, 4, &[], 2, 4, &mut [], 2, 4, &mut s).unwrap();
}

// ---------------------------------------------------------------------------------------
// NumPy fixtures (scripts/fixtures/gemm.py)

#[derive(Deserialize)]
struct Fixtures {
    cases: Vec<Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    alpha: f32,
    beta: f32,
    lda: usize,
    ldb: usize,
    ldc: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    expected: Vec<f32>,
}

#[test]
fn numpy_fixtures() {
    let text = include_str!("fixtures/gemm.json");
    let fx: Fixtures = serde_json::from_str(text).expect("fixture json");
    assert!(fx.cases.len() >= 10);
    for f in &fx.cases {
        let g = Gemm {
            m: f.m,
            n: f.n,
            k: f.k,
            trans_a: f.trans_a,
            trans_b: f.trans_b,
            alpha: f.alpha,
            beta: f.beta,
        };
        let cs = Case {
            g,
            lda: f.lda,
            ldb: f.ldb,
            ldc: f.ldc,
            a: f.a.clone(),
            b: f.b.clone(),
            c: f.c.clone(),
        };
        // The fixture's C stops after the last row's n-th column; padding columns of the
        // last row are absent, so compare through `assert_close` on a padded copy.
        let pad = |v: &[f32]| {
            let mut p = v.to_vec();
            p.resize(f.m * f.ldc, 0.0);
            p
        };
        let cs = Case {
            c: pad(&cs.c),
            ..cs
        };
        let want = pad(&f.expected);
        let mut fixed_want = want.clone();
        // Padding columns of the expected output equal the input's.
        for i in 0..f.m {
            for j in f.n..f.ldc {
                fixed_want[i * f.ldc + j] = cs.c[i * f.ldc + j];
            }
        }
        cs.assert_close(&cs.reference(), &fixed_want);
        for isa in isas() {
            cs.assert_close(&cs.run(isa), &fixed_want);
        }
        let mut got = cs.c.clone();
        let mut s = vec![0.0; scratch_len(&g)];
        sgemm(&g, &cs.a, cs.lda, &cs.b, cs.ldb, &mut got, cs.ldc, &mut s).unwrap();
        cs.assert_close(&got, &fixed_want);
    }
}
