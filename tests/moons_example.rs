//! The moons example as a user runs it: `cargo test` builds the examples, and these tests run the
//! binary, read what it prints, and look at what it writes.

mod example_runs;

use std::path::PathBuf;
use std::process::Output;

use example_runs::printed_accuracy;

fn run_moons(args: &[&str]) -> Output {
    example_runs::run("moons", args)
}

fn scratch_dir(name: &str) -> PathBuf {
    example_runs::scratch_dir(&format!("moons-{name}"))
}

/// The number after `prefix` on the line that starts with it.
fn printed_value(stdout: &str, prefix: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no '{prefix}' line in:\n{stdout}"));
    line[prefix.len()..]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("'{line}' does not end in a number"))
}

#[test]
fn default_run_prints_the_tutorials_losses() {
    let out = scratch_dir("default");
    let output = run_moons(&["--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // No warning: the loss rises only slightly as the run settles into its cycle.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // One tutorial loss line per 1000 passes: iterations 0, 1000, …, 19000.
    let loss_lines: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("Loss after iteration "))
        .collect();
    assert_eq!(loss_lines.len(), 20, "{stdout}");
    // The tutorial's own lines, digit for digit, before the run turns sensitive to last bits.
    assert_eq!(loss_lines[0], "Loss after iteration 0: 0.432387");
    assert_eq!(loss_lines[1], "Loss after iteration 1000: 0.068947");
    // From pass 3000 on, a period-2 oscillation between about 0.07075 and 0.07132 whose
    // phase the last bits decide (NumPy prints 0.070758 at 19000): a band, not a value.
    for line in &loss_lines[3..] {
        let loss: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((0.0707..0.0714).contains(&loss), "{line}");
    }
    let final_loss = printed_value(&stdout, "final loss:");
    assert!(
        (0.0707..0.0714).contains(&final_loss),
        "final loss {final_loss}"
    );
    let accuracy = printed_accuracy(&stdout);
    assert!(accuracy >= 0.96, "train accuracy {accuracy}");

    for picture in ["moons.png", "loss.png"] {
        let bytes = std::fs::read(out.join(picture)).unwrap_or_else(|e| panic!("{picture}: {e}"));
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5000,
            "{picture}: {} bytes",
            bytes.len()
        );
    }
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn several_hidden_sizes_draw_one_grid() {
    let out = scratch_dir("grid");
    let output = run_moons(&[
        "--hidden",
        "1,3",
        "--passes",
        "300",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(stdout.matches("final loss:").count(), 2);
    let grid = std::fs::read(out.join("moons_hidden.png")).expect("moons_hidden.png");
    assert!(grid.starts_with(b"\x89PNG"));
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn a_csv_file_trains_like_generated_data() {
    let out = scratch_dir("csv");
    let csv = out.join("points.csv");
    std::fs::write(&csv, "x1,x2,label\n0,0,0\n0.1,0.2,0\n1,1,1\n0.9,1.1,1\n").unwrap();
    let output = run_moons(&[
        "--data",
        csv.to_str().unwrap(),
        "--passes",
        "2000",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(printed_accuracy(&stdout), 1.0);
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn bad_input_exits_2_with_one_line_and_no_backtrace() {
    let out = scratch_dir("bad");
    let bad_csv = out.join("bad.csv");
    std::fs::write(&bad_csv, "1,2,0\n3,x,1\n").unwrap();
    let missing = out.join("missing.csv");
    let cases: [(&[&str], &str); 12] = [
        (
            &["--seed", "4294967296"],
            "'4294967296' is not a whole number from 0 to 4294967295",
        ),
        (
            &["--seed", "-1"],
            "'-1' is not a whole number from 0 to 4294967295",
        ),
        (&["--hidden", "0"], "'0' is not a whole number ≥ 1"),
        (&["--hidden", "3,,5"], "'' is not a whole number ≥ 1"),
        (&["--lr", "-1"], "'-1' is not a positive number"),
        (&["--passes", "abc"], "'abc' is not a whole number ≥ 1"),
        (
            &["--passes", "99999999999999999999999"],
            "'99999999999999999999999' is too large",
        ),
        (
            &["--passes"],
            "moons: a value is required for '--passes <N>'",
        ),
        (
            &["--colour", "red"],
            "moons: unexpected argument '--colour' found",
        ),
        (
            &["--hiden", "3"],
            "tip: a similar argument exists: '--hidden'",
        ),
        (
            &["--data", bad_csv.to_str().unwrap()],
            "line 2, column 2: 'x' is not a number",
        ),
        (&["--data", missing.to_str().unwrap()], "cannot read"),
    ];
    for (args, message) in cases {
        example_runs::assert_refused(&run_moons(args), &format!("{args:?}"), message);
    }
    // An output folder that cannot be made is refused before any training.
    let blocked = out.join("a-file");
    std::fs::write(&blocked, b"").unwrap();
    let output = run_moons(&["--out", blocked.join("pictures").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("moons: --out ") && stderr.contains("cannot write there"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "trained before checking --out");
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn help_lists_every_flag() {
    let output = run_moons(&["--help"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for flag in [
        "--hidden",
        "--passes",
        "--lr",
        "--reg",
        "--samples",
        "--noise",
        "--seed",
        "--data",
        "--out",
    ] {
        assert!(stdout.contains(flag), "--help does not mention {flag}");
    }
}

#[test]
fn check_gradients_prints_the_tables_and_the_verdict() {
    let out = scratch_dir("check");
    let output = run_moons(&[
        "--check-gradients",
        "--passes",
        "1001",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for pass in [0, 1, 10, 100, 1000] {
        assert!(
            stdout.contains(&format!("\npass {pass}:\n"))
                || stdout.starts_with(&format!("pass {pass}:\n")),
            "no table at pass {pass}:\n{stdout}"
        );
    }
    assert_eq!(
        stdout.matches("max |autodiff - hand|").count(),
        5,
        "{stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("gradients agree: "),
        "{stdout}"
    );
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn print_tape_and_graph_show_the_first_pass_and_exit() {
    let out = scratch_dir("tape");
    let output = run_moons(&["--print-tape"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        !stdout.contains("Loss after iteration"),
        "trained instead of exiting:\n{stdout}"
    );
    let calls: Vec<&str> = stdout
        .lines()
        // Columns are separated by at least two spaces; a call such as `add(#5, #1)` has one.
        .map(|line| {
            line.split("  ")
                .filter(|cell| !cell.is_empty())
                .nth(1)
                .unwrap()
                .trim()
        })
        .collect();
    // The parameters by their names, then the forward pass.
    assert_eq!(
        &calls[..4],
        ["variable W1", "variable b1", "variable W2", "variable b2"]
    );
    assert_eq!(
        &calls[4..9],
        [
            "constant",
            "affine(#4, #0, #1)",
            "tanh(#5)",
            "affine(#6, #2, #3)",
            "cross_entropy(#7)"
        ]
    );
    assert!(
        stdout
            .lines()
            // Each node names the line that recorded it: the example's, or the shared objective's.
            .all(|line| (line.contains("examples/moons/main.rs:")
                || line.contains("src/tutorial.rs:"))
                && line.contains("|grad| ")),
        "{stdout}"
    );

    let graph = out.join("tape.dot");
    let output = run_moons(&["--graph", graph.to_str().unwrap()]);
    assert!(output.status.success());
    let dot = std::fs::read_to_string(&graph).expect("the DOT file");
    assert_eq!(dot.matches("[label=").count(), calls.len());
    let output = run_moons(&["--graph", out.join("missing/tape.dot").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn divergence_stops_with_the_pass_and_the_cause_and_pictures_never_hang() {
    let out = scratch_dir("diverge");
    let out_arg = out.to_str().unwrap();
    for args in [
        &["--lr", "1000", "--passes", "2000"][..],
        &["--lr", "1e300"],
        &["--reg", "1e300"],
        &["--lr", "1e300", "--passes", "1"], // caught at the last reported loss
    ] {
        let args: Vec<&str> = args.iter().copied().chain(["--out", out_arg]).collect();
        let output = example_runs::run_bounded("moons", &args, 60);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("moons: the loss became ")
                && last.contains(" at pass ")
                && last.contains("try a smaller --lr"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // A summed loss over many points with the tutorial's rate: a warning, once, and training goes on.
    let output = example_runs::run_bounded(
        "moons",
        &["--samples", "20000", "--passes", "200", "--out", out_arg],
        120,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("moons: warning: the loss rose to "),
        "{stderr}"
    );
    // The tutorial's own run, whose loss rises slightly as it settles, gets no warning (checked
    // in `default_run_prints_the_tutorials_losses` by its empty stderr).
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    let out = scratch_dir("absurd");
    let csv = |name: &str, text: &str| {
        let path = out.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let many_sizes = vec!["3"; 10_000].join(",");
    let big_label = csv("big.csv", "x1,x2,label\n0,0,0\n1,1,100000000\n");
    let huge_label = csv("huge.csv", "x1,x2,label\n0,0,0\n1,1,18446744073709551615\n");
    let twenty = csv("twenty.csv", "x1,x2,label\n0,0,0\n1,1,20\n");
    let far = csv("far.csv", "x1,x2,label\n1.7e308,0,0\n-1.7e308,1,1\n");
    let cases: [(Vec<&str>, &str); 10] = [
        (
            vec!["--samples", "1000000000000"],
            "more than the 10000000 points",
        ),
        (
            vec!["--hidden", "100000000000"],
            "more than the 1000 hidden units",
        ),
        (vec!["--hidden", "1001"], "more than the 1000 hidden units"),
        (
            vec!["--samples", "10000000", "--hidden", "1000"],
            "10000000 points × 1000 hidden units make more than the 50000000 activations",
        ),
        (
            vec!["--hidden", &many_sizes],
            "10000 sizes, more than the 16",
        ),
        (vec!["--noise", "1.7e308"], "1.7e308 is more than the 1e6"),
        // The library's cap on classes, then the example's own (its palette has 11 colours).
        (
            vec!["--data", &big_label],
            "line 3, column 3: class 100000000 is not below 256",
        ),
        (
            vec!["--data", &huge_label],
            "class 18446744073709551615 is not below 256",
        ),
        (
            vec!["--data", &twenty],
            "label 20: this example draws at most 11 classes",
        ),
        (vec!["--data", &far], "coordinate 1.7e308 is beyond"),
    ];
    for (args, message) in cases {
        let args: Vec<&str> = args
            .into_iter()
            .chain(["--out", out.to_str().unwrap()])
            .collect();
        let output = example_runs::run_bounded("moons", &args, 60);
        let what: String = args.join(" ").chars().take(80).collect();
        example_runs::assert_refused(&output, &what, message);
    }
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn a_reader_that_stops_reading_ends_the_run_quietly() {
    use std::io::Read;
    let mut child = std::process::Command::new(example_runs::binary("moons"))
        .args([
            "--passes",
            "5000",
            "--out",
            scratch_dir("pipe").to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe closes
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn the_widest_hidden_layer_allowed_trains_and_draws_in_bounded_memory() {
    let out = scratch_dir("widest");
    let args = [
        "--hidden",
        "1000",
        "--passes",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    let output = example_runs::run_bounded("moons", &args, 120);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(out.join("moons.png").exists());
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn a_tiny_learning_rate_prints_two_over_it_in_short() {
    let out = scratch_dir("tiny-lr");
    let output = run_moons(&[
        "--lr",
        "1e-300",
        "--passes",
        "2",
        "--sharpness",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    // On main: 2/lr printed with all of its 301 digits.
    assert!(stdout.contains("2/lr = 2.0000e300)"), "{stdout}");
    std::fs::remove_dir_all(out).ok();
}
