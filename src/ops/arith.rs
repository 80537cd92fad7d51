//! `+ - * /` between variables (with NumPy broadcasting) and with `f64` on either side, and `-x`.
//!
//! Broadcast inputs need nothing special here: each backward returns gradients of the output's
//! shape and the tape sums them down to each input's shape.

use super::{BackwardArgs, InputGrads, Op};
use crate::{Tensor, Var};

/// `a + b`, broadcasting. PyTorch: `torch.add`.
pub struct Add;

impl Op for Add {
    fn name(&self) -> &'static str {
        "add"
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

/// `a - b`, broadcasting. PyTorch: `torch.sub`.
pub struct Sub;

impl Op for Sub {
    fn name(&self) -> &'static str {
        "sub"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0] - inputs[1]
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let g = args.grad_output;
        vec![args.wants(0).then_some(g), args.wants(1).then(|| -g)]
    }
}

/// `a ⊙ b`, elementwise, broadcasting. PyTorch: `torch.mul`.
pub struct Mul;

impl Op for Mul {
    fn name(&self) -> &'static str {
        "mul"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0] * inputs[1]
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (a, b, g) = (args.inputs[0], args.inputs[1], args.grad_output);
        vec![args.wants(0).then(|| g * b), args.wants(1).then(|| g * a)]
    }
}

/// `a / b`, elementwise, broadcasting. PyTorch: `torch.div`.
pub struct Div;

impl Op for Div {
    fn name(&self) -> &'static str {
        "div"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0] / inputs[1]
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (b, g, quotient) = (args.inputs[1], args.grad_output, args.output);
        let grad_a = g / b; // b's gradient is built from it, so it is recorded either way
        vec![
            args.wants(0).then_some(grad_a),
            args.wants(1).then(|| -(grad_a * quotient)),
        ]
    }
}

/// `c · x` for a fixed number `c` (also `-x` as `-1 · x`). PyTorch: `torch.mul(x, c)`.
pub struct Scale(pub f64);

impl Op for Scale {
    fn name(&self) -> &'static str {
        "scale"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0] * self.0
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output * self.0)]
    }
}

/// `x / c` for a fixed number `c`. PyTorch: `torch.div(x, c)`.
///
/// A division, not [`Scale`] by `1/c`: `49 / 49` is then exactly 1, and `1e-10 / 1e-310` is
/// 1e300 where `1/1e-310` would already overflow to infinity.
///
/// ```
/// # use tapegrad::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_slice(&[49.0, 1e-10]));
/// let y = x / 49.0;
/// assert_eq!(y.value().data()[0], 1.0);
/// assert_eq!((x / 1e-310).value().data()[1], 1e-10 / 1e-310);
/// assert_eq!(y.sum().backward().wrt(x).data(), &[1.0 / 49.0; 2]);
/// ```
pub struct DivScalar(pub f64);

impl Op for DivScalar {
    fn name(&self) -> &'static str {
        "div_scalar"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x / self.0)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output / self.0)]
    }
}

/// `x + c` for a fixed number `c` (also `x - c`).
pub struct Shift(pub f64);

impl Op for Shift {
    fn name(&self) -> &'static str {
        "shift"
    }
    fn batches_seeds(&self) -> bool {
        true
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0] + self.0
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output)]
    }
}

// The operators. Each is `#[track_caller]`, so a shape error names the line with the `+`.

impl<'t> std::ops::Add for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn add(self, other: Var<'t>) -> Var<'t> {
        self.tape.apply(Add, &[self, other])
    }
}

impl<'t> std::ops::Sub for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn sub(self, other: Var<'t>) -> Var<'t> {
        self.tape.apply(Sub, &[self, other])
    }
}

impl<'t> std::ops::Mul for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn mul(self, other: Var<'t>) -> Var<'t> {
        self.tape.apply(Mul, &[self, other])
    }
}

impl<'t> std::ops::Div for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn div(self, other: Var<'t>) -> Var<'t> {
        self.tape.apply(Div, &[self, other])
    }
}

impl<'t> std::ops::Neg for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn neg(self) -> Var<'t> {
        self.tape.apply(Scale(-1.0), &[self])
    }
}

impl<'t> std::ops::Add<f64> for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn add(self, c: f64) -> Var<'t> {
        self.tape.apply(Shift(c), &[self])
    }
}

impl<'t> std::ops::Sub<f64> for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn sub(self, c: f64) -> Var<'t> {
        self.tape.apply(Shift(-c), &[self])
    }
}

impl<'t> std::ops::Mul<f64> for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn mul(self, c: f64) -> Var<'t> {
        self.tape.apply(Scale(c), &[self])
    }
}

impl<'t> std::ops::Div<f64> for Var<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn div(self, c: f64) -> Var<'t> {
        self.tape.apply(DivScalar(c), &[self])
    }
}

impl<'t> std::ops::Add<Var<'t>> for f64 {
    type Output = Var<'t>;
    #[track_caller]
    fn add(self, x: Var<'t>) -> Var<'t> {
        x + self
    }
}

impl<'t> std::ops::Sub<Var<'t>> for f64 {
    type Output = Var<'t>;
    #[track_caller]
    fn sub(self, x: Var<'t>) -> Var<'t> {
        -x + self
    }
}

impl<'t> std::ops::Mul<Var<'t>> for f64 {
    type Output = Var<'t>;
    #[track_caller]
    fn mul(self, x: Var<'t>) -> Var<'t> {
        x * self
    }
}

impl<'t> std::ops::Div<Var<'t>> for f64 {
    type Output = Var<'t>;
    #[track_caller]
    fn div(self, x: Var<'t>) -> Var<'t> {
        x.tape.constant(Tensor::scalar(self)) / x
    }
}
