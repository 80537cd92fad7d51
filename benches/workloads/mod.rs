//! The two workloads of the performance comparison, and the training step tapegrad takes on
//! them; shared by `training.rs` (criterion, wall time) and `instructions.rs` (instruction counts).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::manual::TwoLayer;
use tapegrad::{Reduction, Tape, Tensor};

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
pub fn tape_step(
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
