//! The scalar specification of [`super::sgemm`].

use super::{check, scale_c, Gemm};
use crate::{Error, Result};

/// Scalar reference GEMM: the specification every fast path is tested against.
///
/// Same contract as [`super::sgemm`] (same validation, same errors, same treatment of
/// `alpha == 0`, `k == 0` and `beta == 0`), but needs no scratch. Each element is
/// `acc = sum_p op(A)[i][p] * op(B)[p][j]` accumulated in f32 in increasing `p`, then
/// `C = alpha * acc` when `beta == 0`, else `C = alpha * acc + beta * C`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_reference(
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) -> Result<()> {
    check(g, a.len(), lda, b.len(), ldb, c.len(), ldc)?;
    if g.m == 0 || g.n == 0 {
        return Ok(());
    }
    if g.k == 0 || g.alpha == 0.0 {
        return scale_c(g, c, ldc);
    }
    let oob = Error::InvalidArgument {
        op: "gemm",
        what: "internal bounds check failed",
    };
    for i in 0..g.m {
        for j in 0..g.n {
            let mut acc = 0.0f32;
            for p in 0..g.k {
                let ai = if g.trans_a { p * lda + i } else { i * lda + p };
                let bi = if g.trans_b { j * ldb + p } else { p * ldb + j };
                let av = a.get(ai).copied().ok_or(oob)?;
                let bv = b.get(bi).copied().ok_or(oob)?;
                acc += av * bv;
            }
            let cv = c.get_mut(i * ldc + j).ok_or(oob)?;
            let r = g.alpha * acc;
            *cv = if g.beta == 0.0 { r } else { r + g.beta * *cv };
        }
    }
    Ok(())
}
