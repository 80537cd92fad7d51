//! `ln x` for one `f64`, written without branches so that a loop over a slice vectorises.
//!
//! The algorithm and coefficients are fdlibm's `e_log.c` (Sun Microsystems, 1993; "freely granted,
//! provided that this notice is preserved"), as in FreeBSD's and musl's libm, with its branches
//! turned into selects: `x = 2ᵏ·(1 + f)` with `√2/2 ≤ 1 + f < √2`, `s = f/(2 + f)`, and
//! `ln(1 + f) = 2s + s·R(s²)` with `R` a minimax polynomial (error below 2⁻⁵⁸·⁴⁵).
//! fdlibm's analysis bounds the error below 1 ulp; `tests/accuracy.rs` measures 0.85 over 10⁷
//! inputs (`docs/book/11-performance.md`).

/// `ln 2 = LN2_HI + LN2_LO`, `LN2_HI` with its low 32 bits zero so that `k·LN2_HI` is exact
/// for every exponent `k`. All constants are fdlibm's, given as the bit patterns it lists.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// fdlibm's `Lg1`..`Lg7`, the coefficients of `R(z) = Lg1·z + Lg2·z² + … + Lg7·z⁷`.
const LG: [f64; 7] = [
    f64::from_bits(0x3fe5_5555_5555_5593),
    f64::from_bits(0x3fd9_9999_9997_fa04),
    f64::from_bits(0x3fd2_4924_9422_9359),
    f64::from_bits(0x3fcc_71c5_1d8e_78af),
    f64::from_bits(0x3fc7_4664_96cb_03de),
    f64::from_bits(0x3fc3_9a09_d078_c69f),
    f64::from_bits(0x3fc2_f112_df3e_5244),
];
/// `2⁵⁴`: scales a subnormal `x` into the normal range, where its exponent field can be read.
const TWO_POW_54: f64 = 18_014_398_509_481_984.0;
/// The bits of `√2/2` cut to its top 20 mantissa bits, fdlibm's `0x3fe6a09e`: adding
/// `1.0 − this` to the bits of `x` carries into the exponent exactly when `x`'s mantissa is at
/// least `√2`'s, which puts `1 + f` in `[√2/2, √2)`.
const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_0000_0000;
const MANTISSA_MASK: u64 = 0x000f_ffff_ffff_ffff;
/// `2⁵²`: an integer `n < 2⁵²` written into the mantissa of this number gives `2⁵² + n`, so
/// `n` becomes a float by one subtraction (AVX2 has no 64-bit integer-to-float conversion).
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// `ln x`; `−inf` for `±0`, `inf` for `inf`, NaN for `x < 0` and for NaN.
#[inline(always)]
pub(crate) fn ln(x: f64) -> f64 {
    let subnormal = x < f64::MIN_POSITIVE;
    let normal = if subnormal { x * TWO_POW_54 } else { x };
    let bits = normal
        .to_bits()
        .wrapping_add(1.0f64.to_bits() - SQRT_HALF_BITS);
    let biased_exponent = bits >> 52;
    let exponent = f64::from_bits(TWO_POW_52.to_bits() | biased_exponent)
        - (TWO_POW_52 + 1023.0)
        - if subnormal { 54.0 } else { 0.0 };
    let one_plus_f = f64::from_bits((bits & MANTISSA_MASK) + SQRT_HALF_BITS);

    let f = one_plus_f - 1.0;
    let half_f_squared = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let r_even = w * (LG[1] + w * (LG[3] + w * LG[5]));
    let r_odd = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])));
    let r = r_odd + r_even;
    let ln_x =
        s * (half_f_squared + r) + exponent * LN2_LO - half_f_squared + f + exponent * LN2_HI;

    if x > 0.0 && x < f64::INFINITY {
        ln_x
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else if x < 0.0 {
        f64::NAN
    } else {
        x // inf or NaN
    }
}
