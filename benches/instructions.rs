//! Instruction counts of the training steps, for a comparison that a noisy machine cannot blur:
//! wall times here move by ±20% from run to run, instruction counts not at all.
//!
//! ```sh
//! cargo bench --bench instructions --no-run      # prints the path of the binary, BIN
//! for w in moons-tape moons-hand; do for n in 0 2000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null BIN $w $n 2>&1 | grep Collected
//! done; done                                      # (count(2000) - count(0)) / 2000 per pass
//! ```
//!
//! Workloads: `moons-tape`, `moons-hand`, `mlp-tape`, `mlp-hand`. `cargo bench` itself runs each
//! for a few steps, so that the binary is known to work.

mod hand_written;
mod workloads;

use std::hint::black_box;

use tapegrad::{Reduction, Tape};

use hand_written::{MlpStep, MoonsLoop};
use workloads::tape_step;

fn run(workload: &str, steps: usize) -> Result<(), String> {
    match workload {
        "moons-tape" => {
            let (mut x, labels, mut model) = workloads::moons();
            let mut tape = Tape::new();
            for _ in 0..steps {
                tape_step(
                    &mut tape,
                    &mut model,
                    &mut x,
                    &labels,
                    0.01,
                    0.01,
                    Reduction::Sum,
                );
            }
            black_box(model);
        }
        "moons-hand" => {
            let (x, labels, model) = workloads::moons();
            let mut hand = MoonsLoop::new(&x, &labels, &model);
            for _ in 0..steps {
                black_box(hand.pass(0.01, 0.01));
            }
        }
        "mlp-tape" => {
            let (mut x, labels, mut model) = workloads::mlp();
            let mut tape = Tape::new();
            for _ in 0..steps {
                tape_step(
                    &mut tape,
                    &mut model,
                    &mut x,
                    &labels,
                    0.01,
                    0.0,
                    Reduction::Mean,
                );
            }
            black_box(model);
        }
        "mlp-hand" => {
            let (x, labels, model) = workloads::mlp();
            let mut hand = MlpStep::new(&x, &labels, &model);
            for _ in 0..steps {
                black_box(hand.step(0.01));
            }
        }
        other => {
            return Err(format!(
                "unknown workload '{other}' (moons-tape, moons-hand, mlp-tape, mlp-hand)"
            ));
        }
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let outcome = match args.as_slice() {
        [workload, steps] => match steps.parse() {
            Ok(steps) => run(workload, steps),
            Err(_) => Err(format!("'{steps}' is not a number of steps")),
        },
        // Under `cargo bench`: a smoke run of every workload.
        _ => ["moons-tape", "moons-hand", "mlp-tape", "mlp-hand"]
            .into_iter()
            .try_for_each(|workload| run(workload, 2)),
    };
    if let Err(message) = outcome {
        eprintln!("instructions: {message}");
        std::process::exit(2);
    }
}
