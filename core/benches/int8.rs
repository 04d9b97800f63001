//! int8 kernels against the f32 kernels on the same shapes, in the same run:
//! - fully connected 1 x 784 -> 128: `int8::fully_connected` vs `gemm::sgemm` (`x * w^T`,
//!   w stored `[out, in]` like the int8 weights);
//! - the MNIST CNN's convolutions, 3x3, padding 1, batch 1: 16 -> 32 channels on 14 x 14
//!   and 1 -> 16 channels on 28 x 28: `int8::conv2d` vs `conv::conv2d`.
//!
//! `cargo bench -p born-core --features std --bench int8`
//! Throughput is the number of multiply-adds, so criterion's `elem/s` is MAC/s.

use born_core::kernels::conv::{conv2d as conv2d_f32, Conv2d};
use born_core::kernels::gemm::{scratch_len, sgemm, Gemm};
use born_core::kernels::int8::{conv2d, fully_connected, ConvParams, FcParams};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn xorshift(seed: u32) -> impl FnMut() -> u32 {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s
    }
}

fn fill_f32(len: usize, seed: u32) -> Vec<f32> {
    let mut r = xorshift(seed);
    (0..len)
        .map(|_| (r() >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        .collect()
}

fn fill_i8(len: usize, seed: u32) -> Vec<i8> {
    let mut r = xorshift(seed);
    (0..len).map(|_| (r() >> 24) as i8).collect()
}

fn bench_fc(c: &mut Criterion) {
    let (k, n) = (784, 128);
    let p = FcParams {
        batch: 1,
        in_features: k,
        out_features: n,
        input_zero_point: -3,
        output_zero_point: 5,
        act_min: -128,
        act_max: 127,
    };
    let (x8, w8) = (fill_i8(k, 1), fill_i8(n * k, 2));
    let bias: Vec<i32> = (0..n as i32).map(|i| i * 37 - 2000).collect();
    let mult = vec![1_300_000_000i32; n];
    let shift = vec![-9i32; n];
    let mut out8 = vec![0i8; n];
    let (x, w) = (fill_f32(k, 1), fill_f32(n * k, 2));
    let g = Gemm {
        trans_b: true,
        ..Gemm::new(1, n, k)
    };
    let mut out = vec![0f32; n];
    let mut scratch = vec![0f32; scratch_len(&g)];
    let mut group = c.benchmark_group("fc_1x784x128");
    group.throughput(Throughput::Elements((k * n) as u64));
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(300));
    let mut fc_scratch = vec![0i32; p.scratch_len()];
    group.bench_function("int8_fully_connected", |b| {
        b.iter(|| {
            fully_connected(
                &p,
                black_box(&x8),
                &w8,
                Some(&bias),
                &mult,
                &shift,
                &mut out8,
                &mut fc_scratch,
            )
            .ok();
            black_box(&out8);
        })
    });
    group.bench_function("f32_sgemm", |b| {
        b.iter(|| {
            sgemm(&g, black_box(&x), k, &w, k, &mut out, n, &mut scratch).ok();
            black_box(&out);
        })
    });
    group.finish();
}

fn bench_conv(c: &mut Criterion) {
    bench_conv_case(c, "conv3x3_16to32_14x14", 16, 32, 14);
    bench_conv_case(c, "conv3x3_1to16_28x28", 1, 16, 28);
}

fn bench_conv_case(c: &mut Criterion, name: &str, c_in: usize, c_out: usize, hw: usize) {
    let conv = Conv2d {
        padding: [1; 4],
        ..Conv2d::default()
    };
    let p = ConvParams {
        conv,
        input_zero_point: -3,
        output_zero_point: 5,
        act_min: -128,
        act_max: 127,
    };
    let (xs, ws) = ([1, c_in, hw, hw], [c_out, c_in, 3, 3]);
    let (xl, wl) = (c_in * hw * hw, c_out * c_in * 9);
    let os = p.output_shape(xs, ws).expect("valid shapes");
    let ol: usize = os.iter().product();
    let (x8, w8) = (fill_i8(xl, 3), fill_i8(wl, 4));
    let bias: Vec<i32> = (0..c_out as i32).map(|i| i * 11 - 100).collect();
    let mult = vec![1_300_000_000i32; c_out];
    let shift = vec![-8i32; c_out];
    let mut out8 = vec![0i8; ol];
    let mut s8 = vec![0i32; p.scratch_len(xs, ws).expect("valid shapes")];
    let (x, w, bf) = (fill_f32(xl, 3), fill_f32(wl, 4), fill_f32(c_out, 5));
    let mut out = vec![0f32; ol];
    let mut sf = vec![0f32; conv.scratch_len(xs, ws).expect("valid shapes")];
    let macs = (ol * c_in * 9) as u64;
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(macs));
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(300));
    group.bench_function("int8_conv2d", |b| {
        b.iter(|| {
            conv2d(
                &p,
                black_box(&x8),
                xs,
                &w8,
                ws,
                Some(&bias),
                &mult,
                &shift,
                &mut out8,
                &mut s8,
            )
            .ok();
            black_box(&out8);
        })
    });
    group.bench_function("f32_conv2d", |b| {
        b.iter(|| {
            conv2d_f32(
                &conv,
                black_box(&x),
                xs,
                &w,
                ws,
                Some(&bf),
                &mut out,
                &mut sf,
            )
            .ok();
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, bench_fc, bench_conv);
criterion_main!(benches);
