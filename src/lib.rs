//! A small, readable and fast tape-based reverse-mode automatic differentiation engine for
//! `f64` tensors: write the forward pass of a network, get every gradient from one backward walk.
//!
//! The moving parts, in the order a training step meets them:
//! - [`Tensor`]: plain values (row-major `f64`, NumPy broadcasting, matrix products through
//!   matrixmultiply's GEMM when small and faer's when large, [`exp`](Tensor::exp),
//!   [`tanh`](Tensor::tanh) and [`ln`](Tensor::ln) vectorised for AVX2 and AVX-512, chosen at
//!   run time; on several cores with the feature `threads` and [`set_threads`], with the same
//!   results bit for bit).
//! - [`Tape`]: records each op as it runs. [`Tape::var`] puts a value on it whose gradient you
//!   want, [`Tape::constant`] one you don't; both return a [`Var`], a `Copy` handle, and every op
//!   on handles (`+`, [`matmul`](Var::matmul), [`tanh`](Var::tanh), [`cross_entropy`](Var::cross_entropy), …) records a node.
//! - [`Var::backward`]: walks the tape once, last node first, and returns [`Gradients`].
//! - [`Var::grad`]: the same walk, recorded on the tape, so that gradients can be differentiated
//!   again: [`hvp`], [`hessian`], [`sharpness`].
//! - [`ops`]: every op is an [`Op`](ops::Op) (forward and backwards side by side); add your own
//!   the same way and prove it with [`gradcheck`] and [`gradgradcheck`].
//!
//! The engine (tape, handles, the `Op` trait and the walk) is layered on [`Tensor`] alone, and
//! the ops on it; `src/engine/mod.rs` says in what order to read it.
//!
//! And around them, for checking and seeing: [`tutorial`] (the tutorial's network, its objective
//! on the tape and its backprop derived by hand) with [`compare_gradients`] to hold formulas
//! against the tape; [`Tape::summary`] and [`Tape::to_dot`] to see what was recorded;
//! [`anomaly::check`] to find the op that made a NaN; [`datasets`] for two moons and CSV files,
//! and [`numpy_random`] for NumPy's legacy random stream, draw for draw.
//!
//! A two-layer network learning XOR, trained by gradient descent on a reused tape:
//!
//! ```
//! use tapegrad::rand::{SeedableRng, rngs::StdRng};
//! use tapegrad::{Reduction, Tape, Tensor};
//!
//! let x = Tensor::from_rows(&[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
//! let labels = [0, 1, 1, 0];
//! let mut rng = StdRng::seed_from_u64(7);
//! let (w1, w2) = (Tensor::randn(&[2, 8], &mut rng), Tensor::randn(&[8, 2], &mut rng));
//! let mut params = [w1, Tensor::zeros(&[1, 8]), w2, Tensor::zeros(&[1, 2])];
//! let (mut tape, mut last_loss) = (Tape::new(), f64::INFINITY);
//! for _ in 0..300 {
//!     tape.clear(); // keeps the tape's memory for the next pass
//!     let [w1, b1, w2, b2] = params.clone().map(|p| tape.var(p));
//!     let a1 = (tape.constant(x.clone()).matmul(w1) + b1).tanh();
//!     let loss = (a1.matmul(w2) + b2).cross_entropy(&labels, Reduction::Mean);
//!     let grads = loss.backward();
//!     last_loss = loss.item();
//!     for (param, var) in params.iter_mut().zip([w1, b1, w2, b2]) {
//!         param.add_scaled(-0.5, grads.wrt(var)); // gradient descent
//!     }
//! }
//! assert!(last_loss < 0.05, "XOR is learnt: mean cross-entropy {last_loss}");
//! ```
//!
//! Shape errors panic with the op, both shapes and the line of your code that called it, for
//! example `matmul: [200, 2] x [3, 2]: inner dimensions differ (2 vs 3) at src/main.rs:41:18`.
//! Constructors that take outside data return a [`ShapeError`] instead.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod anomaly;
mod compare;
pub mod datasets;
mod engine;
mod gradcheck;
mod hessian;
mod inspect;
pub mod nn;
pub mod numpy_random;
pub mod ops;
pub mod optim;
mod tensor;
pub mod tutorial;

/// The `rand` crate (0.10) whose generators tapegrad's random functions take (`Tensor::randn`,
/// `nn::init`, `datasets::make_moons`, `Batches::shuffled`): use it from here, and no other
/// version of `rand` can get in the way.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// let w = tapegrad::Tensor::randn(&[2, 2], &mut StdRng::seed_from_u64(0));
/// assert_eq!(w.shape(), &[2, 2]);
/// ```
pub use rand;

pub use compare::{
    GradientDifference, GradientReport, compare_gradients, compare_gradients_with_numeric,
};
pub use engine::{Gradients, NodeId, Tape, Var};
pub use gradcheck::{GradCheck, GradCheckError, GradCheckReport, gradcheck, gradgradcheck};
pub use hessian::{Sharpness, hessian, hvp, sharpness};
pub use inspect::Summary;
pub use ops::Reduction;
pub use tensor::{
    MAX_THREADS_PER_CORE, Shape, ShapeError, Tensor, release_buffer_pool, set_threads, threads,
};

/// The README's Rust code blocks, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
