//! Adding an op that tapegrad lacks, using it in a model, and proving its gradient.
//!
//! The op is softplus, `ln(1 + eˣ)`, a smooth relu; its derivative is the logistic sigmoid.
//! Everything a user writes is in this file: the op (its forward and its one derivative rule side
//! by side, the rule written with `Var` ops so that it serves first derivatives and every higher
//! order), a method so it reads like the built-ins, and finite-difference checks of its first and
//! second derivatives.
//!
//! Run: `cargo run --release --example custom_op` (`-- --passes N` to train longer or shorter).

#[path = "common/pipe.rs"]
mod pipe;

use std::process::ExitCode;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::datasets::make_moons;
use tapegrad::ops::{BackwardArgs, InputGrads, Op};
use tapegrad::{GradCheckError, Reduction, Tape, Tensor, Var, gradcheck, gradgradcheck};

/// `softplus(x) = ln(1 + eˣ)`, elementwise.
struct Softplus;

impl Op for Softplus {
    fn name(&self) -> &'static str {
        "softplus"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        // ln(1 + eˣ) = max(x, 0) + ln(1 + e^-|x|): the same value, without overflow for large x.
        inputs[0].map(|x| x.max(0.0) + (-x.abs()).exp().ln_1p())
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        // d/dx ln(1 + eˣ) = eˣ / (1 + eˣ) = sigmoid(x). Written with `Var` ops, the rule is
        // evaluated for first derivatives and recorded for second ones (softplus'' = sigmoid',
        // through the built-in sigmoid's own rule).
        vec![Some(args.grad_output * args.inputs[0].sigmoid())]
    }
}

/// Lets `x.softplus()` read like a built-in op.
trait SoftplusExt<'t> {
    fn softplus(self) -> Var<'t>;
}

impl<'t> SoftplusExt<'t> for Var<'t> {
    #[track_caller]
    fn softplus(self) -> Var<'t> {
        self.tape().apply(Softplus, &[self])
    }
}

/// The same op with a plausible but wrong derivative (tanh instead of the sigmoid).
struct WrongSoftplus;

impl Op for WrongSoftplus {
    fn name(&self) -> &'static str {
        "wrong_softplus"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        Softplus.forward(inputs)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output * args.inputs[0].tanh())]
    }
}

/// `Σ weights ⊙ softplus(x)`: every element's gradient is checked with its own weight.
fn weighted_softplus<'t>(x: Var<'t>, weights: &Tensor) -> Var<'t> {
    (x.softplus() * x.tape().constant(weights.clone())).sum()
}

/// Checks the op against central finite differences on several shapes, including values far
/// out where a naive `ln(1 + eˣ)` would overflow.
fn check_gradients() -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(11);
    let cases = [
        Tensor::randn(&[5], &mut rng),
        Tensor::randn(&[4, 3], &mut rng),
        Tensor::from_rows(&[[-30.0, -2.0, 0.0, 2.0, 30.0]]),
    ];
    for input in cases {
        let weights = Tensor::randn(input.shape(), &mut rng);
        let inputs = std::slice::from_ref(&input);
        let failed = |error| format!("softplus on {:?}: {error}", input.shape());
        let report = gradcheck(inputs, |v| weighted_softplus(v[0], &weights)).map_err(failed)?;
        let second =
            gradgradcheck(inputs, |v| weighted_softplus(v[0], &weights)).map_err(failed)?;
        println!(
            "softplus {:?}: gradcheck {} elements, max |analytic - numeric| = {:.1e}; \
             gradgradcheck {} Hessian entries, max error {:.1e}",
            input.shape(),
            report.elements,
            report.max_abs_error,
            second.elements,
            second.max_abs_error
        );
    }
    // The checker must also catch a wrong derivative.
    let x = Tensor::from_slice(&[0.5, -1.0, 2.0]);
    match gradcheck(&[x], |v| v[0].tape().apply(WrongSoftplus, &[v[0]]).sum()) {
        Err(error @ GradCheckError::Mismatch { .. }) => {
            println!("gradcheck catches a wrong backward: {error}");
            Ok(())
        }
        other => Err(format!("gradcheck missed the wrong backward: {other:?}")),
    }
}

/// A 2-8-2 network with softplus hidden units on two moons, trained by gradient descent.
fn train(passes: usize) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(0);
    let (x, labels) = make_moons(200, 0.2, &mut rng);
    let mut params = [
        &Tensor::randn(&[2, 8], &mut rng) / 2f64.sqrt(),
        Tensor::zeros(&[1, 8]),
        &Tensor::randn(&[8, 2], &mut rng) / 8f64.sqrt(),
        Tensor::zeros(&[1, 2]),
    ];
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    for _ in 0..passes {
        tape.clear();
        let [w1, b1, w2, b2] = params.clone().map(|param| tape.var(param));
        let hidden = (tape.constant(x.clone()).matmul(w1) + b1).softplus();
        let loss = (hidden.matmul(w2) + b2).cross_entropy(&labels, Reduction::Mean);
        let grads = loss.backward();
        for (param, var) in params.iter_mut().zip([w1, b1, w2, b2]) {
            param.add_scaled(-0.5, grads.wrt(var));
        }
        losses.push(loss.item());
    }
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    println!("softplus network, {passes} passes: mean cross-entropy {first:.4} -> {last:.4}");
    if last < first {
        Ok(())
    } else {
        Err(format!(
            "training did not lower the loss ({first} -> {last})"
        ))
    }
}

fn main() -> ExitCode {
    pipe::quiet_on_broken_pipe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let passes = match args.as_slice() {
        [] => 2000,
        [flag, value] if flag == "--passes" => match value.parse::<usize>() {
            Ok(passes) if passes > 0 => passes,
            _ => {
                eprintln!("custom_op: --passes: '{value}' is not a whole number ≥ 1");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("custom_op: usage: custom_op [--passes N]");
            return ExitCode::from(2);
        }
    };
    match check_gradients().and_then(|()| train(passes)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("custom_op: {message}");
            ExitCode::FAILURE
        }
    }
}
