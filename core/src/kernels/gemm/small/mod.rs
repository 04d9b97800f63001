//! Small-m products (`m <= SMALL_M`, GEMV-like: batch-1 fully connected layers): no packing,
//! no scratch, one pass over B.
//!
//! - **Transposed B** (`trans_b`, torch `Linear` weights `[n, k]`): each element of C is a dot
//!   product of a row of op(A) with a contiguous row of stored B. Each kernel call computes
//!   `m x R` of them (R rows of B share every load of A), with 8 lanes per dot product: lane
//!   `l` accumulates the products of the `p` with `p % 8 == l` in increasing `p` (fused
//!   multiply-add on AVX2/NEON, multiply then add on the portable kernel; the last partial
//!   chunk of 8 is zero-padded), then the lanes are summed as
//!   `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))` and `C = alpha * sum (+ beta * C)`.
//!   A call with fewer than R rows left recomputes its last row in the spare slots.
//!   On bare metal and 32-bit Arm (few FP registers, no SIMD kernel) the portable kernel
//!   instead uses 4 lanes per dot product and R = 4: lane `l` accumulates the `p` with
//!   `p % 4 == l` in increasing `p` (multiply then add, no padding), summed as
//!   `(l0 + l1) + (l2 + l3)`.
//! - **Plain B**: an `m x COLS` register tile of C walks the rows of B (an axpy per row of A),
//!   accumulating each element in increasing `p` from zero per block of [`KC`] rows, then
//!   `C = alpha * acc (+ beta * C)` with the caller's beta for the first block and 1 after:
//!   the same arithmetic (and bits) as the direct and packed paths.
//!
//! Either way an element's bits depend only on its row of op(A), its column of op(B), `k`,
//! `alpha`, `beta`, C's old value and the instruction set, never on `m` (within `1..=SMALL_M`),
//! `n` or where the element sits in a tile.

pub(crate) mod generic;

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

use super::driver::{oob, Strided, KC};
use super::Gemm;
use crate::Result;

/// Largest m the small-m path takes.
pub(crate) const SMALL_M: usize = 4;

/// Lanes of one dot product (the summation order of the transposed-B path depends on it).
pub(crate) const LANES: usize = 8;

/// One instruction set's small-m kernels.
pub(crate) trait SmallKernel: Copy {
    /// Rows of stored B (columns of C) one [`SmallKernel::dot`] call computes for `m` rows.
    fn dot_rows(m: usize) -> usize;
    /// Columns of C one [`SmallKernel::axpy`] call computes for `m` rows.
    fn axpy_cols(m: usize) -> usize;
    /// `C[i][j] = alpha * dot(op(A) row i, w row j) (+ beta * C[i][j])` for `i < m`,
    /// `j < rows`: op(A) element `(i, p)` is `x.data[i * x.rs + p * x.cs]`, row `j` of B is
    /// `w[j * ldb..][..k]`, C element `(i, j)` is `c[i * ldc + j]`.
    /// `1 <= m <= SMALL_M`, `1 <= rows <= dot_rows(m)`, `k >= 1`.
    #[allow(clippy::too_many_arguments)]
    fn dot(
        &self,
        m: usize,
        k: usize,
        x: Strided<'_>,
        w: &[f32],
        ldb: usize,
        rows: usize,
        c: &mut [f32],
        ldc: usize,
        alpha: f32,
        beta: f32,
    ) -> Result<()>;
    /// `C[i][j] = alpha * sum_{p < kc} a(i, p) * B[p][j] (+ beta * C[i][j])` for `i < m`,
    /// `j < cols`: `a(i, p)` is `a.data[i * a.rs + p * a.cs]`, `B[p][j]` is `b[p * ldb + j]`,
    /// C element `(i, j)` is `c[i * ldc + j]`. `1 <= m <= SMALL_M`,
    /// `1 <= cols <= axpy_cols(m)`, `kc >= 1`.
    #[allow(clippy::too_many_arguments)]
    fn axpy(
        &self,
        m: usize,
        kc: usize,
        a: Strided<'_>,
        b: &[f32],
        ldb: usize,
        cols: usize,
        c: &mut [f32],
        ldc: usize,
        alpha: f32,
        beta: f32,
    ) -> Result<()>;
}

/// Checks shared by every kernel's `dot`: the ranges it reads and writes are in bounds.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dot_fits(
    m: usize,
    k: usize,
    x: &Strided<'_>,
    w: &[f32],
    ldb: usize,
    rows: usize,
    max_rows: usize,
    c: &[f32],
    ldc: usize,
) -> bool {
    let w_need = (rows.wrapping_sub(1))
        .checked_mul(ldb)
        .and_then(|v| v.checked_add(k));
    let c_need = (m.wrapping_sub(1))
        .checked_mul(ldc)
        .and_then(|v| v.checked_add(rows));
    (1..=SMALL_M).contains(&m)
        && (1..=max_rows).contains(&rows)
        && k >= 1
        && ldb >= k
        && x.covers(m, k)
        && w_need.is_some_and(|need| need <= w.len())
        && c_need.is_some_and(|need| need <= c.len())
}

/// Checks shared by every kernel's `axpy`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn axpy_fits(
    m: usize,
    kc: usize,
    a: &Strided<'_>,
    b: &[f32],
    ldb: usize,
    cols: usize,
    max_cols: usize,
    c: &[f32],
    ldc: usize,
) -> bool {
    let b_need = (kc.wrapping_sub(1))
        .checked_mul(ldb)
        .and_then(|v| v.checked_add(cols));
    let c_need = (m.wrapping_sub(1))
        .checked_mul(ldc)
        .and_then(|v| v.checked_add(cols));
    (1..=SMALL_M).contains(&m)
        && (1..=max_cols).contains(&cols)
        && kc >= 1
        && ldb >= cols
        && ldc >= cols
        && a.covers(m, kc)
        && b_need.is_some_and(|need| need <= b.len())
        && c_need.is_some_and(|need| need <= c.len())
}

/// Sums the 8 lanes of a dot product in the fixed tree order of the module docs.
#[cfg_attr(any(target_os = "none", target_arch = "arm"), allow(dead_code))]
#[inline(always)]
pub(crate) fn lane_sum(l: &[f32; LANES]) -> f32 {
    ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

/// `alpha * s` when `beta == 0`, else `alpha * s + beta * c` (the roundings of every path).
#[inline(always)]
pub(crate) fn update(s: f32, alpha: f32, beta: f32, c: f32) -> f32 {
    let r = alpha * s;
    if beta == 0.0 {
        r
    } else {
        r + beta * c
    }
}

/// Runs a validated small-m problem (`1 <= m <= SMALL_M`, `n, k >= 1`) with `kern`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run<K: SmallKernel>(
    kern: K,
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) -> Result<()> {
    let (m, n, k) = (g.m, g.n, g.k);
    let (rsa, csa) = if g.trans_a { (1, lda) } else { (lda, 1) };
    if g.trans_b {
        let x = Strided {
            data: a,
            rs: rsa,
            cs: csa,
        };
        let step = K::dot_rows(m);
        let mut j = 0;
        while j < n {
            let rows = step.min(n - j);
            let w = b.get(j * ldb..).ok_or(oob())?;
            let cj = c.get_mut(j..).ok_or(oob())?;
            kern.dot(m, k, x, w, ldb, rows, cj, ldc, g.alpha, g.beta)?;
            j += rows;
        }
        return Ok(());
    }
    let step = K::axpy_cols(m);
    let mut pc = 0;
    while pc < k {
        let kcb = KC.min(k - pc);
        let beta = if pc == 0 { g.beta } else { 1.0 };
        let ap = Strided {
            data: a.get(pc * csa..).ok_or(oob())?,
            rs: rsa,
            cs: csa,
        };
        let mut j = 0;
        while j < n {
            let cols = step.min(n - j);
            let bp = b.get(pc * ldb + j..).ok_or(oob())?;
            let cj = c.get_mut(j..).ok_or(oob())?;
            kern.axpy(m, kcb, ap, bp, ldb, cols, cj, ldc, g.alpha, beta)?;
            j += cols;
        }
        pc += kcb;
    }
    Ok(())
}
