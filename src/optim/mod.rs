//! Optimizers with PyTorch's update rules, step for step as `torch/optim/*.py` computes them
//! (the single-tensor code paths), with PyTorch's defaults and names: [`Sgd`], [`Adam`] (and
//! AdamW), [`RmsProp`]; learning-rate schedules ([`StepLr`], [`CosineAnnealingLr`]). Gradient
//! clipping is [`ParamGrads::clip_norm`].
//!
//! An optimizer consumes the [`ParamGrads`] that [`OnTape::backward`](crate::nn::OnTape::backward)
//! returns and updates the [`Params`] in place. Its state (momentum, moment estimates) lives in
//! the optimizer, apart from the parameters, made at a parameter's first step, so that later
//! steps allocate nothing; [`Optimizer::state`] and [`Optimizer::load_state`] turn it into named
//! tensors and back, to save beside the weights.

/// The [`Optimizer`] methods every optimizer here shares: its learning rate is `config.lr` and
/// its state a [`Slots`] named `state`. Used inside each `impl Optimizer`.
macro_rules! config_lr_and_state {
    () => {
        fn learning_rate(&self) -> f64 {
            self.config.lr
        }

        fn set_learning_rate(&mut self, learning_rate: f64) {
            self.config.lr = learning_rate;
        }

        fn state(&self, params: &Params) -> Params {
            self.state.save(params)
        }

        fn load_state(&mut self, params: &Params, state: &Params) -> Result<(), super::StateError> {
            self.state.load(params, state)
        }
    };
}

mod adam;
mod rmsprop;
mod schedule;
mod sgd;

use std::fmt;

pub use adam::{Adam, AdamConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{CosineAnnealingLr, LrSchedule, StepLr};
pub use sgd::{Sgd, SgdConfig};

use crate::Tensor;
use crate::nn::{ParamGrads, Params};
use crate::tensor::shape_panic;

/// Updates parameters from their gradients. PyTorch: `torch.optim.Optimizer`.
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::optim::{Optimizer, Sgd, SgdConfig};
/// use tapegrad::Tensor;
/// let mut params = Params::new();
/// let w = params.insert("w", Tensor::from_slice(&[1.0]));
/// let mut optimizer: Box<dyn Optimizer> = Box::new(Sgd::with(SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() }));
/// for _ in 0..2 {
///     optimizer.step(&mut params, &vec![Some(Tensor::from_slice(&[1.0]))].into());
/// }
/// // Momentum: 1 − 0.1 · 1 − 0.1 · (0.9 + 1).
/// assert!((params[w].item() - 0.71).abs() < 1e-15);
/// let state = optimizer.state(&params); // the momentum buffer, by name, to save
/// assert!(state.get("momentum_buffer.w").is_some());
/// ```
pub trait Optimizer {
    /// One update of every trainable parameter that has a gradient in `grads`. Panics, naming
    /// the parameter and the caller's line, unless `grads` holds one gradient (or `None`) per
    /// parameter of `params`, each of its parameter's shape.
    #[track_caller]
    fn step(&mut self, params: &mut Params, grads: &ParamGrads);

    /// The learning rate of the next step.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (what a schedule does between steps).
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// The optimizer's state as named tensors, `BUFFER.PARAMETER` (`exp_avg.fc.weight`) and
    /// `step.PARAMETER`, for saving beside the weights.
    fn state(&self, params: &Params) -> Params;

    /// Restores a state written by [`state`](Optimizer::state) for these parameters; an entry
    /// of another optimizer or parameter, a missing one, a step count that is not one, or a
    /// buffer of the wrong shape is a [`StateError`] naming it, and leaves the state as it was.
    fn load_state(&mut self, params: &Params, state: &Params) -> Result<(), StateError>;
}

/// Why an optimizer state could not be loaded: each names the entry of the state.
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::optim::{Adam, Optimizer, Sgd, SgdConfig, StateError};
/// use tapegrad::Tensor;
/// let mut params = Params::new();
/// params.insert("w", Tensor::from_slice(&[1.0]));
/// let mut sgd = Sgd::with(SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() });
/// sgd.step(&mut params, &vec![Some(Tensor::from_slice(&[1.0]))].into());
/// let error = Adam::new(0.1).load_state(&params, &sgd.state(&params)).unwrap_err();
/// assert!(matches!(error, StateError::Unexpected { .. }));
/// assert_eq!(
///     error.to_string(),
///     "optimizer state momentum_buffer.w: not a buffer of Adam (it keeps step, exp_avg, \
///      exp_avg_sq, max_exp_avg_sq for each parameter): a state saved by another optimizer?"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// An entry that is not a step count or buffer of this optimizer for one of the parameters:
    /// a state saved by another kind of optimizer, or for another model.
    Unexpected {
        /// The entry.
        name: String,
        /// Why it is not one of this optimizer's.
        problem: String,
    },
    /// An entry the state needs is not there.
    Missing {
        /// The entry.
        name: String,
    },
    /// A step count that is not a whole number from 0 to 2⁵³ (what an f64 holds exactly).
    StepCount {
        /// The entry.
        name: String,
        /// The value found, as text.
        found: String,
    },
    /// A buffer whose shape is not its parameter's.
    Shape {
        /// The entry.
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The buffer's.
        found: Vec<usize>,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Unexpected { name, problem } => {
                write!(f, "optimizer state {name}: {problem}")
            }
            StateError::Missing { name } => write!(f, "optimizer state {name}: missing"),
            StateError::StepCount { name, found } => write!(
                f,
                "optimizer state {name}: {found} is not a step count (a whole number from 0 to 2^53)"
            ),
            StateError::Shape {
                name,
                expected,
                found,
            } => write!(
                f,
                "optimizer state {name}: shape {found:?}, the parameter {expected:?}"
            ),
        }
    }
}

impl std::error::Error for StateError {}

/// The largest step count a state may hold: above 2⁵³ an f64 (what it is saved as) skips
/// whole numbers, and far below where `1 − β^t` stops changing.
const MAX_STEP: f64 = 9_007_199_254_740_992.0;

/// One parameter's optimizer state: its step count and buffers (momentum, moments).
#[derive(Clone, Debug)]
struct Slot {
    step: u64,
    buffers: Vec<Tensor>,
}

/// The per-parameter state of an optimizer, each made at the parameter's first step.
#[derive(Clone, Debug)]
struct Slots {
    /// The optimizer's name, for messages.
    optimizer: &'static str,
    /// The buffers' names, PyTorch's (`momentum_buffer`, `exp_avg`, …).
    names: &'static [&'static str],
    /// Whether a slot may have no buffers (SGD without momentum keeps none).
    buffers_optional: bool,
    by_param: Vec<Option<Slot>>,
}

impl Slots {
    fn new(
        optimizer: &'static str,
        names: &'static [&'static str],
        buffers_optional: bool,
    ) -> Slots {
        Slots {
            optimizer,
            names,
            buffers_optional,
            by_param: Vec::new(),
        }
    }

    /// Calls `update(param, grad, slot)` for each trainable parameter with a gradient, making
    /// its slot with `first(grad)` (the initial buffers) the first time and counting the step.
    /// Panics, naming the parameter and the caller's line, unless there is one gradient per
    /// parameter, each of its parameter's shape.
    #[track_caller]
    fn update_each(
        &mut self,
        params: &mut Params,
        grads: &ParamGrads,
        first: impl Fn(&Tensor) -> Vec<Tensor>,
        mut update: impl FnMut(&mut Tensor, &Tensor, &mut Slot),
    ) {
        self.check_gradients(params, grads);
        if self.by_param.len() < params.len() {
            self.by_param.resize(params.len(), None);
        }
        for (index, grad) in grads.iter().enumerate() {
            let id = params.id_at(index);
            let Some(grad) = grad.filter(|_| params.is_trainable(id)) else {
                continue;
            };
            let slot = self.by_param[index].get_or_insert_with(|| Slot {
                step: 0,
                buffers: first(grad),
            });
            slot.step += 1;
            update(params.value_mut(id), grad, slot);
        }
    }

    /// Panics unless `grads` are `params`' own, one per parameter and of its shape. Allocates
    /// nothing unless it panics: steps after the first allocate nothing.
    #[track_caller]
    fn check_gradients(&self, params: &Params, grads: &ParamGrads) {
        // A function, not a closure: a closure would not pass the caller's line on.
        #[track_caller]
        fn refuse(optimizer: &str, detail: fmt::Arguments<'_>) -> ! {
            shape_panic(&format!("{optimizer}::step"), detail)
        }
        if grads
            .collection()
            .is_some_and(|collection| collection != params.collection())
        {
            refuse(
                self.optimizer,
                format_args!("the gradients are of another Params's parameters"),
            );
        }
        if grads.len() != params.len() {
            refuse(
                self.optimizer,
                format_args!(
                    "{} gradients for {} parameters: need one (or None) per parameter",
                    grads.len(),
                    params.len()
                ),
            );
        }
        for ((_, name, value), grad) in params.iter().zip(grads.iter()) {
            if let Some(grad) = grad
                && grad.shape() != value.shape()
            {
                refuse(
                    self.optimizer,
                    format_args!(
                        "the gradient of {name} has shape {:?}, the parameter {:?}",
                        grad.shape(),
                        value.shape()
                    ),
                );
            }
        }
    }

    fn save(&self, params: &Params) -> Params {
        let mut state = Params::new();
        for (id, name, _) in params.iter() {
            let Some(Some(slot)) = self.by_param.get(id.index()) else {
                continue;
            };
            state.insert(&format!("step.{name}"), Tensor::scalar(slot.step as f64));
            for (buffer, tensor) in self.names.iter().zip(&slot.buffers) {
                state.insert(&format!("{buffer}.{name}"), tensor.clone());
            }
        }
        state
    }

    fn load(&mut self, params: &Params, state: &Params) -> Result<(), StateError> {
        // Every entry is a step or a buffer of this optimizer for one of the parameters.
        for (_, entry, _) in state.iter() {
            let (kind, param) = entry.split_once('.').unwrap_or((entry, ""));
            let problem = if kind != "step" && !self.names.contains(&kind) {
                format!(
                    "not a buffer of {} (it keeps step, {} for each parameter): a state saved by \
                     another optimizer?",
                    self.optimizer,
                    self.names.join(", ")
                )
            } else if params.id(param).is_none() {
                format!("{param:?} is not a parameter of the model")
            } else {
                continue;
            };
            return Err(StateError::Unexpected {
                name: entry.to_string(),
                problem,
            });
        }
        let mut by_param = vec![None; params.len()];
        for (id, name, value) in params.iter() {
            let step_name = format!("step.{name}");
            let saved: Vec<bool> = self
                .names
                .iter()
                .map(|buffer| state.get(&format!("{buffer}.{name}")).is_some())
                .collect();
            let Some(step) = state.get(&step_name) else {
                if saved.contains(&true) {
                    return Err(StateError::Missing { name: step_name });
                }
                continue; // no step taken for it yet
            };
            let step = match step.data() {
                &[step] if step.fract() == 0.0 && (0.0..=MAX_STEP).contains(&step) => step,
                data => {
                    return Err(StateError::StepCount {
                        name: step_name,
                        found: match data {
                            [one] => one.to_string(),
                            many => format!("{many:?}"),
                        },
                    });
                }
            };
            // A parameter stepped without buffers (SGD without momentum) saved none.
            let names = if self.buffers_optional && !saved.contains(&true) {
                &[]
            } else {
                self.names
            };
            let mut buffers = Vec::with_capacity(names.len());
            for buffer in names {
                let buffer_name = format!("{buffer}.{name}");
                match state.get(&buffer_name) {
                    Some(tensor) if tensor.shape() == value.shape() => buffers.push(tensor.clone()),
                    Some(tensor) => {
                        return Err(StateError::Shape {
                            name: buffer_name,
                            expected: value.shape().to_vec(),
                            found: tensor.shape().to_vec(),
                        });
                    }
                    None => return Err(StateError::Missing { name: buffer_name }),
                }
            }
            by_param[id.index()] = Some(Slot {
                step: step as u64,
                buffers,
            });
        }
        self.by_param = by_param;
        Ok(())
    }
}

/// PyTorch's `lerp_(end, weight)`, computed as its kernel does: from the nearer end.
fn lerp(start: f64, end: f64, weight: f64) -> f64 {
    if weight < 0.5 {
        start + weight * (end - start)
    } else {
        end - (end - start) * (1.0 - weight)
    }
}

/// The gradient with weight decay added as PyTorch's `grad.add(param, alpha=weight_decay)`.
fn decayed(grad: f64, param: f64, weight_decay: f64) -> f64 {
    if weight_decay == 0.0 {
        grad
    } else {
        grad + weight_decay * param
    }
}
