//! Tests of the integer paths of `born_core::kernels::elementwise` (`binary_int`,
//! `remainder`) and `kernels::unary::unary_int_inplace`: hand-computed values (NumPy's
//! integer semantics: wrapping, truncating division, Python's and C's remainder), and the
//! f32 reference kernel on small integers, where f32 arithmetic is exact.

use born_core::kernels::elementwise::{
    binary_int, binary_reference, int_binary, int_remainder, BinaryOp, IntOp,
};
use born_core::kernels::unary::{unary_int_inplace, UnaryOp};
use born_core::Shape;
use proptest::prelude::*;

fn sh(d: &[usize]) -> Shape {
    Shape::new(d).expect("shape")
}

#[test]
fn hand_values() {
    let (a, b) = ([7i64, -7, 7, -7, 0], [3i64, 3, -3, -3, 5]);
    let s = sh(&[5]);
    let mut out = [0i64; 5];
    binary_int(BinaryOp::Div, &a, &s, &b, &s, &mut out, &s).unwrap();
    assert_eq!(out, [2, -2, -2, 2, 0], "division truncates toward zero");
    int_binary(IntOp::Mod, &a, &s, &b, &s, &mut out, &s).unwrap();
    assert_eq!(out, [1, 2, -2, -1, 0], "Python's %: the divisor's sign");
    int_binary(IntOp::Fmod, &a, &s, &b, &s, &mut out, &s).unwrap();
    assert_eq!(out, [1, -1, 1, -1, 0], "C's %: the dividend's sign");
    assert_eq!(int_remainder(5, 0, false), 0);
    assert_eq!(BinaryOp::Div.apply_int(5, 0), 0);
    // i64::MIN / -1 overflows i64: the i64 path wraps it back to i64::MIN.
    let mut q = [0i64];
    let s1 = sh(&[1]);
    binary_int(BinaryOp::Div, &[i64::MIN], &s1, &[-1i64], &s1, &mut q, &s1).unwrap();
    assert_eq!(q, [i64::MIN]);
    // u64 values above i64::MAX compare and divide as unsigned.
    let mut u = [0u64; 2];
    let s2 = sh(&[2]);
    binary_int(
        BinaryOp::Max,
        &[u64::MAX, 3],
        &s2,
        &[1u64, 5],
        &s2,
        &mut u,
        &s2,
    )
    .unwrap();
    assert_eq!(u, [u64::MAX, 5]);
    binary_int(
        BinaryOp::Div,
        &[u64::MAX, 7],
        &s2,
        &[2u64, 2],
        &s2,
        &mut u,
        &s2,
    )
    .unwrap();
    assert_eq!(u, [u64::MAX / 2, 3]);
    assert_eq!(BinaryOp::Pow.apply_int(3, 4), 81);
    assert_eq!(BinaryOp::Pow.apply_int(2, -1), 0);
    assert_eq!(BinaryOp::Pow.apply_int(-1, -3), -1);

    // i8 wraps: 100 + 100 = 200 - 256.
    let (x, y) = ([100i8, -128, 5], [100i8, -1, -7]);
    let s3 = sh(&[3]);
    let mut o = [0i8; 3];
    binary_int(BinaryOp::Add, &x, &s3, &y, &s3, &mut o, &s3).unwrap();
    assert_eq!(o, [-56, 127, -2]);
    binary_int(BinaryOp::Mul, &x, &s3, &y, &s3, &mut o, &s3).unwrap();
    assert_eq!(o, [16, -128, -35]);
    // u8 subtraction wraps.
    let mut u = [0u8; 2];
    binary_int(
        BinaryOp::Sub,
        &[1u8, 200],
        &sh(&[2]),
        &[2u8],
        &sh(&[1]),
        &mut u,
        &sh(&[2]),
    )
    .unwrap();
    assert_eq!(u, [255, 198]);

    // Bitwise ops and shifts (ONNX BitShift on unsigned types; a full-width shift is 0).
    let mut b8 = [0u8; 4];
    let s4 = sh(&[4]);
    let (x8, y8) = ([0b1100u8, 0xF0, 1, 255], [0b1010u8, 0x0F, 7, 3]);
    int_binary(IntOp::And, &x8, &s4, &y8, &s4, &mut b8, &s4).unwrap();
    assert_eq!(b8, [0b1000, 0, 1, 3]);
    int_binary(IntOp::Or, &x8, &s4, &y8, &s4, &mut b8, &s4).unwrap();
    assert_eq!(b8, [0b1110, 0xFF, 7, 255]);
    int_binary(IntOp::Xor, &x8, &s4, &y8, &s4, &mut b8, &s4).unwrap();
    assert_eq!(b8, [0b0110, 0xFF, 6, 252]);
    int_binary(
        IntOp::ShiftLeft,
        &x8,
        &s4,
        &[1u8, 4, 7, 8],
        &s4,
        &mut b8,
        &s4,
    )
    .unwrap();
    assert_eq!(b8, [0b11000, 0, 128, 0]);
    int_binary(
        IntOp::ShiftRight,
        &x8,
        &s4,
        &[2u8, 4, 0, 9],
        &s4,
        &mut b8,
        &s4,
    )
    .unwrap();
    assert_eq!(b8, [0b11, 0x0F, 1, 0]);
    let mut i8o = [0i8; 2];
    let s2b = sh(&[2]);
    int_binary(
        IntOp::ShiftRight,
        &[-128i8, -1],
        &s2b,
        &[3i8, 9],
        &s2b,
        &mut i8o,
        &s2b,
    )
    .unwrap();
    assert_eq!(i8o, [-16, -1], "arithmetic shift of signed values");
    let mut u64o = [0u64; 1];
    let s1b = sh(&[1]);
    int_binary(
        IntOp::ShiftLeft,
        &[u64::MAX],
        &s1b,
        &[63u64],
        &s1b,
        &mut u64o,
        &s1b,
    )
    .unwrap();
    assert_eq!(u64o, [1 << 63]);

    let mut v = [-128i8, -3, 0, 9];
    unary_int_inplace(UnaryOp::Abs, &mut v).unwrap();
    assert_eq!(v, [-128, 3, 0, 9]);
    unary_int_inplace(UnaryOp::Neg, &mut v).unwrap();
    assert_eq!(v, [-128, -3, 0, -9]);
    unary_int_inplace(UnaryOp::Sign, &mut v).unwrap();
    assert_eq!(v, [-1, -1, 0, -1]);
    let mut w = [1u8, 0];
    unary_int_inplace(UnaryOp::Neg, &mut w).unwrap();
    assert_eq!(w, [255, 0]);
    assert!(unary_int_inplace(UnaryOp::Exp, &mut w).is_err());
}

fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(1usize..4, 1..4).prop_flat_map(|out| {
        let n = out.len();
        (
            Just(out.clone()),
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(any::<bool>(), n),
            0..=n,
        )
            .prop_map(|(out, ka, kb, drop)| {
                let a: Vec<usize> = out
                    .iter()
                    .zip(&ka)
                    .map(|(&d, &k)| if k { d } else { 1 })
                    .collect();
                let b: Vec<usize> = out
                    .iter()
                    .zip(&kb)
                    .map(|(&d, &k)| if k { d } else { 1 })
                    .collect();
                (a[drop.min(a.len())..].to_vec(), b)
            })
    })
}

proptest! {
    /// On integers of a few bits, Add, Sub, Mul, Max and Min are exact in f32, so the f32
    /// reference kernel (with its own broadcasting) is an independent check of the integer
    /// path's broadcasting and arithmetic.
    #[test]
    fn matches_f32_reference_on_small_ints((sa, sb) in broadcast_pair(), seed in any::<u64>()) {
        let (a_shape, b_shape) = (sh(&sa), sh(&sb));
        let out_shape = a_shape.broadcast(&b_shape).unwrap();
        let mut r = seed;
        let mut next = || { r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((r >> 33) % 41) as i32 - 20 };
        let a: Vec<i32> = (0..a_shape.numel()).map(|_| next()).collect();
        let b: Vec<i32> = (0..b_shape.numel()).map(|_| next()).collect();
        let (af, bf): (Vec<f32>, Vec<f32>) = (a.iter().map(|&v| v as f32).collect(), b.iter().map(|&v| v as f32).collect());
        for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Max, BinaryOp::Min] {
            let mut out = vec![0i32; out_shape.numel()];
            binary_int(op, &a, &a_shape, &b, &b_shape, &mut out, &out_shape).unwrap();
            let mut want = vec![0f32; out_shape.numel()];
            binary_reference(op, &af, &a_shape, &bf, &b_shape, &mut want, &out_shape).unwrap();
            let want: Vec<i32> = want.iter().map(|&v| v as i32).collect();
            prop_assert_eq!(&out, &want, "{:?} {:?} {:?}", op, sa, sb);
        }
    }
}
