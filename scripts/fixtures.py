"""Writes the NumPy and scikit-learn reference values that tapegrad's tests read.

Run once with the pinned versions (`pip install -r scripts/requirements.txt`), from the
repository root: `python scripts/fixtures.py`. The outputs in `tests/fixtures/` are committed;
tests and CI never run Python. Floats are written with `repr`, which round-trips exactly.
"""

import os

import numpy as np
import sklearn
import sklearn.datasets

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
HIDDEN_SIZES = [1, 2, 3, 4, 5, 20, 50]


def line(name, values):
    return name + ": " + " ".join(repr(v) for v in values) + "\n"


def header(what):
    return "# {} (numpy {}, scikit-learn {}; written by scripts/fixtures.py)\n".format(
        what, np.__version__, sklearn.__version__
    )


def random_state_values(seed):
    """Each line from a freshly seeded RandomState, as np.random.seed(seed) leaves it."""
    text = header("np.random.RandomState({}) draws".format(seed))
    # The raw 32-bit stream. Not np.random.MT19937(seed): that one seeds differently.
    raw = np.random.RandomState(seed).randint(0, 2**32, size=20, dtype=np.uint32)
    text += line("raw_u32", [int(v) for v in raw])
    text += line("random_sample", [float(v) for v in np.random.RandomState(seed).random_sample(10)])
    text += line("randn", [float(v) for v in np.random.RandomState(seed).randn(10)])
    text += line("permutation_10", [int(v) for v in np.random.RandomState(seed).permutation(10)])
    # Bounded integers by masked rejection: a range that is not a power of two rejects draws.
    text += line("randint_0_10", [int(v) for v in np.random.RandomState(seed).randint(0, 10, size=20)])
    # A range wider than 32 bits: 64-bit draws, NumPy's first 32-bit output in the high half.
    text += line("randint_0_2pow40", [int(v) for v in np.random.RandomState(seed).randint(0, 2**40, size=5)])
    text += line("normal_1_0.5", [float(v) for v in np.random.RandomState(seed).normal(1.0, 0.5, size=5)])
    return text


def moons(seed):
    np.random.seed(seed)
    x, y = sklearn.datasets.make_moons(200, noise=0.20)
    # Read by tapegrad's own CSV reader; where it came from is in tests/fixtures/README.md.
    text = "x1,x2,label\n"
    for (x1, x2), label in zip(x, y):
        text += "{!r},{!r},{}\n".format(float(x1), float(x2), int(label))
    return text, x, y


def tutorial_init(hidden):
    """build_model's initialisation, as the tutorial writes it."""
    np.random.seed(0)
    nn_input_dim, nn_output_dim = 2, 2
    W1 = np.random.randn(nn_input_dim, hidden) / np.sqrt(nn_input_dim)
    b1 = np.zeros((1, hidden))
    W2 = np.random.randn(hidden, nn_output_dim) / np.sqrt(hidden)
    b2 = np.zeros((1, nn_output_dim))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def calculate_loss(model, X, y, reg_lambda):
    """The tutorial's calculate_loss, line for line."""
    num_examples = len(X)
    W1, b1, W2, b2 = model["W1"], model["b1"], model["W2"], model["b2"]
    z1 = X.dot(W1) + b1
    a1 = np.tanh(z1)
    z2 = a1.dot(W2) + b2
    exp_scores = np.exp(z2)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    corect_logprobs = -np.log(probs[range(num_examples), y])
    data_loss = np.sum(corect_logprobs)
    data_loss += reg_lambda / 2 * (np.sum(np.square(W1)) + np.sum(np.square(W2)))
    return 1.0 / num_examples * data_loss


def tutorial_losses(X, y, hidden, num_passes=20000, epsilon=0.01, reg_lambda=0.01):
    """The tutorial's build_model loop; returns (i, calculate_loss) where it prints them."""
    model = tutorial_init(hidden)
    W1, b1, W2, b2 = model["W1"], model["b1"], model["W2"], model["b2"]
    printed = []
    for i in range(0, num_passes):
        z1 = X.dot(W1) + b1
        a1 = np.tanh(z1)
        z2 = a1.dot(W2) + b2
        exp_scores = np.exp(z2)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        delta3 = probs
        delta3[range(len(X)), y] -= 1
        dW2 = (a1.T).dot(delta3)
        db2 = np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
        dW1 = np.dot(X.T, delta2)
        db1 = np.sum(delta2, axis=0)
        dW2 += reg_lambda * W2
        dW1 += reg_lambda * W1
        W1 += -epsilon * dW1
        b1 += -epsilon * db1
        W2 += -epsilon * dW2
        b2 += -epsilon * db2
        model = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        if i % 1000 == 0:
            printed.append((i, calculate_loss(model, X, y, reg_lambda)))
    return printed


def main():
    os.makedirs(OUT, exist_ok=True)
    for seed in (0, 3):
        with open(os.path.join(OUT, "random_state_seed{}.txt".format(seed)), "w") as f:
            f.write(random_state_values(seed))
        text, x, y = moons(seed)
        with open(os.path.join(OUT, "moons_seed{}.csv".format(seed)), "w") as f:
            f.write(text)
        if seed == 0:
            tutorial_x, tutorial_y = x, y

    text = header("the tutorial's initial weights: np.random.seed(0), randn(2, H) / sqrt(2), randn(H, 2) / sqrt(H)")
    for hidden in HIDDEN_SIZES:
        model = tutorial_init(hidden)
        text += line("W1 {}".format(hidden), [float(v) for v in model["W1"].ravel()])
        text += line("W2 {}".format(hidden), [float(v) for v in model["W2"].ravel()])
    with open(os.path.join(OUT, "tutorial_weights.txt"), "w") as f:
        f.write(text)

    text = header("the tutorial's printed losses, hidden size 3, from its own numpy code (20000 passes)")
    for i, loss in tutorial_losses(tutorial_x, tutorial_y, 3):
        text += "loss {}: {!r}\n".format(i, float(loss))
    with open(os.path.join(OUT, "tutorial_losses.txt"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
