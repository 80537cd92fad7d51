//! Instruction counts of the training steps, for a comparison that a noisy machine cannot blur:
//! wall times here move by ±20% from run to run, instruction counts not at all.
//!
//! ```sh
//! cargo bench --bench instructions --no-run      # prints the path of the binary, BIN
//! for w in moons-tape moons-hand; do for n in 0 2000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null BIN $w $n 2>&1 | grep Collected
//! done; done                                      # (count(2000) - count(0)) / 2000 per pass
//! ```
//!
//! Workloads: `moons-tape`, `moons-tape-fresh`, `moons-tape-copied`, `moons-hand`, `mlp-tape`, `mlp-tape-copied`, `mlp-hand`, and issue 21's `jacobian`, `jacfwd`, `jacrev`, `jacrev-one-at-a-time`, `hessian`, `hessian-forward`, `hessian-one-at-a-time` (one Jacobian or Hessian a step). `cargo bench` itself runs each
//! for a few steps, so that the binary is known to work.
//!
//! More uses, for `benches/anchors/run.sh`: `BIN isa` prints the vector path tapegrad's kernels
//! take here (`tapegrad::vector_isa`, capped by `TAPEGRAD_ISA`); `BIN WORKLOAD STEPS WARMUP` runs WARMUP steps,
//! then times STEPS and prints `WORKLOAD-step-us X cpu-us Y`, the wall time per step and the
//! thread's time on a CPU per step, in microseconds; and
//! `BIN export-mlp DIR STEPS` writes the MLP workload's data, initial weights and first losses
//! into DIR for the PyTorch anchor (see `workloads::export_mlp`). With `TAPEGRAD_THREADS=N` in
//! the environment and the bench built with `--features threads`, tapegrad uses N threads.

mod hand_written;
mod workloads;

use std::time::Instant;

use workloads::Workload;

fn run(workload: Workload, steps: usize) {
    let mut step = workload.step();
    (0..steps).for_each(|_| step());
}

/// `warmup` steps, then `steps` timed ones; prints the wall time per step and, where Linux says
/// it, the calling thread's time on a CPU per step (which other processes on the core do not
/// inflate), both in microseconds.
fn time(workload: Workload, steps: usize, warmup: usize) {
    let mut step = workload.step();
    (0..warmup).for_each(|_| step());
    let (start, cpu_start) = (Instant::now(), thread_cpu_seconds());
    (0..steps).for_each(|_| step());
    let per_step = |seconds: f64| seconds / steps.max(1) as f64 * 1e6;
    let wall = per_step(start.elapsed().as_secs_f64());
    let cpu = thread_cpu_seconds()
        .zip(cpu_start)
        .map(|(end, start)| per_step(end - start));
    let cpu = cpu.map_or(String::new(), |cpu| format!(" cpu-us {cpu:.3}"));
    println!("{}-step-us {wall:.3}{cpu}", workload.name());
    if tapegrad::threads() > 1 {
        // Each thread's time on a CPU over the whole run: how evenly the work was shared.
        let tasks = std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten();
        let mut seconds: Vec<f64> = tasks
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse().ok())
            .map(|nanoseconds: f64| nanoseconds * 1e-9)
            .collect();
        seconds.sort_by(|a, b| b.total_cmp(a));
        let seconds: Vec<String> = seconds.iter().map(|s| format!("{s:.3}")).collect();
        eprintln!("cpu seconds by thread: {}", seconds.join(" "));
    }
}

/// The calling thread's time on a CPU so far, from `/proc/thread-self/schedstat` (nanoseconds).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanoseconds: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanoseconds * 1e-9)
}

fn parse(name: &str, steps: &str) -> Result<(Workload, usize), String> {
    let workload = Workload::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
        format!("unknown workload '{name}' ({})", names.join(", "))
    })?;
    let steps = steps
        .parse()
        .map_err(|_| format!("'{steps}' is not a number of steps"))?;
    Ok((workload, steps))
}

fn main() {
    if let Some(threads) = std::env::var("TAPEGRAD_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        tapegrad::set_threads(threads);
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let outcome = match args.as_slice() {
        [command] if command == "isa" => {
            println!("{}", tapegrad::vector_isa());
            Ok(())
        }
        [command, dir, steps] if command == "export-mlp" => steps
            .parse()
            .map_err(|_| format!("'{steps}' is not a number of steps"))
            .and_then(|steps| {
                workloads::export_mlp(dir.as_ref(), steps).map_err(|e| format!("{dir}: {e}"))
            }),
        [name, steps] => parse(name, steps).map(|(workload, steps)| run(workload, steps)),
        [name, steps, warmup] => parse(name, steps).and_then(|(workload, steps)| {
            let warmup = warmup
                .parse()
                .map_err(|_| format!("'{warmup}' is not a number of steps"))?;
            time(workload, steps, warmup);
            Ok(())
        }),
        // Under `cargo bench`: a smoke run of every workload.
        _ => {
            Workload::ALL
                .into_iter()
                .for_each(|workload| run(workload, 2));
            Ok(())
        }
    };
    if let Err(message) = outcome {
        eprintln!("instructions: {message}");
        std::process::exit(2);
    }
}
