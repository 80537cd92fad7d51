//! Sums and means, over everything or along one axis. Each backward spreads the output's
//! gradient back over the elements that were summed (divided by their count for a mean).

use super::{BackwardArgs, InputGrads, Op};
use crate::tensor::Shape;
use crate::{Tensor, Var};

/// The sum of all elements, a scalar. PyTorch: `torch.sum`.
pub struct Sum;

impl Op for Sum {
    fn name(&self) -> &'static str {
        "sum"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].sum()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(
            args.grad_output
                .broadcast_to(&args.batched(&args.inputs[0].shape())),
        )]
    }
}

impl<'t> Var<'t> {
    /// The sum of all elements, a scalar.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    /// assert_eq!(x.sum().item(), 3.0);
    /// assert_eq!(x.sum().backward().wrt(x).data(), &[1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn sum(self) -> Var<'t> {
        self.tape.apply(Sum, &[self])
    }
}

/// `Σ x²` over all elements, a scalar: [`square`](Var::square) and [`sum`](Var::sum) in one node,
/// as an L2 penalty takes them. PyTorch: `x.square().sum()`; JAX: `jnp.vdot(x, x)`.
pub struct SumSquares;

impl Op for SumSquares {
    fn name(&self) -> &'static str {
        "sum_squares"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x * x).sum() // the bits of `square` then `sum`
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(2.0 * args.inputs[0] * args.grad_output)]
    }
}

impl<'t> Var<'t> {
    /// `Σ x²`, a scalar: the same value and gradient, bit for bit, as `self.square().sum()`, in
    /// one node instead of two (a weight's L2 penalty on the tape costs half as much).
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let w = tape.var(Tensor::from_slice(&[1.0, -2.0]));
    /// assert_eq!(w.sum_squares().item(), 5.0);
    /// assert_eq!(w.sum_squares().backward().wrt(w).data(), &[2.0, -4.0]);
    /// ```
    #[track_caller]
    pub fn sum_squares(self) -> Var<'t> {
        self.tape.apply(SumSquares, &[self])
    }
}

/// The mean of all elements, a scalar. PyTorch: `torch.mean`.
pub struct Mean;

impl Op for Mean {
    fn name(&self) -> &'static str {
        "mean"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].mean()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let shape = args.inputs[0].shape();
        let count = shape.iter().product::<usize>() as f64;
        vec![Some(
            (args.grad_output / count).broadcast_to(&args.batched(&shape)),
        )]
    }
}

impl<'t> Var<'t> {
    /// The mean of all elements, a scalar.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    /// assert_eq!(x.mean().backward().wrt(x).data(), &[0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn mean(self) -> Var<'t> {
        self.tape.apply(Mean, &[self])
    }
}

/// The shape of `input` with `axis` kept at length 1: how an axis reduction's gradient lines up
/// with its input before being spread back along the axis.
fn kept_shape(input: &[usize], axis: usize) -> Shape {
    let mut shape: Shape = input.into();
    shape[axis] = 1;
    shape
}

/// The sum along `axis`, which is dropped unless `keepdim`. PyTorch: `torch.sum(x, dim, keepdim)`.
pub struct SumAxis {
    /// The axis summed over.
    pub axis: usize,
    /// Whether the output keeps the axis with length 1.
    pub keepdim: bool,
}

impl Op for SumAxis {
    fn name(&self) -> &'static str {
        "sum_axis"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].sum_axis(self.axis, self.keepdim)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let shape = args.inputs[0].shape();
        let along_axis = (args.grad_output).reshape(&args.batched(&kept_shape(&shape, self.axis)));
        vec![Some(along_axis.broadcast_to(&args.batched(&shape)))]
    }
}

impl<'t> Var<'t> {
    /// The sum along `axis`, kept with length 1 when `keepdim`.
    ///
    /// Panics, naming the axis, the shape and the caller's line, if `axis` is out of range.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    /// assert_eq!(x.sum_axis(0, false).value().data(), &[4.0, 6.0]);
    /// assert_eq!(x.sum_axis(1, true).shape().as_slice(), &[2, 1]);
    /// ```
    #[track_caller]
    pub fn sum_axis(self, axis: usize, keepdim: bool) -> Var<'t> {
        self.tape.apply(SumAxis { axis, keepdim }, &[self])
    }
}

/// The mean along `axis`, which is dropped unless `keepdim`. PyTorch: `torch.mean(x, dim, keepdim)`.
pub struct MeanAxis {
    /// The axis averaged over.
    pub axis: usize,
    /// Whether the output keeps the axis with length 1.
    pub keepdim: bool,
}

impl Op for MeanAxis {
    fn name(&self) -> &'static str {
        "mean_axis"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].mean_axis(self.axis, self.keepdim)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let shape = args.inputs[0].shape();
        let count = shape[self.axis] as f64;
        let along_axis = (args.grad_output).reshape(&args.batched(&kept_shape(&shape, self.axis)));
        vec![Some(along_axis.broadcast_to(&args.batched(&shape)) / count)]
    }
}

impl<'t> Var<'t> {
    /// The mean along `axis`, kept with length 1 when `keepdim`.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    /// assert_eq!(x.mean_axis(1, false).value().data(), &[1.5, 3.5]);
    /// ```
    #[track_caller]
    pub fn mean_axis(self, axis: usize, keepdim: bool) -> Var<'t> {
        self.tape.apply(MeanAxis { axis, keepdim }, &[self])
    }
}

/// The largest element along `axis`, which is dropped unless `keepdim`; the gradient goes to
/// the first largest element of each lane. PyTorch: `torch.max(x, dim, keepdim).values`.
pub struct MaxAxis {
    /// The axis maximised over.
    pub axis: usize,
    /// Whether the output keeps the axis with length 1.
    pub keepdim: bool,
}

impl MaxAxis {
    /// 1 at the first largest element of each lane along the axis, 0 elsewhere.
    fn winners(&self, input: &Tensor) -> Tensor {
        let shape = input.shape();
        let (length, inner) = (
            shape[self.axis],
            shape[self.axis + 1..].iter().product::<usize>(),
        );
        let mut mask = Tensor::zeros(shape);
        for (lane, k) in input.argmax_axis(self.axis).into_iter().enumerate() {
            let (outer, within) = (lane / inner.max(1), lane % inner.max(1));
            mask.data_mut()[(outer * length + k) * inner + within] = 1.0;
        }
        mask
    }
}

impl Op for MaxAxis {
    fn name(&self) -> &'static str {
        "max_axis"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].max_axis(self.axis, self.keepdim)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // Which element wins is constant between ties: the mask has no derivative of its own.
        let input = args.inputs[0];
        let winners = input.tape().constant(self.winners(&input.value()));
        let along_axis = args
            .grad_output
            .reshape(&args.batched(&kept_shape(&input.shape(), self.axis)));
        vec![Some(winners * along_axis)]
    }
}

impl<'t> Var<'t> {
    /// The largest element along `axis`, kept with length 1 when `keepdim`; the gradient goes to
    /// the first largest element of each lane.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_rows(&[[1.0, 5.0], [3.0, 4.0]]));
    /// let top = x.max_axis(1, false);
    /// assert_eq!(top.value().data(), &[5.0, 4.0]);
    /// assert_eq!(top.sum().backward().wrt(x).data(), &[0.0, 1.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn max_axis(self, axis: usize, keepdim: bool) -> Var<'t> {
        self.tape.apply(MaxAxis { axis, keepdim }, &[self])
    }
}
