//! Running an example binary as a user does, for `moons_example.rs` and `spiral_example.rs`:
//! `cargo test` builds the examples beside the test binaries. Each test file uses some of these.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// Runs the example under a 4 GiB address-space limit (`prlimit --as`, where the machine has it)
/// and kills it after `seconds`: for inputs that once made it hang or allocate without bound,
/// so that a regression fails the test instead of exhausting the machine.
pub fn run_bounded(name: &str, args: &[&str], seconds: u64) -> Output {
    let mut command = if Command::new("prlimit").arg("--version").output().is_ok() {
        let mut command = Command::new("prlimit");
        command.arg("--as=4294967296").arg(binary(name));
        command
    } else {
        Command::new(binary(name))
    };
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while child.try_wait().expect("waiting on the example").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("{name} {args:?} still running after {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the example's output")
}
