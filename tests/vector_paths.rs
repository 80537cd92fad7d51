//! Every vector path this CPU can run gives the same bits: AVX-512, AVX2 and scalar on an
//! AVX-512 machine, AVX2 and scalar on an AVX2 one. The path is chosen once per process, so each
//! runs in a child process of this test binary with `TAPEGRAD_ISA` set; the child trains the
//! tutorial's network, runs the vectorised functions over awkward inputs and an MLP-sized
//! product, and prints the bits of what it computed.

use std::process::Command;

use tapegrad::datasets::make_moons_numpy;
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::TwoLayer;
use tapegrad::{Tape, Tensor};

/// Marks the child: the environment variable under which [`child`] computes and prints.
const CHILD: &str = "TAPEGRAD_VECTOR_PATHS_CHILD";

/// What the child computes: a hex digest (FNV-1a) of every bit, and the path it ran on.
fn computed() -> String {
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    let mut absorb = |tensor: &Tensor| {
        for value in tensor.data() {
            digest = (digest ^ value.to_bits()).wrapping_mul(0x0100_0000_01b3);
        }
    };
    // The tutorial's run, 300 passes: tanh, the small products, softmax's exp, their rules.
    let mut rng = RandomState::new(0);
    let (x, labels) = make_moons_numpy(200, 0.20, &mut rng);
    let mut model = TwoLayer::tutorial_init(3, 2);
    let mut tape = Tape::new();
    for _ in 0..300 {
        model.descend_by_tape(&mut tape, &x, &labels, 0.01, 0.01);
    }
    model.named().iter().for_each(|(_, w)| absorb(w));
    // The vectorised functions over ordinary values, edges and specials.
    let mut inputs: Vec<f64> = (-3000..3000).map(|i| f64::from(i) * 0.2477).collect();
    inputs.extend([0.0, -0.0, 1e-310, 709.78, -745.13, f64::INFINITY, f64::NAN]);
    let inputs = Tensor::from_slice(&inputs);
    absorb(&inputs.exp());
    absorb(&inputs.tanh());
    absorb(&inputs.map(f64::abs).log());
    // A product for the general GEMM (matrixmultiply's kernels, its own dispatch).
    let values = |count: usize, step: f64| (0..count).map(|i| (i as f64 * step).sin()).collect();
    let a = Tensor::new(values(67 * 130, 0.37), &[67, 130]).unwrap();
    let b = Tensor::new(values(130 * 45, 0.11), &[130, 45]).unwrap();
    absorb(&a.matmul(&b));
    format!("{} {digest:016x}", tapegrad::vector_isa())
}

#[test]
fn child() {
    if std::env::var_os(CHILD).is_some() {
        println!("computed: {}", computed());
    }
}

/// The paths this CPU has, by `TAPEGRAD_ISA`'s names and [`tapegrad::vector_isa`]'s: pulp's
/// tests, which tapegrad's choice makes (AVX2 with FMA and more; AVX-512 F, BW, CD, DQ and VL).
fn paths() -> Vec<(&'static str, &'static str)> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut paths = vec![("scalar", "scalar")];
        if pulp::x86::V3::try_new().is_some() {
            paths.push(("avx2", "AVX2"));
        }
        if pulp::x86::V4::try_new().is_some() {
            paths.push(("avx512", "AVX-512"));
        }
        paths
    }
    #[cfg(not(target_arch = "x86_64"))]
    vec![("scalar", "scalar"), ("", "vector")] // NEON on aarch64
}

#[test]
fn every_path_gives_the_same_bits() {
    let this_test = std::env::current_exe().expect("the test binary's path");
    let mut results = Vec::new();
    for (asked, name) in paths() {
        let output = Command::new(&this_test)
            .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
            .env(CHILD, "1")
            .env("TAPEGRAD_ISA", asked)
            .output()
            .expect("the child runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "TAPEGRAD_ISA={asked}: {stdout}");
        let line = stdout
            .lines()
            .find_map(|line| Some(line.split_once("computed: ")?.1))
            .unwrap_or_else(|| panic!("TAPEGRAD_ISA={asked} printed no result: {stdout}"));
        let (ran_on, digest) = line.split_once(' ').expect("path and digest");
        assert_eq!(ran_on, name, "TAPEGRAD_ISA={asked} ran on {ran_on}");
        results.push((name, digest.to_owned()));
    }
    println!("{results:?}");
    if results.len() < 2 {
        return println!("only one path on this CPU: nothing to compare");
    }
    let (first, reference) = &results[0];
    for (name, digest) in &results[1..] {
        assert_eq!(digest, reference, "{name} differs from {first}");
    }
}
