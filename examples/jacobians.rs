//! The tutorial, seen through Jacobians: the softmax Jacobian beside its closed form, the
//! hand-derived `δ2 = (1 − a1²) ⊙ δ3 W2ᵀ` as the vector-Jacobian product it is (and its forward
//! twin, a Jacobian-vector product), each checked against finite differences, and a picture of
//! how sensitive the trained network's class-1 probability is to the input point,
//! `‖∂p/∂x‖` over the plane by forward mode, drawn under the decision boundary and the points.
//!
//! Run: `cargo run --release --example jacobians` (`-- --out DIR` for where `sensitivity.png`
//! goes, `--passes N` for the training).

#[path = "common/cli.rs"]
#[allow(dead_code)] // the number parsers of the other examples' flags are not needed here
mod cli;
#[path = "common/plot.rs"]
#[allow(dead_code)] // shared with `moons` and `spiral`: only the field picture is drawn here
mod plot;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tapegrad::datasets::make_moons_numpy;
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::{TwoLayer, logits};
use tapegrad::{Tape, Tensor, Var, function, jacobian, jvp, vjp};

/// The tutorial's network seen through Jacobians.
#[derive(Parser, Debug)]
#[command(version)]
struct Config {
    /// Where to write sensitivity.png.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Passes of gradient descent before the picture (the tutorial's 20000).
    #[arg(long, value_name = "N", default_value = "20000", value_parser = cli::positive_count)]
    passes: usize,
}

fn main() -> ExitCode {
    cli::quiet_on_broken_pipe();
    let config = match cli::parse::<Config>("jacobians") {
        Ok(config) => config,
        Err(code) => return code,
    };
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("jacobians: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(config: &Config) -> Result<(), String> {
    check_writable(&config.out)?;
    softmax_jacobian();
    let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
    let model = TwoLayer::tutorial_init(3, 2);
    delta2_as_a_vector_jacobian_product(&x, &labels, &model);
    let trained = train(&x, &labels, model, config.passes);
    let path = config.out.join("sensitivity.png");
    sensitivity_picture(&path, &x, &labels, &trained)?;
    println!("picture: {}", path.display());
    Ok(())
}

/// The classic stumbling block: the Jacobian of softmax at one row, by `jacobian`, beside
/// `diag(s) − s sᵀ`.
fn softmax_jacobian() {
    let z = Tensor::from_rows(&[[1.0, 2.0, 0.5, -1.0, 0.0]]);
    let by_tape = jacobian(std::slice::from_ref(&z), |v| v[0].softmax(1));
    let s = z.softmax(1);
    let n = s.len();
    let closed = Tensor::new(
        (0..n * n)
            .map(|k| {
                let (i, j) = (k / n, k % n);
                let diagonal = if i == j { s.data()[i] } else { 0.0 };
                diagonal - s.data()[i] * s.data()[j]
            })
            .collect(),
        &[n, n],
    )
    .expect("n × n values");
    println!("softmax at z = {z}:\ns = {s}");
    println!("jacobian(softmax), by the tape:\n{by_tape}");
    println!("diag(s) − s sᵀ, the closed form:\n{closed}");
    println!(
        "largest difference: {:.1e}\n",
        by_tape.max_abs_diff(&closed)
    );
}

/// `δ2 = (1 − a1²) ⊙ δ3 W2ᵀ` is the vector-Jacobian product of `z1 ↦ z2` with the cotangent
/// `δ3 = ŷ − y`; its forward twin moves `W1` along a direction and asks how `z2` moves.
fn delta2_as_a_vector_jacobian_product(x: &Tensor, labels: &[usize], model: &TwoLayer) {
    let tape = Tape::no_grad();
    let z1 = tape.constant(x.clone()).affine(
        tape.constant(model.w1.clone()),
        tape.constant(model.b1.clone()),
    );
    let a1 = z1.tanh().value();
    let probabilities = a1.affine(&model.w2, &model.b2).softmax(1);
    let mut delta3 = probabilities.clone();
    for (row, &label) in labels.iter().enumerate() {
        delta3.data_mut()[row * 2 + label] -= 1.0; // δ3 = ŷ − y
    }
    // By hand: (1 − a1²) ⊙ δ3 W2ᵀ.
    let by_hand = &a1.map(|a| 1.0 - a * a) * &delta3.matmul_t(&model.w2);
    // As a VJP of z1 ↦ tanh(z1) W2 + b2, with the cotangent δ3.
    let (w2, b2) = (model.w2.clone(), model.b2.clone());
    let second_layer = function(move |v| {
        let tape = v[0].tape();
        v[0].tanh()
            .affine(tape.constant(w2.clone()), tape.constant(b2.clone()))
    });
    let (_, pulled) = vjp(&[z1.value()], &delta3, &second_layer);
    let numeric = directional(&z1.value(), &delta3, &second_layer);
    println!("δ2 = (1 − a1²) ⊙ δ3 W2ᵀ, by hand, against vjp(z1 ↦ z2, δ3):");
    println!(
        "  largest difference {:.1e}; ⟨δ2, e⟩ against finite differences along a direction e: {:.1e}",
        by_hand.max_abs_diff(&pulled[0]),
        (pulled[0]
            .data()
            .iter()
            .zip(numeric.1.data())
            .map(|(a, b)| a * b)
            .sum::<f64>()
            - numeric.0)
            .abs()
    );
    // Its forward twin: how z2 moves when W1 moves along a direction V.
    let direction = Tensor::from_rows(&[[0.5, -1.0, 0.25], [1.0, 0.5, -0.5]]);
    let (x, b1, w2, b2) = (
        x.clone(),
        model.b1.clone(),
        model.w2.clone(),
        model.b2.clone(),
    );
    let network_in_w1 = function(move |v| {
        let tape = v[0].tape();
        let params = [
            v[0],
            tape.constant(b1.clone()),
            tape.constant(w2.clone()),
            tape.constant(b2.clone()),
        ];
        logits(tape.constant(x.clone()), params)
    });
    let (_, moved) = jvp(
        std::slice::from_ref(&model.w1),
        std::slice::from_ref(&direction),
        &network_in_w1,
    );
    let eps = 1e-6;
    let at = |sign: f64| {
        let mut w1 = model.w1.clone();
        w1.add_scaled(sign * eps, &direction);
        let tape = Tape::no_grad();
        network_in_w1(&[tape.var(w1)]).value()
    };
    let numeric = &(&at(1.0) - &at(-1.0)) / (2.0 * eps);
    println!(
        "jvp(W1 ↦ z2, V), the forward twin, against finite differences: largest difference {:.1e}\n",
        moved.max_abs_diff(&numeric)
    );
}

/// `(⟨pullback⟩ along e by finite differences, e)`: `Σ cotangent ⊙ (f(z + εe) − f(z − εe)) / 2ε`
/// for a fixed direction `e`, which must equal `⟨Jᵀ cotangent, e⟩`.
fn directional(
    z: &Tensor,
    cotangent: &Tensor,
    f: &dyn for<'t> Fn(&[Var<'t>]) -> Var<'t>,
) -> (f64, Tensor) {
    let direction = Tensor::new(
        (0..z.len())
            .map(|k| ((k as f64 + 1.0) * 0.618).fract() - 0.5)
            .collect(),
        z.shape(),
    )
    .expect("z's shape");
    let eps = 1e-6;
    let at = |sign: f64| {
        let mut moved = z.clone();
        moved.add_scaled(sign * eps, &direction);
        let tape = Tape::no_grad();
        f(&[tape.var(moved)]).value()
    };
    let change = &(&at(1.0) - &at(-1.0)) / (2.0 * eps);
    let along: f64 = cotangent
        .data()
        .iter()
        .zip(change.data())
        .map(|(c, d)| c * d)
        .sum();
    (along, direction)
}

/// The tutorial's training: full-batch gradient descent on the summed objective.
fn train(x: &Tensor, labels: &[usize], mut model: TwoLayer, passes: usize) -> TwoLayer {
    let mut tape = Tape::new();
    for _ in 0..passes {
        model.descend_by_tape(&mut tape, x, labels, 0.01, 0.01);
    }
    println!(
        "trained {passes} passes: loss {:.6}",
        model.printed_loss(x, labels, 0.01)
    );
    model
}

/// `‖∂p/∂x‖` for the class-1 probability `p` at every pixel, by forward mode: the rows of a
/// batch are independent, so one Jacobian-vector product with the tangent `(1, 0)` on every row
/// gives `∂p/∂x1` at every pixel at once, and one with `(0, 1)` gives `∂p/∂x2`.
fn sensitivity_picture(
    path: &Path,
    x: &Tensor,
    labels: &[usize],
    model: &TwoLayer,
) -> Result<(), String> {
    let params = [
        model.w1.clone(),
        model.b1.clone(),
        model.w2.clone(),
        model.b2.clone(),
    ];
    let probability = function(|v| {
        let tape = v[0].tape();
        let params = params.clone().map(|p| tape.constant(p));
        logits(v[0], params).softmax(1).narrow(1, 1, 1)
    });
    let field = |pixels: &Tensor| -> (Vec<f64>, Vec<usize>) {
        let rows = pixels.shape()[0];
        let along = |column: usize| {
            let tangent = Tensor::new(
                (0..2 * rows).map(|k| f64::from(k % 2 == column)).collect(),
                &[rows, 2],
            )
            .expect("[rows, 2]");
            jvp(std::slice::from_ref(pixels), &[tangent], probability)
        };
        let ((p, dx1), (_, dx2)) = (along(0), along(1));
        let norms = dx1
            .data()
            .iter()
            .zip(dx2.data())
            .map(|(a, b)| a.hypot(*b))
            .collect();
        let classes = p.data().iter().map(|&p| usize::from(p > 0.5)).collect();
        (norms, classes)
    };
    plot::field(
        path,
        x,
        labels,
        "‖∂p/∂x‖, sensitivity of the class-1 probability (forward mode)",
        &field,
    )
    .map_err(|error| format!("{}: {error}", path.display()))
}

/// Fails early, before training, if the picture could not be written.
fn check_writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(".jacobians-write-check");
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|error| format!("--out {}: cannot write there: {error}", dir.display()))
}
