//! Every built-in op against central finite differences, over tables of shapes, broadcasts and
//! awkward values; and the checker itself catching a wrong backward, a missing gradient and a
//! non-scalar function.
//!
//! Non-scalar outputs are reduced with a weighted sum `Σ w ⊙ out` with fixed random `w`, never a
//! plain `sum`: the plain sum of a softmax is the constant 1, whose gradient (zero) would check
//! nothing, and a plain sum seeds every output element with the same 1.

use std::f64::consts::FRAC_PI_4;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::ops::{BackwardArgs, InputGrads, Op, concat, stack};
use tapegrad::{
    GradCheck, GradCheckError, Reduction, Tape, Tensor, Var, function, gradcheck, gradgradcheck,
};

type Unary = for<'t> fn(Var<'t>) -> Var<'t>;
type Binary = for<'t> fn(Var<'t>, Var<'t>) -> Var<'t>;
/// Maps random inputs into an op's domain.
type Domain = fn(Tensor) -> Tensor;

/// Standard-normal entries from a seeded generator.
fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, &mut StdRng::seed_from_u64(seed))
}

/// Fixed weights for an output of `shape`: the same tensor on every call, so the function being
/// checked is the same at every perturbed point.
fn weights(shape: &[usize]) -> Tensor {
    let seed = shape.iter().fold(0x5eed_u64, |h, &n| {
        h.wrapping_mul(31).wrapping_add(n as u64 + 1)
    });
    let w = Tensor::randn(shape, &mut StdRng::seed_from_u64(seed));
    // Keep every weight away from zero so that no output element escapes the check.
    w.map(|x| if x >= 0.0 { x + 0.25 } else { x - 0.25 })
}

/// `Σ w ⊙ out` for the fixed weights of `out`'s shape: a scalar whose gradient with respect to
/// `out` is `w`, different in every element.
fn weighted_sum<'t>(out: Var<'t>) -> Var<'t> {
    let w = out.tape().constant(weights(&out.shape()));
    (out * w).sum()
}

/// Moves every element at least 0.5 away from zero (denominators, relu's kink).
fn away_from_zero(t: Tensor) -> Tensor {
    t.map(|x| if x >= 0.0 { x + 0.5 } else { x - 0.5 })
}

/// Every element at least 0.5 (log, sqrt, fractional powers).
fn positive(t: Tensor) -> Tensor {
    t.map(|x| x.abs() + 0.5)
}

fn identity(t: Tensor) -> Tensor {
    t
}

/// Runs the default gradient check and the second-order one, and fails the test with `what`
/// and the checker's error; also checks that every element of every input (and every entry of
/// the Hessian) was compared, and that every rule on the way gives the same first derivatives
/// evaluated and recorded, bit for bit.
#[track_caller]
fn check<F>(what: &str, inputs: &[Tensor], f: F)
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let elements: usize = inputs.iter().map(Tensor::len).sum();
    match gradcheck(inputs, &f) {
        Ok(report) => {
            assert_eq!(
                report.elements, elements,
                "{what}: not every element was compared"
            );
            assert!(report.max_abs_error <= 1e-5, "{what}: {report:?}");
        }
        Err(error) => panic!("{what}: {error}"),
    }
    backwards_agree(what, inputs, &f);
    match gradgradcheck(inputs, &f) {
        Ok(report) => assert_eq!(
            report.elements,
            elements * elements,
            "{what}: not every Hessian entry was compared"
        ),
        Err(error) => panic!("{what}: {error}"),
    }
}

/// The rule evaluated (`backward`) and recorded (`grad`) give the same first derivatives, bit for
/// bit: the same ops run in the same order.
#[track_caller]
fn backwards_agree<F>(what: &str, inputs: &[Tensor], f: &F)
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let tape = Tape::new();
    let vars: Vec<Var> = inputs.iter().map(|t| tape.var(t.clone())).collect();
    let output = f(&vars);
    let recorded = output.grad(&vars);
    let evaluated = output.backward();
    for (input, (&var, grad)) in vars.iter().zip(&recorded).enumerate() {
        let (evaluated, recorded) = (evaluated.wrt(var), grad.value());
        assert!(
            evaluated == &recorded,
            "{what}: input {input}: the evaluated and recorded rule differ\n{evaluated}\n{recorded}"
        );
    }
}

/// Shape pairs for the broadcasting binary ops: equal shapes, a row, a trailing vector, an outer
/// product, the small operand on the left, scalars on either side, size-1 axes, rank 3.
const BROADCAST_PAIRS: &[(&[usize], &[usize])] = &[
    (&[2, 3], &[2, 3]),
    (&[5, 3], &[1, 3]),
    (&[1, 3], &[5, 3]),
    (&[5, 3], &[3]),
    (&[3], &[5, 3]),
    (&[5, 1], &[1, 4]),
    (&[1, 4], &[5, 1]),
    (&[5, 3], &[5, 1]),
    (&[], &[2, 3]),
    (&[2, 3], &[]),
    (&[], &[]),
    (&[4], &[4]),
    (&[1], &[3]),
    (&[3, 1], &[1]),
    (&[1, 1], &[3]),
    (&[2, 1, 3], &[4, 1]),
    (&[2, 3, 4], &[3, 1]),
    (&[1, 3, 1], &[2, 1, 4]),
];

const BINARY_OPS: [(&str, Binary); 4] = [
    ("add", |a, b| a + b),
    ("sub", |a, b| a - b),
    ("mul", |a, b| a * b),
    ("div", |a, b| a / b),
];

#[test]
fn binary_ops_with_broadcasting() {
    for (op_index, &(name, op)) in BINARY_OPS.iter().enumerate() {
        for (case, &(left, right)) in BROADCAST_PAIRS.iter().enumerate() {
            let seed = 100 * op_index as u64 + case as u64;
            let a = randn(left, seed);
            let b = away_from_zero(randn(right, seed + 50));
            let what = format!("{name} {left:?} with {right:?}");
            check(&what, &[a, b], |v| weighted_sum(op(v[0], v[1])));
        }
    }
}

#[test]
fn binary_ops_with_the_same_variable_on_both_sides() {
    let x = away_from_zero(randn(&[3, 2], 7));
    for &(name, op) in &BINARY_OPS {
        // x ∘ x: the two gradients land on one input and must add up (x - x and x / x are constant:
        // their gradient is zero, which the finite difference sees too).
        check(&format!("{name}(x, x)"), std::slice::from_ref(&x), |v| {
            weighted_sum(op(v[0], v[0]))
        });
        // x ∘ tanh(x): two different paths into one input.
        check(
            &format!("{name}(x, tanh x)"),
            std::slice::from_ref(&x),
            |v| weighted_sum(op(v[0], v[0].tanh())),
        );
    }
}

const SCALAR_FORMS: [(&str, Unary); 11] = [
    ("x + 2.0", |x| x + 2.0),
    ("2.0 + x", |x| 2.0 + x),
    ("x - 1.5", |x| x - 1.5),
    ("2.0 - x", |x| 2.0 - x),
    ("3.0 * x", |x| 3.0 * x),
    ("x * -0.5", |x| x * -0.5),
    ("x / 4.0", |x| x / 4.0),
    ("x / -0.3", |x| x / -0.3),
    ("2.0 / x", |x| 2.0 / x),
    ("-3.0 / x", |x| -3.0 / x),
    ("-x", |x| -x),
];

const SHAPES: &[&[usize]] = &[&[], &[1], &[4], &[3, 1], &[2, 3], &[1, 1], &[2, 3, 2]];

#[test]
fn operators_with_an_f64_on_either_side_and_negation() {
    for (form_index, &(name, form)) in SCALAR_FORMS.iter().enumerate() {
        for (case, &shape) in SHAPES.iter().enumerate() {
            let x = away_from_zero(randn(shape, 1000 + 10 * form_index as u64 + case as u64));
            check(&format!("{name} on {shape:?}"), &[x], |v| {
                weighted_sum(form(v[0]))
            });
        }
    }
}

#[test]
fn elementwise_functions() {
    let functions: [(&str, Unary, Domain); 18] = [
        ("tanh", |x| x.tanh(), identity),
        ("exp", |x| x.exp(), identity),
        ("log", |x| x.log(), positive),
        ("sigmoid", |x| x.sigmoid(), identity),
        ("relu", |x| x.relu(), away_from_zero),
        ("square", |x| x.square(), identity),
        ("sqrt", |x| x.sqrt(), positive),
        ("powf(2.5)", |x| x.powf(2.5), positive),
        ("powf(-1.5)", |x| x.powf(-1.5), positive),
        ("powf(0.5)", |x| x.powf(0.5), positive),
        ("powf(3.0)", |x| x.powf(3.0), identity),
        ("powf(2.0)", |x| x.powf(2.0), identity),
        ("powf(1.0)", |x| x.powf(1.0), identity),
        ("abs", |x| x.abs(), away_from_zero),
        ("sin", |x| x.sin(), identity),
        ("cos", |x| x.cos(), identity),
        ("leaky_relu(0.01)", |x| x.leaky_relu(0.01), away_from_zero),
        ("leaky_relu(-0.3)", |x| x.leaky_relu(-0.3), away_from_zero),
    ];
    for (function_index, &(name, function, domain)) in functions.iter().enumerate() {
        for (case, &shape) in SHAPES.iter().enumerate() {
            let x = domain(randn(
                shape,
                2000 + 10 * function_index as u64 + case as u64,
            ));
            check(&format!("{name} on {shape:?}"), &[x], |v| {
                weighted_sum(function(v[0]))
            });
        }
    }
}

#[test]
fn relu_sees_both_sides_of_its_kink() {
    // Negative elements must get gradient 0 and positive ones the weight: make sure both occur.
    let x = Tensor::from_rows(&[[-2.0, 1.5, -0.5], [0.7, -1.2, 3.0]]);
    check("relu on mixed signs", std::slice::from_ref(&x), |v| {
        weighted_sum(v[0].relu())
    });
    let tape = Tape::new();
    let xv = tape.var(x);
    let grad = weighted_sum(xv.relu()).backward().wrt(xv).clone();
    let w = weights(&[2, 3]);
    for (k, &g) in grad.data().iter().enumerate() {
        let expected = if [1, 3, 5].contains(&k) {
            w.data()[k]
        } else {
            0.0
        };
        assert_eq!(g, expected, "element {k}");
    }
}

#[test]
fn saturated_tanh_and_sigmoid() {
    // At ±50 tanh is ±1 in f64: the finite difference is 0 and so is the analytic 1 − y².
    let x = Tensor::from_rows(&[[50.0, -50.0, 0.3], [-0.2, 49.0, -1000.0]]);
    check("tanh saturated", std::slice::from_ref(&x), |v| {
        weighted_sum(v[0].tanh())
    });
    check("sigmoid saturated", std::slice::from_ref(&x), |v| {
        weighted_sum(v[0].sigmoid())
    });
    check(
        "tanh of a saturated product",
        std::slice::from_ref(&x),
        |v| weighted_sum((v[0] * 3.0).tanh() * v[0]),
    );

    let tape = Tape::new();
    let xv = tape.var(x);
    let y = weighted_sum(xv.tanh() + xv.sigmoid());
    let grad = y.backward().wrt(xv).clone();
    assert!(y.item().is_finite() && grad.is_finite(), "{grad:?}");
    // The saturated elements get (about) nothing; the others their weight times the derivatives.
    let w = weights(&[2, 3]);
    for k in [0, 1, 5] {
        assert!(
            grad.data()[k].abs() < 1e-20,
            "element {k}: {}",
            grad.data()[k]
        );
    }
    let expected =
        w.data()[2] * ((1.0 - 0.3f64.tanh().powi(2)) + sigmoid(0.3) * (1.0 - sigmoid(0.3)));
    assert!((grad.data()[2] - expected).abs() < 1e-14);
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn matmul_of_non_square_matrices() {
    let cases: &[([usize; 2], [usize; 2])] = &[
        ([4, 3], [3, 5]),
        ([1, 3], [3, 1]),
        ([3, 1], [1, 3]),
        ([5, 1], [1, 2]),
        ([2, 2], [2, 2]),
        ([3, 4], [4, 1]),
        ([1, 1], [1, 1]),
        ([1, 4], [4, 6]),
    ];
    for (case, (left, right)) in cases.iter().enumerate() {
        let a = randn(left, 3000 + case as u64);
        let b = randn(right, 3100 + case as u64);
        check(&format!("matmul {left:?} x {right:?}"), &[a, b], |v| {
            weighted_sum(v[0].matmul(v[1]))
        });
    }
}

#[test]
fn affine_with_row_full_and_scalar_biases() {
    // x · W + b, fused, for the bias shapes a layer meets: a row, a full matrix, a scalar.
    let biases: &[&[usize]] = &[&[1, 3], &[3], &[4, 3], &[]];
    for (case, bias) in biases.iter().enumerate() {
        let inputs = [
            randn(&[4, 2], 3300 + case as u64),
            randn(&[2, 3], 3310 + case as u64),
            randn(bias, 3320 + case as u64),
        ];
        check(&format!("affine, bias {bias:?}"), &inputs, |v| {
            weighted_sum(v[0].affine(v[1], v[2]))
        });
    }
    // Same values as the two ops it fuses, bit for bit.
    let tape = tapegrad::Tape::new();
    let [x, w, b] =
        [randn(&[200, 2], 1), randn(&[2, 3], 2), randn(&[1, 3], 3)].map(|t| tape.var(t));
    let (fused, apart) = (x.affine(w, b), x.matmul(w) + b);
    assert_eq!(fused.value(), apart.value());
}

#[test]
fn matmul_with_itself_and_its_transpose() {
    let a = randn(&[3, 3], 3200);
    check("a · a", std::slice::from_ref(&a), |v| {
        weighted_sum(v[0].matmul(v[0]))
    });
    let b = randn(&[2, 4], 3201);
    check("b · bᵀ", std::slice::from_ref(&b), |v| {
        weighted_sum(v[0].matmul(v[0].transpose()))
    });
    check("bᵀ · b", std::slice::from_ref(&b), |v| {
        weighted_sum(v[0].transpose().matmul(v[0]))
    });
}

#[test]
fn sum_and_mean_of_everything() {
    for (case, &shape) in SHAPES.iter().enumerate() {
        let x = randn(shape, 4000 + case as u64);
        check(
            &format!("sum of {shape:?}"),
            std::slice::from_ref(&x),
            |v| weighted_sum(v[0].sum()),
        );
        check(
            &format!("mean of {shape:?}"),
            std::slice::from_ref(&x),
            |v| weighted_sum(v[0].mean()),
        );
        // Composed with a non-linear function so that each element's gradient differs.
        check(
            &format!("mean of tanh on {shape:?}"),
            std::slice::from_ref(&x),
            |v| v[0].tanh().mean() * 3.0,
        );
    }
}

#[test]
fn sum_axis_and_mean_axis_on_every_axis() {
    let shapes: &[&[usize]] = &[
        &[4],
        &[2, 3],
        &[3, 1],
        &[1, 3],
        &[2, 3, 4],
        &[3, 1, 2],
        &[2, 2, 1, 3],
    ];
    for (case, &shape) in shapes.iter().enumerate() {
        let x = randn(shape, 5000 + case as u64);
        for axis in 0..shape.len() {
            for keepdim in [false, true] {
                let what = format!("{shape:?}, axis {axis}, keepdim {keepdim}");
                check(&format!("sum_axis {what}"), std::slice::from_ref(&x), |v| {
                    weighted_sum(v[0].sum_axis(axis, keepdim))
                });
                check(
                    &format!("mean_axis {what}"),
                    std::slice::from_ref(&x),
                    |v| weighted_sum(v[0].mean_axis(axis, keepdim)),
                );
            }
        }
    }
}

#[test]
fn transpose_and_reshape() {
    let transposed: &[&[usize]] = &[&[], &[5], &[2, 3], &[1, 4], &[4, 1], &[2, 3, 4], &[2, 1, 3]];
    for (case, &shape) in transposed.iter().enumerate() {
        let x = randn(shape, 6000 + case as u64);
        check(&format!("transpose of {shape:?}"), &[x], |v| {
            weighted_sum(v[0].transpose())
        });
    }
    let reshaped: &[(&[usize], &[usize])] = &[
        (&[2, 3], &[3, 2]),
        (&[2, 3], &[6]),
        (&[6], &[1, 6, 1]),
        (&[2, 3, 4], &[4, 6]),
        (&[2, 3, 4], &[24]),
        (&[], &[1, 1]),
        (&[1], &[]),
    ];
    for (case, &(from, to)) in reshaped.iter().enumerate() {
        let x = randn(from, 6100 + case as u64);
        check(&format!("reshape {from:?} to {to:?}"), &[x], |v| {
            weighted_sum(v[0].reshape(to))
        });
    }
    // Transpose feeding a matmul: its gradient must come back in the original layout.
    let (a, b) = (randn(&[3, 2], 6200), randn(&[3, 4], 6201));
    check("aᵀ · b", &[a, b], |v| {
        weighted_sum(v[0].transpose().matmul(v[1]))
    });
}

#[test]
fn softmax_and_log_softmax_on_every_axis() {
    let shapes: &[&[usize]] = &[
        &[3, 4],
        &[1, 5],
        &[4, 1],
        &[2, 2],
        &[2, 3, 4],
        &[3, 1, 2],
        &[2, 2, 3],
    ];
    for (case, &shape) in shapes.iter().enumerate() {
        let x = randn(shape, 7000 + case as u64).map(|x| 2.0 * x);
        for axis in 0..shape.len() {
            check(
                &format!("softmax {shape:?} axis {axis}"),
                std::slice::from_ref(&x),
                |v| weighted_sum(v[0].softmax(axis)),
            );
            check(
                &format!("log_softmax {shape:?} axis {axis}"),
                std::slice::from_ref(&x),
                |v| weighted_sum(v[0].log_softmax(axis)),
            );
        }
    }
}

#[test]
fn max_axis_narrow_and_concat_on_every_axis() {
    let shapes: &[&[usize]] = &[&[5], &[3, 4], &[1, 5], &[4, 1], &[2, 3, 4], &[3, 1, 2]];
    for (case, &shape) in shapes.iter().enumerate() {
        // Random normals: no ties, so each lane has one largest element.
        let x = randn(shape, 7500 + case as u64);
        let y = randn(shape, 7600 + case as u64);
        for axis in 0..shape.len() {
            for keepdim in [false, true] {
                check(
                    &format!("max_axis {shape:?} axis {axis} keepdim {keepdim}"),
                    std::slice::from_ref(&x),
                    |v| weighted_sum(v[0].max_axis(axis, keepdim)),
                );
            }
            let length = shape[axis];
            for (start, len) in [
                (0, length),
                (length - 1, 1),
                (length / 2, length - length / 2),
            ] {
                check(
                    &format!("narrow {shape:?} axis {axis} {start}+{len}"),
                    std::slice::from_ref(&x),
                    |v| weighted_sum(v[0].narrow(axis, start, len).tanh()),
                );
            }
            check(
                &format!("concat {shape:?} axis {axis}"),
                &[x.clone(), y.clone()],
                |v| weighted_sum(concat(&[v[0], v[1].tanh(), v[0]], axis)),
            );
        }
        for axis in 0..=shape.len() {
            check(
                &format!("stack {shape:?} axis {axis}"),
                &[x.clone(), y.clone()],
                |v| weighted_sum(stack(&[v[1], v[0] * v[1]], axis).tanh()),
            );
        }
    }
}

#[test]
fn index_select_with_repeated_and_missing_rows() {
    let table = randn(&[5, 3], 7700);
    for indices in [&[0, 1, 2, 3, 4][..], &[4, 4, 1], &[2], &[3, 0, 3, 0, 3, 1]] {
        check(
            &format!("index_select {indices:?}"),
            std::slice::from_ref(&table),
            |v| weighted_sum(v[0].index_select(indices).square()),
        );
    }
    let rank3 = randn(&[4, 2, 3], 7701);
    check("index_select on rank 3", &[rank3], |v| {
        weighted_sum(v[0].index_select(&[3, 0, 3]).sin())
    });
}

#[test]
fn mse_and_binary_cross_entropy_with_logits() {
    for (case, shape) in [&[4][..], &[3, 2], &[2, 2, 2]].into_iter().enumerate() {
        let prediction = randn(shape, 7800 + case as u64);
        let target = randn(shape, 7900 + case as u64);
        for reduction in [Reduction::Sum, Reduction::Mean] {
            check(
                &format!("mse_loss {shape:?} {reduction:?}"),
                &[prediction.clone(), target.clone()],
                |v| v[0].tanh().mse_loss(v[1], reduction),
            );
            // Targets in [0, 1], soft as well as hard; logits up to ±30, where the naive
            // formula's exp overflows or its log underflows.
            let targets = target.map(|t| {
                if t > 0.5 {
                    1.0
                } else if t < -0.5 {
                    0.0
                } else {
                    t + 0.5
                }
            });
            let logits = prediction.map(|x| 10.0 * x);
            check(
                &format!("bce_with_logits {shape:?} {reduction:?}"),
                std::slice::from_ref(&logits),
                |v| v[0].binary_cross_entropy_with_logits(&targets, reduction),
            );
        }
    }
    let extreme = Tensor::from_slice(&[-30.0, -5.0, 0.0, 5.0, 30.0]);
    let targets = Tensor::from_slice(&[1.0, 0.0, 0.5, 1.0, 0.0]);
    check("bce_with_logits of ±30", &[extreme], |v| {
        v[0].binary_cross_entropy_with_logits(&targets, Reduction::Sum)
    });
}

/// Logits of ±1000 with ties among the large ones, so that the softmax is not just one-hot.
fn huge_logits_2d() -> Tensor {
    Tensor::from_rows(&[
        [1000.0, 1000.0, -1000.0],
        [-1000.0, 999.0, 1000.0],
        [1000.0, -1000.0, -1000.0],
        [-1000.0, -1000.0, -1000.0],
    ])
}

fn huge_logits_3d() -> Tensor {
    let data = vec![
        1000.0, 1000.0, -1000.0, 999.5, -1000.0, 1000.0, //
        1000.0, 1000.0, 1000.0, -1000.0, -999.0, 1000.0,
    ];
    Tensor::new(data, &[2, 2, 3]).unwrap()
}

#[test]
fn softmax_and_log_softmax_of_huge_logits() {
    for x in [huge_logits_2d(), huge_logits_3d()] {
        for axis in 0..x.rank() {
            let what = format!("{:?} axis {axis}", x.shape());
            check(&format!("softmax {what}"), std::slice::from_ref(&x), |v| {
                weighted_sum(v[0].softmax(axis))
            });
            check(
                &format!("log_softmax {what}"),
                std::slice::from_ref(&x),
                |v| weighted_sum(v[0].log_softmax(axis)),
            );

            let tape = Tape::new();
            let z = tape.var(x.clone());
            let (p, logp) = (z.softmax(axis), z.log_softmax(axis));
            assert!(p.value().is_finite() && logp.value().is_finite(), "{what}");
            for out in [p, logp] {
                let grad = weighted_sum(out).backward().wrt(z).clone();
                assert!(grad.is_finite(), "{what}: {grad:?}");
            }
        }
    }
    // The tie [1000, 1000, −1000] is softmax [½, ½, 0]: a gradient that is far from zero.
    let tape = Tape::new();
    let z = tape.var(huge_logits_2d());
    let p = z.softmax(1);
    assert_eq!(&p.value().data()[..3], &[0.5, 0.5, 0.0]);
    let g = (p * tape.constant(Tensor::from_rows(&[[1.0, 0.0, 0.0]; 4])))
        .sum()
        .backward();
    // ∂p₀/∂z₀ = p₀(1 − p₀) = ¼, ∂p₀/∂z₁ = −p₀p₁ = −¼.
    assert_eq!(&g.wrt(z).data()[..3], &[0.25, -0.25, 0.0]);
}

#[test]
fn cross_entropy_sum_and_mean() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[4, 3], &[0, 2, 1, 2]),
        (&[1, 5], &[4]),
        (&[3, 1], &[0, 0, 0]),
        (&[2, 2], &[1, 0]),
        (&[6, 4], &[3, 3, 0, 1, 2, 0]),
    ];
    for (case, &(shape, labels)) in cases.iter().enumerate() {
        let z = randn(shape, 8000 + case as u64).map(|x| 2.0 * x);
        for reduction in [Reduction::Sum, Reduction::Mean] {
            let what = format!("cross_entropy {shape:?} {labels:?} {reduction:?}");
            check(&what, std::slice::from_ref(&z), |v| {
                v[0].cross_entropy(labels, reduction)
            });
            // Scaled, so that a backward that ignored its incoming gradient would show.
            check(
                &format!("{what}, weighted"),
                std::slice::from_ref(&z),
                |v| weighted_sum(v[0].cross_entropy(labels, reduction)),
            );
        }
    }
}

#[test]
fn cross_entropy_of_huge_logits() {
    let z = huge_logits_2d();
    let labels = [1, 2, 0, 1];
    for reduction in [Reduction::Sum, Reduction::Mean] {
        check(
            &format!("cross_entropy ±1000 {reduction:?}"),
            std::slice::from_ref(&z),
            |v| weighted_sum(v[0].cross_entropy(&labels, reduction)),
        );
        let tape = Tape::new();
        let zv = tape.var(z.clone());
        let loss = zv.cross_entropy(&labels, reduction);
        let grad = loss.backward().wrt(zv).clone();
        assert!(loss.item().is_finite(), "{}", loss.item());
        assert!(grad.is_finite(), "{grad:?}");
    }
}

#[test]
fn a_two_layer_network_end_to_end() {
    let x = randn(&[6, 4], 9000);
    let labels = [0, 2, 1, 1, 0, 2];
    let params = [
        randn(&[4, 5], 9001),
        randn(&[5], 9002),
        randn(&[5, 3], 9003),
        randn(&[1, 3], 9004),
    ];
    for reduction in [Reduction::Sum, Reduction::Mean] {
        check(&format!("network {reduction:?}"), &params, |v| {
            let input = v[0].tape().constant(x.clone());
            let hidden = (input.matmul(v[0]) + v[1]).tanh();
            let logits = hidden.matmul(v[2]) + v[3];
            logits.cross_entropy(&labels, reduction)
                + 0.1 * (v[0].square().sum() + v[2].square().mean())
        });
    }
    // The same network through sigmoid, relu and a log-softmax with a hand-written NLL.
    check("network with log_softmax", &params, |v| {
        let tape = v[0].tape();
        let input = tape.constant(x.clone());
        let hidden = (input.matmul(v[0]) + v[1]).sigmoid() * 2.0 - 0.3;
        let logp = (hidden.relu().matmul(v[2]) + v[3]).log_softmax(1);
        let mut onehot = Tensor::zeros(&[6, 3]);
        for (row, &label) in labels.iter().enumerate() {
            onehot[[row, label]] = 1.0;
        }
        -(logp * tape.constant(onehot)).sum_axis(1, false).mean()
    });
}

// ---- The checker catches what it should ----

/// `sin` with a deliberately wrong backward: `+sin(x)` where `cos(x)` belongs.
struct WrongSin;

impl Op for WrongSin {
    fn name(&self) -> &'static str {
        "wrong_sin"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::sin)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output * args.inputs[0].sin())]
    }
}

/// The correct `sin`, to show the check's setup is sound and the failure is the backward's.
struct Sin;

impl Op for Sin {
    fn name(&self) -> &'static str {
        "sin"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::sin)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let x = args.inputs[0];
        let cos_x = x.tape().apply(Sin, &[x + std::f64::consts::FRAC_PI_2]);
        vec![Some(args.grad_output * cos_x)]
    }
}

/// `sin` whose rule puts `cos x` on the tape as a constant computed from the value: its first
/// derivatives are right, its second derivative (−sin x) silently zero.
struct FrozenSlopeSin;

impl Op for FrozenSlopeSin {
    fn name(&self) -> &'static str {
        "frozen_slope_sin"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::sin)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let x = args.inputs[0];
        let cos_x = x.tape().constant(x.value().map(f64::cos));
        vec![Some(args.grad_output * cos_x)]
    }
}

/// `sin` whose rule is another function's (`−sin x` where `cos x` belongs): what an op with two
/// backwards could do on one of them only. With one rule it is wrong everywhere, first order
/// included, and gradcheck says so.
struct TwoFacedSin;

impl Op for TwoFacedSin {
    fn name(&self) -> &'static str {
        "two_faced_sin"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::sin)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(-(args.grad_output * args.output))]
    }
}

#[test]
fn gradgradcheck_catches_a_silently_wrong_second_derivative() {
    let x = [Tensor::from_slice(&[0.3, 1.2])];
    let error =
        gradgradcheck(&x, |v| v[0].tape().apply(FrozenSlopeSin, &[v[0]]).sum()).unwrap_err();
    match error {
        GradCheckError::SecondOrderMismatch {
            of: (0, ref of),
            along: (0, ref along),
            analytic,
            numeric,
        } => {
            assert_eq!(
                (of.as_slice(), along.as_slice()),
                (&[0usize][..], &[0usize][..])
            );
            assert_eq!(analytic, 0.0);
            assert!((numeric + 0.3f64.sin()).abs() < 1e-6, "numeric {numeric}");
        }
        other => panic!("expected a second-order mismatch, got {other:?}"),
    }
    assert!(error.to_string().starts_with(
        "gradgradcheck: second derivative of input 0 element [0] along input 0 element [0]: analytic 0"
    ));
}

#[test]
fn a_rule_that_is_wrong_on_one_path_is_wrong_on_both_and_gradcheck_catches_it() {
    let x = [Tensor::from_slice(&[0.3, 1.2])];
    let f = function(|v| v[0].tape().apply(TwoFacedSin, &[v[0]]).sum());
    match gradcheck(&x, f).unwrap_err() {
        GradCheckError::Mismatch {
            input: 0,
            ref index,
            analytic,
            numeric,
        } => {
            assert_eq!(index.as_slice(), &[0]);
            assert_eq!(analytic, -0.3f64.sin());
            assert!((numeric - 0.3f64.cos()).abs() < 1e-8, "numeric {numeric}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // The evaluated rule and the recorded one are the same rule: the same (wrong) numbers.
    let tape = Tape::new();
    let v = tape.var(x[0].clone());
    let output = f(&[v]);
    assert_eq!(output.backward().wrt(v), &output.grad(&[v])[0].value());
}

#[test]
fn gradcheck_rejects_a_wrong_backward_and_names_the_element() {
    // sin = cos at π/4, so element [0, 0] passes even with the wrong backward; [0, 1] is the first
    // element where they differ.
    let x = Tensor::from_rows(&[[FRAC_PI_4, 1.0], [2.0, -0.5]]);
    check("correct sin", std::slice::from_ref(&x), |v| {
        v[0].tape().apply(Sin, &[v[0]]).sum()
    });

    let result = gradcheck(std::slice::from_ref(&x), |v| {
        v[0].tape().apply(WrongSin, &[v[0]]).sum()
    });
    match result {
        Err(GradCheckError::Mismatch {
            input: 0,
            index,
            analytic,
            numeric,
        }) => {
            assert_eq!(index.as_slice(), &[0, 1]);
            assert_eq!(analytic, 1.0f64.sin());
            assert!((numeric - 1.0f64.cos()).abs() < 1e-8, "numeric {numeric}");
        }
        other => panic!("expected a mismatch at input 0, element [0, 1], got {other:?}"),
    }
}

/// `a ⊙ b` whose gradient for `b` is wrong: `g ⊙ b` instead of `g ⊙ a`.
struct WrongMul;

impl Op for WrongMul {
    fn name(&self) -> &'static str {
        "wrong_mul"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0] * inputs[1]
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (b, g) = (args.inputs[1], args.grad_output);
        vec![Some(g * b), Some(g * b)]
    }
}

#[test]
fn gradcheck_names_the_input_whose_gradient_is_wrong() {
    // a and b agree in element 0, so b's gradient is right there and wrong at element 1.
    let inputs = [
        Tensor::from_slice(&[1.0, 2.0]),
        Tensor::from_slice(&[1.0, 3.0]),
    ];
    let error = gradcheck(&inputs, |v| {
        v[0].tape().apply(WrongMul, &[v[0], v[1]]).sum()
    })
    .unwrap_err();
    let GradCheckError::Mismatch {
        input,
        ref index,
        analytic,
        numeric,
    } = error
    else {
        panic!("expected a mismatch, got {error:?}");
    };
    assert_eq!((input, index.as_slice(), analytic), (1, &[1usize][..], 3.0));
    assert!((numeric - 2.0).abs() < 1e-8, "numeric {numeric}");
    let message = error.to_string();
    assert!(
        message.starts_with("gradcheck: input 1, element [1]: analytic 3"),
        "{message}"
    );
    assert!(message.contains(" vs numeric 2"), "{message}");
}

#[test]
fn gradcheck_reports_an_input_that_does_not_reach_the_output() {
    let inputs = [randn(&[2, 3], 1), randn(&[3], 2)];
    let error = gradcheck(&inputs, |v| weighted_sum(v[0].tanh())).unwrap_err();
    assert_eq!(error, GradCheckError::NoGradient { input: 1 });
    assert_eq!(error.to_string(), "gradcheck: input 1 received no gradient");

    // Through detach: the value is used, the gradient is not.
    let error = gradcheck(&inputs, |v| weighted_sum(v[0] * v[1].detach())).unwrap_err();
    assert_eq!(error, GradCheckError::NoGradient { input: 1 });

    // The first input can be the one missing, too.
    let error = gradcheck(&inputs, |v| weighted_sum(v[1].exp())).unwrap_err();
    assert_eq!(error, GradCheckError::NoGradient { input: 0 });
}

#[test]
fn gradcheck_refuses_a_non_scalar_function() {
    let inputs = [randn(&[2, 3], 3)];
    let error = gradcheck(&inputs, |v| v[0] * 2.0).unwrap_err();
    match &error {
        GradCheckError::NotScalar { shape } => assert_eq!(shape.as_slice(), &[2, 3]),
        other => panic!("expected NotScalar, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "gradcheck: the function returned shape [2, 3], not a scalar"
    );
    // One element in any shape is a scalar for the check.
    let row = [randn(&[1, 3], 4), randn(&[3, 1], 5)];
    check("[1, 3] x [3, 1] unreduced", &row, |v| v[0].matmul(v[1]));
}

#[test]
fn gradcheck_settings_are_used() {
    assert_eq!(
        GradCheck::default(),
        GradCheck {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3
        }
    );
    let x = [Tensor::from_slice(&[0.5, 1.0, 1.5])];
    // With a step of 0.1 the central difference of exp is eˣ·sinh(0.1)/0.1 ≈ 1.00167 eˣ: off by
    // more than the default relative tolerance of 1e-3, within 2e-3.
    let coarse = GradCheck::default().eps(0.1);
    let error = coarse.check(&x, |v| v[0].exp().sum()).unwrap_err();
    assert!(
        matches!(error, GradCheckError::Mismatch { input: 0, ref index, .. } if index.as_slice() == [0]),
        "{error:?}"
    );
    coarse.rtol(2e-3).check(&x, |v| v[0].exp().sum()).unwrap();
    // Tight tolerances still pass with the fine default step.
    let report = GradCheck::default()
        .atol(1e-8)
        .rtol(0.0)
        .check(&x, |v| v[0].exp().sum())
        .unwrap();
    assert_eq!(report.elements, 3);
    assert!(report.max_abs_error < 1e-8, "{report:?}");
}
