//! The tape and the backward walk: repeatability, accumulation, constants and detach, unrelated
//! variables, a million-node chain, reuse after `clear`, seeded backward, broadcast gradients and
//! refusing handles of other tapes.

mod common;

use common::{network, network_inputs, randn};
use tapegrad::{Gradients, Tape, Tensor, Var};

#[track_caller]
fn assert_close(actual: &Tensor, expected: &Tensor, tolerance: f64) {
    assert_eq!(
        actual.shape(),
        expected.shape(),
        "shapes of {actual:?} and {expected:?}"
    );
    let diff = actual.max_abs_diff(expected);
    assert!(
        diff <= tolerance,
        "off by {diff}: {actual:?} vs {expected:?}"
    );
}

#[test]
fn backward_twice_gives_identical_gradients() {
    let (params, x) = network_inputs();
    let tape = Tape::new();
    let (loss, vars) = network(&tape, &params, &x);
    let nodes = tape.len();
    let first = loss.backward();
    let second = loss.backward();
    for var in vars {
        let (a, b) = (first.wrt(var), second.wrt(var));
        assert_eq!(a, b, "{var:?}");
        assert_eq!(a.shape(), var.value().shape());
    }
    // Backward records nothing on the tape.
    assert_eq!(tape.len(), nodes);
    // A third time, through backward_with and a seed of 1, is the same again.
    let third = loss.backward_with(Tensor::scalar(1.0));
    for var in vars {
        assert_eq!(first.wrt(var), third.wrt(var));
    }
}

#[test]
fn a_variable_used_twice_gets_the_sum() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[3.0, -0.5]));
    // x ⊙ x: 2x.
    assert_eq!(
        x.sum_product_grad(|x| x * x),
        Tensor::from_slice(&[6.0, -1.0])
    );
    // x + x: 2.
    assert_eq!(
        x.sum_product_grad(|x| x + x),
        Tensor::from_slice(&[2.0, 2.0])
    );
    // x − x: 0, and x / x: 0.
    assert_eq!(
        x.sum_product_grad(|x| x - x),
        Tensor::from_slice(&[0.0, 0.0])
    );
    assert_close(
        &x.sum_product_grad(|x| x / x),
        &Tensor::from_slice(&[0.0, 0.0]),
        1e-15,
    );
    // x ⊙ x ⊙ x: 3x².
    assert_eq!(
        x.sum_product_grad(|x| x * x * x),
        Tensor::from_slice(&[27.0, 0.75])
    );
    // Two branches: tanh x + eˣ has derivative 1 − tanh² x + eˣ.
    let expected = Tensor::from_slice(&[3.0, -0.5]).map(|v| 1.0 - v.tanh().powi(2) + v.exp());
    assert_close(
        &x.sum_product_grad(|x| x.tanh() + x.exp()),
        &expected,
        1e-15,
    );
    // Branches that meet later through a product: (2x)(x + 1) = 2x² + 2x, derivative 4x + 2.
    assert_eq!(
        x.sum_product_grad(|x| (x * 2.0) * (x + 1.0)),
        Tensor::from_slice(&[14.0, 0.0])
    );
    // A matrix used as both factors of a product: d Σ(A·A) / dA = 1·Aᵀ + Aᵀ·1.
    let a = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    let grads = a.matmul(a).sum().backward();
    // ∂/∂A[i,j] Σ_{p,q,k} A[p,k] A[k,q] = Σ_q A[j,q] + Σ_p A[p,i]: the row sum of row j plus the
    // column sum of column i. Row sums of A are (3, 7), column sums (4, 6).
    let expected = Tensor::from_rows(&[[3.0 + 4.0, 7.0 + 4.0], [3.0 + 6.0, 7.0 + 6.0]]);
    assert_eq!(grads.wrt(a), &expected);
}

/// The gradient of `Σ f(x)` with respect to `x`, for the tests above.
trait SumProductGrad {
    fn sum_product_grad(self, f: impl for<'a> Fn(Var<'a>) -> Var<'a>) -> Tensor;
}

impl SumProductGrad for Var<'_> {
    fn sum_product_grad(self, f: impl for<'a> Fn(Var<'a>) -> Var<'a>) -> Tensor {
        f(self).sum().backward().wrt(self).clone()
    }
}

#[test]
fn constants_get_no_gradient_and_detach_stops_it() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    let c = tape.constant(Tensor::from_slice(&[5.0, -3.0]));
    let y = (x * c).sum();
    let grads = y.backward();
    assert!(grads.get(c).is_none());
    assert_eq!(grads.get(x), Some(&Tensor::from_slice(&[5.0, -3.0])));
    assert!(!c.needs_grad());
    assert!(x.needs_grad() && y.needs_grad());

    // x ⊙ detach(x): the detached factor is a constant, so the gradient is x, not 2x.
    let d = x.detach();
    assert!(!d.needs_grad());
    let grads = (x * d).sum().backward();
    assert_eq!(grads.wrt(x), &Tensor::from_slice(&[1.0, 2.0]));
    assert!(grads.get(d).is_none());
    // Only through the detached copy: x gets nothing.
    let grads = (d.exp() * 3.0).sum().backward();
    assert!(grads.get(x).is_none() && grads.get(d).is_none());

    // Ops on constants alone record nodes that need no gradient.
    let k = (c * c + 1.0).sum();
    assert!(!k.needs_grad());
    let grads = k.backward();
    assert!(grads.get(c).is_none() && grads.get(k).is_none());
    // Intermediate nodes do get gradients (here the product x ⊙ c, seen by node id).
    let product = x * c;
    let grads = (product * 2.0).sum().backward();
    assert_eq!(grads.get(product), Some(&Tensor::from_slice(&[2.0, 2.0])));
    assert_eq!(grads.get_node(&tape, product.id()), grads.get(product));
}

#[test]
fn a_variable_the_output_does_not_depend_on_gets_none() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(2.0));
    let unused = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    let y = x.square() * 3.0;
    // A node the output does depend on, used by a node made later that the output does not use.
    let branch = (unused + x).sum();
    let grads = y.backward();
    assert_eq!(grads.wrt(x).item(), 12.0);
    assert!(grads.get(unused).is_none());
    assert!(grads.get(branch).is_none());
    // A variable created after the output.
    let later = tape.var(Tensor::scalar(1.0));
    assert!(grads.get(later).is_none());
    // The output itself gets its seed.
    assert_eq!(grads.wrt(y).item(), 1.0);
    // A variable that is the output: gradient 1.
    assert_eq!(x.backward().wrt(x).item(), 1.0);
}

#[test]
fn a_million_node_chain_backpropagates() {
    const STEPS: usize = 1_000_000;
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(2.0));
    let mut y = x;
    for step in 0..STEPS {
        // Alternate scaling and shifting: y ← 1.0000001 y, then y ← y + 1.
        y = if step % 2 == 0 {
            y * 1.000_000_1
        } else {
            y + 1.0
        };
    }
    assert_eq!(tape.len(), STEPS + 1);
    let grads = y.backward();
    // dy/dx = 1.0000001^(STEPS / 2), about e^0.05.
    let expected = 1.000_000_1f64.powi((STEPS / 2) as i32);
    let grad = grads.wrt(x).item();
    assert!(
        (grad - expected).abs() < 1e-9 * expected,
        "{grad} vs {expected}"
    );
    assert!((expected - 0.05f64.exp()).abs() < 1e-6);
    // y = 2 c^n + Σ_{k<n} c^k with c = 1.0000001, n = STEPS / 2.
    let c: f64 = 1.000_000_1;
    let n = (STEPS / 2) as i32;
    let value = 2.0 * c.powi(n) + (c.powi(n) - 1.0) / (c - 1.0);
    assert!(
        (y.item() - value).abs() < 1e-6 * value,
        "{} vs {value}",
        y.item()
    );
}

#[test]
fn clear_and_reuse_gives_the_same_gradients_and_does_not_grow() {
    let (params, x) = network_inputs();
    let mut tape = Tape::new();
    let (reference, nodes) = {
        let (loss, vars) = network(&tape, &params, &x);
        let grads = loss.backward();
        (vars.map(|v| grads.wrt(v).clone()), tape.len())
    };
    for pass in 0..1000 {
        tape.clear();
        assert!(tape.is_empty());
        let (loss, vars) = network(&tape, &params, &x);
        let grads = loss.backward();
        for (var, expected) in vars.iter().zip(&reference) {
            assert_eq!(grads.wrt(*var), expected, "pass {pass}");
        }
        assert_eq!(tape.len(), nodes, "pass {pass}");
    }
}

#[test]
fn backward_with_a_seed_equals_the_gradient_of_the_seeded_sum() {
    let tape = Tape::new();
    let x = tape.var(randn(&[4, 3], 10));
    let w = tape.var(randn(&[3, 2], 11));
    let b = tape.var(randn(&[2], 12));
    let out = (x.matmul(w) + b).tanh(); // [4, 2]
    let seed = randn(&[4, 2], 13);
    let seeded = out.backward_with(seed.clone());
    let summed = (out * tape.constant(seed.clone())).sum().backward();
    for var in [x, w, b] {
        assert_close(seeded.wrt(var), summed.wrt(var), 1e-14);
    }
    // The output's own gradient is the seed.
    assert_eq!(seeded.wrt(out), &seed);
    // By hand for b: Σ_rows seed ⊙ (1 − out²).
    let y = out.value();
    let mut expected_b = Tensor::zeros(&[2]);
    for row in 0..4 {
        for col in 0..2 {
            expected_b[[col]] += seed[[row, col]] * (1.0 - y[[row, col]] * y[[row, col]]);
        }
    }
    assert_close(seeded.wrt(b), &expected_b, 1e-14);
}

#[test]
fn broadcast_inputs_get_gradients_of_their_own_shape() {
    let tape = Tape::new();
    let x = tape.var(randn(&[5, 3], 20));
    let g = randn(&[5, 3], 21);
    let weights = tape.constant(g.clone());
    let column_sums = Tensor::new(
        (0..3).map(|j| (0..5).map(|i| g[[i, j]]).sum()).collect(),
        &[1, 3],
    )
    .unwrap();
    let row_sums = Tensor::new(
        (0..5).map(|i| (0..3).map(|j| g[[i, j]]).sum()).collect(),
        &[5, 1],
    )
    .unwrap();
    let total: f64 = g.data().iter().sum();

    // A [1, 3] bias: the column sums of the incoming gradient, shape [1, 3].
    let bias = tape.var(Tensor::from_rows(&[[0.1, 0.2, 0.3]]));
    let grads = ((x + bias) * weights).sum().backward();
    assert_eq!(grads.wrt(bias).shape(), &[1, 3]);
    assert_close(grads.wrt(bias), &column_sums, 1e-14);
    assert_eq!(grads.wrt(x), &g);

    // A [3] bias on the left: the same sums, shape [3].
    let bias = tape.var(Tensor::from_slice(&[0.1, 0.2, 0.3]));
    let grads = ((bias + x) * weights).sum().backward();
    assert_eq!(grads.wrt(bias).shape(), &[3]);
    assert_close(grads.wrt(bias), &column_sums.reshape(&[3]), 1e-14);

    // A [5, 1] column: the row sums.
    let column = tape.var(Tensor::zeros(&[5, 1]));
    let grads = ((x - column) * weights).sum().backward();
    assert_eq!(grads.wrt(column).shape(), &[5, 1]);
    assert_close(grads.wrt(column), &(&row_sums * -1.0), 1e-14);

    // A scalar: the sum of everything.
    let s = tape.var(Tensor::scalar(2.0));
    let grads = ((x * s) * weights).sum().backward();
    assert_eq!(grads.wrt(s).shape(), &[] as &[usize]);
    let expected: f64 = g
        .data()
        .iter()
        .zip(x.value().data())
        .map(|(g, x)| g * x)
        .sum();
    assert!((grads.wrt(s).item() - expected).abs() < 1e-13);
    let grads = ((s + x) * weights).sum().backward();
    assert!((grads.wrt(s).item() - total).abs() < 1e-13);

    // A [1, 3] divisor: ∂(x / d)/∂d = −x / d², summed down the rows.
    let d = tape.var(Tensor::from_rows(&[[2.0, -4.0, 0.5]]));
    let grads = ((x / d) * weights).sum().backward();
    let xv = x.value();
    let dv = d.value();
    let expected = Tensor::new(
        (0..3)
            .map(|j| {
                (0..5)
                    .map(|i| -g[[i, j]] * xv[[i, j]] / (dv[[0, j]] * dv[[0, j]]))
                    .sum()
            })
            .collect(),
        &[1, 3],
    )
    .unwrap();
    assert_eq!(grads.wrt(d).shape(), &[1, 3]);
    assert_close(grads.wrt(d), &expected, 1e-12);

    // An outer product [5, 1] ⊙ [1, 4]: each side sums over the other's axis.
    let u = tape.var(Tensor::from_rows(&[[1.0], [2.0], [3.0], [4.0], [5.0]]));
    let v = tape.var(Tensor::from_rows(&[[1.0, -1.0, 2.0, 0.5]]));
    let grads = (u * v).sum().backward();
    assert_eq!(grads.wrt(u), &Tensor::full(&[5, 1], 2.5));
    assert_eq!(grads.wrt(v), &Tensor::full(&[1, 4], 15.0));
}

#[test]
fn gradients_have_the_shape_of_their_variables() {
    let (params, x) = network_inputs();
    let tape = Tape::new();
    let (loss, vars) = network(&tape, &params, &x);
    let grads = loss.backward();
    for var in vars {
        assert_eq!(grads.wrt(var).shape(), var.shape().as_slice());
    }
}

#[test]
fn node_ids_count_in_creation_order() {
    let tape = Tape::new();
    assert!(tape.is_empty());
    let x = tape.var(Tensor::scalar(3.0));
    let c = tape.constant(Tensor::scalar(2.0));
    let y = x * c + 2.0 * x;
    assert_eq!((x.id().index(), c.id().index(), y.id().index()), (0, 1, 4));
    assert_eq!(y.id().to_string(), "#4");
    assert_eq!(tape.len(), 5);
    assert_eq!(y.backward().wrt(x).item(), 4.0);
}

#[test]
#[should_panic(
    expected = "Gradients: #0 belongs to another tape, or to a pass of this one cleared since, at tests/tape.rs:"
)]
fn gradients_refuse_a_variable_of_another_tape() {
    let first = Tape::new();
    let second = Tape::new();
    let x = first.var(Tensor::scalar(1.0));
    let grads = (x * 2.0).backward();
    let stranger = second.var(Tensor::scalar(1.0));
    grads.get(stranger);
}

#[test]
#[should_panic(
    expected = "Gradients: #0 belongs to another tape, or to a pass of this one cleared since, at tests/tape.rs:"
)]
fn gradients_refuse_a_variable_of_a_later_pass() {
    let mut tape = Tape::new();
    let grads: Gradients = {
        let x = tape.var(Tensor::scalar(1.0));
        (x * 2.0).backward()
    };
    tape.clear();
    let x = tape.var(Tensor::scalar(1.0));
    grads.wrt(x);
}

#[test]
#[should_panic(expected = "add: #0 belongs to another tape at tests/tape.rs:")]
fn ops_refuse_a_variable_of_another_tape() {
    let first = Tape::new();
    let second = Tape::new();
    let _pad = first.var(Tensor::scalar(0.0));
    let x = first.var(Tensor::scalar(1.0));
    let y = second.var(Tensor::scalar(1.0));
    let _ = x + y;
}

#[test]
fn powf_zero_has_zero_gradient_even_at_zero() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[0.0, 2.0]));
    let grads = x.powf(0.0).sum().backward();
    assert_eq!(grads.wrt(x).data(), &[0.0, 0.0]);
}

#[test]
fn a_no_grad_tape_evaluates_the_same_code_without_recording_ops() {
    fn model<'t>(x: Var<'t>, w: Var<'t>) -> Var<'t> {
        (x.matmul(w) + 1.0).tanh().sum()
    }
    let x = Tensor::from_rows(&[[1.0, 2.0], [3.0, -1.0]]);
    let w = Tensor::from_rows(&[[0.5], [-0.25]]);
    let training = Tape::new();
    let trained = model(training.constant(x.clone()), training.var(w.clone()));
    let evaluation = Tape::no_grad();
    let w = evaluation.var(w);
    let evaluated = model(evaluation.constant(x), w);
    assert_eq!(evaluated.item(), trained.item());
    assert!(!evaluated.needs_grad() && !evaluation.records_gradients());
    // Nothing to walk back through: no gradient for anything.
    let grads = evaluated.backward();
    assert!(grads.get(w).is_none() && grads.get(evaluated).is_none());
    assert_eq!(evaluation.len(), training.len());
}

#[test]
fn get_node_refuses_gradients_of_a_cleared_pass() {
    let mut tape = Tape::new();
    let x = tape.var(Tensor::scalar(3.0));
    let old = (x * x).backward();
    let x_id = x.id();
    assert_eq!(old.get_node(&tape, x_id).unwrap().item(), 6.0);
    tape.clear();
    // A new node with the old one's id: the old pass's gradient must not be read for it.
    let y = tape.var(Tensor::scalar(5.0));
    assert_eq!(y.id(), x_id);
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        old.get_node(&tape, y.id()).cloned()
    }));
    let payload = refused.expect_err("a gradient of the cleared pass was returned");
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("Gradients::get_node: the gradients come from another tape or an earlier pass at tests/tape.rs:"),
        "{message}"
    );
    // Another tape's gradients are refused as well.
    let other = Tape::new();
    let z = other.var(Tensor::scalar(1.0));
    let grads = (z * 2.0).backward();
    assert!(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grads
            .get_node(&tape, z.id())
            .cloned()))
        .is_err()
    );
}

/// Runs this test binary again with only `test` and `TAPEGRAD_CHILD=1`, and returns its stderr.
fn stderr_of_child(test: &str) -> String {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("TAPEGRAD_CHILD", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

/// The tutorial's loop with `tape.clear()` forgotten: every pass stays on the tape.
fn passes_without_clear(passes: usize, clear: bool) {
    let mut tape = Tape::new();
    let mut w = Tensor::from_rows(&[[0.5, -0.25], [1.0, 0.75]]);
    for _ in 0..passes {
        if clear {
            tape.clear();
        }
        let var = tape.var(w.clone());
        let loss = var.tanh().square().sum();
        let grads = loss.backward();
        w.add_scaled(-0.1, grads.wrt(var));
    }
}

#[test]
fn a_forgotten_clear_warns_once() {
    if std::env::var_os("TAPEGRAD_CHILD").is_some() {
        return passes_without_clear(20, false);
    }
    let stderr = stderr_of_child("a_forgotten_clear_warns_once");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("Call tape.clear() before recording the next pass (at tests/tape.rs:"),
        "{stderr}"
    );
}

#[test]
fn a_cleared_loop_and_several_outputs_of_one_pass_do_not_warn() {
    if std::env::var_os("TAPEGRAD_CHILD").is_some() {
        passes_without_clear(20, true);
        // Several outputs of one pass, each walked in turn: they share their leaves.
        let tape = Tape::new();
        let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
        let outputs = [
            x.square().sum(),
            x.exp().sum(),
            x.sin().sum(),
            x.cos().sum(),
            x.sum(),
        ];
        for output in outputs {
            output.backward();
        }
        return;
    }
    let stderr = stderr_of_child("a_cleared_loop_and_several_outputs_of_one_pass_do_not_warn");
    assert!(!stderr.contains("warning"), "{stderr}");
}
