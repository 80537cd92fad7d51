//! What the page may choose, as it arrives (JSON, typed by serde), the tutorial's choices as the
//! default, and the checks every value passes on the server before a run uses it.

use serde::{Deserialize, Serialize};
use tapegrad::Reduction;
use tapegrad::nn::Activation;

/// One run's choices. The page sends them whole whenever one changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub dataset: Dataset,
    /// Points to generate (an uploaded CSV brings its own).
    pub samples: usize,
    /// Standard deviation of the noise added to generated points.
    pub noise: f64,
    /// NumPy's `np.random.seed` before the data and again before the weights, as the tutorial.
    pub seed: u32,
    /// Hidden layer sizes: one layer as the tutorial, or two.
    pub hidden: Vec<usize>,
    pub activation: ActivationName,
    pub learning_rate: f64,
    /// The tutorial's `reg_lambda`: the objective adds `l2/2 Σ |W|²` over the weight matrices.
    pub l2: f64,
    pub loss: LossReduction,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataset {
    Moons,
    Circles,
    Xor,
    Spiral,
    /// The last CSV file uploaded to this run.
    Csv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationName {
    Tanh,
    Relu,
    Sigmoid,
}

/// The summed cross-entropy the tutorial descends, or the mean that PyTorch's default takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossReduction {
    Sum,
    Mean,
}

/// The bounds of every value, sent to the page for its inputs and enforced here.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Limits {
    pub max_samples: usize,
    pub max_noise: f64,
    pub max_hidden_layers: usize,
    pub max_hidden: usize,
    pub max_learning_rate: f64,
    pub max_l2: f64,
    pub max_csv_bytes: usize,
    pub max_classes: usize,
    pub max_coordinate: f64,
}

/// Sized so that one pass stays in milliseconds: 2000 points through two layers of 100 units.
pub const LIMITS: Limits = Limits {
    max_samples: 2000,
    max_noise: 5.0,
    max_hidden_layers: 2,
    max_hidden: 100,
    // Where the tutorial's run diverges within 200 passes, so that divergence can be watched.
    max_learning_rate: 1000.0,
    max_l2: 100.0,
    max_csv_bytes: 1 << 20,
    // One colour each from the tutorial's Spectral palette (11 colours).
    max_classes: 11,
    max_coordinate: 1e6,
};

impl Settings {
    /// The tutorial's run: `make_moons(200, noise=0.20)` after `np.random.seed(0)`, a 2-3-2 tanh
    /// network, learning rate 0.01, `reg_lambda` 0.01, the summed loss.
    pub fn tutorial() -> Settings {
        Settings {
            dataset: Dataset::Moons,
            samples: 200,
            noise: 0.2,
            seed: 0,
            hidden: vec![3],
            activation: ActivationName::Tanh,
            learning_rate: 0.01,
            l2: 0.01,
            loss: LossReduction::Sum,
        }
    }

    /// Every value within [`LIMITS`] and finite, or a message naming the first that is not.
    pub fn check(&self) -> Result<(), String> {
        let limits = LIMITS;
        if !(2..=limits.max_samples).contains(&self.samples) {
            return Err(format!(
                "points: {} is not from 2 to {}",
                self.samples, limits.max_samples
            ));
        }
        within("noise", self.noise, 0.0, limits.max_noise)?;
        if self.hidden.is_empty() || self.hidden.len() > limits.max_hidden_layers {
            return Err(format!(
                "hidden layers: {} layers, where 1 or {} are offered",
                self.hidden.len(),
                limits.max_hidden_layers
            ));
        }
        if let Some(size) = self
            .hidden
            .iter()
            .find(|&&size| !(1..=limits.max_hidden).contains(&size))
        {
            return Err(format!(
                "hidden units: {size} is not from 1 to {}",
                limits.max_hidden
            ));
        }
        let rate = self.learning_rate;
        if !(rate > 0.0 && rate <= limits.max_learning_rate) {
            return Err(format!(
                "learning rate: {} is not above 0 and at most {}",
                crate::cli::readable(rate),
                crate::cli::readable(limits.max_learning_rate)
            ));
        }
        within("L2 strength", self.l2, 0.0, limits.max_l2)?;
        Ok(())
    }

    /// Whether going from `self` to `next` needs new data and new weights; the learning rate,
    /// the L2 strength and the loss's reduction change a run in flight.
    pub fn needs_restart(&self, next: &Settings) -> bool {
        let keep_going = Settings {
            learning_rate: self.learning_rate,
            l2: self.l2,
            loss: self.loss,
            ..next.clone()
        };
        keep_going != *self
    }

    pub fn activation(&self) -> Activation {
        match self.activation {
            ActivationName::Tanh => Activation::Tanh,
            ActivationName::Relu => Activation::Relu,
            ActivationName::Sigmoid => Activation::Sigmoid,
        }
    }

    pub fn reduction(&self) -> Reduction {
        match self.loss {
            LossReduction::Sum => Reduction::Sum,
            LossReduction::Mean => Reduction::Mean,
        }
    }
}

/// `value` within `[low, high]`; JSON numbers are finite already, but a message never hurts.
fn within(what: &str, value: f64, low: f64, high: f64) -> Result<(), String> {
    if value.is_finite() && (low..=high).contains(&value) {
        Ok(())
    } else {
        let [value, low, high] = [value, low, high].map(crate::cli::readable);
        Err(format!("{what}: {value} is not from {low} to {high}"))
    }
}
