//! RMSprop.

use super::{Optimizer, Slots, decayed, lerp};
use crate::Tensor;
use crate::nn::{ParamGrads, Params};

/// RMSprop, PyTorch's `torch.optim.RMSprop` step for step (defaults `lr = 1e-2`, `alpha =
/// 0.99`, `eps = 1e-8`, no weight decay, no momentum, not centered). For each parameter `p`
/// with gradient `g`:
///
/// ```text
/// g ← g + weight_decay · p                  (if weight_decay ≠ 0)
/// s ← α s + (1 − α) g²                      (square_avg)
/// ḡ ← ḡ + (1 − α)(g − ḡ), d ← √(s − ḡ²) + eps   (centered: grad_avg)
/// d ← √s + eps                              (otherwise)
/// b ← momentum · b + g / d, p ← p − lr · b  (if momentum > 0: momentum_buffer)
/// p ← p − lr · g / d                        (otherwise)
/// ```
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::optim::{Optimizer, RmsProp};
/// use tapegrad::Tensor;
/// let mut params = Params::new();
/// let w = params.insert("w", Tensor::from_slice(&[1.0]));
/// let grads = vec![Some(Tensor::from_slice(&[0.5]))].into();
/// RmsProp::new(0.01).step(&mut params, &grads);
/// // s = 0.01 · 0.25, so the step is 0.01 · 0.5 / (0.05 + 1e-8): about 0.1.
/// assert!((params[w].item() - (1.0 - 0.01 * 0.5 / (0.0025f64.sqrt() + 1e-8))).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp {
    /// The settings; change them between steps as you like.
    pub config: RmsPropConfig,
    state: Slots,
}

/// The settings of [`RmsProp`], with PyTorch's names; [`Default`] is PyTorch's `RMSprop()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// The learning rate (1e-2).
    pub lr: f64,
    /// The decay rate of the squared-gradient average (0.99).
    pub alpha: f64,
    /// Added to the denominator for stability (1e-8).
    pub eps: f64,
    /// The L2 penalty added to the gradient (0).
    pub weight_decay: f64,
    /// The momentum factor (0: none).
    pub momentum: f64,
    /// Whether to divide by the variance rather than the second moment (false).
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> RmsPropConfig {
        RmsPropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

impl RmsProp {
    /// RMSprop with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> RmsProp {
        RmsProp::with(RmsPropConfig {
            lr,
            ..RmsPropConfig::default()
        })
    }

    /// With these settings.
    ///
    /// ```
    /// use tapegrad::optim::{Optimizer, RmsProp, RmsPropConfig};
    /// let rmsprop = RmsProp::with(RmsPropConfig { centered: true, ..RmsPropConfig::default() });
    /// assert_eq!((rmsprop.learning_rate(), rmsprop.config.alpha), (1e-2, 0.99));
    /// ```
    pub fn with(config: RmsPropConfig) -> RmsProp {
        RmsProp {
            config,
            state: Slots::new(
                "RmsProp",
                &["square_avg", "grad_avg", "momentum_buffer"],
                false,
            ),
        }
    }
}

impl Optimizer for RmsProp {
    #[track_caller]
    fn step(&mut self, params: &mut Params, grads: &ParamGrads) {
        let RmsPropConfig {
            lr,
            alpha,
            eps,
            weight_decay,
            momentum,
            centered,
        } = self.config;
        let zeros = |grad: &Tensor| vec![Tensor::zeros(grad.shape()); 3];
        self.state
            .update_each(params, grads, zeros, |param, grad, slot| {
                let [square_avg, grad_avg, buffer] = &mut slot.buffers[..] else {
                    unreachable!("three buffers")
                };
                let averages = square_avg.data_mut().iter_mut().zip(grad_avg.data_mut());
                let elements = param.data_mut().iter_mut().zip(grad.data());
                for ((p, &g), ((s, mean), b)) in elements.zip(averages.zip(buffer.data_mut())) {
                    let g = decayed(g, *p, weight_decay);
                    *s = *s * alpha + (1.0 - alpha) * g * g;
                    let average = if centered {
                        *mean = lerp(*mean, g, 1.0 - alpha);
                        (*s + -1.0 * *mean * *mean).sqrt()
                    } else {
                        s.sqrt()
                    };
                    let denominator = average + eps;
                    if momentum > 0.0 {
                        *b = *b * momentum + g / denominator;
                        *p += -lr * *b;
                    } else {
                        *p += -lr * g / denominator;
                    }
                }
            });
    }

    // The learning rate in `config.lr`, the state in `state`: as every optimizer here.
    config_lr_and_state!();
}
