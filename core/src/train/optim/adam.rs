//! Adam (L2 weight decay, `torch.optim.Adam`) and AdamW (decoupled weight decay,
//! `torch.optim.AdamW`), as PyTorch's single-tensor path computes them (`amsgrad=False`,
//! `maximize=False`).

use super::common::{check, check_lengths, valid_lr, Slots};
use super::Optimizer;
use crate::error::{Error, Result};
use crate::kernels::math;
use alloc::vec;
use alloc::vec::Vec;

/// Hyperparameters shared by Adam and AdamW.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hyper {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
}

impl Hyper {
    const fn defaults(weight_decay: f32) -> Hyper {
        Hyper {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        }
    }

    fn validate(self, op: &'static str) -> Result<Hyper> {
        let beta = |b: f32| (0.0..1.0).contains(&b);
        Ok(Hyper {
            lr: check(op, self.lr, valid_lr, "lr must be finite and >= 0")?,
            beta1: check(op, self.beta1, beta, "beta1 must be in [0, 1)")?,
            beta2: check(op, self.beta2, beta, "beta2 must be in [0, 1)")?,
            eps: check(
                op,
                self.eps,
                |e| e.is_finite() && e > 0.0,
                "eps must be finite and > 0",
            )?,
            weight_decay: check(
                op,
                self.weight_decay,
                |w| w.is_finite() && w >= 0.0,
                "weight_decay must be finite and >= 0",
            )?,
        })
    }
}

/// `beta^t` as the unevaluated sum `hi + lo` of two f32 (about 48 significant bits), advanced
/// by one exact f32 product per step.
///
/// Plain f32 would not do: near the start `beta^t` is close to 1, and `1 - beta^t` (0.001 for
/// `beta = 0.999`, `t = 1`) would keep only the few bits of `beta^t` below its rounding error
/// (relative errors of order 1e-5). With the low part, `1 - beta^t` is within about one ulp of
/// PyTorch's float64 value for every `t`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Power {
    beta: f32,
    hi: f32,
    lo: f32,
}

impl Power {
    const fn new(beta: f32) -> Power {
        Power {
            beta,
            hi: 1.0,
            lo: 0.0,
        }
    }

    /// `beta^t -> beta^(t+1)`.
    fn advance(&mut self) {
        let (p, e) = two_product(self.hi, self.beta);
        let e = e + self.lo * self.beta;
        let s = p + e;
        self.lo = e - (s - p);
        self.hi = s;
    }

    /// `1 - beta^t`. For `hi >= 0.5`, `1 - hi` is exact (Sterbenz), so one rounding remains.
    fn one_minus(&self) -> f32 {
        (1.0 - self.hi) - self.lo
    }
}

/// Splits `a` into two halves of at most 12 significant bits each (Veltkamp), so that products
/// of halves are exact in f32. `|a| <= 1` here, so `4097 * a` cannot overflow.
fn split(a: f32) -> (f32, f32) {
    let c = 4097.0 * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

/// `a * b = p + e` exactly (Dekker's product, no fused multiply-add needed), barring
/// underflow.
fn two_product(a: f32, b: f32) -> (f32, f32) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    (p, e)
}

/// PyTorch's `lerp(start, end, w)` with its two forms around `w = 0.5`.
fn lerp(start: f32, end: f32, w: f32) -> f32 {
    if w.abs() < 0.5 {
        start + w * (end - start)
    } else {
        end - (end - start) * (1.0 - w)
    }
}

/// First and second moment of one parameter.
#[derive(Clone, Debug)]
struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

/// The shared state and step of Adam and AdamW.
#[derive(Clone, Debug)]
struct Core {
    op: &'static str,
    decoupled: bool,
    h: Hyper,
    steps: u64,
    pow1: Power,
    pow2: Power,
    moments: Slots<Moments>,
}

impl Core {
    fn new(op: &'static str, decoupled: bool, h: Hyper) -> Result<Core> {
        let h = h.validate(op)?;
        Ok(Core {
            op,
            decoupled,
            h,
            steps: 0,
            pow1: Power::new(h.beta1),
            pow2: Power::new(h.beta2),
            moments: Slots::new(),
        })
    }

    fn begin_step(&mut self) {
        self.steps = self.steps.saturating_add(1);
        self.pow1.advance();
        self.pow2.advance();
    }

    fn reset(&mut self) {
        self.steps = 0;
        self.pow1 = Power::new(self.h.beta1);
        self.pow2 = Power::new(self.h.beta2);
        self.moments.clear();
    }

    fn update(&mut self, index: usize, param: &mut [f32], grad: &[f32]) -> Result<()> {
        let op = self.op;
        check_lengths(op, param, grad)?;
        if self.steps == 0 {
            return Err(Error::InvalidArgument {
                op,
                what: "update before the first begin_step",
            });
        }
        let make = |n: usize| Moments {
            m: vec![0.0; n],
            v: vec![0.0; n],
        };
        let (mo, _) = self.moments.get(op, index, param.len(), make)?;
        let h = self.h;
        let neg_step = -(h.lr / self.pow1.one_minus());
        let bc2_sqrt = math::sqrt(self.pow2.one_minus());
        let (w1, w2) = (1.0 - h.beta1, 1.0 - h.beta2);
        let (l2, shrink) = match (self.decoupled, h.weight_decay != 0.0) {
            (false, true) => (h.weight_decay, None),
            (true, true) => (0.0, Some(1.0 - h.lr * h.weight_decay)),
            (_, false) => (0.0, None),
        };
        let moments = mo.m.iter_mut().zip(mo.v.iter_mut());
        for ((p, &g), (m, v)) in param.iter_mut().zip(grad).zip(moments) {
            if let Some(s) = shrink {
                *p *= s;
            }
            let g = if l2 != 0.0 { g + l2 * *p } else { g };
            *m = lerp(*m, g, w1);
            *v = *v * h.beta2 + w2 * g * g;
            let denom = math::sqrt(*v) / bc2_sqrt + h.eps;
            *p += neg_step * *m / denom;
        }
        Ok(())
    }
}

/// Builder methods shared by [`AdamBuilder`] and [`AdamWBuilder`].
macro_rules! builder_methods {
    () => {
        /// Learning rate: finite and `>= 0`.
        pub fn lr(mut self, lr: f32) -> Self {
            self.h.lr = lr;
            self
        }

        /// Decay rates of the first and second moment averages, each in `[0, 1)`.
        pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
            self.h.beta1 = beta1;
            self.h.beta2 = beta2;
            self
        }

        /// Term added to the denominator: finite and `> 0` (PyTorch also accepts 0, which
        /// makes a zero gradient give NaN).
        pub fn eps(mut self, eps: f32) -> Self {
            self.h.eps = eps;
            self
        }

        /// Weight decay coefficient: finite and `>= 0`.
        pub fn weight_decay(mut self, weight_decay: f32) -> Self {
            self.h.weight_decay = weight_decay;
            self
        }
    };
}

/// Adam with L2 weight decay, as `torch.optim.Adam` computes it. Per element, at step `t`
/// (the number of [`Optimizer::begin_step`] calls so far), with `g` the gradient, `p` the
/// parameter and `m`, `v` the moments (zero before the index's first update):
///
/// ```text
/// g = g + weight_decay * p                  (if weight_decay != 0)
/// m = lerp(m, g, 1 - beta1)                 (m + (1 - beta1) (g - m))
/// v = beta2 * v + (1 - beta2) * g * g
/// step_size = lr / (1 - beta1^t)
/// denom = sqrt(v) / sqrt(1 - beta2^t) + eps
/// p = p - step_size * m / denom
/// ```
///
/// Everything is f32, in PyTorch's order of operations; the bias corrections `1 - beta^t`
/// come from running products kept to about 48 bits, so they match PyTorch's float64 values to
/// about one f32 ulp at every step.
#[derive(Clone, Debug)]
pub struct Adam(Core);

/// Settings of an [`Adam`], with PyTorch's defaults: `lr = 1e-3`, `betas = (0.9, 0.999)`,
/// `eps = 1e-8`, `weight_decay = 0`. [`AdamBuilder::build`] validates them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamBuilder {
    h: Hyper,
}

impl Default for AdamBuilder {
    fn default() -> Self {
        AdamBuilder {
            h: Hyper::defaults(0.0),
        }
    }
}

impl AdamBuilder {
    builder_methods!();

    /// Checks the settings and makes the optimizer. Error: `InvalidArgument { op: "adam" }`
    /// for a setting outside the range its setter states.
    pub fn build(self) -> Result<Adam> {
        Core::new("adam", false, self.h).map(Adam)
    }
}

impl Adam {
    /// Settings with PyTorch's defaults, to adjust and [`AdamBuilder::build`].
    pub fn builder() -> AdamBuilder {
        AdamBuilder::default()
    }

    /// Adam with PyTorch's defaults and learning rate `lr`. Error: `InvalidArgument` unless
    /// `lr` is finite and `>= 0`.
    pub fn new(lr: f32) -> Result<Adam> {
        Adam::builder().lr(lr).build()
    }

    /// Number of [`Optimizer::begin_step`] calls since creation or [`Adam::reset`].
    pub fn steps(&self) -> u64 {
        self.0.steps
    }

    /// Forgets the moments, recorded lengths and step count.
    pub fn reset(&mut self) {
        self.0.reset();
    }
}

impl Optimizer for Adam {
    /// Advances the step count `t` of the bias corrections.
    fn begin_step(&mut self) {
        self.0.begin_step();
    }

    /// Errors: `DimMismatch` for lengths (see [`Optimizer::update`]), `InvalidArgument` if no
    /// [`Optimizer::begin_step`] came first (`t = 0` has no bias correction).
    fn update(&mut self, index: usize, param: &mut [f32], grad: &[f32]) -> Result<()> {
        self.0.update(index, param, grad)
    }

    fn learning_rate(&self) -> f32 {
        self.0.h.lr
    }

    /// Sets the learning rate as given (not validated: a negative or NaN rate is used as is).
    fn set_learning_rate(&mut self, lr: f32) {
        self.0.h.lr = lr;
    }
}

/// AdamW: Adam with decoupled weight decay, as `torch.optim.AdamW` computes it. Each update
/// first shrinks the parameter, `p = p * (1 - lr * weight_decay)` (if `weight_decay != 0`),
/// then applies [`Adam`]'s update without the L2 term.
#[derive(Clone, Debug)]
pub struct AdamW(Core);

/// Settings of an [`AdamW`], with PyTorch's defaults: `lr = 1e-3`, `betas = (0.9, 0.999)`,
/// `eps = 1e-8`, `weight_decay = 0.01`. [`AdamWBuilder::build`] validates them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWBuilder {
    h: Hyper,
}

impl Default for AdamWBuilder {
    fn default() -> Self {
        AdamWBuilder {
            h: Hyper::defaults(0.01),
        }
    }
}

impl AdamWBuilder {
    builder_methods!();

    /// Checks the settings and makes the optimizer. Error: `InvalidArgument { op: "adamw" }`
    /// for a setting outside the range its setter states.
    pub fn build(self) -> Result<AdamW> {
        Core::new("adamw", true, self.h).map(AdamW)
    }
}

impl AdamW {
    /// Settings with PyTorch's defaults, to adjust and [`AdamWBuilder::build`].
    pub fn builder() -> AdamWBuilder {
        AdamWBuilder::default()
    }

    /// AdamW with PyTorch's defaults and learning rate `lr`. Error: `InvalidArgument` unless
    /// `lr` is finite and `>= 0`.
    pub fn new(lr: f32) -> Result<AdamW> {
        AdamW::builder().lr(lr).build()
    }

    /// Number of [`Optimizer::begin_step`] calls since creation or [`AdamW::reset`].
    pub fn steps(&self) -> u64 {
        self.0.steps
    }

    /// Forgets the moments, recorded lengths and step count.
    pub fn reset(&mut self) {
        self.0.reset();
    }
}

impl Optimizer for AdamW {
    /// Advances the step count `t` of the bias corrections.
    fn begin_step(&mut self) {
        self.0.begin_step();
    }

    /// Errors: `DimMismatch` for lengths (see [`Optimizer::update`]), `InvalidArgument` if no
    /// [`Optimizer::begin_step`] came first (`t = 0` has no bias correction).
    fn update(&mut self, index: usize, param: &mut [f32], grad: &[f32]) -> Result<()> {
        self.0.update(index, param, grad)
    }

    fn learning_rate(&self) -> f32 {
        self.0.h.lr
    }

    /// Sets the learning rate as given (not validated: a negative or NaN rate is used as is).
    fn set_learning_rate(&mut self, lr: f32) {
        self.0.h.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::Power;

    /// `1 - beta^t` from the running double-f32 product against float64, over long runs:
    /// within 2 ulp of the f32 result.
    #[test]
    fn bias_correction_matches_f64() {
        for &beta in &[0.9f32, 0.99, 0.999, 0.9999, 0.5, 0.0, 0.3] {
            let mut pw = Power::new(beta);
            let mut exact = 1.0f64;
            for t in 1..=200_000u32 {
                pw.advance();
                exact *= f64::from(beta);
                let want = 1.0 - exact;
                let got = f64::from(pw.one_minus());
                let ulp = f64::from(f32::EPSILON) * want;
                assert!(
                    (got - want).abs() <= 2.0 * ulp,
                    "beta {beta} t {t}: {got} vs {want}"
                );
            }
        }
    }
}
