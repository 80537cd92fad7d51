//! Sums and means, over everything or along one axis. Each backward spreads the output's
//! gradient back over the elements that were summed (divided by their count for a mean).

use super::{BackwardArgs, InputGrads, Op};
use crate::tensor::{Shape, shape_panic};
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

/// `c · Σ x²` over every element of one tensor or of several, a scalar: [`square`](Var::square),
/// [`sum`](Var::sum), the adds and the scale in one node, as an L2 penalty takes them
/// ([`Var::sum_squares`] for one tensor and `c = 1`, [`l2_penalty`] for several). PyTorch:
/// `c * sum(p.square().sum() for p in params)`; JAX: `c * sum(jnp.vdot(p, p) for p in params)`.
pub struct SumSquares {
    /// The factor `c` the sum of squares is scaled by.
    pub coefficient: f64,
}

impl Op for SumSquares {
    fn name(&self) -> &'static str {
        "sum_squares"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        // The bits of `square` then `sum` for each, of adding the sums in order, then of the
        // scale: the nodes this one stands for.
        let sum_of_squares = |input: &&Tensor| input.data().iter().map(|x| x * x).sum::<f64>();
        let total = (inputs.iter().map(sum_of_squares))
            .reduce(|total, sum| total + sum)
            .expect("an op has at least one input");
        Tensor::scalar(total * self.coefficient)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let rule = SumSquaresBackward {
            coefficient: self.coefficient,
        };
        let gradient = |input| (args.tape()).apply(rule, &[input, args.grad_output]);
        (0..args.inputs.len())
            .map(|i| args.wants(i).then(|| gradient(args.inputs[i])))
            .collect()
    }
}

impl<'t> Var<'t> {
    /// `Σ x²`, a scalar: the same value and gradient, bit for bit, as `self.square().sum()`, in
    /// one node instead of two; [`l2_penalty`] takes several weights and a factor in one node.
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
        self.tape.apply(SumSquares { coefficient: 1.0 }, &[self])
    }
}

/// `coefficient · Σ_w Σ w²` over `weights`, a scalar: an L2 penalty (weight decay as a term of the
/// loss) in one node with one rule op a weight, where the same sum written with `sum_squares`,
/// `+` and `*` takes `2n` nodes and `n + 1` rule ops for `n` weights. The same value and first
/// derivatives, bit for bit, as `coefficient * (w1.square().sum() + w2.square().sum() + …)`
/// (second derivatives agree to rounding). Its gradient `2 · coefficient · w` is what
/// [`Adam`](crate::optim::Adam)'s (PyTorch's) `weight_decay` of `2 · coefficient` adds, hence the
/// tutorial's `reg / 2`. Keras: `regularizers.L2(coefficient)` summed over the weights;
/// TensorFlow: `tf.nn.l2_loss(w)` is `l2_penalty(&[w], 0.5)`; PyTorch:
/// `coefficient * sum(w.square().sum() for w in weights)`.
///
/// Panics, naming the caller's line, if `weights` is empty or from several tapes.
///
/// ```
/// use tapegrad::{Tape, Tensor, ops::l2_penalty};
/// let tape = Tape::new();
/// let w1 = tape.var(Tensor::from_slice(&[1.0, -2.0]));
/// let w2 = tape.var(Tensor::from_slice(&[3.0]));
/// let penalty = l2_penalty(&[w1, w2], 0.5); // 0.5 · (1 + 4 + 9)
/// assert_eq!(penalty.item(), 7.0);
/// assert_eq!(penalty.backward().wrt(w2).data(), &[3.0]); // 0.5 · 2 · 3
/// ```
#[track_caller]
pub fn l2_penalty<'t>(weights: &[Var<'t>], coefficient: f64) -> Var<'t> {
    let Some(first) = weights.first() else {
        shape_panic("l2_penalty", format_args!("no weights to penalise"));
    };
    weights
        .iter()
        .for_each(|&w| first.tape.check_owns(w, "l2_penalty"));
    first.tape.apply(SumSquares { coefficient }, weights)
}

/// `(2 x) · (g c)`: the gradient [`SumSquares`] gives each of its inputs `x` for the gradient
/// `g` of its output, as one op (the scale, the doubling and the product would be three nodes),
/// with its own rule for second derivatives. `g` may broadcast: a scalar, or a batch of seeds.
///
/// ```
/// use tapegrad::ops::SumSquaresBackward;
/// use tapegrad::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_slice(&[1.0, -2.0]));
/// let g = tape.constant(Tensor::scalar(3.0));
/// let grad = tape.apply(SumSquaresBackward { coefficient: 0.5 }, &[x, g]);
/// assert_eq!(grad.value().data(), &[3.0, -6.0]); // 2 x · 3 · 0.5
/// ```
#[derive(Clone, Copy)]
pub struct SumSquaresBackward {
    /// The [`SumSquares`] op's factor `c`.
    pub coefficient: f64,
}

impl Op for SumSquaresBackward {
    fn name(&self) -> &'static str {
        "sum_squares_backward"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        let (x, g) = (inputs[0], inputs[1]);
        // The bits of the rule it replaces, `(2 · x) · (g · c)`, in one pass over `x`.
        let c = self.coefficient;
        x.zip_map_shared(g, "sum_squares_backward", |x, g| (x * 2.0) * (g * c))
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // Linear in each input: ∂/∂x = 2 c g, ∂/∂g = Σ 2 c x over what `g` was broadcast to.
        let ([x, g], upstream) = ([args.inputs[0], args.inputs[1]], args.grad_output);
        let twice = 2.0 * self.coefficient;
        vec![
            args.wants(0).then(|| upstream * (g * twice)),
            args.wants(1)
                .then(|| (upstream * (x * twice)).sum_to(&args.batched(&g.shape()))),
        ]
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
