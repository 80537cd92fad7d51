//! Misuse at the edges gives a message naming the caller's line or the entry, never a silently
//! wrong number: optimizer steps and states, accuracy, schedules, data sets and softmax.

#[path = "common/panics.rs"]
mod panics;

use panics::panic_message;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::datasets::{make_moons, make_spiral};
use tapegrad::nn::{ParamGrads, Params, accuracy};
use tapegrad::optim::{Adam, LrSchedule, Optimizer, RmsProp, Sgd, SgdConfig, StateError, StepLr};
use tapegrad::{Tape, Tensor};

fn optimizers() -> Vec<Box<dyn Optimizer>> {
    let momentum = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..SgdConfig::default()
    };
    vec![
        Box::new(Sgd::new(0.1)),
        Box::new(Sgd::with(momentum)),
        Box::new(Adam::new(0.1)),
        Box::new(RmsProp::new(0.1)),
    ]
}

fn two_params() -> Params {
    let mut params = Params::new();
    params.insert("w", Tensor::from_slice(&[1.0, 2.0]));
    params.insert("b", Tensor::scalar(0.5));
    params
}

#[test]
fn a_gradient_of_the_wrong_shape_is_refused_naming_the_parameter() {
    for mut optimizer in optimizers() {
        let mut params = two_params();
        // On main, SGD moved the first element of w and left the second.
        let short: ParamGrads = vec![Some(Tensor::from_slice(&[1.0])), None].into();
        let message = panic_message(|| optimizer.step(&mut params, &short));
        assert!(
            message.contains("the gradient of w has shape [1], the parameter [2]"),
            "{message}"
        );
        assert!(message.contains("at tests/edges.rs:"), "{message}");
        assert_eq!(params.get("w").unwrap().data(), &[1.0, 2.0]);
    }
}

#[test]
fn more_gradients_than_parameters_are_refused() {
    for mut optimizer in optimizers() {
        let mut params = two_params();
        let grads: ParamGrads = vec![None, None, Some(Tensor::scalar(1.0))].into();
        let message = panic_message(|| optimizer.step(&mut params, &grads));
        assert!(
            message.contains("3 gradients for 2 parameters"),
            "{message}"
        );
        assert!(message.contains("at tests/edges.rs:"), "{message}");
    }
}

#[test]
fn gradients_of_another_collection_are_refused() {
    let mut params = two_params();
    let mut other = two_params();
    let w = other.id("w").unwrap();
    let tape = Tape::new();
    let bound = other.on_tape(&tape);
    let loss = bound[w].sum();
    let grads = bound.backward(loss);
    // On main: applied to `params`, whose shapes happen to agree.
    let message = panic_message(|| Sgd::new(0.1).step(&mut params, &grads));
    assert!(message.contains("another Params"), "{message}");
    assert!(message.contains("at tests/edges.rs:"), "{message}");
}

/// One step of `optimizer` on `params`, with a gradient of ones for each parameter.
fn step(optimizer: &mut dyn Optimizer, params: &mut Params) {
    let grads: Vec<Option<Tensor>> = params
        .iter()
        .map(|(_, _, value)| Some(Tensor::ones(value.shape())))
        .collect();
    optimizer.step(params, &grads.into());
}

#[test]
fn a_state_of_another_optimizer_is_a_typed_error() {
    let mut params = two_params();
    let mut sgd = Sgd::with(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..SgdConfig::default()
    });
    step(&mut sgd, &mut params);
    // On main: loaded, and the next Adam step panicked with "entered unreachable code".
    let error = Adam::new(0.1)
        .load_state(&params, &sgd.state(&params))
        .unwrap_err();
    assert!(matches!(error, StateError::Unexpected { .. }), "{error}");
    assert!(error.to_string().contains("momentum_buffer.w"), "{error}");

    let mut adam = Adam::new(0.1);
    step(&mut adam, &mut params);
    let error = RmsProp::new(0.1)
        .load_state(&params, &adam.state(&params))
        .unwrap_err();
    assert!(matches!(error, StateError::Unexpected { .. }), "{error}");

    // Plain SGD keeps only step counts: Adam needs its moments too.
    let mut plain = Sgd::new(0.1);
    step(&mut plain, &mut params);
    let error = Adam::new(0.1)
        .load_state(&params, &plain.state(&params))
        .unwrap_err();
    assert_eq!(
        error,
        StateError::Missing {
            name: "exp_avg.w".into()
        }
    );
}

#[test]
fn an_absurd_step_count_is_refused() {
    let mut params = two_params();
    let mut adam = Adam::new(0.1);
    step(&mut adam, &mut params);
    let mut state = adam.state(&params);
    for bad in [1.8446744073709552e19, -1.0, 2.5, f64::NAN] {
        *state.value_mut(state.id("step.w").unwrap()) = Tensor::scalar(bad);
        // On main 1.8e19 loaded, and the next step wrote NaN into every weight.
        let error = Adam::new(0.1).load_state(&params, &state).unwrap_err();
        assert!(
            matches!(&error, StateError::StepCount { name, .. } if name == "step.w"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn a_state_for_other_parameters_is_refused() {
    let mut params = two_params();
    let mut adam = Adam::new(0.1);
    step(&mut adam, &mut params);
    let state = adam.state(&params);
    let mut renamed = Params::new();
    renamed.insert("w", Tensor::zeros(&[2]));
    renamed.insert("c", Tensor::scalar(0.0));
    // On main: Ok(()), with nothing loaded.
    let error = Adam::new(0.1).load_state(&renamed, &state).unwrap_err();
    assert!(matches!(error, StateError::Unexpected { .. }), "{error}");
    assert!(error.to_string().contains("step.b"), "{error}");
}

#[test]
fn a_row_with_nan_is_never_counted_right() {
    let logits = Tensor::full(&[4, 2], f64::NAN);
    // On main: 0.5, argmax skipping NaN and answering class 0.
    assert_eq!(accuracy(&logits, &[0, 1, 0, 1]), 0.0);
    let mixed = Tensor::from_rows(&[[1.0, f64::NAN], [2.0, 1.0]]);
    assert_eq!(accuracy(&mixed, &[0, 0]), 0.5);
}

#[test]
fn step_lr_decays_past_two_to_the_31_epochs() {
    let schedule = StepLr {
        step_size: 1,
        gamma: 0.5,
    };
    // On main: inf (the exponent wrapped in an i32).
    assert_eq!(schedule.learning_rate(0.1, 1 << 31), 0.0);
    assert_eq!(schedule.learning_rate(0.1, 3), 0.1 * 0.125);
}

#[test]
fn data_sets_too_large_for_memory_are_refused_not_aborted() {
    let mut rng = StdRng::seed_from_u64(0);
    // On main: the size arithmetic overflowed and the process aborted.
    let message = panic_message(|| make_spiral(1 << 62, 4, 0.2, &mut rng));
    assert!(
        message.starts_with("make_spiral: 4 classes of 4611686018427387904 points"),
        "{message}"
    );
    assert!(message.contains("at tests/edges.rs:"), "{message}");
    let message = panic_message(|| make_moons(1 << 60, 0.2, &mut rng));
    assert!(message.starts_with("make_moons: "), "{message}");
    assert!(message.contains("at tests/edges.rs:"), "{message}");
}

#[test]
fn softmax_of_empty_lanes_is_empty() {
    // On main: "chunk size must be non-zero" from tensor/reduce.rs.
    assert_eq!(Tensor::zeros(&[0, 3]).softmax(0).shape(), &[0, 3]);
    assert_eq!(Tensor::zeros(&[2, 0, 3]).softmax(1).shape(), &[2, 0, 3]);
    assert_eq!(Tensor::zeros(&[2, 0]).softmax(1).shape(), &[2, 0]);
}
