"""Shared problem generators and data loaders for the tests."""

from pathlib import Path

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


DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# name -> (file, n_features) of the real data sets in ../shared/data (see its README).
DATASETS = {
    "leukemia": ("leu.bz2", 7129),
    "colon-cancer": ("colon-cancer.bz2", 2000),
    "arcene": ("arcene_train.bz2", 10000),
}


def load_dataset(name):
    """(X dense float64 Fortran-ordered, y in {0, 1}) of a shared data set; skips when absent."""
    file, n_features = DATASETS[name]
    path = DATA_DIR / file
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data folder is not beside the repository)")
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_svmlight_file(str(path), n_features=n_features)
    return np.asfortranarray(X.toarray()), (y > 0).astype(np.float64)


def lambda_max_formula(loss, X, y, fit_intercept):
    """DESIGN.md's smallest l1 with an all-zero solution, written out for the tests."""
    n = X.shape[0]
    if fit_intercept:
        centered = y - y.mean()
    else:
        centered = y - 0.5 if loss == "logistic" else y
    return np.max(np.abs(X.T @ centered)) / n
