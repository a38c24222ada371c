"""Shared problem generators and data loaders for the tests."""

import numpy as np
import pytest

from bench.datasets import DATA_DIR, load_shared

__all__ = ["DATA_DIR", "lambda_max_formula", "load_dataset", "make_problem"]


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


def load_dataset(name):
    """(X, y) of a shared data set (bench.datasets.load_shared); skips when absent."""
    data = load_shared(name)
    if data is None:
        pytest.skip(f"{name}: ../shared/data or scikit-learn is absent")
    return data


def lambda_max_formula(loss, X, y, fit_intercept):
    """DESIGN.md's smallest l1 with an all-zero solution, written out for the tests."""
    n = X.shape[0]
    if fit_intercept:
        centered = y - y.mean()
    else:
        centered = y - 0.5 if loss == "logistic" else y
    return np.max(np.abs(X.T @ centered)) / n
