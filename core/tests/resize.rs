//! The `Resize` op through whole models (graph builder -> `.born` bytes -> loader ->
//! interpreter) against hand-computed values: nearest, linear and cubic filters, the
//! coordinate transformations, exclusion of outside taps, crops with extrapolation,
//! antialiasing, sizes kept in proportion and three resized axes in a row; then the
//! attribute records `prepare` refuses, through the builder and through a file's record.

#![cfg(feature = "alloc")]

mod common;

use born_core::kernels::resize::{self, Axis, Coord, Interp, Method, Nearest};
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::ops::resize::{Resize, ResizeAttrs, Scales};
use born_core::{DType, Error, Interpreter, Model, ModelError};
use common::{encode, model_err, with_op};

const FLOOR: Interp = Interp::Nearest(Nearest::RoundPreferFloor);

fn graph(attrs: ResizeAttrs, dims: &[usize]) -> born_core::Result<Graph> {
    let mut g = Graph::new("resize", "resize test");
    let x = g.add_input("x", DType::F32, dims)?;
    let y = g.add_op::<Resize>(attrs, &[x], "y")?;
    g.mark_output(y)?;
    Ok(g)
}

fn invoke(bytes: &AlignedBytes, x: &[f32]) -> born_core::Result<Vec<f32>> {
    let m = Model::from_bytes(bytes)?;
    let mut arena = vec![0u8; Interpreter::arena_len(&m)?];
    let mut it = Interpreter::new(&m, &mut arena)?;
    it.input_raw_mut(0)?
        .copy_from_slice(bytemuck::cast_slice(x));
    it.invoke()?;
    let out = it.output_raw(0)?;
    Ok(out
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Runs `attrs` on `x` of extents `dims` and checks the output's extents and values
/// (within 1e-6).
fn check(attrs: ResizeAttrs, dims: &[usize], x: &[f32], out_dims: &[usize], want: &[f32]) {
    let g = graph(attrs, dims).unwrap_or_else(|e| panic!("{attrs:?}: {e:?}"));
    let y = g.outputs[0];
    assert_eq!(
        g.tensors[y].shape.dims(),
        out_dims,
        "{attrs:?}: output shape"
    );
    let got = invoke(&encode(&g), x).unwrap_or_else(|e| panic!("{attrs:?}: {e:?}"));
    assert_eq!(got.len(), want.len(), "{attrs:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-6, "{attrs:?}: element {i}: {g} != {w}");
    }
}

fn attrs(interp: Interp, coord: Coord, out: &[usize], scales: Scales) -> ResizeAttrs {
    ResizeAttrs::new(interp, coord, out, scales).unwrap()
}

fn given(s: &[f32]) -> Scales {
    Scales::given(s).unwrap()
}

#[test]
fn nearest_doubles_a_2x2() {
    // half_pixel: x = j/2 - 0.25 = -0.25, 0.25, 0.75, 1.25, rounded (halves down, edges
    // clamped) to 0, 0, 1, 1.
    let want = [
        1.0, 1.0, 2.0, 2.0, //
        1.0, 1.0, 2.0, 2.0, //
        3.0, 3.0, 4.0, 4.0, //
        3.0, 3.0, 4.0, 4.0,
    ];
    let a = attrs(FLOOR, Coord::HalfPixel, &[4, 4], given(&[2.0, 2.0]));
    check(a, &[2, 2], &[1.0, 2.0, 3.0, 4.0], &[4, 4], &want);
    // The same by output sizes, and asymmetric (x = j/2, rounded down).
    let a = attrs(FLOOR, Coord::HalfPixel, &[4, 4], Scales::Sizes);
    check(a, &[2, 2], &[1.0, 2.0, 3.0, 4.0], &[4, 4], &want);
    let floor = Interp::Nearest(Nearest::Floor);
    let a = attrs(floor, Coord::Asymmetric, &[4, 4], Scales::Sizes);
    check(a, &[2, 2], &[1.0, 2.0, 3.0, 4.0], &[4, 4], &want);
}

#[test]
fn nearest_rounding_modes() {
    // asymmetric, scale 2 on 4 elements -> 8: x = j/2 = 0, 0.5, 1, 1.5, ..
    let x = [10.0, 20.0, 30.0, 40.0];
    let cases = [
        (
            Nearest::RoundPreferFloor,
            [10.0, 10.0, 20.0, 20.0, 30.0, 30.0, 40.0, 40.0],
        ),
        (
            Nearest::RoundPreferCeil,
            [10.0, 20.0, 20.0, 30.0, 30.0, 40.0, 40.0, 40.0],
        ),
        (
            Nearest::Floor,
            [10.0, 10.0, 20.0, 20.0, 30.0, 30.0, 40.0, 40.0],
        ),
        (
            Nearest::Ceil,
            [10.0, 20.0, 20.0, 30.0, 30.0, 40.0, 40.0, 40.0],
        ),
    ];
    for (mode, want) in cases {
        let a = attrs(
            Interp::Nearest(mode),
            Coord::Asymmetric,
            &[8],
            given(&[2.0]),
        );
        check(a, &[4], &x, &[8], &want);
    }
    // x = 2j/3 = 0, 0.667, 1.333, 2, 2.667, 3.333: floor and round differ off the halves.
    let a = attrs(
        Interp::Nearest(Nearest::Floor),
        Coord::Asymmetric,
        &[6],
        given(&[1.5]),
    );
    check(a, &[4], &x, &[6], &[10.0, 10.0, 20.0, 30.0, 30.0, 40.0]);
    let a = attrs(FLOOR, Coord::Asymmetric, &[6], given(&[1.5]));
    check(a, &[4], &x, &[6], &[10.0, 20.0, 20.0, 30.0, 40.0, 40.0]);
}

#[test]
fn bilinear_align_corners_2x2_to_3x3() {
    // x = j (2 - 1) / (3 - 1) = 0, 0.5, 1 along both axes.
    let want = [1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0];
    let a = attrs(
        Interp::Linear,
        Coord::AlignCorners,
        &[1, 1, 3, 3],
        Scales::Sizes,
    );
    check(
        a,
        &[1, 1, 2, 2],
        &[1.0, 2.0, 3.0, 4.0],
        &[1, 1, 3, 3],
        &want,
    );
}

#[test]
fn bilinear_half_pixel_downsample() {
    // 2x4 -> 1x2 by 0.6: rows x = 0.5/0.6 - 0.5 = 1/3, columns x = (j + 0.5)/0.6 - 0.5 =
    // 1/3, 2. Row 1/3 between rows 0 and 1 of [[1, 2, 3, 4], [5, 6, 7, 8]]: [[2.333..,
    // 3.333.., 4.333.., 5.333..]]; columns 1/3 and 2: 2.666.., 4.333...
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let a = attrs(
        Interp::Linear,
        Coord::HalfPixel,
        &[1, 2],
        given(&[0.6, 0.6]),
    );
    let third = 1.0 / 3.0;
    let r = |c: f32| (1.0 - third) * c + third * (c + 4.0);
    let want = [r(1.0) + third * (r(2.0) - r(1.0)), r(3.0)];
    check(a, &[2, 4], &x, &[1, 2], &want);
}

/// Weights of Keys' cubic kernel (a = -0.75) at distances 1.5 and 0.5:
/// `a(1.5^3 - 5 * 1.5^2 + 8 * 1.5 - 4) = -0.09375` and
/// `(a + 2) 0.5^3 - (a + 3) 0.5^2 + 1 = 0.59375`.
const FAR: f32 = -0.09375;
const NEAR: f32 = 0.59375;

#[test]
fn cubic_1d_by_hand() {
    // asymmetric, scale 2: x = j/2. Integers read the element; halves weigh the four
    // elements around them -0.09375, 0.59375, 0.59375, -0.09375 (edges repeated).
    let x = [0.0, 1.0, 4.0, 9.0];
    let at = |i: [usize; 4]| FAR * x[i[0]] + NEAR * x[i[1]] + NEAR * x[i[2]] + FAR * x[i[3]];
    let want = [
        0.0,
        at([0, 0, 1, 2]), // 0.21875
        1.0,
        at([0, 1, 2, 3]), // 2.125
        4.0,
        at([1, 2, 3, 3]), // 6.78125
        9.0,
        at([2, 3, 3, 3]), // 9.46875
    ];
    assert_eq!(want[1], 0.21875);
    assert_eq!(want[7], 9.46875);
    let a = attrs(Interp::Cubic, Coord::Asymmetric, &[8], given(&[2.0]));
    check(a, &[4], &x, &[8], &want);

    // Excluding the outside tap: at x = 0.5 the tap at -1 is dropped and the other three
    // weights rescaled by their sum, 1.09375: (0.59375 * 1 - 0.09375 * 4) / 1.09375 = 0.2.
    let mut a = attrs(Interp::Cubic, Coord::Asymmetric, &[8], given(&[2.0]));
    a.exclude_outside = true;
    let g = graph(a, &[4]).unwrap();
    let got = invoke(&encode(&g), &x).unwrap();
    assert!((got[1] - 0.2).abs() < 1e-6, "{got:?}");
    // Inside the input nothing changes.
    assert!((got[3] - 2.125).abs() < 1e-6, "{got:?}");

    // a = -0.5: weights -0.0625 and 0.5625 at distances 1.5 and 0.5.
    let mut a = attrs(Interp::Cubic, Coord::Asymmetric, &[8], given(&[2.0]));
    a.cubic_a = -0.5;
    let g = graph(a, &[4]).unwrap();
    let got = invoke(&encode(&g), &x).unwrap();
    let want3 = -0.0625 * 0.0 + 0.5625 * 1.0 + 0.5625 * 4.0 - 0.0625 * 9.0;
    assert!((got[3] - want3).abs() < 1e-6, "{got:?}");
}

#[test]
fn coordinate_transformations_1d() {
    // 3 elements -> 2 by sizes (scale 2/3) and by a given scale 0.8 (len 2.4).
    let x = [0.0, 10.0, 20.0];
    let lin = |coord, scales, want: [f32; 2]| {
        check(
            attrs(Interp::Linear, coord, &[2], scales),
            &[3],
            &x,
            &[2],
            &want,
        )
    };
    // half_pixel: x = (j + 0.5) * 1.5 - 0.5 = 0.25, 1.75.
    lin(Coord::HalfPixel, Scales::Sizes, [2.5, 17.5]);
    // pytorch_half_pixel: the same while the output has more than one element.
    lin(Coord::PytorchHalfPixel, Scales::Sizes, [2.5, 17.5]);
    // align_corners: x = j * 2 / 1 = 0, 2.
    lin(Coord::AlignCorners, Scales::Sizes, [0.0, 20.0]);
    // asymmetric: x = j * 1.5 = 0, 1.5.
    lin(Coord::Asymmetric, Scales::Sizes, [0.0, 15.0]);
    // half_pixel_symmetric with scale 0.8: offset (3/2)(1 - 2/2.4) = 0.25; x = 0.25 +
    // (j + 0.5)/0.8 - 0.5 = 0.375, 1.625.
    lin(Coord::HalfPixelSymmetric, given(&[0.8]), [3.75, 16.25]);
    // half_pixel with scale 0.8: x = 0.125, 1.375.
    lin(Coord::HalfPixel, given(&[0.8]), [1.25, 13.75]);
}

#[test]
fn crop_and_extrapolation() {
    // roi [0.5, 1.5] of 3 elements (x = 1 + j): 20, 30, then 3 lies past the last element.
    let mut a = attrs(Interp::Linear, Coord::TfCropAndResize, &[3], Scales::Sizes);
    a.roi_start[0] = 0.5;
    a.roi_end[0] = 1.5;
    a.extrapolation = -1.0;
    check(a, &[3], &[10.0, 20.0, 30.0], &[3], &[20.0, 30.0, -1.0]);
    // The same extent with the whole axis is an identity.
    a.roi_start[0] = 0.0;
    a.roi_end[0] = 1.0;
    check(a, &[3], &[10.0, 20.0, 30.0], &[3], &[10.0, 20.0, 30.0]);
    // roi [0.25, 0.75] -> 3 elements: x = 0.5, 1, 1.5.
    a.roi_start[0] = 0.25;
    a.roi_end[0] = 0.75;
    check(a, &[3], &[10.0, 20.0, 30.0], &[3], &[15.0, 20.0, 25.0]);
}

#[test]
fn antialiased_linear_downsample() {
    // 4 -> 2 by 0.5, half_pixel: x = 0.5, 2.5. The triangle stretched to width 4 has taps
    // at distances 1.5, 0.5, 0.5, 1.5 weighing 0.25, 0.75, 0.75, 0.25 (sum 2), normalised
    // to 1/8, 3/8, 3/8, 1/8: [1/8*0 + 3/8*0 + 3/8*1 + 1/8*2, 1/8*1 + 3/8*2 + 3/8*3 + 1/8*3].
    let mut a = attrs(Interp::Linear, Coord::HalfPixel, &[2], given(&[0.5]));
    a.antialias = true;
    check(a, &[4], &[0.0, 1.0, 2.0, 3.0], &[2], &[0.625, 2.375]);
    // Without antialiasing the two elements around each x: 0.5, 2.5.
    a.antialias = false;
    check(a, &[4], &[0.0, 1.0, 2.0, 3.0], &[2], &[0.5, 2.5]);
}

#[test]
fn sizes_kept_in_proportion() {
    // 3x4 -> 2x2 with the scale of axis 1 (2/4) on both axes, asymmetric nearest: rows
    // x = 2j = 0, 2 (by axis 0's own ratio 2/3 they would be 0, 1.5 -> 0, 1).
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let a = attrs(FLOOR, Coord::Asymmetric, &[2, 2], Scales::SizesOf(1));
    check(a, &[3, 4], &x, &[2, 2], &[0.0, 2.0, 8.0, 10.0]);
    let a = attrs(FLOOR, Coord::Asymmetric, &[2, 2], Scales::Sizes);
    check(a, &[3, 4], &x, &[2, 2], &[0.0, 2.0, 4.0, 6.0]);
}

#[test]
fn three_axes_and_a_kept_one() {
    // [2,2,1,2] doubled along axes 0, 1 and 3 (axis 2 not resized): out[i,j,0,k] =
    // x[i/2, j/2, 0, k/2], through both scratch buffers.
    let x: Vec<f32> = (0..8).map(|v| v as f32).collect();
    let mut a = attrs(
        Interp::Nearest(Nearest::Floor),
        Coord::Asymmetric,
        &[4, 4, 1, 4],
        given(&[2.0, 2.0, 0.0, 2.0]),
    );
    a.axes = 0b1011;
    let want: Vec<f32> = (0..64)
        .map(|n| {
            let (i, j, k) = (n / 16, n / 4 % 4, n % 4);
            x[(i / 2) * 4 + (j / 2) * 2 + k / 2]
        })
        .collect();
    check(a, &[2, 2, 1, 2], &x, &[4, 4, 1, 4], &want);
}

/// The kernel on its own: an empty output, and buffers of the wrong length refused.
#[test]
fn kernel_lengths() {
    let m = Method {
        interp: Interp::Linear,
        coord: Coord::HalfPixel,
        cubic_a: -0.75,
        exclude_outside: false,
        antialias: false,
        extrapolation: 0.0,
    };
    let ax = |len_in, len_out| Axis {
        len_in,
        len_out,
        scale: len_out as f64 / len_in as f64,
        roi: [0.0, 1.0],
    };
    let axes = [ax(2, 0), ax(2, 3)];
    assert_eq!(resize::scratch_len(&m, &axes), Some(0));
    resize::resize(&m, &axes, &[1.0; 4], &mut [], &mut []).unwrap();
    // 2x2 -> 3x3: one intermediate of 3x2.
    let axes = [ax(2, 3), ax(2, 3)];
    assert_eq!(resize::scratch_len(&m, &axes), Some(6));
    let mut out = [0.0f32; 9];
    let e = resize::resize(&m, &axes, &[1.0; 4], &mut out, &mut [0.0; 5]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::BufferTooSmall {
                what: "scratch",
                ..
            }
        ),
        "{e:?}"
    );
    let e = resize::resize(&m, &axes, &[1.0; 3], &mut out, &mut [0.0; 6]).unwrap_err();
    assert!(matches!(e, Error::DimMismatch { .. }), "{e:?}");
    resize::resize(&m, &axes, &[1.0; 4], &mut out, &mut [0.0; 6]).unwrap();
    assert_eq!(out, [1.0; 9]);
    let e = resize::resize_axis(&m, &ax(2, 3), 2, 1, &[1.0; 4], &mut [0.0; 5]).unwrap_err();
    assert!(
        matches!(e, Error::BufferTooSmall { what: "output", .. }),
        "{e:?}"
    );
}

fn attr_err(a: ResizeAttrs, dims: &[usize]) -> &'static str {
    match graph(a, dims) {
        Err(Error::Model(ModelError::Attribute { what, .. })) => what,
        other => panic!("{a:?}: expected an attribute error, got {other:?}"),
    }
}

#[test]
fn bad_attributes_are_refused() {
    let ok = attrs(
        Interp::Linear,
        Coord::HalfPixel,
        &[4, 4],
        given(&[2.0, 2.0]),
    );
    assert!(graph(ok, &[2, 2]).is_ok());

    assert_eq!(
        attr_err(ok, &[2, 2, 1]),
        "resize rank differs from the input's"
    );
    for bad in [0.0, -2.0, f32::NAN, f32::INFINITY] {
        let a = attrs(
            Interp::Linear,
            Coord::HalfPixel,
            &[4, 4],
            given(&[2.0, bad]),
        );
        assert_eq!(
            attr_err(a, &[2, 2]),
            "scales must be finite and positive on resized axes, else 0"
        );
    }
    let mut a = ok;
    a.out[3] = 1;
    assert_eq!(
        attr_err(a, &[2, 2]),
        "resize entries past the rank must be 0"
    );
    let mut a = ok;
    a.axes = 0b100;
    assert_eq!(attr_err(a, &[2, 2]), "resized axes past the rank");
    let mut a = ok;
    a.axes = 0b10;
    assert_eq!(
        attr_err(a, &[2, 2]),
        "an axis not resized changes its extent"
    );
    let mut a = ok;
    a.roi_end[0] = 1.0;
    assert_eq!(
        attr_err(a, &[2, 2]),
        "roi must be finite with tf_crop_and_resize, else 0"
    );
    let mut a = ok;
    a.coord = Coord::TfCropAndResize;
    a.roi_end[0] = f32::NAN;
    assert_eq!(
        attr_err(a, &[2, 2]),
        "roi must be finite with tf_crop_and_resize, else 0"
    );
    let mut a = attrs(FLOOR, Coord::HalfPixel, &[4, 4], given(&[2.0, 2.0]));
    a.antialias = true;
    assert_eq!(
        attr_err(a, &[2, 2]),
        "antialias needs a linear or cubic filter"
    );
    let mut a = attrs(Interp::Cubic, Coord::HalfPixel, &[4, 4], given(&[2.0, 2.0]));
    a.cubic_a = f32::NAN;
    assert_eq!(attr_err(a, &[2, 2]), "cubic coefficient must be finite");
    let mut a = attrs(
        Interp::Linear,
        Coord::HalfPixel,
        &[4, 2],
        Scales::SizesOf(1),
    );
    a.axes = 0b01;
    assert_eq!(
        attr_err(a, &[2, 2]),
        "the scale's axis is not a non-empty resized axis"
    );
    let a = attrs(Interp::Linear, Coord::HalfPixel, &[2, 3], Scales::Sizes);
    assert_eq!(
        attr_err(a, &[2, 0]),
        "resize of an empty axis to a non-empty one"
    );
    // An antialiasing filter of millions of taps.
    let mut a = attrs(Interp::Linear, Coord::HalfPixel, &[1], given(&[1e-6]));
    a.antialias = true;
    assert_eq!(
        attr_err(a, &[4]),
        "antialiasing filter too wide (scale too small)"
    );
    // Not f32.
    let mut g = Graph::new("resize", "resize test");
    let x = g.add_input("x", DType::I32, &[2, 2]).unwrap();
    assert_eq!(
        g.add_op::<Resize>(ok, &[x], "y").unwrap_err(),
        Error::Model(ModelError::DType {
            op: 0,
            operand: 0,
            expected: DType::F32,
            got: DType::I32
        })
    );
}

#[test]
fn bad_records_are_refused_at_load() {
    let ok = attrs(
        Interp::Linear,
        Coord::HalfPixel,
        &[4, 4],
        given(&[2.0, 2.0]),
    );
    let bytes = encode(&graph(ok, &[2, 2]).unwrap());
    assert!(Model::from_bytes(&bytes).is_ok());
    let mut bad = ok;
    bad.scales = given(&[2.0, -1.0]);
    let b = with_op(&bytes, 0, |d| {
        d.attrs = postcard::to_allocvec(&bad).unwrap()
    });
    assert_eq!(
        model_err(&b),
        ModelError::Attribute {
            op: 0,
            what: "scales must be finite and positive on resized axes, else 0"
        }
    );
    let b = with_op(&bytes, 0, |d| d.attrs.truncate(3));
    assert_eq!(
        model_err(&b),
        ModelError::Attribute {
            op: 0,
            what: "attribute record does not decode"
        }
    );
}
