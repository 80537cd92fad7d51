"""The moons pass in JAX, as issue 13's anchor: the tutorial's 200 points and 2-3-2 network at
its initial weights, summed cross-entropy + L2 (0.01), gradient descent at 0.01, the whole loop
of PASSES passes compiled into one `jit(lax.fori_loop)`, f64, one thread.

Prints the time per pass in microseconds, one line per repetition: `jax-moons-pass-us X`.
Run through `benches/anchors/run.sh`, which pins it to one core beside tapegrad's own loop.
"""

import sys
import time

import jax

from tutorial_jax import objective, params  # the tutorial's data and weights; f64 on

PASSES = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
LR = 0.01

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
