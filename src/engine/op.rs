//! [`Op`], the one extension point: every op, built-in or yours, is a forward and one derivative
//! rule. The guide to writing one, with a worked example, is in [`ops`](crate::ops).

use std::panic::Location;

use crate::{Tape, Tensor, Var};

/// What a derivative rule is given: the op's inputs and output, the gradient of the final output
/// with respect to this op's output, and which inputs want a gradient. All are [`Var`]s.
#[derive(Clone, Copy, Debug)]
pub struct BackwardArgs<'a, 't> {
    /// The op's inputs, in the order they were passed to [`Tape::apply`].
    pub inputs: &'a [Var<'t>],
    /// The op's output, as its forward computed it.
    pub output: Var<'t>,
    /// The gradient of the final output with respect to `output` (same shape as `output`).
    pub grad_output: Var<'t>,
    /// `wanted[i]`: whether input `i` needs a gradient (a constant does not).
    pub wanted: &'a [bool],
    /// The op's name and the line that applied it, for [`not_differentiable`](Self::not_differentiable).
    pub(crate) op: &'static str,
    pub(crate) applied_at: &'static Location<'static>,
}

impl<'t> BackwardArgs<'_, 't> {
    /// Whether input `input` needs a gradient; a rule may skip work for those that don't.
    pub fn wants(&self, input: usize) -> bool {
        self.wanted[input]
    }

    /// The tape the op is on: for a constant the rule needs ([`Tape::constant`]).
    pub fn tape(&self) -> &'t Tape {
        self.output.tape()
    }

    /// Panics, naming the op and the line that applied it: the rule of an op that has no
    /// derivative (a kernel computed on plain numbers whose own derivative nobody wrote).
    /// Reaching it is always loud, never a silent zero.
    ///
    /// ```should_panic
    /// use tapegrad::ops::{BackwardArgs, InputGrads, Op};
    /// use tapegrad::{Tape, Tensor};
    ///
    /// struct Opaque;
    /// impl Op for Opaque {
    ///     fn name(&self) -> &'static str { "opaque" }
    ///     fn forward(&mut self, inputs: &[&Tensor]) -> Tensor { inputs[0].map(f64::cbrt) }
    ///     fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
    ///         args.not_differentiable()
    ///     }
    /// }
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(8.0));
    /// tape.apply(Opaque, &[x]).backward(); // panics: "opaque: no derivative rule ..."
    /// ```
    pub fn not_differentiable(&self) -> ! {
        panic!(
            "{op}: no derivative rule: nothing can be differentiated through the {op} applied at \
             {at} (its Op::backward calls not_differentiable; write the rule with Var ops)",
            op = self.op,
            at = self.applied_at
        )
    }
}

/// The gradients a rule returns: one per input, `None` allowed for the inputs that
/// [`BackwardArgs::wanted`] marks as not needing one (and ignored for those if `Some`).
pub type InputGrads<'t> = Vec<Option<Var<'t>>>;

/// A differentiable operation: the forward computation and its one derivative rule.
///
/// The rule ([`backward`](Op::backward)) is a vector-Jacobian product written with [`Var`] ops:
/// given the gradient of the final output with respect to this op's output, it returns the
/// gradient with respect to each input. It is written once and serves every order:
/// - [`Var::backward`](crate::Var::backward) evaluates it on plain numbers, recording nothing
///   (first derivatives, the fast path of every training step);
/// - [`Var::grad`](crate::Var::grad) records it on the tape, so its result is an expression
///   that can be differentiated again ([`hvp`](crate::hvp), [`hessian`](crate::hessian), and
///   any order beyond).
///
/// Both run the same ops in the same order, so they give the same numbers, bit for bit.
/// A fused fast path is an op of its own with its own rule (as [`TanhBackward`](crate::ops::TanhBackward)
/// is `tanh`'s), never a second spelling of the same derivative.
///
/// Ops are `Send + Sync`, so a [`Tape`] can move to another thread. See the
/// [`ops`](crate::ops) module for a worked example and what the engine does around an op, and
/// prove yours with [`gradcheck`](crate::gradcheck) and [`gradgradcheck`](crate::gradgradcheck).
pub trait Op: Send + Sync + 'static {
    /// The op's name, as error messages and tape printouts show it (`"tanh"`, `"matmul"`).
    fn name(&self) -> &'static str;

    /// The output computed from the input values, in the order they were passed to
    /// [`Tape::apply`]. May keep in `self` what the rule needs.
    #[track_caller]
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor;

    /// The derivative rule: the gradient of the final output with respect to each wanted input,
    /// written with [`Var`] ops (so that it can be evaluated, or recorded and differentiated
    /// again). An input's gradient may have the output's shape where the input was broadcast:
    /// the engine sums it back down.
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t>;
}
