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
use crate::nn::{ParamGrads, ParamId, Params};

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
    /// One update of every trainable parameter that has a gradient in `grads`.
    fn step(&mut self, params: &mut Params, grads: &ParamGrads);

    /// The learning rate of the next step.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (what a schedule does between steps).
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// The optimizer's state as named tensors, `BUFFER.PARAMETER` (`exp_avg.fc.weight`) and
    /// `step.PARAMETER`, for saving beside the weights.
    fn state(&self, params: &Params) -> Params;

    /// Restores a state written by [`state`](Optimizer::state) for these parameters.
    fn load_state(&mut self, params: &Params, state: &Params) -> Result<(), StateError>;
}

/// Why an optimizer state could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateError {
    /// The tensor of the state that is missing or does not fit.
    pub name: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "optimizer state {}: {}", self.name, self.problem)
    }
}

impl std::error::Error for StateError {}

/// One parameter's optimizer state: its step count and buffers (momentum, moments).
#[derive(Clone, Debug)]
struct Slot {
    step: u64,
    buffers: Vec<Tensor>,
}

/// The per-parameter state of an optimizer, each made at the parameter's first step.
#[derive(Clone, Debug)]
struct Slots {
    /// The buffers' names, PyTorch's (`momentum_buffer`, `exp_avg`, …).
    names: &'static [&'static str],
    by_param: Vec<Option<Slot>>,
}

impl Slots {
    fn new(names: &'static [&'static str]) -> Slots {
        Slots {
            names,
            by_param: Vec::new(),
        }
    }

    /// Calls `update(param, grad, slot)` for each trainable parameter with a gradient, making
    /// its slot with `first(grad)` (the initial buffers) the first time and counting the step.
    fn update_each(
        &mut self,
        params: &mut Params,
        grads: &ParamGrads,
        first: impl Fn(&Tensor) -> Vec<Tensor>,
        mut update: impl FnMut(&mut Tensor, &Tensor, &mut Slot),
    ) {
        if self.by_param.len() < params.len() {
            self.by_param.resize(params.len(), None);
        }
        for (index, grad) in grads.iter().enumerate().take(params.len()) {
            let id = ParamId(index);
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
        let mut by_param = vec![None; params.len()];
        for (id, name, value) in params.iter() {
            let step_name = format!("step.{name}");
            let Some(step) = state.get(&step_name) else {
                continue; // no step taken for it yet
            };
            let step = step.data().first().copied().unwrap_or(-1.0);
            if step.fract() != 0.0 || !(0.0..=u64::MAX as f64).contains(&step) {
                return Err(error(&step_name, format!("{step} is not a step count")));
            }
            // A parameter stepped without buffers (SGD without momentum) saved none.
            let saved = |buffer: &&str| state.get(&format!("{buffer}.{name}")).is_some();
            let names = if self.names.iter().any(saved) {
                self.names
            } else {
                &[]
            };
            let buffers = names
                .iter()
                .map(|buffer| {
                    let buffer_name = format!("{buffer}.{name}");
                    match state.get(&buffer_name) {
                        Some(tensor) if tensor.shape() == value.shape() => Ok(tensor.clone()),
                        Some(tensor) => Err(error(
                            &buffer_name,
                            format!(
                                "shape {:?}, the parameter {:?}",
                                tensor.shape(),
                                value.shape()
                            ),
                        )),
                        None => Err(error(&buffer_name, "missing".into())),
                    }
                })
                .collect::<Result<_, _>>()?;
            by_param[id.index()] = Some(Slot {
                step: step as u64,
                buffers,
            });
        }
        self.by_param = by_param;
        Ok(())
    }
}

fn error(name: &str, problem: String) -> StateError {
    StateError {
        name: name.to_string(),
        problem,
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
