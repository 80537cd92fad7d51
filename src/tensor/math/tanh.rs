//! `tanh x` for one `f64`, written without branches so that a loop over a slice vectorises.
//!
//! Both formulas are computed and one is kept:
//! - `|x| < 0.75`: `x + x³·P(x²)`, `P` a degree-12 polynomial fitted to `(tanh x − x)/x³`
//!   (`tools/fit_tanh.py` derives the coefficients with mpmath: a Chebyshev interpolant at 13
//!   points of `[0, 0.75²]`, rounded to `f64`).
//! - otherwise `1 − 2/(e²ˣ + 1)` on `|x|`, with the sign put back. Nearer 0 its error would grow:
//!   `2/(e²ˣ+1)` approaches 1, and its rounding errors become most of the result.
//!
//! Error: at most 1.06 ulp over 10⁷ inputs, just above the hand-over (`tests/accuracy.rs`,
//! `docs/book/11-performance.md`); the polynomial alone, 0.64 ulp on the 4,000 points `tools/fit_tanh.py` checks.

use super::exp::exp;

/// Where the polynomial hands over to the formula through `exp`.
const POLYNOMIAL_END: f64 = 0.75;

/// `P(s) = Σ cᵢ sⁱ` with `tanh x ≈ x + x³·P(x²)` on `|x| < 0.75`, from the fit (see the module
/// comment); `c₀` comes out as `−1/3`, the Taylor series' coefficient, as it should.
const POLYNOMIAL: [f64; 13] = [
    -0.333_333_333_333_333_3,
    0.133_333_333_333_326_61,
    -0.053_968_253_967_582_08,
    0.021_869_488_509_711_037,
    -0.008_863_234_987_439_102,
    0.003_592_121_388_506_041_8,
    -0.001_455_781_825_331_069_3,
    0.000_589_746_998_695_332_7,
    -0.000_238_094_069_369_792_82,
    9.424_762_976_493_58e-5,
    -3.449_472_469_998_217e-5,
    1.004_805_392_812_949_9e-5,
    -1.640_859_964_683_144_4e-6,
];

/// `tanh x`; `±1` for `±inf`, `±0` for `±0` (the sign kept), NaN for NaN.
#[inline(always)]
pub(crate) fn tanh(x: f64) -> f64 {
    let magnitude = x.abs();
    let square = x * x;
    let mut p = POLYNOMIAL[12];
    for &coefficient in POLYNOMIAL[..12].iter().rev() {
        p = p.mul_add(square, coefficient);
    }
    let near_zero = (magnitude * square).mul_add(p, magnitude);
    // exp(2|x|) is inf past 354, and 1 − 2/inf = 1: no special case is needed for large |x|.
    let far_from_zero = 1.0 - 2.0 / (exp(2.0 * magnitude) + 1.0);
    let tanh_magnitude = if magnitude < POLYNOMIAL_END {
        near_zero
    } else {
        far_from_zero
    };
    tanh_magnitude.copysign(x)
}
