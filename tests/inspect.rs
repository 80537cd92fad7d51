//! Seeing inside the tape: the printed listing, the DOT graph, and the search for the first
//! non-finite value.

use tapegrad::anomaly::{self, Pass};
use tapegrad::{Reduction, Tape, Tensor};

/// The listing with each call site replaced by `LOC` and runs of spaces folded, so that the
/// expected text does not depend on this file's line numbers or on column widths.
fn normalised(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split_whitespace()
                .map(|word| {
                    if word.starts_with("tests/inspect.rs:") {
                        "LOC"
                    } else {
                        word
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_listing_of_a_small_network_is_as_expected() {
    let tape = Tape::new();
    let x = tape.constant(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]));
    let w = tape.var(Tensor::from_rows(&[[0.1, 0.2], [0.3, 0.4]]));
    let b = tape.var(Tensor::from_rows(&[[0.5, -0.5]]));
    let logits = (x.matmul(w) + b).tanh();
    let loss_line = line!() + 1;
    let loss = logits.cross_entropy(&[0, 1, 1], Reduction::Mean);
    let expected = "\
#0 constant [3, 2] LOC
#1 variable [2, 2] LOC
#2 variable [1, 2] LOC
#3 matmul(#0, #1) [3, 2] LOC
#4 add(#3, #2) [3, 2] LOC
#5 tanh(#4) [3, 2] LOC
#6 cross_entropy(#5) [] LOC";
    assert_eq!(normalised(&tape.to_string()), expected);

    // Each line names the line of code that made the node.
    let text = tape
        .summary()
        .with_values()
        .with_gradients(&loss.backward())
        .to_string();
    let line_of_loss = format!("tests/inspect.rs:{loss_line}:");
    assert!(
        text.lines().nth(6).unwrap().contains(&line_of_loss),
        "{text}"
    );
    // The constant has no gradient; every other node does.
    let gradient_columns: Vec<&str> = text
        .lines()
        .map(|line| line.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(gradient_columns[0], "-", "{text}");
    assert!(
        gradient_columns[1..]
            .iter()
            .all(|norm| norm.parse::<f64>().is_ok()),
        "{text}"
    );
}

#[test]
fn the_dot_graph_has_a_box_per_node_and_an_edge_per_input() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    let c = tape.constant(Tensor::scalar(3.0));
    let y = ((x * c).exp() + x).sum();
    let dot = tape.to_dot(Some(&y.backward()));

    let lines: Vec<&str> = dot.lines().map(str::trim).collect();
    assert_eq!(lines.first(), Some(&"digraph tape {"));
    assert_eq!(lines.last(), Some(&"}"));
    let boxes: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|line| line.contains("[label="))
        .collect();
    assert_eq!(boxes.len(), tape.len());
    for (index, line) in boxes.iter().enumerate() {
        assert!(
            line.starts_with(&format!("n{index} [label=\"#{index} ")),
            "{line}"
        );
        assert!(
            line.ends_with("];") && line.matches('"').count() % 2 == 0,
            "{line}"
        );
        assert!(line.contains("tests/inspect.rs:"), "{line}");
    }
    assert!(
        boxes[0].contains("fillcolor") && boxes[1].contains("dashed"),
        "variables and constants look apart"
    );
    let mut edges: Vec<(usize, usize)> = lines
        .iter()
        .filter_map(|line| line.strip_suffix(';')?.split_once(" -> "))
        .map(|(from, to)| (from[1..].parse().unwrap(), to[1..].parse().unwrap()))
        .collect();
    edges.sort();
    // mul(#0, #1), exp(#2), add(#3, #0), sum(#4)
    assert_eq!(edges, [(0, 2), (0, 4), (1, 2), (2, 3), (3, 4), (4, 5)]);
}

#[test]
fn finds_the_log_of_zero() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[2.0, 0.0, 1.0]));
    let y = x.square() * 0.5;
    let line = line!() + 1;
    let _loss = y.log().sum();
    let error = anomaly::check(&tape, None).unwrap_err();
    assert_eq!(
        (error.pass, error.op, error.value),
        (Pass::Forward, "log", f64::NEG_INFINITY)
    );
    assert_eq!(error.location.line(), line);
    assert_eq!(
        error.to_string(),
        format!(
            "non-finite value: log(#2) at {} produced -inf; input #2 has min 0.0 and max 2.0",
            error.location
        )
    );
}

#[test]
fn finds_the_exp_that_overflowed_in_a_naive_softmax() {
    let tape = Tape::new();
    let z = tape.var(Tensor::from_rows(&[[1000.0, 0.0], [1.0, 2.0]]));
    let line = line!() + 1;
    let exp = z.exp();
    let probabilities = exp / exp.sum_axis(1, true);
    let _loss = probabilities.log().sum();
    let error = anomaly::check(&tape, None).unwrap_err();
    assert_eq!(
        (error.op, error.value, error.node.index()),
        ("exp", f64::INFINITY, 1)
    );
    assert_eq!(error.location.line(), line);
    assert!(
        error
            .to_string()
            .ends_with("produced inf; input #0 has min 0.0 and max 1000.0"),
        "{error}"
    );
}

#[test]
fn finds_a_nan_that_appears_only_going_backwards() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[0.0, 4.0]));
    let line = line!() + 1;
    let root = x.sqrt();
    let loss = (root * 2.0).sum();
    let grads = loss.backward();
    // Every value is finite (√0 = 0) ...
    assert!(
        tape.summary()
            .with_values()
            .to_string()
            .lines()
            .all(|l| !l.contains("NaN") && !l.contains("inf"))
    );
    // ... but √'s derivative at 0 is infinite.
    let error = anomaly::check(&tape, Some(&grads)).unwrap_err();
    assert_eq!(
        (error.pass, error.op, error.value),
        (Pass::Backward, "sqrt", f64::INFINITY)
    );
    assert_eq!(
        (error.node.index(), error.gradient_of.map(|id| id.index())),
        (1, Some(0))
    );
    assert_eq!(error.location.line(), line);
    assert!(
        error
            .to_string()
            .starts_with("non-finite gradient: the backward of sqrt(#0) (#1) at "),
        "{error}"
    );
}

#[test]
fn a_finite_pass_is_clean_and_a_leaf_can_be_at_fault() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[0.5, 1.5]));
    let loss = x.tanh().sum();
    assert_eq!(anomaly::check(&tape, Some(&loss.backward())), Ok(()));

    let tape = Tape::new();
    let _bad = tape.constant(Tensor::from_slice(&[1.0, f64::NAN]));
    let error = anomaly::check(&tape, None).unwrap_err();
    assert_eq!(error.op, "constant");
    assert!(
        error
            .to_string()
            .starts_with("non-finite value: constant #0 at "),
        "{error}"
    );
}

#[test]
#[should_panic(expected = "anomaly::check: the gradients come from another tape")]
fn gradients_of_another_tape_are_refused() {
    let (first, second) = (Tape::new(), Tape::new());
    let grads = first.var(Tensor::scalar(1.0)).exp().backward();
    second.var(Tensor::scalar(1.0)).exp();
    let _ = anomaly::check(&second, Some(&grads));
}

#[test]
fn gradients_that_overflow_only_when_added_up_are_named_as_such() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(1e-300));
    // Each use passes back a finite 1e308; together they are 2e308 = inf.
    let y = x * 1e308 + x * 1e308;
    let error = anomaly::check(&tape, Some(&y.backward())).unwrap_err();
    assert_eq!(
        (error.pass, error.node.index(), error.value),
        (Pass::Sum, 0, f64::INFINITY)
    );
    assert!(
        error
            .to_string()
            .starts_with("non-finite gradient: the gradients reaching variable #0 (#0) at ")
            && error
                .to_string()
                .contains("are each finite, but they add up to inf"),
        "{error}"
    );
}

#[test]
fn a_non_finite_seed_is_named_as_such() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    let y = x.exp();
    let grads = y.backward_with(Tensor::from_slice(&[1.0, f64::NAN]));
    let error = anomaly::check(&tape, Some(&grads)).unwrap_err();
    assert_eq!((error.pass, error.op), (Pass::Seed, "exp"));
    assert!(
        error
            .to_string()
            .starts_with("non-finite gradient: the seed of backward at exp(#0) (#1) at "),
        "{error}"
    );
}

#[test]
#[should_panic(
    expected = "Tape::summary: the gradients come from another tape or an earlier pass at tests/inspect.rs:"
)]
fn a_listing_refuses_gradients_of_another_tape() {
    let (first, second) = (Tape::new(), Tape::new());
    let grads = first.var(Tensor::scalar(1.0)).exp().backward();
    second.var(Tensor::scalar(1.0)).exp();
    let _ = second.summary().with_gradients(&grads);
}

#[test]
fn value_ranges_never_hide_a_nan() {
    let tape = Tape::new();
    tape.constant(Tensor::from_slice(&[1.0, f64::NAN, 3.0]));
    let text = tape.summary().with_values().to_string();
    assert!(text.contains("min NaN  mean NaN  max NaN"), "{text}");
}
