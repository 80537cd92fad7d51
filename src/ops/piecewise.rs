//! Elementwise functions of one variable that are piecewise linear: `relu`, `leaky_relu` and
//! `abs`. Each backward multiplies by the slope on the input's side of the kink, and the slope is
//! constant there, so the rule puts it on the tape as a constant: its own derivative is 0.

use super::{BackwardArgs, InputGrads, Op};
use crate::{Tensor, Var};

/// `max(x, 0)`; its derivative at 0 is taken as 0, and NaN stays NaN. PyTorch: `torch.relu`.
pub struct Relu;

impl Op for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        // Written so that NaN falls through unchanged, as in PyTorch: a NaN upstream stays visible.
        inputs[0].map(|x| if x <= 0.0 { 0.0 } else { x })
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // The slope is 1 or 0, constant on each side of the kink: its own derivative is 0.
        let (x, g) = (args.inputs[0], args.grad_output);
        let slope = x.value().map(|x| if x <= 0.0 { 0.0 } else { 1.0 });
        vec![Some(g * x.tape().constant(slope))]
    }
}

impl<'t> Var<'t> {
    /// `max(x, 0)`, elementwise; NaN stays NaN. PyTorch: `torch.relu`.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[-1.0, 2.0, f64::NAN]));
    /// let y = x.relu().value();
    /// assert_eq!(&y.data()[..2], &[0.0, 2.0]);
    /// assert!(y.data()[2].is_nan());
    /// ```
    #[track_caller]
    pub fn relu(self) -> Var<'t> {
        self.tape.apply(Relu, &[self])
    }
}

/// `|x|`; its derivative at 0 is taken as 0. PyTorch: `torch.abs`.
pub struct Abs;

impl Op for Abs {
    fn name(&self) -> &'static str {
        "abs"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::abs)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // The slope ±1 is constant on each side of 0: its own derivative is 0.
        let (x, g) = (args.inputs[0], args.grad_output);
        let slope = x.tape().constant(x.value().map(sign));
        vec![Some(g * slope)]
    }
}

/// −1, 0 or 1 (NaN stays NaN): PyTorch's `sgn`, the slope of `abs`.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x * 0.0 // 0 for ±0, NaN for NaN
    }
}

impl<'t> Var<'t> {
    /// `|x|`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[-2.0, 3.0]));
    /// assert_eq!(x.abs().sum().backward().wrt(x).data(), &[-1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn abs(self) -> Var<'t> {
        self.tape.apply(Abs, &[self])
    }
}

/// `x` where `x > 0`, else `slope · x`. PyTorch: `torch.nn.functional.leaky_relu(x, negative_slope)`.
pub struct LeakyRelu(pub f64);

impl LeakyRelu {
    /// The derivative at `x`: 1 above 0, the slope at and below (NaN stays NaN).
    fn slope_at(&self, x: f64) -> f64 {
        if x > 0.0 {
            1.0
        } else if x.is_nan() {
            x
        } else {
            self.0
        }
    }
}

impl Op for LeakyRelu {
    fn name(&self) -> &'static str {
        "leaky_relu"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x * self.slope_at(x))
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (x, g) = (args.inputs[0], args.grad_output);
        let slope = x.tape().constant(x.value().map(|x| self.slope_at(x)));
        vec![Some(g * slope)]
    }
}

impl<'t> Var<'t> {
    /// `x` where `x > 0`, else `negative_slope · x`, elementwise (PyTorch's default slope is 0.01).
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[-2.0, 3.0]));
    /// assert_eq!(x.leaky_relu(0.01).value().data(), &[-0.02, 3.0]);
    /// ```
    #[track_caller]
    pub fn leaky_relu(self, negative_slope: f64) -> Var<'t> {
        self.tape.apply(LeakyRelu(negative_slope), &[self])
    }
}
