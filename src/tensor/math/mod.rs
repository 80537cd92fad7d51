//! `exp`, `tanh` and `ln` over slices, vectorised: AVX-512 or AVX2 chosen at run time.
//!
//! Each function is a branch-free kernel for one `f64` (`exp.rs`, `tanh.rs`, `ln.rs`); the loop
//! over a slice runs inside `pulp`'s runtime dispatch, which compiles it once per instruction
//! set and calls the best one this CPU has, so LLVM turns it into 8-wide (AVX-512) or 4-wide
//! (AVX2 with FMA) code. `pulp` holds the `unsafe` of calling `#[target_feature]` code; the
//! library stays `#![forbid(unsafe_code)]`.
//!
//! On a CPU with neither (or another architecture, where pulp's scalar path is taken) the loop
//! calls the standard library's `exp`, `tanh` and `ln` instead: there, the kernels' fused
//! multiply-adds would each be a software `fma` call, about ten times slower than libm. On aarch64
//! pulp picks NEON and the kernels would run: untested, not even built here (no aarch64
//! toolchain or machine); nothing in this module is specific to x86 outside the tests.
//!
//! Why: glibc's scalar `tanh` and `expm1` were the largest part of the moons pass
//! (docs/performance-log.md).

mod exp;
mod ln;
mod tanh;

use std::sync::OnceLock;

use pulp::{Arch, Simd, WithSimd};

use super::Tensor;

/// A branch-free kernel applied to every element of `values` in place on the vector paths, the
/// standard library's function on the scalar one. Both are generic (function items, not
/// pointers) so that they are inlined into the `#[target_feature]` code: called through a
/// pointer, the kernel is compiled for baseline x86-64 and each `mul_add` becomes a software
/// `fma`, slower than glibc.
struct InPlace<'a, Vector, Scalar> {
    values: &'a mut [f64],
    vector: Vector,
    scalar: Scalar,
}

impl<Vector, Scalar> WithSimd for InPlace<'_, Vector, Scalar>
where
    Vector: Fn(f64) -> f64,
    Scalar: Fn(f64) -> f64,
{
    type Output = ();

    // Inlined into pulp's `#[target_feature]` function, so that the loop and the kernel (itself
    // `#[inline(always)]`) are compiled with that instruction set.
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        if S::IS_SCALAR {
            self.values.iter_mut().for_each(|x| *x = (self.scalar)(*x));
        } else {
            self.values.iter_mut().for_each(|x| *x = (self.vector)(*x));
        }
    }
}

/// The instruction set, detected once: `Arch::new` checks a dozen CPU feature flags, and the
/// fused cross-entropy dispatches once per row.
pub(super) fn arch() -> Arch {
    static ARCH: OnceLock<Arch> = OnceLock::new();
    *ARCH.get_or_init(Arch::new)
}

/// `kernel` over `values` in place, in pieces on several threads if asked and long enough (each
/// element's result does not depend on where the pieces are cut: the unit test below).
fn apply(
    values: &mut [f64],
    vector: impl Fn(f64) -> f64 + Copy + Send + Sync,
    scalar: impl Fn(f64) -> f64 + Copy + Send + Sync,
) {
    super::threads::for_each_piece(values, |_, values| {
        arch().dispatch(InPlace {
            values,
            vector,
            scalar,
        })
    });
}

/// Work that calls `exp` on short slices (a softmax row of two classes) and wants it inlined:
/// dispatching `exp_in_place` for each row would cost as much as the row's `exp`s.
pub(crate) trait WithExp {
    type Output;
    /// Runs the work with `exp`, this CPU's kernel (or the standard library's on the scalar path).
    fn run(self, exp: impl Fn(f64) -> f64 + Copy) -> Self::Output;
}

struct WithExpDispatch<Work>(Work);

impl<Work: WithExp> WithSimd for WithExpDispatch<Work> {
    type Output = Work::Output;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Work::Output {
        if S::IS_SCALAR {
            self.0.run(f64::exp)
        } else {
            self.0.run(exp::exp)
        }
    }
}

/// Runs `work` compiled for this CPU's best instruction set, with the `exp` kernel inlined.
pub(crate) fn run_with_exp<Work: WithExp>(work: Work) -> Work::Output {
    arch().dispatch(WithExpDispatch(work))
}

/// `eˣ` of every element, in place.
pub(crate) fn exp_in_place(values: &mut [f64]) {
    apply(values, exp::exp, f64::exp);
}

/// `tanh x` of every element, in place.
pub(crate) fn tanh_in_place(values: &mut [f64]) {
    apply(values, tanh::tanh, f64::tanh);
}

/// `ln x` of every element, in place.
pub(crate) fn ln_in_place(values: &mut [f64]) {
    apply(values, ln::ln, f64::ln);
}

impl Tensor {
    /// A copy of the tensor with `kernel` applied to each element.
    fn map_in_place_copy(&self, kernel: fn(&mut [f64])) -> Tensor {
        let mut out = self.clone();
        kernel(&mut out.data);
        out
    }

    /// `eˣ` of every element, vectorised. PyTorch: `torch.exp`.
    ///
    /// At most 0.98 ulp from the exact value over 10⁷ inputs (`tests/accuracy.rs`); `inf` past
    /// 709.78, `0` below −745.13, NaN stays NaN.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let y = Tensor::from_slice(&[0.0, f64::NEG_INFINITY, 710.0, 1.0]).exp();
    /// assert_eq!(y.data()[..3], [1.0, 0.0, f64::INFINITY]);
    /// assert!((y.data()[3] - std::f64::consts::E).abs() <= 2.0 * f64::EPSILON * 2.0);
    /// ```
    pub fn exp(&self) -> Tensor {
        self.map_in_place_copy(exp_in_place)
    }

    /// `tanh x` of every element, vectorised. PyTorch: `torch.tanh`.
    ///
    /// At most 1.06 ulp from the exact value over 10⁷ inputs (`tests/accuracy.rs`); the sign of
    /// `±0` is kept, NaN stays NaN.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let y = Tensor::from_slice(&[0.0, -f64::INFINITY, 0.5]).tanh();
    /// assert_eq!(y.data()[..2], [0.0, -1.0]);
    /// assert!((y.data()[2] - 0.5f64.tanh()).abs() <= 2.0 * f64::EPSILON);
    /// ```
    pub fn tanh(&self) -> Tensor {
        self.map_in_place_copy(tanh_in_place)
    }

    /// The natural logarithm of every element, vectorised. PyTorch: `torch.log`.
    ///
    /// At most 0.85 ulp from the exact value over 10⁷ inputs (`tests/accuracy.rs`); `−inf` for
    /// `±0`, NaN below zero, NaN stays NaN.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let y = Tensor::from_slice(&[1.0, std::f64::consts::E, 0.0]).log();
    /// assert_eq!(y.data(), &[0.0, 1.0, f64::NEG_INFINITY]);
    /// assert!(Tensor::scalar(-1.0).log().item().is_nan());
    /// ```
    pub fn log(&self) -> Tensor {
        self.map_in_place_copy(ln_in_place)
    }

    /// The old name of [`log`](Tensor::log), which [`Var`](crate::Var) has always used.
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// assert_eq!(tapegrad::Tensor::scalar(1.0).ln().item(), 0.0);
    /// ```
    #[deprecated(
        since = "0.2.0",
        note = "renamed to `log`, the name `Var` and PyTorch use"
    )]
    pub fn ln(&self) -> Tensor {
        self.log()
    }

    /// The logistic function `1 / (1 + e⁻ˣ)` of every element. PyTorch: `torch.sigmoid`.
    ///
    /// Computed from `e = exp(−|x|)` as `1/(1 + e)` or `e/(1 + e)`, so that no `exp` overflows
    /// and the small values of large negative `x` keep their precision.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let y = Tensor::from_slice(&[0.0, 800.0, -40.0]).sigmoid();
    /// assert_eq!(y.data()[..2], [0.5, 1.0]);
    /// assert!((y.data()[2] / (-40.0f64).exp() - 1.0).abs() < 1e-15);
    /// ```
    pub fn sigmoid(&self) -> Tensor {
        let mut exp_minus_magnitude = self.map(|x| -x.abs());
        exp_in_place(&mut exp_minus_magnitude.data);
        let pairs = self.data.iter().zip(exp_minus_magnitude.data.iter_mut());
        for (&x, e) in pairs {
            *e = if x >= 0.0 {
                1.0 / (1.0 + *e)
            } else {
                *e / (1.0 + *e)
            };
        }
        exp_minus_magnitude
    }

    /// `max(x, 0)` of every element; NaN stays NaN (as in PyTorch). PyTorch: `torch.relu`.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// let y = Tensor::from_slice(&[-1.0, 2.0, f64::NAN]).relu();
    /// assert_eq!(y.data()[..2], [0.0, 2.0]);
    /// assert!(y.data()[2].is_nan());
    /// ```
    pub fn relu(&self) -> Tensor {
        self.map(|x| if x < 0.0 { 0.0 } else { x })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether this CPU gets pulp's scalar path (and so the standard library's functions).
    fn scalar_path() -> bool {
        struct IsScalar;
        impl WithSimd for IsScalar {
            type Output = bool;
            fn with_simd<S: Simd>(self, _simd: S) -> bool {
                S::IS_SCALAR
            }
        }
        arch().dispatch(IsScalar)
    }

    /// Ordinary values, edges and specials: subnormals, the overflow edge, ±0, ±inf, NaN.
    fn inputs() -> Vec<f64> {
        let mut inputs: Vec<f64> = (-2000..2000).map(|i| f64::from(i) * 0.377).collect();
        inputs.extend([
            0.0,
            -0.0,
            5e-324,
            -5e-324,
            f64::MIN_POSITIVE,
            709.79,
            -745.2,
            1e300,
        ]);
        inputs.extend([
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.75,
            -0.75,
            1.0 + 1e-15,
        ]);
        inputs
    }

    /// `kernel` over `inputs`, one element at a time outside any `#[target_feature]` code (where
    /// `mul_add` is the correctly rounded software `fma`, the same rounding as the hardware's),
    /// through `in_place` on this CPU's best path, and through the AVX2 path if the CPU has it:
    /// the bits must agree.
    fn same_bits_on_every_path(kernel: fn(f64) -> f64, in_place: fn(&mut [f64])) {
        let bits = |values: &[f64]| values.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
        let one_by_one: Vec<f64> = inputs().iter().map(|&x| kernel(x)).collect();
        let mut best = inputs();
        in_place(&mut best);
        if !scalar_path() {
            assert_eq!(bits(&best), bits(&one_by_one));
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = pulp::x86::V3::try_new() {
            let mut values = inputs();
            avx2.vectorize(|| {
                InPlace {
                    values: &mut values,
                    vector: kernel,
                    scalar: kernel,
                }
                .with_simd(avx2)
            });
            assert_eq!(bits(&values), bits(&one_by_one), "AVX2");
        }
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        same_bits_on_every_path(exp::exp, exp_in_place);
        same_bits_on_every_path(tanh::tanh, tanh_in_place);
        same_bits_on_every_path(ln::ln, ln_in_place);
    }

    #[test]
    fn sigmoid_and_relu() {
        let x = Tensor::from_slice(&[-800.0, -3.0, -0.0, 0.5, 40.0, f64::NAN]);
        let expected: Vec<f64> = x.data().iter().map(|&x| 1.0 / (1.0 + (-x).exp())).collect();
        let sigmoid = x.sigmoid();
        for (&y, &want) in sigmoid.data()[..5].iter().zip(&expected) {
            assert!(
                (y - want).abs() <= 2.0 * f64::EPSILON * want,
                "{y} vs {want}"
            );
        }
        assert!(sigmoid.data()[5].is_nan());
        let relu = x.relu();
        assert_eq!(relu.data()[..5], [0.0, 0.0, 0.0, 0.5, 40.0]);
        assert!(relu.data()[5].is_nan());
    }
}
