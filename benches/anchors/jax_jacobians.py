"""Issue 21's anchors in JAX: the Jacobian of tanh(tanh(x Wa) Wb) at x [1, 100] (Wa, Wb 100x100)
by jit(jacfwd) and jit(jacrev), and the 17x17 Hessian of the tutorial's summed objective at its
initial weights by jit(jax.hessian); f64, one thread, each compiled outside the timing.

Prints one line per measure, the median time of one call over REPEATS timed batches of CALLS
calls, in microseconds: `jax-jacfwd-us X`, `jax-jacrev-us X`, `jax-hessian-us X`.
Run through `benches/anchors/run.sh`, which pins it to one core beside tapegrad's runner.
"""

import sys
import time

import numpy as np

import jax
import jax.numpy as jnp

from tutorial_jax import objective, params  # the tutorial's data and weights; f64 on

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 5

rng = np.random.default_rng(21)
x = jnp.asarray(rng.standard_normal((1, 100)))
Wa = jnp.asarray(rng.standard_normal((100, 100)) * 0.1)
Wb = jnp.asarray(rng.standard_normal((100, 100)) * 0.1)


def layers(x):
    return jnp.tanh(jnp.tanh(x @ Wa) @ Wb)




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
