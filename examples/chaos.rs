//! How much the tutorial's final loss depends on the last bits of its initial weights: for each
//! hidden size, the tutorial's run repeated with one weight, W1[0, 0], moved by k·1e-15 for
//! k = −6..=6, and the spread of the final losses. The book's figures for hidden sizes 2 and 4
//! (`docs/book/06-the-tutorial-exactly.md`)
//! come from `cargo run --release --example chaos -- 2,4`.

#[path = "common/pipe.rs"]
mod pipe;

use std::process::ExitCode;

use tapegrad::datasets::make_moons_numpy;
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::TwoLayer;
use tapegrad::{Tape, Tensor};

const PASSES: usize = 20000;

/// The tutorial's 20000 passes from `model`; returns the loss it would print after the last.
fn final_loss(mut model: TwoLayer, x: &Tensor, labels: &[usize]) -> f64 {
    let mut tape = Tape::new();
    for _ in 0..PASSES {
        model.descend_by_tape(&mut tape, x, labels, 0.01, 0.01);
    }
    model.printed_loss(x, labels, 0.01)
}

fn main() -> ExitCode {
    pipe::quiet_on_broken_pipe();
    let argument = std::env::args().nth(1).unwrap_or_else(|| "2,4".into());
    let sizes: Option<Vec<usize>> = argument
        .split(',')
        .map(|size| size.trim().parse::<usize>().ok().filter(|&size| size > 0))
        .collect();
    let Some(sizes) = sizes else {
        eprintln!("chaos: '{argument}' is not a list of hidden sizes such as 2,4");
        return ExitCode::from(2);
    };
    let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
    for hidden in sizes {
        let start = TwoLayer::tutorial_init(hidden, 2);
        let mut losses = Vec::new();
        for k in -6..=6 {
            let mut nudged = start.clone();
            nudged.w1.data_mut()[0] += f64::from(k) * 1e-15;
            let loss = final_loss(nudged, &x, &labels);
            println!("hidden {hidden}, W1[0,0] {k:+}e-15: final loss {loss:.6}");
            losses.push(loss);
        }
        let low = losses.iter().copied().fold(f64::INFINITY, f64::min);
        let high = losses.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "hidden {hidden}: final loss from {low:.6} to {high:.6} over {} runs ({:.0}% of the lowest)",
            losses.len(),
            100.0 * (high - low) / low
        );
    }
    ExitCode::SUCCESS
}
