//! Random graphs of the public ops against central finite differences: 2–30 ops over 1–3 inputs,
//! with broadcasting, every axis of every axis op, one tape reused (cleared) for every graph and
//! `backward` called twice on each. A fixed seed and a few hundred graphs in `cargo test`;
//! `TAPEGRAD_PROPERTY_GRAPHS=100000` for a long run.
//!
//! Judged by relative tolerance (`|analytic − numeric| ≤ 1e-9 + 1e-4 · |numeric|`): an absolute
//! tolerance alone can hide a gradient that is 1% off, which the sanity test proves is caught.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::ops::{BackwardArgs, InputGrads, Op, concat, stack};
use tapegrad::{Reduction, Tape, Tensor, Var};

/// One op of a random graph; operands are indices into the values computed so far.
#[derive(Clone, Debug)]
enum Step {
    Unary(usize, u8),
    Binary(usize, usize, u8),
    Axis(usize, u8, usize, bool),
    Matmul(usize, usize),
    Transpose(usize),
    Reshape(usize),
    Unsqueeze(usize),
    Narrow(usize, usize),
    IndexSelect(usize),
    Concat(usize, usize, usize),
    Stack(usize, usize),
    Loss(usize, usize, u8),
    /// The test-only op that scales its gradient by 1.01 (sanity mode).
    Wrong(usize),
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
    fn backward(&self, args: &BackwardArgs<&Tensor>) -> InputGrads<Tensor> {
        vec![Some(args.grad_output * 1.01)]
    }
}

const UNARY: u8 = 16;
const BINARY: u8 = 4;
const AXIS_OPS: u8 = 5;

/// Applies `step` to `values`. The domains are kept safe by construction: logs, roots and
/// divisions see `x² + 1`, so no graph meets a pole.
fn apply<'t>(step: &Step, values: &[Var<'t>]) -> Var<'t> {
    match *step {
        Step::Unary(a, kind) => {
            let x = values[a];
            match kind {
                0 => x.tanh(),
                1 => x.sigmoid(),
                2 => x.sin(),
                3 => x.cos(),
                4 => x.tanh().exp(),
                5 => x.square(),
                6 => (x.square() + 1.0).log(),
                7 => (x.square() + 1.0).sqrt(),
                8 => (x.square() + 0.5).powf(-0.75),
                9 => x.relu(),
                10 => x.abs(),
                11 => x.leaky_relu(0.1),
                12 => -x * 0.5 + 0.25,
                13 => x / 3.0 - 1.0,
                14 => 2.0 / (x.square() + 1.0),
                _ => 1.5 - x,
            }
        }
        Step::Binary(a, b, kind) => {
            let (x, y) = (values[a], values[b]);
            match kind {
                0 => x + y,
                1 => x - y,
                2 => x * y,
                _ => x / (y.square() + 1.0),
            }
        }
        Step::Axis(a, kind, axis, keepdim) => {
            let x = values[a];
            match kind {
                0 => x.sum_axis(axis, keepdim),
                1 => x.mean_axis(axis, keepdim),
                2 => x.max_axis(axis, keepdim),
                3 => x.softmax(axis),
                _ => x.log_softmax(axis),
            }
        }
        Step::Matmul(a, b) => values[a].matmul(values[b]),
        Step::Transpose(a) => values[a].transpose(),
        Step::Reshape(a) => {
            let shape = values[a].shape();
            let flat: usize = shape.iter().product();
            values[a].reshape(&[flat])
        }
        Step::Unsqueeze(a) => {
            let mut shape = values[a].shape().to_vec();
            shape.insert(0, 2);
            values[a].broadcast_to(&shape)
        }
        Step::Narrow(a, axis) => {
            let len = values[a].shape()[axis];
            values[a].narrow(axis, len / 2, len - len / 2)
        }
        Step::IndexSelect(a) => {
            let rows = values[a].shape()[0];
            values[a].index_select(&[rows - 1, 0, rows - 1])
        }
        Step::Concat(a, b, axis) => concat(&[values[a], values[b]], axis),
        Step::Stack(a, b) => stack(&[values[a], values[b]], 0),
        Step::Loss(a, b, kind) => {
            let (x, y) = (values[a], values[b]);
            match kind {
                0 => x.mse_loss(y, Reduction::Mean),
                1 => {
                    let rows = x.shape()[0];
                    let classes = x.shape()[1];
                    let labels: Vec<usize> = (0..rows).map(|r| r % classes).collect();
                    x.cross_entropy(&labels, Reduction::Sum)
                }
                _ => {
                    let targets = y.value().map(|v| if v > 0.0 { 1.0 } else { 0.0 });
                    x.binary_cross_entropy_with_logits(&targets, Reduction::Mean)
                }
            }
        }
        Step::Wrong(a) => values[a].tape().apply(OnePercentOff, &[values[a]]),
    }
}

/// A random graph: input shapes, steps, and fixed weights for the output's weighted sum.
struct Graph {
    inputs: Vec<Tensor>,
    steps: Vec<Step>,
    weights: Tensor,
}

/// The scalar the checks differentiate: `Σ w ⊙ last`, plus the plain sum of every value so
/// that every op's gradient is exercised even where the last value ignores it.
fn evaluate<'t>(graph: &Graph, tape: &'t Tape, inputs: &[Var<'t>]) -> Var<'t> {
    let mut values: Vec<Var<'t>> = inputs.to_vec();
    for step in &graph.steps {
        values.push(apply(step, &values));
    }
    let last = *values.last().unwrap();
    let weighted = (last * tape.constant(graph.weights.clone())).sum();
    values[inputs.len()..]
        .iter()
        .fold(weighted, |total, v| total + v.mean() * 0.1)
}

/// A random shape of rank 1 to 3 with lengths 1 to 3.
fn random_shape(rng: &mut StdRng) -> Vec<usize> {
    (0..rng.random_range(1..=3))
        .map(|_| rng.random_range(1..=3))
        .collect()
}

/// Picks a step valid for the shapes computed so far (operands from `first` on), or `None` to
/// try again.
fn random_step(rng: &mut StdRng, shapes: &[Vec<usize>], first: usize) -> Option<Step> {
    let a = rng.random_range(first..shapes.len());
    let b = rng.random_range(first..shapes.len());
    let (sa, sb) = (&shapes[a], &shapes[b]);
    let rank = sa.len();
    let broadcasts = sa
        .iter()
        .rev()
        .zip(sb.iter().rev())
        .all(|(x, y)| x == y || *x == 1 || *y == 1);
    Some(match rng.random_range(0..12) {
        0..=3 => Step::Unary(a, rng.random_range(0..UNARY)),
        4 | 5 if broadcasts => Step::Binary(a, b, rng.random_range(0..BINARY)),
        6 if rank > 0 => Step::Axis(
            a,
            rng.random_range(0..AXIS_OPS),
            rng.random_range(0..rank),
            rng.random_bool(0.5),
        ),
        7 if rank == 2 && sb.len() == 2 && sa[1] == sb[0] => Step::Matmul(a, b),
        7 if rank == 2 && sb.len() == 2 && sa[1] == sb[1] => Step::Matmul(a, b), // by b transposed: see random_graph
        8 if rank == 2 => Step::Transpose(a),
        8 if rank > 0 => Step::Reshape(a),
        9 if rank < 3 => Step::Unsqueeze(a),
        9 if rank > 0 => Step::Narrow(a, rng.random_range(0..rank)),
        10 if rank > 0 => Step::IndexSelect(a),
        10 if sa == sb && rank > 0 => Step::Concat(a, b, rng.random_range(0..rank)),
        11 if sa == sb && rank < 3 => Step::Stack(a, b),
        11 if sa == sb => Step::Loss(a, b, 0),
        11 if rank == 2 && sa[1] > 1 => Step::Loss(a, b, 1),
        11 if sa == sb || sb.iter().product::<usize>() == 1 => Step::Loss(a, a, 2),
        _ => return None,
    })
}

fn random_graph(rng: &mut StdRng, one_percent_off: bool) -> Graph {
    let inputs: Vec<Tensor> = (0..rng.random_range(1..=3))
        .map(|_| Tensor::randn(&random_shape(rng), rng))
        .collect();
    let target = rng.random_range(2..=30);
    let scratch = Tape::no_grad();
    let mut values: Vec<Var> = inputs.iter().map(|t| scratch.var(t.clone())).collect();
    let mut steps = Vec::new();
    // Sanity mode: input 0 reaches the rest only through the wrong op, so all its gradient is off.
    let first = usize::from(one_percent_off);
    if one_percent_off {
        steps.push(Step::Wrong(0));
        values.push(apply(&steps[0], &values));
    }
    while steps.len() < target {
        let shapes: Vec<Vec<usize>> = values.iter().map(|v| v.shape().to_vec()).collect();
        let Some(mut step) = random_step(rng, &shapes, first) else {
            continue;
        };
        if let Step::Matmul(a, b) = step
            && shapes[a][1] != shapes[b][0]
        {
            // Same column counts: multiply by the transpose instead.
            values.push(apply(&Step::Transpose(b), &values));
            steps.push(Step::Transpose(b));
            step = Step::Matmul(a, values.len() - 1);
        }
        // Keep values in a range where finite differences are accurate.
        let value = apply(&step, &values);
        if value
            .value()
            .data()
            .iter()
            .any(|v| !v.is_finite() || v.abs() > 1e3)
            || value.shape().iter().product::<usize>() > 64
        {
            continue;
        }
        values.push(value);
        steps.push(step);
    }
    let weights =
        Tensor::randn(&values.last().unwrap().shape(), rng).map(|w| w.signum() * (w.abs() + 0.5));
    Graph {
        inputs,
        steps,
        weights,
    }
}

/// The graph's analytic gradients on `tape` (cleared first), from two backward walks that must
/// agree exactly.
fn analytic(graph: &Graph, tape: &mut Tape) -> Vec<Tensor> {
    tape.clear();
    let inputs: Vec<Var> = graph.inputs.iter().map(|t| tape.var(t.clone())).collect();
    let output = evaluate(graph, tape, &inputs);
    let (first, second) = (output.backward(), output.backward());
    inputs
        .iter()
        .map(|&x| {
            // An input no step used has no gradient: zero, as finite differences will say.
            let grad = first.get(x).cloned();
            assert_eq!(grad.as_ref(), second.get(x), "backward twice differs");
            grad.unwrap_or_else(|| Tensor::zeros(x.value().shape()))
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

/// Whether the central differences with two step sizes agree: if not, the point sits near a
/// kink (relu, abs, a max tie) and the graph proves nothing either way.
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
    for index in 0..total {
        let graph = random_graph(&mut rng, false);
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
        checked += 1;
    }
    println!("{checked} of {total} graphs checked (the rest sit at a kink)");
    // Kinks may excuse a few graphs, never most of them.
    assert!(
        checked * 10 >= total * 9,
        "only {checked} of {total} graphs were away from kinks"
    );
}

#[test]
fn sanity_a_gradient_one_percent_off_is_caught() {
    let mut rng = StdRng::seed_from_u64(1984);
    let mut tape = Tape::new();
    let (mut caught, mut checked) = (0, 0);
    for _ in 0..100 {
        let graph = random_graph(&mut rng, true);
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
