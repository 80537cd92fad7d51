//! [`Op`], the one extension point: every op, built-in or yours, is a forward and the
//! backwards that undo it. The guide to writing one, with a worked example, is in [`ops`](crate::ops).

use crate::{Tensor, Var};

/// What a backward is given: the op's inputs and output, the gradient of the final output with
/// respect to this op's output, and which inputs want a gradient.
///
/// `V` is `&Tensor` in [`Op::backward`] (plain numbers, first order) and [`Var`] in
/// [`Op::backward_on_tape`] (recorded on the tape, so it can be differentiated again).
#[derive(Clone, Copy, Debug)]
pub struct BackwardArgs<'a, V> {
    /// The op's inputs, in the order they were passed to [`Tape::apply`](crate::Tape::apply).
    pub inputs: &'a [V],
    /// The op's output, as its forward computed it.
    pub output: V,
    /// The gradient of the final output with respect to `output` (same shape as `output`).
    pub grad_output: V,
    /// `wanted[i]`: whether input `i` needs a gradient (a constant does not).
    pub wanted: &'a [bool],
}

impl<V> BackwardArgs<'_, V> {
    /// Whether input `input` needs a gradient; a backward may skip work for those that don't.
    pub fn wants(&self, input: usize) -> bool {
        self.wanted[input]
    }
}

/// The gradients an op's backward returns: one per input, `None` allowed for the inputs that
/// [`BackwardArgs::wanted`] marks as not needing one (and ignored for those if `Some`).
pub type InputGrads<T> = Vec<Option<T>>;

/// A differentiable operation: the forward computation and its vector-Jacobian product, twice.
///
/// - [`backward`](Op::backward) computes the input gradients as plain tensors: the fast path of
///   every first-order [`Var::backward`](crate::Var::backward).
/// - [`backward_on_tape`](Op::backward_on_tape) computes the same gradients with [`Var`] ops, so
///   they are recorded on the tape and can be differentiated again ([`Var::grad`](crate::Var::grad),
///   [`hvp`](crate::hvp), [`hessian`](crate::hessian)). An op without it still works for first
///   derivatives; asking for a second derivative through it panics, naming the op, the line that
///   applied it and this method.
///
/// `tests/gradcheck_ops.rs` holds every built-in op's two backwards against each other (to
/// 1e-13) and against finite differences; [`gradgradcheck`](crate::gradgradcheck) does the
/// same for yours.
///
/// Ops are `Send + Sync`, so a [`Tape`](crate::Tape) can move to another thread. See the
/// [`ops`](crate::ops) module for a worked example and what the engine does around an op.
pub trait Op: Send + Sync + 'static {
    /// The op's name, as error messages and tape printouts show it (`"tanh"`, `"matmul"`).
    fn name(&self) -> &'static str;

    /// The output computed from the input values, in the order they were passed to
    /// [`Tape::apply`](crate::Tape::apply). May keep in `self` what the backwards need.
    #[track_caller]
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor;

    /// The gradient of the final output with respect to each wanted input, as tensors.
    fn backward(&self, args: &BackwardArgs<'_, &Tensor>) -> InputGrads<Tensor>;

    /// The same gradients as [`backward`](Op::backward), written with [`Var`] ops so that the
    /// tape records them and they can be differentiated again. `None` (the default) means the op
    /// has no such backward: its first derivatives still work, a second one through it panics.
    fn backward_on_tape<'t>(
        &self,
        args: &BackwardArgs<'_, Var<'t>>,
    ) -> Option<InputGrads<Var<'t>>> {
        let _ = args;
        None
    }
}
