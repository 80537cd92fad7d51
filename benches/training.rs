//! Whole training steps, tapegrad against the same step written by hand (`hand_written/`), each
//! pair in one group so that the ratio comes from one run; the ratios of the medians are printed
//! at the end. Run: `cargo bench --bench training` (`-- moons` or `-- mlp` for one workload).
//!
//! - moons: the tutorial's job, 200 points, 2-3-2 tanh/softmax, summed cross-entropy + L2.
//! - mlp: 784-256-10 tanh/softmax, mean cross-entropy, batch 256, SGD (random data of MNIST's shape).

mod hand_written;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::manual::TwoLayer;
use tapegrad::{Reduction, Tape, Tensor};

use hand_written::{MlpStep, MoonsLoop};

/// One training step of a 2-layer tanh network on the tape, parameters updated in place.
fn tape_step(
    tape: &mut Tape,
    model: &mut TwoLayer,
    x: &Tensor,
    labels: &[usize],
    lr: f64,
    reg: f64,
    reduction: Reduction,
) {
    tape.clear();
    let [w1, b1, w2, b2] =
        [&model.w1, &model.b1, &model.w2, &model.b2].map(|p| tape.var(p.clone()));
    let logits = (tape.constant(x.clone()).matmul(w1) + b1).tanh().matmul(w2) + b2;
    let mut loss = logits.cross_entropy(labels, reduction);
    if reg > 0.0 {
        loss = loss + reg / 2.0 * (w1.square().sum() + w2.square().sum());
    }
    let grads = loss.backward();
    model.w1.add_scaled(-lr, grads.wrt(w1));
    model.b1.add_scaled(-lr, grads.wrt(b1));
    model.w2.add_scaled(-lr, grads.wrt(w2));
    model.b2.add_scaled(-lr, grads.wrt(b2));
}

fn moons_pass(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0);
    let (x, labels) = tapegrad::datasets::make_moons(200, 0.2, &mut rng);
    let start = TwoLayer::init(2, 3, 2, &mut rng);
    let mut group = c.benchmark_group("moons_pass");
    group.bench_function("tapegrad", |bench| {
        let (mut tape, mut model) = (Tape::new(), start.clone());
        bench.iter(|| {
            tape_step(
                &mut tape,
                &mut model,
                &x,
                &labels,
                0.01,
                0.01,
                Reduction::Sum,
            )
        });
    });
    group.bench_function("tapegrad, fresh tape", |bench| {
        let mut model = start.clone();
        bench.iter(|| {
            tape_step(
                &mut Tape::new(),
                &mut model,
                &x,
                &labels,
                0.01,
                0.01,
                Reduction::Sum,
            )
        });
    });
    group.bench_function("hand-written", |bench| {
        let mut hand = MoonsLoop::new(&x, &labels, &start);
        bench.iter(|| black_box(hand.pass(0.01, 0.01)));
    });
    group.finish();
}

fn mlp_step(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::randn(&[256, 784], &mut rng);
    let labels: Vec<usize> = (0..256).map(|_| rng.random_range(0..10)).collect();
    let start = TwoLayer::init(784, 256, 10, &mut rng);
    let mut group = c.benchmark_group("mlp_step");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("tapegrad", |bench| {
        let (mut tape, mut model) = (Tape::new(), start.clone());
        bench.iter(|| {
            tape_step(
                &mut tape,
                &mut model,
                &x,
                &labels,
                0.01,
                0.0,
                Reduction::Mean,
            )
        });
    });
    group.bench_function("hand-written", |bench| {
        let mut hand = MlpStep::new(&x, &labels, &start);
        bench.iter(|| black_box(hand.step(0.01)));
    });
    group.finish();
}

/// The median of one benchmark of the last run, read from criterion's `estimates.json`.
fn median_nanoseconds(group: &str, bench: &str) -> Option<f64> {
    let dir: String = bench
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = format!("target/criterion/{group}/{dir}/new/estimates.json");
    let json = std::fs::read_to_string(path).ok()?;
    let median = &json[json.find("\"median\"")?..];
    let estimate = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    estimate[..estimate.find([',', '}'])?].trim().parse().ok()
}

fn print_ratios() {
    println!("\nmedians, and tapegrad / hand-written:");
    for (group, benches) in [
        ("moons_pass", &["tapegrad", "tapegrad, fresh tape"][..]),
        ("mlp_step", &["tapegrad"][..]),
    ] {
        let Some(hand) = median_nanoseconds(group, "hand-written") else {
            continue; // not run this time (filtered out)
        };
        println!("  {group:<11} hand-written {:>10.1} µs", hand / 1e3);
        for bench in benches {
            if let Some(time) = median_nanoseconds(group, bench) {
                println!(
                    "  {group:<11} {bench:<21} {:>10.1} µs  {:.2}x",
                    time / 1e3,
                    time / hand
                );
            }
        }
    }
}

criterion_group!(benches, moons_pass, mlp_step);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !std::env::args().any(|arg| arg == "--list" || arg == "--test") {
        print_ratios();
    }
}
