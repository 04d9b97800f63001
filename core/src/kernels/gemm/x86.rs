//! x86_64 AVX2 + FMA micro-kernel: 6 x 16 tile, 12 ymm accumulators.

use super::driver::{oob, update_scalar, Micro, Strided, Tile};
use crate::kernels::cpu::has_avx2_fma;
use crate::Result;
use core::arch::x86_64::*;

/// Tile rows.
pub(crate) const MR: usize = 6;
/// Tile columns (two ymm registers).
pub(crate) const NR: usize = 16;

/// Proof that AVX2 and FMA are available: only [`Avx2::new`] builds one.
#[derive(Clone, Copy)]
pub(crate) struct Avx2 {
    _checked: (),
}

impl Avx2 {
    /// `Some` only when the CPU has AVX2 and FMA.
    pub(crate) fn new() -> Option<Avx2> {
        has_avx2_fma().then_some(Avx2 { _checked: () })
    }
}

impl Avx2 {
    /// Packs a full 16-wide panel of a transposed B: `panel[p * 16 + j] = src[j * ldb + p]`
    /// for `p < kc`, `j < 16` (`src` starts at the panel's first stored row).
    pub(crate) fn pack_bt16(
        self,
        src: &[f32],
        ldb: usize,
        kc: usize,
        panel: &mut [f32],
    ) -> Result<()> {
        let need = 15usize
            .checked_mul(ldb)
            .and_then(|x| x.checked_add(kc))
            .ok_or(oob())?;
        if kc == 0 || ldb < kc || src.len() < need || panel.len() < NR * kc {
            return Err(oob());
        }
        // SAFETY: `self` proves AVX2 + FMA. The function reads src[j * ldb + p] for j < 16,
        // p < kc (the last is 15 * ldb + kc - 1 < need <= src.len()) and writes
        // panel[..16 * kc], both checked above.
        unsafe { pack_bt16_impl(src.as_ptr(), ldb, kc, panel.as_mut_ptr()) };
        Ok(())
    }
}

impl Micro for Avx2 {
    const MR: usize = MR;
    const NR: usize = NR;

    #[inline]
    fn packed_tile(&self, kc: usize, a: &[f32], b: &[f32], t: Tile<'_>) -> Result<()> {
        if kc == 0 || a.len() < MR * kc || b.len() < NR * kc || !t.fits(MR, NR) {
            return Err(oob());
        }
        // SAFETY: `self` exists only after has_avx2_fma() returned true. The kernel reads
        // a[..MR * kc] and b[..NR * kc], both checked above, and writes rows 0..t.rows,
        // columns 0..t.cols of C at stride t.ldc, which `t.fits` checked against t.c.
        unsafe {
            kernel_packed(
                kc,
                a.as_ptr(),
                b.as_ptr(),
                t.c.as_mut_ptr(),
                t.ldc,
                t.rows,
                t.cols,
                t.alpha,
                t.beta,
            )
        };
        Ok(())
    }

    #[inline]
    fn direct_tile(&self, kc: usize, a: Strided<'_>, b: Strided<'_>, t: Tile<'_>) -> Result<()> {
        if kc == 0 || b.cs != 1 || !t.fits(MR, NR) || !a.covers(t.rows, kc) || !b.covers(kc, t.cols)
        {
            return Err(oob());
        }
        macro_rules! go {
            ($rows:literal, $mask:literal) => {
                // SAFETY: `self` proves AVX2 + FMA. The kernel reads A at r * a.rs + p * a.cs
                // for r < $rows == t.rows, p < kc, and B at p * b.rs + j for j < t.cols (lanes
                // past t.cols are masked off when $mask, and t.cols == 16 otherwise); `covers`
                // checked both ranges. C writes stay in rows < t.rows, columns < t.cols,
                // checked by `t.fits`.
                unsafe {
                    kernel::<$rows, $mask>(
                        kc,
                        a.data.as_ptr(),
                        a.rs,
                        a.cs,
                        b.data.as_ptr(),
                        b.rs,
                        t.cols,
                        t.c.as_mut_ptr(),
                        t.ldc,
                        t.rows,
                        t.cols,
                        t.alpha,
                        t.beta,
                    )
                }
            };
        }
        match (t.rows, t.cols == NR) {
            (1, true) => go!(1, false),
            (2, true) => go!(2, false),
            (3, true) => go!(3, false),
            (4, true) => go!(4, false),
            (5, true) => go!(5, false),
            (6, true) => go!(6, false),
            (1, false) => go!(1, true),
            (2, false) => go!(2, true),
            (3, false) => go!(3, true),
            (4, false) => go!(4, true),
            (5, false) => go!(5, true),
            (6, false) => go!(6, true),
            _ => return Err(oob()),
        }
        Ok(())
    }
}

/// Packed 6 x 16 tile: A panel `[p][6]`, B panel `[p][16]`, 12 accumulators in registers.
///
/// Same arithmetic as [`kernel`] (one fused multiply-add per element and `p`, then the shared
/// update), written out by hand so that the accumulators stay in registers.
///
/// # Safety
/// AVX2 and FMA available; `a` has 6 * kc and `b` 16 * kc readable elements; C rows < `rows`,
/// columns < `cols` at stride `ldc` writable; 1 <= rows <= 6, 1 <= cols <= 16.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_packed(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    alpha: f32,
    beta: f32,
) {
    let z = _mm256_setzero_ps();
    let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21) = (z, z, z, z, z, z);
    let (mut c30, mut c31, mut c40, mut c41, mut c50, mut c51) = (z, z, z, z, z, z);
    // Fetch the C tile now so that the update after the k loop does not wait for it.
    for r in 0..rows.min(MR) {
        let row = c.wrapping_add(r * ldc) as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(row);
        _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(4 * (cols - 1)));
    }
    let mut ap = a;
    let mut bp = b;
    macro_rules! step {
        ($q:literal) => {
            // SAFETY: step p = (4 * block + $q) reads a[6p..6p + 6] and b[16p..16p + 16],
            // in bounds because p < kc (caller).
            unsafe {
                let b0 = _mm256_loadu_ps(bp.add(16 * $q));
                let b1 = _mm256_loadu_ps(bp.add(16 * $q + 8));
                let x = _mm256_broadcast_ss(&*ap.add(6 * $q));
                c00 = _mm256_fmadd_ps(x, b0, c00);
                c01 = _mm256_fmadd_ps(x, b1, c01);
                let x = _mm256_broadcast_ss(&*ap.add(6 * $q + 1));
                c10 = _mm256_fmadd_ps(x, b0, c10);
                c11 = _mm256_fmadd_ps(x, b1, c11);
                let x = _mm256_broadcast_ss(&*ap.add(6 * $q + 2));
                c20 = _mm256_fmadd_ps(x, b0, c20);
                c21 = _mm256_fmadd_ps(x, b1, c21);
                let x = _mm256_broadcast_ss(&*ap.add(6 * $q + 3));
                c30 = _mm256_fmadd_ps(x, b0, c30);
                c31 = _mm256_fmadd_ps(x, b1, c31);
                let x = _mm256_broadcast_ss(&*ap.add(6 * $q + 4));
                c40 = _mm256_fmadd_ps(x, b0, c40);
                c41 = _mm256_fmadd_ps(x, b1, c41);
                let x = _mm256_broadcast_ss(&*ap.add(6 * $q + 5));
                c50 = _mm256_fmadd_ps(x, b0, c50);
                c51 = _mm256_fmadd_ps(x, b1, c51);
            }
        };
    }
    for _ in 0..kc / 4 {
        step!(0);
        step!(1);
        step!(2);
        step!(3);
        ap = ap.wrapping_add(4 * MR);
        bp = bp.wrapping_add(4 * NR);
    }
    for _ in 0..kc % 4 {
        step!(0);
        ap = ap.wrapping_add(MR);
        bp = bp.wrapping_add(NR);
    }
    let acc0 = [c00, c10, c20, c30, c40, c50];
    let acc1 = [c01, c11, c21, c31, c41, c51];
    // SAFETY: forwarded from the caller's contract.
    unsafe { store::<MR>(&acc0, &acc1, c, ldc, rows, cols, alpha, beta) };
}

/// Transposes 16 rows of `kc` elements (row stride `ldb`) into `kc` rows of 16, eight by
/// eight with the usual unpack / shuffle / lane-permute 8 x 8 transpose.
///
/// # Safety
/// AVX2 available; `src[j * ldb + p]` readable for j < 16, p < kc; `dst[..16 * kc]` writable.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_bt16_impl(src: *const f32, ldb: usize, kc: usize, dst: *mut f32) {
    let mut p = 0;
    while p + 8 <= kc {
        for half in 0..2 {
            // SAFETY: rows 8 * half .. 8 * half + 8, columns p .. p + 8 < kc are in bounds,
            // and so are dst rows p .. p + 8 (caller).
            unsafe {
                let base = src.add(8 * half * ldb + p);
                let r0 = _mm256_loadu_ps(base);
                let r1 = _mm256_loadu_ps(base.add(ldb));
                let r2 = _mm256_loadu_ps(base.add(2 * ldb));
                let r3 = _mm256_loadu_ps(base.add(3 * ldb));
                let r4 = _mm256_loadu_ps(base.add(4 * ldb));
                let r5 = _mm256_loadu_ps(base.add(5 * ldb));
                let r6 = _mm256_loadu_ps(base.add(6 * ldb));
                let r7 = _mm256_loadu_ps(base.add(7 * ldb));
                let t0 = _mm256_unpacklo_ps(r0, r1);
                let t1 = _mm256_unpackhi_ps(r0, r1);
                let t2 = _mm256_unpacklo_ps(r2, r3);
                let t3 = _mm256_unpackhi_ps(r2, r3);
                let t4 = _mm256_unpacklo_ps(r4, r5);
                let t5 = _mm256_unpackhi_ps(r4, r5);
                let t6 = _mm256_unpacklo_ps(r6, r7);
                let t7 = _mm256_unpackhi_ps(r6, r7);
                let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let d = dst.add(p * NR + 8 * half);
                _mm256_storeu_ps(d, _mm256_permute2f128_ps::<0x20>(s0, s4));
                _mm256_storeu_ps(d.add(NR), _mm256_permute2f128_ps::<0x20>(s1, s5));
                _mm256_storeu_ps(d.add(2 * NR), _mm256_permute2f128_ps::<0x20>(s2, s6));
                _mm256_storeu_ps(d.add(3 * NR), _mm256_permute2f128_ps::<0x20>(s3, s7));
                _mm256_storeu_ps(d.add(4 * NR), _mm256_permute2f128_ps::<0x31>(s0, s4));
                _mm256_storeu_ps(d.add(5 * NR), _mm256_permute2f128_ps::<0x31>(s1, s5));
                _mm256_storeu_ps(d.add(6 * NR), _mm256_permute2f128_ps::<0x31>(s2, s6));
                _mm256_storeu_ps(d.add(7 * NR), _mm256_permute2f128_ps::<0x31>(s3, s7));
            }
        }
        p += 8;
    }
    while p < kc {
        for j in 0..NR {
            // SAFETY: j < 16 and p < kc (caller).
            unsafe { *dst.add(p * NR + j) = *src.add(j * ldb + p) };
        }
        p += 1;
    }
}

/// Lane masks selecting columns `< cols` of the two 8-wide halves.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn col_masks(cols: usize) -> (__m256i, __m256i) {
    let n = _mm256_set1_epi32(cols.min(NR) as i32);
    let lo = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let hi = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    (_mm256_cmpgt_epi32(n, lo), _mm256_cmpgt_epi32(n, hi))
}

/// Computes `ROWS` x 16 products over `kc` and updates C.
///
/// A element `(r, p)` is read at `a + r * rsa + p * csa` for `r < ROWS`; B row `p` at
/// `b + p * rsb`, 16 lanes, or only the first `bcols` lanes when `MASKED` (masked-off lanes are
/// not read). C rows `< rows`, columns `< cols` at stride `ldc` are written:
/// `C = alpha * acc` if `beta == 0`, else `alpha * acc + beta * C` (multiply, multiply, add:
/// the same roundings as [`update_scalar`]).
///
/// # Safety
/// AVX2 and FMA must be available and every address above must be in bounds;
/// `rows <= ROWS`, `cols <= 16`.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel<const ROWS: usize, const MASKED: bool>(
    kc: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    rsb: usize,
    bcols: usize,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    alpha: f32,
    beta: f32,
) {
    let mut acc0 = [_mm256_setzero_ps(); ROWS];
    let mut acc1 = [_mm256_setzero_ps(); ROWS];
    let (m0, m1) = col_masks(bcols);
    let mut ap = a;
    let mut bp = b;
    for _ in 0..kc {
        // SAFETY: row p of B (16 lanes, or the unmasked ones) is in bounds (caller).
        let (b0, b1) = unsafe {
            if MASKED {
                (
                    _mm256_maskload_ps(bp, m0),
                    _mm256_maskload_ps(bp.wrapping_add(8), m1),
                )
            } else {
                (_mm256_loadu_ps(bp), _mm256_loadu_ps(bp.add(8)))
            }
        };
        for r in 0..ROWS {
            // SAFETY: element (r, p) of A is in bounds (caller).
            let av = _mm256_set1_ps(unsafe { *ap.add(r * rsa) });
            acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
        }
        ap = ap.wrapping_add(csa);
        bp = bp.wrapping_add(rsb);
    }
    // SAFETY: forwarded from the caller's contract.
    unsafe { store::<ROWS>(&acc0, &acc1, c, ldc, rows, cols, alpha, beta) };
}

/// Writes `C = alpha * acc (+ beta * C)` for rows < `rows`, columns < `cols`.
///
/// # Safety
/// AVX2 and FMA available; those C elements writable; 1 <= rows <= ROWS <= 6,
/// 1 <= cols <= 16.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn store<const ROWS: usize>(
    acc0: &[__m256; ROWS],
    acc1: &[__m256; ROWS],
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    alpha: f32,
    beta: f32,
) {
    let va = _mm256_set1_ps(alpha);
    if cols == NR {
        let vb = _mm256_set1_ps(beta);
        for r in 0..ROWS.min(rows) {
            // SAFETY: row r < rows, columns 0..16 == cols of C are in bounds (caller).
            unsafe {
                let cp = c.add(r * ldc);
                let mut r0 = _mm256_mul_ps(va, acc0[r]);
                let mut r1 = _mm256_mul_ps(va, acc1[r]);
                if beta != 0.0 {
                    r0 = _mm256_add_ps(r0, _mm256_mul_ps(vb, _mm256_loadu_ps(cp)));
                    r1 = _mm256_add_ps(r1, _mm256_mul_ps(vb, _mm256_loadu_ps(cp.add(8))));
                }
                _mm256_storeu_ps(cp, r0);
                _mm256_storeu_ps(cp.add(8), r1);
            }
        }
    } else {
        let mut tmp = [0.0f32; MR * NR];
        for r in 0..ROWS {
            // SAFETY: tmp holds 6 rows of 16 and r < ROWS <= 6.
            unsafe {
                _mm256_storeu_ps(tmp.as_mut_ptr().add(r * NR), acc0[r]);
                _mm256_storeu_ps(tmp.as_mut_ptr().add(r * NR + 8), acc1[r]);
            }
        }
        let len = (rows.min(ROWS) - 1) * ldc + cols;
        // SAFETY: rows < rows, columns < cols of C at stride ldc are in bounds (caller), so
        // the `len` elements from c are.
        let cs = unsafe { core::slice::from_raw_parts_mut(c, len) };
        update_scalar(
            Tile {
                c: cs,
                ldc,
                rows: rows.min(ROWS),
                cols,
                alpha,
                beta,
            },
            &tmp,
            NR,
        );
    }
}
