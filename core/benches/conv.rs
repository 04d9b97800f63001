//! born `conv2d` (the dispatching entry point) against `conv2d_im2col` (im2col + sgemm) in
//! the same run, batch 1, 3x3, padding 1, on
//! - 32 -> 32 channels, 32 x 32;
//! - the MNIST CNN's two convolutions: 1 -> 16 channels on 28 x 28, 16 -> 32 on 14 x 14.
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

fn bench_case(c: &mut Criterion, name: &str, c_in: usize, c_out: usize, hw: usize) {
    let p = Conv2d {
        padding: [1; 4],
        ..Conv2d::default()
    };
    let xs = [1, c_in, hw, hw];
    let ws = [c_out, c_in, 3, 3];
    let x = fill(c_in * hw * hw, 1);
    let w = fill(c_out * c_in * 9, 2);
    let b = fill(c_out, 3);
    let os = p.output_shape(xs, ws).expect("valid shapes");
    let mut out = vec![0.0f32; os.iter().product()];
    let mut s_fast = vec![0.0f32; p.scratch_len(xs, ws).expect("valid shapes")];
    let mut s_col = vec![0.0f32; p.im2col_scratch_len(xs, ws).expect("valid shapes")];
    let flops = (2 * c_out * hw * hw * c_in * 9) as u64;
    let mut group = c.benchmark_group(name);
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

fn bench_conv(c: &mut Criterion) {
    bench_case(c, "conv2d_3x3_32x32x32", 32, 32, 32);
    bench_case(c, "mnist_conv1_1to16_28x28", 1, 16, 28);
    bench_case(c, "mnist_conv2_16to32_14x14", 16, 32, 14);
}

criterion_group!(benches, bench_conv);
criterion_main!(benches);
