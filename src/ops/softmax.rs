//! Softmax, log-softmax, and the fused softmax cross-entropy that classifiers train on.
//!
//! All three shift by the lane maximum before `exp`, so logits of ±1000 stay finite. (The
//! tutorial's `exp(z) / Σ exp(z)` overflows to `inf / inf = NaN` there.)

use super::{BackwardArgs, InputGrads, Op};
use crate::tensor::{ln_in_place, shape_panic, softmax_lanes};
use crate::{Tensor, Var};

/// `exp(x) / Σ exp(x)` along `axis`. PyTorch: `torch.softmax(x, dim)`.
pub struct Softmax {
    /// The axis whose lanes sum to one.
    pub axis: usize,
}

impl Op for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].softmax(self.axis)
    }
    fn backward(&self, args: &BackwardArgs<&Tensor>) -> InputGrads<Tensor> {
        // dx = y ⊙ (g − Σ_axis g ⊙ y)
        let (y, g) = (args.output, args.grad_output);
        let grad_times_y = g * y;
        let lane_dot = grad_times_y.sum_axis(self.axis, true);
        vec![Some(&grad_times_y - &(y * &lane_dot))]
    }
    fn backward_on_tape<'t>(&self, args: &BackwardArgs<Var<'t>>) -> Option<InputGrads<Var<'t>>> {
        let (y, g) = (args.output, args.grad_output);
        let grad_times_y = g * y;
        let lane_dot = grad_times_y.sum_axis(self.axis, true);
        Some(vec![Some(grad_times_y - y * lane_dot)])
    }
}

impl<'t> Var<'t> {
    /// Softmax along `axis`: each lane becomes positive and sums to one.
    ///
    /// Panics, naming the axis, the shape and the caller's line, if `axis` is out of range.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::from_rows(&[[0.0, 0.0], [1000.0, 0.0]]));
    /// assert_eq!(z.softmax(1).value().data(), &[0.5, 0.5, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn softmax(self, axis: usize) -> Var<'t> {
        self.tape.apply(Softmax { axis }, &[self])
    }
}

/// `log(softmax(x))` along `axis`, computed without forming the softmax. PyTorch: `torch.log_softmax(x, dim)`.
pub struct LogSoftmax {
    /// The axis whose lanes are normalised.
    pub axis: usize,
}

impl Op for LogSoftmax {
    fn name(&self) -> &'static str {
        "log_softmax"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].log_softmax(self.axis)
    }
    fn backward(&self, args: &BackwardArgs<&Tensor>) -> InputGrads<Tensor> {
        // dx = g − softmax(x) ⊙ Σ_axis g, and softmax(x) = exp(output).
        let (log_y, g) = (args.output, args.grad_output);
        let lane_total = g.sum_axis(self.axis, true);
        vec![Some(g - &(&log_y.exp() * &lane_total))]
    }
    fn backward_on_tape<'t>(&self, args: &BackwardArgs<Var<'t>>) -> Option<InputGrads<Var<'t>>> {
        let (log_y, g) = (args.output, args.grad_output);
        let lane_total = g.sum_axis(self.axis, true);
        Some(vec![Some(g - log_y.exp() * lane_total)])
    }
}

impl<'t> Var<'t> {
    /// Log-softmax along `axis`, finite for any finite input.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::from_rows(&[[0.0, -1000.0]]));
    /// assert_eq!(z.log_softmax(1).value().data(), &[0.0, -1000.0]);
    /// ```
    #[track_caller]
    pub fn log_softmax(self, axis: usize) -> Var<'t> {
        self.tape.apply(LogSoftmax { axis }, &[self])
    }
}

/// How [`cross_entropy`](Var::cross_entropy) combines the losses of the rows of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// The sum over rows: the loss whose gradient the tutorial's hand-derived backprop computes.
    Sum,
    /// The mean over rows (PyTorch's default): the sum divided by the batch size.
    Mean,
}

/// Softmax cross-entropy of logits `[batch, classes]` against one class label per row, fused:
/// `Σ_rows (logsumexp(z) − z[label])`, summed or averaged. PyTorch: `torch.nn.functional.cross_entropy`.
///
/// Its backward is the classic `softmax(z) − onehot(label)` (scaled by the reduction), using
/// the probabilities its forward kept.
pub struct CrossEntropy {
    labels: Vec<usize>,
    reduction: Reduction,
    /// `softmax(z)`, kept by the forward pass for the backward one.
    probabilities: Option<Tensor>,
}

impl CrossEntropy {
    /// The op for these labels (one per row, each below the number of classes).
    pub fn new(labels: &[usize], reduction: Reduction) -> CrossEntropy {
        CrossEntropy {
            labels: labels.to_vec(),
            reduction,
            probabilities: None,
        }
    }

    /// `softmax(z)`, as the forward pass computed it.
    fn probabilities(&self) -> &Tensor {
        self.probabilities
            .as_ref()
            .expect("forward ran before backward")
    }

    /// The factor the reduction puts on each row's loss.
    fn row_weight(&self) -> f64 {
        match self.reduction {
            Reduction::Sum => 1.0,
            Reduction::Mean => 1.0 / self.labels.len() as f64,
        }
    }

    /// Panics, naming the caller's line, unless `logits` is `[batch, classes]` with one valid label per row.
    #[track_caller]
    fn check(&self, logits: &Tensor) {
        let &[rows, classes] = logits.shape() else {
            shape_panic(
                "cross_entropy",
                format_args!(
                    "logits must be 2-D [batch, classes], got {:?}",
                    logits.shape()
                ),
            );
        };
        if classes == 0 || rows == 0 {
            shape_panic(
                "cross_entropy",
                format_args!(
                    "logits {:?} are empty: need at least one row and one class",
                    logits.shape()
                ),
            );
        }
        if self.labels.len() != rows {
            shape_panic(
                "cross_entropy",
                format_args!(
                    "{} labels for logits {:?}: need one label per row",
                    self.labels.len(),
                    logits.shape()
                ),
            );
        }
        if let Some((row, label)) = self
            .labels
            .iter()
            .enumerate()
            .find(|&(_, &label)| label >= classes)
        {
            shape_panic(
                "cross_entropy",
                format_args!("label {label} of row {row} is out of range for {classes} classes"),
            );
        }
    }
}

impl Op for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross_entropy"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        let logits = inputs[0];
        self.check(logits);
        let &[rows, classes] = logits.shape() else {
            unreachable!("checked above")
        };
        let mut probabilities = Tensor::zeros(logits.shape());
        let mut scratch = Tensor::zeros(&[2, rows]); // from the pool of small buffers, not malloc
        let (maxes, totals) = scratch.data_mut().split_at_mut(rows);
        // The same probabilities as `Tensor::softmax`, bit for bit, and with them, row by row,
        // log Σ exp(z) = max + ln Σ exp(z − max); the logarithms vectorised over all rows at once.
        softmax_lanes(
            logits.data(),
            classes,
            probabilities.data_mut(),
            maxes,
            totals,
        );
        ln_in_place(totals);
        let rows = logits.data().chunks_exact(classes).zip(&self.labels);
        let total: f64 = (rows.zip(maxes.iter().zip(totals.iter())))
            .map(|((z, &label), (max, ln_total))| max + ln_total - z[label])
            .sum();
        self.probabilities = Some(probabilities);
        Tensor::scalar(total * self.row_weight())
    }
    fn backward(&self, args: &BackwardArgs<&Tensor>) -> InputGrads<Tensor> {
        let mut grad = self.probabilities().clone();
        let classes = grad.shape()[1];
        for (row, &label) in self.labels.iter().enumerate() {
            grad.data_mut()[row * classes + label] -= 1.0;
        }
        grad *= args.grad_output.item() * self.row_weight();
        vec![Some(grad)]
    }
    fn backward_on_tape<'t>(&self, args: &BackwardArgs<Var<'t>>) -> Option<InputGrads<Var<'t>>> {
        // The same (softmax(z) − onehot) · g · weight, with the softmax recomputed on the tape
        // so that its derivative (the softmax Jacobian) carries into second order.
        let (logits, g) = (args.inputs[0], args.grad_output);
        let tape = logits.tape();
        let mut onehot = Tensor::zeros(self.probabilities().shape());
        let classes = onehot.shape()[1];
        for (row, &label) in self.labels.iter().enumerate() {
            onehot.data_mut()[row * classes + label] = 1.0;
        }
        let residual = logits.softmax(1) - tape.constant(onehot);
        Some(vec![Some(residual * (g * self.row_weight()))])
    }
}

impl<'t> Var<'t> {
    /// Softmax cross-entropy of these logits (`[batch, classes]`) against `labels`, one class index
    /// per row, summed or averaged over the rows: one fused, numerically stable op.
    ///
    /// Panics, naming the caller's line, if the logits are not 2-D, the label count differs from
    /// the batch, or a label is not below the number of classes.
    ///
    /// ```
    /// # use tapegrad::{Reduction, Tape, Tensor};
    /// let tape = Tape::new();
    /// let z = tape.var(Tensor::from_rows(&[[0.0, 0.0], [1000.0, -1000.0]]));
    /// let loss = z.cross_entropy(&[1, 0], Reduction::Sum);
    /// assert!((loss.item() - 2f64.ln()).abs() < 1e-15);
    /// let grad = loss.backward();
    /// assert_eq!(grad.wrt(z).data(), &[0.5, -0.5, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn cross_entropy(self, labels: &[usize], reduction: Reduction) -> Var<'t> {
        self.tape
            .apply(CrossEntropy::new(labels, reduction), &[self])
    }
}
