//! Several threads compute what one thread computes, bit for bit (feature `threads`): the large
//! matrix products in every transposed form and over awkward shapes, the vectorised functions,
//! the arithmetic operators (a bias row included), `add_scaled`, and whole MLP training steps.
//!
//! One test function, because the number of threads is a setting of the whole process and the
//! test harness runs test functions side by side.
#![cfg(feature = "threads")]

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::tutorial::{TwoLayer, TwoLayerGradients, objective};
use tapegrad::{Reduction, Tape, Tensor, set_threads};

/// The bits of every element, so that a difference in the last bit (or in a NaN) fails.
fn bits(tensor: &Tensor) -> Vec<u64> {
    tensor.data().iter().map(|v| v.to_bits()).collect()
}

/// Products `[m, k] · [k, n]` in the three forms a matmul and its backward use.
fn products(rng: &mut StdRng) -> Vec<Tensor> {
    let shapes = [
        (256, 784, 256), // the MLP's first layer
        (784, 256, 256), // its weight gradient's shape
        (256, 256, 10),
        (256, 10, 256),
        (129, 600, 77),  // odd sizes: blocks and kernels with ragged edges
        (1000, 1, 600),  // an outer product
        (300, 1100, 1),  // a matrix-vector product
        (16, 16, 16),    // below the parallel threshold
        (64, 64, 64),    // on one thread whatever the setting
        (128, 100, 100), // split in two
        (200, 2, 3),     // the tutorial's, which stays small
    ];
    let mut out = Vec::new();
    for (m, k, n) in shapes {
        let a = Tensor::randn(&[m, k], rng);
        let b = Tensor::randn(&[k, n], rng);
        out.push(a.matmul(&b));
        out.push(a.transpose().t_matmul(&b)); // (Aᵀ)ᵀ · B with A stored transposed
        out.push(a.matmul_t(&b.transpose()));
    }
    out
}

/// Five steps of the MLP workload (784-256-10, batch 256): the losses, gradients and weights.
fn mlp_steps() -> Vec<Tensor> {
    let mut rng = StdRng::seed_from_u64(3);
    let x = Tensor::randn(&[256, 784], &mut rng);
    let labels: Vec<usize> = (0..256).map(|i| (i * 7) % 10).collect();
    let mut model = TwoLayer::init(784, 256, 10, &mut rng);
    let mut out = Vec::new();
    let mut tape = Tape::new();
    for _ in 0..5 {
        tape.clear();
        let params = model.on_tape(&tape);
        let loss = objective(
            tape.constant(x.clone()),
            &labels,
            params,
            1e-3,
            Reduction::Mean,
        );
        let grads = TwoLayerGradients::from_tape(&loss.backward(), params);
        out.push(Tensor::scalar(loss.item()));
        out.extend([&grads.w1, &grads.b1, &grads.w2, &grads.b2].map(Tensor::clone));
        model.descend(&grads, 0.1);
    }
    out.extend([model.w1, model.b1, model.w2, model.b2]);
    out
}

/// Everything this test compares, computed with `threads` threads.
fn results(threads: usize) -> Vec<Vec<u64>> {
    assert_eq!(set_threads(threads), threads);
    let mut rng = StdRng::seed_from_u64(1);
    let mut tensors = products(&mut rng);
    let wide = &Tensor::randn(&[300, 700], &mut rng) * 4.0;
    tensors.extend([wide.tanh(), wide.exp(), wide.map(f64::abs).log()]);
    let row = Tensor::randn(&[1, 700], &mut rng);
    tensors.extend([
        &wide + &row,
        &wide / &row,
        &wide * &wide.tanh(),
        &wide - 1.0,
    ]);
    let mut updated = wide.clone();
    updated.add_scaled(-0.3, &wide.exp());
    tensors.push(updated);
    tensors.extend(mlp_steps());
    tensors.iter().map(bits).collect()
}

#[test]
fn several_threads_give_the_bits_of_one() {
    let one = results(1);
    for threads in [2, 3, 4] {
        let several = results(threads);
        for (i, (a, b)) in one.iter().zip(&several).enumerate() {
            assert!(a == b, "result {i} differs with {threads} threads");
        }
    }
    // Absurd counts are clamped at once (usize::MAX never returned; 10,000 threads took 42 s).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = cores * tapegrad::MAX_THREADS_PER_CORE;
    assert_eq!(set_threads(usize::MAX), cap);
    assert_eq!(set_threads(10_000), cap);
    set_threads(1);
}
