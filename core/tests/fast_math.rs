//! With the `fast-math` feature, born's exp, ln, sin and cos are `micromath`'s, bit for bit,
//! on finite inputs in their domain, and keep born's answers at the edges (NaN, infinities,
//! zero and negative logarithms, exp's overflow; exp gives 0 where its result would be
//! subnormal). Run with
//! `cargo test -p born-core --features std,fast-math --test fast_math`.
#![cfg(feature = "fast-math")]

use born_core::kernels::math;
use micromath::F32Ext;

/// Every 4099th f32 bit pattern that is finite.
fn finite() -> impl Iterator<Item = f32> {
    (0..=u32::MAX / 4099)
        .map(|i| f32::from_bits(i * 4099))
        .filter(|x| x.is_finite())
}

#[test]
fn exp_ln_sin_cos_are_micromaths() {
    for x in finite() {
        if (-87.3..88.7).contains(&x) {
            assert_eq!(
                math::exp(x).to_bits(),
                F32Ext::exp(x).to_bits(),
                "exp({x:e})"
            );
        }
        assert_eq!(
            math::sin(x).to_bits(),
            F32Ext::sin(x).to_bits(),
            "sin({x:e})"
        );
        assert_eq!(
            math::cos(x).to_bits(),
            F32Ext::cos(x).to_bits(),
            "cos({x:e})"
        );
        if x > 0.0 {
            assert_eq!(math::ln(x).to_bits(), F32Ext::ln(x).to_bits(), "ln({x:e})");
        }
    }
}

#[test]
fn edges_keep_borns_answers() {
    assert_eq!(math::ln(0.0), f32::NEG_INFINITY);
    assert!(math::ln(-1.0).is_nan());
    assert_eq!(math::ln(f32::INFINITY), f32::INFINITY);
    assert!(math::ln(f32::NAN).is_nan());
    assert!(math::sin(f32::INFINITY).is_nan());
    assert!(math::cos(f32::NEG_INFINITY).is_nan());
    assert!(math::sin(f32::NAN).is_nan());
    assert_eq!(math::exp(89.0), f32::INFINITY);
    assert_eq!(math::exp(-88.0), 0.0);
    assert_eq!(math::exp(f32::NEG_INFINITY), 0.0);
    assert!(math::exp(f32::NAN).is_nan());
}
