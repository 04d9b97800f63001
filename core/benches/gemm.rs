//! Single-thread f32 GEMM: born `sgemm` against `matrixmultiply::sgemm` in the same run.
//!
//! `cargo bench -p born-core --features std --bench gemm`
//! Throughput is 2 * m * n * k elements per iteration, so criterion's `elem/s` is FLOP/s.
//! Group `sgemv` holds small-m shapes (ids `m{m}_n{n}_k{k}_tb{trans_b}`); run only those with
//! `cargo bench -p born-core --features std --bench gemm -- sgemv`.

use born_core::kernels::gemm::{scratch_len, sgemm, Gemm};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn fill(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

fn bench_gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgemm");
    for &n in &[64usize, 256, 512, 1024] {
        let (m, k) = (n, n);
        let a = fill(m * k, 1);
        let b = fill(k * n, 2);
        let mut out = vec![0.0f32; m * n];
        let g = Gemm::new(m, n, k);
        let mut scratch = vec![0.0f32; scratch_len(&g)];
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        let (samples, secs) = if n >= 512 { (10, 3) } else { (20, 2) };
        group.sample_size(samples);
        group.measurement_time(Duration::from_secs(secs));
        group.warm_up_time(Duration::from_millis(500));
        group.bench_with_input(BenchmarkId::new("born", n), &n, |bch, _| {
            bch.iter(|| {
                sgemm(
                    &g,
                    black_box(&a),
                    k,
                    black_box(&b),
                    n,
                    &mut out,
                    n,
                    &mut scratch,
                )
                .ok();
                black_box(&out);
            })
        });
        group.bench_with_input(BenchmarkId::new("matrixmultiply", n), &n, |bch, _| {
            bch.iter(|| {
                // SAFETY: a is m x k, b is k x n, out is m x n, all row-major with the
                // strides given, and each buffer holds exactly that many elements.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(a.as_ptr()),
                        k as isize,
                        1,
                        black_box(b.as_ptr()),
                        n as isize,
                        1,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                };
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_gemm, bench_gemv);
criterion_main!(benches);

fn bench_gemv(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgemv");
    // (m, n, k, trans_b). The first ones are batch-1 fully connected layers as the
    // interpreter runs them (`x[1, k] * W[n, k]^T`, torch Linear layout).
    for &(m, n, k, tb) in &[
        (1usize, 128usize, 784usize, true),
        (1, 10, 128, true),
        (1, 64, 1568, true),
        (4, 3072, 768, true),
        (1, 128, 784, false),
        (4, 3072, 768, false),
        (1, 1024, 1024, false),
        (1, 1024, 1024, true),
        (4, 1024, 1024, true),
        (1, 4096, 4096, true),
    ] {
        let a = fill(m * k, 1);
        let b = fill(k * n, 2);
        let mut out = vec![0.0f32; m * n];
        let g = Gemm {
            trans_b: tb,
            ..Gemm::new(m, n, k)
        };
        let ldb = if tb { k } else { n };
        let mut scratch = vec![0.0f32; scratch_len(&g)];
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(1));
        group.warm_up_time(Duration::from_millis(300));
        let id = format!("m{m}_n{n}_k{k}_tb{}", tb as u8);
        group.bench_function(BenchmarkId::new("born", &id), |bch| {
            bch.iter(|| {
                sgemm(
                    &g,
                    black_box(&a),
                    k,
                    black_box(&b),
                    ldb,
                    &mut out,
                    n,
                    &mut scratch,
                )
                .ok();
                black_box(&out);
            })
        });
        let (rsb, csb) = if tb {
            (1isize, k as isize)
        } else {
            (n as isize, 1)
        };
        group.bench_function(BenchmarkId::new("matrixmultiply", &id), |bch| {
            bch.iter(|| {
                // SAFETY: a is m x k, b is k x n with strides (rsb, csb), out is m x n.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(a.as_ptr()),
                        k as isize,
                        1,
                        black_box(b.as_ptr()),
                        rsb,
                        csb,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                };
                black_box(&out);
            })
        });
    }
    group.finish();
}
