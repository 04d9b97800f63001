//! The `GridSample` op through whole models (graph builder -> `.born` bytes -> loader ->
//! interpreter) against hand-computed values: identity grids, bilinear averages, the three
//! paddings outside `[-1, 1]`, nearest ties to even, cubic weights, 1-D and 3-D inputs,
//! batches and channels, non-finite grid values; then the shapes and records `prepare`
//! refuses and the kernel's own length checks.

#![cfg(feature = "alloc")]

mod common;

use born_core::kernels::grid_sample::{self, Mode, Padding, Sampler};
use born_core::model::graph::{AlignedBytes, Graph};
use born_core::ops::grid_sample::GridSample;
use born_core::{DType, Error, Interpreter, Model, ModelError};
use common::{encode, model_err, with_op};

fn sampler(mode: Mode, padding: Padding, align_corners: bool) -> Sampler {
    Sampler {
        mode,
        padding,
        align_corners,
    }
}

const LINEAR_ALIGNED: Sampler = Sampler {
    mode: Mode::Linear,
    padding: Padding::Zeros,
    align_corners: true,
};

fn graph(s: Sampler, x_dims: &[usize], g_dims: &[usize]) -> born_core::Result<Graph> {
    graph_of(s, (DType::F32, x_dims), (DType::F32, g_dims))
}

fn graph_of(
    s: Sampler,
    (xt, x_dims): (DType, &[usize]),
    (gt, g_dims): (DType, &[usize]),
) -> born_core::Result<Graph> {
    let mut g = Graph::new("grid_sample", "grid sample test");
    let x = g.add_input("x", xt, x_dims)?;
    let grid = g.add_input("grid", gt, g_dims)?;
    let y = g.add_op::<GridSample>(s, &[x, grid], "y")?;
    g.mark_output(y)?;
    Ok(g)
}

fn invoke(bytes: &AlignedBytes, x: &[f32], grid: &[f32]) -> born_core::Result<Vec<f32>> {
    let m = Model::from_bytes(bytes)?;
    let mut arena = vec![0u8; Interpreter::arena_len(&m)?];
    let mut it = Interpreter::new(&m, &mut arena)?;
    it.input_raw_mut(0)?
        .copy_from_slice(bytemuck::cast_slice(x));
    it.input_raw_mut(1)?
        .copy_from_slice(bytemuck::cast_slice(grid));
    it.invoke()?;
    let out = it.output_raw(0)?;
    Ok(out
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Runs `s` on `x` and `grid` of the given extents; checks the output's extents and its
/// values (within 1e-6; NaN nowhere).
fn check(s: Sampler, x: (&[usize], &[f32]), grid: (&[usize], &[f32]), want: &[f32]) {
    let g = graph(s, x.0, grid.0).unwrap_or_else(|e| panic!("{s:?}: {e:?}"));
    let rank = x.0.len();
    let mut out_dims = x.0[..2].to_vec();
    out_dims.extend_from_slice(&grid.0[1..rank - 1]);
    let y = g.outputs[0];
    assert_eq!(g.tensors[y].shape.dims(), &out_dims[..], "{s:?}: shape");
    let got = invoke(&encode(&g), x.1, grid.1).unwrap_or_else(|e| panic!("{s:?}: {e:?}"));
    assert_eq!(got.len(), want.len(), "{s:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-6, "{s:?}: element {i}: {g} != {w}");
    }
}

/// `x [1, 1, 1, w]` sampled along its one row (grid `y` 0) at the `x` coordinates `gx`.
fn row(s: Sampler, x: &[f32], gx: &[f32], want: &[f32]) {
    let grid: Vec<f32> = gx.iter().flat_map(|&g| [g, 0.0]).collect();
    check(
        s,
        (&[1, 1, 1, x.len()], x),
        (&[1, 1, gx.len(), 2], &grid),
        want,
    );
}

const X32: [f32; 6] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];

#[test]
fn identity_grid_reproduces_the_input() {
    // x [1, 1, 3, 2]: with aligned corners the element centres are x in {-1, 1} and
    // y in {-1, 0, 1}; every filter reads exactly the element there (cubic weights at an
    // integer position are 0, 1, 0, 0).
    let grid = [
        -1.0, -1.0, 1.0, -1.0, //
        -1.0, 0.0, 1.0, 0.0, //
        -1.0, 1.0, 1.0, 1.0,
    ];
    for mode in [Mode::Nearest, Mode::Linear, Mode::Cubic] {
        for padding in [Padding::Zeros, Padding::Border, Padding::Reflection] {
            let s = sampler(mode, padding, true);
            check(s, (&[1, 1, 3, 2], &X32), (&[1, 3, 2, 2], &grid), &X32);
        }
    }
    // Without aligned corners the centres are at (2j + 1) / n - 1: x in {-0.5, 0.5}.
    let grid = [-0.5, 0.0, 0.5, 0.0];
    for mode in [Mode::Nearest, Mode::Linear] {
        let s = sampler(mode, Padding::Zeros, false);
        check(
            s,
            (&[1, 1, 1, 2], &[7.0, 9.0]),
            (&[1, 1, 2, 2], &grid),
            &[7.0, 9.0],
        );
    }
}

#[test]
fn bilinear_averages() {
    // x = [[1, 2], [3, 4]], aligned corners: grid 0 is the centre (x = y = 0.5), the mean
    // 2.5; (0, -1) is halfway along the top row, 1.5; (-1, 0) halfway down the left
    // column, 2; (0.5, 0) is x = 0.75, y = 0.5: rows 1.75 and 3.75, mean 2.75.
    let x = [1.0, 2.0, 3.0, 4.0];
    let grid = [0.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.5, 0.0];
    check(
        LINEAR_ALIGNED,
        (&[1, 1, 2, 2], &x),
        (&[1, 1, 4, 2], &grid),
        &[2.5, 1.5, 2.0, 2.75],
    );
    // Without aligned corners, grid 0 is still the centre; the corner (-1, -1) is the
    // outer corner of element (0, 0) (x = y = -0.5): a quarter of it and three quarters
    // of padding. Zeros: 0.25; border (positions clamped) and reflection (-1 reflects
    // to 0): the element itself.
    let grid = [0.0, 0.0, -1.0, -1.0];
    let dims: (&[usize], &[f32]) = (&[1, 1, 2, 2], &x);
    let g_dims: &[usize] = &[1, 1, 2, 2];
    let s = |p| sampler(Mode::Linear, p, false);
    check(s(Padding::Zeros), dims, (g_dims, &grid), &[2.5, 0.25]);
    check(s(Padding::Border), dims, (g_dims, &grid), &[2.5, 1.0]);
    check(s(Padding::Reflection), dims, (g_dims, &grid), &[2.5, 1.0]);
}

#[test]
fn paddings_outside_the_grid_range() {
    // Row [1, 2], aligned corners: x = (g + 1) / 2. g = 2 is x = 1.5, g = 3 is x = 2,
    // g = -2 is x = -0.5, g = 1e30 far right.
    let x = [1.0, 2.0];
    let gx = [2.0, 3.0, -2.0, 1e30];
    // Zeros: halfway between 2 and a zero; all zeros; halfway between a zero and 1; zero.
    row(
        sampler(Mode::Linear, Padding::Zeros, true),
        &x,
        &gx,
        &[1.0, 0.0, 0.5, 0.0],
    );
    // Border: coordinates clamped to [0, 1].
    row(
        sampler(Mode::Linear, Padding::Border, true),
        &x,
        &gx,
        &[2.0, 2.0, 1.0, 2.0],
    );
    // Reflection about [0, 1]: 1.5 -> 0.5, 2 -> 0 (one full range: the other edge),
    // -0.5 -> 0.5.
    row(
        sampler(Mode::Linear, Padding::Reflection, true),
        &x,
        &gx[..3],
        &[1.5, 1.0, 1.5],
    );
    // Without aligned corners the range is [-0.5, 1.5]: g = 2 is x = 2.5, reflected to
    // 0.5; g = -3 is x = -2.5, one range length below the bottom: reflected to the top,
    // 1.5, whose taps 1 and 2 (reflected to 1) both read 2.
    row(
        sampler(Mode::Linear, Padding::Reflection, false),
        &x,
        &[2.0, -3.0],
        &[1.5, 2.0],
    );
    // Nearest with border: far left and right read the edges.
    row(
        sampler(Mode::Nearest, Padding::Border, false),
        &[1.0, 2.0, 3.0],
        &[-5.0, 5.0],
        &[1.0, 3.0],
    );
}

#[test]
fn nearest_rounds_ties_to_even() {
    // Five elements, aligned corners: x = 2 (g + 1). g = -0.75, -0.25, 0.25, 0.75 are
    // x = 0.5, 1.5, 2.5, 3.5, rounded to 0, 2, 2, 4.
    let x = [10.0, 20.0, 30.0, 40.0, 50.0];
    row(
        sampler(Mode::Nearest, Padding::Zeros, true),
        &x,
        &[-0.75, -0.25, 0.25, 0.75, -1.0, 1.0],
        &[10.0, 30.0, 30.0, 50.0, 10.0, 50.0],
    );
    // Four elements, corners not aligned: x = (4 (g + 1) - 1) / 2. g = -0.5, 0, 0.5 are
    // x = 0.5, 1.5, 2.5, rounded to 0, 2, 2; g = -1 is x = -0.5, rounded to -0 (element 0);
    // g = 1 is x = 3.5, rounded to 4: outside, zero.
    row(
        sampler(Mode::Nearest, Padding::Zeros, false),
        &[10.0, 20.0, 30.0, 40.0],
        &[-0.5, 0.0, 0.5, -1.0, 1.0],
        &[10.0, 30.0, 30.0, 10.0, 0.0],
    );
}

#[test]
fn cubic_weights_by_hand() {
    // Coefficient -0.75 at t = 0.5: weights -0.09375, 0.59375, 0.59375, -0.09375.
    // Row [0, 1, 4, 9], aligned corners, g = 0: x = 1.5, taps 0..=3:
    // 0.59375 (1 + 4) - 0.09375 (0 + 9) = 2.125.
    row(
        sampler(Mode::Cubic, Padding::Zeros, true),
        &[0.0, 1.0, 4.0, 9.0],
        &[0.0],
        &[2.125],
    );
    // Row [1, 2, 5], aligned corners, g = -0.5: x = 0.5, taps -1..=2; tap 2 reads 5.
    // Zeros (tap -1 reads 0): 0.59375 (1 + 2) - 0.09375 * 5 = 1.3125; border (reads 1):
    // 1.21875; reflection about [0, 2] (reads element 1, 2): 1.125.
    let x = [1.0, 2.0, 5.0];
    let s = |p| sampler(Mode::Cubic, p, true);
    row(s(Padding::Zeros), &x, &[-0.5], &[1.3125]);
    row(s(Padding::Border), &x, &[-0.5], &[1.21875]);
    row(s(Padding::Reflection), &x, &[-0.5], &[1.125]);
}

#[test]
fn one_and_three_spatial_axes() {
    // 1-D: x [1, 1, 4], grid [1, 3, 1], aligned corners: x = 1.5 (g + 1).
    check(
        LINEAR_ALIGNED,
        (&[1, 1, 4], &[0.0, 10.0, 20.0, 30.0]),
        (&[1, 3, 1], &[-1.0, 0.0, 0.5]),
        &[0.0, 15.0, 22.5],
    );
    // 3-D: x [1, 1, 2, 2, 2] with x[z][y][x] = 4z + 2y + x (trilinear reproduces it);
    // grid points (x, y, z): (0, 0, 0) the centre 3.5; (1, -1, 0) is x = 1, y = 0,
    // z = 0.5: 3; (-0.5, 0.5, 1) is x = 0.25, y = 0.75, z = 1: 5.75.
    let x: Vec<f32> = (0..8).map(|v| v as f32).collect();
    let grid = [0.0, 0.0, 0.0, 1.0, -1.0, 0.0, -0.5, 0.5, 1.0];
    check(
        LINEAR_ALIGNED,
        (&[1, 1, 2, 2, 2], &x),
        (&[1, 1, 1, 3, 3], &grid),
        &[3.5, 3.0, 5.75],
    );
    // Nearest in 3-D: (-1, 1, 1) is element (z 1, y 1, x 0) = 6; (1, -1, -0.2) is
    // x = 1, y = 0, z = 0.4 rounded to 0: 1.
    check(
        sampler(Mode::Nearest, Padding::Zeros, true),
        (&[1, 1, 2, 2, 2], &x),
        (&[1, 2, 1, 1, 3], &[-1.0, 1.0, 1.0, 1.0, -1.0, -0.2]),
        &[6.0, 1.0],
    );
}

#[test]
fn batches_and_channels() {
    // x [2, 2, 1, 2]: batch 0 channels [1, 2] and [3, 4], batch 1 [5, 6] and [7, 8];
    // batch 0 samples x = 0 and 1 (g = -1, 1), batch 1 only the middle (g = 0) twice.
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let grid = [-1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    check(
        LINEAR_ALIGNED,
        (&[2, 2, 1, 2], &x),
        (&[2, 1, 2, 2], &grid),
        &[1.0, 2.0, 3.0, 4.0, 5.5, 5.5, 7.5, 7.5],
    );
}

#[test]
fn non_finite_grid_values_give_zero() {
    // A grid point with a NaN or infinite coordinate (or one whose scaling overflows:
    // (3e38 + 1) * 2 is infinite on an axis of 2) samples nothing, whatever the padding;
    // the other points are unaffected.
    let x4 = [1.0, 2.0, 3.0, 4.0];
    for mode in [Mode::Nearest, Mode::Linear, Mode::Cubic] {
        for padding in [Padding::Zeros, Padding::Border, Padding::Reflection] {
            let s = sampler(mode, padding, false);
            let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3e38];
            let grid: Vec<f32> = bad.iter().flat_map(|&g| [g, 0.0, 0.0, g]).collect();
            check(s, (&[1, 1, 2, 2], &x4), (&[1, 1, 8, 2], &grid), &[0.0; 8]);
            // (-0.5, 0) is x = 0, y = 0.5: column 0 [1, 3] at 0.5. Nearest rounds to
            // row 0: 1; linear: 2; cubic (weights -0.09375, 0.59375, 0.59375, -0.09375
            // over rows -1..=2): 2.375 with zeros, 2 when rows -1 and 2 read 1 and 3.
            let grid = [-0.5, f32::NAN, -0.5, 0.0];
            let mid = match (mode, padding) {
                (Mode::Nearest, _) => 1.0,
                (Mode::Cubic, Padding::Zeros) => 2.375,
                _ => 2.0,
            };
            check(s, (&[1, 1, 2, 2], &x4), (&[1, 1, 2, 2], &grid), &[0.0, mid]);
        }
    }
    let x = [1.0, 2.0];
    // A large finite value is a coordinate like any other: far right and far left, clamped
    // to the edges or reflected (5e29 past an edge is an even number of range lengths:
    // folded back to that edge).
    row(
        sampler(Mode::Cubic, Padding::Border, true),
        &x,
        &[1e30, -1e30],
        &[2.0, 1.0],
    );
    row(
        sampler(Mode::Nearest, Padding::Reflection, true),
        &x,
        &[1e30, -1e30],
        &[2.0, 1.0],
    );
}

fn shape_err(x: &[usize], g: &[usize]) -> ModelError {
    match graph(LINEAR_ALIGNED, x, g) {
        Err(Error::Model(e)) => e,
        other => panic!("{x:?} {g:?}: expected a model error, got {other:?}"),
    }
}

#[test]
fn bad_shapes_are_refused() {
    let operand = |operand, what| ModelError::OperandShape {
        op: 0,
        operand,
        what,
    };
    let axes = "must have N, C and 1 to 4 spatial axes";
    assert_eq!(shape_err(&[1, 1], &[1, 2]), operand(0, axes));
    assert_eq!(
        shape_err(&[1, 1, 2, 2], &[1, 2, 2]),
        operand(1, "rank differs from the input's")
    );
    assert_eq!(
        shape_err(&[1, 1, 2, 2], &[2, 3, 3, 2]),
        operand(1, "batch extent differs from the input's")
    );
    assert_eq!(
        shape_err(&[1, 1, 2, 2], &[1, 3, 3, 3]),
        operand(1, "last extent must be the number of spatial axes")
    );
    assert_eq!(
        shape_err(&[1, 1, 2, 2, 2], &[1, 3, 3, 3, 2]),
        operand(1, "last extent must be the number of spatial axes")
    );
    assert_eq!(
        shape_err(&[1, 1, 0, 2], &[1, 3, 3, 2]),
        operand(0, "a spatial extent is 0 (nothing to sample)")
    );
    let s = LINEAR_ALIGNED;
    let dtype = |operand, got| {
        Error::Model(ModelError::DType {
            op: 0,
            operand,
            expected: DType::F32,
            got,
        })
    };
    let x = (DType::I32, &[1usize, 1, 2, 2][..]);
    let g = (DType::F32, &[1usize, 1, 1, 2][..]);
    assert_eq!(graph_of(s, x, g).unwrap_err(), dtype(0, DType::I32));
    let x = (DType::F32, &[1usize, 1, 2, 2][..]);
    let g = (DType::F16, &[1usize, 1, 1, 2][..]);
    assert_eq!(graph_of(s, x, g).unwrap_err(), dtype(1, DType::F16));
}

#[test]
fn bad_records_are_refused_at_load() {
    let bytes = encode(&graph(LINEAR_ALIGNED, &[1, 1, 2, 2], &[1, 1, 1, 2]).unwrap());
    assert!(Model::from_bytes(&bytes).is_ok());
    let b = with_op(&bytes, 0, |d| d.attrs.truncate(1));
    assert_eq!(
        model_err(&b),
        ModelError::Attribute {
            op: 0,
            what: "attribute record does not decode"
        }
    );
    // A filter outside the enum.
    let b = with_op(&bytes, 0, |d| d.attrs[0] = 7);
    assert_eq!(
        model_err(&b),
        ModelError::Attribute {
            op: 0,
            what: "attribute record does not decode"
        }
    );
    // One input only.
    let b = with_op(&bytes, 0, |d| d.inputs.truncate(1));
    assert!(
        matches!(model_err(&b), ModelError::Arity { min: 2, max: 2, .. }),
        "{:?}",
        model_err(&b)
    );
}

/// The kernel on its own: buffers of the wrong length and shapes that do not line up are
/// errors, not panics.
#[test]
fn kernel_checks_lengths() {
    let s = LINEAR_ALIGNED;
    let x = [1.0f32; 4];
    let grid = [0.0f32; 2];
    let mut out = [0.0f32; 1];
    grid_sample::grid_sample(&s, &x, &[1, 1, 2, 2], &grid, &[1, 1, 1, 2], &mut out).unwrap();
    assert_eq!(out, [1.0]);
    let e = grid_sample::grid_sample(&s, &x[..3], &[1, 1, 2, 2], &grid, &[1, 1, 1, 2], &mut out)
        .unwrap_err();
    assert!(
        matches!(e, Error::BufferTooSmall { what: "input", .. }),
        "{e:?}"
    );
    let e = grid_sample::grid_sample(&s, &x, &[1, 1, 2, 2], &grid[..1], &[1, 1, 1, 2], &mut out)
        .unwrap_err();
    assert!(
        matches!(e, Error::BufferTooSmall { what: "grid", .. }),
        "{e:?}"
    );
    let e =
        grid_sample::grid_sample(&s, &x, &[1, 1, 2, 2], &grid, &[1, 1, 1, 2], &mut []).unwrap_err();
    assert!(
        matches!(e, Error::BufferTooSmall { what: "output", .. }),
        "{e:?}"
    );
    let e = grid_sample::grid_sample(&s, &x, &[4], &grid, &[1, 1, 1, 2], &mut out).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    let e =
        grid_sample::grid_sample(&s, &x, &[1, 1, 2, 2], &grid, &[1, 1, 2], &mut out).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DimMismatch {
                what: "grid rank",
                ..
            }
        ),
        "{e:?}"
    );
    let e = grid_sample::grid_sample(&s, &x, &[1, 1, 2, 2], &grid, &[2, 1, 1, 2], &mut out)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::DimMismatch {
                what: "grid batch",
                ..
            }
        ),
        "{e:?}"
    );
    let e = grid_sample::grid_sample(&s, &x, &[1, 1, 0, 2], &grid, &[1, 1, 1, 2], &mut out)
        .unwrap_err();
    assert!(matches!(e, Error::ZeroDim { .. }), "{e:?}");
    // No output points (or no channels): nothing is read, even from an input with an
    // empty spatial axis.
    grid_sample::grid_sample(&s, &[], &[1, 1, 0, 2], &[], &[1, 0, 3, 2], &mut []).unwrap();
    grid_sample::grid_sample(&s, &[], &[1, 0, 2, 2], &grid, &[1, 1, 1, 2], &mut []).unwrap();
}
