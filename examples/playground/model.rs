//! The network a run trains: the tutorial's `build_model` with one hidden layer or two, any of
//! three activations, its objective on the tape, and what the page can ask to see of it (the
//! tape of one pass, the hand-derived gradients beside the tape's, the sharpness).

use tapegrad::nn::{Activation, Bound, ParamGrads, ParamId, Params};
use tapegrad::numpy_random::RandomState;
use tapegrad::ops::l2_penalty;
use tapegrad::tutorial::{TwoLayer, TwoLayerGradients};
use tapegrad::{Reduction, Tape, Tensor, Var, compare_gradients, hvp};

use crate::data::Data;
use crate::settings::Settings;

/// The weights W1, b1, W2, b2 (and W3, b3 with two hidden layers) and the function between
/// the layers.
pub struct Model {
    pub params: Params,
    /// W1, b1, W2, b2, …: the parameters in their order, as the objective takes them.
    pub ids: Vec<ParamId>,
    pub activation: Activation,
}

impl Model {
    /// The tutorial's initialisation, generalised to any depth: `np.random.seed(seed)`, then
    /// each `W = np.random.randn(fan_in, fan_out) / np.sqrt(fan_in)` in turn, biases zero. For
    /// one hidden layer it draws what `TwoLayer::numpy_init` draws.
    pub fn new(hidden: &[usize], classes: usize, activation: Activation, seed: u32) -> Model {
        let mut rng = RandomState::new(seed);
        let sizes: Vec<usize> = [2]
            .iter()
            .chain(hidden)
            .chain([&classes])
            .copied()
            .collect();
        let mut params = Params::new();
        let mut ids = Vec::with_capacity(2 * (sizes.len() - 1));
        for (layer, pair) in sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            // Divided, not multiplied by the reciprocal: NumPy's `/ np.sqrt(n)` to the last bit.
            let scale = (fan_in as f64).sqrt();
            let weight = rng.randn(&[fan_in, fan_out]).map(|w| w / scale);
            ids.push(params.insert(&format!("W{}", layer + 1), weight));
            ids.push(params.insert(&format!("b{}", layer + 1), Tensor::zeros(&[1, fan_out])));
        }
        Model {
            params,
            ids,
            activation,
        }
    }

    /// The network `settings` ask for, with one output per class of `data`.
    pub fn for_data(settings: &Settings, data: &Data) -> Model {
        let (hidden, activation) = (&settings.hidden, settings.activation());
        Model::new(hidden, data.classes, activation, settings.seed)
    }

    /// The parameters as variables, in their order, from a bound collection.
    pub fn vars<'t>(&self, bound: &Bound<'t>) -> Vec<Var<'t>> {
        self.ids.iter().map(|&id| bound[id]).collect()
    }

    /// The logits for `x`, on a tape that records no gradients.
    pub fn logits(&self, x: &Tensor) -> Tensor {
        let tape = Tape::no_grad();
        let weights = self.vars(&self.params.copied_to(&tape));
        logits(&weights, tape.constant(x.clone()), self.activation).value()
    }

    /// The loss the tutorial prints (its `calculate_loss`): the objective over N, with the
    /// penalty, whichever reduction the run descends.
    pub fn printed_loss(&self, data: &Data, l2: f64) -> f64 {
        let tape = Tape::no_grad();
        let weights = self.vars(&self.params.copied_to(&tape));
        let x = tape.constant(data.x.clone());
        objective(&weights, x, data, l2, Reduction::Mean, self.activation).item()
    }

    fn values(&self) -> Vec<Tensor> {
        self.ids.iter().map(|&id| self.params[id].clone()).collect()
    }

    /// The tape of one pass at the current weights, one node per line with its op, shape,
    /// value range, gradient norm and the line of code that recorded it.
    pub fn tape_of_one_pass(&self, data: &Data, l2: f64, reduction: Reduction) -> String {
        let tape = Tape::new();
        // Copied, not moved, so that the tape keeps their values to print.
        let weights = self.vars(&self.params.copied_to(&tape));
        let x = tape.constant(data.x.clone());
        let loss = objective(&weights, x, data, l2, reduction, self.activation);
        let gradients = loss.backward();
        tape.summary()
            .with_values()
            .with_gradients(&gradients)
            .to_string()
    }

    /// For the tutorial's network (one tanh layer): the tape's gradients of the summed
    /// objective beside those of the tutorial's hand-derived backprop, as a table, and whether
    /// they agree to 1e-10 relative.
    pub fn against_hand_gradients(&self, data: &Data, l2: f64) -> Option<(String, bool)> {
        let [w1, b1, w2, b2] = <[Tensor; 4]>::try_from(self.values()).ok()?;
        if self.activation != Activation::Tanh {
            return None;
        }
        let two_layer = TwoLayer { w1, b1, w2, b2 };
        let by_hand = two_layer.hand_gradients(&data.x, &data.labels, l2);
        let tape = Tape::new();
        let weights = self.vars(&self.params.copied_to(&tape));
        let x = tape.constant(data.x.clone());
        let loss = objective(&weights, x, data, l2, Reduction::Sum, self.activation);
        let params = [weights[0], weights[1], weights[2], weights[3]];
        let by_tape = TwoLayerGradients::from_tape(&loss.backward(), params);
        let report =
            compare_gradients(&by_tape.named(), &by_hand.named()).labelled("autodiff", "hand");
        Some((report.to_string(), report.agrees(1e-10)))
    }

    /// The parameters' shapes, in their order.
    pub fn shapes(&self) -> Vec<&[usize]> {
        self.ids.iter().map(|&id| self.params[id].shape()).collect()
    }

    /// The Hessian of the objective the run descends, at the current weights, times
    /// `direction`: one step of the sharpness's power iteration (`sharpness.rs`).
    pub fn hessian_times(
        &self,
        data: &Data,
        l2: f64,
        reduction: Reduction,
        direction: &[Tensor],
    ) -> Vec<Tensor> {
        hvp(&self.values(), direction, |weights| {
            let x = weights[0].tape().constant(data.x.clone());
            objective(weights, x, data, l2, reduction, self.activation)
        })
    }

    /// One pass of full-batch gradient descent on `tape` (cleared first, its memory reused):
    /// the objective's value before the step, and the gradients for the optimizer.
    pub fn gradients(
        &mut self,
        tape: &mut Tape,
        data: &Data,
        l2: f64,
        reduction: Reduction,
    ) -> (f64, ParamGrads) {
        tape.clear();
        let bound = self.params.on_tape(tape); // moved in, and back by `backward`
        let weights: Vec<Var<'_>> = self.ids.iter().map(|&id| bound[id]).collect();
        let x = tape.constant(data.x.clone());
        let loss = objective(&weights, x, data, l2, reduction, self.activation);
        (loss.item(), bound.backward(loss))
    }
}

/// The logits of points `x` from the weights W1, b1, W2, b2, …: `activation(x W + b)` per
/// hidden layer, then `x W + b`. For one tanh layer, `tutorial::logits` op for op. Written out
/// rather than `nn::Mlp::forward` so that each op's node on the tape names its own line.
fn logits<'t>(weights: &[Var<'t>], x: Var<'t>, activation: Activation) -> Var<'t> {
    let layers: Vec<(Var<'t>, Var<'t>)> = weights.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    let (&(w_out, b_out), hidden) = layers.split_last().expect("an output layer");
    let mut activations = x;
    for &(w, b) in hidden {
        let z = activations.matmul(w) + b;
        activations = activation.apply(z);
    }
    activations.matmul(w_out) + b_out
}

/// The tutorial's objective for any depth: the cross-entropy summed (its gradient is what the
/// tutorial derives) or averaged, plus `l2/2 Σ |W|²` over the weight matrices (over N too for
/// the mean). For one tanh layer, `tutorial::objective` op for op, so the page's tutorial run
/// prints the moons example's losses.
fn objective<'t>(
    weights: &[Var<'t>],
    x: Var<'t>,
    data: &Data,
    l2: f64,
    reduction: Reduction,
    activation: Activation,
) -> Var<'t> {
    let data_loss = logits(weights, x, activation).cross_entropy(&data.labels, reduction);
    if l2 == 0.0 {
        return data_loss; // no need to square the weights for nothing
    }
    let matrices: Vec<Var<'t>> = weights.iter().step_by(2).copied().collect();
    let penalty = l2_penalty(&matrices, l2 / 2.0);
    match reduction {
        Reduction::Sum => data_loss + penalty,
        Reduction::Mean => data_loss + penalty / data.labels.len() as f64,
    }
}
