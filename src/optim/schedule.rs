//! Learning-rate schedules, in PyTorch's closed forms: the rate at an epoch from the initial one.

/// A learning rate as a function of the epoch (or step) count, from the initial rate.
/// Between epochs: `optimizer.set_learning_rate(schedule.learning_rate(base, epoch))`.
pub trait LrSchedule {
    /// The rate at `epoch` (0 for the first) for an initial rate `base`.
    fn learning_rate(&self, base: f64, epoch: usize) -> f64;
}

/// Multiplies the rate by `gamma` every `step_size` epochs. PyTorch: `torch.optim.lr_scheduler.StepLR`.
///
/// ```
/// use tapegrad::optim::{LrSchedule, StepLr};
/// let schedule = StepLr { step_size: 10, gamma: 0.5 };
/// assert_eq!(schedule.learning_rate(0.1, 9), 0.1);
/// assert_eq!(schedule.learning_rate(0.1, 25), 0.1 * 0.25);
/// assert_eq!(schedule.learning_rate(0.1, usize::MAX), 0.0); // decayed away, not wrapped
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLr {
    /// Epochs between decays.
    pub step_size: usize,
    /// The factor of each decay.
    pub gamma: f64,
}

impl LrSchedule for StepLr {
    fn learning_rate(&self, base: f64, epoch: usize) -> f64 {
        // PyTorch's `gamma ** k` is C's `pow`; an exponent in an `i32` would wrap past 2³¹ decays.
        base * self.gamma.powf((epoch / self.step_size.max(1)) as f64)
    }
}

/// Half a cosine from the initial rate down to `eta_min` over `t_max` epochs:
/// `eta_min + (base − eta_min)(1 + cos(π · epoch / t_max)) / 2`. PyTorch:
/// `torch.optim.lr_scheduler.CosineAnnealingLR`.
///
/// ```
/// use tapegrad::optim::{CosineAnnealingLr, LrSchedule};
/// let schedule = CosineAnnealingLr { t_max: 100, eta_min: 0.0 };
/// assert_eq!(schedule.learning_rate(0.1, 0), 0.1);
/// assert!((schedule.learning_rate(0.1, 50) - 0.05).abs() < 1e-15);
/// assert_eq!(schedule.learning_rate(0.1, 100), 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealingLr {
    /// The epochs of the half cosine.
    pub t_max: usize,
    /// The rate it ends at.
    pub eta_min: f64,
}

impl LrSchedule for CosineAnnealingLr {
    fn learning_rate(&self, base: f64, epoch: usize) -> f64 {
        let phase = std::f64::consts::PI * epoch as f64 / self.t_max.max(1) as f64;
        self.eta_min + (base - self.eta_min) * (1.0 + phase.cos()) / 2.0
    }
}
