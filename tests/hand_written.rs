//! The benches' hand-written baselines compute what tapegrad computes: otherwise the speed
//! comparison in `benches/training.rs` would compare different work.

#[path = "../benches/hand_written/mod.rs"]
mod hand_written;

use hand_written::{MlpStep, MoonsLoop};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::manual::TwoLayer;
use tapegrad::{Reduction, Tape, Tensor, compare_gradients};

/// `steps` of gradient descent driven by the tape; returns the last loss.
fn tape_training(
    model: &mut TwoLayer,
    x: &Tensor,
    labels: &[usize],
    lr: f64,
    reg: f64,
    reduction: Reduction,
    steps: usize,
) -> f64 {
    let mut tape = Tape::new();
    let mut loss_value = 0.0;
    for _ in 0..steps {
        tape.clear();
        let [w1, b1, w2, b2] =
            [&model.w1, &model.b1, &model.w2, &model.b2].map(|p| tape.var(p.clone()));
        let logits = (tape.constant(x.clone()).matmul(w1) + b1).tanh().matmul(w2) + b2;
        let data_loss = logits.cross_entropy(labels, reduction);
        let loss = data_loss + reg / 2.0 * (w1.square().sum() + w2.square().sum());
        let grads = loss.backward();
        loss_value = data_loss.item();
        let step = TwoLayer {
            w1: grads.wrt(w1).clone(),
            b1: grads.wrt(b1).clone(),
            w2: grads.wrt(w2).clone(),
            b2: grads.wrt(b2).clone(),
        };
        model.descend(&step, lr);
    }
    loss_value
}

#[test]
fn the_moons_loop_trains_as_the_tape_does() {
    let mut rng = StdRng::seed_from_u64(0);
    let (x, labels) = tapegrad::datasets::make_moons(200, 0.2, &mut rng);
    let start = TwoLayer::init(2, 3, 2, &mut rng);
    let mut by_tape = start.clone();
    let tape_loss = tape_training(&mut by_tape, &x, &labels, 0.01, 0.01, Reduction::Sum, 100);
    let mut hand = MoonsLoop::new(&x, &labels, &start);
    let hand_loss = (0..100).map(|_| hand.pass(0.01, 0.01)).last().unwrap();
    assert!(
        (tape_loss - hand_loss).abs() < 1e-9 * tape_loss,
        "{tape_loss} vs {hand_loss}"
    );
    let report = compare_gradients(&by_tape.named(), &hand.model().named());
    assert!(
        report.agrees(1e-10),
        "parameters after 100 passes:\n{report}"
    );
}

#[test]
fn the_mlp_step_trains_as_the_tape_does() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::randn(&[32, 50], &mut rng);
    let labels: Vec<usize> = (0..32).map(|_| rng.random_range(0..10)).collect();
    let start = TwoLayer::init(50, 16, 10, &mut rng);
    let mut by_tape = start.clone();
    let tape_loss = tape_training(&mut by_tape, &x, &labels, 0.1, 0.0, Reduction::Mean, 3);
    let mut hand = MlpStep::new(&x, &labels, &start);
    let hand_loss = (0..3).map(|_| hand.step(0.1)).last().unwrap();
    assert!(
        (tape_loss - hand_loss).abs() < 1e-12,
        "{tape_loss} vs {hand_loss}"
    );
    let report = compare_gradients(&by_tape.named(), &hand.model().named());
    assert!(report.agrees(1e-12), "parameters after 3 steps:\n{report}");
}
