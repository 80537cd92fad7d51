//! `exp`, `tanh` and `ln` over slices, vectorised: AVX-512 or AVX2 chosen at run time.
//!
//! Each function is a branch-free kernel for one `f64` (`exp.rs`, `tanh.rs`, `ln.rs`); the loop
//! over a slice runs inside `pulp`'s runtime dispatch, which compiles it once per instruction
//! set and calls the best one this CPU has, so LLVM turns it into 8-wide (AVX-512) or 4-wide
//! (AVX2 with FMA) code. `pulp` holds the `unsafe` of calling `#[target_feature]` code; the
//! library stays `#![forbid(unsafe_code)]`.
//!
//! Every path computes the same kernel, so every machine gives the same bits: on a CPU with
//! neither AVX2 nor AVX-512 (pulp's scalar path) each fused multiply-add is the standard
//! library's correctly rounded software `fma`, several times slower than libm's `tanh` but equal
//! to the hardware's to the bit. [`vector_isa`] names the path taken; the environment variable
//! `TAPEGRAD_ISA` (`avx512`, `avx2`, `scalar`) caps it, for tests and measurements
//! (`tests/vector_paths.rs` holds every path this CPU can run to the same bits).
//!
//! Why: glibc's scalar `tanh` and `expm1` were the largest part of the moons pass
//! (docs/performance-log.md).

mod exp;
mod ln;
mod tanh;

use std::sync::OnceLock;

use pulp::{Arch, Simd, WithSimd};

use super::Tensor;

/// A branch-free kernel applied to every element of `values` in place. Generic (a function
/// item, not a pointer) so that it is inlined into the `#[target_feature]` code: called through
/// a pointer, the kernel is compiled for baseline x86-64 and each `mul_add` becomes a software
/// `fma`.
struct InPlace<'a, Kernel> {
    values: &'a mut [f64],
    kernel: Kernel,
}

impl<Kernel: Fn(f64) -> f64> WithSimd for InPlace<'_, Kernel> {
    type Output = ();

    // Inlined into pulp's `#[target_feature]` function, so that the loop and the kernel (itself
    // `#[inline(always)]`) are compiled with that instruction set.
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        self.values.iter_mut().for_each(|x| *x = (self.kernel)(*x));
    }
}

/// The instruction set, chosen once: `Arch::new` checks a dozen CPU feature flags, and the
/// fused cross-entropy dispatches once per row.
pub(super) fn arch() -> Arch {
    static ARCH: OnceLock<Arch> = OnceLock::new();
    *ARCH.get_or_init(|| capped(Arch::new(), std::env::var("TAPEGRAD_ISA").ok().as_deref()))
}

/// `best`, or a lesser path if `TAPEGRAD_ISA` asks for one (`avx2` on a CPU without AVX2 gives
/// the scalar path). An unknown value is reported once on stderr and changes nothing.
fn capped(best: Arch, asked: Option<&str>) -> Arch {
    match asked {
        None | Some("" | "avx512") => best,
        Some("scalar") => Arch::Scalar,
        #[cfg(target_arch = "x86_64")]
        Some("avx2") => match best {
            Arch::Scalar => Arch::Scalar,
            _ => pulp::x86::V3::try_new().map_or(Arch::Scalar, Arch::V3),
        },
        Some(other) => {
            eprintln!(
                "tapegrad: TAPEGRAD_ISA={other:?} is not a path of this build (avx512, avx2 and \
                 scalar on x86-64; scalar elsewhere); using {}",
                isa_name(best)
            );
            best
        }
    }
}

/// The name [`vector_isa`] gives the path `arch`.
fn isa_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Scalar => "scalar",
        #[cfg(target_arch = "x86_64")]
        Arch::V4(_) => "AVX-512",
        #[cfg(target_arch = "x86_64")]
        Arch::V3(_) => "AVX2",
        #[allow(unreachable_patterns)] // pulp's paths on other architectures (NEON, SIMD128)
        _ => "vector",
    }
}

/// Every path this CPU can run, from the scalar one up.
#[cfg(test)]
pub(crate) fn every_arch() -> Vec<Arch> {
    let mut paths = vec![Arch::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        paths.extend(pulp::x86::V3::try_new().map(Arch::V3));
        paths.extend(pulp::x86::V4::try_new().map(Arch::V4));
    }
    paths
}

/// The vector instruction set tapegrad's own kernels (`exp`, `tanh`, `ln`, the small matrix
/// products) run on in this process: `"AVX-512"`, `"AVX2"` or `"scalar"` on x86-64 (`"vector"`
/// for pulp's paths elsewhere, NEON on aarch64). The best the CPU has, unless the environment
/// variable `TAPEGRAD_ISA` (`avx512`, `avx2` or `scalar`) asked for less when the process first
/// used a kernel. Every path gives the same bits. The general GEMM (matrixmultiply's) chooses
/// its own kernel by the CPU: its AVX2 and AVX-512 kernels give the same bits too, but on a CPU
/// without FMA it rounds twice. PyTorch: `torch.backends.cpu.get_cpu_capability()`.
///
/// ```
/// let isa = tapegrad::vector_isa();
/// assert!(["AVX-512", "AVX2", "scalar", "vector"].contains(&isa));
/// ```
pub fn vector_isa() -> &'static str {
    isa_name(arch())
}

/// `kernel` over `values` in place, in pieces on several threads if asked and long enough (each
/// element's result does not depend on where the pieces are cut: the unit test below).
fn apply(values: &mut [f64], kernel: impl Fn(f64) -> f64 + Copy + Send + Sync) {
    super::threads::for_each_piece(values, |_, values| {
        arch().dispatch(InPlace { values, kernel })
    });
}

/// Work that calls `exp` on short slices (a softmax row of two classes) and wants it inlined:
/// dispatching `exp_in_place` for each row would cost as much as the row's `exp`s.
pub(crate) trait WithExp {
    type Output;
    /// Runs the work with the `exp` kernel, compiled for this CPU's instruction set.
    fn run(self, exp: impl Fn(f64) -> f64 + Copy) -> Self::Output;
}

struct WithExpDispatch<Work>(Work);

impl<Work: WithExp> WithSimd for WithExpDispatch<Work> {
    type Output = Work::Output;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Work::Output {
        self.0.run(exp::exp)
    }
}

/// Runs `work` compiled for this CPU's best instruction set, with the `exp` kernel inlined.
pub(crate) fn run_with_exp<Work: WithExp>(work: Work) -> Work::Output {
    arch().dispatch(WithExpDispatch(work))
}

/// `eˣ` of every element, in place.
pub(crate) fn exp_in_place(values: &mut [f64]) {
    apply(values, exp::exp);
}

/// `ln x` of every element, in place.
pub(crate) fn ln_in_place(values: &mut [f64]) {
    apply(values, ln::ln);
}

impl Tensor {
    /// A new tensor of `kernel` of each element, in pieces on several threads as [`apply`] cuts them.
    fn map_with(&self, kernel: impl Fn(f64) -> f64 + Copy + Send + Sync) -> Tensor {
        let mut out = super::pool::overwritable(self.len());
        super::threads::for_each_piece(&mut out, |start, out| {
            let input = &self.data[start..start + out.len()];
            super::elementwise::map_into(input, out, kernel)
        });
        Tensor::from_parts(out, self.shape.clone())
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
        self.map_with(exp::exp)
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
        self.map_with(tanh::tanh)
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
        self.map_with(ln::ln)
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
    /// through `tensor` (a new tensor's values) on the path in force, and in place on every path
    /// this CPU has: the bits must agree.
    fn same_bits_on_every_path(kernel: fn(f64) -> f64, tensor: fn(&Tensor) -> Tensor) {
        let bits = |values: &[f64]| values.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
        let one_by_one: Vec<f64> = inputs().iter().map(|&x| kernel(x)).collect();
        let in_force = tensor(&Tensor::from_slice(&inputs()));
        assert_eq!(bits(in_force.data()), bits(&one_by_one), "{}", vector_isa());
        for arch in every_arch() {
            let mut values = inputs();
            arch.dispatch(InPlace {
                values: &mut values,
                kernel,
            });
            assert_eq!(bits(&values), bits(&one_by_one), "{}", isa_name(arch));
        }
    }

    #[test]
    fn the_environment_caps_the_path() {
        let best = Arch::new();
        assert_eq!(isa_name(capped(best, None)), isa_name(best));
        assert_eq!(isa_name(capped(best, Some("scalar"))), "scalar");
        assert_eq!(isa_name(capped(best, Some("nonsense"))), isa_name(best));
        #[cfg(target_arch = "x86_64")]
        if pulp::x86::V3::try_new().is_some() {
            assert_eq!(isa_name(capped(best, Some("avx2"))), "AVX2");
        }
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        same_bits_on_every_path(exp::exp, Tensor::exp);
        same_bits_on_every_path(tanh::tanh, Tensor::tanh);
        same_bits_on_every_path(ln::ln, Tensor::log);
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
