"""Writes tests/fixtures/python_weights.safetensors with Python's own safetensors package, so that
tapegrad's test proves it reads what Python writes (names, shapes, f64 values, header order).

Run from the repository root with the pinned versions (`pip install -r scripts/requirements.txt`):
`python scripts/safetensors_fixture.py`. The output is committed; tests never run Python.
"""

import os

import numpy as np
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")

# A 2-3-2 network's parameters in torch.nn.Linear's names and layout ([out, in] weights, [out]
# biases; no layout version, as files from PyTorch have none), with values that are exact in
# binary and easy to state in the test: element k of a tensor is k + offset / 8, negated for the
# second layer. One value exercises f64 beyond f32.
tensors = {
    "fc1.weight": np.arange(6, dtype=np.float64).reshape(3, 2) + 1 / 8,
    "fc1.bias": np.arange(3, dtype=np.float64) + 2 / 8,
    "fc2.weight": -(np.arange(6, dtype=np.float64).reshape(2, 3) + 3 / 8),
    "fc2.bias": np.array([1e-300, 1.0 + 2.0**-52], dtype=np.float64),
}
save_file(tensors, os.path.join(OUT, "python_weights.safetensors"))
print("wrote", ", ".join(tensors))
