//! The example's command line: flags, their defaults and their checks, through clap.

use std::path::PathBuf;

use clap::Parser;

use crate::cli::{at_most, hidden_size, non_negative_number, positive_count, positive_number};

/// Trains the tutorial's 2-H-2 tanh/softmax network on two moons by full-batch gradient descent,
/// with gradients from tapegrad's tape, and draws the decision boundary.
#[derive(Parser, Debug, Clone)]
#[command(name = "moons", version)]
pub struct Config {
    /// Hidden layer sizes, e.g. 3 or 1,2,3,4,5,20,50 (one model each; at most 16 sizes, each
    /// at most 1000).
    #[arg(long, value_name = "LIST", default_value = "3", value_parser = hidden_size, value_delimiter = ',', allow_negative_numbers = true)]
    pub hidden: Vec<usize>,
    /// Gradient-descent passes over the whole batch.
    #[arg(long, value_name = "N", default_value = "20000", value_parser = positive_count, allow_negative_numbers = true)]
    pub passes: usize,
    /// Learning rate (the tutorial's epsilon).
    #[arg(long, value_name = "X", default_value = "0.01", value_parser = positive_number, allow_negative_numbers = true)]
    pub lr: f64,
    /// L2 regularisation strength (the tutorial's reg_lambda).
    #[arg(long, value_name = "X", default_value = "0.01", value_parser = non_negative_number, allow_negative_numbers = true)]
    pub reg: f64,
    /// Number of two-moons points (at most 10000000).
    #[arg(long, value_name = "N", default_value = "200", value_parser = samples, allow_negative_numbers = true)]
    pub samples: usize,
    /// Standard deviation of the noise added to the points (at most 1000000).
    #[arg(long, value_name = "X", default_value = "0.2", value_parser = noise, allow_negative_numbers = true)]
    pub noise: f64,
    /// np.random.seed(N) before the data and before each model's weights, as the tutorial
    /// does; 0 to 4294967295.
    #[arg(long, value_name = "N", default_value = "0", value_parser = numpy_seed, allow_negative_numbers = true)]
    pub seed: u32,
    /// Train on x1,x2,label rows from a CSV file instead of two moons (labels 0, 1, …, C-1: the
    /// network gets one output per class).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Where the pictures go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// At passes 0, 1, 10, 100, 1000 and the last, print the tape's gradients against the
    /// tutorial's hand-derived ones and finite differences; exit with status 1 if they disagree.
    #[arg(long)]
    pub check_gradients: bool,
    /// Print the tape of the first pass (values, gradient norms) and exit.
    #[arg(long)]
    pub print_tape: bool,
    /// Write the first pass's tape as a Graphviz DOT graph and exit.
    #[arg(long, value_name = "FILE")]
    pub graph: Option<PathBuf>,
    /// Track the sharpness (the top eigenvalue of the summed objective's Hessian, by power
    /// iteration on Hessian-vector products) against 2/lr, print it beside the loss lines and
    /// draw sharpness.png.
    #[arg(long)]
    pub sharpness: bool,
    /// With --sharpness: measure it at two consecutive passes every K (both points of a
    /// period-2 cycle), and at the last two.
    #[arg(long, value_name = "K", default_value = "100", value_parser = positive_count, allow_negative_numbers = true)]
    pub sharpness_every: usize,
}

/// Caps that keep every allocation and picture bounded (the hidden layer's is in `cli`): 16 sizes
/// make an 8-row picture; a layer's activations over the whole batch stay under
/// `MAX_ACTIVATIONS` values (400 MB), whatever the points and the width.
pub const MAX_HIDDEN_SIZES: usize = 16;
pub const MAX_SAMPLES: usize = 10_000_000;
pub const MAX_ACTIVATIONS: usize = 50_000_000;
/// Noise beyond this only measures the noise, and far beyond it the samples overflow.
pub const MAX_NOISE: f64 = 1e6;

fn samples(text: &str) -> Result<usize, String> {
    at_most(positive_count(text)?, MAX_SAMPLES, "points")
}

fn noise(text: &str) -> Result<f64, String> {
    match non_negative_number(text)? {
        noise if noise <= MAX_NOISE => Ok(noise),
        noise => Err(format!(
            "{noise:e} is more than the {MAX_NOISE:e} this example allows"
        )),
    }
}

/// NumPy's `np.random.seed` range.
fn numpy_seed(text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not a whole number from 0 to 4294967295"))
}
