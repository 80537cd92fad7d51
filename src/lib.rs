//! A tape-based reverse-mode automatic differentiation engine for `f64` tensors.
//!
//! A *tape* (a Wengert list) records every operation of a computation as it runs, in order: each
//! value with the op that made it and the values it came from. To differentiate, walk the tape
//! backwards, from the output to the start, and at each op apply its derivative rule: the
//! gradient of the output with respect to the op's result becomes the gradient with respect to
//! each of its inputs. One backward walk gives the gradient with respect to every value.
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
//! The tapegrad book, `docs/book/README.md` in the repository, is the guided path: from the
//! tutorial's hand-derived backprop, through the tape, broadcasting, gradient checks, training,
//! second order and forward mode, to writing your own op and proving it. Every code block in it
//! runs in `cargo test`.
//!
//! The moving parts, in the order a training step meets them:
//! - [`Tape`]: records each op as it runs. [`Tape::var`] puts a value on it whose gradient you
//!   want, [`Tape::constant`] one you don't; both return a [`Var`], a `Copy` handle, and every op
//!   on handles (`+`, [`matmul`](Var::matmul), [`tanh`](Var::tanh),
//!   [`cross_entropy`](Var::cross_entropy), …) records a node.
//! - [`Var::backward`]: walks the tape once, last node first, evaluating each op's rule, and
//!   returns [`Gradients`].
//! - [`Var::grad`]: the same walk with the rules recorded on the tape, so that gradients can be
//!   differentiated again, to any order: [`hvp`], [`hessian`], [`sharpness`].
//! - [`ops`]: every op is an [`Op`](ops::Op), its forward and its one derivative rule side by
//!   side; add your own the same way and prove it with [`gradcheck`] and [`gradgradcheck`].
//!   [`ops::table::OPS`] lists every built-in op, and the tests check each row.
//!
//! The source reads in layers, each using only those before it: [`Tensor`] (values), the engine
//! (the tape, its handles, the `Op` trait and the walk; `src/engine/mod.rs` gives the reading
//! order), [`ops`], and around them [`nn`] and [`optim`] (layers, optimizers, batches, saved
//! weights), [`check`] (finite differences, hand-derived formulas against the tape:
//! [`compare_gradients`]), [`functional`] (Hessians, Jacobian-vector products, Jacobians), [`inspect`] ([`Tape::summary`],
//! [`Tape::to_dot`], and [`anomaly::check`] to find the op that made a NaN), and with the
//! default feature `data`, `datasets` (two moons, spirals, CSV files), `numpy_random` (NumPy's
//! legacy random stream, draw for draw) and `tutorial` (the network of "Implementing a neural
//! network from scratch in Python" and its backprop derived by hand).
//!
//! Shape errors panic with the op, both shapes and the line of your code that called it, for
//! example `matmul: [200, 2] x [3, 2]: inner dimensions differ (2 vs 3) at src/main.rs:41:18`.
//! Constructors that take outside data return a [`ShapeError`] instead.
//!
//! # Speed
//!
//! Tensors are row-major `f64` with NumPy broadcasting. Matrix products go through
//! matrixmultiply's GEMM (AVX-512 or AVX2 kernels, chosen at run time); [`exp`](Tensor::exp),
//! [`tanh`](Tensor::tanh) and [`log`](Tensor::log) are vectorised for AVX2 and AVX-512, chosen at
//! run time; with the feature `threads` and [`set_threads`], large products and elementwise
//! kernels run on several cores with the same results bit for bit. Buffers are recycled from pass
//! to pass, and [`Tape::clear`] keeps the tape's memory, so a training loop stops allocating
//! after its first step.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod tensor;

mod engine;

pub mod ops;

pub mod check;
#[cfg(feature = "data")]
pub mod data;
pub mod functional;
pub mod inspect;
pub mod nn;
pub mod optim;
#[cfg(feature = "data")]
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

pub use check::{
    GradCheck, GradCheckError, GradCheckReport, GradientDifference, GradientReport,
    compare_gradients, compare_gradients_with_numeric, function, gradcheck, gradgradcheck,
};
#[cfg(feature = "data")]
pub use data::{datasets, numpy_random};
pub use engine::{Gradients, NodeId, Tape, Var};
pub use functional::{
    HessianPath, Seeds, Sharpness, hessian, hessian_with, hvp, jacfwd, jacfwd_with, jacobian,
    jacrev, jacrev_with, jvp, jvp_batched, sharpness, vjp, vjp_batched,
};
pub use inspect::{Summary, anomaly};
pub use ops::Reduction;
pub use tensor::{
    MAX_THREADS_PER_CORE, Shape, ShapeError, Tensor, release_buffer_pool, set_threads, threads,
    vector_isa,
};

/// The README's Rust code blocks, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The book's chapters (`docs/book/`), each included here so that `cargo test` compiles and runs
/// every Rust code block in them; `tests/book.rs` fails if a chapter is missing from this list.
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../docs/book/01-backprop-by-hand.md")]
    struct Chapter01;
    #[doc = include_str!("../docs/book/02-the-tape.md")]
    struct Chapter02;
    #[doc = include_str!("../docs/book/03-broadcasting.md")]
    struct Chapter03;
    #[doc = include_str!("../docs/book/04-checking-gradients.md")]
    struct Chapter04;
    #[doc = include_str!("../docs/book/05-training.md")]
    struct Chapter05;
    #[doc = include_str!("../docs/book/06-the-tutorial-exactly.md")]
    struct Chapter06;
    #[doc = include_str!("../docs/book/07-second-order.md")]
    struct Chapter07;
    #[doc = include_str!("../docs/book/08-forward-mode.md")]
    struct Chapter08;
    #[doc = include_str!("../docs/book/09-writing-an-op.md")]
    struct Chapter09;
    #[doc = include_str!("../docs/book/10-seeing-inside.md")]
    struct Chapter10;
    #[doc = include_str!("../docs/book/11-performance.md")]
    struct Chapter11;
    #[doc = include_str!("../docs/book/12-working-on-tapegrad.md")]
    struct Chapter12;
    #[doc = include_str!("../docs/book/13-the-playground.md")]
    struct Chapter13;
    #[doc = include_str!("../docs/book/README.md")]
    struct Contents;
    #[doc = include_str!("../docs/book/zh-CN/01-backprop-by-hand.md")]
    struct Chapter01ZhCn;
}

/// The Chinese front page's code blocks, run as the README's are.
#[cfg(doctest)]
#[doc = include_str!("../README.zh-CN.md")]
struct ReadmeZhCnDoctests;
