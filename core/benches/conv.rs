//! conv2d 3x3, 32 -> 32 channels, 32 x 32, batch 1, padding 1: born `conv2d` (implicit GEMM)
//! against `conv2d_im2col` (im2col + sgemm) in the same run.
//!
//! `cargo bench -p born-core --features std --bench conv`
//! Throughput is 2 * c_out * oh * ow * c_in * kh * kw elements, so criterion's `elem/s` is
//! FLOP/s.

use born_core::kernels::conv::{conv2d, conv2d_im2col, Conv2d};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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

fn bench_conv(c: &mut Criterion) {
    let p = Conv2d {
        padding: [1; 4],
        ..Conv2d::default()
    };
    let xs = [1, 32, 32, 32];
    let ws = [32, 32, 3, 3];
    let x = fill(32 * 32 * 32, 1);
    let w = fill(32 * 32 * 9, 2);
    let b = fill(32, 3);
    let os = p.output_shape(xs, ws).expect("valid shapes");
    let mut out = vec![0.0f32; os.iter().product()];
    let mut s_fast = vec![0.0f32; p.scratch_len(xs, ws).expect("valid shapes")];
    let mut s_col = vec![0.0f32; p.im2col_scratch_len(xs, ws).expect("valid shapes")];
    let flops = 2 * 32 * 32 * 32 * 32 * 9;
    let mut group = c.benchmark_group("conv2d_3x3_32x32x32");
    group.throughput(Throughput::Elements(flops));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_millis(500));
    group.bench_function("born_conv2d", |bch| {
        bch.iter(|| {
            conv2d(
                &p,
                black_box(&x),
                xs,
                &w,
                ws,
                Some(&b),
                &mut out,
                &mut s_fast,
            )
            .ok();
            black_box(&out);
        })
    });
    group.bench_function("im2col_sgemm", |bch| {
        bch.iter(|| {
            conv2d_im2col(
                &p,
                black_box(&x),
                xs,
                &w,
                ws,
                Some(&b),
                &mut out,
                &mut s_col,
            )
            .ok();
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_conv);
criterion_main!(benches);
