//! Element-wise activation functions.
//!
//! [`Activation::apply`] is the scalar definition; [`activation_reference`] applies it element
//! by element. The fast paths ([`activation`], [`activation_with`]) run the same algorithms
//! over lanes: portable lanes ([`Isa::Generic`]: eight that LLVM vectorises on SIMD targets,
//! one on microcontrollers; bit-identical to the reference), AVX2+FMA ([`Isa::Avx2Fma`]) and
//! NEON ([`Isa::Neon`]). The SIMD paths fuse multiply-adds, so the exp-based functions
//! differ from the reference by a few ulp (asserted: at most 4, plus the conditioning term
//! below); the others are exact.
//!
//! Accuracy of the reference against float64, largest error over every 211th f32 in
//! `[-30, 30]` (`cargo test -p born-core --features std --test activation -- --nocapture`):
//! Sigmoid 2.2 ulp, Tanh 1.3, SiLU 3.0, GELU 6.0 (6.2 over every f32 in `[-14, 14]`),
//! GELU-tanh 2.4; Exp, see [`math::exp`]. GELU-tanh additionally inherits the rounding of its polynomial argument
//! `2u`, amplified by the exponential in the negative tail: about `3 |2u|` ulp more there
//! (the tanh approximation itself is off from exact GELU by far more).

use crate::kernels::math::{self, map, map_inplace, Isa, LaneFn, Lanes, Portable};
use crate::{Error, Result};

/// An element-wise activation function. It is also the attribute record of the
/// [`Activation`](crate::ops::activation::Activation) op and of fused activations in
/// `.born` files: the variant order is part of the format.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    /// `x`.
    Identity,
    /// `max(x, 0)` (NaN stays NaN, `-0` stays `-0`).
    Relu,
    /// `min(max(x, 0), 6)` (NaN stays NaN).
    Relu6,
    /// `x` for `x >= 0`, `slope * x` below; the field is the negative slope.
    LeakyRelu(f32),
    /// `1 / (1 + e^-x)` ([`math::sigmoid`]).
    Sigmoid,
    /// `tanh x` ([`math::tanh`]).
    Tanh,
    /// Exact GELU `x Phi(x) = x (1 + erf(x / sqrt 2)) / 2`, evaluated through `erfc` in the
    /// negative tail so small outputs keep their relative accuracy; `gelu(-inf) = 0`.
    Gelu,
    /// tanh-approximated GELU `x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2`, evaluated as
    /// `x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))` (the same function, no cancellation).
    GeluTanh,
    /// SiLU / swish `x sigmoid(x)`; `silu(-inf) = 0`.
    Silu,
    /// `e^x` ([`math::exp`]).
    Exp,
    /// `sqrt x` ([`math::sqrt`], correctly rounded; NaN below zero).
    Sqrt,
}

/// An [`Activation`] as two plain words (a prepared node's params).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ActWords {
    /// Variant number (0 for none).
    pub code: u32,
    /// The variant's parameter (the slope of [`Activation::LeakyRelu`]).
    pub param: f32,
}

impl ActWords {
    /// `act` (or no activation) as words.
    pub fn pack(act: Option<Activation>) -> ActWords {
        use Activation::*;
        let (code, param) = match act {
            None => (0, 0.0),
            Some(Identity) => (1, 0.0),
            Some(Relu) => (2, 0.0),
            Some(Relu6) => (3, 0.0),
            Some(LeakyRelu(s)) => (4, s),
            Some(Sigmoid) => (5, 0.0),
            Some(Tanh) => (6, 0.0),
            Some(Gelu) => (7, 0.0),
            Some(GeluTanh) => (8, 0.0),
            Some(Silu) => (9, 0.0),
            Some(Exp) => (10, 0.0),
            Some(Sqrt) => (11, 0.0),
        };
        ActWords { code, param }
    }

    /// The activation these words hold (`None` for none or an unknown code).
    pub fn unpack(self) -> Option<Activation> {
        use Activation::*;
        Some(match self.code {
            1 => Identity,
            2 => Relu,
            3 => Relu6,
            4 => LeakyRelu(self.param),
            5 => Sigmoid,
            6 => Tanh,
            7 => Gelu,
            8 => GeluTanh,
            9 => Silu,
            10 => Exp,
            11 => Sqrt,
            _ => return None,
        })
    }
}

impl Activation {
    /// The scalar definition of the activation: what every path computes for `x`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        eval::<f32>(self, x)
    }
}

#[inline(always)]
fn relu<L: Lanes>(x: L) -> L {
    x.relu()
}

#[inline(always)]
fn relu6<L: Lanes>(x: L) -> L {
    let six = L::splat(6.0);
    L::select(six.lt(x), six, relu(x))
}

#[inline(always)]
fn leaky_relu<L: Lanes>(x: L, slope: f32) -> L {
    L::select(x.lt(L::splat(0.0)), x.mul(L::splat(slope)), x)
}

/// One lane group of `act`.
#[inline(always)]
fn eval<L: Lanes>(act: Activation, x: L) -> L {
    match act {
        Activation::Identity => x,
        Activation::Relu => relu(x),
        Activation::Relu6 => relu6(x),
        Activation::LeakyRelu(s) => leaky_relu(x, s),
        Activation::Sigmoid => math::sigmoid_lanes(x),
        Activation::Tanh => math::tanh_lanes(x),
        Activation::Gelu => math::gelu_lanes(x),
        Activation::GeluTanh => math::gelu_tanh_lanes(x),
        Activation::Silu => math::silu_lanes(x),
        Activation::Exp => math::exp_lanes(x),
        Activation::Sqrt => x.sqrt(),
    }
}

/// One activation as a [`LaneFn`] type, so each gets its own loop with the function inlined.
macro_rules! lane_fns {
    ($($name:ident => $f:expr;)*) => {$(
        #[derive(Clone, Copy)]
        struct $name;
        impl LaneFn for $name {
            #[inline(always)]
            fn call<L: Lanes>(self, x: L) -> L {
                $f(x)
            }
        }
    )*};
}

lane_fns! {
    Relu => relu;
    Relu6 => relu6;
    Sigmoid => math::sigmoid_lanes;
    Tanh => math::tanh_lanes;
    Gelu => math::gelu_lanes;
    GeluTanh => math::gelu_tanh_lanes;
    Silu => math::silu_lanes;
    Exp => math::exp_lanes;
    Sqrt => Lanes::sqrt;
}

#[derive(Clone, Copy)]
struct LeakyRelu(f32);

impl LaneFn for LeakyRelu {
    #[inline(always)]
    fn call<L: Lanes>(self, x: L) -> L {
        leaky_relu(x, self.0)
    }
}

/// `out = act(x)` over lanes of type `L`; the match is hoisted out of the loop.
#[inline(always)]
fn run<L: Lanes>(act: Activation, x: &[f32], out: &mut [f32]) {
    match act {
        Activation::Identity => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v;
            }
        }
        Activation::Relu => map::<L, _>(x, out, Relu),
        Activation::Relu6 => map::<L, _>(x, out, Relu6),
        Activation::LeakyRelu(s) => map::<L, _>(x, out, LeakyRelu(s)),
        Activation::Sigmoid => map::<L, _>(x, out, Sigmoid),
        Activation::Tanh => map::<L, _>(x, out, Tanh),
        Activation::Gelu => map::<L, _>(x, out, Gelu),
        Activation::GeluTanh => map::<L, _>(x, out, GeluTanh),
        Activation::Silu => map::<L, _>(x, out, Silu),
        Activation::Exp => map::<L, _>(x, out, Exp),
        Activation::Sqrt => map::<L, _>(x, out, Sqrt),
    }
}

/// In-place form of [`run`].
#[inline(always)]
fn run_inplace<L: Lanes>(act: Activation, x: &mut [f32]) {
    match act {
        Activation::Identity => {}
        Activation::Relu => map_inplace::<L, _>(x, Relu),
        Activation::Relu6 => map_inplace::<L, _>(x, Relu6),
        Activation::LeakyRelu(s) => map_inplace::<L, _>(x, LeakyRelu(s)),
        Activation::Sigmoid => map_inplace::<L, _>(x, Sigmoid),
        Activation::Tanh => map_inplace::<L, _>(x, Tanh),
        Activation::Gelu => map_inplace::<L, _>(x, Gelu),
        Activation::GeluTanh => map_inplace::<L, _>(x, GeluTanh),
        Activation::Silu => map_inplace::<L, _>(x, Silu),
        Activation::Exp => map_inplace::<L, _>(x, Exp),
        Activation::Sqrt => map_inplace::<L, _>(x, Sqrt),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Activation;
    use crate::kernels::math::Avx2;

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run(act: Activation, x: &[f32], out: &mut [f32]) {
        super::run::<Avx2>(act, x, out)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_inplace(act: Activation, x: &mut [f32]) {
        super::run_inplace::<Avx2>(act, x)
    }
}

fn check(x: &[f32], out: &[f32]) -> Result<()> {
    if x.len() != out.len() {
        return Err(Error::DimMismatch {
            op: "activation",
            what: "output length",
            expected: x.len(),
            got: out.len(),
        });
    }
    Ok(())
}

/// `out[i] = act(x[i])` on the fastest path this CPU has.
///
/// Fails with [`Error::DimMismatch`] when `out.len() != x.len()`.
pub fn activation(act: Activation, x: &[f32], out: &mut [f32]) -> Result<()> {
    activation_with(Isa::detect(), act, x, out)
}

/// [`activation`] on a chosen path; fails with [`Error::InvalidArgument`] when this CPU
/// cannot run `isa`.
pub fn activation_with(isa: Isa, act: Activation, x: &[f32], out: &mut [f32]) -> Result<()> {
    check(x, out)?;
    match isa {
        Isa::Generic => run::<Portable>(act, x, out),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma if isa.is_available() => {
            // SAFETY: `is_available` just confirmed AVX2 and FMA.
            unsafe { x86::run(act, x, out) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Isa::Neon => run::<math::Neon>(act, x, out),
        _ => return Err(math::unavailable("activation")),
    }
    Ok(())
}

/// `x[i] = act(x[i])` on the fastest path this CPU has (same results as [`activation`]).
pub fn activation_inplace(act: Activation, x: &mut [f32]) {
    match Isa::detect() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => {
            // SAFETY: `Isa::detect` returns Avx2Fma only when AVX2 and FMA are available.
            unsafe { x86::run_inplace(act, x) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Isa::Neon => run_inplace::<math::Neon>(act, x),
        _ => run_inplace::<Portable>(act, x),
    }
}

/// The reference: `out[i] = act.apply(x[i])`, one element at a time.
///
/// Fails with [`Error::DimMismatch`] when `out.len() != x.len()`.
pub fn activation_reference(act: Activation, x: &[f32], out: &mut [f32]) -> Result<()> {
    check(x, out)?;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = act.apply(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both portable lane widths (the one this target does not use included) against the
    /// reference, bit for bit.
    #[test]
    fn portable_lane_widths_match_reference() {
        let x: [f32; 67] = core::array::from_fn(|i| match i {
            0 => f32::NAN,
            1 => f32::NEG_INFINITY,
            2 => -0.0,
            _ => (i as f32 - 35.0) * 0.61,
        });
        let acts = [
            Activation::Identity,
            Activation::Relu,
            Activation::Relu6,
            Activation::LeakyRelu(0.1),
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Silu,
            Activation::Exp,
            Activation::Sqrt,
        ];
        for act in acts {
            let mut want = [0.0f32; 67];
            activation_reference(act, &x, &mut want).unwrap();
            let mut one = [0.0f32; 67];
            let mut eight = [0.0f32; 67];
            run::<f32>(act, &x, &mut one);
            run::<math::F32x8>(act, &x, &mut eight);
            let mut inplace = x;
            run_inplace::<f32>(act, &mut inplace);
            for i in 0..67 {
                for got in [one[i], eight[i], inplace[i]] {
                    assert!(
                        got.to_bits() == want[i].to_bits() || (got.is_nan() && want[i].is_nan()),
                        "{act:?} at {}: {got} vs {}",
                        x[i],
                        want[i]
                    );
                }
            }
        }
    }
}
