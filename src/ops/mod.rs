//! Differentiable ops, and how to add your own.
//!
//! Every op, built-in or yours, is a type that implements [`Op`]: a `forward` that computes the
//! output from the input values, and beside it a `backward` that turns the gradient of the
//! output into one gradient per input (a vector-Jacobian product), written twice: on tensors
//! (the fast first-order path) and with [`Var`](crate::Var) ops (recorded on the tape, so that
//! gradients can be differentiated again). [`Tape::apply`] runs the forward and records the
//! node; [`Var::backward`](crate::Var::backward) calls the tensor backwards in reverse order,
//! [`Var::grad`](crate::Var::grad) the on-tape ones. The built-in ops are grouped one family per
//! file, each op's forward and backwards within a few lines of each other, with the
//! [`Var`](crate::Var) method that applies it just below:
//!
//! | file | ops |
//! |---|---|
//! | `arith.rs` | `+ - * /` (broadcasting), negation, scalar scale and shift |
//! | `unary.rs` | `tanh exp log sigmoid sqrt square powf sin cos` |
//! | `piecewise.rs` | `relu leaky_relu abs` |
//! | `linalg.rs` | `matmul transpose reshape` |
//! | `reduce.rs` | `sum mean sum_axis mean_axis max_axis` |
//! | `select.rs` | `narrow index_select` [`concat`](concat()) [`stack`](stack()) |
//! | `softmax.rs` | `softmax log_softmax cross_entropy` |
//! | `loss.rs` | `mse_loss binary_cross_entropy_with_logits` |
//! | the engine's | `sum_to broadcast_to` (what the walk records to undo a broadcast) |
//!
//! # Adding an op
//!
//! Say the library lacked `sinh`. Its derivative is `cosh`, so the gradient of the input is
//! `grad_output ⊙ cosh(x)`: once on tensors, once with `Var` ops.
//!
//! ```
//! use tapegrad::ops::{BackwardArgs, InputGrads, Op};
//! use tapegrad::{Tape, Tensor, Var, gradcheck, gradgradcheck};
//!
//! /// `sinh(x)`, elementwise.
//! struct Sinh;
//!
//! impl Op for Sinh {
//!     fn name(&self) -> &'static str {
//!         "sinh"
//!     }
//!     fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
//!         inputs[0].map(f64::sinh)
//!     }
//!     fn backward(&self, args: &BackwardArgs<&Tensor>) -> InputGrads<Tensor> {
//!         let x = args.inputs[0];
//!         vec![Some(args.grad_output.zip_map(x, "sinh backward", |g, x| g * x.cosh()))]
//!     }
//!     // Optional: the same formula on the tape, for second derivatives. cosh x = (eˣ + e⁻ˣ) / 2.
//!     fn backward_on_tape<'t>(&self, args: &BackwardArgs<Var<'t>>) -> Option<InputGrads<Var<'t>>> {
//!         let x = args.inputs[0];
//!         let cosh_x = (x.exp() + (-x).exp()) * 0.5;
//!         Some(vec![Some(args.grad_output * cosh_x)])
//!     }
//! }
//!
//! // A function (or an extension trait) makes it read like the built-ins.
//! fn sinh<'t>(x: Var<'t>) -> Var<'t> {
//!     x.tape().apply(Sinh, &[x])
//! }
//!
//! let tape = Tape::new();
//! let x = tape.var(Tensor::scalar(0.5));
//! let grads = sinh(x).backward();
//! assert!((grads.wrt(x).item() - 0.5f64.cosh()).abs() < 1e-15);
//!
//! // Prove both backwards against central finite differences.
//! let inputs = [Tensor::from_rows(&[[0.1, -2.0, 3.0], [1.5, 0.0, -0.7]])];
//! gradcheck(&inputs, |v| sinh(v[0]).sum()).unwrap();
//! gradgradcheck(&inputs, |v| sinh(v[0]).sum()).unwrap();
//! ```
//!
//! What the engine does for you, so an op need not:
//! - **Broadcasting.** A backward may return a gradient with the output's shape for an input
//!   that was broadcast into it; the tape sums it back down to the input's shape.
//! - **Accumulation.** A value used by several ops gets the sum of their gradients.
//! - **Constants.** Gradients for inputs that need none are dropped; `args.wants(i)` says which,
//!   so a backward may skip them (as [`MatMul`] skips the product for the data's gradient).
//! - **Second order.** Gradients written by `backward_on_tape` are ordinary nodes on the tape,
//!   so their own backwards give third derivatives and beyond. An op without it still gives
//!   first derivatives everywhere; a second one through it panics, naming the op and its line.
//!
//! Why two backwards and not one: a backward written once, generic over tensors and variables,
//! could not disagree with itself, but it would cost the first-order path its fused kernels
//! (`tanh`'s backward in one pass, `cross_entropy`'s saved probabilities, `matmul`'s transposed
//! GEMMs without copies). So the tensor backward stays as fast as it was, and
//! `tests/gradcheck_ops.rs` holds every built-in op's two backwards against each other to 1e-13,
//! as [`gradgradcheck`](crate::gradgradcheck) does for yours.
//!
//! What is the op's job:
//! - **One gradient per input, each of the input's shape** (or the broadcast shape above), in
//!   both backwards, and the same numbers from both: [`gradgradcheck`](crate::gradgradcheck)
//!   checks that they agree and that the second derivatives match finite differences.
//! - **Shape errors in `forward`.** `forward` is `#[track_caller]` through the trait, so the
//!   panics of [`Tensor`](crate::Tensor) methods (and any `panic!` or `assert!` of yours) name the line of the
//!   user's code that applied the op.
//! - **State for backward.** `forward` takes `&mut self` and may keep what `backward` needs
//!   (as [`CrossEntropy`] keeps its softmax probabilities); the inputs and the output are
//!   passed to the backwards anyway, so most ops keep nothing.
//! - **`Send + Sync`.** An op is stored on the tape, and a tape may move between threads.
//!
//! [`Tape::apply`]: crate::Tape::apply

mod arith;
mod linalg;
mod loss;
mod piecewise;
mod reduce;
mod select;
mod softmax;
mod unary;

pub use arith::{Add, Div, DivScalar, Mul, Scale, Shift, Sub};
pub use linalg::{MatMul, Reshape, Transpose};
pub use loss::BinaryCrossEntropyWithLogits;
pub use piecewise::{Abs, LeakyRelu, Relu};
pub use reduce::{MaxAxis, Mean, MeanAxis, Sum, SumAxis};
pub use select::{Concat, IndexAdd, IndexSelect, Narrow, Unnarrow, concat, stack};
pub use softmax::{CrossEntropy, LogSoftmax, Reduction, Softmax};
pub use unary::{Cos, Exp, Log, PowF, Sigmoid, Sin, Sqrt, Square, Tanh};

pub use crate::engine::{BackwardArgs, BroadcastTo, InputGrads, Op, SumTo};
