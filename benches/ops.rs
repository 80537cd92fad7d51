//! Per-op costs: matrix products at the moons and MNIST-MLP sizes (plain and in the transposed
//! forms backward uses), a bias add and a bias's gradient, the vectorised `exp`/`tanh`/`ln`
//! against glibc's, the fused cross-entropy, and one tape pass of the moons network with and
//! without `anomaly::check`.
//! Run: `cargo bench --bench ops` (add a filter such as `-- matmul` to run fewer).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::datasets::make_moons_numpy;
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::{TwoLayer, objective};
use tapegrad::{Reduction, Tape, Tensor, anomaly};

fn matmul(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0);
    let mut group = c.benchmark_group("matmul");
    for (name, [m, k, n]) in [
        ("small 200x2.2x3", [200, 2, 3]),
        ("small 200x3.3x2", [200, 3, 2]),
        ("medium 256x784.784x256", [256, 784, 256]),
    ] {
        let a = Tensor::randn(&[m, k], &mut rng);
        let b = Tensor::randn(&[k, n], &mut rng);
        let grad = Tensor::randn(&[m, n], &mut rng);
        group.bench_function(format!("{name} a.b"), |bench| {
            bench.iter(|| black_box(&a).matmul(black_box(&b)))
        });
        group.bench_function(format!("{name} grad.bT"), |bench| {
            bench.iter(|| black_box(&grad).matmul_t(black_box(&b)))
        });
        group.bench_function(format!("{name} aT.grad"), |bench| {
            bench.iter(|| black_box(&a).t_matmul(black_box(&grad)))
        });
    }
    group.finish();
}

fn elementwise(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let z = Tensor::randn(&[200, 3], &mut rng);
    let bias = Tensor::randn(&[1, 3], &mut rng);
    c.bench_function("bias add 200x3 + 1x3", |bench| {
        bench.iter(|| black_box(&z) + black_box(&bias))
    });
    // A bias's gradient: each column's 200 additions in row order, one dependent on the next.
    c.bench_function("bias gradient sum_to 200x3 -> 1x3", |bench| {
        bench.iter(|| black_box(&z).sum_to(&[1, 3]))
    });
}

/// The vectorised functions against the standard library's (glibc's) element by element, at the
/// moons size (600) and the MLP's hidden layer (65536); inputs in [-5, 5], in (0, 10] for `ln`.
fn transcendental(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(3);
    let mut group = c.benchmark_group("transcendental");
    for len in [600, 65536] {
        let x = Tensor::randn(&[len], &mut rng).map(|x| (x * 2.0).clamp(-5.0, 5.0));
        let positive = x.map(|x| x + 5.0 + 1e-3);
        group.bench_function(format!("exp {len} tapegrad"), |b| {
            b.iter(|| black_box(&x).exp())
        });
        group.bench_function(format!("exp {len} glibc"), |b| {
            b.iter(|| black_box(&x).map(f64::exp))
        });
        group.bench_function(format!("tanh {len} tapegrad"), |b| {
            b.iter(|| black_box(&x).tanh())
        });
        group.bench_function(format!("tanh {len} glibc"), |b| {
            b.iter(|| black_box(&x).map(f64::tanh))
        });
        group.bench_function(format!("ln {len} tapegrad"), |b| {
            b.iter(|| black_box(&positive).log())
        });
        group.bench_function(format!("ln {len} glibc"), |b| {
            b.iter(|| black_box(&positive).map(f64::ln))
        });
    }
    group.finish();
}

fn cross_entropy(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let logits = Tensor::randn(&[200, 2], &mut rng);
    let labels: Vec<usize> = (0..200).map(|i| i % 2).collect();
    c.bench_function("cross_entropy 200x2 forward+backward", |bench| {
        let mut tape = Tape::new();
        bench.iter(|| {
            tape.clear();
            let z = tape.var(logits.clone());
            black_box(z.cross_entropy(&labels, Reduction::Sum).backward());
        })
    });
}

fn moons_pass(c: &mut Criterion) {
    let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
    let model = TwoLayer::tutorial_init(3, 2);
    // The same pass without and with `anomaly::check` afterwards: what the check costs when on;
    // off, it is not called at all.
    let mut group = c.benchmark_group("moons pass");
    for checked in [false, true] {
        let name = if checked {
            "tape + anomaly::check"
        } else {
            "tape"
        };
        group.bench_function(name, |bench| {
            let mut tape = Tape::new();
            bench.iter(|| {
                tape.clear();
                let params = model.on_tape(&tape);
                let data = tape.constant(x.clone());
                let grads = objective(data, &labels, params, 0.01, Reduction::Sum).backward();
                if checked {
                    anomaly::check(&tape, Some(&grads)).expect("finite");
                }
                black_box(grads);
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    matmul,
    elementwise,
    transcendental,
    cross_entropy,
    moons_pass
);
criterion_main!(benches);
