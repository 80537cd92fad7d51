//! The tutorial's network with its backprop derived by hand: the formulas that tapegrad's tape
//! must reproduce, written once, with plain [`Tensor`] math and the tutorial's names.
//!
//! The network: `z1 = x W1 + b1`, `a1 = tanh(z1)`, `z2 = a1 W2 + b2`, `ŷ = softmax(z2)`, and
//! the objective `Σ_rows cross-entropy(ŷ, y) + reg/2 (|W1|² + |W2|²)`.
//!
//! Two traps when holding these formulas against a framework's gradients:
//! - **Summed, not mean.** The formulas are the gradient of the *summed* loss above, which is `N`
//!   times the gradient of the mean loss the tutorial prints (`calculate_loss` divides by `N`).
//!   Compare them with the tape's gradients of [`Reduction::Sum`](crate::Reduction::Sum), or
//!   divide them by `N` for [`Reduction::Mean`](crate::Reduction::Mean) with the penalty also over `N`.
//! - **The shape of `db1`.** The tutorial computes `db1 = np.sum(delta2, axis=0)`, shape `(H,)`,
//!   while `b1` is `(1, H)`; numpy's broadcasting hides it in the update. Here `db1` is kept as
//!   `(1, H)`, the shape of `b1`, as `db2` is `(1, C)` in both.
//!
//! The softmax here is shifted by the row maximum (the tutorial's `exp(z) / Σ exp(z)` is not,
//! and overflows for logits near 710); the values are the same wherever the tutorial's are finite.

use rand::Rng;

use crate::Tensor;
use crate::tensor::shape_panic;

/// The tutorial's parameters, `W1 [D, H]`, `b1 [1, H]`, `W2 [H, C]`, `b2 [1, C]`, or gradients
/// with respect to them (the same shapes).
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

impl TwoLayer {
    /// The tutorial's initialisation: `W ~ N(0, 1) / √(fan-in)`, biases zero.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use tapegrad::manual::TwoLayer;
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

    /// The four tensors with the tutorial's names, for [`compare_gradients`](crate::compare_gradients).
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
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use tapegrad::manual::TwoLayer;
    /// use tapegrad::{Reduction, Tape, Tensor, compare_gradients};
    ///
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let (x, labels) = tapegrad::datasets::make_moons(20, 0.2, &mut rng);
    /// let model = TwoLayer::init(2, 3, 2, &mut rng);
    /// let by_hand = model.hand_gradients(&x, &labels, 0.01);
    ///
    /// let tape = Tape::new();
    /// let [w1, b1, w2, b2] = [&model.w1, &model.b1, &model.w2, &model.b2].map(|p| tape.var(p.clone()));
    /// let logits = (tape.constant(x).matmul(w1) + b1).tanh().matmul(w2) + b2;
    /// let loss = logits.cross_entropy(&labels, Reduction::Sum) + 0.005 * (w1.square().sum() + w2.square().sum());
    /// let grads = loss.backward();
    /// let by_tape = [("W1", grads.wrt(w1)), ("b1", grads.wrt(b1)), ("W2", grads.wrt(w2)), ("b2", grads.wrt(b2))];
    /// assert!(compare_gradients(&by_tape, &by_hand.named()).agrees(1e-12));
    /// ```
    #[track_caller]
    pub fn hand_gradients(&self, x: &Tensor, labels: &[usize], reg: f64) -> TwoLayer {
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
        let a1 = z1.map(f64::tanh);
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
        TwoLayer {
            w1: dw1,
            b1: db1,
            w2: dw2,
            b2: db2,
        }
    }

    /// The tutorial's update, `param += -epsilon * dparam`, for every parameter.
    pub fn descend(&mut self, gradients: &TwoLayer, learning_rate: f64) {
        self.w1.add_scaled(-learning_rate, &gradients.w1);
        self.b1.add_scaled(-learning_rate, &gradients.b1);
        self.w2.add_scaled(-learning_rate, &gradients.w2);
        self.b2.add_scaled(-learning_rate, &gradients.b2);
    }
}
