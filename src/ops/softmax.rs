//! Softmax, log-softmax, and the fused softmax cross-entropy that classifiers train on.
//!
//! All three shift by the lane maximum before `exp`, so logits of ±1000 stay finite. (The
//! tutorial's `exp(z) / Σ exp(z)` overflows to `inf / inf = NaN` there.)

use std::cell::RefCell;
use std::sync::Arc;

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
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].softmax(self.axis)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (y, g) = (args.output, args.grad_output);
        let grad_times_y = g * y;
        let axis = args.batched_axis(self.axis, y.shape().len());
        let lane_dot = grad_times_y.sum_axis(axis, true);
        vec![Some(grad_times_y - y * lane_dot)]
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
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].log_softmax(self.axis)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (log_y, g) = (args.output, args.grad_output);
        let axis = args.batched_axis(self.axis, log_y.shape().len());
        let lane_total = g.sum_axis(axis, true);
        vec![Some(g - log_y.exp() * lane_total)]
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

/// One class label per row, and the largest of them, shared between the ops of a pass.
#[derive(Clone)]
struct Labels {
    values: Arc<[usize]>,
    /// The largest label (0 for none): one comparison checks them all against the classes.
    largest: usize,
}

impl Labels {
    /// `labels`, in the list this thread made last if it holds the same labels: a training loop
    /// passes the same labels every pass, and a fresh copy of a few hundred of them is a large
    /// allocation, which glibc serves after tidying its bins (docs/performance-log.md).
    fn shared(labels: &[usize]) -> Labels {
        thread_local! {
            static LAST: RefCell<Option<Labels>> = const { RefCell::new(None) };
        }
        let fresh = || Labels {
            values: labels.into(),
            largest: labels.iter().copied().max().unwrap_or(0),
        };
        LAST.try_with(|last| {
            let mut last = last.borrow_mut();
            match &*last {
                Some(kept) if *kept.values == *labels => kept.clone(),
                _ => last.insert(fresh()).clone(),
            }
        })
        .unwrap_or_else(|_| fresh()) // the thread is exiting
    }
}

/// Softmax cross-entropy of logits `[batch, classes]` against one class label per row, fused:
/// `Σ_rows (logsumexp(z) − z[label])`, summed or averaged. PyTorch: `torch.nn.functional.cross_entropy`.
///
/// Its rule is the classic `softmax(z) − onehot(label)` (scaled by the reduction), from the
/// probabilities its forward kept, through the fused [`CrossEntropyBackward`].
pub struct CrossEntropy {
    labels: Labels,
    reduction: Reduction,
    /// `softmax(z)`, kept by the forward pass for the rule.
    probabilities: Option<Arc<Tensor>>,
}

impl CrossEntropy {
    /// The op for these labels (one per row, each below the number of classes).
    pub fn new(labels: &[usize], reduction: Reduction) -> CrossEntropy {
        CrossEntropy {
            labels: Labels::shared(labels),
            reduction,
            probabilities: None,
        }
    }

    /// `softmax(z)`, as the forward pass computed it.
    fn probabilities(&self) -> &Arc<Tensor> {
        self.probabilities
            .as_ref()
            .expect("forward ran before backward")
    }

    /// The factor the reduction puts on each row's loss.
    fn row_weight(&self) -> f64 {
        match self.reduction {
            Reduction::Sum => 1.0,
            Reduction::Mean => 1.0 / self.labels.values.len() as f64,
        }
    }

    /// Panics, naming the caller's line, unless `logits` is `[batch, classes]` with one valid label per row.
    #[track_caller]
    fn check(&self, op: &str, logits: &Tensor) {
        let &[rows, classes] = logits.shape() else {
            shape_panic(
                op,
                format_args!(
                    "logits must be 2-D [batch, classes], got {:?}",
                    logits.shape()
                ),
            );
        };
        if classes == 0 || rows == 0 {
            shape_panic(
                op,
                format_args!(
                    "logits {:?} are empty: need at least one row and one class",
                    logits.shape()
                ),
            );
        }
        if self.labels.values.len() != rows {
            shape_panic(
                op,
                format_args!(
                    "{} labels for logits {:?}: need one label per row",
                    self.labels.values.len(),
                    logits.shape()
                ),
            );
        }
        if self.labels.largest >= classes
            && let Some((row, label)) = (self.labels.values.iter())
                .enumerate()
                .find(|&(_, &label)| label >= classes)
        {
            shape_panic(
                op,
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
        self.check("cross_entropy", logits);
        let &[rows, classes] = logits.shape() else {
            unreachable!("checked above")
        };
        // Recycled buffers, from the pool of small ones, which softmax_lanes writes whole.
        let mut probabilities = Tensor::for_overwrite(logits.shape());
        let mut scratch = Tensor::for_overwrite(&[2, rows]);
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
        let rows = logits
            .data()
            .chunks_exact(classes)
            .zip(self.labels.values.iter());
        let total: f64 = (rows.zip(maxes.iter().zip(totals.iter())))
            .map(|((z, &label), (max, ln_total))| max + ln_total - z[label])
            .sum();
        self.probabilities = Some(Arc::new(probabilities));
        Tensor::scalar(total * self.row_weight())
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // softmax(z) as the forward kept it, recorded as the softmax of the logits that it is, so
        // that a second derivative flows on through softmax's own rule.
        let probabilities = (args.tape()).apply_with_output(
            Softmax { axis: 1 },
            &[args.inputs[0]],
            self.probabilities(),
        );
        vec![Some(
            args.tape()
                .apply(self.rule(), &[probabilities, args.grad_output]),
        )]
    }
}

/// `(p − onehot(labels)) · g · row_weight` for probabilities `p` `[batch, classes]` and a
/// one-element gradient `g`: cross-entropy's rule in one pass, an op of its own so that it has
/// its own rule for second derivatives. PyTorch: the backward of `cross_entropy`.
#[derive(Clone)]
pub struct CrossEntropyBackward {
    labels: Labels,
    row_weight: f64,
    /// Whether the labels were checked against the probabilities' shape already (by the
    /// cross-entropy whose rule this is), or are still to be checked.
    checked: bool,
}

impl CrossEntropyBackward {
    /// The rule of [`CrossEntropy`] with these labels and reduction.
    ///
    /// ```
    /// use tapegrad::ops::CrossEntropyBackward;
    /// use tapegrad::{Reduction, Tape, Tensor};
    /// let tape = Tape::new();
    /// let p = tape.var(Tensor::from_rows(&[[0.25, 0.75]]));
    /// let g = tape.constant(Tensor::scalar(2.0));
    /// let rule = CrossEntropyBackward::new(&[1], Reduction::Sum);
    /// assert_eq!(tape.apply(rule, &[p, g]).value().data(), &[0.5, -0.5]);
    /// ```
    pub fn new(labels: &[usize], reduction: Reduction) -> CrossEntropyBackward {
        CrossEntropyBackward {
            checked: false,
            ..CrossEntropy::new(labels, reduction).rule()
        }
    }
}

impl CrossEntropy {
    fn rule(&self) -> CrossEntropyBackward {
        CrossEntropyBackward {
            labels: self.labels.clone(),
            row_weight: self.row_weight(),
            checked: true,
        }
    }
}

impl Op for CrossEntropyBackward {
    fn name(&self) -> &'static str {
        "cross_entropy_backward"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        let (probabilities, g) = (inputs[0], inputs[1]);
        if !self.checked {
            let probe = CrossEntropy {
                labels: self.labels.clone(),
                reduction: Reduction::Sum,
                probabilities: None,
            };
            probe.check("cross_entropy_backward", probabilities); // one label a row, in range
        }
        if g.len() != 1 {
            shape_panic(
                "cross_entropy_backward",
                format_args!("the gradient has shape {:?}, not one element", g.shape()),
            );
        }
        let classes = probabilities.shape()[1];
        let scale = g.item() * self.row_weight;
        // p·scale, then (p − 1)·scale where the label is: the bits of subtracting first.
        let mut grad = probabilities * scale;
        let (p, grad_data) = (probabilities.data(), grad.data_mut());
        for (row, &label) in self.labels.values.iter().enumerate() {
            let at = row * classes + label;
            grad_data[at] = (p[at] - 1.0) * scale;
        }
        grad
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // Linear in each input: ∂/∂p = g · weight, ∂/∂g = Σ upstream ⊙ (p − onehot) · weight,
        // the second being this op again with g = 1.
        let ([probabilities, g], upstream) = ([args.inputs[0], args.inputs[1]], args.grad_output);
        let one = || args.tape().constant(Tensor::ones(&g.shape()));
        vec![
            args.wants(0).then(|| upstream * (g * self.row_weight)),
            args.wants(1).then(|| {
                let residual = (args.tape()).apply(self.clone(), &[probabilities, one()]);
                (upstream * residual).sum_to(&args.batched(&g.shape()))
            }),
        ]
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
