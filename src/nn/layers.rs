//! Layers: plain structs that add their parameters to a [`Params`] and keep the ids, with a
//! `forward` that reads them from a [`Bound`]. Nothing more is needed to train them.

use rand::Rng;

use super::init;
use super::params::{Bound, Layout, ParamId, Params};
use crate::tensor::shape_panic;
use crate::{Tensor, Var};

/// `x W + b`, a fully connected layer, with `W` of shape `[in, out]` and `b` of `[1, out]`.
/// PyTorch: `torch.nn.Linear`, whose weight is held transposed (`[out, in]`, `x Wᵀ`); this is
/// the tutorial's layout in memory, and files hold PyTorch's (see [`Params::save`]), so that
/// `torch.nn.Linear` loads them as they are.
///
/// Initialised as PyTorch does: `W` and `b` uniform in `±1/√in` (its `kaiming_uniform_` with
/// `a = √5`, and the bias rule).
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
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
        Linear::insert(params, name, weight, bias)
    }

    /// Adds `NAME.weight` and `NAME.bias` with the given values: `weight` `[in, out]` (the
    /// tutorial's `W1`, NumPy's `X.dot(W1)`) and `bias` `[1, out]` or `[out]`. Panics, naming
    /// both shapes and the caller's line, if they do not fit together. For PyTorch's `[out, in]`
    /// weight, pass `weight.transpose()`.
    ///
    /// ```
    /// use tapegrad::nn::{Linear, Params};
    /// use tapegrad::{Tape, Tensor};
    /// let mut params = Params::new();
    /// let w = Tensor::from_rows(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]); // 2 inputs, 3 outputs
    /// let layer = Linear::from_weights(&mut params, "fc", w, Tensor::from_slice(&[0.5, 0.0, -0.5]));
    /// let tape = Tape::no_grad();
    /// let y = layer.forward(&params.copied_to(&tape), tape.constant(Tensor::from_rows(&[[1.0, 1.0]])));
    /// assert_eq!(y.value().data(), &[5.5, 7.0, 8.5]);
    /// ```
    #[track_caller]
    pub fn from_weights(params: &mut Params, name: &str, weight: Tensor, bias: Tensor) -> Linear {
        let out_features = match weight.shape() {
            &[_, out] => out,
            shape => shape_panic(
                "Linear::from_weights",
                format_args!("weight {shape:?} is not a 2-D [in, out] matrix"),
            ),
        };
        let bias = match bias.shape() {
            &[out] | &[1, out] if out == out_features => bias.reshape(&[1, out_features]),
            shape => shape_panic(
                "Linear::from_weights",
                format_args!(
                    "weight {:?} and bias {shape:?}: the bias needs [1, {out_features}] or [{out_features}]",
                    weight.shape()
                ),
            ),
        };
        Linear::insert(params, name, weight, bias)
    }

    #[track_caller]
    fn insert(params: &mut Params, name: &str, weight: Tensor, bias: Tensor) -> Linear {
        Linear {
            weight: params.insert_with_layout(
                &format!("{name}.weight"),
                weight,
                Layout::LinearWeight,
            ),
            bias: params.insert_with_layout(&format!("{name}.bias"), bias, Layout::LinearBias),
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
/// after the last, so it returns logits. PyTorch: `nn.Sequential(nn.Linear, act, …, nn.Linear)`,
/// and named as its parameters are: the activations count, so the layers are `NAME.0`,
/// `NAME.2`, `NAME.4`, …, and a saved `Mlp` named `mlp` loads into a module whose attribute
/// `mlp` is that `Sequential` (`load_state_dict(..., strict=True)`).
///
/// ```
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// use tapegrad::nn::{Activation, Mlp, Params};
/// use tapegrad::{Reduction, Tape, Tensor};
///
/// let mut params = Params::new();
/// let model = Mlp::new(&mut params, "mlp", &[2, 16, 3], Activation::Relu, &mut StdRng::seed_from_u64(1));
/// assert_eq!(params.len(), 4); // mlp.0.weight, mlp.0.bias, mlp.2.weight, mlp.2.bias
/// let tape = Tape::new();
/// let bound = params.on_tape(&tape);
/// let logits = model.forward(&bound, tape.constant(Tensor::zeros(&[8, 2])));
/// let grads = bound.backward(logits.cross_entropy(&[0; 8], Reduction::Mean));
/// assert!(grads.iter().all(|g| g.is_some()));
/// ```
#[derive(Clone, Debug)]
pub struct Mlp {
    /// The layers, first to last, named `NAME.0`, `NAME.2`, `NAME.4`, … (as in PyTorch's
    /// `Sequential`, where the activations between them take the odd numbers).
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
            .map(|(k, pair)| Linear::new(params, &layer_name(name, k), pair[0], pair[1], rng))
            .collect();
        Mlp { layers, activation }
    }

    /// Layers `NAME.0`, `NAME.2`, … with the given `(weight, bias)` pairs, each as
    /// [`Linear::from_weights`] takes them (`[in, out]`, `[1, out]` or `[out]`); panics, naming
    /// the shapes and the caller's line, if there are none or one layer's outputs are not the
    /// next one's inputs.
    ///
    /// ```
    /// use tapegrad::nn::{Activation, Mlp, Params};
    /// use tapegrad::Tensor;
    /// let mut params = Params::new();
    /// let layers = [
    ///     (Tensor::zeros(&[2, 3]), Tensor::zeros(&[1, 3])), // the tutorial's W1, b1
    ///     (Tensor::zeros(&[3, 2]), Tensor::zeros(&[1, 2])), // W2, b2
    /// ];
    /// let model = Mlp::from_weights(&mut params, "mlp", layers, Activation::Tanh);
    /// assert_eq!((model.layers.len(), params.get("mlp.2.weight").unwrap().shape()), (2, &[3, 2][..]));
    /// ```
    #[track_caller]
    pub fn from_weights(
        params: &mut Params,
        name: &str,
        layers: impl IntoIterator<Item = (Tensor, Tensor)>,
        activation: Activation,
    ) -> Mlp {
        let mut built: Vec<Linear> = Vec::new();
        for (k, (weight, bias)) in layers.into_iter().enumerate() {
            if let Some(previous) = built.last() {
                let outputs = params[previous.weight].shape()[1];
                if weight.shape().first() != Some(&outputs) {
                    shape_panic(
                        "Mlp::from_weights",
                        format_args!(
                            "layer {k}'s weight {:?} does not take layer {}'s {outputs} outputs",
                            weight.shape(),
                            k - 1
                        ),
                    );
                }
            }
            built.push(Linear::from_weights(
                params,
                &layer_name(name, k),
                weight,
                bias,
            ));
        }
        if built.is_empty() {
            shape_panic("Mlp::from_weights", format_args!("no layers"));
        }
        Mlp {
            layers: built,
            activation,
        }
    }

    /// The logits for `x` of shape `[batch, sizes[0]]`.
    #[track_caller]
    pub fn forward<'t>(&self, params: &Bound<'t>, x: Var<'t>) -> Var<'t> {
        let (last, hidden) = self.layers.split_last().expect("at least one layer");
        // A loop, not a fold: a closure would not pass the caller's line on to a shape error.
        let mut x = x;
        for layer in hidden {
            x = self.activation.apply(layer.forward(params, x));
        }
        last.forward(params, x)
    }
}

/// Layer `k`'s name: its index in PyTorch's `Sequential`, where activations sit between layers.
fn layer_name(name: &str, k: usize) -> String {
    format!("{name}.{}", 2 * k)
}
