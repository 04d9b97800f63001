//! Data-movement kernels (kernels::tensor): NumPy fixtures (scripts/fixtures/tensor_ops.py)
//! for every kernel and every cast pair, hand-computed cases (ONNX Slice examples,
//! saturating float-to-integer casts, which NumPy leaves platform-defined), every error
//! path, and the fast paths of transpose and slice against their reference twins on random
//! shapes. The kernels copy values, so every comparison is exact.

use born_core::kernels::tensor::{
    cast, concat, expand, gather, gather_elements, pad, slice, slice_plan, slice_reference, split,
    tile, transpose, transpose_reference, where_select, CastType, PadMode,
};
use born_core::{Error, Shape};
use core::fmt::Debug;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &str = include_str!("fixtures/tensor_ops.json");

/// Element types the generic kernels are run with: the fixtures' small integers are exact
/// in all of them.
trait Elem: Copy + PartialEq + Debug + From<i16> {}
impl<T: Copy + PartialEq + Debug + From<i16>> Elem for T {}

/// Written into outputs before a call, so an element the kernel skips shows up.
const SENTINEL: i16 = i16::MIN;

fn doc() -> Value {
    serde_json::from_str(FIXTURES).unwrap()
}

fn cases<'a>(doc: &'a Value, name: &str) -> &'a [Value] {
    doc[name].as_array().expect("fixture list")
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e.as_i64().expect("int"))
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e.as_u64().expect("uint") as usize)
        .collect()
}

fn vals<T: Elem>(v: &Value) -> Vec<T> {
    ints(v)
        .into_iter()
        .map(|x| T::from(i16::try_from(x).expect("small integer")))
        .collect()
}

fn filled<T: Elem>(n: usize) -> Vec<T> {
    vec![T::from(SENTINEL); n]
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn run_transpose<T: Elem>(c: &Value) {
    let (shape, perm) = (usizes(&c["shape"]), usizes(&c["perm"]));
    let x: Vec<T> = vals(&c["x"]);
    let want: Vec<T> = vals(&c["out"]);
    type F<T> = fn(&[T], &[usize], &[usize], &mut [T]) -> born_core::Result<()>;
    for f in [transpose as F<T>, transpose_reference] {
        let mut out = filled(want.len());
        f(&x, &shape, &perm, &mut out).unwrap();
        assert_eq!(out, want, "transpose {shape:?} by {perm:?}");
    }
}

fn run_concat<T: Elem>(c: &Value) {
    let (outer, inner) = (
        c["outer"].as_u64().unwrap() as usize,
        c["inner"].as_u64().unwrap() as usize,
    );
    let lens = usizes(&c["axis_lens"]);
    let parts: Vec<Vec<T>> = c["parts"].as_array().unwrap().iter().map(vals).collect();
    let want: Vec<T> = vals(&c["out"]);
    let refs: Vec<&[T]> = parts.iter().map(|p| p.as_slice()).collect();
    let mut out = filled(want.len());
    concat(&refs, &lens, outer, inner, &mut out).unwrap();
    assert_eq!(out, want, "concat {} axis {}", c["shape"], c["axis"]);
    let mut back: Vec<Vec<T>> = parts.iter().map(|p| filled(p.len())).collect();
    let mut outs: Vec<&mut [T]> = back.iter_mut().map(|p| p.as_mut_slice()).collect();
    split(&want, outer, inner, &lens, &mut outs).unwrap();
    assert_eq!(back, parts, "split {} axis {}", c["shape"], c["axis"]);
}

fn run_slice<T: Elem>(c: &Value) {
    let shape = usizes(&c["shape"]);
    let plan = slice_plan(
        &shape,
        &ints(&c["starts"]),
        &ints(&c["ends"]),
        &ints(&c["axes"]),
        &ints(&c["steps"]),
    )
    .unwrap();
    assert_eq!(plan.output_shape(), usizes(&c["out_shape"]), "slice {c}");
    let x: Vec<T> = vals(&c["x"]);
    let want: Vec<T> = vals(&c["out"]);
    type F<T> = fn(
        &[T],
        &[usize],
        &born_core::kernels::tensor::SlicePlan,
        &mut [T],
    ) -> born_core::Result<()>;
    for f in [slice as F<T>, slice_reference] {
        let mut out = filled(want.len());
        f(&x, &shape, &plan, &mut out).unwrap();
        assert_eq!(out, want, "slice {shape:?} {plan:?}");
    }
}

fn run_gather<T: Elem>(c: &Value) {
    let shape = usizes(&c["shape"]);
    let axis = c["axis"].as_i64().unwrap();
    let x: Vec<T> = vals(&c["x"]);
    let want: Vec<T> = vals(&c["out"]);
    let mut out = filled(want.len());
    gather(&x, &shape, axis, &ints(&c["indices"]), &mut out).unwrap();
    assert_eq!(out, want, "gather {shape:?} axis {axis}");
}

fn run_gather_elements<T: Elem>(c: &Value) {
    let shape = usizes(&c["shape"]);
    let axis = c["axis"].as_i64().unwrap();
    let x: Vec<T> = vals(&c["x"]);
    let want: Vec<T> = vals(&c["out"]);
    let mut out = filled(want.len());
    let ishape = usizes(&c["indices_shape"]);
    gather_elements(&x, &shape, axis, &ints(&c["indices"]), &ishape, &mut out).unwrap();
    assert_eq!(out, want, "gather_elements {shape:?} axis {axis}");
}

fn run_where<T: Elem>(c: &Value) {
    let cond: Vec<u8> = ints(&c["cond"]).into_iter().map(|v| v as u8).collect();
    let (a, b): (Vec<T>, Vec<T>) = (vals(&c["a"]), vals(&c["b"]));
    let want: Vec<T> = vals(&c["out"]);
    let mut out = filled(want.len());
    let (cs, as_, bs, os) = (
        usizes(&c["cond_shape"]),
        usizes(&c["a_shape"]),
        usizes(&c["b_shape"]),
        usizes(&c["out_shape"]),
    );
    where_select(&cond, &cs, &a, &as_, &b, &bs, &mut out, &os).unwrap();
    assert_eq!(out, want, "where {cs:?} {as_:?} {bs:?}");
}

fn run_expand<T: Elem>(c: &Value) {
    let (shape, out_shape) = (usizes(&c["shape"]), usizes(&c["out_shape"]));
    let x: Vec<T> = vals(&c["x"]);
    let want: Vec<T> = vals(&c["out"]);
    let mut out = filled(want.len());
    expand(&x, &shape, &mut out, &out_shape).unwrap();
    assert_eq!(out, want, "expand {shape:?} to {out_shape:?}");
}

fn run_tile<T: Elem>(c: &Value) {
    let (shape, repeats) = (usizes(&c["shape"]), usizes(&c["repeats"]));
    let x: Vec<T> = vals(&c["x"]);
    let want: Vec<T> = vals(&c["out"]);
    let mut out = filled(want.len());
    tile(&x, &shape, &repeats, &mut out).unwrap();
    assert_eq!(out, want, "tile {shape:?} by {repeats:?}");
}

fn run_pad<T: Elem>(c: &Value) {
    let shape = usizes(&c["shape"]);
    let (begin, end) = (usizes(&c["begin"]), usizes(&c["end"]));
    let mode = match c["mode"].as_str().unwrap() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        m => panic!("unknown pad mode {m}"),
    };
    let value = T::from(c["value"].as_i64().unwrap() as i16);
    let x: Vec<T> = vals(&c["x"]);
    let want: Vec<T> = vals(&c["out"]);
    let mut out = filled(want.len());
    pad(&x, &shape, &begin, &end, mode, value, &mut out).unwrap();
    assert_eq!(out, want, "pad {shape:?} {begin:?} {end:?} {mode:?}");
}

/// Runs `f` on every fixture of `name`, once per element type.
fn each(name: &str, f32_run: fn(&Value), i64_run: fn(&Value)) {
    let doc = doc();
    let list = cases(&doc, name);
    assert!(!list.is_empty(), "no {name} fixtures");
    for c in list {
        f32_run(c);
        i64_run(c);
    }
}

#[test]
fn numpy_transpose() {
    each("transpose", run_transpose::<f32>, run_transpose::<i64>);
}

#[test]
fn numpy_concat_and_split() {
    each("concat", run_concat::<f32>, run_concat::<i64>);
}

#[test]
fn numpy_slice() {
    each("slice", run_slice::<f32>, run_slice::<i64>);
}

#[test]
fn numpy_gather() {
    each("gather", run_gather::<f32>, run_gather::<i64>);
    each(
        "gather_elements",
        run_gather_elements::<f32>,
        run_gather_elements::<i64>,
    );
}

#[test]
fn numpy_where_expand_tile() {
    each("where", run_where::<f32>, run_where::<i64>);
    each("expand", run_expand::<f32>, run_expand::<i64>);
    each("tile", run_tile::<f32>, run_tile::<i64>);
}

#[test]
fn numpy_pad() {
    each("pad", run_pad::<f32>, run_pad::<i64>);
}

fn cast_type(name: &str) -> CastType {
    match name {
        "f32" => CastType::F32,
        "f16" => CastType::F16,
        "i8" => CastType::I8,
        "u8" => CastType::U8,
        "i16" => CastType::I16,
        "i32" => CastType::I32,
        "i64" => CastType::I64,
        "bool" => CastType::Bool,
        "f64" => CastType::F64,
        "u16" => CastType::U16,
        "u32" => CastType::U32,
        "u64" => CastType::U64,
        t => panic!("unknown cast type {t}"),
    }
}

#[test]
fn numpy_cast_every_pair() {
    let doc = doc();
    let list = cases(&doc, "cast");
    assert_eq!(list.len(), 144, "one fixture per (from, to) pair");
    for c in list {
        let (from, to) = (c["from"].as_str().unwrap(), c["to"].as_str().unwrap());
        let (f, t) = (cast_type(from), cast_type(to));
        let n = c["n"].as_u64().unwrap() as usize;
        let src = hex(&c["src"]);
        let want = hex(&c["dst"]);
        assert_eq!(src.len(), n * f.size());
        let mut dst = vec![0xA5u8; n * t.size()];
        cast(&src, f, &mut dst, t, n).unwrap();
        for (k, (got, exp)) in dst.chunks(t.size()).zip(want.chunks(t.size())).enumerate() {
            assert_eq!(
                got,
                exp,
                "cast {from} -> {to}, element {k}: source bytes {:02x?}",
                &src[k * f.size()..][..f.size()]
            );
        }
    }
}

/// Casts `values` (f32) to `to` and decodes the result as i64.
fn f32_to(to: CastType, values: &[f32]) -> Vec<i64> {
    let src: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut dst = vec![0u8; values.len() * to.size()];
    cast(&src, CastType::F32, &mut dst, to, values.len()).unwrap();
    decode(to, &dst)
}

fn decode(t: CastType, b: &[u8]) -> Vec<i64> {
    b.chunks(t.size())
        .map(|c| match t {
            CastType::I8 => c[0] as i8 as i64,
            CastType::U8 | CastType::Bool => c[0] as i64,
            CastType::I16 => i16::from_le_bytes([c[0], c[1]]) as i64,
            CastType::I32 => i32::from_le_bytes(c.try_into().unwrap()) as i64,
            CastType::I64 => i64::from_le_bytes(c.try_into().unwrap()),
            CastType::U16 => u16::from_le_bytes([c[0], c[1]]) as i64,
            CastType::U32 => u32::from_le_bytes(c.try_into().unwrap()) as i64,
            CastType::U64 => u64::from_le_bytes(c.try_into().unwrap()) as i64,
            CastType::F32 | CastType::F16 | CastType::F64 => panic!("not an integer type"),
        })
        .collect()
}

#[test]
fn float_to_int_saturates_and_nan_is_zero() {
    let x = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e10,
        -1e10,
        300.0,
        -129.9,
        255.9,
        -0.99,
        3e9,
        -3e9,
        1e19,
        -1e19,
    ];
    // Truncate toward zero, then clamp to the destination's range; NaN is 0.
    #[rustfmt::skip]
    let table: [(CastType, [i64; 13]); 5] = [
        (CastType::I8, [0, 127, -128, 127, -128, 127, -128, 127, 0, 127, -128, 127, -128]),
        (CastType::U8, [0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0]),
        (CastType::I16, [0, 32767, -32768, 32767, -32768, 300, -129, 255, 0, 32767, -32768,
                         32767, -32768]),
        (CastType::I32, [0, 2147483647, -2147483648, 2147483647, -2147483648, 300, -129, 255, 0,
                         2147483647, -2147483648, 2147483647, -2147483648]),
        (CastType::I64, [0, i64::MAX, i64::MIN, 10_000_000_000, -10_000_000_000, 300, -129, 255, 0,
                         3_000_000_000, -3_000_000_000, i64::MAX, i64::MIN]),
    ];
    for (t, want) in table {
        assert_eq!(f32_to(t, &x), want, "f32 -> {t:?}");
    }
    // f16 sources: NaN, +-inf, the largest finite value 65504 and -300.5.
    let h: [u16; 5] = [0x7E00, 0x7C00, 0xFC00, 0x7BFF, 0xDCB2];
    let src: Vec<u8> = h.iter().flat_map(|v| v.to_le_bytes()).collect();
    #[rustfmt::skip]
    let table: [(CastType, [i64; 5]); 5] = [
        (CastType::I8, [0, 127, -128, 127, -128]),
        (CastType::U8, [0, 255, 0, 255, 0]),
        (CastType::I16, [0, 32767, -32768, 32767, -300]),
        (CastType::I32, [0, 2147483647, -2147483648, 65504, -300]),
        (CastType::I64, [0, i64::MAX, i64::MIN, 65504, -300]),
    ];
    for (t, want) in table {
        let mut dst = vec![0u8; h.len() * t.size()];
        cast(&src, CastType::F16, &mut dst, t, h.len()).unwrap();
        assert_eq!(decode(t, &dst), want, "f16 -> {t:?}");
    }
    // NaN is true, -0.0 false.
    assert_eq!(f32_to(CastType::Bool, &[f32::NAN, -0.0, 1e-45]), [1, 0, 1]);
}

#[test]
fn int_casts_wrap_and_bools_normalise() {
    let src: Vec<u8> = [300i32, -1, 200, -129]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut u = [0u8; 4];
    cast(&src, CastType::I32, &mut u, CastType::U8, 4).unwrap();
    assert_eq!(u, [44, 255, 200, 127]);
    let mut i = [0u8; 1];
    cast(&[200], CastType::U8, &mut i, CastType::I8, 1).unwrap();
    assert_eq!(i[0] as i8, -56);
    // Any non-zero byte reads as true and is written back as 1.
    let mut b = [9u8; 3];
    cast(&[0, 2, 255], CastType::Bool, &mut b, CastType::Bool, 3).unwrap();
    assert_eq!(b, [0, 1, 1]);
    let mut f = [0u8; 8];
    cast(&[7, 0], CastType::Bool, &mut f, CastType::F32, 2).unwrap();
    assert_eq!(f, [0, 0, 0x80, 0x3F, 0, 0, 0, 0]);
    // Same type: the bytes are copied as they are (a signalling NaN stays one).
    let mut h = [0u8; 2];
    cast(&[0x01, 0x7C], CastType::F16, &mut h, CastType::F16, 1).unwrap();
    assert_eq!(h, [0x01, 0x7C]);
    // Unaligned buffers are fine.
    let src = [0u8, 0, 0, 0x80, 0x3F];
    let mut dst = [0u8; 9];
    cast(&src[1..], CastType::F32, &mut dst[1..], CastType::I64, 1).unwrap();
    assert_eq!(dst, [0, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        [
            CastType::F32,
            CastType::F16,
            CastType::I8,
            CastType::U8,
            CastType::I16,
            CastType::I32,
            CastType::I64,
            CastType::Bool
        ]
        .map(CastType::size),
        [4, 2, 1, 1, 2, 4, 8, 1]
    );
}

#[test]
fn slice_plans_follow_the_onnx_text() {
    // Example 1 of the operator's documentation.
    let p = slice_plan(&[2, 4], &[1, 0], &[2, 3], &[0, 1], &[1, 2]).unwrap();
    assert_eq!(p.output_shape(), [1, 2]);
    assert_eq!(p.starts(), [1, 0]);
    assert_eq!(p.steps(), [1, 2]);
    let x: Vec<i32> = (1..=8).collect();
    let mut out = [0i32; 2];
    slice(&x, &[2, 4], &p, &mut out).unwrap();
    assert_eq!(out, [5, 7]);
    // Example 2: axes and steps omitted, end -1 and 1000.
    let p = slice_plan(&[2, 4], &[0, 1], &[-1, 1000], &[], &[]).unwrap();
    let mut out = [0i32; 3];
    slice(&x, &[2, 4], &p, &mut out).unwrap();
    assert_eq!(out, [2, 3, 4]);
    // Backwards from i64::MAX to i64::MIN is the whole axis reversed.
    let p = slice_plan(&[5], &[i64::MAX], &[i64::MIN], &[-1], &[-1]).unwrap();
    assert_eq!(
        (p.output_shape(), p.starts(), p.steps()),
        (&[5][..], &[4][..], &[-1][..])
    );
    // A start before the front with a negative step clamps to 0 (NumPy would give nothing).
    let p = slice_plan(&[5], &[-9], &[i64::MIN], &[], &[-1]).unwrap();
    assert_eq!((p.output_shape(), p.starts()), (&[1][..], &[0][..]));
    // Steps past the axis read one element and are stored as 1; empty axes start at 0.
    // (Axis 1 reads only position 5; axis 0 reads 0 and 2, the end 9 clamped to 4.)
    let p = slice_plan(&[4, 6], &[5, 0], &[0, 9], &[1, 0], &[i64::MIN, 2]).unwrap();
    assert_eq!(
        (p.output_shape(), p.starts(), p.steps()),
        (&[2, 1][..], &[0, 5][..], &[2, 1][..])
    );
    let p = slice_plan(&[4, 6], &[3], &[3], &[0], &[1]).unwrap();
    assert_eq!(
        (p.output_shape(), p.starts(), p.steps()),
        (&[0, 6][..], &[0, 0][..], &[1, 1][..])
    );
    assert_eq!(p.output_numel(), 0);
    assert_eq!(p.input_shape(), [4, 6]);
    assert_eq!(p.rank(), 2);
}

#[test]
fn hand_computed() {
    // [[0, 1, 2], [3, 4, 5]] transposed.
    let x = [0u8, 1, 2, 3, 4, 5];
    let mut t = [0u8; 6];
    transpose(&x, &[2, 3], &[1, 0], &mut t).unwrap();
    assert_eq!(t, [0, 3, 1, 4, 2, 5]);
    // A scalar and an empty tensor.
    let mut s = [0u8];
    transpose(&[9u8], &[], &[], &mut s).unwrap();
    assert_eq!(s, [9]);
    transpose::<u8>(&[], &[2, 0], &[1, 0], &mut []).unwrap();
    // Pad modes on [1, 2, 3].
    let x = [1i32, 2, 3];
    let mut p = [0i32; 7];
    pad(&x, &[3], &[2], &[2], PadMode::Reflect, 0, &mut p).unwrap();
    assert_eq!(p, [3, 2, 1, 2, 3, 2, 1]);
    pad(&x, &[3], &[2], &[2], PadMode::Edge, 0, &mut p).unwrap();
    assert_eq!(p, [1, 1, 1, 2, 3, 3, 3]);
    pad(&x, &[3], &[2], &[2], PadMode::Constant, -7, &mut p).unwrap();
    assert_eq!(p, [-7, -7, 1, 2, 3, -7, -7]);
    // Gather with the two negative extremes.
    let x = [0i32, 1, 2, 3, 4, 5];
    let mut g = [0i32; 4];
    gather(&x, &[2, 3], -1, &[-1, -3], &mut g).unwrap();
    assert_eq!(g, [2, 0, 5, 3]);
    // Where with a scalar condition and expand of a scalar.
    let mut w = [0i32; 3];
    where_select(&[1], &[], &[7, 8, 9], &[3], &[0], &[], &mut w, &[3]).unwrap();
    assert_eq!(w, [7, 8, 9]);
    let mut e = [0i32; 4];
    expand(&[5], &[], &mut e, &[2, 2]).unwrap();
    assert_eq!(e, [5; 4]);
    // Tile of [[1, 2]] twice down, twice across.
    let mut t = [0i32; 8];
    tile(&[1, 2], &[1, 2], &[2, 2], &mut t).unwrap();
    assert_eq!(t, [1, 2, 1, 2, 1, 2, 1, 2]);
}

#[test]
fn errors() {
    let x = [1i32; 24];
    let mut out = [7i32; 24];
    let shape = [2, 3, 4];
    for f in [transpose::<i32>, transpose_reference::<i32>] {
        assert_eq!(
            f(&x, &shape, &[0, 1, 1], &mut out),
            Err(Error::InvalidArgument {
                op: "transpose",
                what: "perm names an axis twice"
            })
        );
        assert_eq!(
            f(&x, &shape, &[0, 3, 1], &mut out),
            Err(Error::AxisOutOfRange {
                op: "transpose",
                axis: 3,
                rank: 3
            })
        );
        assert_eq!(
            f(&x, &shape, &[1, 0], &mut out),
            Err(Error::DimMismatch {
                op: "transpose",
                what: "perm length",
                expected: 3,
                got: 2
            })
        );
        assert_eq!(
            f(&x, &shape, &[2, 1, 0], &mut out[..23]),
            Err(Error::DimMismatch {
                op: "transpose",
                what: "output length",
                expected: 24,
                got: 23
            })
        );
        assert_eq!(
            f(&x[..20], &shape, &[2, 1, 0], &mut out),
            Err(Error::DimMismatch {
                op: "transpose",
                what: "input length",
                expected: 24,
                got: 20
            })
        );
        assert_eq!(
            f(&x, &[1; 7], &[0, 1, 2, 3, 4, 5, 6], &mut out),
            Err(Error::RankTooLarge {
                op: "transpose",
                rank: 7
            })
        );
    }
    assert_eq!(out, [7; 24], "failed calls write nothing");

    // Gather: out of range either way, checked before any write.
    assert_eq!(
        gather(&x, &shape, 1, &[0, 3], &mut out[..16]),
        Err(Error::IndexOutOfRange {
            op: "gather",
            what: "gather index",
            index: 3,
            len: 3
        })
    );
    assert_eq!(
        gather(&x, &shape, 1, &[-4], &mut out[..8]),
        Err(Error::IndexOutOfRange {
            op: "gather",
            what: "gather index",
            index: 4,
            len: 3
        })
    );
    assert_eq!(
        gather(&x, &shape, 1, &[i64::MIN], &mut out[..8]),
        Err(Error::IndexOutOfRange {
            op: "gather",
            what: "gather index",
            index: 1 << 63,
            len: 3
        })
    );
    assert_eq!(
        gather(&x, &shape, 3, &[0], &mut out[..8]),
        Err(Error::AxisOutOfRange {
            op: "gather",
            axis: 3,
            rank: 3
        })
    );
    assert_eq!(
        gather(&x, &shape, 0, &[0], &mut out[..11]),
        Err(Error::DimMismatch {
            op: "gather",
            what: "output length",
            expected: 12,
            got: 11
        })
    );
    assert_eq!(
        gather_elements(&x, &shape, -1, &[4; 24], &shape, &mut out),
        Err(Error::IndexOutOfRange {
            op: "gather_elements",
            what: "gather index",
            index: 4,
            len: 4
        })
    );
    assert_eq!(
        gather_elements(&x, &shape, 0, &[0; 12], &[2, 6, 1], &mut out[..12]),
        Err(Error::InvalidArgument {
            op: "gather_elements",
            what: "indices dimension exceeds the data dimension"
        })
    );
    assert_eq!(
        gather_elements(&x, &shape, 0, &[0; 6], &[2, 3], &mut out[..6]),
        Err(Error::DimMismatch {
            op: "gather_elements",
            what: "indices rank",
            expected: 3,
            got: 2
        })
    );
    assert_eq!(out, [7; 24], "failed calls write nothing");

    // Pad: reflect needs pads below the dimension; edge cannot pad an empty axis.
    let mut p = [0i32; 12];
    assert_eq!(
        pad(
            &x[..6],
            &[2, 3],
            &[0, 3],
            &[0, 0],
            PadMode::Reflect,
            0,
            &mut p
        ),
        Err(Error::IndexOutOfRange {
            op: "pad",
            what: "reflect pad",
            index: 3,
            len: 3
        })
    );
    assert_eq!(
        pad(
            &x[..6],
            &[2, 3],
            &[0, 0],
            &[2, 0],
            PadMode::Reflect,
            0,
            &mut p[..12]
        ),
        Err(Error::IndexOutOfRange {
            op: "pad",
            what: "reflect pad",
            index: 2,
            len: 2
        })
    );
    assert_eq!(
        pad(&[], &[0], &[1], &[0], PadMode::Edge, 0, &mut p[..1]),
        Err(Error::InvalidArgument {
            op: "pad",
            what: "edge padding of an empty axis"
        })
    );
    assert_eq!(
        pad(
            &x[..6],
            &[2, 3],
            &[1, 1],
            &[0, 0],
            PadMode::Edge,
            0,
            &mut p[..11]
        ),
        Err(Error::DimMismatch {
            op: "pad",
            what: "output length",
            expected: 12,
            got: 11
        })
    );
    assert_eq!(
        pad(&x[..6], &[2, 3], &[1], &[0, 0], PadMode::Edge, 0, &mut p),
        Err(Error::DimMismatch {
            op: "pad",
            what: "pads_begin length",
            expected: 2,
            got: 1
        })
    );

    // Slice plans and slices.
    assert_eq!(
        slice_plan(&shape, &[0], &[1], &[0], &[0]),
        Err(Error::InvalidArgument {
            op: "slice",
            what: "step is zero"
        })
    );
    assert_eq!(
        slice_plan(&shape, &[0, 0], &[1, 1], &[1, -2], &[]),
        Err(Error::InvalidArgument {
            op: "slice",
            what: "axes names an axis twice"
        })
    );
    assert_eq!(
        slice_plan(&shape, &[0], &[1], &[-4], &[]),
        Err(Error::AxisOutOfRange {
            op: "slice",
            axis: 4,
            rank: 3
        })
    );
    assert_eq!(
        slice_plan(&[2], &[0, 0], &[1, 1], &[], &[]),
        Err(Error::AxisOutOfRange {
            op: "slice",
            axis: 1,
            rank: 1
        })
    );
    assert_eq!(
        slice_plan(&shape, &[0, 0], &[1], &[], &[]),
        Err(Error::DimMismatch {
            op: "slice",
            what: "ends length",
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        slice_plan(&shape, &[0], &[1], &[0, 1], &[]),
        Err(Error::DimMismatch {
            op: "slice",
            what: "axes length",
            expected: 1,
            got: 2
        })
    );
    let plan = slice_plan(&shape, &[1], &[2], &[0], &[]).unwrap();
    assert_eq!(
        slice(&x, &[4, 3, 2], &plan, &mut out[..12]),
        Err(Error::ShapeMismatch {
            op: "slice",
            expected: Shape::new(&[2, 3, 4]).unwrap(),
            got: Shape::new(&[4, 3, 2]).unwrap()
        })
    );
    assert_eq!(
        slice_reference(&x, &shape, &plan, &mut out[..13]),
        Err(Error::DimMismatch {
            op: "slice",
            what: "output length",
            expected: 12,
            got: 13
        })
    );

    // Broadcasting kernels.
    assert_eq!(
        where_select(
            &[1; 3],
            &[3],
            &x[..4],
            &[4],
            &x[..1],
            &[],
            &mut out[..4],
            &[4]
        ),
        Err(Error::BroadcastMismatch {
            op: "where",
            lhs: Shape::new(&[3]).unwrap(),
            rhs: Shape::new(&[4]).unwrap()
        })
    );
    assert_eq!(
        where_select(
            &[1; 4],
            &[4],
            &x[..4],
            &[4],
            &x[..1],
            &[],
            &mut out[..8],
            &[2, 4]
        ),
        Err(Error::ShapeMismatch {
            op: "where",
            expected: Shape::new(&[4]).unwrap(),
            got: Shape::new(&[2, 4]).unwrap()
        })
    );
    assert_eq!(
        where_select(
            &[1; 3],
            &[4],
            &x[..4],
            &[4],
            &x[..1],
            &[],
            &mut out[..4],
            &[4]
        ),
        Err(Error::DimMismatch {
            op: "where",
            what: "condition length",
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        expand(&x[..3], &[3], &mut out[..8], &[2, 4]),
        Err(Error::BroadcastMismatch {
            op: "expand",
            lhs: Shape::new(&[3]).unwrap(),
            rhs: Shape::new(&[2, 4]).unwrap()
        })
    );
    assert_eq!(
        expand(&x[..3], &[3], &mut out[..5], &[2, 3]),
        Err(Error::DimMismatch {
            op: "expand",
            what: "output length",
            expected: 6,
            got: 5
        })
    );

    // Tile, concat, split.
    assert_eq!(
        tile(&x[..6], &[2, 3], &[2], &mut out[..12]),
        Err(Error::DimMismatch {
            op: "tile",
            what: "repeats length",
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        tile(&x[..6], &[2, 3], &[2, 1], &mut out[..11]),
        Err(Error::DimMismatch {
            op: "tile",
            what: "output length",
            expected: 12,
            got: 11
        })
    );
    assert_eq!(
        tile(&x[..6], &[2, 3], &[usize::MAX, 2], &mut out),
        Err(Error::Overflow { op: "tile" })
    );
    assert_eq!(
        concat(&[&x[..6], &x[..3]], &[3, 2], 2, 1, &mut out[..10]),
        Err(Error::DimMismatch {
            op: "concat",
            what: "part length",
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        concat(&[&x[..6], &x[..4]], &[3, 2], 2, 1, &mut out[..9]),
        Err(Error::DimMismatch {
            op: "concat",
            what: "output length",
            expected: 10,
            got: 9
        })
    );
    assert_eq!(
        concat(&[&x[..6]], &[3, 2], 2, 1, &mut out[..10]),
        Err(Error::DimMismatch {
            op: "concat",
            what: "part count",
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        concat::<i32>(&[&[]], &[usize::MAX], 2, 1, &mut []),
        Err(Error::Overflow { op: "concat" })
    );
    let (mut a, mut b) = ([0i32; 6], [0i32; 4]);
    assert_eq!(
        split(&x[..9], 2, 1, &[3, 2], &mut [&mut a[..], &mut b[..]]),
        Err(Error::DimMismatch {
            op: "split",
            what: "input length",
            expected: 10,
            got: 9
        })
    );

    // Cast lengths.
    let mut d = [0u8; 8];
    assert_eq!(
        cast(&[0; 7], CastType::F32, &mut d, CastType::I32, 2),
        Err(Error::DimMismatch {
            op: "cast",
            what: "input bytes",
            expected: 8,
            got: 7
        })
    );
    assert_eq!(
        cast(&[0; 8], CastType::F32, &mut d[..7], CastType::I32, 2),
        Err(Error::DimMismatch {
            op: "cast",
            what: "output bytes",
            expected: 8,
            got: 7
        })
    );
    assert_eq!(
        cast(&[], CastType::I64, &mut [], CastType::I8, usize::MAX),
        Err(Error::Overflow { op: "cast" })
    );
}

/// A shape of rank 0..=6 with at most `cap` elements, plus a random permutation of its
/// axes. Most dimensions are small; some reach 40 so the tiled transpose path runs on
/// ragged tiles.
fn shape_and_perm(cap: usize) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    let dim = prop_oneof![4 => 1usize..5, 1 => Just(1usize), 1 => 0usize..41];
    (0usize..=6).prop_flat_map(move |r| {
        let perm = Just((0..r).collect::<Vec<usize>>()).prop_shuffle();
        (proptest::collection::vec(dim.clone(), r), perm).prop_map(move |(mut dims, perm)| {
            while dims.iter().product::<usize>() > cap {
                let big = (0..dims.len()).max_by_key(|&i| dims[i]).unwrap_or(0);
                dims[big] /= 2;
            }
            (dims, perm)
        })
    })
}

/// A start or end: small values around the axis plus the extremes.
fn bound() -> impl Strategy<Value = i64> {
    prop_oneof![6 => -9i64..10, 1 => Just(i64::MAX), 1 => Just(i64::MIN)]
}

fn step() -> impl Strategy<Value = i64> {
    prop_oneof![6 => prop_oneof![-4i64..0, 1i64..5], 1 => Just(i64::MAX), 1 => Just(i64::MIN)]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn transpose_fast_matches_reference((shape, perm) in shape_and_perm(20_000)) {
        let n: usize = shape.iter().product();
        let x: Vec<u32> = (0..n as u32).collect();
        let mut a = vec![u32::MAX; n];
        let mut b = vec![u32::MAX - 1; n];
        transpose(&x, &shape, &perm, &mut a).unwrap();
        transpose_reference(&x, &shape, &perm, &mut b).unwrap();
        prop_assert_eq!(&a, &b);
        // Narrow elements take the same path.
        let x8: Vec<u8> = x.iter().map(|&v| v as u8).collect();
        let mut a8 = vec![0u8; n];
        transpose(&x8, &shape, &perm, &mut a8).unwrap();
        let b8: Vec<u8> = b.iter().map(|&v| v as u8).collect();
        prop_assert_eq!(a8, b8);
    }

    #[test]
    fn slice_fast_matches_reference(
        (shape, order) in shape_and_perm(5_000),
        picks in proptest::collection::vec((bound(), bound(), step()), 6),
        k in 0usize..=6,
        negative_axes in any::<bool>(),
        omit_steps in any::<bool>(),
    ) {
        // Slice the axes named by a random prefix of `order`, in that order.
        let k = k.min(order.len());
        let rank = shape.len() as i64;
        let axes: Vec<i64> = order[..k]
            .iter()
            .map(|&a| if negative_axes { a as i64 - rank } else { a as i64 })
            .collect();
        let starts: Vec<i64> = picks[..k].iter().map(|p| p.0).collect();
        let ends: Vec<i64> = picks[..k].iter().map(|p| p.1).collect();
        let steps: Vec<i64> = picks[..k].iter().map(|p| p.2).collect();
        let steps = if omit_steps { Vec::new() } else { steps };
        let plan = slice_plan(&shape, &starts, &ends, &axes, &steps).unwrap();
        let n: usize = shape.iter().product();
        let x: Vec<u32> = (0..n as u32).collect();
        let m = plan.output_numel();
        let mut a = vec![u32::MAX; m];
        let mut b = vec![u32::MAX - 1; m];
        slice(&x, &shape, &plan, &mut a).unwrap();
        slice_reference(&x, &shape, &plan, &mut b).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn split_inverts_concat(
        outer in 0usize..5,
        inner in 0usize..6,
        lens in proptest::collection::vec(0usize..5, 0..5),
    ) {
        let total: usize = lens.iter().sum();
        let x: Vec<u16> = (0..(outer * total * inner) as u16).collect();
        let mut parts: Vec<Vec<u16>> = lens.iter().map(|&l| vec![0; outer * l * inner]).collect();
        let mut outs: Vec<&mut [u16]> = parts.iter_mut().map(|p| p.as_mut_slice()).collect();
        split(&x, outer, inner, &lens, &mut outs).unwrap();
        let refs: Vec<&[u16]> = parts.iter().map(|p| p.as_slice()).collect();
        let mut back = vec![u16::MAX; x.len()];
        concat(&refs, &lens, outer, inner, &mut back).unwrap();
        prop_assert_eq!(back, x);
    }
}
