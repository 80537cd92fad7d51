//! Elementwise functions of one variable. Each backward is `grad_output ⊙ f′`, with `f′` written
//! through the output where that is cheaper (`tanh′ = 1 − y²`, `exp′ = y`).

use super::Op;
use crate::{Tensor, Var};

/// `tanh(x)`. PyTorch: `torch.tanh`.
pub struct Tanh;

impl Op for Tanh {
    fn name(&self) -> &'static str {
        "tanh"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].tanh()
    }
    fn backward(&self, _inputs: &[&Tensor], output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
        vec![grad_output.zip_map(output, "tanh backward", |g, y| g * (1.0 - y * y))]
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
}

/// `eˣ`. PyTorch: `torch.exp`.
pub struct Exp;

impl Op for Exp {
    fn name(&self) -> &'static str {
        "exp"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].exp()
    }
    fn backward(&self, _inputs: &[&Tensor], output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
        vec![grad_output * output]
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
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].ln()
    }
    fn backward(&self, inputs: &[&Tensor], _output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
        vec![grad_output / inputs[0]]
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
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        // Written so that neither branch's exp overflows.
        inputs[0].map(|x| {
            if x >= 0.0 {
                1.0 / (1.0 + (-x).exp())
            } else {
                let e = x.exp();
                e / (1.0 + e)
            }
        })
    }
    fn backward(&self, _inputs: &[&Tensor], output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
        vec![grad_output.zip_map(output, "sigmoid backward", |g, y| g * y * (1.0 - y))]
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

/// `max(x, 0)`; its derivative at 0 is taken as 0. PyTorch: `torch.relu`.
pub struct Relu;

impl Op for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| if x > 0.0 { x } else { 0.0 })
    }
    fn backward(&self, inputs: &[&Tensor], _output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
        vec![grad_output.zip_map(
            inputs[0],
            "relu backward",
            |g, x| if x > 0.0 { g } else { 0.0 },
        )]
    }
}

impl<'t> Var<'t> {
    /// `max(x, 0)`, elementwise.
    ///
    /// ```
    /// # use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[-1.0, 2.0]));
    /// assert_eq!(x.relu().value().data(), &[0.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn relu(self) -> Var<'t> {
        self.tape.apply(Relu, &[self])
    }
}

/// `√x`. PyTorch: `torch.sqrt`.
pub struct Sqrt;

impl Op for Sqrt {
    fn name(&self) -> &'static str {
        "sqrt"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::sqrt)
    }
    fn backward(&self, _inputs: &[&Tensor], output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
        vec![grad_output.zip_map(output, "sqrt backward", |g, y| g / (2.0 * y))]
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
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x * x)
    }
    fn backward(&self, inputs: &[&Tensor], _output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
        vec![grad_output.zip_map(inputs[0], "square backward", |g, x| 2.0 * x * g)]
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
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x.powf(self.0))
    }
    fn backward(&self, inputs: &[&Tensor], _output: &Tensor, grad_output: &Tensor) -> Vec<Tensor> {
        let p = self.0;
        if p == 0.0 {
            // x⁰ is constant; written out so that x = 0 gives 0, not 0 · 0⁻¹ = NaN.
            return vec![Tensor::zeros(inputs[0].shape())];
        }
        vec![grad_output.zip_map(inputs[0], "powf backward", |g, x| g * p * x.powf(p - 1.0))]
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
