//! f32 general matrix multiply: `C = alpha * op(A) * op(B) + beta * C`, row-major.
//!
//! # Contract
//! `op(A)` is `m x k`: A is stored `m x k` with row stride `lda >= k`, or (`trans_a`) `k x m`
//! with `lda >= m`. `op(B)` is `k x n` likewise (`ldb`). C is `m x n` with `ldc >= n`. A
//! buffer must hold `(rows - 1) * ld + cols` elements (0 when it has no rows or columns);
//! longer buffers are fine. Special cases, shared by every path and [`sgemm_reference`]:
//! - `m == 0` or `n == 0`: nothing is read or written.
//! - `k == 0` or `alpha == 0`: A and B are not read; `C = beta * C` (`C = 0` if `beta == 0`).
//! - `beta == 0`: C is overwritten; its old values (even NaN) are never read.
//!
//! # Paths
//! [`sgemm`] picks the instruction set once ([`Isa::detect`]) and then one of three loop
//! structures from the sizes alone:
//! - **small-m** (no scratch), whenever `m <= 4` (GEMV-like products: batch-1 fully
//!   connected layers, `y[1, n] = x[1, k] * W[n, k]^T` with `trans_b`). With transposed B
//!   each element is a dot product of a row of op(A) with a contiguous row of stored B, up to
//!   8 rows of B per pass sharing every load of A, summed over 8 lanes (see *Determinism*);
//!   with plain B an `m x 16..64` register tile of C walks the rows of B (axpy).
//! - **direct** (no scratch): the micro-kernel reads A and B in place. On AVX2 and NEON when
//!   B is not transposed and `m <= MR` or `m * n * k <= 32^3`; on the portable kernel when
//!   `m * n * k <= 64^3`, or B is not transposed and `m <= MR`, and always on bare-metal
//!   targets (`target_os = "none"`), where caches are small or absent and packing buys
//!   nothing.
//! - **packed** (BLIS-style): B is packed in `KC x NC` blocks of NR-wide panels, A in
//!   `MC x KC` blocks of MR-high panels, and an MR x NR register-tile micro-kernel walks them.
//!
//! | ISA ([`Isa`]) | MR x NR | KC | MC | NC |
//! |---|---|---|---|---|
//! | `Avx2Fma` (x86_64) | 6 x 16 | 256 | 144 | 4080 |
//! | `Neon` (aarch64) | 8 x 8 | 256 | 128 | 4096 |
//! | `Generic` | 4 x 8 (4 x 4 on bare metal) | 256 | 64 | 512 |
//!
//! # Scratch
//! [`scratch_len`] is 0 for the small-m and direct paths and for the special cases above. For
//! the packed path it is `ceil(min(m, MC) / MR) * MR * min(k, KC) + ceil(min(n, NC') / NR) *
//! NR * min(k, KC) + 32` f32 elements (the 32 let both buffers start on 64-byte boundaries), where
//! `NC' = NC` when `m > MC`, and `NC' = 4 * NR` when `m <= MC` (A is then one block that stays
//! packed while B streams past it four panels at a time). Examples on x86_64 with AVX2:
//! 512 x 512 x 512 needs 167,968 elements (672 KB), 1024^3 needs 299,040 (1.2 MB), 100 x 1000
//! x 300 needs 42,528, a 5 x 4096 x 4096 product with `trans_b` 17,952, and anything with
//! `m <= 4`, or plain B and `m <= 6`, or `m * n * k <= 32768` needs none. On bare-metal
//! targets it is always 0.
//!
//! # Determinism
//! Every run gives the same bits (no data-dependent or thread-dependent order). Each element
//! of C is computed in one of two fixed ways, with fused multiply-adds on AVX2/NEON and a
//! multiply then an add on the portable kernel:
//! - **Sequential** (plain B on every path; transposed B when `m > 4`): for each block of 256
//!   consecutive `p` in order, a product sum from zero in increasing `p`, then
//!   `C = alpha * sum (+ beta * C)` with the caller's beta for the first block and 1 after.
//! - **Lanes** (transposed B and `m <= 4`): 8 partial sums, lane `l` summing the products of
//!   the `p` with `p % 8 == l` in increasing `p` (over all of `k`; the last partial chunk of 8
//!   is zero-padded, adding `0 * 0`), then
//!   `sum = ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))` and
//!   `C = alpha * sum (+ beta * C)`.
//!
//! So the bits depend only on `k`, `alpha`, `beta`, the instruction set, the inputs and (for
//! transposed B) whether `m <= 4`; not on `n`, the element's position or how C is split into
//! column blocks. Splitting rows keeps the bits with plain B, and with transposed B as long as
//! the whole and every piece are on the same side of `m <= 4` (threads should split a
//! small-m product by columns). Results differ between instruction sets within the usual
//! rounding error.

mod driver;
mod generic;
mod reference;
mod small;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use reference::sgemm_reference;

pub(crate) use driver::PackB;

use crate::{Error, Result};
use driver::{packed_scratch, run_direct, run_packed, MatB};

const OP: &str = "gemm";

/// One GEMM problem: `C = alpha * op(A) * op(B) + beta * C`, row-major.
///
/// `op(A)` is `m x k`: A is stored `m x k` with row stride `lda >= k`, or (`trans_a`) `k x m`
/// with `lda >= m`. `op(B)` is `k x n` likewise (`ldb`). C is `m x n` with `ldc >= n`.
/// `beta == 0` means C is overwritten (its old values, even NaN, are ignored).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gemm {
    /// Rows of op(A) and C.
    pub m: usize,
    /// Columns of op(B) and C.
    pub n: usize,
    /// Columns of op(A), rows of op(B).
    pub k: usize,
    /// A is stored transposed (`k x m`).
    pub trans_a: bool,
    /// B is stored transposed (`n x k`).
    pub trans_b: bool,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of the old C (0: C is overwritten without being read).
    pub beta: f32,
}

impl Gemm {
    /// `C = A * B` with A `m x k`, B `k x n`: alpha 1, beta 0, no transposes.
    pub fn new(m: usize, n: usize, k: usize) -> Gemm {
        Gemm {
            m,
            n,
            k,
            trans_a: false,
            trans_b: false,
            alpha: 1.0,
            beta: 0.0,
        }
    }
}

/// The instruction set a GEMM micro-kernel uses: AVX2 + FMA runs 6 x 16 tiles, NEON 8 x 8,
/// the portable code 4 x 8 (4 x 4 on bare metal); each has its small-m kernels as well.
pub use crate::kernels::cpu::Isa;

/// (MR, NR, MC, NC) of an instruction set's micro-kernel and cache blocks.
fn blocks(isa: Isa) -> (usize, usize, usize, usize) {
    match isa {
        Isa::Avx2Fma => (6, 16, 144, 4080),
        Isa::Neon => (8, 8, 128, 4096),
        Isa::Generic => (generic::MR, generic::NR, 64, 512),
    }
}

/// Which loops run a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `m == 0`, `n == 0`, `k == 0` or `alpha == 0`: only C is scaled.
    Trivial,
    /// No packing.
    Direct,
    /// `m <= SMALL_M`: dot products (transposed B) or axpy tiles (plain B), no packing.
    Small,
    /// Packed with these MC and NC.
    Packed { mc: usize, nc: usize },
}

#[derive(Clone, Copy, Debug)]
struct Plan {
    kind: Kind,
    scratch: usize,
}

const SIMD_DIRECT_MAX: usize = 32 * 32 * 32;
const GENERIC_DIRECT_MAX: usize = 64 * 64 * 64;

fn plan(isa: Isa, g: &Gemm) -> Plan {
    if g.m == 0 || g.n == 0 || g.k == 0 || g.alpha == 0.0 {
        return Plan {
            kind: Kind::Trivial,
            scratch: 0,
        };
    }
    if g.m <= small::SMALL_M {
        return Plan {
            kind: Kind::Small,
            scratch: 0,
        };
    }
    let (mr, nr, mc, nc) = blocks(isa);
    let mnk =
        g.m.checked_mul(g.n)
            .and_then(|x| x.checked_mul(g.k))
            .unwrap_or(usize::MAX);
    let direct = match isa {
        Isa::Generic => {
            cfg!(target_os = "none") || mnk <= GENERIC_DIRECT_MAX || (!g.trans_b && g.m <= mr)
        }
        Isa::Avx2Fma | Isa::Neon => !g.trans_b && (g.m <= mr || mnk <= SIMD_DIRECT_MAX),
    };
    if direct {
        return Plan {
            kind: Kind::Direct,
            scratch: 0,
        };
    }
    let (mc, nc) = packed_blocks(isa, g.m, mc, nc);
    Plan {
        kind: Kind::Packed { mc, nc },
        scratch: packed_scratch(mr, nr, g.m, g.n, g.k, mc, nc),
    }
}

/// B panels packed at a time when A is a single block (`m <= MC`).
const SMALL_NC_PANELS: usize = 4;

/// MC and NC for the packed path: when A is a single block it stays packed while B streams
/// past it a few panels at a time.
fn packed_blocks(isa: Isa, m: usize, mc: usize, nc: usize) -> (usize, usize) {
    let (_, nr, _, _) = blocks(isa);
    if m <= mc {
        (mc, SMALL_NC_PANELS * nr)
    } else {
        (mc, nc)
    }
}

/// f32 elements of scratch [`sgemm`] needs for `g` on this CPU (0 for paths that do not pack;
/// see the module docs for the formula and examples).
pub fn scratch_len(g: &Gemm) -> usize {
    scratch_len_for(Isa::detect(), g)
}

/// f32 elements of scratch [`sgemm_for`] needs for `g` with instruction set `isa`.
pub fn scratch_len_for(isa: Isa, g: &Gemm) -> usize {
    plan(isa, g).scratch
}

/// Elements a `rows x cols` matrix with row stride `ld` spans.
fn span(rows: usize, cols: usize, ld: usize, what: &'static str) -> Result<usize> {
    if ld < cols {
        return Err(Error::InvalidArgument { op: OP, what });
    }
    if rows == 0 || cols == 0 {
        return Ok(0);
    }
    (rows - 1)
        .checked_mul(ld)
        .and_then(|x| x.checked_add(cols))
        .ok_or(Error::Overflow { op: OP })
}

/// Elements each of A, B and C must hold.
fn spans(g: &Gemm, lda: usize, ldb: usize, ldc: usize) -> Result<[usize; 3]> {
    let (ar, ac) = if g.trans_a { (g.k, g.m) } else { (g.m, g.k) };
    let (br, bc) = if g.trans_b { (g.n, g.k) } else { (g.k, g.n) };
    Ok([
        span(
            ar,
            ac,
            lda,
            "lda is smaller than the row length of stored A",
        )?,
        span(
            br,
            bc,
            ldb,
            "ldb is smaller than the row length of stored B",
        )?,
        span(g.m, g.n, ldc, "ldc is smaller than n")?,
    ])
}

fn check_len(what: &'static str, needed: usize, len: usize) -> Result<()> {
    if len < needed {
        return Err(Error::BufferTooSmall {
            op: OP,
            what,
            needed,
            len,
        });
    }
    Ok(())
}

/// Validates strides and buffer lengths.
pub(crate) fn check(
    g: &Gemm,
    a_len: usize,
    lda: usize,
    b_len: usize,
    ldb: usize,
    c_len: usize,
    ldc: usize,
) -> Result<()> {
    let [na, nb, nc] = spans(g, lda, ldb, ldc)?;
    check_len("a", na, a_len)?;
    check_len("b", nb, b_len)?;
    check_len("c", nc, c_len)
}

/// `C = beta * C` (`C = 0` when beta is 0) over the `m x n` window.
pub(crate) fn scale_c(g: &Gemm, c: &mut [f32], ldc: usize) -> Result<()> {
    if g.m == 0 || g.n == 0 {
        return Ok(());
    }
    for row in c.chunks_mut(ldc.max(1)).take(g.m) {
        let row = row.get_mut(..g.n).ok_or(driver::oob())?;
        if g.beta == 0.0 {
            row.fill(0.0);
        } else {
            for v in row {
                *v *= g.beta;
            }
        }
    }
    Ok(())
}

fn unavailable() -> Error {
    Error::InvalidArgument {
        op: OP,
        what: "instruction set not available on this CPU",
    }
}

/// Runs `$body` with `$k` bound to the micro-kernel of `$isa` and `$mr` to its MR.
macro_rules! with_micro {
    ($isa:expr, $k:ident, $mr:ident => $body:expr) => {
        match $isa {
            Isa::Avx2Fma => {
                #[cfg(target_arch = "x86_64")]
                {
                    match x86::Avx2::new() {
                        Some($k) => {
                            #[allow(dead_code)]
                            const $mr: usize = x86::MR;
                            $body
                        }
                        None => Err(unavailable()),
                    }
                }
                #[cfg(not(target_arch = "x86_64"))]
                {
                    Err(unavailable())
                }
            }
            Isa::Neon => {
                #[cfg(target_arch = "aarch64")]
                {
                    match aarch64::Neon::new() {
                        Some($k) => {
                            #[allow(dead_code)]
                            const $mr: usize = aarch64::MR;
                            $body
                        }
                        None => Err(unavailable()),
                    }
                }
                #[cfg(not(target_arch = "aarch64"))]
                {
                    Err(unavailable())
                }
            }
            Isa::Generic => {
                let $k = generic::Generic;
                #[allow(dead_code)]
                const $mr: usize = generic::MR;
                $body
            }
        }
    };
}

/// Runs a validated problem along `plan`.
#[allow(clippy::too_many_arguments)]
fn execute(
    isa: Isa,
    plan: Plan,
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    scratch: &mut [f32],
) -> Result<()> {
    match plan.kind {
        Kind::Trivial => scale_c(g, c, ldc),
        Kind::Direct => with_micro!(isa, k, MR => run_direct(k, g, a, lda, b, ldb, c, ldc)),
        Kind::Small => with_micro!(isa, k, MR => small::run(k, g, a, lda, b, ldb, c, ldc)),
        Kind::Packed { mc, nc } => {
            let mb = MatB {
                b,
                ldb,
                trans: g.trans_b,
                #[cfg(target_arch = "x86_64")]
                avx2: if isa == Isa::Avx2Fma {
                    x86::Avx2::new()
                } else {
                    None
                },
            };
            with_micro!(isa, k, MR => run_packed::<_, _, MR>(k, g, a, lda, &mb, c, ldc, scratch, mc, nc))
        }
    }
}

/// `C = alpha * op(A) * op(B) + beta * C` with the fastest instruction set of this CPU.
///
/// See the [module docs](self) for the layout contract and special cases. `scratch` must hold
/// at least [`scratch_len`]`(g)` elements (its contents are ignored and overwritten).
///
/// Errors: [`Error::InvalidArgument`] when a leading dimension is smaller than its row
/// length, [`Error::BufferTooSmall`] when `a`, `b`, `c` or `scratch` is too short,
/// [`Error::Overflow`] when a size overflows `usize`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    scratch: &mut [f32],
) -> Result<()> {
    sgemm_for(Isa::detect(), g, a, lda, b, ldb, c, ldc, scratch)
}

/// [`sgemm`] with a chosen instruction set (for tests and benchmarks); `scratch` must hold
/// [`scratch_len_for`]`(isa, g)` elements. Fails with [`Error::InvalidArgument`] when this
/// CPU cannot run `isa`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_for(
    isa: Isa,
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    scratch: &mut [f32],
) -> Result<()> {
    check(g, a.len(), lda, b.len(), ldb, c.len(), ldc)?;
    if !isa.is_available() {
        return Err(unavailable());
    }
    let plan = plan(isa, g);
    check_len("scratch", plan.scratch, scratch.len())?;
    execute(isa, plan, g, a, lda, b, ldb, c, ldc, scratch)
}

/// Elements a batch of `batch` operands spanning `one` elements each, `stride` apart, needs.
fn batch_span(batch: usize, stride: usize, one: usize) -> Result<usize> {
    if batch == 0 || one == 0 {
        return Ok(0);
    }
    (batch - 1)
        .checked_mul(stride)
        .and_then(|x| x.checked_add(one))
        .ok_or(Error::Overflow { op: OP })
}

/// `batch` independent GEMMs with the same shape: for `i < batch`, operand A starts at
/// `a[i * stride_a]`, B at `b[i * stride_b]`, C at `c[i * stride_c]`.
///
/// A stride of 0 broadcasts one A or B to every batch (e.g. shared weights). C regions of
/// different batches should not overlap; `stride_c == 0` with `batch > 1` is rejected with
/// [`Error::InvalidArgument`]. `scratch` must hold [`scratch_len`]`(g)` elements. Each
/// batch's C has the same bits as a separate [`sgemm`] call. Other errors as [`sgemm`].
#[allow(clippy::too_many_arguments)]
pub fn sgemm_batched(
    g: &Gemm,
    batch: usize,
    a: &[f32],
    lda: usize,
    stride_a: usize,
    b: &[f32],
    ldb: usize,
    stride_b: usize,
    c: &mut [f32],
    ldc: usize,
    stride_c: usize,
    scratch: &mut [f32],
) -> Result<()> {
    let [na, nb, nc] = spans(g, lda, ldb, ldc)?;
    check_len("a", batch_span(batch, stride_a, na)?, a.len())?;
    check_len("b", batch_span(batch, stride_b, nb)?, b.len())?;
    check_len("c", batch_span(batch, stride_c, nc)?, c.len())?;
    if batch > 1 && stride_c == 0 && nc > 0 {
        return Err(Error::InvalidArgument {
            op: OP,
            what: "stride_c is 0, so every batch would overwrite the same C",
        });
    }
    let isa = Isa::detect();
    let plan1 = plan(isa, g);
    check_len("scratch", plan1.scratch, scratch.len())?;
    if batch == 0 {
        return Ok(());
    }
    // With shared B and A, C stacked row-wise, the batches are one taller GEMM; by the
    // determinism rule in the module docs it gives the same bits as separate calls. Small-m
    // products with transposed B sum in another order than taller ones, so those are merged
    // only up to SMALL_M rows at a time.
    let stacked = g.m.checked_mul(lda) == Some(stride_a) && g.m.checked_mul(ldc) == Some(stride_c);
    if batch > 1 && stride_b == 0 && !g.trans_a && stacked && g.trans_b && plan1.kind == Kind::Small
    {
        let per = (small::SMALL_M / g.m.max(1)).max(1);
        let mut i = 0;
        while i < batch {
            let nb = per.min(batch - i);
            let tall = Gemm { m: g.m * nb, ..*g };
            let ai = a.get(i * stride_a..).ok_or(driver::oob())?;
            let ci = c.get_mut(i * stride_c..).ok_or(driver::oob())?;
            check(&tall, ai.len(), lda, b.len(), ldb, ci.len(), ldc)?;
            execute(
                isa,
                plan(isa, &tall),
                &tall,
                ai,
                lda,
                b,
                ldb,
                ci,
                ldc,
                scratch,
            )?;
            i += nb;
        }
        return Ok(());
    }
    if batch > 1 && stride_b == 0 && !g.trans_a && stacked {
        let tall = g.m.checked_mul(batch).map(|m| Gemm { m, ..*g });
        if let Some(tall) = tall {
            let p = plan(isa, &tall);
            if p.scratch <= scratch.len() {
                return execute(isa, p, &tall, a, lda, b, ldb, c, ldc, scratch);
            }
        }
    }
    for i in 0..batch {
        let ai = a.get(i * stride_a..).unwrap_or(&[]);
        let bi = b.get(i * stride_b..).unwrap_or(&[]);
        let ci = c.get_mut(i * stride_c..).ok_or(driver::oob())?;
        check(g, ai.len(), lda, bi.len(), ldb, ci.len(), ldc)?;
        execute(isa, plan1, g, ai, lda, bi, ldb, ci, ldc, scratch)?;
    }
    Ok(())
}

/// Scratch for [`sgemm_packed_b`] on `m x n x k` with `isa` (conv's implicit GEMM).
pub(crate) fn packed_b_scratch_len(isa: Isa, m: usize, n: usize, k: usize) -> usize {
    let (mr, nr, mc, nc) = blocks(isa);
    let (mc, nc) = packed_blocks(isa, m, mc, nc);
    packed_scratch(mr, nr, m, n, k, mc, nc)
}

/// The packed path with B supplied by a packer (conv's implicit im2col). `g.trans_b` is
/// ignored; A, C and scratch are checked as for [`sgemm`]; the packer checks its own reads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm_packed_b<B: PackB>(
    isa: Isa,
    g: &Gemm,
    a: &[f32],
    lda: usize,
    b: &B,
    c: &mut [f32],
    ldc: usize,
    scratch: &mut [f32],
) -> Result<()> {
    let gb = Gemm {
        trans_b: false,
        ..*g
    };
    let (ar, ac) = if g.trans_a { (g.k, g.m) } else { (g.m, g.k) };
    let lda_msg = "lda is smaller than the row length of stored A";
    check_len("a", span(ar, ac, lda, lda_msg)?, a.len())?;
    check_len("c", span(g.m, g.n, ldc, "ldc is smaller than n")?, c.len())?;
    if !isa.is_available() {
        return Err(unavailable());
    }
    if g.m == 0 || g.n == 0 || g.k == 0 || g.alpha == 0.0 {
        return scale_c(g, c, ldc);
    }
    let need = packed_b_scratch_len(isa, g.m, g.n, g.k);
    check_len("scratch", need, scratch.len())?;
    let (_, _, mc, nc) = blocks(isa);
    let (mc, nc) = packed_blocks(isa, g.m, mc, nc);
    with_micro!(isa, k, MR => run_packed::<_, _, MR>(k, &gb, a, lda, b, c, ldc, scratch, mc, nc))
}
