//! Elementwise functions of one variable. Each rule is `grad_output ⊙ f′`, with `f′` written
//! through the output where that is cheaper (`tanh′ = 1 − y²`, `exp′ = y`).

use super::{BackwardArgs, InputGrads, Op};
use crate::{Tensor, Var};

/// `tanh(x)`. PyTorch: `torch.tanh`.
pub struct Tanh;

impl Op for Tanh {
    fn name(&self) -> &'static str {
        "tanh"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].tanh()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output.tanh_backward(args.output))]
    }
}

/// `g ⊙ (1 − y²)`: tanh's derivative rule as one fused pass over the gradient `g` and tanh's
/// output `y`, an op of its own so that it has its own rule for second derivatives. PyTorch:
/// `torch.ops.aten.tanh_backward(g, y)`.
pub struct TanhBackward;

impl Op for TanhBackward {
    fn name(&self) -> &'static str {
        "tanh_backward"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        let (g, y) = (inputs[0], inputs[1]);
        g.zip_map_shared(y, "tanh_backward", |g, y| g * (1.0 - y * y))
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // ∂/∂g = 1 − y², which is this op again; ∂/∂y = −2 y g.
        let ([g, y], upstream) = ([args.inputs[0], args.inputs[1]], args.grad_output);
        vec![
            args.wants(0).then(|| upstream.tanh_backward(y)),
            args.wants(1).then(|| upstream * g * y * -2.0),
        ]
    }
}

impl<'t> Var<'t> {
    /// `tanh`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(0.0));
    /// let y = x.tanh();
    /// assert_eq!((y.item(), y.backward().wrt(x).item()), (0.0, 1.0));
    /// ```
    #[track_caller]
    pub fn tanh(self) -> Var<'t> {
        self.tape.apply(Tanh, &[self])
    }

    /// `self ⊙ (1 − y²)` for a gradient `self` and tanh's output `y`: tanh's derivative rule
    /// in one pass ([`TanhBackward`](crate::ops::TanhBackward)).
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let g = tape.constant(Tensor::from_slice(&[2.0, 1.0]));
    /// let y = tape.var(Tensor::from_slice(&[0.5, 0.0]));
    /// assert_eq!(g.tanh_backward(y).value().data(), &[1.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn tanh_backward(self, y: Var<'t>) -> Var<'t> {
        self.tape.apply(TanhBackward, &[self, y])
    }
}

/// `eˣ`. PyTorch: `torch.exp`.
pub struct Exp;

impl Op for Exp {
    fn name(&self) -> &'static str {
        "exp"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].exp()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output * args.output)]
    }
}

impl<'t> Var<'t> {
    /// `eˣ`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.var(Tensor::scalar(0.0)).exp().item(), 1.0);
    /// ```
    #[track_caller]
    pub fn exp(self) -> Var<'t> {
        self.tape.apply(Exp, &[self])
    }
}

/// `ln x`, the natural logarithm. PyTorch: `torch.log`.
pub struct Log;

impl Op for Log {
    fn name(&self) -> &'static str {
        "log"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].log()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output / args.inputs[0])]
    }
}

impl<'t> Var<'t> {
    /// The natural logarithm, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(2.0));
    /// assert_eq!(x.log().backward().wrt(x).item(), 0.5);
    /// ```
    #[track_caller]
    pub fn log(self) -> Var<'t> {
        self.tape.apply(Log, &[self])
    }
}

/// `1 / (1 + e⁻ˣ)`. PyTorch: `torch.sigmoid`.
pub struct Sigmoid;

impl Op for Sigmoid {
    fn name(&self) -> &'static str {
        "sigmoid"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(sigmoid)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (y, g) = (args.output, args.grad_output);
        vec![Some(g * y * (1.0 - y))]
    }
}

impl<'t> Var<'t> {
    /// The logistic function `1 / (1 + e⁻ˣ)`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(0.0));
    /// assert_eq!(x.sigmoid().backward().wrt(x).item(), 0.25);
    /// ```
    #[track_caller]
    pub fn sigmoid(self) -> Var<'t> {
        self.tape.apply(Sigmoid, &[self])
    }
}

/// The logistic function, written so that neither branch's exp overflows.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `√x`. PyTorch: `torch.sqrt`.
pub struct Sqrt;

impl Op for Sqrt {
    fn name(&self) -> &'static str {
        "sqrt"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::sqrt)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output / (2.0 * args.output))]
    }
}

impl<'t> Var<'t> {
    /// `√x`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(4.0));
    /// assert_eq!(x.sqrt().backward().wrt(x).item(), 0.25);
    /// ```
    #[track_caller]
    pub fn sqrt(self) -> Var<'t> {
        self.tape.apply(Sqrt, &[self])
    }
}

/// `x²`. PyTorch: `torch.square`.
pub struct Square;

impl Op for Square {
    fn name(&self) -> &'static str {
        "square"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x * x)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(2.0 * args.inputs[0] * args.grad_output)]
    }
}

impl<'t> Var<'t> {
    /// `x²`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(3.0));
    /// assert_eq!(x.square().backward().wrt(x).item(), 6.0);
    /// ```
    #[track_caller]
    pub fn square(self) -> Var<'t> {
        self.tape.apply(Square, &[self])
    }
}

/// `xᵖ` for a fixed real exponent `p`. PyTorch: `torch.pow(x, p)`.
pub struct PowF(pub f64);

impl Op for PowF {
    fn name(&self) -> &'static str {
        "powf"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x.powf(self.0))
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (x, g, p) = (args.inputs[0], args.grad_output, self.0);
        if p == 0.0 {
            // x⁰ is constant; written out so that x = 0 gives 0, not 0 · 0⁻¹ = NaN.
            return vec![Some(x.tape().constant(Tensor::zeros(&x.shape())))];
        }
        vec![Some(g * p * x.powf(p - 1.0))]
    }
}

impl<'t> Var<'t> {
    /// `xᵖ`, elementwise, for a fixed exponent.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(4.0));
    /// assert_eq!(x.powf(1.5).backward().wrt(x).item(), 3.0);
    /// ```
    #[track_caller]
    pub fn powf(self, p: f64) -> Var<'t> {
        self.tape.apply(PowF(p), &[self])
    }
}

/// `sin x`. PyTorch: `torch.sin`.
pub struct Sin;

impl Op for Sin {
    fn name(&self) -> &'static str {
        "sin"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::sin)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output * args.inputs[0].cos())]
    }
}

/// `cos x`. PyTorch: `torch.cos`.
pub struct Cos;

impl Op for Cos {
    fn name(&self) -> &'static str {
        "cos"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::cos)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(-(args.grad_output * args.inputs[0].sin()))]
    }
}

impl<'t> Var<'t> {
    /// `sin x`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(0.0));
    /// assert_eq!(x.sin().backward().wrt(x).item(), 1.0);
    /// ```
    #[track_caller]
    pub fn sin(self) -> Var<'t> {
        self.tape.apply(Sin, &[self])
    }

    /// `cos x`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(0.0));
    /// assert_eq!((x.cos().item(), x.cos().backward().wrt(x).item()), (1.0, -0.0));
    /// ```
    #[track_caller]
    pub fn cos(self) -> Var<'t> {
        self.tape.apply(Cos, &[self])
    }
}
