//! The spiral example as a user runs it: it learns the spiral, saves weights that load back to
//! the same predictions, and refuses bad flags and bad weight files with one line.

mod example_runs;

use example_runs::{assert_refused, printed_accuracy, run, scratch_dir};

#[test]
fn trains_to_99_percent_saves_and_loads() {
    let out = scratch_dir("spiral");
    let weights = out.join("weights.safetensors");
    let out_arg = out.to_str().unwrap();
    let trained = run(
        "spiral",
        &["--out", out_arg, "--save", weights.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&trained.stdout);
    assert!(
        trained.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("epoch 300: loss ")),
        "{stdout}"
    );
    let accuracy = printed_accuracy(&stdout);
    assert!(accuracy >= 0.99, "{stdout}");
    // Its own loss picture's name: moons' loss.png in the same folder stays.
    assert!(!out.join("loss.png").exists());
    for picture in ["spiral.png", "spiral_loss.png"] {
        let bytes = std::fs::read(out.join(picture)).expect(picture);
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5000,
            "{picture}"
        );
    }

    let loaded = run(
        "spiral",
        &["--out", out_arg, "--load", weights.to_str().unwrap()],
    );
    let loaded_stdout = String::from_utf8_lossy(&loaded.stdout);
    assert!(loaded.status.success(), "{loaded_stdout}");
    assert!(
        !loaded_stdout.contains("epoch "),
        "--load trained: {loaded_stdout}"
    );
    assert_eq!(printed_accuracy(&loaded_stdout), accuracy);

    // A truncated file, a model of another size, a file of another kind, a missing file.
    let bytes = std::fs::read(&weights).unwrap();
    let truncated = out.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let cases: [(Vec<String>, &str); 7] = [
        (
            vec!["--hidden".into(), "100000".into()],
            "more than the 1000 hidden units",
        ),
        (
            vec!["--epochs".into(), "1000000000000000000".into()],
            "more than the 1000000 epochs",
        ),
        (
            vec!["--load".into(), path(&truncated)],
            "not a safetensors file",
        ),
        (
            vec![
                "--load".into(),
                path(&weights),
                "--hidden".into(),
                "50".into(),
            ],
            "tensor mlp.0.weight has shape [100, 2], the model's [50, 2]",
        ),
        (
            vec![
                "--load".into(),
                concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").into(),
            ],
            "not a safetensors file",
        ),
        (
            vec!["--load".into(), path(&out.join("missing"))],
            "No such file",
        ),
        (
            vec!["--epocs".into(), "3".into()],
            "a similar argument exists: '--epochs'",
        ),
    ];
    for (args, message) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(&run("spiral", &args), &format!("{args:?}"), message);
    }
    // A diverging run stops with one line and exit status 1, as the moons example does.
    let diverged = run("spiral", &["--lr", "1e300", "--out", out_arg]);
    let stderr = String::from_utf8_lossy(&diverged.stderr);
    assert_eq!(diverged.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("spiral: the loss became NaN in epoch 1"),
        "{stderr}"
    );
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn output_places_are_checked_before_training() {
    let out = scratch_dir("spiral-places");
    let weights = out.join("weights.safetensors");
    // On main: 300 epochs trained, then loss.png failed and the weights were never saved.
    let cases = [
        (
            vec![
                "--out",
                "/proc/forbidden",
                "--save",
                weights.to_str().unwrap(),
            ],
            "--out /proc/forbidden: cannot write there",
        ),
        (
            vec!["--save", "/proc/forbidden/weights.safetensors"],
            "--save /proc/forbidden: cannot write there",
        ),
        (
            vec!["--save", out.to_str().unwrap()],
            "a folder, not a file",
        ),
    ];
    for (args, message) in cases {
        let output = run("spiral", &args);
        assert_refused(&output, &format!("{args:?}"), message);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!stdout.contains("epoch "), "{args:?} trained: {stdout}");
    }
    std::fs::remove_dir_all(out).ok();
}
