//! An Adam step over the MLP benchmark's parameters (784-256-10: 203,530 of them), tapegrad's
//! `Adam` against the same update fused by hand over the same buffers, in one criterion group.
//! Run: `cargo bench --bench optim`; it prints the ratio of the medians of this run.

mod estimates;

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group};
use tapegrad::Tensor;
use tapegrad::nn::{ParamGrads, Params};
use tapegrad::optim::{Adam, Optimizer};

const SHAPES: [&[usize]; 4] = [&[784, 256], &[1, 256], &[256, 10], &[1, 10]];

fn parameters() -> (Params, ParamGrads) {
    let mut params = Params::new();
    let mut grads = Vec::new();
    for (k, shape) in SHAPES.iter().enumerate() {
        let len: usize = shape.iter().product();
        let values = (0..len)
            .map(|i| ((i * 7 + k) % 13) as f64 * 0.01 - 0.06)
            .collect();
        params.insert(&format!("p{k}"), Tensor::new(values, shape).unwrap());
        grads.push(Some(Tensor::full(shape, 0.003)));
    }
    (params, grads.into())
}

/// Adam's update written out once over flat buffers: what `Adam::step` must stay close to.
struct HandAdam {
    step: i32,
    exp_avg: Vec<Vec<f64>>,
    exp_avg_sq: Vec<Vec<f64>>,
}

impl HandAdam {
    fn step(&mut self, params: &mut [Vec<f64>], grads: &[Vec<f64>]) {
        let (lr, beta1, beta2, eps) = (1e-3, 0.9, 0.999, 1e-8);
        self.step += 1;
        let step_size = lr / (1.0 - f64::powi(beta1, self.step));
        let correction = (1.0 - f64::powi(beta2, self.step)).sqrt();
        for (k, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let moments = self.exp_avg[k].iter_mut().zip(&mut self.exp_avg_sq[k]);
            for ((p, &g), (m, v)) in p.iter_mut().zip(g).zip(moments) {
                *m += (1.0 - beta1) * (g - *m);
                *v = *v * beta2 + (1.0 - beta2) * g * g;
                *p -= step_size * *m / (v.sqrt() / correction + eps);
            }
        }
    }
}

fn adam_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("adam_step");
    let (mut params, grads) = parameters();
    let mut adam = Adam::new(1e-3);
    group.bench_function("tapegrad", |bench| {
        bench.iter(|| adam.step(black_box(&mut params), black_box(&grads)))
    });
    let (params, grads) = parameters();
    let mut flat: Vec<Vec<f64>> = params.iter().map(|(_, _, t)| t.data().to_vec()).collect();
    let flat_grads: Vec<Vec<f64>> = grads.iter().map(|g| g.unwrap().data().to_vec()).collect();
    let zeros: Vec<Vec<f64>> = flat.iter().map(|p| vec![0.0; p.len()]).collect();
    let mut hand = HandAdam {
        step: 0,
        exp_avg: zeros.clone(),
        exp_avg_sq: zeros,
    };
    group.bench_function("hand-fused", |bench| {
        bench.iter(|| hand.step(black_box(&mut flat), black_box(&flat_grads)))
    });
    group.finish();
}

criterion_group!(benches, adam_step);

fn main() {
    let run_start = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    let median = |bench: &str| estimates::median_nanoseconds("adam_step", bench, run_start);
    if let (Some(ours), Some(hand)) = (median("tapegrad"), median("hand-fused")) {
        println!(
            "adam step: tapegrad / hand-fused = {:.2}x ({:.0} µs / {:.0} µs)",
            ours / hand,
            ours / 1e3,
            hand / 1e3
        );
    }
}
