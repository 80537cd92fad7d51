//! The tape's gradients against the tutorial's hand-derived backprop (`tapegrad::tutorial`), and
//! both against finite differences: over many networks, over a whole training run, and with
//! deliberately wrong hand formulas that the comparison must catch.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::datasets::make_moons_numpy;
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::{TwoLayer, TwoLayerGradients, objective};
use tapegrad::{
    GradCheck, GradientReport, Reduction, Tape, Tensor, Var, compare_gradients, gradcheck,
};

/// The tape's gradients of the tutorial's [`objective`], named and shaped as the hand-derived ones.
fn tape_gradients(
    model: &TwoLayer,
    x: &Tensor,
    labels: &[usize],
    reg: f64,
    reduction: Reduction,
) -> TwoLayerGradients {
    let tape = Tape::new();
    let params = model.on_tape(&tape);
    let loss = objective(tape.constant(x.clone()), labels, params, reg, reduction);
    TwoLayerGradients::from_tape(&loss.backward(), params)
}

fn compare(by_tape: &TwoLayerGradients, candidate: &TwoLayerGradients) -> GradientReport {
    compare_gradients(&by_tape.named(), &candidate.named()).labelled("autodiff", "hand")
}

/// A random problem: points `[batch, 2]`, labels among `classes`, weights scaled by `scale`.
fn problem(
    seed: u64,
    hidden: usize,
    batch: usize,
    classes: usize,
    scale: f64,
) -> (TwoLayer, Tensor, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = &Tensor::randn(&[batch, 2], &mut rng) * 1.5;
    let labels = (0..batch).map(|_| rng.random_range(0..classes)).collect();
    let mut model = TwoLayer::init(2, hidden, classes, &mut rng);
    model.w1 *= scale;
    model.w2 *= scale;
    model.b1 = &Tensor::randn(&[1, hidden], &mut rng) * scale;
    model.b2 = &Tensor::randn(&[1, classes], &mut rng) * 0.5;
    (model, x, labels)
}

#[test]
fn tape_equals_hand_formulas_over_many_networks() {
    let mut worst = (0.0f64, String::new());
    let mut cases = 0;
    for (h, &hidden) in [1, 2, 3, 5, 20, 50].iter().enumerate() {
        for (b, &batch) in [1, 2, 7, 200, 500].iter().enumerate() {
            // From small weights, through the tutorial's, to large enough to saturate tanh.
            for (s, &scale) in [0.1, 1.0, 30.0].iter().enumerate() {
                for reg in [0.0, 0.01] {
                    let classes = if (h + b + s) % 3 == 0 { 3 } else { 2 };
                    let seed = (100 * h + 10 * b + s) as u64;
                    let (model, x, labels) = problem(seed, hidden, batch, classes, scale);
                    let by_hand = model.hand_gradients(&x, &labels, reg);

                    let summed = compare(
                        &tape_gradients(&model, &x, &labels, reg, Reduction::Sum),
                        &by_hand,
                    );
                    assert!(
                        summed.agrees(1e-12),
                        "H={hidden} N={batch} C={classes} scale={scale} reg={reg}, summed loss:\n{summed}"
                    );
                    // The mean loss's gradient is the hand formulas' divided by N.
                    let by_hand_over_n = TwoLayerGradients {
                        w1: &by_hand.w1 / batch as f64,
                        b1: &by_hand.b1 / batch as f64,
                        w2: &by_hand.w2 / batch as f64,
                        b2: &by_hand.b2 / batch as f64,
                    };
                    let mean = compare(
                        &tape_gradients(&model, &x, &labels, reg, Reduction::Mean),
                        &by_hand_over_n,
                    );
                    assert!(
                        mean.agrees(1e-12),
                        "H={hidden} N={batch} C={classes} scale={scale} reg={reg}, mean loss:\n{mean}"
                    );
                    for report in [summed, mean] {
                        if report.max_rel_error() > worst.0 {
                            worst = (
                                report.max_rel_error(),
                                format!("H={hidden} N={batch} scale={scale} reg={reg}"),
                            );
                        }
                    }
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 180);
    println!(
        "worst relative error over {cases} networks, two reductions each: {:.2e} at {}",
        worst.0, worst.1
    );
}

/// [`objective`] summed, with reg 0.01, over a slice of the four parameters (the checker's form).
fn summed_objective<'t>(v: &[Var<'t>], x: &Tensor, labels: &[usize]) -> Var<'t> {
    let data = v[0].tape().constant(x.clone());
    objective(data, labels, [v[0], v[1], v[2], v[3]], 0.01, Reduction::Sum)
}

#[test]
fn both_agree_with_finite_differences() {
    for (seed, hidden, batch) in [(1, 3, 200), (2, 5, 7), (3, 1, 2)] {
        let (model, x, labels) = problem(seed, hidden, batch, 2, 1.0);
        let parameters = [
            model.w1.clone(),
            model.b1.clone(),
            model.w2.clone(),
            model.b2.clone(),
        ];
        // The tape, through the checker itself.
        let report = gradcheck(&parameters, |v| summed_objective(v, &x, &labels))
            .expect("the tape passes gradcheck");
        assert_eq!(report.elements, 5 * hidden + 2); // W1 2×H, b1 H, W2 H×2, b2 2
        // The hand formulas, against the same finite differences.
        let numeric = GradCheck::default()
            .numeric_gradients(&parameters, |v| summed_objective(v, &x, &labels));
        let numeric = TwoLayerGradients {
            w1: numeric[0].clone(),
            b1: numeric[1].clone(),
            w2: numeric[2].clone(),
            b2: numeric[3].clone(),
        };
        let by_hand = model.hand_gradients(&x, &labels, 0.01);
        let against_numeric = compare_gradients(&by_hand.named(), &numeric.named());
        assert!(
            against_numeric.agrees(1e-7),
            "hand vs finite differences:\n{against_numeric}"
        );
    }
}

/// The tutorial's run driven by the tape and by the hand formulas. From about pass 1100 the run
/// amplifies last-bit differences and ends in a period-2 oscillation whose phase they decide, so
/// the weights are compared at pass 1000 and the final losses against the oscillation's band.
#[test]
fn the_tutorials_run_driven_either_way_agrees_early_and_ends_in_the_same_band() {
    let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
    let start = TwoLayer::tutorial_init(3, 2);
    let (mut by_tape, mut by_hand) = (start.clone(), start);
    for pass in 1..=20000 {
        let tape_step = tape_gradients(&by_tape, &x, &labels, 0.01, Reduction::Sum);
        by_tape.descend(&tape_step, 0.01);
        let hand_step = by_hand.hand_gradients(&x, &labels, 0.01);
        by_hand.descend(&hand_step, 0.01);
        if pass == 1000 {
            let weights = compare_gradients(&by_tape.named(), &by_hand.named());
            for row in &weights.rows {
                assert!(
                    row.max_abs_diff < 1e-12,
                    "{} drifted apart by pass 1000:\n{weights}",
                    row.name
                );
            }
        }
    }
    for (driver, model) in [("tape", &by_tape), ("hand", &by_hand)] {
        let loss = model.printed_loss(&x, &labels, 0.01);
        assert!(
            (0.0707..0.0714).contains(&loss),
            "{driver}-driven final loss {loss} outside the tutorial's band"
        );
    }
}

/// Ways to get the tutorial's backprop wrong.
#[derive(Clone, Copy, Debug)]
enum Mistake {
    /// δ2 = δ3 W2ᵀ, forgetting tanh's derivative.
    NoTanhDerivative,
    /// db1 = δ2, not summed over the rows.
    Db1NotSummed,
    /// db1 with the tutorial's shape (H,) instead of b1's (1, H).
    Db1AsVector,
    /// dW without the regularisation term.
    NoRegularisation,
}

/// The hand formulas with one `mistake` in them.
fn wrong_hand_gradients(
    model: &TwoLayer,
    x: &Tensor,
    labels: &[usize],
    reg: f64,
    mistake: Mistake,
) -> TwoLayerGradients {
    let a1 = (&x.matmul(&model.w1) + &model.b1).map(f64::tanh);
    let mut delta3 = (&a1.matmul(&model.w2) + &model.b2).softmax(1);
    for (row, &label) in labels.iter().enumerate() {
        delta3[[row, label]] -= 1.0;
    }
    let mut delta2 = delta3.matmul_t(&model.w2);
    if !matches!(mistake, Mistake::NoTanhDerivative) {
        delta2 = &delta2 * &a1.map(|a| 1.0 - a * a);
    }
    let mut gradients = TwoLayerGradients {
        w1: x.t_matmul(&delta2),
        b1: match mistake {
            Mistake::Db1NotSummed => delta2.clone(),
            Mistake::Db1AsVector => delta2.sum_axis(0, false),
            _ => delta2.sum_axis(0, true),
        },
        w2: a1.t_matmul(&delta3),
        b2: delta3.sum_axis(0, true),
    };
    if !matches!(mistake, Mistake::NoRegularisation) {
        gradients.w1.add_scaled(reg, &model.w1);
        gradients.w2.add_scaled(reg, &model.w2);
    }
    gradients
}

#[test]
fn wrong_hand_formulas_are_caught_and_named() {
    let (model, x, labels) = problem(7, 3, 50, 2, 1.0);
    let by_tape = tape_gradients(&model, &x, &labels, 0.01, Reduction::Sum);
    let cases = [
        (Mistake::NoTanhDerivative, vec!["W1", "b1"]),
        (Mistake::Db1NotSummed, vec!["b1"]),
        (Mistake::Db1AsVector, vec!["b1"]),
        (Mistake::NoRegularisation, vec!["W1", "W2"]),
    ];
    for (mistake, named) in cases {
        let wrong = wrong_hand_gradients(&model, &x, &labels, 0.01, mistake);
        let report = compare(&by_tape, &wrong);
        let caught: Vec<&str> = report
            .disagreeing(1e-12)
            .map(|row| row.name.as_str())
            .collect();
        assert_eq!(caught, named, "{mistake:?}:\n{report}");
        let table = report.to_string();
        for name in named {
            assert!(
                table.lines().any(|line| line.starts_with(name)),
                "{mistake:?}: no row for {name}:\n{table}"
            );
        }
    }
    // With no mistake, this same reimplementation agrees: the cases above fail for their mistake alone.
    let right = compare(&by_tape, &model.hand_gradients(&x, &labels, 0.01));
    assert!(right.agrees(1e-12), "{right}");
}

#[test]
fn a_shape_mismatch_is_reported_not_compared() {
    let (model, x, labels) = problem(8, 4, 10, 2, 1.0);
    let by_tape = tape_gradients(&model, &x, &labels, 0.0, Reduction::Sum);
    let wrong = wrong_hand_gradients(&model, &x, &labels, 0.0, Mistake::Db1AsVector);
    let report = compare(&by_tape, &wrong);
    let b1 = &report.rows[1];
    assert_eq!(
        (b1.name.as_str(), b1.candidate_shape.as_deref()),
        ("b1", Some(&[4][..]))
    );
    assert!(
        report.to_string().contains("shapes differ: hand has [4]"),
        "{report}"
    );
}

#[test]
fn nan_and_infinity_are_never_within_tolerance() {
    let reference = Tensor::from_slice(&[1.0, 2.0]);
    let with_nan = Tensor::from_slice(&[1.0, f64::NAN]);
    let with_inf = Tensor::from_slice(&[1.0, f64::INFINITY]);
    let report = compare_gradients(
        &[("a", &reference), ("b", &reference)],
        &[("a", &with_nan), ("b", &with_inf)],
    );
    assert!(report.rows[0].max_rel_error.is_nan() && report.rows[0].worst_index.as_slice() == [1]);
    assert_eq!(report.rows[1].max_rel_error, f64::INFINITY);
    assert!(report.max_rel_error().is_nan());
    assert_eq!(report.disagreeing(1.0).count(), 2);
}
