//! Tests of `born_core::kernels::conv`.
//!
//! Tolerance: for each output, |got - want| <= 1e-5 * sqrt(K + 1) * scale + 1e-6 with
//! `K = c_in / groups * kh * kw` and `scale = sum |w * x| + |bias|` over the taps (the
//! magnitude of the terms), as for GEMM. The direct strategy (depthwise, bare metal) must
//! match the reference bit for bit.

use born_core::kernels::conv::{conv2d, conv2d_direct, conv2d_im2col, conv2d_reference, Conv2d};
use born_core::Error;
use proptest::prelude::*;
use serde::Deserialize;

fn fill(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(777);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

#[derive(Clone, Debug)]
struct Case {
    p: Conv2d,
    xs: [usize; 4],
    ws: [usize; 4],
    x: Vec<f32>,
    w: Vec<f32>,
    b: Option<Vec<f32>>,
}

impl Case {
    fn new(p: Conv2d, xs: [usize; 4], ws: [usize; 4], bias: bool, seed: u32) -> Case {
        Case {
            p,
            xs,
            ws,
            x: fill(xs.iter().product(), seed),
            w: fill(ws.iter().product(), seed ^ 0x1234),
            b: bias.then(|| fill(ws[0], seed ^ 0x9999)),
        }
    }

    fn out_len(&self) -> usize {
        self.p
            .output_shape(self.xs, self.ws)
            .unwrap()
            .iter()
            .product()
    }

    fn reference(&self) -> Vec<f32> {
        let mut o = vec![f32::NAN; self.out_len()];
        conv2d_reference(
            &self.p,
            &self.x,
            self.xs,
            &self.w,
            self.ws,
            self.b.as_deref(),
            &mut o,
        )
        .unwrap();
        o
    }

    fn fast(&self) -> Vec<f32> {
        let mut o = vec![f32::NAN; self.out_len()];
        let mut s = vec![f32::NAN; self.p.scratch_len(self.xs, self.ws).unwrap()];
        conv2d(
            &self.p,
            &self.x,
            self.xs,
            &self.w,
            self.ws,
            self.b.as_deref(),
            &mut o,
            &mut s,
        )
        .unwrap();
        o
    }

    fn im2col(&self) -> Vec<f32> {
        let mut o = vec![f32::NAN; self.out_len()];
        let mut s = vec![f32::NAN; self.p.im2col_scratch_len(self.xs, self.ws).unwrap()];
        conv2d_im2col(
            &self.p,
            &self.x,
            self.xs,
            &self.w,
            self.ws,
            self.b.as_deref(),
            &mut o,
            &mut s,
        )
        .unwrap();
        o
    }

    /// Per-output tolerance scale: sum of |w * x| over the taps plus |bias|, in f64.
    fn scales(&self) -> Vec<f64> {
        let [n, c, h, wd] = self.xs;
        let [o, cg, kh, kw] = self.ws;
        let [_, _, oh, ow] = self.p.output_shape(self.xs, self.ws).unwrap();
        let og = o / self.p.groups;
        let [pt, pl, _, _] = self.p.padding;
        let mut out = Vec::new();
        for ni in 0..n {
            for oc in 0..o {
                let grp = oc / og;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = self.b.as_ref().map_or(0.0, |b| b[oc].abs() as f64);
                        for ic in 0..cg {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * self.p.stride[0] + ky * self.p.dilation[0])
                                        as isize
                                        - pt as isize;
                                    let ix = (ox * self.p.stride[1] + kx * self.p.dilation[1])
                                        as isize
                                        - pl as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        continue;
                                    }
                                    let xv = self.x[((ni * c + grp * cg + ic) * h + iy as usize)
                                        * wd
                                        + ix as usize];
                                    let wv = self.w[((oc * cg + ic) * kh + ky) * kw + kx];
                                    s += (xv as f64 * wv as f64).abs();
                                }
                            }
                        }
                        out.push(s);
                    }
                }
            }
        }
        out
    }

    fn assert_close(&self, got: &[f32], want: &[f32]) {
        let k = self.ws[1] * self.ws[2] * self.ws[3];
        let rel = 1e-5 * ((k + 1) as f64).sqrt();
        let scales = self.scales();
        assert_eq!(got.len(), want.len());
        for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(&scales).enumerate() {
            let tol = rel * s + 1e-6;
            let err = (g as f64 - w as f64).abs();
            assert!(
                err <= tol,
                "{:?} x {:?} w {:?}: out[{i}] got {g} want {w} err {err} tol {tol}",
                self.p,
                self.xs,
                self.ws
            );
        }
    }
}

fn bits_eq(x: &[f32], y: &[f32]) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| a.to_bits() == b.to_bits())
}

/// Random valid convolutions: groups (incl. depthwise with multiplier), strides, dilations,
/// asymmetric padding, odd sizes.
fn case() -> impl Strategy<Value = Case> {
    (
        1usize..3,                                    // batch
        prop::sample::select(vec![1usize, 2, 3, 4]),  // groups
        1usize..5,                                    // c_in per group
        prop::sample::select(vec![1usize, 2, 3]),     // c_out per group
        (1usize..14, 1usize..20),                     // h, w
        (1usize..5, 1usize..5),                       // kh, kw
        (1usize..4, 1usize..4),                       // stride
        (1usize..3, 1usize..3),                       // dilation
        (0usize..3, 0usize..3, 0usize..3, 0usize..3), // padding
        any::<bool>(),                                // bias
        any::<u32>(),
    )
        .prop_filter_map(
            "kernel larger than padded input",
            |(n, groups, cg, og, (h, w), (kh, kw), stride, dil, pads, bias, seed)| {
                let p = Conv2d {
                    stride: [stride.0, stride.1],
                    padding: [pads.0, pads.1, pads.2, pads.3],
                    dilation: [dil.0, dil.1],
                    groups,
                };
                let xs = [n, groups * cg, h, w];
                let ws = [groups * og, cg, kh, kw];
                p.output_shape(xs, ws).ok()?;
                Some(Case::new(p, xs, ws, bias, seed))
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn conv2d_matches_reference(cs in case()) {
        let want = cs.reference();
        cs.assert_close(&cs.fast(), &want);
    }

    #[test]
    fn im2col_matches_reference(cs in case()) {
        let want = cs.reference();
        cs.assert_close(&cs.im2col(), &want);
    }

    /// The scratch-free direct kernel (bare-metal strategy) on every kind of convolution:
    /// the same bits as the reference.
    #[test]
    fn direct_bits_equal_reference(cs in case()) {
        let mut o = vec![f32::NAN; cs.out_len()];
        conv2d_direct(&cs.p, &cs.x, cs.xs, &cs.w, cs.ws, cs.b.as_deref(), &mut o).unwrap();
        prop_assert!(bits_eq(&o, &cs.reference()));
    }

    /// Depthwise uses the direct strategy, whose bits equal the reference's.
    #[test]
    fn depthwise_bits_equal_reference(cs in case()) {
        let c = cs.xs[1];
        let dw = Case::new(
            Conv2d { groups: c, ..cs.p },
            cs.xs,
            [c * cs.ws[0].div_ceil(cs.p.groups).max(1), 1, cs.ws[2], cs.ws[3]],
            cs.b.is_some(),
            7,
        );
        if c > 1 && dw.p.output_shape(dw.xs, dw.ws).is_ok() {
            prop_assert_eq!(dw.p.scratch_len(dw.xs, dw.ws).unwrap(), 0);
            prop_assert!(bits_eq(&dw.fast(), &dw.reference()));
        }
    }
}

/// Bigger cases for each strategy: implicit GEMM (3x3 with padding, crossing several GEMM
/// blocks and panels that span output rows), pointwise (1x1), grouped.
#[test]
fn larger_cases() {
    let pad1 = Conv2d {
        padding: [1; 4],
        ..Conv2d::default()
    };
    let cases = [
        Case::new(pad1, [1, 32, 32, 32], [32, 32, 3, 3], true, 1),
        Case::new(pad1, [2, 40, 13, 19], [70, 40, 3, 3], true, 2),
        // The MNIST CNN's convolutions (spread and padded layouts on AVX2).
        Case::new(pad1, [1, 1, 28, 28], [16, 1, 3, 3], true, 6),
        Case::new(pad1, [1, 16, 14, 14], [32, 16, 3, 3], true, 7),
        Case::new(Conv2d::default(), [2, 48, 9, 11], [20, 48, 1, 1], true, 3),
        Case::new(
            Conv2d { groups: 4, ..pad1 },
            [1, 32, 10, 10],
            [16, 8, 3, 3],
            false,
            4,
        ),
        Case::new(
            Conv2d {
                stride: [2, 2],
                padding: [3, 3, 3, 3],
                ..Conv2d::default()
            },
            [1, 3, 33, 35],
            [16, 3, 7, 7],
            true,
            5,
        ),
    ];
    for cs in &cases {
        let want = cs.reference();
        cs.assert_close(&cs.fast(), &want);
        cs.assert_close(&cs.im2col(), &want);
    }
}

#[test]
fn hand_computed() {
    // 1 x 1 x 3 x 3 input 1..9, 2 x 2 kernel of ones, stride 1, no padding:
    // [[1+2+4+5, 2+3+5+6], [4+5+7+8, 5+6+8+9]] = [[12, 16], [24, 28]], plus bias 0.5.
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let w = [1.0; 4];
    let p = Conv2d::default();
    let (xs, ws) = ([1, 1, 3, 3], [1, 1, 2, 2]);
    assert_eq!(p.output_shape(xs, ws).unwrap(), [1, 1, 2, 2]);
    let mut o = [0.0; 4];
    conv2d_reference(&p, &x, xs, &w, ws, Some(&[0.5]), &mut o).unwrap();
    assert_eq!(o, [12.5, 16.5, 24.5, 28.5]);
    let mut s = vec![0.0; p.scratch_len(xs, ws).unwrap()];
    conv2d(&p, &x, xs, &w, ws, Some(&[0.5]), &mut o, &mut s).unwrap();
    assert_eq!(o, [12.5, 16.5, 24.5, 28.5]);
    // Padding 1, stride 2: taps centred on (0,0), (0,2), (2,0), (2,2) of a 3x3 kernel of
    // ones: corners sum their 2x2 neighbourhoods.
    let p = Conv2d {
        stride: [2, 2],
        padding: [1; 4],
        ..Conv2d::default()
    };
    let ws = [1, 1, 3, 3];
    assert_eq!(p.output_shape(xs, ws).unwrap(), [1, 1, 2, 2]);
    let mut s = vec![0.0; p.scratch_len(xs, ws).unwrap()];
    conv2d(&p, &x, xs, &[1.0; 9], ws, None, &mut o, &mut s).unwrap();
    assert_eq!(o, [12.0, 16.0, 24.0, 28.0]);
}

#[test]
fn output_shapes() {
    let p = Conv2d {
        stride: [2, 3],
        padding: [1, 0, 2, 3],
        dilation: [2, 1],
        groups: 2,
    };
    // oh = (10 + 3 - 2 * 2 - 1) / 2 + 1 = 5, ow = (11 + 3 - 2 - 1) / 3 + 1 = 4
    assert_eq!(
        p.output_shape([2, 4, 10, 11], [6, 2, 3, 3]).unwrap(),
        [2, 6, 5, 4]
    );
    assert_eq!(Conv2d::default().stride, [1, 1]);
    assert_eq!(Conv2d::default().dilation, [1, 1]);
    assert_eq!(Conv2d::default().padding, [0; 4]);
    assert_eq!(Conv2d::default().groups, 1);
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn error_zero_dims() {
    let p = Conv2d::default();
    let good_x = [1, 2, 5, 5];
    let good_w = [3, 2, 3, 3];
    let names = [
        "input batch",
        "input channels",
        "input height",
        "input width",
        "output channels",
        "weight input channels",
        "kernel height",
        "kernel width",
    ];
    for (i, what) in names.iter().enumerate() {
        let (mut x, mut w) = (good_x, good_w);
        if i < 4 {
            x[i] = 0;
        } else {
            w[i - 4] = 0;
        }
        let e = p.output_shape(x, w).unwrap_err();
        assert_eq!(e, Error::ZeroDim { op: "conv2d", what }, "{x:?} {w:?}");
        assert_eq!(p.scratch_len(x, w).unwrap_err(), e);
    }
}

#[test]
fn error_bad_params() {
    let x = [1, 4, 6, 6];
    let w = [4, 4, 3, 3];
    let bad = |p: Conv2d, w: [usize; 4]| p.output_shape(x, w).unwrap_err();
    let d = Conv2d::default();
    for p in [
        Conv2d {
            stride: [0, 1],
            ..d
        },
        Conv2d {
            stride: [1, 0],
            ..d
        },
        Conv2d {
            dilation: [0, 1],
            ..d
        },
        Conv2d {
            dilation: [1, 0],
            ..d
        },
        Conv2d { groups: 0, ..d },
    ] {
        assert!(
            matches!(bad(p, w), Error::InvalidArgument { op: "conv2d", .. }),
            "{p:?}"
        );
    }
    // groups must divide c_in (4) and c_out.
    assert!(matches!(
        bad(Conv2d { groups: 3, ..d }, [3, 1, 3, 3]),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        bad(Conv2d { groups: 2, ..d }, [3, 2, 3, 3]),
        Error::InvalidArgument { .. }
    ));
    // weight I must be c_in / groups.
    assert_eq!(
        bad(Conv2d { groups: 2, ..d }, [4, 4, 3, 3]),
        Error::DimMismatch {
            op: "conv2d",
            what: "weight input channels (c_in / groups)",
            expected: 2,
            got: 4
        }
    );
    // Kernel larger than the padded input: 7 > 6, and dilated 3x3 at dilation 3 spans 7.
    assert!(matches!(
        bad(d, [4, 4, 7, 1]),
        Error::InvalidArgument { .. }
    ));
    assert!(matches!(
        bad(
            Conv2d {
                dilation: [3, 1],
                ..d
            },
            w
        ),
        Error::InvalidArgument { .. }
    ));
    // ... but fits with padding 1.
    let p = Conv2d {
        padding: [1, 0, 0, 0],
        ..d
    };
    assert_eq!(p.output_shape(x, [4, 4, 7, 1]).unwrap(), [1, 4, 1, 6]);
    // Overflowing sizes.
    let e = d.output_shape([usize::MAX / 2, 4, 6, 6], w).unwrap_err();
    assert_eq!(e, Error::Overflow { op: "conv2d" });
}

#[test]
fn error_buffer_lengths() {
    let p = Conv2d {
        padding: [1; 4],
        ..Conv2d::default()
    };
    let (xs, ws) = ([1, 2, 4, 4], [3, 2, 3, 3]);
    let x = vec![0.0; 32];
    let w = vec![0.0; 54];
    let b = vec![0.0; 3];
    let mut o = vec![0.0; 48];
    let mut s = vec![
        0.0;
        p.scratch_len(xs, ws)
            .unwrap()
            .max(p.im2col_scratch_len(xs, ws).unwrap())
    ];
    type F = fn(
        &Conv2d,
        &[f32],
        [usize; 4],
        &[f32],
        [usize; 4],
        Option<&[f32]>,
        &mut [f32],
        &mut [f32],
    ) -> born_core::Result<()>;
    let fast: F = conv2d;
    let col: F = conv2d_im2col;
    let reference: F = |p, x, xs, w, ws, b, o, _| conv2d_reference(p, x, xs, w, ws, b, o);
    let direct: F = |p, x, xs, w, ws, b, o, _| conv2d_direct(p, x, xs, w, ws, b, o);
    for f in [fast, col, reference, direct] {
        let e = f(&p, &x[..31], xs, &w, ws, Some(&b), &mut o, &mut s).unwrap_err();
        assert_eq!(
            e,
            Error::DimMismatch {
                op: "conv2d",
                what: "input length",
                expected: 32,
                got: 31
            }
        );
        let e = f(&p, &x, xs, &w[..53], ws, Some(&b), &mut o, &mut s).unwrap_err();
        assert!(matches!(
            e,
            Error::DimMismatch {
                what: "weight length",
                expected: 54,
                ..
            }
        ));
        let e = f(&p, &x, xs, &w, ws, Some(&b[..2]), &mut o, &mut s).unwrap_err();
        assert!(matches!(
            e,
            Error::DimMismatch {
                what: "bias length",
                expected: 3,
                ..
            }
        ));
        let e = f(&p, &x, xs, &w, ws, Some(&b), &mut o[..47], &mut s).unwrap_err();
        assert!(matches!(
            e,
            Error::DimMismatch {
                what: "output length",
                expected: 48,
                ..
            }
        ));
        let mut big = vec![0.0; 49];
        let e = f(&p, &x, xs, &w, ws, Some(&b), &mut big, &mut s).unwrap_err();
        assert!(matches!(
            e,
            Error::DimMismatch {
                what: "output length",
                ..
            }
        ));
        f(&p, &x, xs, &w, ws, Some(&b), &mut o, &mut s).unwrap();
    }
}

#[test]
fn error_short_scratch() {
    let p = Conv2d {
        padding: [1; 4],
        ..Conv2d::default()
    };
    let (xs, ws) = ([1, 16, 20, 20], [16, 16, 3, 3]);
    let x = vec![0.0; 16 * 400];
    let w = vec![0.0; 16 * 16 * 9];
    let mut o = vec![0.0; 16 * 400];
    for (need, f) in [
        (
            p.scratch_len(xs, ws).unwrap(),
            conv2d
                as fn(
                    &Conv2d,
                    &[f32],
                    [usize; 4],
                    &[f32],
                    [usize; 4],
                    Option<&[f32]>,
                    &mut [f32],
                    &mut [f32],
                ) -> born_core::Result<()>,
        ),
        (p.im2col_scratch_len(xs, ws).unwrap(), conv2d_im2col),
    ] {
        assert!(need > 0);
        let mut s = vec![0.0; need - 1];
        let e = f(&p, &x, xs, &w, ws, None, &mut o, &mut s).unwrap_err();
        assert_eq!(
            e,
            Error::BufferTooSmall {
                op: "conv2d",
                what: "scratch",
                needed: need,
                len: need - 1
            }
        );
    }
}

// ---------------------------------------------------------------------------------------
// NumPy fixtures (scripts/fixtures/conv.py)

#[derive(Deserialize)]
struct Fixtures {
    cases: Vec<Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    name: String,
    input_shape: [usize; 4],
    weight_shape: [usize; 4],
    output_shape: [usize; 4],
    stride: [usize; 2],
    padding: [usize; 4],
    dilation: [usize; 2],
    groups: usize,
    input: Vec<f32>,
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    expected: Vec<f32>,
}

#[test]
fn numpy_fixtures() {
    let fx: Fixtures = serde_json::from_str(include_str!("fixtures/conv.json")).unwrap();
    assert!(fx.cases.len() >= 10);
    for f in &fx.cases {
        let p = Conv2d {
            stride: f.stride,
            padding: f.padding,
            dilation: f.dilation,
            groups: f.groups,
        };
        assert_eq!(
            p.output_shape(f.input_shape, f.weight_shape).unwrap(),
            f.output_shape,
            "{}",
            f.name
        );
        let cs = Case {
            p,
            xs: f.input_shape,
            ws: f.weight_shape,
            x: f.input.clone(),
            w: f.weight.clone(),
            b: f.bias.clone(),
        };
        cs.assert_close(&cs.reference(), &f.expected);
        let mut direct = vec![0.0; f.expected.len()];
        conv2d_direct(
            &cs.p,
            &cs.x,
            cs.xs,
            &cs.w,
            cs.ws,
            cs.b.as_deref(),
            &mut direct,
        )
        .unwrap();
        cs.assert_close(&direct, &f.expected);
        cs.assert_close(&cs.fast(), &f.expected);
        cs.assert_close(&cs.im2col(), &f.expected);
    }
}
