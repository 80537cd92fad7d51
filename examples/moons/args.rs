//! The example's command line: flags, their defaults and their checks.

use std::path::PathBuf;

pub const USAGE: &str = "\
Trains the tutorial's 2-H-2 tanh/softmax network on two moons by full-batch gradient descent,
with gradients from tapegrad's tape, and draws the decision boundary.

usage: cargo run --release --example moons -- [flags]

  --hidden LIST   hidden layer sizes, e.g. 3 or 1,2,3,4,5,20,50 (one model each)   [3]
  --passes N      gradient-descent passes over the whole batch                      [20000]
  --lr X          learning rate (the tutorial's epsilon)                            [0.01]
  --reg X         L2 regularisation strength (the tutorial's reg_lambda)            [0.01]
  --samples N     number of two-moons points                                        [200]
  --noise X       standard deviation of the noise added to the points               [0.2]
  --seed N        np.random.seed(N) before the data and before each model's weights,
                  as the tutorial does; 0 to 4294967295                             [0]
  --data FILE     train on x1,x2,label rows from a CSV file instead of two moons
                  (labels 0, 1, …, C-1: the network gets one output per class)
  --out DIR       where the pictures go                                             [.]
  --check-gradients
                  at passes 0, 1, 10, 100, 1000 and the last, print the tape's gradients
                  against the tutorial's hand-derived ones and finite differences;
                  exit with status 1 if they disagree
  --print-tape    print the tape of the first pass (values, gradient norms) and exit
  --graph FILE    write the first pass's tape as a Graphviz DOT graph and exit
  --help          this text";

/// What the flags asked for.
#[derive(Debug, Clone)]
pub struct Config {
    pub hidden: Vec<usize>,
    pub passes: usize,
    pub lr: f64,
    pub reg: f64,
    pub samples: usize,
    pub noise: f64,
    /// NumPy's `np.random.seed`: 0 to 2³² − 1.
    pub seed: u32,
    pub data: Option<PathBuf>,
    pub out: PathBuf,
    pub check_gradients: bool,
    pub print_tape: bool,
    pub graph: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            hidden: vec![3],
            passes: 20000,
            lr: 0.01,
            reg: 0.01,
            samples: 200,
            noise: 0.2,
            seed: 0,
            data: None,
            out: PathBuf::from("."),
            check_gradients: false,
            print_tape: false,
            graph: None,
        }
    }
}

/// Parses the flags (without the program name). `Ok(None)` means `--help` was asked for.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Config>, String> {
    let mut config = Config::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(None);
        }
        if arg == "--check-gradients" || arg == "--print-tape" {
            config.check_gradients |= arg == "--check-gradients";
            config.print_tape |= arg == "--print-tape";
            continue;
        }
        // Both `--flag value` and `--flag=value`.
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        let mut value = || {
            inline_value
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value (see --help)"))
        };
        match flag.as_str() {
            "--hidden" => config.hidden = hidden_sizes(&value()?)?,
            "--passes" => config.passes = positive_count("--passes", &value()?)?,
            "--lr" => config.lr = number("--lr", &value()?, |x| x > 0.0, "a positive number")?,
            "--reg" => config.reg = number("--reg", &value()?, |x| x >= 0.0, "a number ≥ 0")?,
            "--samples" => config.samples = positive_count("--samples", &value()?)?,
            "--noise" => config.noise = number("--noise", &value()?, |x| x >= 0.0, "a number ≥ 0")?,
            "--seed" => {
                let text = value()?;
                config.seed = text.parse().map_err(|_| {
                    format!("--seed: '{text}' is not a whole number from 0 to 4294967295 (np.random.seed's range)")
                })?;
            }
            "--data" => config.data = Some(PathBuf::from(value()?)),
            "--out" => config.out = PathBuf::from(value()?),
            "--graph" => config.graph = Some(PathBuf::from(value()?)),
            _ => return Err(format!("unknown flag '{flag}' (see --help)")),
        }
    }
    if config.data.is_none() && config.samples < 2 {
        return Err("--samples: need at least 2 points".into());
    }
    Ok(Some(config))
}

fn hidden_sizes(text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|size| positive_count("--hidden", size.trim()))
        .collect()
}

fn positive_count(flag: &str, text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!("{flag}: '{text}' is not a whole number ≥ 1")),
    }
}

fn number(flag: &str, text: &str, valid: impl Fn(f64) -> bool, what: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && valid(x) => Ok(x),
        _ => Err(format!("{flag}: '{text}' is not {what}")),
    }
}
