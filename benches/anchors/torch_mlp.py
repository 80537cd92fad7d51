"""The MLP step in PyTorch, as issue 13's anchor: tapegrad's `mlp-tape` workload (784-256-10,
tanh, batch 256, mean cross-entropy, SGD at 0.01) on the same data and initial weights, PyTorch
eager autograd, f64, one thread.

    python torch_mlp.py DIR [STEPS] [REPEATS] [WARMUP]

DIR holds what `BIN export-mlp DIR 5` wrote (BIN is the instruction-count runner, see run.sh):
the data and weights as raw little-endian f64 files and tapegrad's first losses. The script
first checks that its own first losses agree with tapegrad's (to 1e-12, relative), then, from
the initial weights each time, runs WARMUP untimed steps and times STEPS, and prints the time
per step in microseconds, one line per repetition: `torch-mlp-step-us X cpu-us Y` (Y: the
main thread's time on a CPU, which other processes on the core do not inflate; with one thread,
PyTorch computes on the main thread).
Run through `benches/anchors/run.sh`, which pins it to one core beside tapegrad's own step.
"""

import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

DIR = sys.argv[1]
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
REPEATS = int(sys.argv[3]) if len(sys.argv) > 3 else 1
WARMUP = int(sys.argv[4]) if len(sys.argv) > 4 else 10
LR = 0.01


def load(name, shape):
    values = np.fromfile(os.path.join(DIR, f"{name}.f64"), dtype="<f8")
    return torch.from_numpy(values.reshape(shape).copy())


x = load("x", (256, 784))
labels = load("labels", (256,)).to(torch.int64)
initial = [load("w1", (784, 256)), load("b1", (1, 256)), load("w2", (256, 10)), load("b2", (1, 10))]
expected = [float(line) for line in open(os.path.join(DIR, "losses.txt"))]


def fresh_params():
    return [p.clone().requires_grad_(True) for p in initial]


def step(params):
    """One SGD step as a PyTorch user writes it; returns the loss before the update."""
    w1, b1, w2, b2 = params
    logits = torch.tanh(x @ w1 + b1) @ w2 + b2
    loss = F.cross_entropy(logits, labels)  # mean over the batch, as tapegrad's Reduction::Mean
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= LR * p.grad
            p.grad = None
    return loss.detach()


params = fresh_params()
losses = [step(params).item() for _ in expected]
worst = max(abs(a - b) / abs(b) for a, b in zip(losses, expected))
print(f"torch-first-losses {' '.join(f'{v:.12f}' for v in losses)}", file=sys.stderr)
print(f"torch-vs-tapegrad-max-relative-difference {worst:.2e}", file=sys.stderr)
if worst > 1e-12:
    sys.exit(f"PyTorch's losses differ from tapegrad's by {worst:.2e} (relative): not the same step")

for _ in range(REPEATS):
    params = fresh_params()
    for _ in range(WARMUP):
        step(params)
    start, cpu_start = time.perf_counter(), time.thread_time()
    for _ in range(STEPS):
        step(params)
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
    print(f"torch-mlp-step-us {elapsed / STEPS * 1e6:.3f} cpu-us {cpu / STEPS * 1e6:.3f}")
