//! `DFT` (opsets 17 and 20) as one `MatMul` with a known matrix of cosines and sines.
//!
//! The signal `[.., L, c]` (`c` 1: real, 2: real and imaginary parts) is transformed along
//! `axis` over `n` points (`dft_length`, default `L`; the signal is cut or padded with
//! zeros to `n`). With the axis moved next to the last one and `(L, c)` flattened, the
//! transform is `x @ W` for a `[L * c, K * c']` matrix built in f64 and stored as f32:
//!
//! - forward: `X[k] = sum_t x[t] e^(-2 pi i k t / n)`, `K = n`, or `n / 2 + 1` when
//!   `onesided`; output `[.., K, 2]`;
//! - inverse: `x[t] = 1/n sum_k X[k] e^(2 pi i k t / n)`, `K = n`, output `[.., n, 2]`;
//! - inverse and `onesided`: the real signal whose spectrum's first `n / 2 + 1` bins are
//!   the input (the rest being their conjugates, as `numpy.fft.irfft`), output `[.., n, 1]`;
//!   `n` defaults to `2 (L - 1)`.

use super::{one, permute};
use crate::onnx::convert::{NodeCx, Value};
use crate::onnx::error::Result;
use crate::onnx::tensor::Const;
use born_core::dtype::DType;
use born_core::ops::matmul::MatMul;
use std::f64::consts::TAU;

type Out = Result<Vec<Value>>;

/// `(cos, sin)` of `2 pi m / n`, exact at quarter turns.
fn unit(m: usize, n: usize) -> (f64, f64) {
    let m = m % n;
    if (4 * m) % n == 0 {
        return match 4 * m / n {
            0 => (1.0, 0.0),
            1 => (0.0, 1.0),
            2 => (-1.0, 0.0),
            _ => (0.0, -1.0),
        };
    }
    let a = TAU * m as f64 / n as f64;
    (a.cos(), a.sin())
}

/// What the node computes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Transform {
    /// Points of the transform.
    n: usize,
    /// Inverse transform.
    inverse: bool,
    /// Forward: only the first `n / 2 + 1` bins; inverse: a one-sided spectrum to a real
    /// signal.
    onesided: bool,
}

impl Transform {
    /// `(K, c')`: output points and parts per point.
    fn out_shape(&self) -> (usize, usize) {
        match (self.inverse, self.onesided) {
            (false, true) => (self.n / 2 + 1, 2),
            (false, false) | (true, false) => (self.n, 2),
            (true, true) => (self.n, 1),
        }
    }

    /// The `[len * parts, K * c']` matrix, row-major, for an input of `len` points of
    /// `parts` parts each.
    fn matrix(&self, len: usize, parts: usize) -> Vec<f64> {
        let n = self.n;
        let (k_out, c_out) = self.out_shape();
        let cols = k_out * c_out;
        let mut w = vec![0f64; len * parts * cols];
        let mut put = |t: usize, ci: usize, k: usize, co: usize, v: f64| {
            if ci < parts {
                if let Some(x) = w.get_mut((t * parts + ci) * cols + k * c_out + co) {
                    *x = v;
                }
            }
        };
        let scale = if self.inverse { 1.0 / n as f64 } else { 1.0 };
        if self.inverse && self.onesided {
            // Bins past n / 2 are ignored; bin 0 and (n even) bin n / 2 count once, the
            // others twice (for their conjugate twins).
            for f in 0..len.min(n / 2 + 1) {
                let twice = f != 0 && 2 * f != n;
                let s = scale * if twice { 2.0 } else { 1.0 };
                for t in 0..n {
                    let (c, si) = unit(f * t, n);
                    put(f, 0, t, 0, s * c);
                    put(f, 1, t, 0, -s * si);
                }
            }
            return w;
        }
        // e^(-i a) forward, e^(i a) inverse: (xr + i xi)(cos a -+ i sin a).
        let sign = if self.inverse { 1.0 } else { -1.0 };
        for t in 0..len.min(n) {
            for k in 0..k_out {
                let (c, s) = unit(k * t, n);
                let s = sign * s;
                put(t, 0, k, 0, scale * c);
                put(t, 0, k, 1, scale * s);
                put(t, 1, k, 0, -scale * s);
                put(t, 1, k, 1, scale * c);
            }
        }
        w
    }
}

/// `DFT`: the transform the module describes; `dft_length` and (opset 20) `axis` must be
/// known when converting, the signal f32 of rank 2 or more with 1 or 2 parts, and the axis
/// one of the signal's (not the parts axis).
pub fn dft(cx: &mut NodeCx<'_>) -> Out {
    let d = cx.dtype(0)?;
    if d != DType::F32 {
        return Err(cx.err(format!("input is {d:?}: born runs DFT in f32 only")));
    }
    let dims = cx.dims(0)?;
    let r = dims.len();
    let parts = dims.last().copied().unwrap_or(0);
    if r < 2 || !(parts == 1 || parts == 2) {
        return Err(cx.err(format!("the signal {dims:?} must be [.., length, 1 or 2]")));
    }
    let axis = if cx.opset >= 20 {
        if cx.has(2) {
            *cx.known_ints(2)?
                .first()
                .ok_or_else(|| cx.err("axis input is empty"))?
        } else {
            -2
        }
    } else {
        cx.attrs.int("axis", 1)?
    };
    let ax = if axis < 0 { axis + r as i64 } else { axis };
    if ax < 0 || ax > r as i64 - 2 {
        return Err(cx.err(format!(
            "axis {axis} is not a signal axis of rank {r} (the last holds the parts)"
        )));
    }
    let ax = ax as usize;
    let inverse = cx.attrs.int("inverse", 0)? != 0;
    let onesided = cx.attrs.int("onesided", 0)? != 0;
    let len = dims[ax];
    let n = if cx.has(1) {
        let v = *cx
            .known_ints(1)?
            .first()
            .ok_or_else(|| cx.err("dft_length is empty"))?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| cx.err(format!("dft_length {v} must be positive")))?
    } else if inverse && onesided {
        2 * len.saturating_sub(1)
    } else {
        len
    };
    if n == 0 {
        return Err(cx.err(format!("a transform of {n} points along extent {len}")));
    }
    let tf = Transform {
        n,
        inverse,
        onesided,
    };
    let (k_out, c_out) = tf.out_shape();
    // [others.., L, c]
    let mut perm: Vec<usize> = (0..r - 1).filter(|&a| a != ax).collect();
    let outer: Vec<usize> = perm.iter().map(|&a| dims[a]).collect();
    perm.extend([ax, r - 1]);
    let x = cx.tensor(0)?;
    let x = permute(cx, x, &perm)?;
    let x = cx.reshape(x, &[&outer[..], &[len * parts]].concat())?;
    let w: Vec<f32> = tf.matrix(len, parts).iter().map(|&v| v as f32).collect();
    let w = cx.new_const(Const::from_values(vec![len * parts, k_out * c_out], &w))?;
    let y = cx.op::<MatMul>((), &[x, w])?;
    let y = cx.reshape(y, &[&outer[..], &[k_out, c_out]].concat())?;
    // Output axis p is axis `back[p]` of [others.., K, c'].
    let back: Vec<usize> = (0..r)
        .map(|p| match p {
            p if p == ax => r - 2,
            p if p == r - 1 => r - 1,
            p => p - usize::from(p > ax),
        })
        .collect();
    one(permute(cx, y, &back)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_turns_are_exact() {
        assert_eq!(unit(0, 7), (1.0, 0.0));
        assert_eq!(unit(2, 8), (0.0, 1.0));
        assert_eq!(unit(5, 10), (-1.0, 0.0));
        assert_eq!(unit(9, 12), (0.0, -1.0));
        assert_eq!(unit(15, 10), (-1.0, 0.0));
    }

    #[test]
    fn output_shapes() {
        let t = |inverse, onesided| Transform {
            n: 9,
            inverse,
            onesided,
        };
        assert_eq!(t(false, false).out_shape(), (9, 2));
        assert_eq!(t(false, true).out_shape(), (5, 2));
        assert_eq!(t(true, false).out_shape(), (9, 2));
        assert_eq!(t(true, true).out_shape(), (9, 1));
    }
}
