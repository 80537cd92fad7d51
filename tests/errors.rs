//! Error messages as the docs give them: the op, the shapes, and (through `#[track_caller]`) the
//! file and line of the caller's code, here `tests/errors.rs`; constructors return `ShapeError`.

#[path = "common/panics.rs"]
mod panics;

use panics::panic_message;

use tapegrad::ops::{BackwardArgs, InputGrads, Op};
use tapegrad::{Reduction, ShapeError, Tape, Tensor};

// ---- Shape errors inside a computation panic, naming the caller's line ----

#[test]
#[should_panic(
    expected = "matmul: [200, 2] x [3, 2]: inner dimensions differ (2 vs 3) at tests/errors.rs:"
)]
fn matmul_inner_dimensions_differ() {
    let tape = Tape::new();
    let x = tape.constant(Tensor::zeros(&[200, 2]));
    let w = tape.var(Tensor::zeros(&[3, 2]));
    x.matmul(w);
}

#[test]
#[should_panic(expected = "l2_penalty: no weights to penalise at tests/errors.rs:")]
fn an_l2_penalty_of_no_weights() {
    tapegrad::ops::l2_penalty(&[], 0.01);
}

#[test]
#[should_panic(
    expected = "affine: [2, 3] and [1, 4] do not broadcast (axis 1: 3 vs 4) at tests/errors.rs:"
)]
fn affine_bias_of_the_wrong_width() {
    let tape = Tape::new();
    let x = tape.constant(Tensor::zeros(&[2, 5]));
    let w = tape.var(Tensor::zeros(&[5, 3]));
    let b = tape.var(Tensor::zeros(&[1, 4]));
    x.affine(w, b);
}

#[test]
#[should_panic(
    expected = "affine: [2, 5] x [4, 3]: inner dimensions differ (5 vs 4) at tests/errors.rs:"
)]
fn affine_inner_dimensions_differ() {
    let tape = Tape::new();
    let x = tape.constant(Tensor::zeros(&[2, 5]));
    x.affine(
        tape.var(Tensor::zeros(&[4, 3])),
        tape.var(Tensor::zeros(&[3])),
    );
}

#[test]
#[should_panic(
    expected = "matmul: [3] x [3, 2]: both operands must be 2-D (or 3-D, a batch of matrices) at tests/errors.rs:"
)]
fn matmul_needs_matrices() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[3]));
    let w = tape.var(Tensor::zeros(&[3, 2]));
    x.matmul(w);
}

#[test]
#[should_panic(
    expected = "add: [5, 3] and [4] do not broadcast (axis 1: 3 vs 4) at tests/errors.rs:"
)]
fn add_shapes_that_do_not_broadcast() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[5, 3]));
    let b = tape.var(Tensor::zeros(&[4]));
    let _ = x + b;
}

#[test]
#[should_panic(
    expected = "sub: [4] and [5, 3] do not broadcast (axis 1: 4 vs 3) at tests/errors.rs:"
)]
fn sub_shapes_that_do_not_broadcast_small_on_the_left() {
    let tape = Tape::new();
    let b = tape.var(Tensor::zeros(&[4]));
    let x = tape.constant(Tensor::zeros(&[5, 3]));
    let _ = b - x;
}

#[test]
#[should_panic(
    expected = "mul: [2, 3, 4] and [5, 4] do not broadcast (axis 1: 3 vs 5) at tests/errors.rs:"
)]
fn mul_shapes_that_do_not_broadcast_rank_three() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[2, 3, 4]));
    let y = tape.var(Tensor::zeros(&[5, 4]));
    let _ = x * y;
}

#[test]
#[should_panic(
    expected = "div: [2, 3] and [2] do not broadcast (axis 1: 3 vs 2) at tests/errors.rs:"
)]
fn div_shapes_that_do_not_broadcast() {
    let tape = Tape::new();
    let x = tape.var(Tensor::ones(&[2, 3]));
    let y = tape.var(Tensor::ones(&[2]));
    let _ = x / y;
}

#[test]
#[should_panic(
    expected = "add: [5, 3] and [4] do not broadcast (axis 1: 3 vs 4) at tests/errors.rs:"
)]
fn tensor_add_shapes_that_do_not_broadcast() {
    let _ = &Tensor::zeros(&[5, 3]) + &Tensor::zeros(&[4]);
}

#[test]
#[should_panic(expected = "reshape: [2, 3] has 6 elements, [4] needs 4 at tests/errors.rs:")]
fn reshape_to_a_different_count() {
    let tape = Tape::new();
    tape.var(Tensor::zeros(&[2, 3])).reshape(&[4]);
}

#[test]
#[should_panic(
    expected = "cross_entropy: label 3 of row 1 is out of range for 3 classes at tests/errors.rs:"
)]
fn cross_entropy_label_out_of_range() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros(&[2, 3]));
    z.cross_entropy(&[0, 3], Reduction::Mean);
}

#[test]
#[should_panic(
    expected = "cross_entropy: 1 labels for logits [2, 3]: need one label per row at tests/errors.rs:"
)]
fn cross_entropy_too_few_labels() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros(&[2, 3]));
    z.cross_entropy(&[0], Reduction::Sum);
}

#[test]
#[should_panic(
    expected = "cross_entropy: 3 labels for logits [2, 3]: need one label per row at tests/errors.rs:"
)]
fn cross_entropy_too_many_labels() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros(&[2, 3]));
    z.cross_entropy(&[0, 1, 2], Reduction::Sum);
}

#[test]
#[should_panic(
    expected = "cross_entropy: logits must be 2-D [batch, classes], got [6] at tests/errors.rs:"
)]
fn cross_entropy_of_a_vector() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros(&[6]));
    z.cross_entropy(&[0], Reduction::Sum);
}

#[test]
#[should_panic(
    expected = "cross_entropy: logits must be 2-D [batch, classes], got [2, 3, 4] at tests/errors.rs:"
)]
fn cross_entropy_of_a_rank_three_tensor() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros(&[2, 3, 4]));
    z.cross_entropy(&[0, 1], Reduction::Mean);
}

#[test]
#[should_panic(expected = "sum_axis: axis 2 is out of range for shape [3, 4] at tests/errors.rs:")]
fn sum_axis_out_of_range() {
    let tape = Tape::new();
    tape.var(Tensor::zeros(&[3, 4])).sum_axis(2, false);
}

#[test]
#[should_panic(expected = "mean_axis: axis 1 is out of range for shape [5] at tests/errors.rs:")]
fn mean_axis_out_of_range() {
    let tape = Tape::new();
    tape.var(Tensor::zeros(&[5])).mean_axis(1, true);
}

#[test]
#[should_panic(expected = "sum_axis: axis 0 is out of range for shape [] at tests/errors.rs:")]
fn sum_axis_of_a_scalar() {
    let tape = Tape::new();
    tape.var(Tensor::scalar(1.0)).sum_axis(0, true);
}

#[test]
#[should_panic(expected = "softmax: axis 2 is out of range for shape [2, 3] at tests/errors.rs:")]
fn softmax_axis_out_of_range() {
    let tape = Tape::new();
    tape.var(Tensor::zeros(&[2, 3])).softmax(2);
}

#[test]
#[should_panic(
    expected = "log_softmax: axis 3 is out of range for shape [2, 3, 4] at tests/errors.rs:"
)]
fn log_softmax_axis_out_of_range() {
    let tape = Tape::new();
    tape.var(Tensor::zeros(&[2, 3, 4])).log_softmax(3);
}

// ---- Backward and gradients ----

#[test]
#[should_panic(
    expected = "backward: output has shape [2, 3], not one element; use backward_with(seed) for a non-scalar output at tests/errors.rs:"
)]
fn backward_of_a_non_scalar() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[2, 3]));
    x.tanh().backward();
}

#[test]
#[should_panic(
    expected = "backward_with: seed has shape [3, 2], the output [2, 3] at tests/errors.rs:"
)]
fn backward_with_a_seed_of_the_wrong_shape() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[2, 3]));
    x.exp().backward_with(Tensor::ones(&[3, 2]));
}

#[test]
#[should_panic(
    expected = "Gradients::wrt: #1 has no gradient: it is a constant, or the output does not depend on it (Gradients::get returns None instead) at tests/errors.rs:"
)]
fn wrt_a_constant() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(2.0));
    let c = tape.constant(Tensor::scalar(3.0));
    let grads = (x * c).backward();
    grads.wrt(c);
}

#[test]
#[should_panic(
    expected = "Gradients::wrt: #1 has no gradient: it is a constant, or the output does not depend on it (Gradients::get returns None instead) at tests/errors.rs:"
)]
fn wrt_a_variable_the_output_does_not_use() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(2.0));
    let unused = tape.var(Tensor::scalar(3.0));
    let grads = x.square().backward();
    grads.wrt(unused);
}

#[test]
#[should_panic(expected = "value: #0 belongs to another tape at tests/errors.rs:")]
fn value_of_a_variable_of_another_tape() {
    let (first, second) = (Tape::new(), Tape::new());
    let x = second.var(Tensor::scalar(1.0));
    first.value(x);
}

#[test]
#[should_panic(expected = "matmul: #0 belongs to another tape at tests/errors.rs:")]
fn matmul_of_variables_of_two_tapes() {
    let (first, second) = (Tape::new(), Tape::new());
    let _pad = first.var(Tensor::eye(2));
    let a = first.var(Tensor::eye(2));
    let b = second.var(Tensor::eye(2));
    a.matmul(b);
}

// ---- Tensor methods ----

#[test]
#[should_panic(expected = "item: tensor of shape [2] has 2 elements, not 1 at tests/errors.rs:")]
fn item_of_a_vector_through_a_var() {
    let tape = Tape::new();
    tape.var(Tensor::from_slice(&[1.0, 2.0])).item();
}

#[test]
#[should_panic(expected = "item: tensor of shape [0] has 0 elements, not 1 at tests/errors.rs:")]
fn item_of_an_empty_tensor() {
    Tensor::zeros(&[0]).item();
}

#[test]
#[should_panic(expected = "index: [2, 0] is outside a tensor of shape [2, 3] at tests/errors.rs:")]
fn index_out_of_range() {
    let t = Tensor::zeros(&[2, 3]);
    let _ = t[[2, 0]];
}

#[test]
#[should_panic(expected = "index: [0] is outside a tensor of shape [2, 3] at tests/errors.rs:")]
fn index_of_the_wrong_rank() {
    let t = Tensor::zeros(&[2, 3]);
    let _ = t[[0]];
}

#[test]
#[should_panic(expected = "index: [0, 3] is outside a tensor of shape [2, 3] at tests/errors.rs:")]
fn index_mut_out_of_range() {
    let mut t = Tensor::zeros(&[2, 3]);
    t[[0, 3]] = 1.0;
}

#[test]
#[should_panic(expected = "add_scaled: [2] and [3] differ at tests/errors.rs:")]
fn add_scaled_needs_equal_shapes() {
    let mut w = Tensor::zeros(&[2]);
    w.add_scaled(-0.1, &Tensor::zeros(&[3]));
}

#[test]
#[should_panic(expected = "max_abs_diff: [2, 1] and [2] differ at tests/errors.rs:")]
fn max_abs_diff_needs_equal_shapes() {
    Tensor::zeros(&[2, 1]).max_abs_diff(&Tensor::zeros(&[2]));
}

#[test]
#[should_panic(expected = "broadcast_to: [2, 3] does not broadcast to [3] at tests/errors.rs:")]
fn broadcast_to_a_smaller_shape() {
    Tensor::zeros(&[2, 3]).broadcast_to(&[3]);
}

#[test]
#[should_panic(
    expected = "broadcast_to: [3] and [4] do not broadcast (axis 0: 3 vs 4) at tests/errors.rs:"
)]
fn broadcast_to_a_clashing_shape() {
    Tensor::zeros(&[3]).broadcast_to(&[4]);
}

#[test]
#[should_panic(expected = "sum_to: [3] cannot be summed down to [2, 3] at tests/errors.rs:")]
fn sum_to_a_larger_shape() {
    Tensor::zeros(&[3]).sum_to(&[2, 3]);
}

#[test]
#[should_panic(
    expected = "matmul_t: [2, 3] x [2, 2]: inner dimensions differ (3 vs 2) at tests/errors.rs:"
)]
fn matmul_t_inner_dimensions_differ() {
    Tensor::zeros(&[2, 3]).matmul_t(&Tensor::zeros(&[2, 2]));
}

// ---- Constructors return errors instead ----

#[test]
fn tensor_new_with_the_wrong_length_is_an_error() {
    let error = Tensor::new(vec![1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3]).unwrap_err();
    assert_eq!(error.shape.as_slice(), &[2, 3]);
    assert_eq!(error.len, 5);
    assert_eq!(
        error.to_string(),
        "Tensor::new: 5 values do not fill shape [2, 3] (it needs 6)"
    );
    let error: ShapeError = Tensor::new(vec![], &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Tensor::new: 0 values do not fill shape [] (it needs 1)"
    );
    let error = Tensor::new(vec![1.0], &[2, 0]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Tensor::new: 1 values do not fill shape [2, 0] (it needs 0)"
    );
    // It is a std error, usable with `?`.
    let boxed: Box<dyn std::error::Error> = Box::new(error);
    assert!(boxed.to_string().starts_with("Tensor::new: "));
    // The right lengths are accepted.
    assert_eq!(Tensor::new(vec![7.0], &[]).unwrap().item(), 7.0);
    assert_eq!(Tensor::new(vec![], &[2, 0]).unwrap().len(), 0);
}

// ---- The line in the message is the caller's exact line ----

#[test]
fn messages_name_the_line_of_the_call() {
    let tape = Tape::new();
    let x = tape.constant(Tensor::zeros(&[200, 2]));
    let w = tape.var(Tensor::zeros(&[3, 2]));
    let line = line!() + 1;
    let message = panic_message(|| x.matmul(w));
    let expected = format!(
        "matmul: [200, 2] x [3, 2]: inner dimensions differ (2 vs 3) at tests/errors.rs:{line}:"
    );
    assert!(
        message.starts_with(&expected),
        "{message}\nexpected {expected}"
    );

    let b = tape.var(Tensor::zeros(&[4]));
    let line = line!() + 1;
    let message = panic_message(|| x + b);
    let expected = format!(
        "add: [200, 2] and [4] do not broadcast (axis 1: 2 vs 4) at tests/errors.rs:{line}:"
    );
    assert!(
        message.starts_with(&expected),
        "{message}\nexpected {expected}"
    );

    let line = line!() + 1;
    let message = panic_message(|| x.cross_entropy(&[5; 200], Reduction::Mean));
    let expected = format!(
        "cross_entropy: label 5 of row 0 is out of range for 2 classes at tests/errors.rs:{line}:"
    );
    assert!(
        message.starts_with(&expected),
        "{message}\nexpected {expected}"
    );

    let line = line!() + 1;
    let message = panic_message(|| x.backward());
    let expected = format!(
        "backward: output has shape [200, 2], not one element; use backward_with(seed) for a non-scalar output at tests/errors.rs:{line}:"
    );
    assert!(
        message.starts_with(&expected),
        "{message}\nexpected {expected}"
    );
}

/// A custom op whose forward calls a `Tensor` method that can panic: the doc promises that
/// `forward` is `#[track_caller]` through the trait, so the panic names the line that applied the op.
struct Outer;

impl Op for Outer {
    fn name(&self) -> &'static str {
        "outer"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].matmul(&inputs[1].transpose())
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let ([a, b], g) = ([args.inputs[0], args.inputs[1]], args.grad_output);
        vec![Some(g.matmul(b)), Some(g.t_matmul(a))]
    }
}

#[test]
fn a_custom_op_forward_panic_names_the_line_that_applied_it() {
    let tape = Tape::new();
    let a = tape.var(Tensor::zeros(&[2, 3]));
    let b = tape.var(Tensor::zeros(&[4, 2]));
    let line = line!() + 1;
    let message = panic_message(|| tape.apply(Outer, &[a, b]));
    let expected = format!(
        "matmul: [2, 3] x [2, 4]: inner dimensions differ (3 vs 2) at tests/errors.rs:{line}:"
    );
    assert!(
        message.starts_with(&expected),
        "{message}\nexpected {expected}"
    );
}

/// An op whose backward returns one gradient too many.
struct Miscounted;

impl Op for Miscounted {
    fn name(&self) -> &'static str {
        "miscounted"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].clone()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.grad_output), Some(args.grad_output)]
    }
}

#[test]
#[should_panic(
    expected = "miscounted: backward returned 2 gradients for 1 inputs (node #1, created at tests/errors.rs:"
)]
fn a_backward_with_the_wrong_number_of_gradients() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[2]));
    tape.apply(Miscounted, &[x]).sum().backward();
}

/// An op whose backward returns a gradient of a shape the input cannot be summed down from.
struct Misshapen;

impl Op for Misshapen {
    fn name(&self) -> &'static str {
        "misshapen"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].clone()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        vec![Some(args.tape().constant(Tensor::zeros(&[4])))]
    }
}

#[test]
#[should_panic(
    expected = "misshapen: backward returned a gradient of shape [4] for an input of shape [2, 3] (node created at tests/errors.rs:"
)]
fn a_backward_with_a_gradient_of_the_wrong_shape() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[2, 3]));
    tape.apply(Misshapen, &[x]).sum().backward();
}

#[test]
#[should_panic(
    expected = "cross_entropy: logits [0, 2] are empty: need at least one row and one class at tests/errors.rs:"
)]
fn cross_entropy_of_an_empty_batch() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros(&[0, 2]));
    z.cross_entropy(&[], Reduction::Mean);
}

/// `e^x` whose rule calls a kernel that has no derivative rule of its own: first derivatives
/// work, and a second one must fail loudly, never come out silently zero.
struct FirstOrderExp;

impl Op for FirstOrderExp {
    fn name(&self) -> &'static str {
        "my_exp"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(f64::exp)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let (g, y) = (args.grad_output, args.output);
        vec![Some(args.tape().apply(MyExpBackward, &[g, y]))]
    }
}

/// `g ⊙ y`, computed on plain numbers, with no derivative rule.
struct MyExpBackward;

impl Op for MyExpBackward {
    fn name(&self) -> &'static str {
        "my_exp_backward"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0] * inputs[1]
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        args.not_differentiable()
    }
}

#[test]
fn a_user_op_without_a_second_derivative_still_gives_first_derivatives() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(0.5));
    let y = tape.apply(FirstOrderExp, &[x]);
    assert_eq!(y.backward().wrt(x).item(), 0.5f64.exp());
    // On the tape too: the gradient is right, only differentiating it again is refused.
    assert_eq!(y.grad(&[x])[0].item(), 0.5f64.exp());
}

#[test]
fn a_second_derivative_through_a_first_order_op_names_the_op_and_its_line() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(0.5));
    let line = line!() + 1;
    let y = tape.apply(FirstOrderExp, &[x]).square();
    let dy = y.grad(&[x])[0];
    let message = panic_message(|| dy.backward());
    let expected = format!(
        "my_exp_backward: no derivative rule: nothing can be differentiated through the \
         my_exp_backward applied at tests/errors.rs:{line}:"
    );
    assert!(
        message.starts_with(&expected),
        "{message}\nexpected {expected}"
    );
    assert!(message.contains("write the rule with Var ops"), "{message}");
}

#[test]
#[should_panic(
    expected = "my_exp_backward: no derivative rule: nothing can be differentiated through the my_exp_backward applied at tests/errors.rs:"
)]
fn hvp_through_a_first_order_op_panics() {
    tapegrad::hvp(&[Tensor::scalar(1.0)], &[Tensor::scalar(1.0)], |v| {
        v[0].tape().apply(FirstOrderExp, &[v[0]]).sum()
    });
}

#[test]
fn a_shape_error_in_a_second_order_expression_names_the_line() {
    let tape = Tape::new();
    let w = tape.var(Tensor::zeros(&[2, 3]));
    let direction = tape.constant(Tensor::zeros(&[3, 2]));
    let grad = w.tanh().sum().grad(&[w])[0];
    let line = line!() + 1;
    let message = panic_message(|| grad * direction);
    assert!(
        message.starts_with("mul: [2, 3] and [3, 2] do not broadcast"),
        "{message}"
    );
    assert!(
        message.contains(&format!("at tests/errors.rs:{line}:")),
        "{message}"
    );
}

#[test]
#[should_panic(expected = "hvp: direction has shapes [[3]], the inputs [[2]] at tests/errors.rs:")]
fn hvp_with_a_direction_of_the_wrong_shape() {
    tapegrad::hvp(&[Tensor::zeros(&[2])], &[Tensor::zeros(&[3])], |v| {
        v[0].sum()
    });
}

#[test]
#[should_panic(
    expected = "grad: output has shape [2], not one element; use grad_with(seed, wrt) for a non-scalar output at tests/errors.rs:"
)]
fn grad_of_a_non_scalar() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[2]));
    x.tanh().grad(&[x]);
}

// ---- Shapes whose element count overflows: an error for data, a panic for the program's own ----

/// A shape of 2⁶⁴ elements: the product wraps to 0 in a release build, so it must be checked.
const OVERFLOWING: [usize; 2] = [1 << 32, 1 << 32];

#[test]
fn new_refuses_a_shape_whose_element_count_overflows() {
    let error = Tensor::new(vec![], &OVERFLOWING).unwrap_err();
    assert!(error.is_overflow());
    assert!(
        error
            .to_string()
            .contains("[4294967296, 4294967296] has more elements than memory can address"),
        "{error}"
    );
    // Zeros count as zero elements, but the other lengths must still be addressable.
    assert!(Tensor::new(vec![], &[0, 1 << 62, 1 << 62]).is_err());
    assert_eq!(Tensor::new(vec![], &[0, 1 << 40]).unwrap().len(), 0);
    // Past isize::MAX bytes no allocation can hold it, even when the count fits in a usize.
    assert!(Tensor::new(vec![], &[1 << 61]).unwrap_err().is_overflow());
}

#[test]
fn constructors_panic_on_an_overflowing_shape_naming_the_call() {
    let huge = [1usize << 33, 1 << 33];
    type Constructor = fn(&[usize]) -> Tensor;
    let cases: [(&str, Constructor); 4] = [
        ("Tensor::zeros", |s| Tensor::zeros(s)),
        ("Tensor::ones", |s| Tensor::ones(s)),
        ("Tensor::full", |s| Tensor::full(s, 2.0)),
        ("Tensor::randn", |s| {
            Tensor::randn(
                s,
                &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0),
            )
        }),
    ];
    for (op, make) in cases {
        let message = panic_message(|| make(&huge));
        let expected = format!(
            "{op}: shape [8589934592, 8589934592] has more elements than memory can address"
        );
        assert!(message.starts_with(&expected), "{message}");
        assert!(message.contains("at tests/errors.rs:"), "{message}");
    }
    let message = panic_message(|| Tensor::eye(1 << 33));
    assert!(
        message.starts_with("Tensor::eye: shape [8589934592, 8589934592]"),
        "{message}"
    );
    let message = panic_message(|| tapegrad::numpy_random::RandomState::new(0).randn(&huge));
    assert!(
        message.starts_with("RandomState::randn: shape"),
        "{message}"
    );
}

#[test]
#[should_panic(
    expected = "reshape: shape [9223372036854775809, 2] has more elements than memory can address (the product of its lengths overflows) at tests/errors.rs:"
)]
fn reshape_to_an_overflowing_shape() {
    // (2⁶³ + 1) · 2 wraps to 2, the element count of the input.
    Tensor::from_slice(&[1.0, 2.0]).reshape(&[(1 << 63) + 1, 2]);
}

#[test]
fn broadcasts_to_an_overflowing_shape_panic() {
    let one = Tensor::scalar(1.0);
    let message = panic_message(|| one.broadcast_to(&[0, 1 << 62, 1 << 62]));
    assert!(
        message.starts_with("broadcast_to: shape [0, 4611686018427387904, 4611686018427387904]"),
        "{message}"
    );
    assert!(message.contains("at tests/errors.rs:"), "{message}");
    // Two empty tensors whose shapes broadcast to one with 2⁸⁰ addressable elements.
    let (a, b) = (
        Tensor::zeros(&[1 << 40, 1, 0]),
        Tensor::zeros(&[1, 1 << 40, 0]),
    );
    let message = panic_message(|| &a + &b);
    assert!(
        message.starts_with("add: shape [1099511627776, 1099511627776, 0]"),
        "{message}"
    );
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[1, 0]));
    let message = panic_message(|| x.broadcast_to(&[1 << 62, 1 << 62, 0]));
    assert!(message.starts_with("broadcast_to: shape"), "{message}");
}

// ---- In-place updates keep their left side's shape ----

#[test]
#[should_panic(
    expected = "add_assign: [2, 3] does not broadcast to [1, 3] (only the right side may broadcast) at tests/errors.rs:"
)]
fn add_assign_does_not_grow_its_left_side() {
    let mut a = Tensor::zeros(&[1, 3]);
    a += &Tensor::ones(&[2, 3]);
}

#[test]
#[should_panic(
    expected = "sub_assign: [4, 1] does not broadcast to [3] (only the right side may broadcast) at tests/errors.rs:"
)]
fn sub_assign_does_not_grow_its_left_side() {
    let mut a = Tensor::zeros(&[3]);
    a -= &Tensor::ones(&[4, 1]);
}

// ---- Messages that name the real cause ----

#[test]
fn backward_after_take_says_the_tape_is_spent() {
    let tape = Tape::new();
    let w = tape.var(Tensor::from_slice(&[0.5, -0.5]));
    let loss = w.tanh().sum();
    loss.backward();
    tape.take(w);
    let message = panic_message(|| loss.backward());
    assert!(
        message.starts_with(
            "backward: the tape is spent: the value of #0 (created at tests/errors.rs:"
        ),
        "{message}"
    );
    assert!(!message.contains("tanh"), "{message}");
    assert!(
        message.contains("call tape.clear() before recording the next pass"),
        "{message}"
    );
    let message = panic_message(|| loss.grad(&[w]));
    assert!(message.starts_with("grad: the tape is spent"), "{message}");
}

#[test]
fn max_axis_over_an_empty_axis_names_the_callers_line() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(&[2, 0]));
    let line = line!() + 1;
    let message = panic_message(|| x.max_axis(1, false));
    assert!(message.starts_with("max_axis: "), "{message}");
    assert!(
        message.contains(&format!("at tests/errors.rs:{line}:")),
        "{message}"
    );
}

#[test]
fn a_cleared_tape_after_take_backpropagates_again() {
    let mut tape = Tape::new();
    let w = tape.var(Tensor::scalar(2.0));
    tape.take(w);
    tape.clear();
    let w = tape.var(Tensor::scalar(3.0));
    assert_eq!(w.square().backward().wrt(w).item(), 6.0);
}

#[test]
#[should_panic(
    expected = "tanh: applied to no inputs; an op needs at least one (a value without inputs is a leaf: Tape::var or Tape::constant) at tests/errors.rs:"
)]
fn an_op_applied_to_no_inputs() {
    Tape::new().apply(tapegrad::ops::Tanh, &[]);
}

#[test]
#[should_panic(
    expected = "argmax_axis: axis 1 of shape [3, 0] is empty: no element to pick at tests/errors.rs:"
)]
fn argmax_over_empty_lanes() {
    Tensor::zeros(&[3, 0]).argmax_axis(1);
}

#[test]
fn argmax_of_no_lanes_is_empty() {
    assert_eq!(Tensor::zeros(&[0, 4]).argmax_axis(1), Vec::<usize>::new());
}

#[test]
fn initialisers_name_an_overflowing_shape_and_the_caller() {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let message = panic_message(|| tapegrad::nn::init::normal(&[1 << 33, 1 << 33], 1.0, &mut rng));
    assert!(
        message.starts_with("init::normal: shape [8589934592, 8589934592]"),
        "{message}"
    );
    assert!(message.contains("at tests/errors.rs:"), "{message}");
    let message =
        panic_message(|| tapegrad::nn::init::kaiming_uniform(&[1 << 33, 1 << 33], 1.0, &mut rng));
    assert!(message.starts_with("init::uniform: shape"), "{message}");
    assert!(message.contains("at tests/errors.rs:"), "{message}");
}

#[test]
fn concat_of_empty_tensors_cannot_overflow_its_length() {
    let empty = Tensor::zeros(&[0, 1 << 59]);
    let sixteen = vec![&empty; 16]; // 2⁶³ along axis 1: a count, but not an allocation
    let message = panic_message(|| Tensor::concat(&sixteen, 1));
    assert!(
        message.starts_with("concat: shape [0, 9223372036854775808] has more elements"),
        "{message}"
    );
    let thirty_two = vec![&empty; 32]; // 2⁶⁴ wraps to 0
    let message = panic_message(|| Tensor::concat(&thirty_two, 1));
    let expected =
        "concat: the lengths along axis 1 of 32 tensors add up past usize::MAX at tests/errors.rs:";
    assert!(message.starts_with(expected), "{message}");
}

#[test]
fn an_op_on_a_taken_leaf_says_its_value_was_moved_out() {
    let tape = Tape::new();
    let w = tape.var(Tensor::zeros(&[2, 2]));
    tape.take(w);
    let message = panic_message(|| w.matmul(w));
    assert!(
        message.starts_with("matmul: the value of #0 (created at tests/errors.rs:"),
        "{message}"
    );
    assert!(message.contains("was moved out by Tape::take"), "{message}");
}

/// An op whose rule asks for a gradient of its own: not a rule written with Var ops.
struct GradInsideRule;

impl Op for GradInsideRule {
    fn name(&self) -> &'static str {
        "grad_inside_rule"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].clone()
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let x = args.inputs[0];
        vec![Some(args.grad_output * x.square().sum().grad(&[x])[0])]
    }
}

#[test]
fn grad_inside_a_rule_that_backward_evaluates_is_refused_by_name() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    let y = tape.apply(GradInsideRule, &[x]).sum();
    let message = panic_message(|| y.backward());
    assert!(
        message
            .starts_with("grad: called inside a derivative rule while Var::backward evaluates it"),
        "{message}"
    );
}

#[test]
fn cross_entropy_backward_checks_its_labels_and_its_gradient() {
    let tape = Tape::new();
    let p = tape.var(Tensor::from_rows(&[[0.25, 0.75]]));
    let g = tape.constant(Tensor::scalar(1.0));
    let rule = tapegrad::ops::CrossEntropyBackward::new(&[5], Reduction::Sum);
    let line = line!() + 1;
    let message = panic_message(|| tape.apply(rule, &[p, g]));
    assert_eq!(
        message.split(" at ").next().unwrap(),
        "cross_entropy_backward: label 5 of row 0 is out of range for 2 classes"
    );
    assert!(
        message.contains(&format!("tests/errors.rs:{line}:")),
        "{message}"
    );
    let rule = tapegrad::ops::CrossEntropyBackward::new(&[1], Reduction::Sum);
    let two = tape.constant(Tensor::from_slice(&[1.0, 1.0]));
    let message = panic_message(|| tape.apply(rule, &[p, two]));
    assert!(
        message.starts_with("cross_entropy_backward: the gradient has shape [2], not one element"),
        "{message}"
    );
}
