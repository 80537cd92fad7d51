//! The framework layer: optimizers against their documented formulas worked by hand, on a bowl,
//! and across a save and load; parameters by name on the tape, frozen, saved and loaded
//! (including a file written by Python's safetensors); layers, batches and accuracy.

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::nn::{Activation, Batches, Linear, Mlp, ParamGrads, Params, WeightsError, accuracy};
use tapegrad::optim::{
    Adam, AdamConfig, CosineAnnealingLr, LrSchedule, Optimizer, RmsProp, RmsPropConfig, Sgd,
    SgdConfig, StepLr,
};
use tapegrad::{Reduction, Tape, Tensor};

/// One scalar parameter `w` at `w0`, and the gradients to feed it, one per step.
fn run(optimizer: &mut dyn Optimizer, w0: f64, grads: &[f64]) -> Vec<f64> {
    let mut params = Params::new();
    let w = params.insert("w", Tensor::scalar(w0));
    grads
        .iter()
        .map(|&g| {
            let grads: ParamGrads = vec![Some(Tensor::scalar(g))].into();
            optimizer.step(&mut params, &grads);
            params[w].item()
        })
        .collect()
}

const GRADS: [f64; 3] = [0.5, -0.25, 2.0];

#[test]
fn sgd_with_momentum_dampening_nesterov_and_weight_decay_by_hand() {
    let (lr, momentum, dampening, wd) = (0.1, 0.9, 0.25, 0.01);
    for nesterov in [false, true] {
        let mut sgd = Sgd::with(SgdConfig {
            lr,
            momentum,
            dampening,
            weight_decay: wd,
            nesterov,
        });
        let got = run(&mut sgd, 1.0, &GRADS);
        // The documented rule, step by step.
        let (mut w, mut buffer) = (1.0f64, 0.0f64);
        for (step, &g) in GRADS.iter().enumerate() {
            let g = g + wd * w;
            buffer = if step == 0 {
                g
            } else {
                momentum * buffer + (1.0 - dampening) * g
            };
            let update = if nesterov {
                g + momentum * buffer
            } else {
                buffer
            };
            w -= lr * update;
            assert_eq!(got[step], w, "nesterov {nesterov}, step {step}");
        }
    }
    // Plain SGD is the tutorial's update, bit for bit.
    assert_eq!(run(&mut Sgd::new(0.01), 0.3, &[0.7]), [0.3 + -0.01 * 0.7]);
}

#[test]
fn adam_adamw_and_amsgrad_by_hand() {
    let (lr, beta1, beta2, eps) = (0.01, 0.9, 0.999, 1e-8);
    for (decoupled, amsgrad, wd) in [(false, false, 0.0), (false, true, 0.1), (true, false, 0.1)] {
        let mut adam = Adam::with(AdamConfig {
            lr,
            weight_decay: wd,
            decoupled_weight_decay: decoupled,
            amsgrad,
            ..AdamConfig::default()
        });
        let got = run(&mut adam, 1.0, &GRADS);
        let (mut w, mut m, mut v, mut v_max) = (1.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (step, &g) in GRADS.iter().enumerate() {
            let t = (step + 1) as f64;
            let g = if decoupled {
                w *= 1.0 - lr * wd;
                g
            } else {
                g + wd * w
            };
            m += (1.0 - beta1) * (g - m);
            v = beta2 * v + (1.0 - beta2) * g * g;
            v_max = v_max.max(v);
            let v_used = if amsgrad { v_max } else { v };
            let m_hat_rate = lr / (1.0 - beta1.powf(t));
            let denominator = v_used.sqrt() / (1.0 - beta2.powf(t)).sqrt() + eps;
            w -= m_hat_rate * m / denominator;
            let what = format!("decoupled {decoupled}, amsgrad {amsgrad}, step {step}");
            assert!(
                (got[step] - w).abs() <= 1e-15,
                "{what}: {} vs {w}",
                got[step]
            );
        }
    }
    // PyTorch's defaults.
    let adam = Adam::new(1e-3).config;
    assert_eq!(
        (adam.betas, adam.eps, adam.weight_decay),
        ((0.9, 0.999), 1e-8, 0.0)
    );
    assert_eq!(Adam::adamw(1e-3).config.weight_decay, 1e-2);
}

#[test]
fn rmsprop_centered_and_with_momentum_by_hand() {
    let (lr, alpha, eps) = (0.01, 0.99, 1e-8);
    for (centered, momentum) in [(false, 0.0), (true, 0.0), (false, 0.9), (true, 0.5)] {
        let mut rmsprop = RmsProp::with(RmsPropConfig {
            lr,
            centered,
            momentum,
            weight_decay: 0.05,
            ..RmsPropConfig::default()
        });
        let got = run(&mut rmsprop, 1.0, &GRADS);
        let (mut w, mut square_avg, mut grad_avg, mut buffer) = (1.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (step, &g) in GRADS.iter().enumerate() {
            let g = g + 0.05 * w;
            square_avg = alpha * square_avg + (1.0 - alpha) * g * g;
            let average = if centered {
                grad_avg += (1.0 - alpha) * (g - grad_avg);
                (square_avg - grad_avg * grad_avg).sqrt()
            } else {
                square_avg.sqrt()
            };
            if momentum > 0.0 {
                buffer = momentum * buffer + g / (average + eps);
                w -= lr * buffer;
            } else {
                w -= lr * g / (average + eps);
            }
            let what = format!("centered {centered}, momentum {momentum}, step {step}");
            assert!(
                (got[step] - w).abs() <= 1e-15,
                "{what}: {} vs {w}",
                got[step]
            );
        }
    }
}

/// `Σ c ⊙ (w − target)²` with curvatures from 0.5 to 4: a bowl every optimizer must descend.
fn bowl_loss(params: &mut Params, optimizer: &mut dyn Optimizer, steps: usize) -> f64 {
    let w = params.id("w").unwrap();
    let target = Tensor::from_slice(&[1.0, -2.0, 3.0, 0.5]);
    let curvature = Tensor::from_slice(&[0.5, 1.0, 2.0, 4.0]);
    let mut tape = Tape::new();
    let mut loss_value = f64::INFINITY;
    for _ in 0..steps {
        tape.clear();
        let bound = params.on_tape(&tape);
        let difference = bound[w] - tape.constant(target.clone());
        let loss = (difference.square() * tape.constant(curvature.clone())).sum();
        loss_value = loss.item();
        let grads = bound.backward(loss);
        optimizer.step(params, &grads);
    }
    loss_value
}

#[test]
fn every_optimizer_descends_a_quadratic_bowl() {
    let optimizers: Vec<(&str, Box<dyn Optimizer>)> = vec![
        ("sgd", Box::new(Sgd::new(0.1))),
        (
            "sgd momentum",
            Box::new(Sgd::with(SgdConfig {
                lr: 0.05,
                momentum: 0.9,
                ..SgdConfig::default()
            })),
        ),
        (
            "sgd nesterov",
            Box::new(Sgd::with(SgdConfig {
                lr: 0.05,
                momentum: 0.9,
                nesterov: true,
                ..SgdConfig::default()
            })),
        ),
        ("adam", Box::new(Adam::new(0.1))),
        (
            "adamw",
            Box::new(Adam::with(AdamConfig {
                lr: 0.1,
                weight_decay: 1e-4,
                decoupled_weight_decay: true,
                ..AdamConfig::default()
            })),
        ),
        (
            "amsgrad",
            Box::new(Adam::with(AdamConfig {
                lr: 0.1,
                amsgrad: true,
                ..AdamConfig::default()
            })),
        ),
        ("rmsprop", Box::new(RmsProp::new(0.01))),
        (
            "rmsprop centered",
            Box::new(RmsProp::with(RmsPropConfig {
                lr: 0.01,
                centered: true,
                momentum: 0.5,
                ..RmsPropConfig::default()
            })),
        ),
    ];
    for (name, mut optimizer) in optimizers {
        let mut params = Params::new();
        params.insert("w", Tensor::zeros(&[4]));
        let loss = bowl_loss(&mut params, optimizer.as_mut(), 1000);
        assert!(loss < 1e-4, "{name}: loss {loss} after 1000 steps");
    }
}

#[test]
fn optimizer_state_survives_a_save_and_load() {
    let makers: [fn() -> Box<dyn Optimizer>; 3] = [
        || {
            Box::new(Sgd::with(SgdConfig {
                lr: 0.05,
                momentum: 0.9,
                ..SgdConfig::default()
            }))
        },
        || {
            Box::new(Adam::with(AdamConfig {
                lr: 0.05,
                amsgrad: true,
                ..AdamConfig::default()
            }))
        },
        || {
            Box::new(RmsProp::with(RmsPropConfig {
                lr: 0.01,
                centered: true,
                momentum: 0.5,
                ..RmsPropConfig::default()
            }))
        },
    ];
    for make in makers {
        let start = || {
            let mut params = Params::new();
            params.insert("w", Tensor::zeros(&[4]));
            params
        };
        // Twenty steps straight...
        let (mut straight, mut straight_optimizer) = (start(), make());
        bowl_loss(&mut straight, straight_optimizer.as_mut(), 20);
        // ...or ten, a save of weights and state through safetensors bytes, and ten more.
        let (mut first, mut first_optimizer) = (start(), make());
        bowl_loss(&mut first, first_optimizer.as_mut(), 10);
        let weights = Params::from_safetensors(&first.to_safetensors()).unwrap();
        let state = first_optimizer.state(&first);
        let state = Params::from_safetensors(&state.to_safetensors()).unwrap();
        let (mut resumed, mut resumed_optimizer) = (start(), make());
        resumed.replace_from(weights).unwrap();
        resumed_optimizer.load_state(&resumed, &state).unwrap();
        bowl_loss(&mut resumed, resumed_optimizer.as_mut(), 10);
        assert_eq!(resumed.get("w"), straight.get("w"));
    }
}

#[test]
fn a_bad_optimizer_state_is_refused_by_name() {
    let mut params = Params::new();
    params.insert("w", Tensor::zeros(&[4]));
    let mut adam = Adam::new(0.1);
    bowl_loss(&mut params, &mut adam, 2);
    let mut state = adam.state(&params);
    *state.value_mut(state.id("exp_avg.w").unwrap()) = Tensor::zeros(&[3]);
    let error = Adam::new(0.1).load_state(&params, &state).unwrap_err();
    assert_eq!(
        error.to_string(),
        "optimizer state exp_avg.w: shape [3], the parameter [4]"
    );
}

#[test]
fn schedules_follow_pytorchs_closed_forms() {
    let step = StepLr {
        step_size: 3,
        gamma: 0.1,
    };
    let rates: Vec<f64> = (0..7).map(|epoch| step.learning_rate(1.0, epoch)).collect();
    assert_eq!(rates, [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1f64.powi(2)]);
    let cosine = CosineAnnealingLr {
        t_max: 10,
        eta_min: 0.01,
    };
    for epoch in 0..=10 {
        let want =
            0.01 + (0.5 - 0.01) * (1.0 + (std::f64::consts::PI * epoch as f64 / 10.0).cos()) / 2.0;
        assert_eq!(cosine.learning_rate(0.5, epoch), want);
    }
}

#[test]
fn frozen_parameters_get_no_gradient_and_do_not_move() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut params = Params::new();
    let model = Mlp::new(&mut params, "mlp", &[2, 4, 2], Activation::Tanh, &mut rng);
    let frozen = model.layers[0].weight;
    params.freeze(frozen);
    let before = params[frozen].clone();
    let mut optimizer = Sgd::new(0.5);
    let tape = Tape::new();
    let bound = params.on_tape(&tape);
    assert!(tape.to_string().contains("constant mlp.0.weight"), "{tape}");
    let x = tape.constant(Tensor::from_rows(&[[1.0, 2.0], [-1.0, 0.5]]));
    let loss = model
        .forward(&bound, x)
        .cross_entropy(&[0, 1], Reduction::Sum);
    let grads = bound.backward(loss);
    assert!(grads[frozen].is_none());
    optimizer.step(&mut params, &grads);
    assert_eq!(params[frozen], before);
    assert!(params.is_trainable(model.layers[1].weight));
}

#[test]
fn weights_written_by_python_safetensors_load_with_names_shapes_and_values() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/python_weights.safetensors"
    );
    let loaded = Params::load(path).unwrap();
    let names: Vec<&str> = loaded.iter().map(|(_, name, _)| name).collect();
    // In the file's order: safetensors writes tensors sorted by name.
    assert_eq!(names, ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]);
    let counting = |shape: &[usize], offset: f64, sign: f64| {
        let len = shape.iter().product::<usize>();
        Tensor::new(
            (0..len).map(|k| sign * (k as f64 + offset)).collect(),
            shape,
        )
        .unwrap()
    };
    // As stored: torch.nn.Linear's [out, in] and [out].
    assert_eq!(
        loaded.get("fc1.weight").unwrap(),
        &counting(&[3, 2], 0.125, 1.0)
    );
    assert_eq!(loaded.get("fc1.bias").unwrap(), &counting(&[3], 0.25, 1.0));
    assert_eq!(
        loaded.get("fc2.weight").unwrap(),
        &counting(&[2, 3], 0.375, -1.0)
    );
    assert_eq!(
        loaded.get("fc2.bias").unwrap().data(),
        &[1e-300, 1.0 + f64::EPSILON]
    );

    // Into a model of the same architecture, by name, in its [in, out] and [1, out] layout.
    let mut rng = StdRng::seed_from_u64(0);
    let mut params = Params::new();
    Linear::new(&mut params, "fc1", 2, 3, &mut rng);
    Linear::new(&mut params, "fc2", 3, 2, &mut rng);
    params.load_into(path).unwrap();
    assert_eq!(
        params.get("fc2.weight").unwrap(),
        &loaded.get("fc2.weight").unwrap().transpose()
    );
    assert_eq!(
        params.get("fc2.bias").unwrap(),
        &loaded.get("fc2.bias").unwrap().reshape(&[1, 2])
    );

    // Not into another one: one line naming what does not fit.
    let mut wider = Params::new();
    Linear::new(&mut wider, "fc1", 2, 4, &mut rng);
    Linear::new(&mut wider, "fc2", 4, 2, &mut rng);
    let error = wider.load_into(path).unwrap_err();
    assert_eq!(
        error.to_string(),
        "tensor fc1.weight has shape [3, 2], the model's [4, 2]"
    );
    let mut other = Params::new();
    other.insert("w", Tensor::zeros(&[1]));
    assert!(matches!(
        other.load_into(path),
        Err(WeightsError::Unexpected { .. })
    ));
}

#[test]
fn every_truncation_and_corruption_of_a_weight_file_is_an_error_not_a_panic() {
    let mut params = Params::new();
    params.insert("a", Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    params.insert("b", Tensor::scalar(-1.0));
    let bytes = params.to_safetensors();
    for len in 0..bytes.len() {
        assert!(
            Params::from_safetensors(&bytes[..len]).is_err(),
            "a file cut to {len} bytes loaded"
        );
    }
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..2000 {
        let mut corrupted = bytes.clone();
        let at = rand::RngExt::random_range(&mut rng, 0..corrupted.len());
        corrupted[at] = rand::RngExt::random(&mut rng);
        // Either an error or a file that reads: never a panic.
        let _ = Params::from_safetensors(&corrupted);
    }
    let missing = Params::load("/nonexistent/weights.safetensors").unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("/nonexistent/weights.safetensors: "),
        "{missing}"
    );
    let not_weights = Params::from_safetensors(b"x,y,label\n0,1,0\n").unwrap_err();
    assert!(
        matches!(not_weights, WeightsError::Format { .. }),
        "{not_weights}"
    );
}

#[test]
fn parameters_are_named_on_the_tape_and_come_back_after_the_step() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut params = Params::new();
    let layer = Linear::new(&mut params, "fc", 3, 2, &mut rng);
    let bound = 1.0 / 3f64.sqrt();
    assert!(
        params
            .iter()
            .all(|(_, _, t)| t.data().iter().all(|x| x.abs() <= bound))
    );
    assert_eq!(params.get("fc.bias").unwrap().shape(), &[1, 2]);
    let before = params[layer.weight].clone();
    let mut tape = Tape::new();
    for _ in 0..3 {
        tape.clear();
        let on_tape = params.on_tape(&tape);
        let y = layer.forward(&on_tape, tape.constant(Tensor::ones(&[4, 3])));
        let listing = tape.to_string();
        assert!(listing.contains("variable fc.weight") && listing.contains("variable fc.bias"));
        let grads = on_tape.backward(y.sum());
        assert_eq!(
            grads[layer.weight].as_ref().unwrap(),
            &Tensor::full(&[3, 2], 4.0)
        );
    }
    // Moved onto the tape and back, three times, unchanged (no optimizer step).
    assert_eq!(params[layer.weight], before);
    // Dropped without a backward, they come back too.
    tape.clear();
    drop(params.on_tape(&tape));
    assert_eq!(params[layer.weight], before);
}

#[test]
fn batches_cover_every_row_once_per_epoch() {
    let x = Tensor::new((0..20).map(f64::from).collect(), &[10, 2]).unwrap();
    let labels: Vec<usize> = (0..10).collect();
    let mut rng = StdRng::seed_from_u64(2);
    let mut seen: Vec<usize> = Batches::new(&x, &labels, 3)
        .shuffled(&mut rng)
        .flat_map(|(rows, y)| {
            for (row, &label) in rows.data().chunks(2).zip(&y) {
                assert_eq!(row, [2.0 * label as f64, 2.0 * label as f64 + 1.0]);
            }
            y
        })
        .collect();
    assert_ne!(seen, labels, "shuffled");
    seen.sort();
    assert_eq!(seen, labels);
    assert_eq!(Batches::new(&x, &labels, 3).drop_last(true).count(), 3);
    let logits = Tensor::from_rows(&[[0.0, 1.0], [1.0, 0.0]]);
    assert_eq!(accuracy(&logits, &[1, 1]), 0.5);
}

#[test]
fn a_file_whose_shape_overflows_is_an_error_not_a_panic() {
    // Zero bytes of data fit a shape with a zero length, but its other lengths overflow.
    let header = r#"{"w":{"dtype":"F64","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    let error = Params::from_safetensors(&bytes).unwrap_err();
    assert!(matches!(error, WeightsError::Format { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("more elements than memory can address"),
        "{error}"
    );
}

#[test]
fn the_tutorial_in_nn_and_sgd_prints_its_losses() {
    use tapegrad::datasets::make_moons_numpy;
    use tapegrad::numpy_random::RandomState;
    // np.random.seed(0); make_moons(200, noise=0.20); then build_model(3) seeds 0 again.
    let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
    let mut numpy = RandomState::new(0);
    let w1 = &numpy.randn(&[2, 3]) / 2f64.sqrt();
    let w2 = &numpy.randn(&[3, 2]) / 3f64.sqrt();
    let layers = [(w1, Tensor::zeros(&[3])), (w2, Tensor::zeros(&[2]))];
    let mut params = Params::new();
    let model = Mlp::from_weights(&mut params, "mlp", layers, Activation::Tanh);
    let (mut optimizer, mut tape) = (Sgd::new(0.01), Tape::new());
    let mut printed = Vec::new();
    for pass in 0..=1000 {
        tape.clear();
        let bound = params.on_tape(&tape);
        let loss = tutorial_objective(&model, &bound, tape.constant(x.clone()), &labels);
        let grads = bound.backward(loss);
        optimizer.step(&mut params, &grads);
        if pass % 1000 == 0 {
            let eval = Tape::no_grad();
            let data = eval.constant(x.clone());
            let loss = tutorial_objective(&model, &params.copied_to(&eval), data, &labels);
            printed.push(format!("{:.6}", loss.item() / 200.0));
        }
    }
    // The tutorial's first two lines, as `cargo run --example moons` prints them.
    assert_eq!(printed, ["0.432387", "0.068947"]);
}

/// The tutorial's summed objective: cross-entropy plus reg/2 · Σ W², reg 0.01.
fn tutorial_objective<'t>(
    model: &Mlp,
    bound: &tapegrad::nn::Bound<'t>,
    x: tapegrad::Var<'t>,
    labels: &[usize],
) -> tapegrad::Var<'t> {
    let squares = model.layers.iter().map(|l| bound[l.weight].square().sum());
    let l2 = squares.reduce(|a, b| a + b).unwrap();
    model
        .forward(bound, x)
        .cross_entropy(labels, Reduction::Sum)
        + 0.01 / 2.0 * l2
}
