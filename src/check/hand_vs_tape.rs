//! Comparing two sets of named gradients, such as the tape's against formulas derived by hand,
//! element by element, with a report that prints as a table.

use std::fmt;

use crate::{Shape, Tensor};

/// How one parameter's two gradients compare.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientDifference {
    /// The parameter's name, as given.
    pub name: String,
    /// The reference gradient's shape.
    pub shape: Shape,
    /// The candidate's shape where it differs from the reference's (then nothing else is compared).
    pub candidate_shape: Option<Shape>,
    /// The largest `|reference − candidate|` over the elements.
    pub max_abs_diff: f64,
    /// `max_abs_diff` over the largest magnitude in either tensor: the error relative to the
    /// gradient's scale, which stays meaningful where single elements are near zero.
    pub max_rel_error: f64,
    /// Where the largest difference is.
    pub worst_index: Shape,
    /// The reference's value there.
    pub reference: f64,
    /// The candidate's value there.
    pub candidate: f64,
    /// The largest `|reference − numeric|` against a finite difference, when one was given to
    /// [`compare_gradients_with_numeric`] (infinite if its shape differs).
    pub max_numeric_diff: Option<f64>,
}

impl GradientDifference {
    fn new(name: &str, reference: &Tensor, candidate: &Tensor) -> GradientDifference {
        let mut difference = GradientDifference {
            name: name.to_string(),
            shape: reference.shape().into(),
            candidate_shape: None,
            max_abs_diff: f64::INFINITY,
            max_rel_error: f64::INFINITY,
            worst_index: Shape::new(),
            reference: f64::NAN,
            candidate: f64::NAN,
            max_numeric_diff: None,
        };
        if reference.shape() != candidate.shape() {
            difference.candidate_shape = Some(candidate.shape().into());
            return difference;
        }
        let mut worst = (0, -1.0);
        for (offset, (r, c)) in reference.data().iter().zip(candidate.data()).enumerate() {
            let diff = (r - c).abs();
            // NaN counts as the worst difference of all.
            if diff > worst.1 || diff.is_nan() && !worst.1.is_nan() {
                worst = (offset, diff);
            }
        }
        let scale = reference
            .data()
            .iter()
            .chain(candidate.data())
            .fold(0.0f64, |m, x| m.max(x.abs()));
        difference.max_abs_diff = worst.1.max(0.0);
        difference.max_rel_error = if worst.1.is_nan() || worst.1.is_infinite() {
            worst.1 // NaN or ∞ stay what they are; ∞ / ∞ would turn into NaN
        } else if scale > 0.0 {
            difference.max_abs_diff / scale
        } else {
            0.0
        };
        if worst.1.is_nan() {
            difference.max_abs_diff = f64::NAN;
        }
        if !reference.is_empty() {
            difference.worst_index = crate::tensor::unravel(worst.0, reference.shape());
            difference.reference = reference.data()[worst.0];
            difference.candidate = candidate.data()[worst.0];
        }
        difference
    }

    /// Whether the shapes match and the relative error is at most `tolerance` (NaN never agrees).
    pub fn agrees(&self, tolerance: f64) -> bool {
        self.candidate_shape.is_none() && self.max_rel_error <= tolerance
    }
}

/// The comparison of a reference set of gradients (say, the tape's) with a candidate set (say,
/// hand-derived), one [`GradientDifference`] per parameter. `Display` prints it as a table.
///
/// ```
/// use tapegrad::{Tape, Tensor, compare_gradients};
///
/// // d/dw Σ (x w)² = 2 xᵀ (x w), derived by hand; and a wrong version without the 2.
/// let x = Tensor::from_rows(&[[1.0, 2.0], [3.0, -1.0]]);
/// let w_value = Tensor::from_rows(&[[0.5], [-0.25]]);
/// let tape = Tape::new();
/// let w = tape.var(w_value.clone());
/// let grads = tape.constant(x.clone()).matmul(w).square().sum().backward();
/// let by_hand = &x.t_matmul(&x.matmul(&w_value)) * 2.0;
/// let wrong = x.t_matmul(&x.matmul(&w_value));
///
/// let report = compare_gradients(&[("w", grads.wrt(w))], &[("w", &by_hand)]);
/// assert!(report.agrees(1e-12));
/// let report = compare_gradients(&[("w", grads.wrt(w))], &[("w", &wrong)]);
/// assert!(!report.agrees(1e-12));
/// assert_eq!(report.disagreeing(1e-12).next().unwrap().name, "w");
/// println!("{report}");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradientReport {
    /// One entry per parameter, in the reference's order.
    pub rows: Vec<GradientDifference>,
    /// What the table calls the two sides: "reference" and "candidate" unless [`labelled`](GradientReport::labelled).
    pub labels: [String; 2],
}

/// Compares `candidate` with `reference`, pairing gradients by name. Panics, naming it, if a
/// reference name has no candidate.
#[track_caller]
pub fn compare_gradients(
    reference: &[(&str, &Tensor)],
    candidate: &[(&str, &Tensor)],
) -> GradientReport {
    let rows = reference
        .iter()
        .map(|&(name, reference)| GradientDifference::new(name, reference, named(candidate, name)))
        .collect();
    GradientReport {
        rows,
        labels: ["reference".into(), "candidate".into()],
    }
}

/// [`compare_gradients`], plus for each parameter the largest difference between the reference
/// and a `numeric` gradient (for example from [`GradCheck::numeric_gradients`](crate::GradCheck::numeric_gradients)).
#[track_caller]
pub fn compare_gradients_with_numeric(
    reference: &[(&str, &Tensor)],
    candidate: &[(&str, &Tensor)],
    numeric: &[(&str, &Tensor)],
) -> GradientReport {
    let mut report = compare_gradients(reference, candidate);
    for (row, &(name, reference)) in report.rows.iter_mut().zip(reference) {
        let against_numeric = GradientDifference::new(name, reference, named(numeric, name));
        row.max_numeric_diff = Some(against_numeric.max_abs_diff);
    }
    report
}

/// The gradient called `name` in `set`; panics naming it if there is none.
#[track_caller]
fn named<'a>(set: &[(&str, &'a Tensor)], name: &str) -> &'a Tensor {
    match set.iter().find(|(other, _)| *other == name) {
        Some(&(_, gradient)) => gradient,
        None => panic!("compare_gradients: no gradient named '{name}' to compare with"),
    }
}

impl GradientReport {
    /// Names the two sides in the table, for example `labelled("autodiff", "hand")`.
    pub fn labelled(mut self, reference: &str, candidate: &str) -> GradientReport {
        self.labels = [reference.to_string(), candidate.to_string()];
        self
    }

    /// Whether every parameter agrees within the relative `tolerance`.
    pub fn agrees(&self, tolerance: f64) -> bool {
        self.rows.iter().all(|row| row.agrees(tolerance))
    }

    /// The parameters that do not agree within the relative `tolerance`.
    pub fn disagreeing(&self, tolerance: f64) -> impl Iterator<Item = &GradientDifference> {
        self.rows.iter().filter(move |row| !row.agrees(tolerance))
    }

    /// The largest relative error over all parameters.
    pub fn max_rel_error(&self) -> f64 {
        // A NaN anywhere is the worst of all; `f64::max` would skip it.
        self.rows
            .iter()
            .map(|row| row.max_rel_error)
            .fold(0.0, |worst, error| {
                if worst.is_nan() || error.is_nan() {
                    f64::NAN
                } else {
                    worst.max(error)
                }
            })
    }
}

impl fmt::Display for GradientReport {
    /// One line per parameter under a header, columns aligned: the largest absolute and relative
    /// differences, the largest difference from the finite difference where there is one, and the
    /// worst element with both values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [reference, candidate] = &self.labels;
        let numeric = self.rows.iter().any(|row| row.max_numeric_diff.is_some());
        let mut header = vec![
            "parameter".to_string(),
            "shape".to_string(),
            format!("max |{reference} - {candidate}|"),
            "max rel. error".to_string(),
        ];
        if numeric {
            header.push(format!("max |{reference} - numeric|"));
        }
        header.push(format!("worst element: {reference} vs {candidate}"));
        let mut table = vec![header];
        for row in &self.rows {
            let mut cells = vec![row.name.clone(), format!("{:?}", row.shape.as_slice())];
            if let Some(candidate_shape) = &row.candidate_shape {
                cells.push(format!(
                    "shapes differ: {candidate} has {:?}",
                    candidate_shape.as_slice()
                ));
                table.push(cells);
                continue;
            }
            cells.push(format!("{:.3e}", row.max_abs_diff));
            cells.push(format!("{:.3e}", row.max_rel_error));
            if numeric {
                cells.push(
                    row.max_numeric_diff
                        .map_or("-".into(), |diff| format!("{diff:.3e}")),
                );
            }
            cells.push(format!(
                "{:?}: {:.12e} vs {:.12e}",
                row.worst_index.as_slice(),
                row.reference,
                row.candidate
            ));
            table.push(cells);
        }
        let columns = table[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                table
                    .iter()
                    .filter_map(|cells| cells.get(column))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for cells in &table {
            let line: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                // Names and shapes to the left, numbers to the right, the last column as it is.
                .map(|(column, (cell, &width))| match column {
                    0 | 1 => format!("{cell:<width$}"),
                    _ if column + 1 == cells.len() => cell.clone(),
                    _ => format!("{cell:>width$}"),
                })
                .collect();
            writeln!(f, "{}", line.join("  "))?;
        }
        Ok(())
    }
}
