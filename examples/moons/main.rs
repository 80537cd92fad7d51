//! The network of "Implementing a neural network from scratch in Python", with the hand-derived
//! backprop replaced by tapegrad's tape.
//!
//! 2 inputs, H tanh units, 2 softmax outputs:
//!   z1 = x W1 + b1,  a1 = tanh(z1),  z2 = a1 W2 + b2,  ŷ = softmax(z2)
//! trained by full-batch gradient descent on the summed cross-entropy plus reg/2 (|W1|² + |W2|²),
//! exactly the objective whose gradient the tutorial derives by hand.
//!
//! Run: `cargo run --release --example moons` (`-- --help` for the flags).

mod args;
mod plot;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::datasets::{DataError, load_csv, make_moons};
use tapegrad::{Reduction, Tape, Tensor, Var};

use args::Config;

/// The training data: points `[N, 2]` and one class label per point.
pub struct Data {
    pub x: Tensor,
    pub labels: Vec<usize>,
}

/// The tutorial's parameters: W1 `[2, H]`, b1 `[1, H]`, W2 `[H, C]`, b2 `[1, C]`.
pub struct Model {
    pub w1: Tensor,
    pub b1: Tensor,
    pub w2: Tensor,
    pub b2: Tensor,
}

/// The model's parameters as variables on one tape, in the order W1, b1, W2, b2.
type Params<'t> = [Var<'t>; 4];

impl Model {
    /// The tutorial's initialisation: W ~ N(0, 1) / √(fan-in), biases zero.
    fn new(hidden: usize, classes: usize, rng: &mut StdRng) -> Model {
        Model {
            w1: &Tensor::randn(&[2, hidden], rng) / 2f64.sqrt(),
            b1: Tensor::zeros(&[1, hidden]),
            w2: &Tensor::randn(&[hidden, classes], rng) / (hidden as f64).sqrt(),
            b2: Tensor::zeros(&[1, classes]),
        }
    }

    fn on_tape<'t>(&self, tape: &'t Tape) -> Params<'t> {
        [&self.w1, &self.b1, &self.w2, &self.b2].map(|param| tape.var(param.clone()))
    }

    /// `z2 = tanh(x W1 + b1) W2 + b2`: the logits, whose softmax is the tutorial's ŷ.
    fn logits<'t>(x: Var<'t>, [w1, b1, w2, b2]: Params<'t>) -> Var<'t> {
        let z1 = x.matmul(w1) + b1;
        let a1 = z1.tanh();
        a1.matmul(w2) + b2
    }

    /// Σ cross-entropy + reg/2 (|W1|² + |W2|²): the objective the tutorial's update descends.
    fn objective<'t>(tape: &'t Tape, params: Params<'t>, data: &Data, reg: f64) -> Var<'t> {
        let x = tape.constant(data.x.clone());
        let data_loss = Model::logits(x, params).cross_entropy(&data.labels, Reduction::Sum);
        let [w1, _, w2, _] = params;
        data_loss + reg / 2.0 * (w1.square().sum() + w2.square().sum())
    }

    /// One pass of the tutorial's loop: forward, backprop (by the tape), gradient-descent update.
    fn train_pass(&mut self, tape: &mut Tape, data: &Data, lr: f64, reg: f64) {
        tape.clear();
        let params = self.on_tape(tape);
        let grads = Model::objective(tape, params, data, reg).backward();
        let [w1, b1, w2, b2] = params;
        self.w1.add_scaled(-lr, grads.wrt(w1));
        self.b1.add_scaled(-lr, grads.wrt(b1));
        self.w2.add_scaled(-lr, grads.wrt(w2));
        self.b2.add_scaled(-lr, grads.wrt(b2));
    }

    /// The loss the tutorial prints (its `calculate_loss`): the objective divided by N.
    fn reported_loss(&self, data: &Data, reg: f64) -> f64 {
        let tape = Tape::new();
        Model::objective(&tape, self.on_tape(&tape), data, reg).item() / data.labels.len() as f64
    }

    /// The most probable class of each row of `x`.
    pub fn predict(&self, x: &Tensor) -> Vec<usize> {
        let tape = Tape::new();
        let logits = Model::logits(tape.constant(x.clone()), self.on_tape(&tape));
        logits.value().argmax_axis(1)
    }

    fn accuracy(&self, data: &Data) -> f64 {
        let predictions = self.predict(&data.x);
        let correct = predictions
            .iter()
            .zip(&data.labels)
            .filter(|(p, l)| p == l)
            .count();
        correct as f64 / data.labels.len() as f64
    }
}

/// A model trained with one hidden size, and how its loss went.
pub struct Trained {
    pub hidden: usize,
    pub model: Model,
    /// `(passes done, reported loss)`, about 200 points over the run.
    pub losses: Vec<(usize, f64)>,
    pub accuracy: f64,
}

fn train(config: &Config, data: &Data, hidden: usize) -> Trained {
    let classes = data.labels.iter().max().map_or(2, |&max| (max + 1).max(2));
    // Every hidden size starts from the same stream, as the tutorial reseeds before each model;
    // the data have their own stream (`seed`), the weights `seed + 1`.
    let mut rng = StdRng::seed_from_u64(config.seed.wrapping_add(1));
    let mut model = Model::new(hidden, classes, &mut rng);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    let record_every = (config.passes / 200).max(1);
    for pass in 0..config.passes {
        model.train_pass(&mut tape, data, config.lr, config.reg);
        // Like the tutorial, the loss at pass i is that of the model after update i.
        if pass % 1000 == 0 || pass % record_every == 0 {
            let loss = model.reported_loss(data, config.reg);
            if pass % 1000 == 0 {
                println!("Loss after iteration {pass}: {loss:.6}");
            }
            if pass % record_every == 0 {
                losses.push((pass + 1, loss)); // plotted against the number of passes done
            }
        }
    }
    let final_loss = model.reported_loss(data, config.reg);
    if losses.last().map(|&(passes, _)| passes) != Some(config.passes) {
        losses.push((config.passes, final_loss));
    }
    let accuracy = model.accuracy(data);
    println!("final loss: {final_loss:.6}");
    println!("train accuracy: {accuracy:?}");
    Trained {
        hidden,
        model,
        losses,
        accuracy,
    }
}

fn load_data(config: &Config) -> Result<Data, String> {
    let (x, labels) = match &config.data {
        Some(path) => load_csv(path).map_err(|error| match error {
            DataError::Io { .. } => format!("--data: {error}"),
            _ => format!("--data {}: {error}", path.display()),
        })?,
        None => make_moons(
            config.samples,
            config.noise,
            &mut StdRng::seed_from_u64(config.seed),
        ),
    };
    Ok(Data { x, labels })
}

/// Fails early, before training, if the pictures could not be written.
fn check_writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(".moons-write-check");
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|error| format!("--out {}: cannot write there: {error}", dir.display()))
}

fn run(config: &Config) -> Result<(), String> {
    let data = load_data(config)?;
    check_writable(&config.out)?;
    let mut runs = Vec::new();
    for &hidden in &config.hidden {
        if config.hidden.len() > 1 {
            println!("hidden layer size {hidden}:");
        }
        runs.push(train(config, &data, hidden));
    }
    let mut pictures: Vec<PathBuf> = vec![config.out.join("loss.png")];
    plot::loss_curves(&pictures[0], &runs).map_err(|error| format!("loss.png: {error}"))?;
    if let [single] = runs.as_slice() {
        let path = config.out.join("moons.png");
        plot::boundary(&path, &data, single).map_err(|error| format!("moons.png: {error}"))?;
        pictures.push(path);
    } else {
        let path = config.out.join("moons_hidden.png");
        plot::boundary_grid(&path, &data, &runs)
            .map_err(|error| format!("moons_hidden.png: {error}"))?;
        pictures.push(path);
    }
    let names: Vec<String> = pictures
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    println!("pictures: {}", names.join(", "));
    Ok(())
}

fn main() -> ExitCode {
    let config = match args::parse(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("moons: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("moons: {message}");
            ExitCode::from(2)
        }
    }
}
