//! [`Op`], the one extension point: every op, built-in or yours, is a forward and one derivative
//! rule. The guide to writing one, with a worked example, is in [`ops`](crate::ops).

use std::panic::Location;

use crate::tensor::Shape;
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
    /// A batch of seeds walked at once, if any ([`batched`](Self::batched) says how it is laid out).
    pub(crate) batch: Option<Batch>,
}

/// A batch of `len` seeds walked at once: each gradient carries them on a leading axis, and a
/// value of rank `r` has its gradient padded to rank `padded_rank + 1` by ones after that axis,
/// so that broadcasting against the forward values lines up (a scalar's gradient is `[len, 1, 1]`
/// on a tape of matrices, not `[len]`, which would broadcast along a matrix's last axis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) len: usize,
    pub(crate) padded_rank: usize,
}

impl Batch {
    /// The shape of the batched gradient of a value of `shape`.
    pub(crate) fn shape_of(self, shape: &[usize]) -> Shape {
        let mut batched = Shape::with_capacity(self.padded_rank + 1);
        batched.push(self.len);
        batched.extend(std::iter::repeat_n(1, self.padded_rank - shape.len()));
        batched.extend_from_slice(shape);
        batched
    }
}

impl<'t> BackwardArgs<'_, 't> {
    /// Whether input `input` needs a gradient; a rule may skip work for those that don't.
    pub fn wants(&self, input: usize) -> bool {
        self.wanted[input]
    }

    /// `shape` as the gradient of a value of that shape has it: `shape` itself, or, when a batch
    /// of seeds is walked at once ([`Op::batches_seeds`]), with the batch's axes in front. A rule
    /// that names a shape for the gradient (`reshape`, `broadcast_to`, `sum_to`) passes it
    /// through here. JAX: what `vmap` does to a shape.
    ///
    /// ```
    /// use tapegrad::ops::{BackwardArgs, InputGrads, Op};
    /// # use tapegrad::Tensor;
    /// struct Total;
    /// impl Op for Total {
    ///     fn name(&self) -> &'static str { "total" }
    ///     fn forward(&mut self, inputs: &[&Tensor]) -> Tensor { inputs[0].sum() }
    ///     fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
    ///         let shape = args.batched(&args.inputs[0].shape());
    ///         vec![Some(args.grad_output.broadcast_to(&shape))]
    ///     }
    ///     fn batches_seeds(&self) -> bool { true }
    /// }
    /// ```
    pub fn batched(&self, shape: &[usize]) -> Shape {
        match self.batch {
            Some(batch) => batch.shape_of(shape),
            None => Shape::from_slice(shape),
        }
    }

    /// `axis` of a value of rank `rank`, as the gradient's axis: `axis` itself, or moved past the
    /// batch's axes when a batch of seeds is walked at once (see [`batched`](Self::batched)).
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// // Softmax's rule sums along `args.batched_axis(axis, rank)`, so a batched Jacobian of it
    /// // equals the one taken a seed at a time.
    /// let z = [Tensor::from_rows(&[[0.5, -1.0, 2.0]])];
    /// let batched = tapegrad::jacrev(&z, |v| v[0].softmax(1));
    /// let one_at_a_time = tapegrad::jacrev_with(&z, tapegrad::Seeds::OneAtATime, |v| v[0].softmax(1));
    /// assert!(batched.max_abs_diff(&one_at_a_time) < 1e-15);
    /// ```
    pub fn batched_axis(&self, axis: usize, rank: usize) -> usize {
        match self.batch {
            Some(batch) => axis + 1 + batch.padded_rank - rank,
            None => axis,
        }
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

    /// Whether the rule takes a batch of seeds at once: given a `grad_output` with the batch's
    /// leading axis (laid out as [`BackwardArgs::batched`] says), it returns each input's
    /// gradient with that axis, seed by seed what it returns for one. True for a rule written
    /// with elementwise, broadcasting ops and matrix products that names shapes and axes through
    /// [`BackwardArgs::batched`] and [`BackwardArgs::batched_axis`]. JAX: an op with a batching
    /// rule for `vmap`.
    ///
    /// The batched Jacobians ([`jacfwd`](crate::jacfwd), [`jacrev`](crate::jacrev),
    /// [`hessian`](crate::hessian)) walk the tape once for all their seeds when every op they
    /// meet says yes, and once a seed otherwise; the default, `false`, is always correct.
    ///
    /// ```
    /// use tapegrad::ops::{BackwardArgs, InputGrads, Op};
    /// # use tapegrad::Tensor;
    /// struct Cube;
    /// impl Op for Cube {
    ///     fn name(&self) -> &'static str { "cube" }
    ///     fn forward(&mut self, inputs: &[&Tensor]) -> Tensor { inputs[0].map(|x| x * x * x) }
    ///     fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
    ///         let x = args.inputs[0];
    ///         vec![Some(args.grad_output * x * x * 3.0)] // elementwise: batches as it is
    ///     }
    ///     fn batches_seeds(&self) -> bool { true }
    /// }
    /// ```
    fn batches_seeds(&self) -> bool {
        false
    }
}
