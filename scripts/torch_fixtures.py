"""Writes the PyTorch fixtures of tapegrad's weight interop test (tests/weights.rs), both ways:

- tests/fixtures/torch_mlp.safetensors: a 3-4-4-2 tanh network made by PyTorch
  (`torch.manual_seed(0)`, its default initialisation) and saved with `safetensors.torch.save_file`;
- tests/fixtures/torch_outputs.safetensors: the input, that network's outputs, and the outputs of
  tests/fixtures/tapegrad_mlp.safetensors (written by tapegrad, see tests/fixtures/README.md)
  loaded into the same architecture with `load_state_dict(..., strict=True)`.

Run from the repository root with the versions pinned in scripts/requirements-torch.txt
(`pip install -r scripts/requirements-torch.txt`): `python scripts/torch_fixtures.py`. The outputs
are committed; tests and CI never run Python. All in float64.
"""

import os

import torch
from safetensors.torch import load_file, save_file

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


class Net(torch.nn.Module):
    """tapegrad's `Mlp::new(&mut params, "mlp", &[3, 4, 4, 2], Activation::Tanh, ..)`."""

    def __init__(self):
        super().__init__()
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(3, 4),
            torch.nn.Tanh(),
            torch.nn.Linear(4, 4),  # square: a transposed file would load without a shape error
            torch.nn.Tanh(),
            torch.nn.Linear(4, 2),
        )

    def forward(self, x):
        return self.mlp(x)


def inputs():
    """Five rows of three exact binary fractions, the same formula as tests/weights.rs."""
    values = [((k * 5) % 11 - 5) / 4 for k in range(15)]
    return torch.tensor(values, dtype=torch.float64).reshape(5, 3)


def main():
    x = inputs()

    torch.manual_seed(0)
    made_here = Net().double()
    save_file(made_here.state_dict(), os.path.join(FIXTURES, "torch_mlp.safetensors"))

    from_tapegrad = Net().double()
    state = load_file(os.path.join(FIXTURES, "tapegrad_mlp.safetensors"))
    from_tapegrad.load_state_dict(state, strict=True)

    with torch.no_grad():
        outputs = {
            "input": x,
            "torch_mlp": made_here(x),
            "tapegrad_mlp": from_tapegrad(x),
        }
    metadata = {"written_by": "scripts/torch_fixtures.py, torch " + torch.__version__}
    save_file(outputs, os.path.join(FIXTURES, "torch_outputs.safetensors"), metadata=metadata)
    print("wrote torch_mlp.safetensors and torch_outputs.safetensors (torch", torch.__version__ + ")")


if __name__ == "__main__":
    main()
