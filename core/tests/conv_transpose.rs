//! Tests of the 2-D transposed convolution: `born_core::kernels::conv::transpose` and the
//! `ConvTranspose2d` op.
//!
//! - hand-computed small cases (stride 1 and 2, padding, output padding, dilation, groups,
//!   bias);
//! - proptest: random geometry against a naive scatter written here from the definition
//!   (`out[n, o, iy * s - p + ky * d, ..] += x * w`, in f64), and against the adjoint
//!   identity `<conv2d(z), x> == <z, conv_transpose2d(x)>` with the existing conv kernel;
//! - every geometry error, and (with `alloc`) the op through a whole model plus its
//!   `prepare` errors.

use born_core::kernels::conv::transpose::{conv_transpose2d, ConvTranspose2d};
use born_core::kernels::conv::{conv2d_reference, Conv2d};
use born_core::Error;
use proptest::prelude::*;

fn run(
    p: &ConvTranspose2d,
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    b: Option<&[f32]>,
) -> born_core::Result<(Vec<f32>, [usize; 4])> {
    let os = p.output_shape(xs, ws)?;
    let mut out = vec![f32::NAN; os.iter().product()];
    conv_transpose2d(p, x, xs, w, ws, b, &mut out)?;
    Ok((out, os))
}

fn geom(stride: [usize; 2], padding: [usize; 4], output_padding: [usize; 2]) -> ConvTranspose2d {
    ConvTranspose2d {
        stride,
        padding,
        output_padding,
        ..ConvTranspose2d::default()
    }
}

const X22: [f32; 4] = [1.0, 2.0, 3.0, 4.0];
const ONES33: [f32; 9] = [1.0; 9];

/// `[[1, 2], [3, 4]]` with a 3 x 3 kernel of ones, stride 2: each input value fills a
/// 3 x 3 block starting at `(2 * iy, 2 * ix)`; the blocks overlap on row and column 2.
const STRIDE2: [[f32; 5]; 5] = [
    [1.0, 1.0, 3.0, 2.0, 2.0],
    [1.0, 1.0, 3.0, 2.0, 2.0],
    [4.0, 4.0, 10.0, 6.0, 6.0],
    [3.0, 3.0, 7.0, 4.0, 4.0],
    [3.0, 3.0, 7.0, 4.0, 4.0],
];

fn flat<const N: usize>(rows: &[[f32; N]]) -> Vec<f32> {
    rows.iter().flatten().copied().collect()
}

#[test]
fn stride_1_ones_kernel() {
    let p = ConvTranspose2d::default();
    let (out, os) = run(&p, &X22, [1, 1, 2, 2], &ONES33, [1, 1, 3, 3], None).unwrap();
    assert_eq!(os, [1, 1, 4, 4]);
    let want = flat(&[
        [1.0, 3.0, 3.0, 2.0],
        [4.0, 10.0, 10.0, 6.0],
        [4.0, 10.0, 10.0, 6.0],
        [3.0, 7.0, 7.0, 4.0],
    ]);
    assert_eq!(out, want);
}

#[test]
fn stride_2_ones_kernel() {
    let p = geom([2, 2], [0; 4], [0, 0]);
    let (out, os) = run(&p, &X22, [1, 1, 2, 2], &ONES33, [1, 1, 3, 3], None).unwrap();
    assert_eq!(os, [1, 1, 5, 5]);
    assert_eq!(out, flat(&STRIDE2));
}

#[test]
fn padding_crops_and_output_padding_uncrops() {
    // Padding 1 on every side crops row/column 0 and 4; output padding 1 gives the last
    // row/column back: rows and columns 1..=4 of the full result.
    let p = geom([2, 2], [1, 1, 1, 1], [1, 1]);
    let (out, os) = run(&p, &X22, [1, 1, 2, 2], &ONES33, [1, 1, 3, 3], None).unwrap();
    assert_eq!(os, [1, 1, 4, 4]);
    let want: Vec<f32> = STRIDE2[1..]
        .iter()
        .flat_map(|r| r[1..].iter().copied())
        .collect();
    assert_eq!(out, want);

    // Asymmetric padding: top 1, left 0, bottom 0, right 2.
    let p = geom([2, 2], [1, 0, 0, 2], [0, 0]);
    let (out, os) = run(&p, &X22, [1, 1, 2, 2], &ONES33, [1, 1, 3, 3], None).unwrap();
    assert_eq!(os, [1, 1, 4, 3]);
    let want: Vec<f32> = STRIDE2[1..]
        .iter()
        .flat_map(|r| r[..3].iter().copied())
        .collect();
    assert_eq!(out, want);
}

#[test]
fn output_padding_past_the_full_result_gets_the_bias() {
    let p = geom([2, 2], [0; 4], [1, 0]);
    let b = [0.5f32];
    let (out, os) = run(&p, &X22, [1, 1, 2, 2], &ONES33, [1, 1, 3, 3], Some(&b)).unwrap();
    assert_eq!(os, [1, 1, 6, 5]);
    let mut want: Vec<f32> = flat(&STRIDE2).iter().map(|v| v + 0.5).collect();
    want.extend([0.5; 5]);
    assert_eq!(out, want);
}

#[test]
fn dilation_spreads_the_taps() {
    // x [1, 2], w [1, 10], dilation 2 along the width: out[b + 2k] += x[b] * w[k].
    let p = ConvTranspose2d {
        dilation: [1, 2],
        ..ConvTranspose2d::default()
    };
    let (out, os) = run(
        &p,
        &[1.0, 2.0],
        [1, 1, 1, 2],
        &[1.0, 10.0],
        [1, 1, 1, 2],
        None,
    )
    .unwrap();
    assert_eq!(os, [1, 1, 1, 4]);
    assert_eq!(out, [1.0, 2.0, 10.0, 20.0]);
}

#[test]
fn groups_keep_channels_apart() {
    // Two groups of one input channel each; kernel of ones for group 0, of twos for 1.
    let p = ConvTranspose2d {
        groups: 2,
        ..ConvTranspose2d::default()
    };
    let x = [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0];
    let mut w = vec![1.0f32; 9];
    w.extend([2.0; 9]);
    let (out, os) = run(&p, &x, [1, 2, 2, 2], &w, [2, 1, 3, 3], None).unwrap();
    assert_eq!(os, [1, 2, 4, 4]);
    let one = flat(&[
        [1.0, 3.0, 3.0, 2.0],
        [4.0, 10.0, 10.0, 6.0],
        [4.0, 10.0, 10.0, 6.0],
        [3.0, 7.0, 7.0, 4.0],
    ]);
    let mut want = one.clone();
    want.extend(one.iter().map(|v| v * 20.0));
    assert_eq!(out, want);

    // 1 x 1 kernels, w[c, m] = [[1, 2], [3, 4]] and x = [1, 10]: with two groups each input
    // channel feeds its own two outputs; with one group both feed both.
    let w = [1.0, 2.0, 3.0, 4.0];
    let (out, os) = run(&p, &[1.0, 10.0], [1, 2, 1, 1], &w, [2, 2, 1, 1], None).unwrap();
    assert_eq!(os, [1, 4, 1, 1]);
    assert_eq!(out, [1.0, 2.0, 30.0, 40.0]);
    let one_group = ConvTranspose2d::default();
    let (out, os) = run(
        &one_group,
        &[1.0, 10.0],
        [1, 2, 1, 1],
        &w,
        [2, 2, 1, 1],
        None,
    )
    .unwrap();
    assert_eq!(os, [1, 2, 1, 1]);
    assert_eq!(out, [31.0, 42.0]);
}

#[test]
fn batch_and_bias_per_channel() {
    // Two images, two output channels from one input channel, 1 x 1 kernel [2, -1].
    let p = ConvTranspose2d::default();
    let x = [1.0, 2.0, 3.0, 4.0];
    let (out, os) = run(
        &p,
        &x,
        [2, 1, 1, 2],
        &[2.0, -1.0],
        [1, 2, 1, 1],
        Some(&[10.0, 100.0]),
    )
    .unwrap();
    assert_eq!(os, [2, 2, 1, 2]);
    assert_eq!(out, [12.0, 14.0, 99.0, 98.0, 16.0, 18.0, 97.0, 96.0]);
}

// ---------------------------------------------------------------------------------------
// Errors.

fn shape_err(p: &ConvTranspose2d, xs: [usize; 4], ws: [usize; 4]) -> Error {
    p.output_shape(xs, ws).unwrap_err()
}

fn invalid(e: Error) -> &'static str {
    match e {
        Error::InvalidArgument { what, .. } => what,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn geometry_errors() {
    let xs = [1, 1, 2, 2];
    let ws = [1, 1, 3, 3];
    // (2 - 1) * 1 + 2 + 1 = 4 per axis: cropping 4 leaves nothing.
    let e = shape_err(&geom([1, 1], [2, 0, 2, 0], [0, 0]), xs, ws);
    assert!(invalid(e).contains("no output"));
    let e = shape_err(&geom([1, 1], [0, 3, 0, 5], [0, 0]), xs, ws);
    assert!(invalid(e).contains("no output"));
    // Output padding must be below the stride or the dilation.
    let e = shape_err(&geom([2, 2], [0; 4], [2, 0]), xs, ws);
    assert!(invalid(e).contains("output_padding"));
    let e = shape_err(&geom([1, 1], [0; 4], [0, 1]), xs, ws);
    assert!(invalid(e).contains("output_padding"));
    let dilated = ConvTranspose2d {
        dilation: [1, 2],
        output_padding: [0, 1],
        ..ConvTranspose2d::default()
    };
    assert_eq!(dilated.output_shape(xs, ws).unwrap(), [1, 1, 4, 7]);
    // Groups must divide the input channels.
    let g2 = ConvTranspose2d {
        groups: 2,
        ..ConvTranspose2d::default()
    };
    let e = shape_err(&g2, [1, 3, 2, 2], [3, 1, 3, 3]);
    assert!(invalid(e).contains("groups"));
    let g0 = ConvTranspose2d {
        groups: 0,
        ..ConvTranspose2d::default()
    };
    assert!(invalid(shape_err(&g0, xs, ws)).contains("groups"));
    assert!(invalid(shape_err(&geom([0, 1], [0; 4], [0, 0]), xs, ws)).contains("stride"));
    let d0 = ConvTranspose2d {
        dilation: [1, 0],
        ..ConvTranspose2d::default()
    };
    assert!(invalid(shape_err(&d0, xs, ws)).contains("dilation"));
    // The weight's first dimension is the input channels.
    let e = shape_err(&ConvTranspose2d::default(), [1, 2, 2, 2], [1, 2, 3, 3]);
    assert!(matches!(
        e,
        Error::DimMismatch {
            expected: 2,
            got: 1,
            ..
        }
    ));
    for (xs, ws) in [([0, 1, 2, 2], ws), (xs, [1, 0, 3, 3]), (xs, [1, 1, 3, 0])] {
        let e = shape_err(&ConvTranspose2d::default(), xs, ws);
        assert!(matches!(e, Error::ZeroDim { .. }), "{e:?}");
    }
    let huge = geom([usize::MAX, 1], [0; 4], [0, 0]);
    assert!(matches!(
        shape_err(&huge, [1, 1, 3, 2], ws),
        Error::Overflow { .. }
    ));
}

#[test]
fn buffer_length_errors() {
    let p = ConvTranspose2d::default();
    let (xs, ws) = ([1, 1, 2, 2], [1, 1, 3, 3]);
    let mut out = [0.0f32; 16];
    type Buffers<'a> = (&'a [f32], &'a [f32], Option<&'a [f32]>, usize);
    let cases: [Buffers<'_>; 4] = [
        (&X22[..3], &ONES33, None, 16),
        (&X22, &ONES33[..8], None, 16),
        (&X22, &ONES33, Some(&[1.0, 2.0]), 16),
        (&X22, &ONES33, None, 15),
    ];
    for (x, w, b, n) in cases {
        let e = conv_transpose2d(&p, x, xs, w, ws, b, &mut out[..n]).unwrap_err();
        assert!(matches!(e, Error::DimMismatch { .. }), "{e:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Properties.

fn fill(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(99);
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
    p: ConvTranspose2d,
    xs: [usize; 4],
    ws: [usize; 4],
    x: Vec<f32>,
    w: Vec<f32>,
    b: Option<Vec<f32>>,
}

/// The output size along one axis from the definition, in signed arithmetic; `None` when
/// ONNX's rules reject the geometry.
fn naive_dim(
    size: usize,
    k: usize,
    s: usize,
    d: usize,
    pads: [usize; 2],
    op: usize,
) -> Option<usize> {
    if op >= s && op >= d {
        return None;
    }
    let n = (size as i64 - 1) * s as i64 - pads[0] as i64 - pads[1] as i64
        + d as i64 * (k as i64 - 1)
        + op as i64
        + 1;
    (n > 0).then_some(n as usize)
}

impl Case {
    /// The output shape from the definition, `None` when invalid.
    fn naive_shape(&self) -> Option<[usize; 4]> {
        let p = &self.p;
        let [pt, pl, pb, pr] = p.padding;
        let oh = naive_dim(
            self.xs[2],
            self.ws[2],
            p.stride[0],
            p.dilation[0],
            [pt, pb],
            p.output_padding[0],
        )?;
        let ow = naive_dim(
            self.xs[3],
            self.ws[3],
            p.stride[1],
            p.dilation[1],
            [pl, pr],
            p.output_padding[1],
        )?;
        Some([self.xs[0], self.ws[1] * p.groups, oh, ow])
    }

    /// The definition, in f64: every input value times every tap, added where it lands;
    /// also each output's magnitude `sum |x * w| + |bias|` for the tolerance.
    fn naive(&self, os: [usize; 4]) -> (Vec<f64>, Vec<f64>) {
        let [n, c, h, wd] = self.xs;
        let [_, og, kh, kw] = self.ws;
        let [_, o, oh, ow] = os;
        let cg = c / self.p.groups;
        let [sh, sw] = self.p.stride;
        let [dh, dw] = self.p.dilation;
        let [pt, pl, _, _] = self.p.padding;
        let mut out = vec![0.0f64; n * o * oh * ow];
        let mut mag = vec![0.0f64; out.len()];
        for ni in 0..n {
            for oc in 0..o {
                let bias = self.b.as_ref().map_or(0.0, |b| b[oc] as f64);
                for i in 0..oh * ow {
                    out[(ni * o + oc) * oh * ow + i] = bias;
                    mag[(ni * o + oc) * oh * ow + i] = bias.abs();
                }
            }
            for ci in 0..c {
                let grp = ci / cg;
                for m in 0..og {
                    let oc = grp * og + m;
                    for iy in 0..h {
                        for ix in 0..wd {
                            let xv = self.x[((ni * c + ci) * h + iy) * wd + ix] as f64;
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let y = (iy * sh + ky * dh) as i64 - pt as i64;
                                    let xx = (ix * sw + kx * dw) as i64 - pl as i64;
                                    if y < 0 || xx < 0 || y >= oh as i64 || xx >= ow as i64 {
                                        continue;
                                    }
                                    let wv = self.w[((ci * og + m) * kh + ky) * kw + kx] as f64;
                                    let at = ((ni * o + oc) * oh + y as usize) * ow + xx as usize;
                                    out[at] += xv * wv;
                                    mag[at] += (xv * wv).abs();
                                }
                            }
                        }
                    }
                }
            }
        }
        (out, mag)
    }
}

prop_compose! {
    fn case()(
        n in 1usize..3,
        cg in 1usize..4,
        og in 1usize..4,
        groups in 1usize..4,
        h in 1usize..6,
        w in 1usize..6,
        kh in 1usize..4,
        kw in 1usize..4,
        stride in (1usize..4, 1usize..4),
        dilation in (1usize..3, 1usize..3),
        padding in (0usize..4, 0usize..4, 0usize..4, 0usize..4),
        output_padding in (0usize..3, 0usize..3),
        bias in any::<bool>(),
        seed in any::<u32>(),
    ) -> Case {
        let c = cg * groups;
        let xs = [n, c, h, w];
        let ws = [c, og, kh, kw];
        Case {
            p: ConvTranspose2d {
                stride: [stride.0, stride.1],
                padding: [padding.0, padding.1, padding.2, padding.3],
                dilation: [dilation.0, dilation.1],
                output_padding: [output_padding.0, output_padding.1],
                groups,
            },
            xs,
            ws,
            x: fill(xs.iter().product(), seed),
            w: fill(ws.iter().product(), seed ^ 0x5555),
            b: bias.then(|| fill(og * groups, seed ^ 0xabcd)),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The kernel accepts exactly the geometries the definition gives an output for, and
    /// then matches the naive scatter.
    #[test]
    fn matches_naive_definition(cs in case()) {
        let got = run(&cs.p, &cs.x, cs.xs, &cs.w, cs.ws, cs.b.as_deref());
        match (cs.naive_shape(), got) {
            (None, Err(e)) => prop_assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}"),
            (None, Ok((_, os))) => prop_assert!(false, "accepted invalid geometry, got {os:?}"),
            (Some(want), Err(e)) => prop_assert!(false, "rejected {want:?}: {e:?}"),
            (Some(want_shape), Ok((out, os))) => {
                prop_assert_eq!(os, want_shape);
                let (want, mag) = cs.naive(os);
                prop_assert_eq!(out.len(), want.len());
                for (i, ((&g, &r), &m)) in out.iter().zip(&want).zip(&mag).enumerate() {
                    let tol = 1e-5 * m + 1e-6;
                    prop_assert!((g as f64 - r).abs() <= tol, "at {}: {} vs {}", i, g, r);
                }
            }
        }
    }

    /// The transposed convolution is the adjoint of the convolution with the same geometry:
    /// `<conv2d(z), x> == <z, conv_transpose2d(x)>`, for the weight read as `[c_out = c,
    /// c_in / groups = og, kh, kw]` by the convolution.
    #[test]
    fn adjoint_of_conv2d(cs in case()) {
        let Some(os) = cs.naive_shape() else { return Ok(()); };
        let (y, _) = run(&cs.p, &cs.x, cs.xs, &cs.w, cs.ws, None).unwrap();
        let conv = Conv2d {
            stride: cs.p.stride,
            padding: cs.p.padding,
            dilation: cs.p.dilation,
            groups: cs.p.groups,
        };
        // With an output padding of a whole stride (allowed by a larger dilation) the
        // convolution of the result sees one more input row or column: no longer adjoint.
        if (0..2).any(|a| cs.p.output_padding[a] >= cs.p.stride[a]) {
            return Ok(());
        }
        let back = conv.output_shape(os, cs.ws).unwrap();
        prop_assert_eq!(&back[2..], &cs.xs[2..]);
        let z = fill(os.iter().product(), 7);
        let mut cz = vec![0.0f32; back.iter().product()];
        conv2d_reference(&conv, &z, os, &cs.w, cs.ws, None, &mut cz).unwrap();
        let dot = |a: &[f32], b: &[f32]| -> (f64, f64) {
            a.iter().zip(b).fold((0.0, 0.0), |(s, m), (&u, &v)| {
                (s + u as f64 * v as f64, m + (u as f64 * v as f64).abs())
            })
        };
        let (lhs, ml) = dot(&cz, &cs.x);
        let (rhs, mr) = dot(&z, &y);
        prop_assert!((lhs - rhs).abs() <= 1e-5 * (ml + mr) + 1e-6, "{} vs {}", lhs, rhs);
    }
}

// ---------------------------------------------------------------------------------------
// The op through a model.

#[cfg(feature = "alloc")]
mod op {
    use super::{flat, geom, ONES33, STRIDE2, X22};
    use born_core::kernels::conv::transpose::ConvTranspose2d as Geometry;
    use born_core::model::graph::{AlignedBytes, Graph};
    use born_core::ops::conv_transpose::ConvTranspose2d;
    use born_core::ops::Op;
    use born_core::{DType, Interpreter, Model, ModelError, Shape};

    fn encode(g: &Graph) -> AlignedBytes {
        let (offsets, len) = g.naive_plan().unwrap();
        AlignedBytes::from_slice(&g.encode(&offsets, len).unwrap())
    }

    #[test]
    fn id_and_name() {
        assert_eq!(ConvTranspose2d::ID, 108);
        assert_eq!(ConvTranspose2d::NAME, "ConvTranspose2d");
    }

    #[test]
    fn round_trip_through_a_model() {
        let mut g = Graph::new("convt", "conv_transpose test");
        let x = g.add_input("x", DType::F32, &[1, 1, 2, 2]).unwrap();
        let w = g.add_const("W", &[1, 1, 3, 3], &ONES33).unwrap();
        let b = g.add_const("b", &[1], &[0.25f32]).unwrap();
        let p = geom([2, 2], [0; 4], [0, 0]);
        let y = g.add_op::<ConvTranspose2d>(p, &[x, w, b], "y").unwrap();
        g.mark_output(y).unwrap();
        assert_eq!(g.tensors[y].shape, Shape::new(&[1, 1, 5, 5]).unwrap());

        let bytes = encode(&g);
        let m = Model::from_bytes(&bytes).unwrap();
        let mut arena = vec![0u8; Interpreter::arena_len(&m).unwrap()];
        let mut it = Interpreter::new(&m, &mut arena).unwrap();
        it.input_raw_mut(0)
            .unwrap()
            .copy_from_slice(bytemuck::cast_slice(&X22));
        it.invoke().unwrap();
        let got: Vec<f32> = bytemuck::cast_slice(it.output_raw(0).unwrap()).to_vec();
        let want: Vec<f32> = flat(&STRIDE2).iter().map(|v| v + 0.25).collect();
        assert_eq!(got, want);
    }

    fn add(p: Geometry, xs: &[usize], ws: &[usize], bias: Option<&[usize]>) -> ModelError {
        let mut g = Graph::new("convt", "conv_transpose test");
        let x = g.add_input("x", DType::F32, xs).unwrap();
        let w = g.add_input("W", DType::F32, ws).unwrap();
        let mut ids = vec![x, w];
        if let Some(bs) = bias {
            ids.push(g.add_input("b", DType::F32, bs).unwrap());
        }
        match g.add_op::<ConvTranspose2d>(p, &ids, "y").unwrap_err() {
            born_core::Error::Model(e) => e,
            other => panic!("expected a model error, got {other:?}"),
        }
    }

    #[test]
    fn prepare_errors() {
        let d = Geometry::default();
        // Bias must have one value per output channel (weight[1] * groups = 2).
        let e = add(d, &[1, 1, 2, 2], &[1, 2, 3, 3], Some(&[1]));
        assert!(
            matches!(e, ModelError::OperandShape { operand: 2, .. }),
            "{e:?}"
        );
        // Rank 4 operands only.
        let e = add(d, &[1, 1, 2], &[1, 1, 3], None);
        assert!(
            matches!(e, ModelError::OperandShape { operand: 0, .. }),
            "{e:?}"
        );
        // Geometry errors become attribute errors.
        let e = add(
            geom([1, 1], [2, 2, 2, 2], [0, 0]),
            &[1, 1, 2, 2],
            &[1, 1, 3, 3],
            None,
        );
        assert!(matches!(e, ModelError::Attribute { .. }), "{e:?}");
        let e = add(
            geom([1, 1], [0; 4], [1, 0]),
            &[1, 1, 2, 2],
            &[1, 1, 3, 3],
            None,
        );
        assert!(matches!(e, ModelError::Attribute { .. }), "{e:?}");
    }

    #[test]
    fn prepare_rejects_other_dtypes() {
        let mut g = Graph::new("convt", "conv_transpose test");
        let x = g.add_input("x", DType::I32, &[1, 1, 2, 2]).unwrap();
        let w = g.add_input("W", DType::F32, &[1, 1, 3, 3]).unwrap();
        let e = g
            .add_op::<ConvTranspose2d>(Geometry::default(), &[x, w], "y")
            .unwrap_err();
        assert!(
            matches!(
                e,
                born_core::Error::Model(ModelError::DType { operand: 0, .. })
            ),
            "{e:?}"
        );
    }
}
