//! Running an example binary as a user does, for `moons_example.rs` and `spiral_example.rs`:
//! `cargo test` builds the examples beside the test binaries.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The example binary that `cargo test` built beside this test's own (`target/<profile>/examples/`).
pub fn binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: plain `cargo test` builds the examples (a filtered run may not: `cargo build --examples` first)",
        binary.display()
    );
    binary
}

pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(binary(name))
        .args(args)
        .output()
        .expect("the example runs")
}

pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tapegrad-example-test-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// The accuracy printed as a percentage on the `train accuracy: ` line, as a fraction.
pub fn printed_accuracy(stdout: &str) -> f64 {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("train accuracy: "))
        .unwrap_or_else(|| panic!("no accuracy line in:\n{stdout}"));
    let percent = line.strip_suffix('%').expect("a percentage");
    percent.parse::<f64>().expect("a number") / 100.0
}

/// Asserts the examples' contract for bad input: exit status 2, one line on stderr containing
/// `message`, no panic.
#[track_caller]
pub fn assert_refused(output: &Output, what: &str, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
    assert!(stderr.contains(message), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}
