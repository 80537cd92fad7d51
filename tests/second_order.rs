//! Derivatives of gradients: third derivatives against closed forms, the Hessian of the
//! tutorial's objective against finite differences of its hand-derived gradient, Hessian-vector
//! products against both, and what a gradient recorded on the tape promises (zeros for what the
//! output does not depend on, the user's lines, a tape that moves between threads).

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::datasets::make_moons_numpy;
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::{TwoLayer, TwoLayerGradients};
use tapegrad::{Reduction, Tape, Tensor, Var, hessian, hvp};

/// `f′′′(x)` by differentiating `f` three times on the tape.
fn third_derivative(f: for<'t> fn(Var<'t>) -> Var<'t>, x: f64) -> f64 {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(x));
    let first = f(x).grad(&[x])[0];
    let second = first.grad(&[x])[0];
    second.grad(&[x])[0].item()
}

#[track_caller]
fn assert_relative(what: &str, got: f64, want: f64, tolerance: f64) {
    let error = (got - want).abs() / want.abs();
    assert!(
        error <= tolerance,
        "{what}: {got:e} vs {want:e}, relative error {error:e}"
    );
}

#[test]
fn third_derivatives_match_closed_forms() {
    // Points in |x| ≤ 3 away from the zeros of each closed form (tanh′′′ vanishes at
    // tanh²x = 1/3, x ≈ ±0.66; sigmoid′′′ at x ≈ ±2.29).
    for x in [-2.9, -1.3, -0.3, 0.2, 1.1, 2.5] {
        let t = f64::tanh(x);
        // tanh′ = 1 − t², tanh′′ = −2t(1 − t²), tanh′′′ = (1 − t²)(6t² − 2).
        let want = (1.0 - t * t) * (6.0 * t * t - 2.0);
        assert_relative(
            &format!("tanh''' at {x}"),
            third_derivative(|x| x.tanh(), x),
            want,
            1e-12,
        );
        assert_relative(
            &format!("exp''' at {x}"),
            third_derivative(|x| x.exp(), x),
            x.exp(),
            1e-12,
        );
        // σ′′′ = σ(1 − σ)(1 − 6σ + 6σ²).
        let s = 1.0 / (1.0 + (-x).exp());
        assert_relative(
            &format!("sigmoid''' at {x}"),
            third_derivative(|x| x.sigmoid(), x),
            s * (1.0 - s) * (1.0 - 6.0 * s + 6.0 * s * s),
            1e-12,
        );
    }
    for x in [0.4, 1.0, 2.7] {
        assert_relative(
            &format!("log''' at {x}"),
            third_derivative(|x| x.log(), x),
            2.0 / (x * x * x),
            1e-12,
        );
        // (x^2.5)′′′ = 2.5 · 1.5 · 0.5 · x^−0.5
        assert_relative(
            &format!("powf(2.5)''' at {x}"),
            third_derivative(|x| x.powf(2.5), x),
            1.875 / x.sqrt(),
            1e-12,
        );
        // (1/x)′′′ = −6 / x⁴, through div.
        assert_relative(
            &format!("(1/x)''' at {x}"),
            third_derivative(|x| 1.0 / x, x),
            -6.0 / x.powi(4),
            1e-12,
        );
    }
}

/// The tutorial's data, its network at its initial weights and after `passes` of its own
/// gradient descent (hand-derived gradients, learning rate 0.01, L2 0.01).
fn tutorial_model(passes: usize) -> (TwoLayer, Tensor, Vec<usize>) {
    let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
    let mut model = TwoLayer::tutorial_init(3, 2);
    for _ in 0..passes {
        let grads = model.hand_gradients(&x, &labels, 0.01);
        model.descend(&grads, 0.01);
    }
    (model, x, labels)
}

/// The tutorial's summed objective (`tapegrad::tutorial::objective`) of the four parameters.
fn objective<'t>(params: &[Var<'t>], x: &Tensor, labels: &[usize], reg: f64) -> Var<'t> {
    let params = [params[0], params[1], params[2], params[3]];
    let x = params[0].tape().constant(x.clone());
    tapegrad::tutorial::objective(x, labels, params, reg, Reduction::Sum)
}

fn flat(model: &TwoLayer) -> Vec<f64> {
    model
        .named()
        .iter()
        .flat_map(|(_, t)| t.data().to_vec())
        .collect()
}

fn flat_gradients(gradients: &TwoLayerGradients) -> Vec<f64> {
    gradients
        .named()
        .iter()
        .flat_map(|(_, t)| t.data().to_vec())
        .collect()
}

/// The model with `flat[i] += step` in the layout of [`hessian`].
fn nudged(model: &TwoLayer, i: usize, step: f64) -> TwoLayer {
    let mut nudged = model.clone();
    let mut offset = i;
    for tensor in [
        &mut nudged.w1,
        &mut nudged.b1,
        &mut nudged.w2,
        &mut nudged.b2,
    ] {
        if offset < tensor.len() {
            tensor.data_mut()[offset] += step;
            break;
        }
        offset -= tensor.len();
    }
    nudged
}

/// Column `j` is the central difference of the hand-derived gradient along parameter `j`.
fn finite_difference_of_hand_gradient(model: &TwoLayer, x: &Tensor, labels: &[usize]) -> Tensor {
    let n = flat(model).len();
    let step = 1e-5;
    let mut jacobian = Tensor::zeros(&[n, n]);
    for column in 0..n {
        let above = flat_gradients(&nudged(model, column, step).hand_gradients(x, labels, 0.01));
        let below = flat_gradients(&nudged(model, column, -step).hand_gradients(x, labels, 0.01));
        for row in 0..n {
            jacobian.data_mut()[row * n + column] = (above[row] - below[row]) / (2.0 * step);
        }
    }
    jacobian
}

fn largest(t: &Tensor) -> f64 {
    t.data().iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

#[test]
fn hessian_of_the_tutorial_objective_matches_the_hand_gradient_differenced() {
    for passes in [0, 1000] {
        let (model, x, labels) = tutorial_model(passes);
        let params = [&model.w1, &model.b1, &model.w2, &model.b2].map(Tensor::clone);
        let h = hessian(&params, |v| objective(v, &x, &labels, 0.01));
        assert_eq!(h.shape(), &[17, 17], "2·3 + 3 + 3·2 + 2 parameters");
        let numeric = finite_difference_of_hand_gradient(&model, &x, &labels);
        let scale = largest(&h);
        let error = h.max_abs_diff(&numeric);
        assert!(
            error <= 1e-6 * scale,
            "after {passes} passes: |H − FD| = {error:e}, largest |H| {scale:e}\n{h}\n{numeric}"
        );
        let asymmetry = h.max_abs_diff(&h.transpose());
        assert!(
            asymmetry <= 1e-12 * scale,
            "after {passes} passes: |H − Hᵀ| = {asymmetry:e}, largest |H| {scale:e}"
        );
    }
}

#[test]
fn hvp_matches_finite_differences_and_the_dense_hessian() {
    let (model, x, labels) = tutorial_model(1000);
    let params = [&model.w1, &model.b1, &model.w2, &model.b2].map(Tensor::clone);
    let mut rng = StdRng::seed_from_u64(42);
    let direction = params.clone().map(|p| Tensor::randn(p.shape(), &mut rng));
    let hv = hvp(&params, &direction, |v| objective(v, &x, &labels, 0.01));
    let hv_flat: Vec<f64> = hv.iter().flat_map(|t| t.data().to_vec()).collect();

    // Central differences of the gradient along the direction.
    let step = 1e-5;
    let along = |sign: f64| {
        let moved: Vec<Tensor> = params
            .iter()
            .zip(&direction)
            .map(|(p, d)| {
                let mut moved = p.clone();
                moved.add_scaled(sign * step, d);
                moved
            })
            .collect();
        let tape = Tape::new();
        let vars: Vec<Var> = moved.iter().map(|p| tape.var(p.clone())).collect();
        let grads = objective(&vars, &x, &labels, 0.01).backward();
        vars.iter()
            .flat_map(|&v| grads.wrt(v).data().to_vec())
            .collect::<Vec<f64>>()
    };
    let (above, below) = (along(1.0), along(-1.0));
    let numeric: Vec<f64> = above
        .iter()
        .zip(&below)
        .map(|(a, b)| (a - b) / (2.0 * step))
        .collect();
    let scale = hv_flat.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    for (i, (got, want)) in hv_flat.iter().zip(&numeric).enumerate() {
        assert!(
            (got - want).abs() <= 1e-6 * scale,
            "element {i}: hvp {got:e}, finite difference {want:e}"
        );
    }

    // A basis direction picks one column of the dense Hessian, built without hvp.
    let h = hessian(&params, |v| objective(v, &x, &labels, 0.01));
    let n = h.shape()[0];
    for column in [0, 7, 16] {
        let basis = params.clone().map(|p| Tensor::zeros(p.shape()));
        let mut basis = basis;
        let mut offset = column;
        for tensor in basis.iter_mut() {
            if offset < tensor.len() {
                tensor.data_mut()[offset] = 1.0;
                break;
            }
            offset -= tensor.len();
        }
        let hv = hvp(&params, &basis, |v| objective(v, &x, &labels, 0.01));
        let hv: Vec<f64> = hv.iter().flat_map(|t| t.data().to_vec()).collect();
        for (row, &product) in hv.iter().enumerate() {
            let dense = h.data()[row * n + column];
            assert!(
                (product - dense).abs() <= 1e-12 * largest(&h),
                "column {column}, row {row}: hvp {product} vs hessian {dense}"
            );
        }
    }
}

#[test]
fn a_gradient_the_output_does_not_depend_on_is_zero() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    let unused = tape.var(Tensor::zeros(&[2, 2]));
    let [dx, dunused] = x.square().sum().grad(&[x, unused])[..] else {
        unreachable!()
    };
    assert_eq!(dx.value().data(), &[2.0, 4.0]);
    assert_eq!(dunused.value(), Tensor::zeros(&[2, 2]));
    // A linear function's gradient is constant: its own gradient is zero, not missing.
    let linear = (x * 3.0).sum().grad(&[x])[0];
    assert_eq!(linear.value().data(), &[3.0, 3.0]);
    assert_eq!(linear.sum().grad(&[x])[0].value().data(), &[0.0, 0.0]);
}

#[test]
fn gradient_nodes_show_the_line_of_the_op_they_differentiate() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(0.3));
    let line = line!() + 1;
    let y = x.tanh();
    let before = tape.len();
    y.grad(&[x]);
    let listing = tape.to_string();
    let recorded: Vec<&str> = listing.lines().skip(before).collect();
    assert!(!recorded.is_empty(), "grad recorded nothing");
    for node in &recorded {
        let constant_seed = node.contains("constant");
        assert!(
            constant_seed || node.contains(&format!("tests/second_order.rs:{line}:")),
            "{node}\n{listing}"
        );
    }
}

#[test]
fn broadcast_and_reused_values_are_differentiated_twice() {
    // A bias broadcast over rows and a weight used twice: the walk records the sum back to the
    // bias's shape and the accumulation, and both are differentiated again.
    let x = Tensor::from_rows(&[[0.5, -1.0], [2.0, 0.3], [-0.7, 1.1]]);
    let w = Tensor::from_rows(&[[0.2, -0.4], [0.6, 0.1]]);
    let b = Tensor::from_rows(&[[0.05, -0.3]]);
    let report = tapegrad::gradgradcheck(&[w, b], |v| {
        let x = v[0].tape().constant(x.clone());
        let h = (x.matmul(v[0]) + v[1]).tanh();
        (h.matmul(v[0]) * h).sum()
    })
    .unwrap();
    assert_eq!(report.elements, 36);
}

#[test]
fn a_tape_moves_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Tape>();
    assert_send::<tapegrad::Gradients>();
    let tape = Tape::new();
    let handle = std::thread::spawn(move || {
        let x = tape.var(Tensor::scalar(2.0));
        x.powf(3.0).grad(&[x])[0].grad(&[x])[0].item()
    });
    assert_eq!(handle.join().unwrap(), 12.0);
}

#[test]
fn sharpness_is_the_top_eigenvalue_of_the_dense_hessian() {
    let (model, x, labels) = tutorial_model(1000);
    let params = [&model.w1, &model.b1, &model.w2, &model.b2].map(Tensor::clone);
    let start = params.clone().map(|p| Tensor::zeros(p.shape()));
    let top = tapegrad::sharpness(&params, &start, |v| objective(v, &x, &labels, 0.01));
    let h = hessian(&params, |v| objective(v, &x, &labels, 0.01));
    let n = h.shape()[0];
    let v: Vec<f64> = top
        .eigenvector
        .iter()
        .flat_map(|t| t.data().to_vec())
        .collect();
    // An eigenpair of the dense Hessian...
    let hv = h.matmul(&Tensor::new(v.clone(), &[n, 1]).unwrap());
    let residual = (0..n)
        .map(|i| (hv.data()[i] - top.eigenvalue * v[i]).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(
        residual <= 1e-6 * top.eigenvalue.abs(),
        "residual {residual:e} for λ = {}",
        top.eigenvalue
    );
    // ...and the top one: no direction curves more (Rayleigh quotients of random directions).
    let mut rng = StdRng::seed_from_u64(9);
    for _ in 0..200 {
        let u = Tensor::randn(&[n, 1], &mut rng);
        let quotient = u.t_matmul(&h.matmul(&u)).item() / u.t_matmul(&u).item();
        assert!(
            quotient <= top.eigenvalue * (1.0 + 1e-9),
            "{quotient} > {}",
            top.eigenvalue
        );
    }
    // Warm-started from its own eigenvector it converges in a few products: as many as the 1e-6
    // nudge of every start (which keeps a start orthogonal to the answer from stalling) takes to
    // die down below the tolerance, far fewer than from a cold start.
    let again = tapegrad::sharpness(&params, &top.eigenvector, |v| {
        objective(v, &x, &labels, 0.01)
    });
    assert!(
        again.products <= 10 && again.products * 2 < top.products,
        "{} products (cold: {})",
        again.products,
        top.products
    );
    assert!((again.eigenvalue - top.eigenvalue).abs() <= 1e-9 * top.eigenvalue);
}

#[test]
fn sharpness_is_the_largest_eigenvalue_not_the_largest_in_magnitude() {
    // Hessian diag(−10, 2): the dominant eigenvalue is −10, the sharpness 2.
    let inputs = [Tensor::scalar(1.0), Tensor::scalar(1.0)];
    let start = [Tensor::scalar(0.0), Tensor::scalar(0.0)];
    let top = tapegrad::sharpness(&inputs, &start, |v| -5.0 * v[0].square() + v[1].square());
    assert!((top.eigenvalue - 2.0).abs() < 1e-8, "{}", top.eigenvalue);
    assert!(
        top.eigenvector[0].item().abs() < 1e-4,
        "{:?}",
        top.eigenvector
    );
}

#[test]
fn sharpness_of_two_eigenvalues_of_one_magnitude_and_opposite_signs() {
    // Hessian diag(1, −1): plain power iteration swings between the two forever.
    let inputs = [Tensor::scalar(0.3), Tensor::scalar(0.2)];
    let start = [Tensor::scalar(1.0), Tensor::scalar(1.0)];
    let top = tapegrad::sharpness(&inputs, &start, |v| (v[0].square() - v[1].square()) * 0.5);
    assert!(top.converged, "{top:?}");
    assert!((top.eigenvalue - 1.0).abs() < 1e-8, "{top:?}");
}

#[test]
#[should_panic(
    expected = "grad: this tape is a Tape::no_grad, which records no ops to differentiate"
)]
fn grad_on_a_no_grad_tape_is_refused_not_zero() {
    let tape = Tape::no_grad();
    let x = tape.var(Tensor::scalar(3.0));
    (x * x).grad(&[x]);
}

#[test]
fn sharpness_from_a_start_orthogonal_to_the_top_eigenvector_still_finds_it() {
    // f(x, y) = x²/2 + 5y²: Hessian diag(1, 10). Started at e₁, an eigenvector of the smaller
    // eigenvalue, plain power iteration stays there and reports 1 as converged.
    let inputs = [Tensor::scalar(0.3), Tensor::scalar(-0.2)];
    let start = [Tensor::scalar(1.0), Tensor::scalar(0.0)];
    let top = tapegrad::sharpness(&inputs, &start, |v| {
        v[0].square() * 0.5 + v[1].square() * 5.0
    });
    assert!(top.converged, "{top:?}");
    assert!((top.eigenvalue - 10.0).abs() < 1e-8, "{top:?}");
}
