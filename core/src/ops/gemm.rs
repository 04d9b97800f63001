//! `Gemm`: ONNX `Gemm`, `Y = alpha * op(A) * op(B) + beta * C` in f32, with 2-D `A`, `B`
//! (either may be an activation) and an optional `C` broadcast to `[M, N]`.

use super::fully_connected::scratch_f32;
use super::matmul::scratch_elems;
use super::{Io, Op, Prepare};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::matmul::{self, GemmAttrs as Kernel};
use crate::model::ModelError;
use serde::{Deserialize, Serialize};

type R<T> = core::result::Result<T, ModelError>;

/// ONNX `Gemm`; inputs `A` (`[M, K]`, or `[K, M]` with `trans_a`), `B` (`[K, N]`, or
/// `[N, K]` with `trans_b`) and an optional `C` whose shape broadcasts unidirectionally to
/// `[M, N]` (`[]`, `[N]`, `[1, N]`, `[M, 1]`, `[M, N]`, ...); output `[M, N]`. Without `C`
/// (or with `beta == 0`) no `C` term is added, as in BLAS.
pub struct Gemm;

/// Attributes of [`Gemm`] (ONNX `transA`, `transB`, `alpha`, `beta`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GemmAttrs {
    /// A is stored `[K, M]`.
    pub trans_a: bool,
    /// B is stored `[N, K]`.
    pub trans_b: bool,
    /// Scale of the product (finite).
    pub alpha: f32,
    /// Scale of C (finite).
    pub beta: f32,
}

impl Default for GemmAttrs {
    /// The ONNX defaults: no transposes, `alpha = beta = 1`.
    fn default() -> Self {
        GemmAttrs {
            trans_a: false,
            trans_b: false,
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

/// Prepared params of [`Gemm`]: the kernel's attributes (`beta` is 0 when there is no C)
/// and its scratch elements on this CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GemmParams {
    trans_a: u32,
    trans_b: u32,
    alpha: u32,
    beta: u32,
    scratch: u32,
}

impl GemmParams {
    fn kernel(&self) -> Kernel {
        Kernel {
            trans_a: self.trans_a != 0,
            trans_b: self.trans_b != 0,
            alpha: f32::from_bits(self.alpha),
            beta: f32::from_bits(self.beta),
        }
    }
}

/// `[rows, cols]` of 2-D input `k`.
fn matrix(cx: &Prepare<'_, '_>, k: usize) -> R<[usize; 2]> {
    match *cx.typed(k, DType::F32)?.dims() {
        [r, c] => Ok([r, c]),
        _ => Err(cx.shape_err(k, "must be a matrix (rank 2)")),
    }
}

impl Op for Gemm {
    const ID: u16 = 51;
    const NAME: &'static str = "Gemm";
    const INPUTS: (usize, usize) = (2, 3);
    type Attrs = GemmAttrs;
    type Params = GemmParams;

    fn prepare(a: &GemmAttrs, cx: &mut Prepare<'_, '_>) -> R<GemmParams> {
        if !(a.alpha.is_finite() && a.beta.is_finite()) {
            return Err(cx.attr_err("gemm alpha and beta must be finite"));
        }
        let [ar, ac] = matrix(cx, 0)?;
        let [br, bc] = matrix(cx, 1)?;
        let (m, k) = if a.trans_a { (ac, ar) } else { (ar, ac) };
        let (kb, n) = if a.trans_b { (bc, br) } else { (br, bc) };
        if k != kb {
            return Err(cx.shape_err(1, "inner dimension must equal operand 0's"));
        }
        let y = cx.shape(&[m, n])?;
        let with_c = match cx.opt_input(2) {
            None => false,
            Some(_) => {
                let cs = cx.typed(2, DType::F32)?;
                if cs.broadcast(&y).ok() != Some(y) {
                    return Err(cx.shape_err(2, "must broadcast to the [M, N] output"));
                }
                true
            }
        };
        let kernel = Kernel {
            trans_a: a.trans_a,
            trans_b: a.trans_b,
            alpha: a.alpha,
            beta: if with_c { a.beta } else { 0.0 },
        };
        let (xa, xb) = (cx.input(0)?.shape, cx.input(1)?.shape);
        let out = matmul::gemm_op_shape(&kernel, &xa, &xb).map_err(|e| cx.kernel_err(e))?;
        cx.set_output(0, DType::F32, out)?;
        let scratch = scratch_elems(cx, matmul::gemm_op_scratch_len(&kernel, &xa, &xb))?;
        cx.set_scratch(scratch as usize * 4);
        Ok(GemmParams {
            trans_a: u32::from(kernel.trans_a),
            trans_b: u32::from(kernel.trans_b),
            alpha: kernel.alpha.to_bits(),
            beta: kernel.beta.to_bits(),
            scratch,
        })
    }

    fn eval(p: &GemmParams, io: &mut Io<'_>, scratch: &mut [u8]) -> Result<()> {
        let (a, b, c) = (io.input::<f32>(0)?, io.input::<f32>(1)?, io.opt::<f32>(2)?);
        let (sa, sb, sc) = (io.shape(0), io.shape(1), io.shape(2));
        let s = scratch_f32(scratch, p.scratch as usize)?;
        let c = c.map(|c| (c, &sc));
        matmul::gemm_op(&p.kernel(), a, &sa, b, &sb, c, io.out(0)?, s)
    }
}
