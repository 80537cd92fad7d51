//! Differentiable ops, and how to add your own.
//!
//! Every op, built-in or yours, is a type that implements [`Op`]: a `forward` that computes the
//! output from the input values, and beside it one derivative rule, `backward`, that turns the
//! gradient of the output into one gradient per input (a vector-Jacobian product), written with
//! [`Var`](crate::Var) ops. [`Tape::apply`] runs the forward and records the node;
//! [`Var::backward`](crate::Var::backward) evaluates the rules in reverse order on plain numbers,
//! [`Var::grad`](crate::Var::grad) records them on the tape so that they can be differentiated
//! again. The built-in ops are grouped one family per file, each op's forward and rule within a
//! few lines of each other, with the [`Var`](crate::Var) method that applies it just below; the
//! [`table::OPS`] lists every one of them, and the tests check each row.
//!
//! | file | ops |
//! |---|---|
//! | `arith.rs` | `add sub mul div scale div_scalar shift` (`+ - * /`, broadcasting, and with `f64`) |
//! | `unary.rs` | `tanh exp log sigmoid sqrt square powf sin cos`, `tanh_backward` |
//! | `piecewise.rs` | `relu leaky_relu abs` |
//! | `linalg.rs` | `matmul affine transpose reshape`, `matmul_t t_matmul` |
//! | `reduce.rs` | `sum sum_squares mean sum_axis mean_axis max_axis`, `sum_squares_backward` |
//! | `select.rs` | `narrow index_select concat`, `unnarrow index_add` |
//! | `softmax.rs` | `softmax log_softmax cross_entropy`, `cross_entropy_backward` |
//! | `loss.rs` | `binary_cross_entropy_with_logits` ([`Var::mse_loss`](crate::Var::mse_loss) is written with other ops) |
//! | `engine` | `accumulate sum_to broadcast_to` (what the walk applies to add and undo broadcasts) |
//!
//! The ops after a comma are the fused kernels of other ops' rules (`tanh`'s is `tanh_backward`,
//! `matmul`'s are `matmul_t` and `t_matmul`): each an op with its own rule, so that a second
//! derivative goes through them like through any other op.
//!
//! # Adding an op
//!
//! Chapter 9 of the tapegrad book (`docs/book/09-writing-an-op.md`) walks through one, `sinh`,
//! from its derivative to `gradcheck` and `gradgradcheck`, and `examples/custom_op.rs` trains a
//! network with another, softplus. An op of yours is applied exactly as the built-ins are, with
//! [`Tape::apply`]:
//!
//! ```
//! use tapegrad::ops::Tanh;
//! use tapegrad::{Tape, Tensor};
//!
//! let tape = Tape::new();
//! let x = tape.var(Tensor::scalar(0.5));
//! let y = tape.apply(Tanh, &[x]); // what `x.tanh()` records
//! let grads = y.backward();
//! assert!((grads.wrt(x).item() - (1.0 - 0.5f64.tanh().powi(2))).abs() < 1e-15);
//! ```
//!
//! What the engine does for you, so an op need not:
//! - **Every order from one rule.** First derivatives evaluate the rule on plain numbers; `grad`
//!   records it, and the recorded ops' own rules give second derivatives, third, and beyond.
//! - **Broadcasting.** A rule may return a gradient with the output's shape for an input that
//!   was broadcast into it; the engine sums it back down to the input's shape.
//! - **Accumulation.** A value used by several ops gets the sum of their gradients.
//! - **Constants.** Gradients for inputs that need none are dropped; `args.wants(i)` says which,
//!   so a rule may skip them (as [`MatMul`] skips the product for the data's gradient).
//!
//! What is the op's job:
//! - **One gradient per input, each of the input's shape** (or the broadcast shape above).
//! - **A rule built from `Var` ops.** A constant in a rule is fine where it does not depend on
//!   the inputs' values, or is piecewise constant in them (`relu`'s 0/1 slope); a value computed
//!   from the inputs on plain numbers and put on the tape as a constant would have no derivative
//!   of its own, and [`gradgradcheck`](crate::gradgradcheck) catches that. A kernel with no
//!   derivative at all says so with [`BackwardArgs::not_differentiable`]: differentiating
//!   through it panics, naming it and its line.
//! - **Shape errors in `forward`.** `forward` is `#[track_caller]` through the trait, so the
//!   panics of [`Tensor`](crate::Tensor) methods (and any `panic!` or `assert!` of yours) name the
//!   line of the user's code that applied the op.
//! - **State for the rule.** `forward` takes `&mut self` and may keep what the rule needs (as
//!   [`CrossEntropy`] keeps its softmax probabilities, and hands them to its rule with
//!   [`Tape::apply_with_output`]); the inputs and the output are passed to the rule anyway, so
//!   most ops keep nothing.
//! - **A fast path is an op.** Where the rule in `Var` ops would take several passes over the
//!   data, write the fused kernel as an op with its own rule (as `tanh` uses [`TanhBackward`]).
//! - **`Send + Sync`.** An op is stored on the tape, and a tape may move between threads.
//!
//! [`Tape::apply`]: crate::Tape::apply
//! [`Tape::apply_with_output`]: crate::Tape::apply_with_output

mod arith;
mod linalg;
mod loss;
mod piecewise;
mod reduce;
mod select;
mod softmax;
mod unary;

pub mod table;

pub use arith::{Add, Div, DivScalar, Mul, Scale, Shift, Sub};
pub use linalg::{Affine, MatMul, MatMulT, Reshape, TMatMul, Transpose};
pub use loss::BinaryCrossEntropyWithLogits;
pub use piecewise::{Abs, LeakyRelu, Relu};
pub use reduce::{
    MaxAxis, Mean, MeanAxis, Sum, SumAxis, SumSquares, SumSquaresBackward, l2_penalty,
};
pub use select::{Concat, IndexAdd, IndexSelect, Narrow, Unnarrow, concat, stack};
pub use softmax::{CrossEntropy, CrossEntropyBackward, LogSoftmax, Reduction, Softmax};
pub use unary::{Cos, Exp, Log, PowF, Sigmoid, Sin, Sqrt, Square, Tanh, TanhBackward};

pub use crate::engine::{Accumulate, BackwardArgs, BroadcastTo, InputGrads, Op, SumTo};
