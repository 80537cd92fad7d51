//! Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

use super::{Optimizer, Slots, decayed};
use crate::Tensor;
use crate::nn::{ParamGrads, Params};

/// Gradient descent, PyTorch's `torch.optim.SGD` step for step (its defaults: no momentum,
/// dampening or weight decay). For each parameter `p` with gradient `g`:
///
/// ```text
/// g ← g + weight_decay · p                       (if weight_decay ≠ 0)
/// b ← g at the first step, else momentum · b + (1 − dampening) · g   (if momentum ≠ 0)
/// g ← g + momentum · b if nesterov, else b
/// p ← p − lr · g
/// ```
///
/// Plain `Sgd::new(η)` is exactly the tutorial's `W += -η dW`.
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::optim::{Optimizer, Sgd};
/// use tapegrad::Tensor;
/// let mut params = Params::new();
/// let w = params.insert("w", Tensor::from_slice(&[1.0]));
/// let grads = vec![Some(Tensor::from_slice(&[0.5]))].into();
/// Sgd::new(0.1).step(&mut params, &grads);
/// assert_eq!(params[w].data(), &[1.0 - 0.1 * 0.5]);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    /// The settings; change them between steps as you like.
    pub config: SgdConfig,
    state: Slots,
}

/// The settings of [`Sgd`], with PyTorch's names; [`Default`] is PyTorch's `SGD()`: plain
/// descent at `lr = 1e-3`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// The learning rate `lr`.
    pub lr: f64,
    /// The momentum factor (0: none).
    pub momentum: f64,
    /// The dampening of momentum.
    pub dampening: f64,
    /// The L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum (needs momentum and no dampening).
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> SgdConfig {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl Sgd {
    /// Plain gradient descent with learning rate `lr`.
    pub fn new(lr: f64) -> Sgd {
        Sgd::with(SgdConfig {
            lr,
            ..SgdConfig::default()
        })
    }

    /// With these settings.
    ///
    /// ```
    /// use tapegrad::optim::{Optimizer, Sgd, SgdConfig};
    /// let sgd = Sgd::with(SgdConfig { lr: 0.05, momentum: 0.9, nesterov: true, ..SgdConfig::default() });
    /// assert_eq!((sgd.learning_rate(), SgdConfig::default().lr), (0.05, 1e-3));
    /// ```
    pub fn with(config: SgdConfig) -> Sgd {
        Sgd {
            config,
            state: Slots::new("Sgd", &["momentum_buffer"], true),
        }
    }
}

impl Optimizer for Sgd {
    #[track_caller]
    fn step(&mut self, params: &mut Params, grads: &ParamGrads) {
        let SgdConfig {
            lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
        } = self.config;
        // No buffer until the first step with momentum, which starts it at the gradient itself.
        let no_buffers = |_: &Tensor| Vec::new();
        self.state
            .update_each(params, grads, no_buffers, |param, grad, slot| {
                if momentum == 0.0 {
                    for (p, &g) in param.data_mut().iter_mut().zip(grad.data()) {
                        *p += -lr * decayed(g, *p, weight_decay);
                    }
                    return;
                }
                let first_step = slot.buffers.is_empty();
                if first_step {
                    slot.buffers.push(Tensor::zeros(grad.shape()));
                }
                let buffer = slot.buffers[0].data_mut();
                for ((p, &g), b) in param.data_mut().iter_mut().zip(grad.data()).zip(buffer) {
                    let g = decayed(g, *p, weight_decay);
                    *b = if first_step {
                        g // PyTorch starts the buffer at the first gradient, undamped
                    } else {
                        *b * momentum + (1.0 - dampening) * g
                    };
                    let update = if nesterov { g + momentum * *b } else { *b };
                    *p += -lr * update;
                }
            });
    }

    // The learning rate in `config.lr`, the state in `state`: as every optimizer here.
    config_lr_and_state!();
}
