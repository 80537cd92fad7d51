//! Initialisers with PyTorch's formulas and names (`torch.nn.init`). Weights here are `[in, out]`
//! (the transpose of PyTorch's `[out, in]`), so `fan_in` is `shape[0]` and `fan_out` is `shape[1]`.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use crate::Tensor;
use crate::tensor::{shape_len, shape_panic};

/// Elements uniform in `[low, high)`. PyTorch: `torch.nn.init.uniform_`.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// let w = tapegrad::nn::init::uniform(&[100], -0.5, 0.5, &mut StdRng::seed_from_u64(0));
/// assert!(w.data().iter().all(|&x| (-0.5..0.5).contains(&x)));
/// ```
#[track_caller]
pub fn uniform<R: Rng + ?Sized>(shape: &[usize], low: f64, high: f64, rng: &mut R) -> Tensor {
    shape_len("init::uniform", shape); // an overflowing shape is named as this call
    let mut tensor = Tensor::zeros(shape);
    for x in tensor.data_mut() {
        *x = low + (high - low) * rng.random::<f64>();
    }
    tensor
}

/// Elements normal with mean 0 and standard deviation `std`. PyTorch: `torch.nn.init.normal_`.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// let w = tapegrad::nn::init::normal(&[2, 2], 0.1, &mut StdRng::seed_from_u64(0));
/// assert_eq!(w.shape(), &[2, 2]);
/// ```
#[track_caller]
pub fn normal<R: Rng + ?Sized>(shape: &[usize], std: f64, rng: &mut R) -> Tensor {
    shape_len("init::normal", shape); // an overflowing shape is named as this call
    let mut tensor = Tensor::zeros(shape);
    for x in tensor.data_mut() {
        let z: f64 = StandardNormal.sample(rng);
        *x = std * z;
    }
    tensor
}

/// `(fan_in, fan_out)` of a `[in, out]` weight; panics, naming the shape, unless it is 2-D.
#[track_caller]
fn fans(shape: &[usize], init: &str) -> (f64, f64) {
    match shape {
        &[fan_in, fan_out] => (fan_in as f64, fan_out as f64),
        _ => shape_panic(
            init,
            format_args!("needs a 2-D [in, out] weight, got shape {shape:?}"),
        ),
    }
}

/// Glorot & Bengio's uniform: bound `gain · √(6 / (fan_in + fan_out))`. PyTorch:
/// `torch.nn.init.xavier_uniform_(w, gain)`.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// let w = tapegrad::nn::init::xavier_uniform(&[30, 20], 1.0, &mut StdRng::seed_from_u64(0));
/// let bound = (6.0f64 / 50.0).sqrt();
/// assert!(w.data().iter().all(|x| x.abs() <= bound));
/// ```
#[track_caller]
pub fn xavier_uniform<R: Rng + ?Sized>(shape: &[usize], gain: f64, rng: &mut R) -> Tensor {
    let (fan_in, fan_out) = fans(shape, "xavier_uniform");
    let bound = gain * (6.0 / (fan_in + fan_out)).sqrt();
    uniform(shape, -bound, bound, rng)
}

/// Glorot & Bengio's normal: standard deviation `gain · √(2 / (fan_in + fan_out))`. PyTorch:
/// `torch.nn.init.xavier_normal_(w, gain)`.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// let w = tapegrad::nn::init::xavier_normal(&[30, 20], 1.0, &mut StdRng::seed_from_u64(0));
/// assert_eq!(w.shape(), &[30, 20]);
/// ```
#[track_caller]
pub fn xavier_normal<R: Rng + ?Sized>(shape: &[usize], gain: f64, rng: &mut R) -> Tensor {
    let (fan_in, fan_out) = fans(shape, "xavier_normal");
    normal(shape, gain * (2.0 / (fan_in + fan_out)).sqrt(), rng)
}

/// He et al.'s uniform for the layer's inputs: bound `gain · √(3 / fan_in)`, with `gain = √2`
/// for a relu. PyTorch: `torch.nn.init.kaiming_uniform_(w, mode='fan_in')`, whose `gain` is
/// `calculate_gain(nonlinearity, a)`.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// let w = tapegrad::nn::init::kaiming_uniform(&[50, 10], 2f64.sqrt(), &mut StdRng::seed_from_u64(0));
/// assert!(w.data().iter().all(|x| x.abs() <= (6.0f64 / 50.0).sqrt()));
/// ```
#[track_caller]
pub fn kaiming_uniform<R: Rng + ?Sized>(shape: &[usize], gain: f64, rng: &mut R) -> Tensor {
    let (fan_in, _) = fans(shape, "kaiming_uniform");
    let bound = gain * (3.0 / fan_in).sqrt();
    uniform(shape, -bound, bound, rng)
}

/// He et al.'s normal for the layer's inputs: standard deviation `gain / √fan_in`. PyTorch:
/// `torch.nn.init.kaiming_normal_(w, mode='fan_in')`.
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// let w = tapegrad::nn::init::kaiming_normal(&[50, 10], 2f64.sqrt(), &mut StdRng::seed_from_u64(0));
/// assert_eq!(w.shape(), &[50, 10]);
/// ```
#[track_caller]
pub fn kaiming_normal<R: Rng + ?Sized>(shape: &[usize], gain: f64, rng: &mut R) -> Tensor {
    let (fan_in, _) = fans(shape, "kaiming_normal");
    normal(shape, gain / fan_in.sqrt(), rng)
}
