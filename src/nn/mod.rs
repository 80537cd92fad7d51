//! What a training loop needs around the engine, kept as small as the engine: parameters by name
//! ([`Params`]), layers ([`Linear`], [`Mlp`]), initialisers ([`init`]), mini-batches
//! ([`Batches`]) and [`accuracy`]. Optimizers are in [`optim`](crate::optim).
//!
//! One training step, as in PyTorch, in four lines:
//!
//! ```
//! use tapegrad::rand::{SeedableRng, rngs::StdRng};
//! use tapegrad::nn::{Activation, Mlp, Params, accuracy};
//! use tapegrad::optim::{Adam, Optimizer};
//! use tapegrad::{Reduction, Tape, Tensor};
//!
//! let x = Tensor::from_rows(&[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
//! let labels = [0, 1, 1, 0];
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut params = Params::new();
//! let model = Mlp::new(&mut params, "mlp", &[2, 8, 2], Activation::Tanh, &mut rng);
//! let mut optimizer = Adam::new(0.05);
//! let mut tape = Tape::new();
//! for _ in 0..300 {
//!     tape.clear();
//!     let bound = params.on_tape(&tape); // moved, not copied
//!     let loss = model.forward(&bound, tape.constant(x.clone())).cross_entropy(&labels, Reduction::Mean);
//!     let grads = bound.backward(loss); // the parameters move back
//!     optimizer.step(&mut params, &grads);
//! }
//! let eval = Tape::no_grad();
//! let logits = model.forward(&params.copied_to(&eval), eval.constant(x));
//! assert_eq!(accuracy(&logits.value(), &labels), 1.0);
//! ```

mod batches;
pub mod init;
mod layers;
mod params;
#[cfg(feature = "safetensors")]
mod save;

pub use batches::Batches;
pub use layers::{Activation, Linear, Mlp};
pub use params::{Bound, OnTape, ParamGrads, ParamId, Params};
#[cfg(feature = "safetensors")]
pub use save::{LAYOUT_VERSION, MAX_FILE_BYTES, WeightsError};

use crate::Tensor;

/// The fraction of rows of `logits` (`[batch, classes]`) whose largest entry is at the label;
/// a row with a NaN is never right (a diverged model scores 0, not chance).
///
/// ```
/// let logits = tapegrad::Tensor::from_rows(&[[2.0, 1.0], [0.0, 3.0], [5.0, 4.0], [f64::NAN, 0.0]]);
/// assert_eq!(tapegrad::nn::accuracy(&logits, &[0, 1, 1, 1]), 2.0 / 4.0);
/// ```
/// Panics, naming both counts and the caller's line, unless there is one label per row.
#[track_caller]
pub fn accuracy(logits: &Tensor, labels: &[usize]) -> f64 {
    let predictions = logits.argmax_axis(1);
    if predictions.len() != labels.len() {
        crate::tensor::shape_panic(
            "accuracy",
            format_args!(
                "{} labels for logits {:?}: need one label per row",
                labels.len(),
                logits.shape()
            ),
        );
    }
    // argmax skips NaN, so a row of NaN would still name a class.
    let classes = logits.len() / predictions.len().max(1);
    let rows = logits.data().chunks(classes.max(1));
    let correct = predictions
        .iter()
        .zip(labels)
        .zip(rows)
        .filter(|((prediction, label), row)| prediction == label && !row.iter().any(|x| x.is_nan()))
        .count();
    correct as f64 / labels.len().max(1) as f64
}
