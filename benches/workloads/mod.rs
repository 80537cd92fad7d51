//! The two workloads of the performance comparison, each stepped by tapegrad and by hand; shared
//! by `training.rs` (criterion, wall time) and `instructions.rs` (instruction counts).

use std::hint::black_box;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::manual::TwoLayer;
use tapegrad::{Reduction, Tape, Tensor};

use crate::hand_written::{MlpStep, MoonsLoop};

/// The names [`step`] knows (listed by `instructions.rs`).
#[allow(dead_code)]
pub const WORKLOADS: [&str; 5] = [
    "moons-tape",
    "moons-tape-fresh",
    "moons-hand",
    "mlp-tape",
    "mlp-hand",
];

/// One training step of `workload`, ready to be run again and again: the moons job or the MLP,
/// by tapegrad on a reused tape (`-tape`), on a fresh tape each step (`-tape-fresh`), or by hand.
pub fn step(workload: &str) -> Option<Box<dyn FnMut()>> {
    let step: Box<dyn FnMut()> = match workload {
        "moons-tape" | "moons-tape-fresh" => {
            let (mut x, labels, mut model) = moons();
            let (mut tape, fresh) = (Tape::new(), workload.ends_with("fresh"));
            Box::new(move || {
                if fresh {
                    tape = Tape::new();
                }
                tape_step(
                    &mut tape,
                    &mut model,
                    &mut x,
                    &labels,
                    0.01,
                    0.01,
                    Reduction::Sum,
                );
            })
        }
        "moons-hand" => {
            let (x, labels, model) = moons();
            let mut hand = MoonsLoop::new(&x, &labels, &model);
            Box::new(move || {
                black_box(hand.pass(0.01, 0.01));
            })
        }
        "mlp-tape" => {
            let (mut x, labels, mut model) = mlp();
            let mut tape = Tape::new();
            Box::new(move || {
                tape_step(
                    &mut tape,
                    &mut model,
                    &mut x,
                    &labels,
                    0.01,
                    0.0,
                    Reduction::Mean,
                )
            })
        }
        "mlp-hand" => {
            let (x, labels, model) = mlp();
            let mut hand = MlpStep::new(&x, &labels, &model);
            Box::new(move || {
                black_box(hand.step(0.01));
            })
        }
        _ => return None,
    };
    Some(step)
}

/// The tutorial's job: 200 two-moons points and a 2-3-2 network at the tutorial's initialisation.
pub fn moons() -> (Tensor, Vec<usize>, TwoLayer) {
    let mut rng = StdRng::seed_from_u64(0);
    let (x, labels) = tapegrad::datasets::make_moons(200, 0.2, &mut rng);
    (x, labels, TwoLayer::init(2, 3, 2, &mut rng))
}

/// An MNIST-sized MLP step: a batch of 256 random 784-pixel inputs, 10 classes, 256 tanh units.
pub fn mlp() -> (Tensor, Vec<usize>, TwoLayer) {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::randn(&[256, 784], &mut rng);
    let labels = (0..256).map(|_| rng.random_range(0..10)).collect();
    (x, labels, TwoLayer::init(784, 256, 10, &mut rng))
}

/// One training step of a 2-layer tanh network on the tape, parameters updated in place. The
/// parameters and the data are moved onto the tape and back (`Tape::take`), not copied.
fn tape_step(
    tape: &mut Tape,
    model: &mut TwoLayer,
    x: &mut Tensor,
    labels: &[usize],
    lr: f64,
    reg: f64,
    reduction: Reduction,
) {
    tape.clear();
    let params = [&mut model.w1, &mut model.b1, &mut model.w2, &mut model.b2]
        .map(|p| tape.var(std::mem::take(p)));
    let data = tape.constant(std::mem::take(x));
    let [w1, b1, w2, b2] = params;
    let logits = (data.matmul(w1) + b1).tanh().matmul(w2) + b2;
    let mut loss = logits.cross_entropy(labels, reduction);
    if reg > 0.0 {
        loss = loss + reg / 2.0 * (w1.square().sum() + w2.square().sum());
    }
    let grads = loss.backward();
    *x = tape.take(data);
    for (param, var) in [&mut model.w1, &mut model.b1, &mut model.w2, &mut model.b2]
        .into_iter()
        .zip(params)
    {
        *param = tape.take(var);
        param.add_scaled(-lr, grads.wrt(var));
    }
}
