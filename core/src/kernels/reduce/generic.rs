//! Portable chunked paths: fixed-width arrays of eight lanes that LLVM vectorises where the
//! target has SIMD and that stay in scalar FPU registers on a Cortex-M4F. They define the fast
//! evaluation order every arch path reproduces bit for bit (see the module docs of `reduce`).

/// Lane operation codes, used as const generic parameters so each op is its own
/// monomorphised loop.
pub(crate) const SUM: u8 = 0;
/// Sum of squares.
pub(crate) const SUMSQ: u8 = 1;
/// Maximum, NaN-propagating.
pub(crate) const MAX: u8 = 2;
/// Minimum, NaN-propagating.
pub(crate) const MIN: u8 = 3;
/// Product.
pub(crate) const PROD: u8 = 4;

/// Number of partial results per output element.
pub(crate) const LANES: usize = 8;

/// Identity element of `OP`. `-0.0` is the exact additive identity (`-0.0 + x == x` for
/// every `x`, signed zeros included).
#[inline(always)]
pub(crate) const fn init<const OP: u8>() -> f32 {
    match OP {
        SUM | SUMSQ => -0.0,
        MAX => f32::NEG_INFINITY,
        MIN => f32::INFINITY,
        _ => 1.0,
    }
}

/// Folds one element `v` into the running value `acc`.
#[inline(always)]
pub(crate) fn step<const OP: u8>(acc: f32, v: f32) -> f32 {
    match OP {
        SUM => acc + v,
        SUMSQ => acc + v * v,
        MAX => max_step(acc, v),
        MIN => min_step(acc, v),
        _ => acc * v,
    }
}

/// Merges two partial results (`a` holds the earlier lane).
#[inline(always)]
pub(crate) fn combine<const OP: u8>(a: f32, b: f32) -> f32 {
    match OP {
        SUM | SUMSQ => a + b,
        MAX => max_step(a, b),
        MIN => min_step(a, b),
        _ => a * b,
    }
}

/// `v` if it is greater than `acc` or NaN, else `acc`: once NaN, stays NaN.
#[inline(always)]
pub(crate) fn max_step(acc: f32, v: f32) -> f32 {
    if v > acc || v.is_nan() {
        v
    } else {
        acc
    }
}

/// `v` if it is less than `acc` or NaN, else `acc`: once NaN, stays NaN.
#[inline(always)]
pub(crate) fn min_step(acc: f32, v: f32) -> f32 {
    if v < acc || v.is_nan() {
        v
    } else {
        acc
    }
}

/// The fixed combination tree of the eight lanes: `((p0∘p4)∘(p2∘p6))∘((p1∘p5)∘(p3∘p7))`,
/// which is what a 256-bit register split into halves, then quarters, computes.
#[inline(always)]
pub(crate) fn tree<const OP: u8>(p: &[f32; LANES]) -> f32 {
    let t0 = combine::<OP>(p[0], p[4]);
    let t1 = combine::<OP>(p[1], p[5]);
    let t2 = combine::<OP>(p[2], p[6]);
    let t3 = combine::<OP>(p[3], p[7]);
    combine::<OP>(combine::<OP>(t0, t2), combine::<OP>(t1, t3))
}

/// Reduces a contiguous run (the `inner == 1` layout).
pub(crate) fn contiguous<const OP: u8>(x: &[f32]) -> f32 {
    let mut acc = [init::<OP>(); LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = step::<OP>(*a, v);
        }
    }
    let mut r = tree::<OP>(&acc);
    for &v in tail {
        r = step::<OP>(r, v);
    }
    r
}

/// The value a single element contributes on its own: `v * v` for sums of squares, else `v`
/// (which is `step(init, v)` for every other op, up to NaN payloads).
#[inline(always)]
pub(crate) fn leaf<const OP: u8>(v: f32) -> f32 {
    if OP == SUMSQ {
        v * v
    } else {
        v
    }
}

/// Folds the block of rows `l..l + 8` of a `[len, inner]` slab into `out[c]` for the
/// columns `c0..inner`: `out[c] = out[c] ∘ tree(leaf(x[l + j][c]) for j < 8)`.
///
/// Callers guarantee `l + 8 <= len`, `slab.len() >= len * inner` and `out.len() >= inner`.
pub(crate) fn block<const OP: u8>(
    slab: &[f32],
    inner: usize,
    l: usize,
    c0: usize,
    out: &mut [f32],
) {
    let rows: [&[f32]; LANES] = core::array::from_fn(|j| &slab[(l + j) * inner..][..inner]);
    let out = &mut out[..inner];
    for c in c0..inner {
        let p: [f32; LANES] = core::array::from_fn(|j| leaf::<OP>(rows[j][c]));
        out[c] = combine::<OP>(out[c], tree::<OP>(&p));
    }
}

/// Folds row `l` of a `[len, inner]` slab into `out[c]` for the columns `c0..inner`:
/// `out[c] = step(out[c], x[l][c])`.
///
/// Callers guarantee `l < len`, `slab.len() >= len * inner` and `out.len() >= inner`.
pub(crate) fn tail_row<const OP: u8>(
    slab: &[f32],
    inner: usize,
    l: usize,
    c0: usize,
    out: &mut [f32],
) {
    let row = &slab[l * inner..][..inner];
    let out = &mut out[..inner];
    for c in c0..inner {
        out[c] = step::<OP>(out[c], row[c]);
    }
}

/// Reduces one `[len, inner]` slab into `out[..inner]` (the `inner > 1` layout), streaming
/// rows: each output starts at the identity, absorbs the tree of each full block of eight
/// rows in turn, then the remaining rows one by one.
pub(crate) fn strided<const OP: u8>(slab: &[f32], len: usize, inner: usize, out: &mut [f32]) {
    out[..inner].fill(init::<OP>());
    let full = len - len % LANES;
    for l in (0..full).step_by(LANES) {
        block::<OP>(slab, inner, l, 0, out);
    }
    for l in full..len {
        tail_row::<OP>(slab, inner, l, 0, out);
    }
}

/// True when `v` beats `best` for argmax (`MAXIMUM`) or argmin: strictly better, or the
/// first NaN. Written without short-circuits so that lane loops vectorise.
#[inline(always)]
pub(crate) fn beats<const MAXIMUM: bool>(v: f32, best: f32) -> bool {
    let better = if MAXIMUM { v > best } else { v < best };
    better | (v.is_nan() & !best.is_nan())
}

/// Folds `x[from..]` into the running best `(b, i)` in order; returns the final index.
#[inline(always)]
fn fold_from<const MAXIMUM: bool>(x: &[f32], from: usize, mut b: f32, mut i: usize) -> usize {
    for (k, &v) in x.iter().enumerate().skip(from) {
        if beats::<MAXIMUM>(v, b) {
            b = v;
            i = k;
        }
    }
    i
}

/// Index of the first extreme element of a contiguous run (`MAXIMUM` picks max or min);
/// NaN counts as the extreme. Returns 0 for an empty run.
///
/// Eight lanes each keep their first best element; merging them by value with ties going to
/// the smaller index gives exactly the first extreme index of a left-to-right scan.
/// Callers guarantee `x.len() <= 2^32` (lane indices are `u32`).
pub(crate) fn arg_contiguous<const MAXIMUM: bool>(x: &[f32]) -> usize {
    let Some(head) = x.get(..LANES) else {
        return x.first().map_or(0, |&x0| fold_from::<MAXIMUM>(x, 1, x0, 0));
    };
    let mut best = [0.0f32; LANES];
    best.copy_from_slice(head);
    let mut idx: [u32; LANES] = core::array::from_fn(|j| j as u32);
    let mut cur: [u32; LANES] = core::array::from_fn(|j| (LANES + j) as u32);
    let chunks = x[LANES..].chunks_exact(LANES);
    let tail_start = x.len() - chunks.remainder().len();
    for c in chunks {
        for j in 0..LANES {
            let take = beats::<MAXIMUM>(c[j], best[j]);
            best[j] = if take { c[j] } else { best[j] };
            idx[j] = if take { cur[j] } else { idx[j] };
            cur[j] = cur[j].wrapping_add(LANES as u32);
        }
    }
    let (mut b, mut i) = (best[0], idx[0] as usize);
    for j in 1..LANES {
        let (bj, ij) = (best[j], idx[j] as usize);
        if beats::<MAXIMUM>(bj, b) || (!beats::<MAXIMUM>(b, bj) && ij < i) {
            b = bj;
            i = ij;
        }
    }
    fold_from::<MAXIMUM>(x, tail_start, b, i)
}

/// Columns per argmax/argmin tile of the `inner > 1` layout.
const ARG_TILE: usize = 32;

/// Argmax/argmin of `W` adjacent columns `col..col + W` of a `[len, inner]` slab into
/// `out[..W]`: a left-to-right scan per column.
///
/// Callers guarantee `len >= 1`, `len - 1 <= i32::MAX`, `slab.len() >= len * inner`,
/// `col + W <= inner` and `out.len() >= W`.
pub(crate) fn arg_columns<const MAXIMUM: bool, const W: usize>(
    slab: &[f32],
    len: usize,
    inner: usize,
    col: usize,
    out: &mut [i32],
) {
    let mut best = [0.0f32; W];
    best.copy_from_slice(&slab[col..][..W]);
    let mut idx = [0i32; W];
    for l in 1..len {
        let row = &slab[l * inner + col..][..W];
        let li = l as i32;
        for c in 0..W {
            let take = beats::<MAXIMUM>(row[c], best[c]);
            best[c] = if take { row[c] } else { best[c] };
            idx[c] = if take { li } else { idx[c] };
        }
    }
    out[..W].copy_from_slice(&idx);
}

/// Argmax/argmin of one `[len, inner]` slab into `out[..inner]` (the `inner > 1` layout).
pub(crate) fn arg_strided<const MAXIMUM: bool>(
    slab: &[f32],
    len: usize,
    inner: usize,
    out: &mut [i32],
) {
    let mut col = 0;
    while col + ARG_TILE <= inner {
        arg_columns::<MAXIMUM, ARG_TILE>(slab, len, inner, col, &mut out[col..]);
        col += ARG_TILE;
    }
    while col + LANES <= inner {
        arg_columns::<MAXIMUM, LANES>(slab, len, inner, col, &mut out[col..]);
        col += LANES;
    }
    while col < inner {
        arg_columns::<MAXIMUM, 1>(slab, len, inner, col, &mut out[col..]);
        col += 1;
    }
}
