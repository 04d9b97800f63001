//! int8 kernels and quantization: NumPy fixtures from an independent transcription of
//! TFLite's int8 rules (scripts/fixtures/int8.py), every fast path against its reference
//! twin on random geometry and quantization, hand-computed cases and every error path.
//!
//! Tolerance: none. Every comparison is bit-exact (multipliers, shifts, int8 outputs; the
//! dequantized floats are compared by bits too).

use born_core::kernels::conv::Conv2d;
use born_core::kernels::int8::{
    add, add_reference, avg_pool2d, avg_pool2d_reference, conv2d, conv2d_for, conv2d_reference,
    fully_connected, fully_connected_for, fully_connected_reference, max_pool2d,
    max_pool2d_reference, softmax, softmax_reference, AddParams, ConvParams, FcParams, Isa,
    SoftmaxParams,
};
use born_core::kernels::pool::Pool2d;
use born_core::quant::{
    dequantize, multiply_by_quantized_multiplier, quantize, quantize_multiplier,
    rounding_divide_by_pot, saturating_rounding_doubling_high_mul, QuantParams,
};
use born_core::Error;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/int8.json");

fn isas() -> Vec<Isa> {
    Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
}

fn ints<T: TryFrom<i64>>(v: &Value) -> Vec<T>
where
    T::Error: std::fmt::Debug,
{
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| T::try_from(e.as_i64().expect("int")).expect("range"))
        .collect()
}

fn int(v: &Value) -> i32 {
    i32::try_from(v.as_i64().expect("int")).expect("range")
}

fn f(v: &Value) -> f32 {
    v.as_f64().expect("number") as f32
}

fn dims<const N: usize>(v: &Value) -> [usize; N] {
    let a: Vec<usize> = ints::<i64>(v).into_iter().map(|x| x as usize).collect();
    a.try_into().expect("length")
}

fn doc() -> Value {
    serde_json::from_str(FIXTURES).expect("fixture JSON")
}

/// Multipliers and shifts for per-channel weights, derived as the kernels' users would.
fn derive(s_in: f32, s_w: &[f32], s_out: f32) -> (Vec<i32>, Vec<i32>) {
    s_w.iter()
        .map(|&sw| {
            quantize_multiplier(f64::from(s_in) * f64::from(sw) / f64::from(s_out))
                .expect("multiplier")
        })
        .unzip()
}

#[test]
fn numpy_multipliers() {
    let d = doc();
    for c in d["multipliers"].as_array().unwrap() {
        let real = c["real"].as_f64().unwrap();
        let got = quantize_multiplier(real).expect("valid");
        assert_eq!(
            got,
            (int(&c["multiplier"]), int(&c["shift"])),
            "real {real}"
        );
    }
    for c in d["mbqm"].as_array().unwrap() {
        let v: Vec<i32> = ints(c);
        assert_eq!(
            multiply_by_quantized_multiplier(v[0], v[1], v[2]),
            v[3],
            "mbqm{v:?}"
        );
    }
}

#[test]
fn numpy_fully_connected() {
    let d = doc();
    let cases = d["fc"].as_array().unwrap();
    for c in cases {
        let s_w: Vec<f32> = c["s_w"].as_array().unwrap().iter().map(f).collect();
        let (m, s) = derive(f(&c["s_in"]), &s_w, f(&c["s_out"]));
        assert_eq!(m, ints::<i32>(&c["multiplier"]));
        assert_eq!(s, ints::<i32>(&c["shift"]));
        let p = FcParams {
            batch: c["batch"].as_u64().unwrap() as usize,
            in_features: c["in"].as_u64().unwrap() as usize,
            out_features: c["out"].as_u64().unwrap() as usize,
            input_zero_point: int(&c["zp_in"]),
            output_zero_point: int(&c["zp_out"]),
            act_min: int(&c["act_min"]) as i8,
            act_max: int(&c["act_max"]) as i8,
        };
        let x: Vec<i8> = ints(&c["x"]);
        let w: Vec<i8> = ints(&c["w"]);
        let bias: Option<Vec<i32>> = c["bias"].as_array().map(|_| ints(&c["bias"]));
        let want: Vec<i8> = ints(&c["expected"]);
        let mut out = vec![0i8; want.len()];
        fully_connected_reference(&p, &x, &w, bias.as_deref(), &m, &s, &mut out).unwrap();
        assert_eq!(out, want, "reference {p:?}");
        for isa in isas() {
            out.fill(0);
            let mut scratch = vec![0; p.scratch_len()];
            fully_connected_for(
                isa,
                &p,
                &x,
                &w,
                bias.as_deref(),
                &m,
                &s,
                &mut out,
                &mut scratch,
            )
            .unwrap();
            assert_eq!(out, want, "{isa:?} {p:?}");
        }
    }
    assert!(cases.len() >= 5);
}

#[test]
fn numpy_conv2d() {
    let d = doc();
    let cases = d["conv"].as_array().unwrap();
    for c in cases {
        let s_w: Vec<f32> = c["s_w"].as_array().unwrap().iter().map(f).collect();
        let (m, s) = derive(f(&c["s_in"]), &s_w, f(&c["s_out"]));
        assert_eq!(m, ints::<i32>(&c["multiplier"]));
        assert_eq!(s, ints::<i32>(&c["shift"]));
        let p = ConvParams {
            conv: Conv2d {
                stride: dims(&c["stride"]),
                padding: dims(&c["padding"]),
                dilation: dims(&c["dilation"]),
                groups: c["groups"].as_u64().unwrap() as usize,
            },
            input_zero_point: int(&c["zp_in"]),
            output_zero_point: int(&c["zp_out"]),
            act_min: int(&c["act_min"]) as i8,
            act_max: int(&c["act_max"]) as i8,
        };
        let (xs, ws) = (dims::<4>(&c["x_shape"]), dims::<4>(&c["w_shape"]));
        let x: Vec<i8> = ints(&c["x"]);
        let w: Vec<i8> = ints(&c["w"]);
        let bias: Option<Vec<i32>> = c["bias"].as_array().map(|_| ints(&c["bias"]));
        let want: Vec<i8> = ints(&c["expected"]);
        let os = p.output_shape(xs, ws).unwrap();
        assert_eq!(os.iter().product::<usize>(), want.len());
        let mut out = vec![0i8; want.len()];
        conv2d_reference(&p, &x, xs, &w, ws, bias.as_deref(), &m, &s, &mut out).unwrap();
        assert_eq!(out, want, "reference {p:?} {xs:?} {ws:?}");
        let mut scratch = vec![0i32; p.scratch_len(xs, ws).unwrap()];
        for isa in isas() {
            out.fill(0);
            conv2d_for(
                isa,
                &p,
                &x,
                xs,
                &w,
                ws,
                bias.as_deref(),
                &m,
                &s,
                &mut out,
                &mut scratch,
            )
            .unwrap();
            assert_eq!(out, want, "{isa:?} {p:?} {xs:?} {ws:?}");
        }
    }
    assert!(cases.len() >= 6);
}

/// Max pooling whose windows all lie inside the input (the fast path, incl. 2 x 2 stride
/// 2 as in the MNIST CNN), and with a ceil-mode overhang (the general path), against the
/// reference on larger planes than the property test draws.
#[test]
fn max_pool_inside_windows() {
    let cases = [
        (Pool2d::new([2, 2]), [1, 16, 28, 28]),
        (Pool2d::new([2, 2]), [2, 3, 15, 17]),
        (
            Pool2d {
                ceil_mode: true,
                ..Pool2d::new([2, 2])
            },
            [1, 3, 15, 17],
        ),
        (
            Pool2d {
                stride: [2, 1],
                ..Pool2d::new([3, 3])
            },
            [1, 2, 11, 9],
        ),
        (Pool2d::new([1, 1]), [1, 1, 1, 5]),
    ];
    for (p, shape) in cases {
        let len: usize = shape.iter().product();
        let x: Vec<i8> = (0..len).map(|i| (i * 37 % 251) as i8).collect();
        let [oh, ow] = p.output_hw(shape[2], shape[3]).unwrap();
        let olen = shape[0] * shape[1] * oh * ow;
        let (mut want, mut got) = (vec![0i8; olen], vec![0x55i8; olen]);
        max_pool2d_reference(&p, &x, shape, &mut want).unwrap();
        max_pool2d(&p, &x, shape, &mut got).unwrap();
        assert_eq!(got, want, "{p:?} {shape:?}");
    }
}

#[test]
fn numpy_pools() {
    let d = doc();
    for c in d["pool"].as_array().unwrap() {
        let p = Pool2d {
            kernel: dims(&c["kernel"]),
            stride: dims(&c["stride"]),
            padding: dims(&c["padding"]),
            dilation: dims(&c["dilation"]),
            ceil_mode: c["ceil_mode"].as_bool().unwrap(),
            count_include_pad: c["count_include_pad"].as_bool().unwrap(),
        };
        let shape = dims::<4>(&c["shape"]);
        let x: Vec<i8> = ints(&c["x"]);
        let want: Vec<i8> = ints(&c["expected"]);
        let (fast, reference): (PoolFn, PoolFn) = if c["kind"] == "max" {
            (max_pool2d, max_pool2d_reference)
        } else {
            (avg_pool2d, avg_pool2d_reference)
        };
        for func in [fast, reference] {
            let mut out = vec![0i8; want.len()];
            func(&p, &x, shape, &mut out).unwrap();
            assert_eq!(out, want, "{} {p:?} {shape:?}", c["kind"]);
        }
    }
}

#[test]
fn numpy_add() {
    let d = doc();
    for c in d["add"].as_array().unwrap() {
        let p = AddParams::new(
            f(&c["s1"]),
            int(&c["zp1"]),
            f(&c["s2"]),
            int(&c["zp2"]),
            f(&c["s_out"]),
            int(&c["zp_out"]),
            int(&c["act_min"]) as i8,
            int(&c["act_max"]) as i8,
        )
        .unwrap();
        let want_p: Vec<i32> = ints(&c["params"]);
        let got_p = vec![
            p.input1_offset,
            p.input2_offset,
            p.output_offset,
            p.left_shift,
            p.input1_multiplier,
            p.input1_shift,
            p.input2_multiplier,
            p.input2_shift,
            p.output_multiplier,
            p.output_shift,
        ];
        assert_eq!(got_p, want_p);
        let a: Vec<i8> = ints(&c["a"]);
        let b: Vec<i8> = ints(&c["b"]);
        let want: Vec<i8> = ints(&c["expected"]);
        let mut out = vec![0i8; a.len()];
        add_reference(&p, &a, &b, &mut out).unwrap();
        assert_eq!(out, want);
        out.fill(0);
        add(&p, &a, &b, &mut out).unwrap();
        assert_eq!(out, want);
    }
}

#[test]
fn numpy_softmax() {
    let d = doc();
    for c in d["softmax"].as_array().unwrap() {
        let p = SoftmaxParams::new(f(&c["beta"]), f(&c["s_in"])).unwrap();
        let want_p: Vec<i32> = ints(&c["params"]);
        assert_eq!(
            vec![p.input_beta_multiplier, p.input_beta_left_shift, p.diff_min],
            want_p
        );
        let (rows, cols) = (
            c["rows"].as_u64().unwrap() as usize,
            c["cols"].as_u64().unwrap() as usize,
        );
        let x: Vec<i8> = ints(&c["x"]);
        let want: Vec<i8> = ints(&c["expected"]);
        let mut out = vec![0i8; x.len()];
        softmax_reference(&p, &x, rows, cols, &mut out).unwrap();
        assert_eq!(out, want, "reference {p:?}");
        out.fill(0);
        softmax(&p, &x, rows, cols, &mut out).unwrap();
        assert_eq!(out, want, "{p:?}");
    }
}

#[test]
fn numpy_quantize_dequantize_and_params() {
    let d = doc();
    for c in d["quantize"].as_array().unwrap() {
        let x: Vec<f32> = c["x"].as_array().unwrap().iter().map(f).collect();
        let (scale, zp) = (f(&c["scale"]), int(&c["zp"]));
        let want: Vec<i8> = ints(&c["q"]);
        let mut q = vec![0i8; x.len()];
        quantize(&x, scale, zp, &mut q).unwrap();
        assert_eq!(q, want, "scale {scale} zp {zp}");
        let mut back = vec![0f32; q.len()];
        dequantize(&q, scale, zp, &mut back).unwrap();
        let want_back: Vec<f32> = c["deq"].as_array().unwrap().iter().map(f).collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&want_back));
    }
    for c in d["qparams"].as_array().unwrap() {
        let qp = QuantParams::from_min_max(f(&c["min"]), f(&c["max"])).unwrap();
        assert_eq!(qp.scale.to_bits(), f(&c["scale"]).to_bits(), "{c}");
        assert_eq!(qp.zero_point, int(&c["zp"]), "{c}");
    }
}

type PoolFn = fn(&Pool2d, &[i8], [usize; 4], &mut [i8]) -> born_core::Result<()>;

// ---------------------------------------------------------------- property tests

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        Just(3),
        Just(7),
        Just(8),
        Just(9),
        Just(15),
        Just(16),
        Just(17),
        Just(31),
        Just(32),
        Just(33),
        Just(65),
        1usize..80,
    ]
}

fn zp() -> impl Strategy<Value = i32> {
    prop_oneof![Just(-128), Just(127), Just(0), -128i32..=127]
}

fn shift() -> impl Strategy<Value = i32> {
    prop_oneof![Just(-31), Just(30), Just(0), -31i32..=30, -12i32..=2]
}

fn multiplier() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(i32::MAX),
        Just(1 << 30),
        Just(0),
        Just(i32::MIN),
        (1i32 << 30)..i32::MAX,
        any::<i32>()
    ]
}

fn act() -> impl Strategy<Value = (i8, i8)> {
    (any::<i8>(), any::<i8>()).prop_map(|(a, b)| (a.min(b), a.max(b)))
}

fn bytes(len: usize) -> impl Strategy<Value = Vec<i8>> {
    prop::collection::vec(
        prop_oneof![Just(-128i8), Just(127i8), any::<i8>(), any::<i8>()],
        len,
    )
}

#[derive(Debug, Clone)]
struct FcCase {
    p: FcParams,
    x: Vec<i8>,
    w: Vec<i8>,
    bias: Option<Vec<i32>>,
    m: Vec<i32>,
    s: Vec<i32>,
}

fn fc_case() -> impl Strategy<Value = FcCase> {
    (
        1usize..4,
        size(),
        1usize..12,
        zp(),
        zp(),
        act(),
        any::<bool>(),
    )
        .prop_flat_map(|(batch, k, n, zi, zo, (lo, hi), has_bias)| {
            let p = FcParams {
                batch,
                in_features: k,
                out_features: n,
                input_zero_point: zi,
                output_zero_point: zo,
                act_min: lo,
                act_max: hi,
            };
            (
                Just(p),
                bytes(batch * k),
                bytes(n * k),
                prop::collection::vec(any::<i32>(), n).prop_map(move |b| has_bias.then_some(b)),
                prop::collection::vec(multiplier(), n),
                prop::collection::vec(shift(), n),
            )
        })
        .prop_map(|(p, x, w, bias, m, s)| FcCase {
            p,
            x,
            w,
            bias,
            m,
            s,
        })
}

#[derive(Debug, Clone)]
struct ConvCase {
    p: ConvParams,
    xs: [usize; 4],
    ws: [usize; 4],
    x: Vec<i8>,
    w: Vec<i8>,
    bias: Option<Vec<i32>>,
    m: Vec<i32>,
    s: Vec<i32>,
}

#[allow(clippy::type_complexity)]
fn conv_geometry(depthwise: bool) -> impl Strategy<Value = (ConvParams, [usize; 4], [usize; 4])> {
    (
        1usize..3,
        1usize..4,
        1usize..5,
        1usize..4,
        (1usize..4, 1usize..4),
        (1usize..3, 1usize..3),
        (1usize..3, 1usize..3),
        [0usize..3, 0usize..3, 0usize..3, 0usize..3],
        (1usize..10, 1usize..10),
        (zp(), zp(), act()),
    )
        .prop_filter_map(
            "kernel larger than padded input",
            move |(n, groups, cg, og, (kh, kw), stride, dil, pad, (h, w), (zi, zo, (lo, hi)))| {
                let (groups, cg) = if depthwise {
                    (groups + 1, 1)
                } else {
                    (groups, cg)
                };
                let c = groups * cg;
                let p = ConvParams {
                    conv: Conv2d {
                        stride: [stride.0, stride.1],
                        padding: pad,
                        dilation: [dil.0, dil.1],
                        groups,
                    },
                    input_zero_point: zi,
                    output_zero_point: zo,
                    act_min: lo,
                    act_max: hi,
                };
                let xs = [n, c, h, w];
                let ws = [groups * og, cg, kh, kw];
                p.output_shape(xs, ws).ok().map(|_| (p, xs, ws))
            },
        )
}

/// Stride-1 convolutions with rows of 8 to 40 columns, up to 20 input and 14 output
/// channels per group: the register-tiled AVX2 strategy (channel pairs, and column pairs
/// for one input channel per group), with every tile height and width tail.
#[allow(clippy::type_complexity)]
fn wide_geometry() -> impl Strategy<Value = (ConvParams, [usize; 4], [usize; 4])> {
    (
        (1usize..3, 1usize..3),
        prop_oneof![Just(1usize), 1usize..21],
        1usize..15,
        (1usize..6, 1usize..6),
        (1usize..3, 1usize..3),
        [0usize..3, 0usize..3, 0usize..3, 0usize..3],
        (1usize..8, 6usize..41),
        (zp(), zp(), act()),
    )
        .prop_filter_map(
            "kernel larger than padded input",
            |((n, groups), cg, og, (kh, kw), dil, pad, (h, w), (zi, zo, (lo, hi)))| {
                let p = ConvParams {
                    conv: Conv2d {
                        stride: [1, 1],
                        padding: pad,
                        dilation: [dil.0, dil.1],
                        groups,
                    },
                    input_zero_point: zi,
                    output_zero_point: zo,
                    act_min: lo,
                    act_max: hi,
                };
                let xs = [n, groups * cg, h, w];
                let ws = [groups * og, cg, kh, kw];
                p.output_shape(xs, ws).ok().map(|_| (p, xs, ws))
            },
        )
}

fn conv_case(depthwise: bool) -> impl Strategy<Value = ConvCase> {
    conv_case_from(conv_geometry(depthwise))
}

fn conv_case_from(
    geometry: impl Strategy<Value = (ConvParams, [usize; 4], [usize; 4])>,
) -> impl Strategy<Value = ConvCase> {
    (geometry, any::<bool>())
        .prop_flat_map(|((p, xs, ws), has_bias)| {
            let o = ws[0];
            (
                Just((p, xs, ws)),
                bytes(xs.iter().product()),
                bytes(ws.iter().product()),
                prop::collection::vec(-100_000i32..100_000, o)
                    .prop_map(move |b| has_bias.then_some(b)),
                prop::collection::vec(multiplier(), o),
                prop::collection::vec(shift(), o),
            )
        })
        .prop_map(|((p, xs, ws), x, w, bias, m, s)| ConvCase {
            p,
            xs,
            ws,
            x,
            w,
            bias,
            m,
            s,
        })
}

fn run_conv_cases(cs: &ConvCase) -> Result<(), TestCaseError> {
    let os = cs.p.output_shape(cs.xs, cs.ws).unwrap();
    let len: usize = os.iter().product();
    let mut want = vec![0i8; len];
    conv2d_reference(
        &cs.p,
        &cs.x,
        cs.xs,
        &cs.w,
        cs.ws,
        cs.bias.as_deref(),
        &cs.m,
        &cs.s,
        &mut want,
    )
    .unwrap();
    let mut scratch = vec![0i32; cs.p.scratch_len(cs.xs, cs.ws).unwrap()];
    for isa in isas() {
        let mut got = vec![0x55i8; len];
        conv2d_for(
            isa,
            &cs.p,
            &cs.x,
            cs.xs,
            &cs.w,
            cs.ws,
            cs.bias.as_deref(),
            &cs.m,
            &cs.s,
            &mut got,
            &mut scratch,
        )
        .unwrap();
        prop_assert_eq!(&got, &want, "{:?}", isa);
    }
    Ok(())
}

fn pool_case() -> impl Strategy<Value = (Pool2d, [usize; 4], Vec<i8>)> {
    (
        (1usize..3, 1usize..4, 1usize..10, 1usize..10),
        (1usize..4, 1usize..4),
        (1usize..4, 1usize..4),
        (1usize..3, 1usize..3),
        [0usize..2, 0usize..2, 0usize..2, 0usize..2],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter_map("invalid pool", |(shape, k, s, d, pad, ceil, inc)| {
            let pad = [
                pad[0].min(k.0 / 2),
                pad[1].min(k.1 / 2),
                pad[2].min(k.0 / 2),
                pad[3].min(k.1 / 2),
            ];
            let p = Pool2d {
                kernel: [k.0, k.1],
                stride: [s.0, s.1],
                padding: pad,
                dilation: [d.0, d.1],
                ceil_mode: ceil,
                count_include_pad: inc,
            };
            p.output_hw(shape.2, shape.3)
                .ok()
                .map(|_| (p, [shape.0, shape.1, shape.2, shape.3]))
        })
        .prop_flat_map(|(p, shape)| (Just(p), Just(shape), bytes(shape.iter().product())))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fully_connected_paths_equal_reference(cs in fc_case()) {
        let mut want = vec![0i8; cs.p.batch * cs.p.out_features];
        fully_connected_reference(&cs.p, &cs.x, &cs.w, cs.bias.as_deref(), &cs.m, &cs.s, &mut want)
            .unwrap();
        let mut scratch = vec![0x55; cs.p.scratch_len()];
        for isa in isas() {
            let mut got = vec![0x55i8; want.len()];
            fully_connected_for(isa, &cs.p, &cs.x, &cs.w, cs.bias.as_deref(), &cs.m, &cs.s, &mut got, &mut scratch)
                .unwrap();
            prop_assert_eq!(&got, &want, "{:?}", isa);
        }
        let mut got = vec![0i8; want.len()];
        fully_connected(&cs.p, &cs.x, &cs.w, cs.bias.as_deref(), &cs.m, &cs.s, &mut got, &mut scratch).unwrap();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn conv2d_paths_equal_reference(cs in conv_case(false)) {
        run_conv_cases(&cs)?;
    }

    #[test]
    fn depthwise_paths_equal_reference(cs in conv_case(true)) {
        run_conv_cases(&cs)?;
    }

    /// The register-tiled strategy (on AVX2) against the reference, bit for bit, with
    /// extreme zero points, multipliers (incl. `i32::MIN`) and shifts.
    #[test]
    fn wide_conv2d_paths_equal_reference(cs in conv_case_from(wide_geometry())) {
        run_conv_cases(&cs)?;
    }

    #[test]
    fn pools_equal_reference((p, shape, x) in pool_case()) {
        let [oh, ow] = p.output_hw(shape[2], shape[3]).unwrap();
        let len = shape[0] * shape[1] * oh * ow;
        for (fast, reference) in [
            (max_pool2d as PoolFn, max_pool2d_reference as PoolFn),
            (avg_pool2d, avg_pool2d_reference),
        ] {
            let mut want = vec![0i8; len];
            let mut got = vec![0x55i8; len];
            reference(&p, &x, shape, &mut want).unwrap();
            fast(&p, &x, shape, &mut got).unwrap();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn add_equals_reference(
        n in size(),
        bcast in any::<bool>(),
        s1 in 0.001f32..1.0, s2 in 0.001f32..1.0, so in 0.001f32..1.0,
        z in (zp(), zp(), zp()), (lo, hi) in act(), seed in any::<u64>(),
    ) {
        let p = AddParams::new(s1, z.0, s2, z.1, so, z.2, lo, hi).unwrap();
        let a: Vec<i8> = (0..n).map(|i| (seed.rotate_left(i as u32 % 64) ^ (i as u64 * 0x9e37)) as i8).collect();
        let b: Vec<i8> = if bcast { vec![(seed >> 7) as i8] } else { a.iter().rev().map(|v| v.wrapping_mul(3)).collect() };
        let mut want = vec![0i8; n];
        let mut got = vec![0x55i8; n];
        add_reference(&p, &a, &b, &mut want).unwrap();
        add(&p, &a, &b, &mut got).unwrap();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn softmax_equals_reference_and_sums_to_one(
        rows in 1usize..4, cols in size(), beta in 0.1f32..4.0, s in 0.004f32..0.5,
        seed in any::<u64>(),
    ) {
        let p = SoftmaxParams::new(beta, s).unwrap();
        let x: Vec<i8> = (0..rows * cols).map(|i| (seed.wrapping_mul(i as u64 + 1) >> 13) as i8).collect();
        let mut want = vec![0i8; x.len()];
        let mut got = vec![0x55i8; x.len()];
        softmax_reference(&p, &x, rows, cols, &mut want).unwrap();
        softmax(&p, &x, rows, cols, &mut got).unwrap();
        prop_assert_eq!(&got, &want);
        for r in want.chunks(cols) {
            // Outputs have scale 1/256, zero point -128: their sum is about 256.
            let total: i32 = r.iter().map(|&v| i32::from(v) + 128).sum();
            prop_assert!((total - 256).abs() <= cols as i32 + 1, "{}", total);
        }
    }

    #[test]
    fn quantize_round_trips(x in prop::collection::vec(-50f32..50.0, 0..40), scale in 0.01f32..1.0, z in zp()) {
        let mut q = vec![0i8; x.len()];
        quantize(&x, scale, z, &mut q).unwrap();
        let mut back = vec![0f32; x.len()];
        dequantize(&q, scale, z, &mut back).unwrap();
        for (&v, &b) in x.iter().zip(&back) {
            let lo = (-128 - z) as f32 * scale;
            let hi = (127 - z) as f32 * scale;
            let clamped = v.clamp(lo, hi);
            prop_assert!((b - clamped).abs() <= scale * 0.5001 + 1e-6, "{} {} {}", v, b, scale);
        }
    }

    #[test]
    fn quantize_multiplier_reconstructs(real in 1e-9f64..1e8) {
        let (m, s) = quantize_multiplier(real).unwrap();
        prop_assert!((1 << 30..=i32::MAX).contains(&m));
        prop_assert!((-31..=30).contains(&s));
        let back = f64::from(m) * 2f64.powi(s - 31);
        prop_assert!(((back - real) / real).abs() <= 2f64.powi(-30));
    }
}

// ---------------------------------------------------------------- hand-computed cases

#[test]
fn fixed_point_hand_values() {
    // 2 * a * b / 2^32 rounded: 2^30 * 2^30 * 2 / 2^32 = 2^29.
    assert_eq!(
        saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
        1 << 29
    );
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
        i32::MAX
    );
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
        -i32::MAX
    );
    // Ties away from zero.
    assert_eq!(rounding_divide_by_pot(5, 1), 3);
    assert_eq!(rounding_divide_by_pot(-5, 1), -3);
    assert_eq!(rounding_divide_by_pot(4, 1), 2);
    assert_eq!(rounding_divide_by_pot(-6, 2), -2);
    assert_eq!(rounding_divide_by_pot(7, 0), 7);
    // mbqm(x, 2^30, 0) = x / 2.
    assert_eq!(multiply_by_quantized_multiplier(7, 1 << 30, 0), 4);
    // gemmlowp's high-mul nudge rounds negative ties toward zero: -3.5 -> -3.
    assert_eq!(multiply_by_quantized_multiplier(-7, 1 << 30, 0), -3);
    // 0.75 = (3 * 2^29) * 2^(0 - 31); 100 * 0.75 = 75.
    assert_eq!(multiply_by_quantized_multiplier(100, 3 << 29, 0), 75);
    // 0.5 * 2^-3 = 1/16: 1000 / 16 = 62.5 -> 63.
    assert_eq!(multiply_by_quantized_multiplier(1000, 1 << 30, -3), 63);
    // 0.5 * 2^2 = 2.
    assert_eq!(multiply_by_quantized_multiplier(-21, 1 << 30, 2), -42);
}

#[test]
fn quantize_multiplier_hand_values() {
    assert_eq!(quantize_multiplier(0.0).unwrap(), (0, 0));
    assert_eq!(quantize_multiplier(0.5).unwrap(), (1 << 30, 0));
    assert_eq!(quantize_multiplier(1.0).unwrap(), (1 << 30, 1));
    assert_eq!(quantize_multiplier(0.75).unwrap(), (3 << 29, 0));
    assert_eq!(quantize_multiplier(2f64.powi(-40)).unwrap(), (0, 0));
    // Rounds up to 2^31: halved, shift incremented.
    assert_eq!(quantize_multiplier(1.0 - 1e-12).unwrap(), (1 << 30, 1));
    assert_eq!(quantize_multiplier(2f64.powi(29)).unwrap(), (1 << 30, 30));
}

#[test]
fn quantize_rounds_half_away_from_zero() {
    let x = [
        0.5f32,
        -0.5,
        1.5,
        -1.5,
        2.5,
        -2.5,
        0.49999997,
        1e9,
        -1e9,
        f32::NAN,
    ];
    let mut q = [0i8; 10];
    quantize(&x, 1.0, 0, &mut q).unwrap();
    assert_eq!(q, [1, -1, 2, -2, 3, -3, 0, 127, -128, 0]);
    quantize(&x, 0.5, -3, &mut q).unwrap();
    assert_eq!(q, [-2, -4, 0, -6, 2, -8, -2, 127, -128, -3]);
    let mut f = [0f32; 3];
    dequantize(&[-128, 0, 127], 0.5, -3, &mut f).unwrap();
    assert_eq!(f, [-62.5, 1.5, 65.0]);
}

#[test]
fn quant_params_hand_values() {
    let p = QuantParams::from_min_max(0.0, 0.0).unwrap();
    assert_eq!((p.scale, p.zero_point), (1.0, 0));
    let p = QuantParams::from_min_max(0.0, 2.55).unwrap();
    assert_eq!(p.zero_point, -128);
    assert!((p.scale - 0.01).abs() < 1e-9);
    let p = QuantParams::from_min_max(-2.55, 0.0).unwrap();
    assert_eq!(p.zero_point, 127);
    let p = QuantParams::symmetric(12.7);
    assert_eq!(p.zero_point, 0);
    assert!((p.scale - 0.1).abs() < 1e-7);
    assert!(QuantParams::symmetric(0.0).scale > 0.0);
    assert!(QuantParams::symmetric(f32::NAN).scale > 0.0);
}

#[test]
fn fully_connected_hand_case() {
    // x - zp = [1, 2, 3], w rows [1, 1, 1] and [-1, 0, 2]: sums 6 and 5; bias [10, -5];
    // multiplier 0.5 (2^30, shift 0): 8 and 0; output zp 1; second clamped by act_min 2.
    let p = FcParams {
        batch: 1,
        in_features: 3,
        out_features: 2,
        input_zero_point: -1,
        output_zero_point: 1,
        act_min: 2,
        act_max: 127,
    };
    let x = [0i8, 1, 2];
    let w = [1i8, 1, 1, -1, 0, 2];
    let mut out = [0i8; 2];
    fully_connected(
        &p,
        &x,
        &w,
        Some(&[10, -5]),
        &[1 << 30; 2],
        &[0; 2],
        &mut out,
        &mut vec![0; p.scratch_len()],
    )
    .unwrap();
    assert_eq!(out, [9, 2]);
}

#[test]
fn conv_padding_contributes_nothing() {
    // 1x1 input of value zp + 2 with 3x3 kernel of ones and padding 1: only the centre tap
    // sees the input; everything else is padding (zero point).
    let p = ConvParams {
        conv: Conv2d {
            padding: [1; 4],
            ..Conv2d::default()
        },
        input_zero_point: 5,
        output_zero_point: 0,
        act_min: -128,
        act_max: 127,
    };
    let (xs, ws) = ([1, 1, 1, 1], [1, 1, 3, 3]);
    let mut out = [0i8; 1];
    let mut scratch = vec![0i32; p.scratch_len(xs, ws).unwrap()];
    // mbqm with (2^30, 1) is multiplication by 1.
    conv2d(
        &p,
        &[7],
        xs,
        &[1; 9],
        ws,
        None,
        &[1 << 30],
        &[1],
        &mut out,
        &mut scratch,
    )
    .unwrap();
    assert_eq!(out, [2]);
}

#[test]
fn avg_pool_rounding_hand_case() {
    let p = Pool2d::new([2, 2]);
    let mut out = [0i8; 2];
    // sums 6 (1.5 -> 2) and -6 (-1.5 -> -2), 5/4 = 1.25 -> 1 in the next case.
    avg_pool2d(&p, &[1, 2, 1, 2, -1, -2, -1, -2], [1, 2, 2, 2], &mut out).unwrap();
    assert_eq!(out, [2, -2]);
    avg_pool2d(&p, &[1, 1, 1, 2, -1, -1, -1, -2], [1, 2, 2, 2], &mut out).unwrap();
    assert_eq!(out, [1, -1]);
}

#[test]
fn softmax_hand_case() {
    // Equal inputs: each probability 1/4 -> 64/256 -> 64 - 128 = -64.
    let p = SoftmaxParams::new(1.0, 0.1).unwrap();
    let mut out = [0i8; 4];
    softmax(&p, &[3; 4], 1, 4, &mut out).unwrap();
    assert_eq!(out, [-64; 4]);
    // One dominant value: probability ~1 saturates at 127.
    softmax(&p, &[127, -128, -128, -128], 1, 4, &mut out).unwrap();
    assert_eq!(out, [127, -128, -128, -128]);
}

// ---------------------------------------------------------------- errors

fn fc_params() -> FcParams {
    FcParams {
        batch: 2,
        in_features: 3,
        out_features: 4,
        input_zero_point: 0,
        output_zero_point: 0,
        act_min: -128,
        act_max: 127,
    }
}

fn fc_call(
    p: &FcParams,
    xl: usize,
    wl: usize,
    bl: Option<usize>,
    ml: usize,
    sh: &[i32],
    ol: usize,
) -> Error {
    let x = vec![0i8; xl];
    let w = vec![0i8; wl];
    let b = bl.map(|n| vec![0i32; n]);
    let m = vec![1 << 30; ml];
    let mut out = vec![0i8; ol];
    let mut scratch = vec![0; p.scratch_len()];
    let e1 = fully_connected(p, &x, &w, b.as_deref(), &m, sh, &mut out, &mut scratch).unwrap_err();
    let e2 = fully_connected_reference(p, &x, &w, b.as_deref(), &m, sh, &mut out).unwrap_err();
    assert_eq!(e1, e2);
    e1
}

#[test]
fn fully_connected_errors() {
    let p = fc_params();
    let s4 = [0i32; 4];
    assert!(matches!(
        fc_call(&FcParams { batch: 0, ..p }, 0, 12, None, 4, &s4, 0),
        Error::ZeroDim { what: "batch", .. }
    ));
    assert!(matches!(
        fc_call(
            &FcParams {
                in_features: 0,
                ..p
            },
            0,
            0,
            None,
            4,
            &s4,
            8
        ),
        Error::ZeroDim { .. }
    ));
    assert!(matches!(
        fc_call(
            &FcParams {
                out_features: 0,
                ..p
            },
            6,
            0,
            None,
            0,
            &[],
            0
        ),
        Error::ZeroDim { .. }
    ));
    assert!(matches!(
        fc_call(
            &FcParams {
                input_zero_point: 128,
                ..p
            },
            6,
            12,
            None,
            4,
            &s4,
            8
        ),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        fc_call(
            &FcParams {
                output_zero_point: -129,
                ..p
            },
            6,
            12,
            None,
            4,
            &s4,
            8
        ),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        fc_call(
            &FcParams {
                act_min: 5,
                act_max: 4,
                ..p
            },
            6,
            12,
            None,
            4,
            &s4,
            8
        ),
        Error::InvalidArgument { .. }
    ));
    assert_eq!(
        fc_call(&p, 5, 12, None, 4, &s4, 8),
        Error::DimMismatch {
            op: "int8_fully_connected",
            what: "input length",
            expected: 6,
            got: 5
        }
    );
    assert!(matches!(
        fc_call(&p, 6, 13, None, 4, &s4, 8),
        Error::DimMismatch {
            what: "weight length",
            ..
        }
    ));
    assert!(matches!(
        fc_call(&p, 6, 12, Some(3), 4, &s4, 8),
        Error::DimMismatch {
            what: "bias length",
            ..
        }
    ));
    assert!(matches!(
        fc_call(&p, 6, 12, None, 5, &s4, 8),
        Error::DimMismatch {
            what: "multiplier length",
            ..
        }
    ));
    assert!(matches!(
        fc_call(&p, 6, 12, None, 4, &[0; 3], 8),
        Error::DimMismatch {
            what: "shift length",
            ..
        }
    ));
    assert!(matches!(
        fc_call(&p, 6, 12, None, 4, &[0, 31, 0, 0], 8),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        fc_call(&p, 6, 12, None, 4, &[0, -32, 0, 0], 8),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        fc_call(&p, 6, 12, None, 4, &s4, 9),
        Error::DimMismatch {
            what: "output length",
            ..
        }
    ));
    assert!(matches!(
        fc_call(
            &FcParams {
                batch: usize::MAX,
                ..p
            },
            6,
            12,
            None,
            4,
            &s4,
            8
        ),
        Error::Overflow { .. }
    ));
    if let Some(isa) = Isa::ALL.into_iter().find(|i| !i.is_available()) {
        let mut out = [0i8; 8];
        let mut scratch = vec![0; p.scratch_len()];
        let e = fully_connected_for(
            isa,
            &p,
            &[0; 6],
            &[0; 12],
            None,
            &[0; 4],
            &s4,
            &mut out,
            &mut scratch,
        );
        assert!(matches!(e, Err(Error::InvalidArgument { .. })));
    }
}

fn conv_err(
    p: &ConvParams,
    xs: [usize; 4],
    ws: [usize; 4],
    lens: [usize; 6],
    scratch: usize,
) -> Error {
    let x = vec![0i8; lens[0]];
    let w = vec![0i8; lens[1]];
    let b = vec![0i32; lens[2]];
    let m = vec![1 << 30; lens[3]];
    let s = vec![0i32; lens[4]];
    let mut out = vec![0i8; lens[5]];
    let mut sc = vec![0i32; scratch];
    let e1 = conv2d(p, &x, xs, &w, ws, Some(&b), &m, &s, &mut out, &mut sc).unwrap_err();
    if !matches!(e1, Error::BufferTooSmall { .. }) {
        let e2 = conv2d_reference(p, &x, xs, &w, ws, Some(&b), &m, &s, &mut out).unwrap_err();
        assert_eq!(e1, e2);
    }
    e1
}

#[test]
fn conv2d_errors() {
    let p = ConvParams {
        conv: Conv2d::default(),
        input_zero_point: 0,
        output_zero_point: 0,
        act_min: -128,
        act_max: 127,
    };
    let (xs, ws) = ([1, 2, 4, 4], [3, 2, 3, 3]);
    let ok = [32, 54, 3, 3, 3, 12];
    let sl = p.scratch_len(xs, ws).unwrap();
    // One 2 * 3 * 3 receptive field: 18 bytes in 5 words, plus its 4 whole words
    // offset-extended into 8.
    assert_eq!(sl, 5 + 8);
    assert!(matches!(
        conv_err(&p, [1, 0, 4, 4], ws, ok, sl),
        Error::ZeroDim { .. }
    ));
    assert!(matches!(
        conv_err(&p, xs, [3, 2, 0, 3], ok, sl),
        Error::ZeroDim { .. }
    ));
    assert!(matches!(
        conv_err(&p, xs, [3, 1, 3, 3], ok, sl),
        Error::DimMismatch { .. }
    ));
    assert!(matches!(
        conv_err(&p, [1, 2, 2, 2], ws, ok, sl),
        Error::InvalidArgument { .. }
    ));
    let bad_stride = ConvParams {
        conv: Conv2d {
            stride: [0, 1],
            ..Conv2d::default()
        },
        ..p
    };
    assert!(matches!(
        conv_err(&bad_stride, xs, ws, ok, sl),
        Error::InvalidArgument { .. }
    ));
    let bad_groups = ConvParams {
        conv: Conv2d {
            groups: 2,
            ..Conv2d::default()
        },
        ..p
    };
    assert!(matches!(
        conv_err(&bad_groups, xs, [3, 1, 3, 3], ok, sl),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        conv_err(
            &ConvParams {
                input_zero_point: -129,
                ..p
            },
            xs,
            ws,
            ok,
            sl
        ),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        conv_err(
            &ConvParams {
                output_zero_point: 200,
                ..p
            },
            xs,
            ws,
            ok,
            sl
        ),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        conv_err(
            &ConvParams {
                act_min: 1,
                act_max: 0,
                ..p
            },
            xs,
            ws,
            ok,
            sl
        ),
        Error::InvalidArgument { .. }
    ));
    let names = [
        "input length",
        "weight length",
        "bias length",
        "multiplier length",
        "shift length",
        "output length",
    ];
    for (i, name) in names.into_iter().enumerate() {
        let mut lens = ok;
        lens[i] += 1;
        match conv_err(&p, xs, ws, lens, sl) {
            Error::DimMismatch { what, .. } => assert_eq!(what, name),
            e => panic!("{name}: {e:?}"),
        }
    }
    assert!(matches!(
        conv_err(&p, xs, ws, ok, sl - 1),
        Error::BufferTooSmall {
            what: "scratch",
            ..
        }
    ));
    // Shift out of range.
    let mut out = [0i8; 12];
    let mut sc = vec![0i32; sl];
    let e = conv2d(
        &p,
        &[0; 32],
        xs,
        &[0; 54],
        ws,
        None,
        &[0; 3],
        &[0, 31, 0],
        &mut out,
        &mut sc,
    );
    assert!(matches!(e, Err(Error::InvalidArgument { .. })));
    if let Some(isa) = Isa::ALL.into_iter().find(|i| !i.is_available()) {
        let e = conv2d_for(
            isa, &p, &[0; 32], xs, &[0; 54], ws, None, &[0; 3], &[0; 3], &mut out, &mut sc,
        );
        assert!(matches!(e, Err(Error::InvalidArgument { .. })));
    }
    // Depthwise needs no scratch.
    let dw = ConvParams {
        conv: Conv2d {
            groups: 2,
            ..Conv2d::default()
        },
        ..p
    };
    assert_eq!(dw.scratch_len(xs, [4, 1, 3, 3]).unwrap(), 0);
}

#[test]
fn pool_errors() {
    let p = Pool2d::new([2, 2]);
    for (f, r) in [
        (max_pool2d as PoolFn, max_pool2d_reference as PoolFn),
        (avg_pool2d, avg_pool2d_reference),
    ] {
        for func in [f, r] {
            let mut out = [0i8; 4];
            assert!(matches!(
                func(&p, &[0; 16], [0, 1, 4, 4], &mut out),
                Err(Error::ZeroDim { .. })
            ));
            assert!(matches!(
                func(&p, &[0; 16], [1, 0, 4, 4], &mut out),
                Err(Error::ZeroDim { .. })
            ));
            assert!(matches!(
                func(&p, &[0; 16], [1, 1, 0, 4], &mut out),
                Err(Error::ZeroDim { .. })
            ));
            assert!(matches!(
                func(&p, &[0; 15], [1, 1, 4, 4], &mut out),
                Err(Error::BufferTooSmall { what: "input", .. })
            ));
            assert!(matches!(
                func(&p, &[0; 16], [1, 1, 4, 4], &mut out[..3]),
                Err(Error::BufferTooSmall { what: "output", .. })
            ));
            let bad = Pool2d {
                stride: [0, 1],
                ..p
            };
            assert!(matches!(
                func(&bad, &[0; 16], [1, 1, 4, 4], &mut out),
                Err(Error::InvalidArgument { .. })
            ));
            let big = Pool2d::new([5, 5]);
            assert!(matches!(
                func(&big, &[0; 16], [1, 1, 4, 4], &mut out),
                Err(Error::InvalidArgument { .. })
            ));
            assert!(matches!(
                func(&p, &[0; 16], [usize::MAX, 2, 4, 4], &mut out),
                Err(Error::Overflow { .. })
            ));
        }
    }
}

#[test]
fn add_errors() {
    let bad = Error::InvalidArgument {
        op: "AddParams::new",
        what: "scale must be finite and positive",
    };
    assert_eq!(AddParams::new(0.0, 0, 1.0, 0, 1.0, 0, -128, 127), Err(bad));
    assert_eq!(
        AddParams::new(1.0, 0, f32::NAN, 0, 1.0, 0, -128, 127),
        Err(bad)
    );
    assert_eq!(AddParams::new(1.0, 0, 1.0, 0, -1.0, 0, -128, 127), Err(bad));
    assert!(matches!(
        AddParams::new(1.0, 128, 1.0, 0, 1.0, 0, -128, 127),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        AddParams::new(1.0, 0, 1.0, 0, 1.0, 0, 1, 0),
        Err(Error::InvalidArgument { .. })
    ));
    // Output scale so small that the output factor is not below 1.
    assert!(matches!(
        AddParams::new(1.0, 0, 1.0, 0, 1e-9, 0, -128, 127),
        Err(Error::InvalidArgument { .. })
    ));
    let p = AddParams::new(0.1, 0, 0.1, 0, 0.2, 0, -128, 127).unwrap();
    for func in [add, add_reference] {
        let mut out = [0i8; 3];
        assert!(matches!(
            func(&p, &[], &[], &mut []),
            Err(Error::ZeroDim { .. })
        ));
        assert!(matches!(
            func(&p, &[1, 2, 3], &[1, 2], &mut out),
            Err(Error::DimMismatch { .. })
        ));
        assert!(matches!(
            func(&p, &[1, 2, 3], &[1], &mut out[..2]),
            Err(Error::DimMismatch { .. })
        ));
        let hand = AddParams {
            left_shift: 21,
            ..p
        };
        assert!(matches!(
            func(&hand, &[1, 2, 3], &[1], &mut out),
            Err(Error::InvalidArgument { .. })
        ));
        let hand = AddParams {
            output_shift: 1,
            ..p
        };
        assert!(matches!(
            func(&hand, &[1, 2, 3], &[1], &mut out),
            Err(Error::InvalidArgument { .. })
        ));
        let hand = AddParams {
            input1_offset: i32::MIN,
            ..p
        };
        assert!(matches!(
            func(&hand, &[1, 2, 3], &[1], &mut out),
            Err(Error::InvalidArgument { .. })
        ));
        let hand = AddParams {
            act_min: 3,
            act_max: 2,
            ..p
        };
        assert!(matches!(
            func(&hand, &[1, 2, 3], &[1], &mut out),
            Err(Error::InvalidArgument { .. })
        ));
    }
}

#[test]
fn softmax_errors() {
    assert!(matches!(
        SoftmaxParams::new(0.0, 0.1),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        SoftmaxParams::new(1.0, f32::INFINITY),
        Err(Error::InvalidArgument { .. })
    ));
    // beta * scale * 2^26 <= 1.
    assert!(matches!(
        SoftmaxParams::new(1.0, 1e-9),
        Err(Error::InvalidArgument { .. })
    ));
    let p = SoftmaxParams::new(1.0, 0.1).unwrap();
    for func in [softmax, softmax_reference] {
        let mut out = [0i8; 6];
        assert!(matches!(
            func(&p, &[0; 6], 0, 6, &mut out),
            Err(Error::ZeroDim { .. })
        ));
        assert!(matches!(
            func(&p, &[0; 6], 2, 0, &mut out),
            Err(Error::ZeroDim { .. })
        ));
        assert!(matches!(
            func(&p, &[0; 5], 2, 3, &mut out),
            Err(Error::DimMismatch { .. })
        ));
        assert!(matches!(
            func(&p, &[0; 6], 2, 3, &mut out[..5]),
            Err(Error::DimMismatch { .. })
        ));
        assert!(matches!(
            func(&p, &[0; 6], usize::MAX, 3, &mut out),
            Err(Error::Overflow { .. })
        ));
        let hand = SoftmaxParams {
            input_beta_left_shift: 31,
            ..p
        };
        assert!(matches!(
            func(&hand, &[0; 6], 2, 3, &mut out),
            Err(Error::InvalidArgument { .. })
        ));
        let hand = SoftmaxParams { diff_min: 1, ..p };
        assert!(matches!(
            func(&hand, &[0; 6], 2, 3, &mut out),
            Err(Error::InvalidArgument { .. })
        ));
    }
}

#[test]
fn quant_errors() {
    for real in [-1.0, f64::NAN, f64::INFINITY, 2f64.powi(31)] {
        assert!(
            matches!(
                quantize_multiplier(real),
                Err(Error::InvalidArgument { .. })
            ),
            "{real}"
        );
    }
    let mut q = [0i8; 2];
    let mut f = [0f32; 2];
    for scale in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert!(matches!(
            quantize(&[1.0, 2.0], scale, 0, &mut q),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            dequantize(&[1, 2], scale, 0, &mut f),
            Err(Error::InvalidArgument { .. })
        ));
    }
    assert!(matches!(
        quantize(&[1.0, 2.0], 1.0, 128, &mut q),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        dequantize(&[1, 2], 1.0, -129, &mut f),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        quantize(&[1.0], 1.0, 0, &mut q),
        Err(Error::DimMismatch { .. })
    ));
    assert!(matches!(
        dequantize(&[1, 2, 3], 1.0, 0, &mut f),
        Err(Error::DimMismatch { .. })
    ));
    for (lo, hi) in [(1.0, 0.0), (f32::NAN, 1.0), (0.0, f32::INFINITY)] {
        assert!(matches!(
            QuantParams::from_min_max(lo, hi),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
