"""Shared problem generators for the tests."""

import numpy as np
import pytest


def make_problem(loss, n, d, seed=0, dtype=np.float64, scale=1.0):
    """A random (X, y) for ``loss``: y in {0, 1} for logistic, a noisy linear target otherwise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * scale
    w = np.zeros(d)
    w[: max(1, d // 5)] = rng.standard_normal(max(1, d // 5))
    z = X @ w + 0.3 + 0.5 * rng.standard_normal(n)
    if loss == "logistic":
        y = (z > 0).astype(float)
        if n > 1 and y.min() == y.max():
            y[0] = 1.0 - y[0]
    else:
        y = z
    return X.astype(dtype), y.astype(dtype)


@pytest.fixture
def problem():
    return make_problem
