//! `--check-gradients`: at chosen passes, the tape's gradients held against the tutorial's
//! hand-derived formulas (`tapegrad::tutorial`) and against central finite differences.

use tapegrad::tutorial::{TwoLayer, TwoLayerGradients};
use tapegrad::{GradCheck, compare_gradients_with_numeric};

use crate::Data;

/// Relative error allowed between the tape and the hand formulas: both are exact up to rounding.
pub const HAND_TOLERANCE: f64 = 1e-10;
/// Absolute difference allowed from a central finite difference (step 1e-6) of the summed loss.
pub const NUMERIC_TOLERANCE: f64 = 1e-4;

/// The passes at which gradients are checked: 0, 1, 10, 100, 1000 and the last.
pub fn is_checkpoint(pass: usize, passes: usize) -> bool {
    matches!(pass, 0 | 1 | 10 | 100 | 1000) || pass + 1 == passes
}

/// Prints the comparison table for the model at this pass; returns whether all agreed.
pub fn report(
    pass: usize,
    model: &TwoLayer,
    by_tape: &TwoLayerGradients,
    data: &Data,
    reg: f64,
) -> bool {
    let by_hand = model.hand_gradients(&data.x, &data.labels, reg);
    let parameters = [
        model.w1.clone(),
        model.b1.clone(),
        model.w2.clone(),
        model.b2.clone(),
    ];
    let numeric = GradCheck::default()
        .numeric_gradients(&parameters, |v| crate::summed_objective(v, data, reg));
    let numeric_named: Vec<(&str, &tapegrad::Tensor)> =
        ["W1", "b1", "W2", "b2"].into_iter().zip(&numeric).collect();
    let report = compare_gradients_with_numeric(&by_tape.named(), &by_hand.named(), &numeric_named)
        .labelled("autodiff", "hand");
    println!("pass {pass}:");
    print!("{report}");
    let numeric_agrees = report.rows.iter().all(|row| {
        row.max_numeric_diff
            .is_some_and(|diff| diff <= NUMERIC_TOLERANCE)
    });
    report.agrees(HAND_TOLERANCE) && numeric_agrees
}
