//! Layers: plain structs that add their parameters to a [`Params`] and keep the ids, with a
//! `forward` that reads them from a [`Bound`]. Nothing more is needed to train them.

use rand::Rng;

use super::init;
use super::params::{Bound, ParamId, Params};
use crate::Var;

/// `x W + b`, a fully connected layer, with `W` of shape `[in, out]` and `b` of `[1, out]`.
/// PyTorch: `torch.nn.Linear`, whose weight is stored transposed (`[out, in]`, `x Wᵀ`); this is
/// the tutorial's layout.
///
/// Initialised as PyTorch does: `W` and `b` uniform in `±1/√in` (its `kaiming_uniform_` with
/// `a = √5`, and the bias rule).
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use tapegrad::nn::{Linear, Params};
/// use tapegrad::{Tape, Tensor};
///
/// let mut params = Params::new();
/// let layer = Linear::new(&mut params, "fc", 2, 3, &mut StdRng::seed_from_u64(0));
/// assert_eq!(params.get("fc.weight").unwrap().shape(), &[2, 3]);
/// let tape = Tape::new();
/// let bound = params.on_tape(&tape);
/// let y = layer.forward(&bound, tape.constant(Tensor::zeros(&[5, 2])));
/// assert_eq!(y.shape().as_slice(), &[5, 3]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    /// `W`, `[in, out]`, named `NAME.weight`.
    pub weight: ParamId,
    /// `b`, `[1, out]`, named `NAME.bias`.
    pub bias: ParamId,
}

impl Linear {
    /// Adds `NAME.weight` and `NAME.bias` to `params`, with PyTorch's default initialisation.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        params: &mut Params,
        name: &str,
        in_features: usize,
        out_features: usize,
        rng: &mut R,
    ) -> Linear {
        // No inputs: PyTorch's bound is 0 then, not 1/√0.
        let bound = if in_features == 0 {
            0.0
        } else {
            1.0 / (in_features as f64).sqrt()
        };
        let weight = init::uniform(&[in_features, out_features], -bound, bound, rng);
        let bias = init::uniform(&[1, out_features], -bound, bound, rng);
        Linear {
            weight: params.insert(&format!("{name}.weight"), weight),
            bias: params.insert(&format!("{name}.bias"), bias),
        }
    }

    /// `x W + b` for `x` of shape `[batch, in]`.
    #[track_caller]
    pub fn forward<'t>(&self, params: &Bound<'t>, x: Var<'t>) -> Var<'t> {
        x.affine(params[self.weight], params[self.bias])
    }
}

/// The function between the layers of an [`Mlp`].
///
/// ```
/// use tapegrad::nn::Activation;
/// use tapegrad::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_slice(&[-2.0, 3.0]));
/// assert_eq!(Activation::LeakyRelu(0.1).apply(x).value().data(), &[-0.2, 3.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `tanh`, the tutorial's. PyTorch: `nn.Tanh`.
    Tanh,
    /// `max(x, 0)`. PyTorch: `nn.ReLU`.
    Relu,
    /// `x` above 0, the slope times `x` below. PyTorch: `nn.LeakyReLU(negative_slope)`.
    LeakyRelu(f64),
    /// The logistic function. PyTorch: `nn.Sigmoid`.
    Sigmoid,
}

impl Activation {
    /// The activation applied to `x`.
    #[track_caller]
    pub fn apply<'t>(self, x: Var<'t>) -> Var<'t> {
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(slope) => x.leaky_relu(slope),
            Activation::Sigmoid => x.sigmoid(),
        }
    }
}

/// A multilayer perceptron: [`Linear`] layers with an [`Activation`] between them and none
/// after the last, so it returns logits. PyTorch: `nn.Sequential(nn.Linear, act, …, nn.Linear)`.
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use tapegrad::nn::{Activation, Mlp, Params};
/// use tapegrad::{Reduction, Tape, Tensor};
///
/// let mut params = Params::new();
/// let model = Mlp::new(&mut params, "mlp", &[2, 16, 3], Activation::Relu, &mut StdRng::seed_from_u64(1));
/// assert_eq!(params.len(), 4); // mlp.0.weight, mlp.0.bias, mlp.1.weight, mlp.1.bias
/// let tape = Tape::new();
/// let bound = params.on_tape(&tape);
/// let logits = model.forward(&bound, tape.constant(Tensor::zeros(&[8, 2])));
/// let grads = bound.backward(logits.cross_entropy(&[0; 8], Reduction::Mean));
/// assert!(grads.iter().all(|g| g.is_some()));
/// ```
#[derive(Clone, Debug)]
pub struct Mlp {
    /// The layers, first to last, named `NAME.0`, `NAME.1`, ….
    pub layers: Vec<Linear>,
    /// The function between layers.
    pub activation: Activation,
}

impl Mlp {
    /// Layers of the given sizes (`sizes[0]` inputs, `sizes[last]` outputs), initialised as
    /// [`Linear`]; panics, naming the caller's line, with fewer than two sizes.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        params: &mut Params,
        name: &str,
        sizes: &[usize],
        activation: Activation,
        rng: &mut R,
    ) -> Mlp {
        if sizes.len() < 2 {
            panic!(
                "Mlp::new: sizes {sizes:?} need at least an input and an output size at {}",
                std::panic::Location::caller()
            );
        }
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(k, pair)| Linear::new(params, &format!("{name}.{k}"), pair[0], pair[1], rng))
            .collect();
        Mlp { layers, activation }
    }

    /// The logits for `x` of shape `[batch, sizes[0]]`.
    #[track_caller]
    pub fn forward<'t>(&self, params: &Bound<'t>, x: Var<'t>) -> Var<'t> {
        let (last, hidden) = self.layers.split_last().expect("at least one layer");
        let x = hidden.iter().fold(x, |x, layer| {
            self.activation.apply(layer.forward(params, x))
        });
        last.forward(params, x)
    }
}
