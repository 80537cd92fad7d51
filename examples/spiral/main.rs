//! cs231n's spiral classifier as a PyTorch user would write it: three interleaved arms of 100
//! points, a 2-100-3 ReLU network from `tapegrad::nn`, Adam on shuffled mini-batches of 32,
//! an L2 penalty on the weights. It prints loss and accuracy as it trains, saves its weights as
//! safetensors (`--save`, in PyTorch's layout), and draws `spiral.png` and `spiral_loss.png`;
//! `--load` evaluates saved weights.
//!
//! Run: `cargo run --release --example spiral` (`-- --help` for the flags).

#[path = "../common/cli.rs"]
mod cli;
#[path = "../common/plot.rs"]
#[allow(dead_code)] // shared with `moons`, which draws grids of panels too
mod plot;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::datasets::make_spiral;
use tapegrad::nn::{Activation, Batches, Bound, Mlp, Params, accuracy};
use tapegrad::ops::l2_penalty;
use tapegrad::optim::{Adam, Optimizer};
use tapegrad::{Reduction, Tape, Tensor, Var};

use cli::{at_most, hidden_size, non_negative_number, positive_count, positive_number};

/// Trains a 2-H-3 ReLU network on cs231n's three-armed spiral with Adam on mini-batches.
#[derive(Parser, Debug)]
#[command(name = "spiral", version)]
struct Config {
    /// Epochs over the 300 points, each in shuffled mini-batches (at most 1000000).
    #[arg(long, value_name = "N", default_value = "300", value_parser = epochs, allow_negative_numbers = true)]
    epochs: usize,
    /// Adam's learning rate.
    #[arg(long, value_name = "X", default_value = "0.01", value_parser = positive_number, allow_negative_numbers = true)]
    lr: f64,
    /// L2 strength: the loss adds reg/2 · Σ W² over the weights (not the biases), as cs231n's.
    #[arg(long, value_name = "X", default_value = "0.0001", value_parser = non_negative_number, allow_negative_numbers = true)]
    reg: f64,
    /// Hidden layer size (at most 1000).
    #[arg(long, value_name = "N", default_value = "100", value_parser = hidden_size, allow_negative_numbers = true)]
    hidden: usize,
    /// Mini-batch size.
    #[arg(long, value_name = "N", default_value = "32", value_parser = positive_count, allow_negative_numbers = true)]
    batch_size: usize,
    /// Seed of the data, the initial weights and the shuffling.
    #[arg(
        long,
        value_name = "N",
        default_value = "0",
        allow_negative_numbers = true
    )]
    seed: u64,
    /// Where spiral.png and spiral_loss.png go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Save the trained weights to this safetensors file.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Evaluate the weights in this safetensors file instead of training.
    #[arg(long, value_name = "FILE", conflicts_with = "save")]
    load: Option<PathBuf>,
}

fn epochs(text: &str) -> Result<usize, String> {
    at_most(positive_count(text)?, 1_000_000, "epochs")
}

/// Mean cross-entropy plus reg/2 · Σ W² over the weights: cs231n's loss.
fn loss<'t>(model: &Mlp, params: &Bound<'t>, x: Var<'t>, labels: &[usize], reg: f64) -> Var<'t> {
    let data_loss = model
        .forward(params, x)
        .cross_entropy(labels, Reduction::Mean);
    let weights: Vec<Var<'t>> = (model.layers.iter())
        .map(|layer| params[layer.weight])
        .collect();
    data_loss + l2_penalty(&weights, reg / 2.0)
}

/// The logits for each row of `x`, on a tape that records no ops.
fn logits(model: &Mlp, params: &Params, x: &Tensor) -> Tensor {
    let tape = Tape::no_grad();
    model
        .forward(&params.copied_to(&tape), tape.constant(x.clone()))
        .value()
}

/// Trains (or loads) and draws; a diverging run is `Ok(ExitCode::FAILURE)` after its one line,
/// as in the moons example, and bad input an `Err`.
fn run(config: &Config) -> Result<ExitCode, String> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let (x, labels) = make_spiral(100, 3, 0.2, &mut rng);
    let mut params = Params::new();
    let sizes = [2, config.hidden, 3];
    let model = Mlp::new(&mut params, "mlp", &sizes, Activation::Relu, &mut rng);
    // Every output place is checked before training, so that no epoch is trained for nothing.
    check_writable(&config.out, "--out")?;
    if let Some(path) = &config.save {
        let folder = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty());
        check_writable(folder.unwrap_or(Path::new(".")), "--save")?;
        if path.is_dir() {
            return Err(format!("--save {}: a folder, not a file", path.display()));
        }
    }

    if let Some(path) = &config.load {
        params
            .load_into(path)
            .map_err(|error| format!("--load {}: {error}", path.display()))?;
    } else {
        let mut optimizer = Adam::new(config.lr);
        let mut tape = Tape::new();
        let mut losses: Vec<(usize, f64)> = Vec::new();
        for epoch in 1..=config.epochs {
            let mut total = 0.0;
            for (batch, batch_labels) in
                Batches::new(&x, &labels, config.batch_size).shuffled(&mut rng)
            {
                tape.clear();
                let bound = params.on_tape(&tape);
                let batch = tape.constant(batch);
                let loss = loss(&model, &bound, batch, &batch_labels, config.reg);
                if !loss.item().is_finite() {
                    eprintln!(
                        "spiral: the loss became {} in epoch {epoch}: the learning rate {} is too large; try a smaller --lr",
                        loss.item(),
                        cli::readable(config.lr)
                    );
                    return Ok(ExitCode::FAILURE);
                }
                total += loss.item() * batch_labels.len() as f64;
                let grads = bound.backward(loss);
                optimizer.step(&mut params, &grads);
            }
            let mean_loss = total / labels.len() as f64;
            losses.push((epoch, mean_loss));
            if epoch % 50 == 0 || epoch == 1 || epoch == config.epochs {
                let correct = accuracy(&logits(&model, &params, &x), &labels);
                println!(
                    "epoch {epoch}: loss {mean_loss:.4}, accuracy {:.1}%",
                    100.0 * correct
                );
            }
        }
        // The weights first: a picture that fails to draw must not lose the training.
        if let Some(path) = &config.save {
            params
                .save(path)
                .map_err(|error| format!("--save {}: {error}", path.display()))?;
            println!("weights: {}", path.display());
        }
        let curve = plot::Curve {
            label: "mean loss".into(),
            points: losses,
            dots: false,
        };
        let title = "loss (mean cross-entropy + L2) over each epoch";
        let path = config.out.join("spiral_loss.png");
        let epochs = ("epochs", plot::Passes::Log);
        plot::curves(&path, title, epochs, "loss (log scale)", &[curve], None)
            .map_err(|error| format!("spiral_loss.png: {error}"))?;
        println!("picture: {}", path.display());
    }

    let accuracy = accuracy(&logits(&model, &params, &x), &labels);
    println!("train accuracy: {:.1}%", 100.0 * accuracy);
    let path = config.out.join("spiral.png");
    let panel = plot::Panel {
        title: format!(
            "2-{}-3 ReLU, accuracy {:.1}%",
            config.hidden,
            100.0 * accuracy
        ),
        classes: 3,
        predict: Box::new(|points| logits(&model, &params, points).argmax_axis(1)),
    };
    plot::boundary(&path, &x, &labels, &panel).map_err(|error| format!("spiral.png: {error}"))?;
    println!("picture: {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// Fails early, before training, if nothing can be written in `folder` (made if missing).
fn check_writable(folder: &Path, flag: &str) -> Result<(), String> {
    let probe = folder.join(format!(".spiral-write-check-{}", std::process::id()));
    std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|error| format!("{flag} {}: cannot write there: {error}", folder.display()))
}

fn main() -> ExitCode {
    cli::quiet_on_broken_pipe();
    let config: Config = match cli::parse("spiral") {
        Ok(config) => config,
        Err(code) => return code,
    };
    match run(&config) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("spiral: {message}");
            ExitCode::from(2)
        }
    }
}
