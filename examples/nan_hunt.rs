//! Hunting a NaN: the tutorial's softmax, `exp(z) / Σ exp(z)` without the max-shift, written
//! with tapegrad's primitives and fed logits of 1000. `anomaly::check` points at the `exp` that
//! overflowed; the fused `cross_entropy` on the same logits stays finite.
//!
//! Run: `cargo run --release --example nan_hunt`

#[path = "common/pipe.rs"]
mod pipe;

use std::process::ExitCode;

use tapegrad::anomaly::{self, Pass};
use tapegrad::{Reduction, Tape, Tensor};

fn main() -> ExitCode {
    pipe::quiet_on_broken_pipe();
    let logits = Tensor::from_rows(&[[1000.0, 0.0], [2.0, 1.0], [-3.0, 1000.0]]);
    let labels = [0, 0, 1];

    // The tutorial's way: exp_scores / sum(exp_scores), then -log of the correct class.
    let tape = Tape::new();
    let z = tape.var(logits.clone());
    let exp_scores = z.exp();
    let probs = exp_scores / exp_scores.sum_axis(1, true);
    let picked = probs * tape.constant(one_hot(&labels, 2));
    let naive_loss = -picked.sum_axis(1, false).log().sum();
    println!("naive softmax loss: {}", naive_loss.item());
    print!("{tape}");
    let naive_fault = anomaly::check(&tape, Some(&naive_loss.backward()));
    match &naive_fault {
        Err(fault) => println!("anomaly::check: {fault}"),
        Ok(()) => println!("anomaly::check: all finite"),
    }

    // The fused op: shifted by each row's maximum, so nothing overflows.
    let tape = Tape::new();
    let z = tape.var(logits);
    let loss = z.cross_entropy(&labels, Reduction::Sum);
    let grads = loss.backward();
    println!("\nfused cross_entropy loss: {}", loss.item());
    println!("its gradient:\n{}", grads.wrt(z));
    let fused_fault = anomaly::check(&tape, Some(&grads));
    println!(
        "anomaly::check: {}",
        fused_fault
            .as_ref()
            .map_or_else(ToString::to_string, |()| "all finite".into())
    );

    // What this example demonstrates, checked: the naive path fails at its exp, the fused one does not.
    let found_the_exp =
        matches!(&naive_fault, Err(fault) if fault.op == "exp" && fault.pass == Pass::Forward);
    if found_the_exp && fused_fault.is_ok() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "nan_hunt: expected the naive softmax to fail at its exp and the fused op to stay finite"
        );
        ExitCode::FAILURE
    }
}

/// `[labels.len(), classes]` with a 1 at each row's label.
fn one_hot(labels: &[usize], classes: usize) -> Tensor {
    let mut encoded = Tensor::zeros(&[labels.len(), classes]);
    for (row, &label) in labels.iter().enumerate() {
        encoded[[row, label]] = 1.0;
    }
    encoded
}
