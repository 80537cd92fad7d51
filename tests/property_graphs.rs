//! Random graphs of the op table's rows against central finite differences: 2–30 ops over 1–3
//! inputs of random shapes, one tape reused (cleared) for every graph and `backward` called
//! twice on each; and smaller graphs whose second derivatives `gradgradcheck` checks. The steps
//! are drawn from `ops::table::OPS`, so an op is in these graphs the day its row is added. A fixed
//! seed and a few hundred graphs in `cargo test`; `TAPEGRAD_PROPERTY_GRAPHS=100000` for a long run.
//!
//! Each row's inputs are its own drawn values (from its domain) moved by the values computed so
//! far: `base + 0.05 · tanh(earlier)`, elementwise where the shapes agree and through the mean
//! otherwise. The shift is small enough to keep every input in its domain (away from kinks,
//! poles and ties), so every graph is smooth and every gradient flows through every op.
//!
//! Judged by relative tolerance (`|analytic − numeric| ≤ 1e-9 + 1e-4 · |numeric|`): an absolute
//! tolerance alone can hide a gradient that is 1% off, which the sanity test proves is caught.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::ops::table::{OPS, OpRow};
use tapegrad::ops::{BackwardArgs, InputGrads, Op};
use tapegrad::{Tape, Tensor, Var, gradgradcheck};

/// One op of a random graph: a row of the table with, for each of its inputs, the drawn base
/// value and the index of the earlier value that moves it.
#[derive(Clone)]
struct Step {
    row: &'static OpRow,
    bases: Vec<Tensor>,
    operands: Vec<usize>,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:?}", self.row.name, self.operands)
    }
}

/// Identity forward, gradient scaled by 1.01: a 1% error the checker must catch.
struct OnePercentOff;

impl Op for OnePercentOff {
    fn name(&self) -> &'static str {
        "one_percent_off"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].clone()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output * 1.01)]
    }
}

struct Graph {
    inputs: Vec<Tensor>,
    /// Sanity mode: input 0 reaches the rest only through `OnePercentOff`.
    one_percent_off: bool,
    steps: Vec<Step>,
    weights: Tensor,
}

/// `base + 0.05 · tanh(earlier)`: elementwise if the shapes agree, else through the mean.
fn moved<'t>(tape: &'t Tape, base: &Tensor, earlier: Var<'t>) -> Var<'t> {
    let shift = if earlier.shape().as_slice() == base.shape() {
        earlier.tanh()
    } else {
        earlier.mean().tanh()
    };
    tape.constant(base.clone()) + shift * 0.05
}

fn apply_step<'t>(tape: &'t Tape, step: &Step, values: &[Var<'t>]) -> Var<'t> {
    let inputs: Vec<Var<'t>> = (step.bases.iter().zip(&step.operands))
        .map(|(base, &operand)| moved(tape, base, values[operand]))
        .collect();
    (step.row.apply)(&inputs)
}

/// The scalar the checks differentiate: `Σ w ⊙ last`, plus a tenth of the mean of every value
/// (the inputs too), so that every op's gradient is exercised even where the last value ignores
/// it, and every input has a gradient.
fn evaluate<'t>(graph: &Graph, tape: &'t Tape, inputs: &[Var<'t>]) -> Var<'t> {
    let mut values: Vec<Var<'t>> = inputs.to_vec();
    if graph.one_percent_off {
        values[0] = tape.apply(OnePercentOff, &[values[0]]);
    }
    for step in &graph.steps {
        let value = apply_step(tape, step, &values);
        values.push(value);
    }
    let last = *values.last().unwrap();
    let weighted = (last * tape.constant(graph.weights.clone())).sum();
    values
        .iter()
        .fold(weighted, |total, v| total + v.mean() * 0.1)
}

/// A random shape of rank 0 to 2 with lengths 1 to 3.
fn random_shape(rng: &mut StdRng) -> Vec<usize> {
    (0..rng.random_range(0..=2))
        .map(|_| rng.random_range(1..=3))
        .collect()
}

fn random_graph(rng: &mut StdRng, steps: usize, one_percent_off: bool) -> Graph {
    let inputs: Vec<Tensor> = (0..rng.random_range(1..=3))
        .map(|_| Tensor::randn(&random_shape(rng), rng))
        .collect();
    let scratch = Tape::no_grad();
    let mut values: Vec<Var> = inputs.iter().map(|t| scratch.var(t.clone())).collect();
    let mut graph = Graph {
        inputs,
        one_percent_off,
        steps: Vec::new(),
        weights: Tensor::zeros(&[]),
    };
    while graph.steps.len() < steps {
        let row = &OPS[rng.random_range(0..OPS.len())];
        let step = Step {
            row,
            bases: (row.inputs.iter())
                .map(|&(shape, domain)| domain.sample(shape, rng))
                .collect(),
            operands: (0..row.arity())
                .map(|_| rng.random_range(0..values.len()))
                .collect(),
        };
        let value = apply_step(&scratch, &step, &values);
        // Keep values in a range where finite differences are accurate.
        if value
            .value()
            .data()
            .iter()
            .any(|v| !v.is_finite() || v.abs() > 1e3)
        {
            continue;
        }
        values.push(value);
        graph.steps.push(step);
    }
    graph.weights =
        Tensor::randn(&values.last().unwrap().shape(), rng).map(|w| w.signum() * (w.abs() + 0.5));
    graph
}

/// The graph's analytic gradients on `tape` (cleared first), from two backward walks that must
/// agree exactly, and from `grad` (the rules recorded rather than evaluated), which must agree
/// with them bit for bit.
fn analytic(graph: &Graph, tape: &mut Tape) -> Vec<Tensor> {
    tape.clear();
    let inputs: Vec<Var> = graph.inputs.iter().map(|t| tape.var(t.clone())).collect();
    let output = evaluate(graph, tape, &inputs);
    let (first, second) = (output.backward(), output.backward());
    let recorded = output.grad(&inputs);
    inputs
        .iter()
        .zip(recorded)
        .map(|(&x, recorded)| {
            // An input no step used has no gradient: zero, as finite differences will say.
            let grad = first.get(x).cloned();
            assert_eq!(grad.as_ref(), second.get(x), "backward twice differs");
            let grad = grad.unwrap_or_else(|| Tensor::zeros(x.value().shape()));
            assert_eq!(
                grad,
                recorded.value(),
                "evaluated and recorded rules differ"
            );
            grad
        })
        .collect()
}

/// Central differences of the graph's output with respect to every input element.
fn numeric(graph: &Graph, eps: f64) -> Vec<Tensor> {
    let f = |inputs: &[Tensor]| {
        let tape = Tape::no_grad();
        let vars: Vec<Var> = inputs.iter().map(|t| tape.var(t.clone())).collect();
        evaluate(graph, &tape, &vars).item()
    };
    let mut inputs = graph.inputs.clone();
    (0..inputs.len())
        .map(|i| {
            let mut grad = Tensor::zeros(inputs[i].shape());
            for k in 0..inputs[i].len() {
                let x = inputs[i].data()[k];
                inputs[i].data_mut()[k] = x + eps;
                let up = f(&inputs);
                inputs[i].data_mut()[k] = x - eps;
                let down = f(&inputs);
                inputs[i].data_mut()[k] = x;
                grad.data_mut()[k] = (up - down) / (2.0 * eps);
            }
            grad
        })
        .collect()
}

/// The first element where analytic and numeric gradients differ by more than the tolerance,
/// judged relative to the numeric one.
fn disagreement(analytic: &[Tensor], numeric: &[Tensor]) -> Option<String> {
    for (input, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        for (k, (&a, &n)) in a.data().iter().zip(n.data()).enumerate() {
            if (a - n).abs() > 1e-9 + 1e-4 * n.abs() {
                return Some(format!(
                    "input {input}, element {k}: analytic {a}, numeric {n}"
                ));
            }
        }
    }
    None
}

/// Whether the central differences with two step sizes agree: if not, finite differences are
/// not accurate enough here and the graph proves nothing either way.
fn numerics_agree(graph: &Graph) -> Option<Vec<Tensor>> {
    let (coarse, fine) = (numeric(graph, 1e-5), numeric(graph, 1e-6));
    disagreement(&fine, &coarse).is_none().then_some(fine)
}

fn graphs(default: usize) -> usize {
    std::env::var("TAPEGRAD_PROPERTY_GRAPHS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_graphs_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(2026);
    let mut tape = Tape::new();
    let (total, mut checked) = (graphs(500), 0);
    let mut used = vec![0usize; OPS.len()];
    for index in 0..total {
        let steps = rng.random_range(2..=30);
        let graph = random_graph(&mut rng, steps, false);
        let Some(numeric) = numerics_agree(&graph) else {
            continue;
        };
        let analytic = analytic(&graph, &mut tape);
        if let Some(error) = disagreement(&analytic, &numeric) {
            panic!(
                "graph {index}: {error}\ninputs {:?}\nsteps {:?}",
                graph.inputs, graph.steps
            );
        }
        for step in &graph.steps {
            used[OPS
                .iter()
                .position(|row| std::ptr::eq(row, step.row))
                .unwrap()] += 1;
        }
        checked += 1;
    }
    println!("{checked} of {total} graphs checked");
    // Smooth by construction: the step-size test may excuse a few graphs, never most of them.
    assert!(
        checked * 10 >= total * 9,
        "only {checked} of {total} graphs had accurate finite differences"
    );
    let unused: Vec<&str> = (OPS.iter().zip(&used))
        .filter(|(_, count)| **count == 0)
        .map(|(row, _)| row.name)
        .collect();
    assert!(unused.is_empty(), "rows in no checked graph: {unused:?}");
}

#[test]
fn random_graphs_match_second_derivatives() {
    let mut rng = StdRng::seed_from_u64(7);
    let total = graphs(500) / 8;
    for index in 0..total {
        let steps = rng.random_range(1..=5);
        let graph = random_graph(&mut rng, steps, false);
        if let Err(error) = gradgradcheck(&graph.inputs, |v| evaluate(&graph, v[0].tape(), v)) {
            panic!(
                "graph {index}: {error}\ninputs {:?}\nsteps {:?}",
                graph.inputs, graph.steps
            );
        }
    }
}

#[test]
fn sanity_a_gradient_one_percent_off_is_caught() {
    let mut rng = StdRng::seed_from_u64(1984);
    let mut tape = Tape::new();
    let (mut caught, mut checked) = (0, 0);
    for _ in 0..100 {
        let steps = rng.random_range(2..=30);
        let graph = random_graph(&mut rng, steps, true);
        let Some(numeric) = numerics_agree(&graph) else {
            continue;
        };
        // A graph whose output does not depend on input 0 has nothing to get wrong.
        if numeric[0].data().iter().all(|&g| g.abs() < 1e-6) {
            continue;
        }
        checked += 1;
        caught += usize::from(disagreement(&analytic(&graph, &mut tape), &numeric).is_some());
    }
    assert!(checked >= 50, "only {checked} graphs used input 0");
    assert_eq!(caught, checked, "a 1% error went unnoticed");
}
