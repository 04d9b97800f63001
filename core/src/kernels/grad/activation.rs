//! Gradients of the element-wise activations ([`Activation`]):
//! `grad_input[i] = grad_out[i] * act'(x[i])`, where the derivative uses the forward input `x`
//! or, where cheaper, the forward output `y`:
//!
//! | activation | derivative |
//! |---|---|
//! | Identity | 1 |
//! | Relu | 1 for `x > 0`, else 0 (0 at `x == 0`, as in PyTorch) |
//! | Relu6 | 1 for `0 < x < 6`, else 0 |
//! | LeakyRelu(s) | 1 for `x > 0`, else `s` |
//! | Sigmoid | `y (1 - y)` |
//! | Tanh | `1 - y^2` |
//! | Gelu | `Phi(x) + x phi(x)`, `Phi(x) = erfc(-x / sqrt 2) / 2`, `phi` the normal density |
//! | GeluTanh | `s + x s (1 - s) u'(x)` with `s = sigmoid(u(x))`, `u = 2 sqrt(2/pi) (x + 0.044715 x^3)` |
//! | Silu | `s (1 + x (1 - s))`, `s = sigmoid(x)` |
//! | Exp | `y` |
//! | Sqrt | `0.5 / y` |
//!
//! For GELU, GELU-tanh and SiLU at `x = +-inf`, where the formula meets `inf * 0`, the
//! derivative is the limit (1 for `+inf`, 0 for `-inf`); NaN in `x` gives NaN.
//!
//! [`activation_backward_reference`] evaluates the table with the scalar
//! [`crate::kernels::math`] functions; [`activation_backward`] runs it over SIMD lanes (AVX2 +
//! FMA, NEON, or eight portable lanes), the exact GELU element by element. The fused paths
//! differ from the reference by a few ulp for the transcendental rows; the others are exact.

use super::check_eq;
use crate::kernels::activation::Activation;
use crate::kernels::math::{self, sigmoid_lanes, Isa, Lanes, Portable};
use crate::Result;

const OP: &str = "activation_backward";

/// `sqrt(2 / pi)`.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// `1 / sqrt(2 pi)`.
const INV_SQRT_2PI: f32 = 0.398_942_3;
const GELU_C: f32 = 0.044_715;

/// The limit of a derivative that is 1 towards `+inf` and 0 towards `-inf`, used where the
/// formula gave NaN for a non-NaN `x`.
#[inline(always)]
fn tail_fix<L: Lanes>(x: L, d: L) -> L {
    let limit = L::select(L::splat(0.0).lt(x), L::splat(1.0), L::splat(0.0));
    let limit = L::select(x.is_nan(), x, limit);
    L::select(d.is_nan(), limit, d)
}

/// `act'(x)` times `g` for one lane group; `None` for the exact GELU (element by element).
#[inline(always)]
fn lanes<L: Lanes>(act: Activation, x: L, y: L, g: L) -> Option<L> {
    let (zero, one) = (L::splat(0.0), L::splat(1.0));
    Some(match act {
        Activation::Identity => g,
        Activation::Relu => L::select(zero.lt(x), g, zero),
        Activation::Relu6 => L::select(zero.lt(x), L::select(x.lt(L::splat(6.0)), g, zero), zero),
        Activation::LeakyRelu(s) => L::select(zero.lt(x), g, g.mul(L::splat(s))),
        Activation::Sigmoid => g.mul(y.mul(one.sub(y))),
        Activation::Tanh => g.mul(one.sub(y.mul(y))),
        Activation::Gelu => return None,
        Activation::GeluTanh => {
            let x2 = x.mul(x);
            let k = L::splat(2.0 * SQRT_2_OVER_PI);
            let u = k.mul(x.mul(x2.mul_add(L::splat(GELU_C), one)));
            let du = k.mul(x2.mul_add(L::splat(3.0 * GELU_C), one));
            let s = sigmoid_lanes(u);
            let d = x.mul(s).mul(one.sub(s)).mul_add(du, s);
            g.mul(tail_fix(x, d))
        }
        Activation::Silu => {
            let s = sigmoid_lanes(x);
            let d = s.mul(x.mul_add(one.sub(s), one));
            g.mul(tail_fix(x, d))
        }
        Activation::Exp => g.mul(y),
        Activation::Sqrt => g.mul(L::splat(0.5)).div(y),
    })
}

/// The derivative of the exact GELU at `x`.
#[inline]
fn gelu_grad(x: f32) -> f32 {
    let cdf = 0.5 * math::erfc(-x * core::f32::consts::FRAC_1_SQRT_2);
    let pdf = INV_SQRT_2PI * math::exp(-0.5 * x * x);
    tail_fix(x, x * pdf + cdf)
}

#[inline(always)]
fn run<L: Lanes>(act: Activation, x: &[f32], y: &[f32], g: &[f32], out: &mut [f32]) {
    if act == Activation::Gelu {
        for ((o, &xv), &gv) in out.iter_mut().zip(x).zip(g) {
            *o = gv * gelu_grad(xv);
        }
        return;
    }
    let n = L::N;
    for (((oc, xc), yc), gc) in out
        .chunks_mut(n)
        .zip(x.chunks(n))
        .zip(y.chunks(n))
        .zip(g.chunks(n))
    {
        if let Some(r) = lanes(act, L::load(xc), L::load(yc), L::load(gc)) {
            r.store(oc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Activation;
    use crate::kernels::math::Avx2;

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run(act: Activation, x: &[f32], y: &[f32], g: &[f32], out: &mut [f32]) {
        super::run::<Avx2>(act, x, y, g, out)
    }
}

fn check(x: &[f32], y: &[f32], g: &[f32], out: &[f32]) -> Result<()> {
    check_eq(OP, "forward output length", x.len(), y.len())?;
    check_eq(OP, "grad_out length", x.len(), g.len())?;
    check_eq(OP, "grad_input length", x.len(), out.len())
}

/// `out[i] = grad_out[i] * act'(x[i])` (see the [module docs](self)) on the fastest path
/// this CPU has; `y` is the forward output `act(x)`.
///
/// Fails with [`crate::Error::DimMismatch`] unless `y`, `grad_out` and `out` have `x`'s
/// length.
pub fn activation_backward(
    act: Activation,
    x: &[f32],
    y: &[f32],
    grad_out: &[f32],
    out: &mut [f32],
) -> Result<()> {
    activation_backward_with(Isa::detect(), act, x, y, grad_out, out)
}

/// [`activation_backward`] on a chosen path; fails with [`crate::Error::InvalidArgument`]
/// when this CPU cannot run `isa`.
pub fn activation_backward_with(
    isa: Isa,
    act: Activation,
    x: &[f32],
    y: &[f32],
    grad_out: &[f32],
    out: &mut [f32],
) -> Result<()> {
    check(x, y, grad_out, out)?;
    match isa {
        Isa::Generic => run::<Portable>(act, x, y, grad_out, out),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma if isa.is_available() => {
            // SAFETY: `is_available` just confirmed AVX2 and FMA.
            unsafe { x86::run(act, x, y, grad_out, out) }
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        Isa::Neon => run::<math::Neon>(act, x, y, grad_out, out),
        _ => return Err(math::unavailable(OP)),
    }
    Ok(())
}

/// The reference: the [module docs](self)' table evaluated element by element with the
/// scalar [`crate::kernels::math`] functions. Same contract as [`activation_backward`].
pub fn activation_backward_reference(
    act: Activation,
    x: &[f32],
    y: &[f32],
    grad_out: &[f32],
    out: &mut [f32],
) -> Result<()> {
    check(x, y, grad_out, out)?;
    for (((o, &xv), &yv), &g) in out.iter_mut().zip(x).zip(y).zip(grad_out) {
        let d = match act {
            Activation::Identity => 1.0,
            Activation::Relu => {
                if xv > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Relu6 => {
                if xv > 0.0 && xv < 6.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu(s) => {
                if xv > 0.0 {
                    1.0
                } else {
                    s
                }
            }
            Activation::Sigmoid => yv * (1.0 - yv),
            Activation::Tanh => 1.0 - yv * yv,
            Activation::Gelu => gelu_grad(xv),
            Activation::GeluTanh => {
                let k = 2.0 * SQRT_2_OVER_PI;
                let s = math::sigmoid(k * (xv + GELU_C * xv * xv * xv));
                let du = k * (1.0 + 3.0 * GELU_C * xv * xv);
                tail_fix(xv, s + xv * s * (1.0 - s) * du)
            }
            Activation::Silu => {
                let s = math::sigmoid(xv);
                tail_fix(xv, s * (1.0 + xv * (1.0 - s)))
            }
            Activation::Exp => yv,
            Activation::Sqrt => 0.5 / yv,
        };
        *o = match act {
            // Exact forms: no multiply by 1 that would turn -0 or inf * 0 differently.
            Activation::Identity => g,
            Activation::Relu | Activation::Relu6 if d == 0.0 => 0.0,
            Activation::Relu | Activation::Relu6 => g,
            Activation::LeakyRelu(_) if xv > 0.0 => g,
            Activation::Sqrt => g * 0.5 / yv,
            _ => g * d,
        };
    }
    Ok(())
}
