"""The moons pass in JAX, as issue 13's anchor: the tutorial's 200 points and 2-3-2 network at
its initial weights, summed cross-entropy + L2 (0.01), gradient descent at 0.01, the whole loop
of PASSES passes compiled into one `jit(lax.fori_loop)`, f64, one thread.

Prints the time per pass in microseconds, one line per repetition: `jax-moons-pass-us X`.
Run through `benches/anchors/run.sh`, which pins it to one core beside tapegrad's own loop.
"""

import os
import sys
import time

import numpy as np

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

HERE = os.path.dirname(os.path.abspath(__file__))
PASSES = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 1

# The same data as tapegrad's: NumPy's make_moons(200, noise=0.2) after np.random.seed(0),
# from the fixture tapegrad's tests check; the weights as the tutorial draws them.
data = np.loadtxt(os.path.join(HERE, "..", "..", "tests", "fixtures", "moons_seed0.csv"),
                  delimiter=",", skiprows=1)
X = jnp.asarray(data[:, :2])
y = jnp.asarray(data[:, 2].astype(np.int64))
np.random.seed(0)
W1 = np.random.randn(2, 3) / np.sqrt(2)
W2 = np.random.randn(3, 2) / np.sqrt(3)
params = (jnp.asarray(W1), jnp.zeros((1, 3)), jnp.asarray(W2), jnp.zeros((1, 2)))
LR, REG = 0.01, 0.01


def objective(params):
    w1, b1, w2, b2 = params
    logits = jnp.tanh(X @ w1 + b1) @ w2 + b2
    log_probs = jax.nn.log_softmax(logits, axis=1)
    data_loss = -jnp.sum(jnp.take_along_axis(log_probs, y[:, None], axis=1))
    return data_loss + REG / 2 * (jnp.sum(w1 * w1) + jnp.sum(w2 * w2))


gradient = jax.grad(objective)


def step(_, params):
    return tuple(p - LR * g for p, g in zip(params, gradient(params)))


train = jax.jit(lambda params: jax.lax.fori_loop(0, PASSES, step, params))
jax.block_until_ready(train(params))  # compile outside the timing
for _ in range(REPEATS):
    start = time.perf_counter()
    final = jax.block_until_ready(train(params))
    elapsed = time.perf_counter() - start
    print(f"jax-moons-pass-us {elapsed / PASSES * 1e6:.3f}")
print(f"jax-final-loss {float(objective(final)) / 200:.6f}", file=sys.stderr)
