//! The network of "Implementing a neural network from scratch in Python", with the hand-derived
//! backprop replaced by tapegrad's tape.
//!
//! 2 inputs, H tanh units, 2 softmax outputs:
//!   z1 = x W1 + b1,  a1 = tanh(z1),  z2 = a1 W2 + b2,  ŷ = softmax(z2)
//! trained by full-batch gradient descent on the summed cross-entropy plus reg/2 (|W1|² + |W2|²),
//! exactly the objective whose gradient the tutorial derives by hand (`tapegrad::tutorial`).
//! The data and the initial weights come from NumPy's stream as the tutorial draws them, so the
//! printed losses are the tutorial's.
//!
//! Run: `cargo run --release --example moons` (`-- --help` for the flags).

mod args;
mod check;
#[path = "../common/cli.rs"]
mod cli;
#[path = "../common/plot.rs"]
#[allow(dead_code)] // shared with `jacobians`, which draws a field over the plane
mod plot;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tapegrad::datasets::{DataError, load_csv, make_moons_numpy};
use tapegrad::nn::{Bound, ParamGrads, ParamId, Params};
use tapegrad::numpy_random::RandomState;
use tapegrad::optim::{Optimizer, Sgd};
use tapegrad::tutorial::{TwoLayer, TwoLayerGradients, logits, objective};
use tapegrad::{Reduction, Sharpness, Tape, Tensor, Var, sharpness};

use args::Config;
use cli::readable;

/// The training data: points `[N, 2]` and one class label per point.
pub struct Data {
    pub x: Tensor,
    pub labels: Vec<usize>,
}

/// The tutorial's four parameters by its names, as a training loop keeps them.
pub struct Model {
    pub params: Params,
    /// W1, b1, W2, b2.
    pub ids: [ParamId; 4],
}

impl Model {
    fn new(initial: TwoLayer) -> Model {
        let mut params = Params::new();
        let ids = [
            ("W1", initial.w1),
            ("b1", initial.b1),
            ("W2", initial.w2),
            ("b2", initial.b2),
        ]
        .map(|(name, value)| params.insert(name, value));
        Model { params, ids }
    }

    /// W1, b1, W2, b2 as variables of a bound collection, for [`objective`] and [`logits`].
    fn vars<'t>(&self, bound: &Bound<'t>) -> [Var<'t>; 4] {
        self.ids.map(|id| bound[id])
    }

    /// A copy of the parameters in the hand-derived backprop's type.
    fn two_layer(&self) -> TwoLayer {
        let [w1, b1, w2, b2] = self.ids.map(|id| self.params[id].clone());
        TwoLayer { w1, b1, w2, b2 }
    }

    pub fn classes(&self) -> usize {
        self.params[self.ids[3]].shape()[1]
    }
}

/// The loss the tutorial prints (its `calculate_loss`): the objective divided by N, evaluated
/// on a tape that records no ops.
fn reported_loss(model: &Model, data: &Data, reg: f64) -> f64 {
    let tape = Tape::no_grad();
    let params = model.vars(&model.params.copied_to(&tape));
    let x = tape.constant(data.x.clone());
    objective(x, &data.labels, params, reg, Reduction::Mean).item()
}

/// The most probable class of each row of `x`.
pub fn predict(model: &Model, x: &Tensor) -> Vec<usize> {
    model_logits(model, x).argmax_axis(1)
}

/// The model's logits for `x`, on a tape that records no gradients.
fn model_logits(model: &Model, x: &Tensor) -> Tensor {
    let tape = Tape::no_grad();
    let params = model.vars(&model.params.copied_to(&tape));
    logits(tape.constant(x.clone()), params).value()
}

fn accuracy(model: &Model, data: &Data) -> f64 {
    tapegrad::nn::accuracy(&model_logits(model, &data.x), &data.labels)
}

/// A model trained with one hidden size, and how its loss went.
pub struct Trained {
    pub hidden: usize,
    pub model: Model,
    /// `(passes done, reported loss)`, about 200 points over the run.
    pub losses: Vec<(usize, f64)>,
    pub accuracy: f64,
    /// With `--check-gradients`: whether tape, hand formulas and finite differences agreed.
    pub gradients_agreed: bool,
    /// With `--sharpness`: `(passes done, top Hessian eigenvalue)`.
    pub sharpness: Vec<(usize, f64)>,
}

/// The summed objective of W1, b1, W2, b2 given as a slice: the form the checkers and
/// [`sharpness`] call a function of several tensors with.
pub fn summed_objective<'t>(params: &[Var<'t>], data: &Data, reg: f64) -> Var<'t> {
    let x = params[0].tape().constant(data.x.clone());
    let params = [params[0], params[1], params[2], params[3]];
    objective(x, &data.labels, params, reg, Reduction::Sum)
}

/// The sharpness of the summed objective at `model`: the top eigenvalue of its Hessian, by
/// power iteration on Hessian-vector products, started from the last eigenvector found (the
/// weights move little between measurements, so it converges in a few products).
fn measure_sharpness(model: &Model, data: &Data, reg: f64, last: &mut Option<Sharpness>) -> f64 {
    let params = model.ids.map(|id| model.params[id].clone());
    let start = match last.take() {
        Some(previous) => previous.eigenvector,
        None => params.iter().map(|p| Tensor::zeros(p.shape())).collect(),
    };
    let top = sharpness(&params, &start, |v| summed_objective(v, data, reg));
    let eigenvalue = top.eigenvalue;
    *last = Some(top);
    eigenvalue
}

/// The tape's gradients in the hand-derived backprop's type, to compare.
fn hand_comparable(model: &Model, gradients: &ParamGrads) -> TwoLayerGradients {
    let [w1, b1, w2, b2] = model
        .ids
        .map(|id| gradients[id].clone().expect("every parameter"));
    TwoLayerGradients { w1, b1, w2, b2 }
}

/// The tutorial's initial weights for this hidden size, one output per class in the data: its
/// `build_model` calls `np.random.seed(0)` before drawing them, for every hidden size.
fn initial_model(config: &Config, data: &Data, hidden: usize) -> TwoLayer {
    // Labels are below MAX_CLASSES (checked on loading), so `max + 1` cannot wrap.
    let classes = data.labels.iter().max().map_or(2, |&max| (max + 1).max(2));
    TwoLayer::numpy_init(2, hidden, classes, &mut RandomState::new(config.seed))
}

/// The accuracy as the console and the pictures' titles show it.
pub fn format_accuracy(accuracy: f64) -> String {
    format!("{:.1}%", 100.0 * accuracy)
}

/// `--print-tape` and `--graph`: the tape of the first training pass, with its gradients.
fn show_first_pass(config: &Config, data: &Data) -> Result<(), String> {
    let model = Model::new(initial_model(config, data, config.hidden[0]));
    let tape = Tape::new();
    // Copied, not moved, so that the tape keeps their values to print: W1, b1, W2, b2 are
    // nodes #0 to #3, named, and the points #4.
    let params = model.vars(&model.params.copied_to(&tape));
    let x = tape.constant(data.x.clone());
    let loss = objective(x, &data.labels, params, config.reg, Reduction::Sum);
    let grads = loss.backward();
    if config.print_tape {
        print!("{}", tape.summary().with_values().with_gradients(&grads));
    }
    if let Some(path) = &config.graph {
        plot::files::write(path, tape.to_dot(Some(&grads)).as_bytes())
            .map_err(|error| format!("--graph {}: cannot write it: {error}", path.display()))?;
        println!(
            "tape graph: {} (render with: dot -Tsvg {} -o tape.svg)",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Training stopped: the summed loss was not finite after this many passes.
struct Diverged {
    pass: usize,
    loss: f64,
}

impl Diverged {
    /// One line: the pass, the value, the likely cause and where to look.
    fn message(&self, config: &Config, points: usize) -> String {
        let (lr, reg) = (readable(config.lr), readable(config.reg));
        let overshoot = if config.reg * config.lr >= 1.0 {
            format!(" (and with L2 strength {reg}, lr · reg ≥ 1 makes every step overshoot)")
        } else {
            String::new()
        };
        format!(
            "the loss became {} at pass {}: the learning rate {lr} is too large for the summed loss over {points} points{overshoot}; \
             try a smaller --lr (tapegrad::anomaly::check names the op that first made a NaN)",
            self.loss, self.pass
        )
    }
}

/// Warns once, on stderr, when the reported loss climbs above where it started or above twice
/// its lowest so far: the sign of a step too large for a summed loss over many points. (The
/// tutorial's own run rises only slightly, from 0.0689 to 0.0708, as it settles into its cycle.)
struct RiseWatch {
    initial: Option<f64>,
    lowest: f64,
    warned: bool,
}

impl RiseWatch {
    fn see(&mut self, pass: usize, loss: f64, config: &Config, points: usize) {
        let initial = *self.initial.get_or_insert(loss);
        self.lowest = self.lowest.min(loss);
        if !self.warned && (loss > initial || loss > 2.0 * self.lowest) {
            self.warned = true;
            eprintln!(
                "moons: warning: the loss rose to {} at pass {pass} (it started at {}, its lowest was {}): \
                 a learning rate of {} may be too large for the summed loss over {points} points; try a smaller --lr",
                readable(loss),
                readable(initial),
                readable(self.lowest),
                readable(config.lr)
            );
        }
    }
}

fn train(config: &Config, data: &Data, hidden: usize) -> Result<Trained, Diverged> {
    let mut model = Model::new(initial_model(config, data, hidden));
    // Plain gradient descent: `W += -lr dW`, the tutorial's update to the last bit.
    let mut optimizer = Sgd::new(config.lr);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    let mut all_agreed = true;
    let record_every = (config.passes / 200).max(1);
    let (mut sharpness_curve, mut last_eigen) = (Vec::new(), None);
    let mut rise = RiseWatch {
        initial: None,
        lowest: f64::INFINITY,
        warned: false,
    };
    for pass in 0..config.passes {
        tape.clear();
        let ids = model.ids;
        let bound = model.params.on_tape(&tape); // moved in, and back by `backward`
        let x = tape.constant(data.x.clone());
        let params = ids.map(|id| bound[id]);
        let loss = objective(x, &data.labels, params, config.reg, Reduction::Sum);
        if !loss.item().is_finite() {
            return Err(Diverged {
                pass,
                loss: loss.item(),
            });
        }
        let gradients = bound.backward(loss);
        if config.check_gradients && check::is_checkpoint(pass, config.passes) {
            let by_tape = hand_comparable(&model, &gradients);
            all_agreed &= check::report(pass, &model.two_layer(), &by_tape, data, config.reg);
        }
        optimizer.step(&mut model.params, &gradients);
        // Like the tutorial, the loss at pass i is that of the model after update i.
        let on_grid = pass % 1000 == 0 || pass % record_every == 0;
        // Every one of the first passes too: the loss chart's log axis spreads them out.
        let early = pass < 10 * record_every;
        if on_grid || early {
            let loss = reported_loss(&model, data, config.reg);
            if !loss.is_finite() {
                return Err(Diverged {
                    pass: pass + 1,
                    loss,
                });
            }
            if pass % 1000 == 0 {
                println!("Loss after iteration {pass}: {loss:.6}");
            }
            if on_grid {
                rise.see(pass, loss, config, data.labels.len());
            }
            if early || pass % record_every == 0 {
                losses.push((pass + 1, loss)); // plotted against the number of passes done
            }
        }
        // Two consecutive passes each time, so that both points of a period-2 cycle are seen.
        let last_two = pass + 2 >= config.passes;
        if config.sharpness && (pass % config.sharpness_every < 2 || last_two) {
            let top = measure_sharpness(&model, data, config.reg, &mut last_eigen);
            sharpness_curve.push((pass + 1, top));
            if pass % 1000 == 0 {
                println!(
                    "Sharpness after iteration {pass}: {top:.3} (2/lr = {})",
                    readable(2.0 / config.lr)
                );
            }
        }
    }
    let final_loss = reported_loss(&model, data, config.reg);
    if !final_loss.is_finite() {
        return Err(Diverged {
            pass: config.passes,
            loss: final_loss,
        });
    }
    if losses.last().map(|&(passes, _)| passes) != Some(config.passes) {
        losses.push((config.passes, final_loss));
    }
    let accuracy = accuracy(&model, data);
    println!("final loss: {final_loss:.6}");
    println!("train accuracy: {}", format_accuracy(accuracy));
    if let [.., (_, before), (_, last)] = sharpness_curve[..] {
        println!(
            "final sharpness: {last:.3} (the pass before: {before:.3}; 2/lr = {})",
            readable(2.0 / config.lr)
        );
    }
    Ok(Trained {
        hidden,
        model,
        losses,
        accuracy,
        gradients_agreed: all_agreed,
        sharpness: sharpness_curve,
    })
}

fn load_data(config: &Config) -> Result<Data, String> {
    let (x, labels) = match &config.data {
        Some(path) => load_csv(path).map_err(|error| match error {
            DataError::Io { .. } => format!("--data: {error}"),
            _ => format!("--data {}: {error}", path.display()),
        })?,
        // The tutorial's `np.random.seed(0); sklearn.datasets.make_moons(200, noise=0.20)`.
        None => make_moons_numpy(
            config.samples,
            config.noise,
            &mut RandomState::new(config.seed),
        ),
    };
    // Refused here, before any allocation they would size: a label makes one output per class
    // (and a colour each), a coordinate's square must stay finite.
    if let Some(&label) = labels.iter().find(|&&label| label >= MAX_CLASSES) {
        return Err(format!(
            "--data: label {label}: this example draws at most {MAX_CLASSES} classes (labels 0 to {})",
            MAX_CLASSES - 1
        ));
    }
    if let Some(&coordinate) = x
        .data()
        .iter()
        .find(|c| !c.is_finite() || c.abs() > MAX_COORDINATE)
    {
        return Err(format!(
            "--data: coordinate {coordinate:e} is beyond ±{MAX_COORDINATE:e}, which this example can train on and draw"
        ));
    }
    Ok(Data { x, labels })
}

/// The most classes the example trains and draws, each in its own colour of the tutorial's
/// Spectral palette (11 colours).
const MAX_CLASSES: usize = 11;
/// The largest coordinate accepted: squares and picture ranges stay far from overflow.
const MAX_COORDINATE: f64 = 1e100;

/// Refuses, before allocating them, activations of `points` × the widest hidden layer beyond
/// [`args::MAX_ACTIVATIONS`] values: each flag within its cap can still multiply out of memory.
fn check_activations(points: usize, config: &Config) -> Result<(), String> {
    let widest = config.hidden.iter().copied().max().unwrap_or(1);
    match points.checked_mul(widest) {
        Some(values) if values <= args::MAX_ACTIVATIONS => Ok(()),
        _ => Err(format!(
            "{points} points × {widest} hidden units make more than the {} activations this example allows",
            args::MAX_ACTIVATIONS
        )),
    }
}

/// Fails early, before training, if the pictures could not be written.
fn check_writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(".moons-write-check");
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|error| format!("--out {}: cannot write there: {error}", dir.display()))
}

/// Trains and draws; the exit code is a failure when `--check-gradients` found a disagreement.
fn run(config: &Config) -> Result<ExitCode, String> {
    if config.data.is_none() && config.samples < 2 {
        return Err("--samples: need at least 2 points".into());
    }
    if config.hidden.len() > args::MAX_HIDDEN_SIZES {
        return Err(format!(
            "--hidden: {} sizes, more than the {} this example draws in one picture",
            config.hidden.len(),
            args::MAX_HIDDEN_SIZES
        ));
    }
    let points = config.data.as_ref().map_or(config.samples, |_| 0);
    check_activations(points, config)?;
    let data = load_data(config)?;
    check_activations(data.labels.len(), config)?;
    if config.print_tape || config.graph.is_some() {
        show_first_pass(config, &data)?;
        return Ok(ExitCode::SUCCESS);
    }
    check_writable(&config.out)?;
    let mut runs = Vec::new();
    for &hidden in &config.hidden {
        if config.hidden.len() > 1 {
            println!("hidden layer size {hidden}:");
        }
        match train(config, &data, hidden) {
            Ok(run) => runs.push(run),
            Err(diverged) => {
                eprintln!("moons: {}", diverged.message(config, data.labels.len()));
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    let curve = |values: fn(&Trained) -> &Vec<(usize, f64)>, dots: bool| -> Vec<plot::Curve> {
        runs.iter()
            .map(|run| plot::Curve {
                label: format!("hidden {}", run.hidden),
                points: values(run).clone(),
                dots,
            })
            .collect()
    };
    let mut pictures: Vec<PathBuf> = vec![config.out.join("loss.png")];
    plot::curves(
        &pictures[0],
        "loss (cross-entropy + L2, per point)",
        ("passes", plot::Passes::Log),
        "loss (log scale)",
        &curve(|run| &run.losses, false),
        None,
    )
    .map_err(|error| format!("loss.png: {error}"))?;
    if config.sharpness {
        let path = config.out.join("sharpness.png");
        let edge = 2.0 / config.lr;
        plot::curves(
            &path,
            "sharpness: top eigenvalue of the summed objective's Hessian",
            ("passes", plot::Passes::Linear),
            "sharpness (log scale)",
            &curve(|run| &run.sharpness, true),
            Some((edge, &format!("2/lr = {}", readable(edge)))),
        )
        .map_err(|error| format!("sharpness.png: {error}"))?;
        pictures.push(path);
    }
    let panels: Vec<plot::Panel<'_>> = runs
        .iter()
        .map(|run| plot::Panel {
            title: format!(
                "hidden layer size {}, accuracy {}",
                run.hidden,
                format_accuracy(run.accuracy)
            ),
            classes: run.model.classes(),
            predict: Box::new(|x| predict(&run.model, x)),
        })
        .collect();
    if let [single] = panels.as_slice() {
        let path = config.out.join("moons.png");
        plot::boundary(&path, &data.x, &data.labels, single)
            .map_err(|error| format!("moons.png: {error}"))?;
        pictures.push(path);
    } else {
        let path = config.out.join("moons_hidden.png");
        plot::boundary_grid(&path, &data.x, &data.labels, &panels)
            .map_err(|error| format!("moons_hidden.png: {error}"))?;
        pictures.push(path);
    }
    let names: Vec<String> = pictures
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    println!("pictures: {}", names.join(", "));
    if config.check_gradients {
        if runs.iter().all(|run| run.gradients_agreed) {
            println!(
                "gradients agree: autodiff = hand-derived within relative {:e}, = finite differences within {:e}",
                check::HAND_TOLERANCE,
                check::NUMERIC_TOLERANCE
            );
        } else {
            println!("gradients DISAGREE: see the rows above whose errors exceed the tolerances");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    cli::quiet_on_broken_pipe();
    let config: Config = match cli::parse("moons") {
        Ok(config) => config,
        Err(code) => return code,
    };
    match run(&config) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("moons: {message}");
            ExitCode::from(2)
        }
    }
}
