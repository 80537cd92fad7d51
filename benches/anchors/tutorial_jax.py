"""The tutorial's moons network in JAX, shared by the anchors: the same data as tapegrad's
(NumPy's make_moons(200, noise=0.2) after np.random.seed(0), from the fixture tapegrad's tests
check), the initial weights as the tutorial draws them, and its summed objective, f64."""

import os

import numpy as np

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

HERE = os.path.dirname(os.path.abspath(__file__))
data = np.loadtxt(os.path.join(HERE, "..", "..", "tests", "fixtures", "moons_seed0.csv"),
                  delimiter=",", skiprows=1)
X = jnp.asarray(data[:, :2])
y = jnp.asarray(data[:, 2].astype(np.int64))
np.random.seed(0)
W1 = np.random.randn(2, 3) / np.sqrt(2)
W2 = np.random.randn(3, 2) / np.sqrt(3)
params = (jnp.asarray(W1), jnp.zeros((1, 3)), jnp.asarray(W2), jnp.zeros((1, 2)))
REG = 0.01


def objective(params):
    """Σ_rows cross-entropy + REG/2 (|W1|² + |W2|²): the function the tutorial descends."""
    w1, b1, w2, b2 = params
    logits = jnp.tanh(X @ w1 + b1) @ w2 + b2
    log_probs = jax.nn.log_softmax(logits, axis=1)
    data_loss = -jnp.sum(jnp.take_along_axis(log_probs, y[:, None], axis=1))
    return data_loss + REG / 2 * (jnp.sum(w1 * w1) + jnp.sum(w2 * w2))
