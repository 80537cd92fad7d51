//! Forward mode and Jacobians: `jacfwd` against `jacrev` and finite differences on functions of
//! several inputs (broadcasting, reductions, the fused cross-entropy, `max_axis` away from ties),
//! the tutorial's Hessian forward-over-reverse against reverse-over-reverse, a user op's forward
//! mode from its one rule, and a third derivative through `jvp` of `grad` of `grad`.

use tapegrad::ops::{BackwardArgs, InputGrads, Op};
use tapegrad::{GradCheck, Reduction, Tape, Tensor, Var, function, jacfwd, jacobian, jacrev};

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
}

/// `cube(x) = x³` with only its one rule.
struct Cube;

impl Op for Cube {
    fn name(&self) -> &'static str {
        "cube"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x * x * x)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output * args.inputs[0].square() * 3.0)]
    }
}

#[test]
fn a_user_op_gets_forward_mode_from_its_one_rule() {
    let x = [Tensor::from_slice(&[0.5, -1.5, 2.0])];
    // gradcheck's forward-mode check, and the Jacobian diag(3x²) both ways.
    GradCheck::default()
        .check(&x, |v| {
            (v[0].tape().apply(Cube, &[v[0]]) * v[0].sin()).sum()
        })
        .unwrap();
    let j = jacfwd(&x, |v| v[0].tape().apply(Cube, &[v[0]]));
    assert_eq!(j.data(), &[0.75, 0.0, 0.0, 0.0, 6.75, 0.0, 0.0, 0.0, 12.0]);
    assert_eq!(j, jacrev(&x, |v| v[0].tape().apply(Cube, &[v[0]])));
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
