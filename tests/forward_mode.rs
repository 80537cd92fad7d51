//! Forward mode and Jacobians: `jacfwd` against `jacrev` and finite differences on functions of
//! several inputs (broadcasting, reductions, the fused cross-entropy, `max_axis` away from ties),
//! the tutorial's Hessian forward-over-reverse against reverse-over-reverse, a user op's forward
//! mode from its one rule, and a third derivative through `jvp` of `grad` of `grad`.

#[path = "common/cube.rs"]
mod cube;

use cube::cube;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::{
    GradCheck, HessianPath, Reduction, Seeds, Tape, Tensor, Var, function, hessian_with, jacfwd,
    jacfwd_with, jacobian, jacrev, jacrev_with, jvp_batched, vjp_batched,
};

/// The Jacobian by central differences, in `jacrev`'s layout.
fn numeric_jacobian(inputs: &[Tensor], f: &dyn for<'t> Fn(&[Var<'t>]) -> Var<'t>) -> Tensor {
    let eps = 1e-6;
    let eval = |inputs: &[Tensor]| {
        let tape = Tape::no_grad();
        let vars: Vec<Var> = inputs.iter().map(|t| tape.var(t.clone())).collect();
        f(&vars).value()
    };
    let m = eval(inputs).len();
    let n: usize = inputs.iter().map(Tensor::len).sum();
    let mut jacobian = Tensor::zeros(&[m, n]);
    let mut moved = inputs.to_vec();
    let mut column = 0;
    for input in 0..inputs.len() {
        for element in 0..inputs[input].len() {
            let x = inputs[input].data()[element];
            moved[input].data_mut()[element] = x + eps;
            let above = eval(&moved);
            moved[input].data_mut()[element] = x - eps;
            let below = eval(&moved);
            moved[input].data_mut()[element] = x;
            for row in 0..m {
                jacobian.data_mut()[row * n + column] =
                    (above.data()[row] - below.data()[row]) / (2.0 * eps);
            }
            column += 1;
        }
    }
    jacobian
}

#[track_caller]
fn assert_jacobians_agree(
    what: &str,
    inputs: &[Tensor],
    f: &dyn for<'t> Fn(&[Var<'t>]) -> Var<'t>,
) {
    let forward = jacfwd(inputs, |v| f(v));
    let reverse = jacrev(inputs, |v| f(v));
    let largest = reverse.data().iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(
        forward.max_abs_diff(&reverse) <= 1e-12 * largest,
        "{what}: jacfwd and jacrev differ\n{forward}\n{reverse}"
    );
    let numeric = numeric_jacobian(inputs, f);
    let checker = GradCheck::default();
    for (k, (&a, &n)) in reverse.data().iter().zip(numeric.data()).enumerate() {
        assert!(
            (a - n).abs() <= checker.atol + checker.rtol * n.abs(),
            "{what}: entry {k}: {a} vs finite difference {n}"
        );
    }
    assert_eq!(
        jacobian(inputs, |v| f(v)),
        if inputs.iter().map(Tensor::len).sum::<usize>() < numeric.shape()[0] {
            forward
        } else {
            reverse
        },
        "{what}"
    );
}

#[test]
fn jacfwd_equals_jacrev_and_finite_differences() {
    let a = Tensor::from_rows(&[[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]);
    let row = Tensor::from_rows(&[[0.3, -0.2, 0.9]]);
    let w = Tensor::from_rows(&[[0.2, -0.4], [1.0, 0.5], [-0.3, 0.8]]);
    assert_jacobians_agree("broadcasting", &[a.clone(), row.clone()], &|v| {
        (v[0] * v[1]).tanh() + v[1]
    });
    assert_jacobians_agree("reductions", std::slice::from_ref(&a), &|v| {
        tapegrad::ops::concat(&[v[0].sum_axis(0, true), v[0].mean_axis(0, true)], 1)
    });
    assert_jacobians_agree("cross-entropy", &[a.clone(), w.clone()], &|v| {
        v[0].matmul(v[1]).cross_entropy(&[1, 0], Reduction::Mean)
    });
    assert_jacobians_agree("max_axis away from ties", std::slice::from_ref(&a), &|v| {
        v[0].max_axis(1, false)
    });
    assert_jacobians_agree("two outputs from two inputs", &[a, w], &|v| {
        v[0].matmul(v[1]).softmax(1)
    });
}

#[test]
fn the_tutorials_hessian_forward_over_reverse_equals_reverse_over_reverse() {
    let (x, labels) = tapegrad::datasets::make_moons_numpy(
        20,
        0.2,
        &mut tapegrad::numpy_random::RandomState::new(0),
    );
    let model = tapegrad::tutorial::TwoLayer::tutorial_init(3, 2);
    let params = [model.w1, model.b1, model.w2, model.b2];
    let objective = function(move |v| {
        let x = v[0].tape().constant(x.clone());
        tapegrad::tutorial::objective(x, &labels, [v[0], v[1], v[2], v[3]], 0.01, Reduction::Sum)
    });
    let reverse = tapegrad::hessian(&params, &objective);
    assert_eq!(reverse.shape(), &[17, 17]);
    // Forward over reverse: the Jacobian of the gradient, column by column through jvp.
    let n = 17;
    let mut forward = Tensor::zeros(&[n, n]);
    for column in 0..n {
        let tape = Tape::new();
        let vars: Vec<Var> = params.iter().map(|t| tape.var(t.clone())).collect();
        let grads = objective(&vars).grad(&vars);
        let mut k = 0;
        let tangents: Vec<Var> = (params.iter())
            .map(|p| {
                let mut t = Tensor::zeros(p.shape());
                for x in t.data_mut() {
                    *x = if k == column { 1.0 } else { 0.0 };
                    k += 1;
                }
                tape.constant(t)
            })
            .collect();
        let mut row = 0;
        for grad in grads {
            for value in grad.jvp(&vars, &tangents).value().data() {
                forward.data_mut()[row * n + column] = *value;
                row += 1;
            }
        }
    }
    let largest = reverse.data().iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(
        forward.max_abs_diff(&reverse) <= 1e-12 * largest,
        "{forward}\n{reverse}"
    );
    // The same, all 17 tangents (or rows) in one walk, and one walk a seed.
    for (path, how) in [
        (HessianPath::ForwardOverReverse, Seeds::Batched),
        (HessianPath::ForwardOverReverse, Seeds::OneAtATime),
        (HessianPath::ReverseOverReverse, Seeds::OneAtATime),
    ] {
        let other = hessian_with(&params, path, how, &objective);
        assert!(
            other.max_abs_diff(&reverse) <= 1e-12 * largest,
            "{path:?}, {how:?}\n{other}\n{reverse}"
        );
    }
}

#[test]
fn a_user_op_gets_forward_mode_from_its_one_rule() {
    let x = [Tensor::from_slice(&[0.5, -1.5, 2.0])];
    // gradcheck's forward-mode check, and the Jacobian diag(3x²) both ways.
    GradCheck::default()
        .check(&x, |v| (cube(v[0]) * v[0].sin()).sum())
        .unwrap();
    let j = jacfwd(&x, |v| cube(v[0]));
    assert_eq!(j.data(), &[0.75, 0.0, 0.0, 0.0, 6.75, 0.0, 0.0, 0.0, 12.0]);
    assert_eq!(j, jacrev(&x, |v| cube(v[0])));
}

#[test]
fn a_third_derivative_through_jvp_of_grad_of_grad() {
    // f(x) = x⁴: f''' = 24x, along a tangent of 2: 48x.
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[0.5, -1.0]));
    let first = x.powf(4.0).sum().grad(&[x])[0]; // 4x³
    let second = first.sum().grad(&[x])[0]; // 12x²
    let tangent = tape.constant(Tensor::from_slice(&[2.0, 2.0]));
    let third = second.jvp(&[x], &[tangent]); // 24x · 2
    assert_eq!(third.value().data(), &[24.0, -48.0]);
}

#[test]
fn a_tangent_of_the_wrong_shape_names_both_shapes_and_the_line() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[2, 3]));
    let tangent = tape.constant(Tensor::zeros(&[3, 2]));
    let line = line!() + 1;
    let jvp = || x.tanh().jvp(&[x], &[tangent]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(jvp));
    let payload = result.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with(
            "jvp: tangents have shapes [[3, 2]], the inputs [[2, 3]] at tests/forward_mode.rs:"
        ),
        "{message}"
    );
    assert!(
        message.contains(&format!("forward_mode.rs:{line}:")),
        "{message}"
    );
}

/// The functions of `jacfwd_equals_jacrev_and_finite_differences`, and a two-layer network with
/// every weight an input, with their inputs.
type Func = Box<dyn for<'t> Fn(&[Var<'t>]) -> Var<'t>>;
type Case = (&'static str, Vec<Tensor>, Func);

fn boxed(f: impl for<'t> Fn(&[Var<'t>]) -> Var<'t> + 'static) -> Func {
    Box::new(f)
}

fn cases() -> Vec<Case> {
    let a = Tensor::from_rows(&[[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]);
    let row = Tensor::from_rows(&[[0.3, -0.2, 0.9]]);
    let w = Tensor::from_rows(&[[0.2, -0.4], [1.0, 0.5], [-0.3, 0.8]]);
    let v = Tensor::from_rows(&[[0.7, -0.1], [0.4, 0.9]]);
    vec![
        (
            "broadcasting",
            vec![a.clone(), row.clone()],
            boxed(|v| (v[0] * v[1]).tanh() + v[1]),
        ),
        (
            "reductions",
            vec![a.clone()],
            boxed(|v| tapegrad::ops::concat(&[v[0].sum_axis(0, true), v[0].mean_axis(0, true)], 1)),
        ),
        (
            "cross-entropy",
            vec![a.clone(), w.clone()],
            boxed(|v| v[0].matmul(v[1]).cross_entropy(&[1, 0], Reduction::Mean)),
        ),
        (
            "max_axis away from ties",
            vec![a.clone()],
            boxed(|v| v[0].max_axis(1, false)),
        ),
        (
            "softmax of a product",
            vec![a.clone(), w.clone()],
            boxed(|v| v[0].matmul(v[1]).softmax(1)),
        ),
        (
            "two layers",
            vec![
                a,
                w,
                row.clone().reshape(&[3, 1]).transpose().narrow(1, 0, 2),
                v,
            ],
            boxed(|v| {
                ((v[0].matmul(v[1]) + v[2])
                    .tanh()
                    .matmul(v[3])
                    .log_softmax(1)
                    * 2.0)
                    .sum_axis(1, false)
            }),
        ),
        (
            "scalar of a matrix",
            vec![row],
            boxed(|v| (v[0].exp().sum() / v[0].square().mean()).sqrt()),
        ),
    ]
}

#[track_caller]
fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    let largest = want.data().iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(
        got.max_abs_diff(want) <= 1e-12 * largest,
        "{what}: differ by {:e}, largest {largest:e}\n{got}\n{want}",
        got.max_abs_diff(want)
    );
}

#[test]
fn batched_jacobians_equal_one_walk_a_seed() {
    for (what, inputs, f) in cases() {
        let batched = jacrev_with(&inputs, Seeds::Batched, &f);
        let one_at_a_time = jacrev_with(&inputs, Seeds::OneAtATime, &f);
        assert_close(&format!("{what}: jacrev"), &batched, &one_at_a_time);
        let batched = jacfwd_with(&inputs, Seeds::Batched, &f);
        let one_at_a_time = jacfwd_with(&inputs, Seeds::OneAtATime, &f);
        assert_close(&format!("{what}: jacfwd"), &batched, &one_at_a_time);
        assert_close(
            &format!("{what}: jacfwd vs jacrev"),
            &batched,
            &jacrev(&inputs, &f),
        );
    }
}

#[test]
fn batched_products_equal_single_products() {
    let mut rng = StdRng::seed_from_u64(21);
    for (what, inputs, f) in cases() {
        let k = 3;
        let stack = |shape: &[usize], rng: &mut StdRng| {
            let mut stacked = vec![k];
            stacked.extend_from_slice(shape);
            Tensor::randn(&stacked, rng)
        };
        let tangents: Vec<Tensor> = inputs.iter().map(|t| stack(t.shape(), &mut rng)).collect();
        let (value, moved) = jvp_batched(&inputs, &tangents, &f);
        let cotangents = stack(value.shape(), &mut rng);
        let (_, pulled) = vjp_batched(&inputs, &cotangents, &f);
        let slice = |t: &Tensor, j: usize, shape: &[usize]| {
            let size = t.len() / k;
            Tensor::new(t.data()[j * size..(j + 1) * size].to_vec(), shape).unwrap()
        };
        for j in 0..k {
            let one: Vec<Tensor> = (tangents.iter().zip(&inputs))
                .map(|(t, x)| slice(t, j, x.shape()))
                .collect();
            let (_, single) = tapegrad::jvp(&inputs, &one, &f);
            assert_close(
                &format!("{what}: jvp {j}"),
                &slice(&moved, j, value.shape()),
                &single,
            );
            let (_, single) = tapegrad::vjp(&inputs, &slice(&cotangents, j, value.shape()), &f);
            for (p, (s, x)) in pulled.iter().zip(single.iter().zip(&inputs)) {
                assert_close(&format!("{what}: vjp {j}"), &slice(p, j, x.shape()), s);
            }
        }
    }
}

#[test]
fn seed_stacks_of_the_wrong_shape_name_the_function_both_shapes_and_the_line() {
    let inputs = [Tensor::zeros(&[2, 3])];
    let f = function(|v| v[0].tanh());
    let line = line!() + 1;
    let jvp = || jvp_batched(&inputs, &[Tensor::zeros(&[4, 3, 2])], f);
    let message = panic_message(jvp);
    assert!(
        message.starts_with("jvp_batched: the seeds have shapes [[4, 3, 2]], and must be [seeds, ..shape] for the shapes [[2, 3]]"),
        "{message}"
    );
    assert!(
        message.contains(&format!("forward_mode.rs:{line}:")),
        "{message}"
    );
    let line = line!() + 1;
    let vjp = || vjp_batched(&inputs, &Tensor::zeros(&[2, 3]), f);
    let message = panic_message(vjp);
    assert!(
        message.starts_with("vjp_batched: the seeds have shapes [[2, 3]], and must be [seeds, ..shape] for the shapes [[2, 3]]"),
        "{message}"
    );
    assert!(
        message.contains(&format!("forward_mode.rs:{line}:")),
        "{message}"
    );
}

fn panic_message<T>(f: impl FnOnce() -> T) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .err()
        .expect("a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default()
}
