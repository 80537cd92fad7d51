"""Issue 21's anchors in JAX: the Jacobian of tanh(tanh(x Wa) Wb) at x [1, 100] (Wa, Wb 100x100)
by jit(jacfwd) and jit(jacrev), and the 17x17 Hessian of the tutorial's summed objective at its
initial weights by jit(jax.hessian); f64, one thread, each compiled outside the timing.

Prints one line per measure, the median time of one call over REPEATS timed batches of CALLS
calls, in microseconds: `jax-jacfwd-us X`, `jax-jacrev-us X`, `jax-hessian-us X`.
Run through `benches/anchors/run.sh`, which pins it to one core beside tapegrad's runner.
"""

import os
import sys
import time

import numpy as np

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 5

rng = np.random.default_rng(21)
x = jnp.asarray(rng.standard_normal((1, 100)))
Wa = jnp.asarray(rng.standard_normal((100, 100)) * 0.1)
Wb = jnp.asarray(rng.standard_normal((100, 100)) * 0.1)


def layers(x):
    return jnp.tanh(jnp.tanh(x @ Wa) @ Wb)


# The tutorial's data and initial weights, as jax_moons.py draws them.
data = np.loadtxt(os.path.join(HERE, "..", "..", "tests", "fixtures", "moons_seed0.csv"),
                  delimiter=",", skiprows=1)
X = jnp.asarray(data[:, :2])
y = jnp.asarray(data[:, 2].astype(np.int64))
np.random.seed(0)
W1 = np.random.randn(2, 3) / np.sqrt(2)
W2 = np.random.randn(3, 2) / np.sqrt(3)
params = (jnp.asarray(W1), jnp.zeros((1, 3)), jnp.asarray(W2), jnp.zeros((1, 2)))


def objective(params):
    w1, b1, w2, b2 = params
    logits = jnp.tanh(X @ w1 + b1) @ w2 + b2
    log_probs = jax.nn.log_softmax(logits, axis=1)
    data_loss = -jnp.sum(jnp.take_along_axis(log_probs, y[:, None], axis=1))
    return data_loss + 0.01 / 2 * (jnp.sum(w1 * w1) + jnp.sum(w2 * w2))


def timed(name, fn, arg):
    jax.block_until_ready(fn(arg))  # compile outside the timing
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(CALLS):
            out = fn(arg)
        jax.block_until_ready(out)
        times.append((time.perf_counter() - start) / CALLS * 1e6)
    print(f"jax-{name}-us {sorted(times)[len(times) // 2]:.3f}")


timed("jacfwd", jax.jit(jax.jacfwd(layers)), x)
timed("jacrev", jax.jit(jax.jacrev(layers)), x)
timed("hessian", jax.jit(jax.hessian(objective)), params)
