//! Losses besides the softmax cross-entropy (in `softmax.rs`): the mean squared error, written
//! with other ops, and the binary cross-entropy on logits, fused so that it is stable.

use super::{BackwardArgs, InputGrads, Op, Reduction};
use crate::tensor::shape_panic;
use crate::{Tensor, Var};

impl<'t> Var<'t> {
    /// `Σ (self − target)²` over all elements, summed or averaged. PyTorch:
    /// `torch.nn.functional.mse_loss(input, target, reduction)` (whose default is the mean).
    ///
    /// It is written with `-`, `square` and `sum`/`mean`, so its derivatives of every order are
    /// theirs. Panics, naming both shapes, unless they broadcast.
    ///
    /// ```
    /// # use tapegrad::{Reduction, Tape, Tensor};
    /// let tape = Tape::new();
    /// let prediction = tape.var(Tensor::from_slice(&[1.0, 3.0]));
    /// let target = tape.constant(Tensor::from_slice(&[0.0, 1.0]));
    /// let loss = prediction.mse_loss(target, Reduction::Mean);
    /// assert_eq!(loss.item(), 2.5);
    /// assert_eq!(loss.backward().wrt(prediction).data(), &[1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn mse_loss(self, target: Var<'t>, reduction: Reduction) -> Var<'t> {
        let squared = (self - target).square();
        match reduction {
            Reduction::Sum => squared.sum(),
            Reduction::Mean => squared.mean(),
        }
    }
}

/// Binary cross-entropy of logits `x` against targets `t` in `[0, 1]`, elementwise and then
/// summed or averaged: `max(x, 0) − x t + ln(1 + e^−|x|)`, which is `−t ln σ(x) − (1 − t) ln(1 − σ(x))`
/// without overflow for any logit. PyTorch: `torch.nn.functional.binary_cross_entropy_with_logits`.
///
/// Its backward is `σ(x) − t` (scaled by the reduction).
pub struct BinaryCrossEntropyWithLogits {
    targets: Tensor,
    reduction: Reduction,
}

impl BinaryCrossEntropyWithLogits {
    /// The op for these targets, one per logit.
    pub fn new(targets: &Tensor, reduction: Reduction) -> BinaryCrossEntropyWithLogits {
        BinaryCrossEntropyWithLogits {
            targets: targets.clone(),
            reduction,
        }
    }

    fn element_weight(&self) -> f64 {
        match self.reduction {
            Reduction::Sum => 1.0,
            Reduction::Mean => 1.0 / self.targets.len() as f64,
        }
    }
}

impl Op for BinaryCrossEntropyWithLogits {
    fn name(&self) -> &'static str {
        "binary_cross_entropy_with_logits"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        let logits = inputs[0];
        if logits.shape() != self.targets.shape() {
            shape_panic(
                "binary_cross_entropy_with_logits",
                format_args!(
                    "logits {:?} and targets {:?} differ in shape",
                    logits.shape(),
                    self.targets.shape()
                ),
            );
        }
        let losses = logits.zip_map(&self.targets, "binary_cross_entropy_with_logits", |x, t| {
            x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()
        });
        Tensor::scalar(losses.data().iter().sum::<f64>() * self.element_weight())
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let logits = args.inputs[0];
        let targets = logits.tape().constant(self.targets.clone());
        let residual = logits.sigmoid() - targets;
        vec![Some(residual * (args.grad_output * self.element_weight()))]
    }
}

impl<'t> Var<'t> {
    /// Binary cross-entropy of these logits against `targets` (same shape, each in `[0, 1]`),
    /// summed or averaged over all elements: one fused, stable op.
    ///
    /// ```
    /// # use tapegrad::{Reduction, Tape, Tensor};
    /// let tape = Tape::new();
    /// let logits = tape.var(Tensor::from_slice(&[0.0, 800.0]));
    /// let loss = logits.binary_cross_entropy_with_logits(&Tensor::from_slice(&[1.0, 0.0]), Reduction::Sum);
    /// assert_eq!(loss.item(), 2f64.ln() + 800.0);
    /// assert_eq!(loss.backward().wrt(logits).data(), &[-0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn binary_cross_entropy_with_logits(
        self,
        targets: &Tensor,
        reduction: Reduction,
    ) -> Var<'t> {
        let op = BinaryCrossEntropyWithLogits::new(targets, reduction);
        self.tape.apply(op, &[self])
    }
}
