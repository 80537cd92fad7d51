//! The ops the walk itself applies: the sum of a value's gradients from its several uses, and the
//! sum of a broadcast input's gradient back to its shape (with that sum's own derivative, the
//! broadcast).

use super::{BackwardArgs, InputGrads, Op, Var};
use crate::Tensor;
use crate::tensor::Shape;

/// `a + b` of two gradients of one shape: a value used more than once gets the sum. The walk
/// applies it; users write `+`.
pub struct Accumulate;

impl Op for Accumulate {
    fn name(&self) -> &'static str {
        "accumulate"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0] + inputs[1]
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output), Some(args.grad_output)]
    }
}

/// Sums down to a shape that broadcasts to the input's: the gradient of a broadcast.
/// PyTorch: `x.sum_to_size(shape)`.
pub struct SumTo(pub Shape);

impl Op for SumTo {
    fn name(&self) -> &'static str {
        "sum_to"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].sum_to(&self.0)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(
            args.grad_output
                .broadcast_to(&args.batched(&args.inputs[0].shape())),
        )]
    }
}

/// Repeats along length-1 (or missing) axes to fill a shape. PyTorch: `x.expand(shape)`,
/// `torch.broadcast_to`.
pub struct BroadcastTo(pub Shape);

impl Op for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].broadcast_to(&self.0)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(
            args.grad_output
                .sum_to(&args.batched(&args.inputs[0].shape())),
        )]
    }
}

impl<'t> Var<'t> {
    /// Sums this variable down to `shape`, which must broadcast to its shape (the undoing of a
    /// broadcast). Panics, naming both shapes and the caller's line, otherwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    /// assert_eq!(x.sum_to(&[1, 2]).value().data(), &[4.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn sum_to(self, shape: &[usize]) -> Var<'t> {
        self.tape.apply(SumTo(shape.into()), &[self])
    }

    /// This variable repeated along its length-1 (or missing) axes to fill `shape`. Panics,
    /// naming both shapes and the caller's line, if it does not broadcast to `shape`.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let row = tape.var(Tensor::from_rows(&[[1.0, 2.0]]));
    /// let grid = row.broadcast_to(&[3, 2]);
    /// assert_eq!(grid.shape().as_slice(), &[3, 2]);
    /// assert_eq!(grid.sum().backward().wrt(row).data(), &[3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Var<'t> {
        self.tape.apply(BroadcastTo(shape.into()), &[self])
    }
}
