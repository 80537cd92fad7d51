//! Differentiable ops, and how to add your own.
//!
//! Every op, built-in or yours, is a type that implements [`Op`]: a `forward` that computes the
//! output from the input values, and beside it a `backward` that turns the gradient of the
//! output into one gradient per input (a vector-Jacobian product). [`Tape::apply`] runs the
//! forward and records the node; [`Var::backward`](crate::Var::backward) calls the backwards in
//! reverse order. The built-in ops are grouped one family per file, each op's forward and
//! backward within a few lines of each other, with the [`Var`](crate::Var) method that applies it just below:
//!
//! | file | ops |
//! |---|---|
//! | `arith.rs` | `+ - * /` (broadcasting), negation, scalar scale and shift |
//! | `unary.rs` | `tanh exp log sigmoid relu sqrt square powf` |
//! | `linalg.rs` | `matmul transpose reshape` |
//! | `reduce.rs` | `sum mean sum_axis mean_axis` |
//! | `softmax.rs` | `softmax log_softmax cross_entropy` |
//!
//! # Adding an op
//!
//! Say the library lacked `sin`. Its derivative is `cos`, so the gradient of the input is
//! `grad_output ⊙ cos(x)`:
//!
//! ```
//! use tapegrad::ops::Op;
//! use tapegrad::{Tape, Tensor, Var, gradcheck};
//!
//! /// `sin(x)`, elementwise.
//! struct Sin;
//!
//! impl Op for Sin {
//!     fn name(&self) -> &'static str {
//!         "sin"
//!     }
//!     fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
//!         inputs[0].map(f64::sin)
//!     }
//!     fn backward(&self, inputs: &[&Tensor], _output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
//!         vec![grad_output.zip_map(inputs[0], "sin backward", |g, x| g * x.cos())]
//!     }
//! }
//!
//! // A function (or an extension trait) makes it read like the built-ins.
//! fn sin<'t>(x: Var<'t>) -> Var<'t> {
//!     x.tape().apply(Sin, &[x])
//! }
//!
//! let tape = Tape::new();
//! let x = tape.var(Tensor::scalar(0.5));
//! let grads = sin(x).backward();
//! assert!((grads.wrt(x).item() - 0.5f64.cos()).abs() < 1e-15);
//!
//! // Prove the backward against central finite differences on a few shapes.
//! let inputs = [Tensor::from_rows(&[[0.1, -2.0, 3.0], [1.5, 0.0, -0.7]])];
//! gradcheck(&inputs, |v| sin(v[0]).sum()).unwrap();
//! ```
//!
//! What the engine does for you, so an op need not:
//! - **Broadcasting.** A backward may return a gradient with the output's shape for an input
//!   that was broadcast into it; the tape sums it back down to the input's shape.
//! - **Accumulation.** A value used by several ops gets the sum of their gradients.
//! - **Constants.** Gradients for inputs that need none are dropped.
//!
//! What is the op's job:
//! - **One gradient per input, each a tensor of the input's shape** (or the broadcast shape above).
//! - **Shape errors in `forward`.** `forward` is `#[track_caller]` through the trait, so the
//!   panics of [`Tensor`] methods (and any `panic!` or `assert!` of yours) name the line of the
//!   user's code that applied the op.
//! - **State for backward.** `forward` takes `&mut self` and may keep what `backward` needs
//!   (as [`CrossEntropy`] keeps its softmax probabilities); the inputs and the output are
//!   passed to `backward` anyway, so most ops keep nothing.
//!
//! [`Tape::apply`]: crate::Tape::apply

mod arith;
mod linalg;
mod reduce;
mod softmax;
mod unary;

pub use arith::{Add, Div, Mul, Scale, Shift, Sub};
pub use linalg::{MatMul, Reshape, Transpose};
pub use reduce::{Mean, MeanAxis, Sum, SumAxis};
pub use softmax::{CrossEntropy, LogSoftmax, Reduction, Softmax};
pub use unary::{Exp, Log, PowF, Relu, Sigmoid, Sqrt, Square, Tanh};

use crate::Tensor;

/// A differentiable operation: the forward computation and its vector-Jacobian product.
///
/// See the [module documentation](self) for a worked example and what the engine does around it.
pub trait Op: 'static {
    /// The op's name, as error messages and tape printouts show it (`"tanh"`, `"matmul"`).
    fn name(&self) -> &'static str;

    /// The output computed from the input values, in the order they were passed to
    /// [`Tape::apply`](crate::Tape::apply). May keep in `self` what `backward` needs.
    #[track_caller]
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor;

    /// The gradient of the final output with respect to each input, given `grad_output`, its
    /// gradient with respect to this op's output (same shape as `output`).
    fn backward(&self, inputs: &[&Tensor], output: &Tensor, grad_output: &Tensor) -> Vec<Tensor>;

    /// The gradients of only the inputs marked in `wanted` (`None` allowed for the others): what
    /// the tape calls. The default computes them all with [`backward`](Op::backward); override
    /// it where an unwanted gradient is expensive, as [`MatMul`] skips the product for the
    /// gradient of a constant input (the data of a network).
    fn backward_wanted(
        &self,
        wanted: &[bool],
        inputs: &[&Tensor],
        output: &Tensor,
        grad_output: &Tensor,
    ) -> Vec<Option<Tensor>> {
        let _ = wanted;
        self.backward(inputs, output, grad_output)
            .into_iter()
            .map(Some)
            .collect()
    }
}
