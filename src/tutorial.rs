//! The network of "Implementing a neural network from scratch in Python", in one place: its
//! parameters and NumPy initialisation ([`TwoLayer`]), its objective on the tape ([`objective`],
//! shared by the moons example, the tests and the benches), and its backprop derived by hand
//! ([`TwoLayer::hand_gradients`]), the formulas that the tape must reproduce, written once with
//! plain [`Tensor`] math and the tutorial's names.
//!
//! The network: `z1 = x W1 + b1`, `a1 = tanh(z1)`, `z2 = a1 W2 + b2`, `ŷ = softmax(z2)`, and
//! the objective `Σ_rows cross-entropy(ŷ, y) + reg/2 (|W1|² + |W2|²)`.
//!
//! Two traps when holding these formulas against a framework's gradients:
//! - **Summed, not mean.** The formulas are the gradient of the *summed* loss above, which is `N`
//!   times the gradient of the mean loss the tutorial prints (`calculate_loss` divides by `N`).
//!   Compare them with the tape's gradients of [`Reduction::Sum`], or
//!   divide them by `N` for [`Reduction::Mean`] with the penalty also over `N`.
//! - **The shape of `db1`.** The tutorial computes `db1 = np.sum(delta2, axis=0)`, shape `(H,)`,
//!   while `b1` is `(1, H)`; numpy's broadcasting hides it in the update. Here `db1` is kept as
//!   `(1, H)`, the shape of `b1`, as `db2` is `(1, C)` in both.
//!
//! The softmax here is shifted by the row maximum (the tutorial's `exp(z) / Σ exp(z)` is not,
//! and overflows for logits near 710); the values are the same wherever the tutorial's are finite.

use rand::Rng;

use crate::numpy_random::RandomState;
use crate::tensor::shape_panic;
use crate::{Reduction, Tape, Tensor, Var, ops::l2_penalty};

/// `z2 = tanh(x W1 + b1) W2 + b2`, the logits whose softmax is the tutorial's `ŷ`, on the tape
/// (PyTorch: `nn.Sequential(nn.Linear, nn.Tanh, nn.Linear)`).
///
/// ```
/// use tapegrad::tutorial::{TwoLayer, logits};
/// use tapegrad::{Tape, Tensor};
///
/// let model = TwoLayer::tutorial_init(3, 2);
/// let tape = Tape::new();
/// let z2 = logits(tape.constant(Tensor::zeros(&[5, 2])), model.on_tape(&tape));
/// assert!(z2.value().data().iter().all(|&v| v == 0.0)); // zero input, zero biases
/// ```
pub fn logits<'t>(x: Var<'t>, [w1, b1, w2, b2]: [Var<'t>; 4]) -> Var<'t> {
    let z1 = x.affine(w1, b1); // x W1 + b1
    let a1 = z1.tanh();
    a1.affine(w2, b2) // a1 W2 + b2
}

/// The tutorial's objective on the tape: with [`Reduction::Sum`], `Σ_rows cross-entropy +
/// reg/2 (|W1|² + |W2|²)`, the function whose gradient its update descends and
/// [`TwoLayer::hand_gradients`] derives; with [`Reduction::Mean`], that divided by `N`, the loss
/// its `calculate_loss` prints (PyTorch: `F.cross_entropy(z2, y, reduction=...)` plus the
/// penalty).
///
/// ```
/// use tapegrad::tutorial::{TwoLayer, objective};
/// use tapegrad::{Reduction, Tape, Tensor};
///
/// let model = TwoLayer::tutorial_init(3, 2);
/// let x = Tensor::from_rows(&[[0.5, 1.0], [-1.0, 0.2]]);
/// let tape = Tape::new();
/// let summed = objective(tape.constant(x.clone()), &[0, 1], model.on_tape(&tape), 0.01, Reduction::Sum);
/// let mean = objective(tape.constant(x), &[0, 1], model.on_tape(&tape), 0.01, Reduction::Mean);
/// assert!((summed.item() / 2.0 - mean.item()).abs() < 1e-15);
/// ```
pub fn objective<'t>(
    x: Var<'t>,
    labels: &[usize],
    params: [Var<'t>; 4],
    reg: f64,
    reduction: Reduction,
) -> Var<'t> {
    let data_loss = logits(x, params).cross_entropy(labels, reduction);
    if reg == 0.0 {
        return data_loss; // no need to square the weights for nothing
    }
    let [w1, _, w2, _] = params;
    let penalty = l2_penalty(&[w1, w2], reg / 2.0); // reg/2 (|W1|² + |W2|²), one node
    match reduction {
        Reduction::Sum => data_loss + penalty,
        Reduction::Mean => data_loss + penalty / labels.len() as f64,
    }
}

/// The tutorial's parameters, `W1 [D, H]`, `b1 [1, H]`, `W2 [H, C]`, `b2 [1, C]` (PyTorch: the
/// weights and biases of two `nn.Linear` layers, stored transposed).
#[derive(Clone, Debug, PartialEq)]
pub struct TwoLayer {
    /// First-layer weights, `[inputs, hidden]`.
    pub w1: Tensor,
    /// First-layer bias, `[1, hidden]`.
    pub b1: Tensor,
    /// Second-layer weights, `[hidden, classes]`.
    pub w2: Tensor,
    /// Second-layer bias, `[1, classes]`.
    pub b2: Tensor,
}

/// The gradients of an objective with respect to each of [`TwoLayer`]'s parameters, with the
/// parameters' shapes: `w1` holds `dW1`, and so on (the tutorial's `dW1, db1, dW2, db2`; PyTorch:
/// each parameter's `.grad`).
///
/// ```
/// use tapegrad::tutorial::TwoLayer;
/// use tapegrad::Tensor;
///
/// let x = Tensor::from_rows(&[[0.5, 1.0]]);
/// let gradients = TwoLayer::tutorial_init(3, 2).hand_gradients(&x, &[1], 0.0);
/// assert_eq!(gradients.w2.shape(), &[3, 2]); // dW2 has W2's shape
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TwoLayerGradients {
    /// `dW1`, `[inputs, hidden]`.
    pub w1: Tensor,
    /// `db1`, `[1, hidden]`.
    pub b1: Tensor,
    /// `dW2`, `[hidden, classes]`.
    pub w2: Tensor,
    /// `db2`, `[1, classes]`.
    pub b2: Tensor,
}

impl TwoLayerGradients {
    /// The four gradients named after their parameters, for
    /// [`compare_gradients`](crate::compare_gradients).
    ///
    /// ```
    /// use tapegrad::tutorial::TwoLayer;
    /// use tapegrad::Tensor;
    ///
    /// let x = Tensor::from_rows(&[[0.5, 1.0]]);
    /// let gradients = TwoLayer::tutorial_init(3, 2).hand_gradients(&x, &[1], 0.0);
    /// assert_eq!(gradients.named().map(|(name, _)| name), ["W1", "b1", "W2", "b2"]);
    /// ```
    pub fn named(&self) -> [(&'static str, &Tensor); 4] {
        [
            ("W1", &self.w1),
            ("b1", &self.b1),
            ("W2", &self.w2),
            ("b2", &self.b2),
        ]
    }

    /// The tape's gradients of a loss with respect to the parameters put on it by
    /// [`TwoLayer::on_tape`].
    ///
    /// ```
    /// use tapegrad::tutorial::{TwoLayer, TwoLayerGradients, objective};
    /// use tapegrad::{Reduction, Tape, Tensor};
    ///
    /// let model = TwoLayer::tutorial_init(3, 2);
    /// let tape = Tape::new();
    /// let params = model.on_tape(&tape);
    /// let x = tape.constant(Tensor::from_rows(&[[0.5, 1.0]]));
    /// let loss = objective(x, &[1], params, 0.01, Reduction::Sum);
    /// let gradients = TwoLayerGradients::from_tape(&loss.backward(), params);
    /// assert_eq!(gradients.b1.shape(), &[1, 3]);
    /// ```
    pub fn from_tape(gradients: &crate::Gradients, params: [Var<'_>; 4]) -> TwoLayerGradients {
        let [w1, b1, w2, b2] = params.map(|param| gradients.wrt(param).clone());
        TwoLayerGradients { w1, b1, w2, b2 }
    }
}

impl TwoLayer {
    /// The tutorial's initial weights, from NumPy's stream exactly: its `build_model` does
    /// `np.random.seed(0)`, `W1 = np.random.randn(2, H) / np.sqrt(2)`, `b1 = 0`,
    /// `W2 = np.random.randn(H, C) / np.sqrt(H)`, `b2 = 0`.
    ///
    /// ```
    /// use tapegrad::tutorial::TwoLayer;
    ///
    /// let model = TwoLayer::tutorial_init(3, 2);
    /// assert_eq!(model.w1.data()[0], 1.2473733762017727); // NumPy's value
    /// assert_eq!(model.b2, tapegrad::Tensor::zeros(&[1, 2]));
    /// ```
    pub fn tutorial_init(hidden: usize, classes: usize) -> TwoLayer {
        TwoLayer::numpy_init(2, hidden, classes, &mut RandomState::new(0))
    }

    /// `W ~ N(0, 1) / √(fan-in)`, biases zero, drawn as NumPy's
    /// `np.random.randn(inputs, hidden) / np.sqrt(inputs)` and then
    /// `np.random.randn(hidden, classes) / np.sqrt(hidden)` draw them from `rng`.
    ///
    /// ```
    /// use tapegrad::numpy_random::RandomState;
    /// use tapegrad::tutorial::TwoLayer;
    ///
    /// let model = TwoLayer::numpy_init(2, 3, 2, &mut RandomState::new(0));
    /// assert_eq!(model, TwoLayer::tutorial_init(3, 2));
    /// ```
    pub fn numpy_init(
        inputs: usize,
        hidden: usize,
        classes: usize,
        rng: &mut RandomState,
    ) -> TwoLayer {
        // Divided, not multiplied by the reciprocal: NumPy's `/ np.sqrt(n)` to the last bit.
        let (w1_scale, w2_scale) = ((inputs as f64).sqrt(), (hidden as f64).sqrt());
        TwoLayer {
            w1: rng.randn(&[inputs, hidden]).map(|w| w / w1_scale),
            b1: Tensor::zeros(&[1, hidden]),
            w2: rng.randn(&[hidden, classes]).map(|w| w / w2_scale),
            b2: Tensor::zeros(&[1, classes]),
        }
    }

    /// The same initialisation from any `rand` generator, with `rand`'s normal distribution.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use tapegrad::tutorial::TwoLayer;
    ///
    /// let model = TwoLayer::init(2, 3, 2, &mut StdRng::seed_from_u64(0));
    /// assert_eq!((model.w1.shape(), model.b2.shape()), (&[2, 3][..], &[1, 2][..]));
    /// ```
    pub fn init<R: Rng + ?Sized>(
        inputs: usize,
        hidden: usize,
        classes: usize,
        rng: &mut R,
    ) -> TwoLayer {
        TwoLayer {
            w1: &Tensor::randn(&[inputs, hidden], rng) / (inputs as f64).sqrt(),
            b1: Tensor::zeros(&[1, hidden]),
            w2: &Tensor::randn(&[hidden, classes], rng) / (hidden as f64).sqrt(),
            b2: Tensor::zeros(&[1, classes]),
        }
    }

    /// The four parameters as variables on `tape`, in the order W1, b1, W2, b2.
    ///
    /// ```
    /// use tapegrad::Tape;
    /// use tapegrad::tutorial::TwoLayer;
    ///
    /// let tape = Tape::new();
    /// let [w1, _, _, b2] = TwoLayer::tutorial_init(3, 2).on_tape(&tape);
    /// assert_eq!((w1.value().shape(), b2.value().shape()), (&[2, 3][..], &[1, 2][..]));
    /// ```
    pub fn on_tape<'t>(&self, tape: &'t Tape) -> [Var<'t>; 4] {
        [&self.w1, &self.b1, &self.w2, &self.b2].map(|param| tape.var(param.clone()))
    }

    /// The four tensors with the tutorial's names, for [`compare_gradients`](crate::compare_gradients).
    ///
    /// ```
    /// use tapegrad::tutorial::TwoLayer;
    ///
    /// let model = TwoLayer::tutorial_init(3, 2);
    /// assert_eq!(model.named()[2].0, "W2");
    /// ```
    pub fn named(&self) -> [(&'static str, &Tensor); 4] {
        [
            ("W1", &self.w1),
            ("b1", &self.b1),
            ("W2", &self.w2),
            ("b2", &self.b2),
        ]
    }

    /// The tutorial's gradients of `Σ cross-entropy + reg/2 (|W1|² + |W2|²)` at these parameters,
    /// for points `x [N, D]` with one class label per row: its backprop, line by line.
    ///
    /// ```
    /// use tapegrad::datasets::make_moons_numpy;
    /// use tapegrad::numpy_random::RandomState;
    /// use tapegrad::tutorial::{TwoLayer, TwoLayerGradients, objective};
    /// use tapegrad::{Reduction, Tape, compare_gradients};
    ///
    /// let (x, labels) = make_moons_numpy(20, 0.2, &mut RandomState::new(0));
    /// let model = TwoLayer::tutorial_init(3, 2);
    /// let by_hand = model.hand_gradients(&x, &labels, 0.01);
    ///
    /// let tape = Tape::new();
    /// let params = model.on_tape(&tape);
    /// let loss = objective(tape.constant(x), &labels, params, 0.01, Reduction::Sum);
    /// let by_tape = TwoLayerGradients::from_tape(&loss.backward(), params);
    /// assert!(compare_gradients(&by_tape.named(), &by_hand.named()).agrees(1e-12));
    /// ```
    #[track_caller]
    pub fn hand_gradients(&self, x: &Tensor, labels: &[usize], reg: f64) -> TwoLayerGradients {
        let (rows, classes) = (x.shape()[0], self.w2.shape()[1]);
        if labels.len() != rows || labels.iter().any(|&label| label >= classes) {
            shape_panic(
                "hand_gradients",
                format_args!(
                    "need one label below {classes} for each of the {rows} rows, got {} labels",
                    labels.len()
                ),
            );
        }
        // Forward propagation
        let z1 = &x.matmul(&self.w1) + &self.b1;
        let a1 = z1.tanh(); // the same tanh as the tape's, so the two can agree to the last bit
        let z2 = &a1.matmul(&self.w2) + &self.b2;
        let probs = z2.softmax(1);
        // Backpropagation
        let mut delta3 = probs; // ŷ − y, y one-hot
        let classes = delta3.shape()[1];
        for (row, &label) in labels.iter().enumerate() {
            delta3.data_mut()[row * classes + label] -= 1.0;
        }
        let mut dw2 = a1.t_matmul(&delta3); // a1ᵀ δ3
        let db2 = delta3.sum_axis(0, true); // Σ_rows δ3, (1, C)
        let delta2 = &delta3.matmul_t(&self.w2) * &a1.map(|a| 1.0 - a * a); // δ3 W2ᵀ ⊙ (1 − a1²)
        let mut dw1 = x.t_matmul(&delta2); // xᵀ δ2
        let db1 = delta2.sum_axis(0, true); // Σ_rows δ2, (1, H) where the tutorial's is (H,)
        // Regularization terms (biases are not regularized)
        dw2.add_scaled(reg, &self.w2);
        dw1.add_scaled(reg, &self.w1);
        TwoLayerGradients {
            w1: dw1,
            b1: db1,
            w2: dw2,
            b2: db2,
        }
    }

    /// The tutorial's update, `param += -epsilon * dparam`, for every parameter (PyTorch:
    /// `torch.optim.SGD(params, lr).step()`).
    ///
    /// ```
    /// use tapegrad::tutorial::TwoLayer;
    /// use tapegrad::Tensor;
    ///
    /// let mut model = TwoLayer::tutorial_init(3, 2);
    /// let x = Tensor::from_rows(&[[0.5, 1.0]]);
    /// let gradients = model.hand_gradients(&x, &[1], 0.0);
    /// model.descend(&gradients, 0.01);
    /// assert_eq!(model.b2.data()[1], -0.01 * gradients.b2.data()[1]);
    /// ```
    pub fn descend(&mut self, gradients: &TwoLayerGradients, learning_rate: f64) {
        self.w1.add_scaled(-learning_rate, &gradients.w1);
        self.b1.add_scaled(-learning_rate, &gradients.b1);
        self.w2.add_scaled(-learning_rate, &gradients.w2);
        self.b2.add_scaled(-learning_rate, &gradients.b2);
    }

    /// One pass of the tutorial's training with the tape in place of its hand formulas: the
    /// gradients of the summed [`objective`] on `tape` (cleared first, so its memory is reused),
    /// then [`descend`](TwoLayer::descend).
    ///
    /// ```
    /// use tapegrad::tutorial::TwoLayer;
    /// use tapegrad::{Tape, Tensor};
    /// let x = Tensor::from_rows(&[[0.5, 1.0], [-1.0, 0.2]]);
    /// let mut model = TwoLayer::tutorial_init(3, 2);
    /// let before = model.printed_loss(&x, &[0, 1], 0.01);
    /// let mut tape = Tape::new();
    /// for _ in 0..10 {
    ///     model.descend_by_tape(&mut tape, &x, &[0, 1], 0.01, 0.01);
    /// }
    /// assert!(model.printed_loss(&x, &[0, 1], 0.01) < before);
    /// ```
    pub fn descend_by_tape(
        &mut self,
        tape: &mut Tape,
        x: &Tensor,
        labels: &[usize],
        reg: f64,
        learning_rate: f64,
    ) {
        tape.clear();
        let params = self.on_tape(tape);
        let loss = objective(
            tape.constant(x.clone()),
            labels,
            params,
            reg,
            Reduction::Sum,
        );
        let gradients = TwoLayerGradients::from_tape(&loss.backward(), params);
        self.descend(&gradients, learning_rate);
    }

    /// The loss the tutorial prints (its `calculate_loss`): the [`objective`] with
    /// [`Reduction::Mean`], evaluated on a tape that records no ops.
    ///
    /// ```
    /// use tapegrad::tutorial::TwoLayer;
    /// use tapegrad::Tensor;
    /// let x = Tensor::from_rows(&[[0.0, 0.0]]);
    /// // Zero input, zero biases: equal logits, so ln 2, plus the penalty over one point.
    /// let model = TwoLayer::tutorial_init(3, 2);
    /// let penalty = 0.01 / 2.0 * (model.w1.data().iter().chain(model.w2.data()).map(|w| w * w).sum::<f64>());
    /// assert!((model.printed_loss(&x, &[0], 0.01) - (2f64.ln() + penalty)).abs() < 1e-15);
    /// ```
    pub fn printed_loss(&self, x: &Tensor, labels: &[usize], reg: f64) -> f64 {
        let tape = Tape::no_grad();
        let data = tape.constant(x.clone());
        objective(data, labels, self.on_tape(&tape), reg, Reduction::Mean).item()
    }
}
