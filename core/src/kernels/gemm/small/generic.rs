//! Portable small-m kernels: fixed-size f32 arrays that LLVM vectorises where the target has
//! SIMD, and few enough accumulators for a Cortex-M4F/M7 FPU on bare metal and 32-bit Arm
//! (4 columns per axpy tile on bare metal; the transposed-B dot there computes four rows of B
//! per pass over op(A) with 4 lanes each, see `mcu`).

#[cfg(not(any(target_os = "none", target_arch = "arm")))]
use super::lane_sum;
use super::{axpy_fits, dot_fits, update, SmallKernel, LANES, SMALL_M};
use crate::kernels::gemm::driver::{oob, Strided};
use crate::kernels::gemm::generic::Generic;
use crate::Result;

/// Rows of B per dot call.
const DOT_ROWS: usize = 4;

/// Columns per axpy tile.
#[cfg(target_os = "none")]
const AXPY_COLS: usize = 4;
/// Columns per axpy tile.
#[cfg(not(target_os = "none"))]
const AXPY_COLS: usize = 16;

/// Elements `p0 .. p0 + len` (`len <= 8`) of row `i` of `x`, zero-padded to 8 lanes.
#[inline(always)]
fn x_chunk(x: &Strided<'_>, i: usize, p0: usize, len: usize) -> [f32; LANES] {
    let mut out = [0.0f32; LANES];
    let base = i * x.rs + p0 * x.cs;
    if x.cs == 1 {
        if let Some(src) = x.data.get(base..base + len) {
            out[..len].copy_from_slice(src);
        }
    } else {
        for (q, o) in out.iter_mut().enumerate().take(len) {
            *o = x.data.get(base + q * x.cs).copied().unwrap_or(0.0);
        }
    }
    out
}

/// Elements `p0 .. p0 + len` of `row`, zero-padded to 8 lanes.
#[cfg(not(any(target_os = "none", target_arch = "arm")))]
#[inline(always)]
fn w_chunk(row: &[f32], p0: usize, len: usize) -> [f32; LANES] {
    let mut out = [0.0f32; LANES];
    if let Some(src) = row.get(p0..p0 + len) {
        out[..len].copy_from_slice(src);
    }
    out
}

impl SmallKernel for Generic {
    fn dot_rows(_m: usize) -> usize {
        DOT_ROWS
    }

    fn axpy_cols(_m: usize) -> usize {
        AXPY_COLS
    }

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
    ) -> Result<()> {
        if !dot_fits(m, k, &x, w, ldb, rows, DOT_ROWS, c, ldc) {
            return Err(oob());
        }
        #[cfg(any(target_os = "none", target_arch = "arm"))]
        {
            mcu::dot(m, k, x, w, ldb, rows, c, ldc, alpha, beta)
        }
        #[cfg(not(any(target_os = "none", target_arch = "arm")))]
        {
            dot_lanes8(m, k, x, w, ldb, rows, c, ldc, alpha, beta)
        }
    }

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
    ) -> Result<()> {
        if !axpy_fits(m, kc, &a, b, ldb, cols, AXPY_COLS, c, ldc) {
            return Err(oob());
        }
        let mut acc = [[0.0f32; AXPY_COLS]; SMALL_M];
        let mut edge = [0.0f32; AXPY_COLS];
        for p in 0..kc {
            let brow = b.get(p * ldb..p * ldb + cols).ok_or(oob())?;
            let bv: &[f32; AXPY_COLS] = match <&[f32; AXPY_COLS]>::try_from(brow) {
                Ok(full) => full,
                Err(_) => {
                    edge[..cols].copy_from_slice(brow);
                    &edge
                }
            };
            for (i, row) in acc.iter_mut().enumerate().take(m) {
                let av = a.data.get(i * a.rs + p * a.cs).copied().ok_or(oob())?;
                for (v, &y) in row.iter_mut().zip(bv) {
                    *v += av * y;
                }
            }
        }
        for (i, row) in acc.iter().enumerate().take(m) {
            let crow = c.get_mut(i * ldc..i * ldc + cols).ok_or(oob())?;
            for (cv, &s) in crow.iter_mut().zip(row) {
                *cv = update(s, alpha, beta, *cv);
            }
        }
        Ok(())
    }
}

/// The 8-lane transposed-B dot (hosts with no SIMD kernel of their own).
#[cfg(not(any(target_os = "none", target_arch = "arm")))]
#[allow(clippy::too_many_arguments)]
fn dot_lanes8(
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
) -> Result<()> {
    let mut wrows: [&[f32]; DOT_ROWS] = [&[]; DOT_ROWS];
    for (r, wr) in wrows.iter_mut().enumerate().take(rows) {
        *wr = w.get(r * ldb..r * ldb + k).ok_or(oob())?;
    }
    let full = k / LANES * LANES;
    for i in 0..m {
        let mut acc = [[0.0f32; LANES]; DOT_ROWS];
        let mut p0 = 0;
        while p0 < full {
            let xc = x_chunk(&x, i, p0, LANES);
            for (a, wr) in acc.iter_mut().zip(&wrows).take(rows) {
                if let Some(Ok(wc)) = wr.get(p0..p0 + LANES).map(<&[f32; LANES]>::try_from) {
                    for ((a, &xv), &wv) in a.iter_mut().zip(&xc).zip(wc) {
                        *a += xv * wv;
                    }
                }
            }
            p0 += LANES;
        }
        if p0 < k {
            let xc = x_chunk(&x, i, p0, k - p0);
            for (a, wr) in acc.iter_mut().zip(&wrows).take(rows) {
                let wc = w_chunk(wr, p0, k - p0);
                for ((a, &xv), &wv) in a.iter_mut().zip(&xc).zip(&wc) {
                    *a += xv * wv;
                }
            }
        }
        let crow = c.get_mut(i * ldc..i * ldc + rows).ok_or(oob())?;
        for (cv, a) in crow.iter_mut().zip(&acc) {
            *cv = update(lane_sum(a), alpha, beta, *cv);
        }
    }
    Ok(())
}

/// The transposed-B dot for targets with few floating-point registers (Cortex-M4F/M7: 32
/// single-precision registers, no SIMD; 32-bit Arm): four rows of B per pass over a row of
/// op(A), so each element of A is loaded once for four multiply-adds, with `MCU_LANES` (4)
/// accumulators per row (16 in all). Summation order of one element of C: lane `l`
/// accumulates `a[p] * b[p]` for the `p` with `p % 4 == l`, in increasing `p`, as a multiply
/// rounded to f32 then an add (which LLVM emits as the unfused `VMLA.F32` on the M4F, same
/// bits); no padding; then `(l0 + l1) + (l2 + l3)` and `C = alpha * sum (+ beta * C)`.
#[cfg(any(target_os = "none", target_arch = "arm"))]
mod mcu {
    use super::{update, x_chunk, DOT_ROWS};
    use crate::kernels::gemm::driver::{oob, Strided};
    use crate::Result;

    /// Lanes of one dot product on this path.
    pub(crate) const MCU_LANES: usize = 4;

    /// Elements per unrolled step of contiguous op(A) (four groups of the four lanes).
    const STEP: usize = 4 * MCU_LANES;

    /// Elements per step of strided op(A) (two groups, one `x_chunk`).
    const STEP_STRIDED: usize = 2 * MCU_LANES;

    /// One group of the asm loop: four elements of x into s16..s19, then per row four
    /// elements into s20..s23 and four `VMLA.F32` into that row's accumulators.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    macro_rules! mcu_group {
        () => {
            concat!(
                "vldmia {x}!, {{s16-s19}}\n",
                "vldmia {a}!, {{s20-s23}}\n",
                "vmla.f32 s0, s16, s20\n vmla.f32 s1, s17, s21\n",
                "vmla.f32 s2, s18, s22\n vmla.f32 s3, s19, s23\n",
                "vldmia {b}!, {{s20-s23}}\n",
                "vmla.f32 s4, s16, s20\n vmla.f32 s5, s17, s21\n",
                "vmla.f32 s6, s18, s22\n vmla.f32 s7, s19, s23\n",
                "vldmia {c}!, {{s20-s23}}\n",
                "vmla.f32 s8, s16, s20\n vmla.f32 s9, s17, s21\n",
                "vmla.f32 s10, s18, s22\n vmla.f32 s11, s19, s23\n",
                "vldmia {d}!, {{s20-s23}}\n",
                "vmla.f32 s12, s16, s20\n vmla.f32 s13, s17, s21\n",
                "vmla.f32 s14, s18, s22\n vmla.f32 s15, s19, s23\n",
            )
        };
    }

    type Acc = [[f32; MCU_LANES]; DOT_ROWS];

    /// Adds one step of `x` against the same step of each of the four rows to `acc`, in the
    /// lane order of the module docs.
    #[inline(always)]
    fn step<const S: usize>(acc: &mut Acc, xv: &[f32; S], w: [&[f32; S]; DOT_ROWS]) {
        for h in 0..S / MCU_LANES {
            for l in 0..MCU_LANES {
                let q = h * MCU_LANES + l;
                let xq = xv[q];
                for (a, wr) in acc.iter_mut().zip(&w) {
                    a[l] += xq * wr[q];
                }
            }
        }
    }

    /// Adds the products past the last whole step (`xt`, the rows' tails `wt`) to their lanes.
    #[inline(always)]
    fn tail(acc: &mut Acc, xt: &[f32], wt: [&[f32]; DOT_ROWS]) {
        for (p, &xq) in xt.iter().enumerate() {
            for (a, wr) in acc.iter_mut().zip(&wt) {
                if let Some(&wq) = wr.get(p) {
                    a[p % MCU_LANES] += xq * wq;
                }
            }
        }
    }

    /// Four dot products of the contiguous `x` (length `k`) with rows `w` (each at least
    /// `k` long).
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    #[inline(always)]
    fn dot4(x: &[f32], w: [&[f32]; DOT_ROWS]) -> Acc {
        dot4_steps(x, w)
    }

    /// Portable body of [`dot4`].
    #[inline(always)]
    fn dot4_steps(x: &[f32], w: [&[f32]; DOT_ROWS]) -> Acc {
        let mut acc = [[0.0f32; MCU_LANES]; DOT_ROWS];
        let xc = x.chunks_exact(STEP);
        let xt = xc.remainder();
        let full = x.len() - xt.len();
        let [w0, w1, w2, w3] = w.map(|r| r.get(..full).unwrap_or(&[]).chunks_exact(STEP));
        for ((((xv, a), b), c), d) in xc.zip(w0).zip(w1).zip(w2).zip(w3) {
            let (Ok(xv), Ok(a), Ok(b), Ok(c), Ok(d)) = (
                <&[f32; STEP]>::try_from(xv),
                <&[f32; STEP]>::try_from(a),
                <&[f32; STEP]>::try_from(b),
                <&[f32; STEP]>::try_from(c),
                <&[f32; STEP]>::try_from(d),
            ) else {
                continue;
            };
            step(&mut acc, xv, [a, b, c, d]);
        }
        tail(&mut acc, xt, w.map(|r| r.get(full..x.len()).unwrap_or(&[])));
        acc
    }

    /// [`dot4`] on hard-float 32-bit Arm (Cortex-M4F/M7, Armv7-A): the whole 8-element
    /// steps in one asm loop of `VLDMIA` (four elements of x or of a row per instruction) and
    /// `VMLA.F32` (multiply, round, add, round: the bits of `acc + x * w`), accumulators in
    /// `s0..s15` (`acc[r][l]` in `s(4r + l)`) so the lanes and their order are those of
    /// [`dot4_steps`]; then the portable tail.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    #[inline(always)]
    fn dot4(x: &[f32], w: [&[f32]; DOT_ROWS]) -> Acc {
        const STEP_ASM: usize = 2 * MCU_LANES;
        let k = x.len();
        let steps = k / STEP_ASM;
        let full = steps * STEP_ASM;
        if steps == 0 || w.iter().any(|r| r.len() < full) {
            return dot4_steps(x, w);
        }
        let mut acc = [[0.0f32; MCU_LANES]; DOT_ROWS];
        // SAFETY: each loop iteration reads 8 floats from `x` and from each row, `steps >= 1`
        // times: `steps * 8 = full <= k = x.len()` and every row holds at least `full`
        // elements (checked above), so every read is in bounds; `acc` is 16 contiguous f32
        // (`[[f32; 4]; 4]`) read and written through its own pointer. The asm saves every
        // FP register it uses (s0..s23) on the stack first and restores them before it ends
        // (rustc cannot name s-registers as operands on these targets), so no FP register
        // changes; the pointer and counter registers are declared outputs, the flags are
        // not preserved, and VMLA changes no FPSCR control bit. Hard-float targets have the
        // VFP registers s0..s31 and these instructions.
        unsafe {
            core::arch::asm!(
                "vpush {{s0-s15}}",
                "vpush {{s16-s23}}",
                "vldmia {acc}, {{s0-s15}}",
                "2:",
                mcu_group!(),
                mcu_group!(),
                "subs {n}, {n}, #1",
                "bne 2b",
                "vstmia {acc}, {{s0-s15}}",
                "vpop {{s16-s23}}",
                "vpop {{s0-s15}}",
                acc = in(reg) acc.as_mut_ptr(),
                n = inout(reg) steps => _,
                x = inout(reg) x.as_ptr() => _,
                a = inout(reg) w[0].as_ptr() => _,
                b = inout(reg) w[1].as_ptr() => _,
                c = inout(reg) w[2].as_ptr() => _,
                d = inout(reg) w[3].as_ptr() => _,
            );
        }
        tail(
            &mut acc,
            x.get(full..).unwrap_or(&[]),
            w.map(|r| r.get(full..k).unwrap_or(&[])),
        );
        acc
    }

    /// As [`dot4`] for a row of op(A) with element stride `x.cs` (gathered a step at a time).
    fn dot4_strided(x: &Strided<'_>, i: usize, k: usize, w: [&[f32]; DOT_ROWS]) -> Acc {
        let mut acc = [[0.0f32; MCU_LANES]; DOT_ROWS];
        let full = k / STEP_STRIDED * STEP_STRIDED;
        let mut p0 = 0;
        while p0 < full {
            let xv = x_chunk(x, i, p0, STEP_STRIDED);
            let ws = w.map(|r| {
                r.get(p0..p0 + STEP_STRIDED)
                    .and_then(|s| <&[f32; STEP_STRIDED]>::try_from(s).ok())
                    .unwrap_or(&[0.0; STEP_STRIDED])
            });
            step(&mut acc, &xv, ws);
            p0 += STEP_STRIDED;
        }
        let xv = x_chunk(x, i, full, k - full);
        let xt = xv.get(..k - full).unwrap_or(&[]);
        tail(&mut acc, xt, w.map(|r| r.get(full..k).unwrap_or(&[])));
        acc
    }

    /// [`super::SmallKernel::dot`] on this path; the caller checked `dot_fits`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn dot(
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
    ) -> Result<()> {
        // Rows past `rows` repeat the last one (computed, never stored).
        let mut wrows: [&[f32]; DOT_ROWS] = [&[]; DOT_ROWS];
        for (r, wr) in wrows.iter_mut().enumerate() {
            let b = r.min(rows.saturating_sub(1)) * ldb;
            *wr = w.get(b..b + k).ok_or(oob())?;
        }
        for i in 0..m {
            let acc = if x.cs == 1 {
                let base = i * x.rs;
                dot4(x.data.get(base..base + k).ok_or(oob())?, wrows)
            } else {
                dot4_strided(&x, i, k, wrows)
            };
            let crow = c.get_mut(i * ldc..i * ldc + rows).ok_or(oob())?;
            for (cv, a) in crow.iter_mut().zip(&acc) {
                let s = (a[0] + a[1]) + (a[2] + a[3]);
                *cv = update(s, alpha, beta, *cv);
            }
        }
        Ok(())
    }
}
