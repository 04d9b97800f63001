//! The gemmlowp fixed-point helpers TFLite's int8 kernels are built on, for `i32` raw values.
//!
//! A `Q<i>` value here is an `i32` raw with `i` integer bits and `31 - i` fractional bits
//! (gemmlowp's `FixedPoint<int32_t, i>`). Addition and subtraction of raws wrap, as gemmlowp's
//! do on every target in practice; products go through
//! [`saturating_rounding_doubling_high_mul`].

/// gemmlowp `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2 * a * b`, rounded
/// to nearest (ties away from zero), saturated: `a == b == i32::MIN` gives `i32::MAX`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge = if ab >= 0 {
        1i64 << 30
    } else {
        1 - (1i64 << 30)
    };
    // Truncating division, as C++'s: not an arithmetic shift. Fits i32 (|ab| < 2^62).
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero.
/// `exponent` is clamped into `0..=31`.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let e = exponent.clamp(0, 31) as u32;
    // `e <= 31`, so the 32-bit shift cannot overflow: `2^31 - 1` at most.
    let mask = ((1u32 << e) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> e) + i32::from(remainder > threshold)
}

/// gemmlowp `SaturatingRoundingMultiplyByPOT<exponent>`: `x * 2^exponent`, saturated for a
/// positive exponent, rounded ([`rounding_divide_by_pot`]) for a negative one.
#[inline]
pub(crate) fn saturating_rounding_multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent <= 0 {
        return rounding_divide_by_pot(x, -exponent);
    }
    let e = exponent.min(31) as u32;
    let threshold = ((1i64 << (31 - e)) - 1) as i32;
    if x > threshold {
        i32::MAX
    } else if x < -threshold {
        i32::MIN
    } else {
        x.wrapping_shl(e)
    }
}

/// `Rescale<dst_bits>` of a value with `src_bits` integer bits.
#[inline]
fn rescale(x: i32, src_bits: i32, dst_bits: i32) -> i32 {
    saturating_rounding_multiply_by_pot(x, src_bits - dst_bits)
}

/// Fixed-point product (integer bits add up).
#[inline]
fn mul(a: i32, b: i32) -> i32 {
    saturating_rounding_doubling_high_mul(a, b)
}

/// gemmlowp `exp_on_interval_between_negative_one_quarter_and_0_excl`, Q0 in and out.
fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    const CONSTANT_TERM: i32 = 1_895_147_668; // exp(-1/8)
    const ONE_OVER_3: i32 = 715_827_883;
    let x = a.wrapping_add(1 << 28);
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
    let poly = saturating_rounding_multiply_by_pot(
        mul(x4_over_4.wrapping_add(x3), ONE_OVER_3).wrapping_add(x2),
        -1,
    );
    CONSTANT_TERM.wrapping_add(mul(CONSTANT_TERM, x.wrapping_add(poly)))
}

/// gemmlowp `exp_on_negative_values` for a `Q<int_bits>` input (`int_bits` in `0..=30`);
/// returns Q0 (`i32::MAX` stands for 1.0).
pub(crate) fn exp_on_negative_values(a: i32, int_bits: i32) -> i32 {
    let frac_bits = 31 - int_bits;
    let one_quarter = 1i32 << (frac_bits - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(rescale(
        a_mod_quarter_minus_one_quarter,
        int_bits,
        0,
    ));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    // exp(-2^e) in Q0 for e = -2..=4.
    const BARREL: [(i32, i32); 7] = [
        (-2, 1_672_461_947),
        (-1, 1_302_514_674),
        (0, 790_015_084),
        (1, 290_630_308),
        (2, 39_332_535),
        (3, 720_401),
        (4, 242),
    ];
    for (exponent, multiplier) in BARREL {
        if int_bits > exponent {
            let shift = (frac_bits + exponent) as u32;
            if remainder & (1i32.wrapping_shl(shift)) != 0 {
                result = mul(result, multiplier);
            }
        }
    }
    if int_bits > 5 {
        let clamp_bits = 36 - int_bits;
        let clamp = -(1i32 << clamp_bits);
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = i32::MAX;
    }
    result
}

/// gemmlowp `one_over_one_plus_x_for_x_in_0_1`: `1 / (1 + a)` for a Q0 `a` in `[0, 1)`,
/// Q0 out.
pub(crate) fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    // RoundingHalfSum(a, One) in 64 bits.
    let sum = i64::from(a) + i64::from(i32::MAX);
    let sign = if sum >= 0 { 1 } else { -1 };
    let half_denominator = ((sum + sign) / 2) as i32;
    const C48_OVER_17: i32 = 1_515_870_810; // Q2
    const CNEG32_OVER_17: i32 = -1_010_580_540; // Q2
    const ONE_Q2: i32 = 1 << 29;
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus = ONE_Q2.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(rescale(mul(x, one_minus), 4, 2));
    }
    // ExactMulByPot<-1> turns Q2 into Q1 with the same raw; then Rescale<0>.
    rescale(x, 1, 0)
}

/// TFLite `GetReciprocal`: for a positive `x` with `int_bits` integer bits, returns the Q0
/// raw of `2^-k / x'`-style scale and `num_bits_over_unit` such that
/// `1 / x ≈ scale * 2^-num_bits_over_unit`.
pub(crate) fn get_reciprocal(x: i32, int_bits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros();
    let num_bits_over_unit = int_bits - headroom_plus_one as i32;
    let shifted_sum_minus_one = (x as u32)
        .wrapping_shl(headroom_plus_one)
        .wrapping_sub(1u32 << 31) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one),
        num_bits_over_unit,
    )
}
