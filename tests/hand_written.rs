//! The benches' hand-written baselines compute what tapegrad computes: otherwise the speed
//! comparison in `benches/training.rs` would compare different work.

#[path = "../benches/hand_written/mod.rs"]
mod hand_written;

use hand_written::{MlpStep, MoonsLoop};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::datasets::make_moons_numpy;
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::{TwoLayer, TwoLayerGradients, objective};
use tapegrad::{Reduction, Tape, Tensor, compare_gradients};

/// reg/2 (|W1|² + |W2|²): the part of the objective the hand loops do not return.
fn penalty(model: &TwoLayer, reg: f64) -> f64 {
    let squares = |w: &Tensor| w.data().iter().map(|v| v * v).sum::<f64>();
    reg / 2.0 * (squares(&model.w1) + squares(&model.w2))
}

/// `steps` of gradient descent driven by the tape; returns the last objective.
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
        let params = model.on_tape(&tape);
        let loss = objective(tape.constant(x.clone()), labels, params, reg, reduction);
        loss_value = loss.item();
        model.descend(&TwoLayerGradients::from_tape(&loss.backward(), params), lr);
    }
    loss_value
}

#[test]
fn the_moons_loop_trains_as_the_tape_does() {
    let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
    let start = TwoLayer::tutorial_init(3, 2);
    let mut by_tape = start.clone();
    let tape_loss = tape_training(&mut by_tape, &x, &labels, 0.01, 0.01, Reduction::Sum, 100);
    let mut hand = MoonsLoop::new(&x, &labels, &start);
    (0..99).for_each(|_| _ = hand.pass(0.01, 0.01));
    // The hand loop returns the cross-entropy at the weights it starts the pass from.
    let penalty_before_last = penalty(&hand.model(), 0.01);
    let hand_loss = hand.pass(0.01, 0.01) + penalty_before_last;
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
