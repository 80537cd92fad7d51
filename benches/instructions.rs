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
//! Workloads: `moons-tape`, `moons-tape-fresh`, `moons-tape-copied`, `moons-hand`, `mlp-tape`, `mlp-tape-copied`, `mlp-hand`. `cargo bench` itself runs each
//! for a few steps, so that the binary is known to work.

mod hand_written;
mod workloads;

use workloads::Workload;

fn run(workload: Workload, steps: usize) {
    let mut step = workload.step();
    (0..steps).for_each(|_| step());
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
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let outcome = match args.as_slice() {
        [name, steps] => parse(name, steps).map(|(workload, steps)| run(workload, steps)),
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
