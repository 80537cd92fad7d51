//! Adam and AdamW.

use super::{Optimizer, Slots, decayed, lerp};
use crate::Tensor;
use crate::nn::{ParamGrads, Params};

/// Adam, PyTorch's `torch.optim.Adam` step for step (defaults `lr = 1e-3`, `betas = (0.9,
/// 0.999)`, `eps = 1e-8`, no weight decay, no AMSGrad), and with [`Adam::adamw`] its
/// `torch.optim.AdamW` (decoupled weight decay, default 1e-2). For each parameter `p` with
/// gradient `g`, at its step `t`:
///
/// ```text
/// p ← p · (1 − lr · weight_decay)                       (AdamW)
/// g ← g + weight_decay · p                              (Adam, if weight_decay ≠ 0)
/// m ← m + (1 − β₁)(g − m)                               (exp_avg)
/// v ← β₂ v + (1 − β₂) g²                                (exp_avg_sq)
/// v̂ ← max(v̂, v) if amsgrad, else v                      (max_exp_avg_sq)
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + eps)
/// ```
///
/// The AMSGrad maximum is of the uncorrected `v`, as PyTorch's code takes it (its documentation's
/// pseudo-code takes it after bias correction).
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::optim::{Adam, Optimizer};
/// use tapegrad::Tensor;
/// let mut params = Params::new();
/// let w = params.insert("w", Tensor::from_slice(&[1.0]));
/// let grads = vec![Some(Tensor::from_slice(&[0.5]))].into();
/// Adam::new(0.1).step(&mut params, &grads);
/// // The first step moves each element by about lr, whatever the gradient's size.
/// assert!((params[w].item() - 0.9).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    /// The settings; change them between steps as you like.
    pub config: AdamConfig,
    state: Slots,
}

/// The settings of [`Adam`], with PyTorch's names; [`Default`] is PyTorch's `Adam()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// The learning rate (1e-3).
    pub lr: f64,
    /// `(β₁, β₂)`, the decay rates of the moment estimates (0.9, 0.999).
    pub betas: (f64, f64),
    /// Added to the denominator for stability (1e-8).
    pub eps: f64,
    /// The weight decay: an L2 penalty on the gradient (Adam) or a shrinking of the weights
    /// (AdamW) (0).
    pub weight_decay: f64,
    /// Whether weight decay is decoupled from the gradient, AdamW (false).
    pub decoupled_weight_decay: bool,
    /// Whether to divide by the largest `v` so far, AMSGrad (false).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> AdamConfig {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            amsgrad: false,
        }
    }
}

impl Adam {
    /// Adam with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Adam {
        Adam::with(AdamConfig {
            lr,
            ..AdamConfig::default()
        })
    }

    /// AdamW with learning rate `lr` and PyTorch's other defaults (weight decay 1e-2).
    pub fn adamw(lr: f64) -> Adam {
        Adam::with(AdamConfig {
            lr,
            weight_decay: 1e-2,
            decoupled_weight_decay: true,
            ..AdamConfig::default()
        })
    }

    /// With these settings.
    ///
    /// ```
    /// use tapegrad::optim::{Adam, AdamConfig, Optimizer};
    /// let adam = Adam::with(AdamConfig { lr: 0.01, amsgrad: true, ..AdamConfig::default() });
    /// assert_eq!((adam.learning_rate(), adam.config.betas), (0.01, (0.9, 0.999)));
    /// ```
    pub fn with(config: AdamConfig) -> Adam {
        Adam {
            config,
            state: Slots::new("Adam", &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], false),
        }
    }
}

impl Optimizer for Adam {
    #[track_caller]
    fn step(&mut self, params: &mut Params, grads: &ParamGrads) {
        let AdamConfig {
            lr,
            betas: (beta1, beta2),
            eps,
            weight_decay,
            decoupled_weight_decay,
            amsgrad,
        } = self.config;
        let zeros = |grad: &Tensor| vec![Tensor::zeros(grad.shape()); 3];
        self.state
            .update_each(params, grads, zeros, |param, grad, slot| {
                let step = slot.step as f64;
                let step_size = lr / (1.0 - beta1.powf(step));
                let bias_correction2_sqrt = (1.0 - beta2.powf(step)).sqrt();
                let [exp_avg, exp_avg_sq, max_exp_avg_sq] = &mut slot.buffers[..] else {
                    unreachable!("three buffers")
                };
                let moments = exp_avg.data_mut().iter_mut().zip(exp_avg_sq.data_mut());
                let elements = param.data_mut().iter_mut().zip(grad.data());
                for ((p, &g), ((m, v), v_max)) in
                    elements.zip(moments.zip(max_exp_avg_sq.data_mut()))
                {
                    let g = if decoupled_weight_decay {
                        *p *= 1.0 - lr * weight_decay;
                        g
                    } else {
                        decayed(g, *p, weight_decay)
                    };
                    *m = lerp(*m, g, 1.0 - beta1);
                    *v = *v * beta2 + (1.0 - beta2) * g * g;
                    let v = if amsgrad {
                        *v_max = v_max.max(*v);
                        *v_max
                    } else {
                        *v
                    };
                    let denominator = v.sqrt() / bias_correction2_sqrt + eps;
                    *p += -step_size * *m / denominator;
                }
            });
    }

    // The learning rate in `config.lr`, the state in `state`: as every optimizer here.
    config_lr_and_state!();
}
