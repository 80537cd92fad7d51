//! Whole training steps, tapegrad against the same step written by hand (`hand_written/`), each
//! pair in one group so that the ratio comes from one run; the ratios of the medians are printed
//! at the end. Run: `cargo bench --bench training` (`-- moons` or `-- mlp` for one workload).
//!
//! - moons: the tutorial's job, 200 points, 2-3-2 tanh/softmax, summed cross-entropy + L2.
//! - mlp: 784-256-10 tanh/softmax, mean cross-entropy, batch 256, SGD (random data of MNIST's shape).

mod estimates;
mod hand_written;
mod workloads;

use std::time::{Duration, SystemTime};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group};
use estimates::median_nanoseconds;
use workloads::Workload;

/// Times the workloads side by side in one criterion group, each under its bench name.
fn compare(
    c: &mut Criterion,
    group: &str,
    benches: &[(&str, Workload)],
    configure: impl Fn(&mut BenchmarkGroup<'_, WallTime>),
) {
    let mut group = c.benchmark_group(group);
    configure(&mut group);
    for &(name, workload) in benches {
        let mut step = workload.step();
        group.bench_function(name, |bench| bench.iter(&mut step));
    }
    group.finish();
}

fn moons_pass(c: &mut Criterion) {
    let benches = [
        ("tapegrad", Workload::MoonsTape),
        ("tapegrad, fresh tape", Workload::MoonsTapeFresh),
        ("hand-written", Workload::MoonsHand),
    ];
    compare(c, "moons_pass", &benches, |_| {});
}

fn mlp_step(c: &mut Criterion) {
    let benches = [
        ("tapegrad", Workload::MlpTape),
        ("hand-written", Workload::MlpHand),
    ];
    compare(c, "mlp_step", &benches, |group| {
        group
            .sample_size(30)
            .measurement_time(Duration::from_secs(8));
    });
}

fn print_ratios(run_start: SystemTime) {
    println!("\nmedians, and tapegrad / hand-written:");
    let workloads = [
        ("moons_pass", &["tapegrad", "tapegrad, fresh tape"][..]),
        ("mlp_step", &["tapegrad"][..]),
    ];
    for (group, benches) in workloads {
        let Some(hand) = median_nanoseconds(group, "hand-written", run_start) else {
            continue;
        };
        println!(
            "  {group:<11} {:<21} {:>10.1} µs",
            "hand-written",
            hand / 1e3
        );
        for bench in benches {
            if let Some(time) = median_nanoseconds(group, bench, run_start) {
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
    let run_start = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !std::env::args().any(|arg| arg == "--list" || arg == "--test") {
        print_ratios(run_start);
    }
}
