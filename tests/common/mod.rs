//! The small network that `tape.rs` and `tape_memory.rs` both train: one definition, included
//! by each as `mod common;`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::{Reduction, Tape, Tensor, Var};

/// Standard normal values of this shape from their own seed.
pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, &mut StdRng::seed_from_u64(seed))
}

/// The tutorial's network with three classes, a broadcast `[3]` bias and an L2 term: every kind
/// of node a training step records. Returns its loss and its parameters.
pub fn network<'t>(tape: &'t Tape, params: &[Tensor; 4], x: &Tensor) -> (Var<'t>, [Var<'t>; 4]) {
    let [w1, b1, w2, b2] = params.clone().map(|p| tape.var(p));
    let hidden = (tape.constant(x.clone()).matmul(w1) + b1).tanh();
    let logits = hidden.matmul(w2) + b2;
    let loss = logits.cross_entropy(&[0, 2, 1, 1, 0], Reduction::Mean) + 0.01 * w1.square().sum();
    (loss, [w1, b1, w2, b2])
}

/// [`network`]'s parameters `W1 [3, 4]`, `b1 [1, 4]`, `W2 [4, 3]`, `b2 [3]` and its input `[5, 3]`.
pub fn network_inputs() -> ([Tensor; 4], Tensor) {
    let params = [
        randn(&[3, 4], 1),
        randn(&[1, 4], 2),
        randn(&[4, 3], 3),
        randn(&[3], 4),
    ];
    (params, randn(&[5, 3], 5))
}
