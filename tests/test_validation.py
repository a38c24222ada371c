"""Every bad input gets a ValueError / TypeError that names the argument, before any kernel runs."""

import numpy as np
import pytest

import fastreg

X = np.random.default_rng(0).standard_normal((10, 3))
Y = np.r_[np.zeros(5), np.ones(5)]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"X": np.ones(10)}, ValueError, "X must be a 2-D"),
        ({"X": np.ones((2, 3, 4))}, ValueError, "X must be a 2-D"),
        ({"X": np.ones((0, 3)), "y": np.ones(0)}, ValueError, "0 sample"),
        ({"X": np.ones((10, 0))}, ValueError, "0 feature"),
        ({"X": np.where(np.eye(10, 3) > 0, np.nan, 1.0)}, ValueError, "X contains NaN"),
        ({"X": np.where(np.eye(10, 3) > 0, np.inf, 1.0)}, ValueError, "X contains NaN or infinity"),
        ({"X": X.astype(object)}, TypeError, "X has dtype object"),
        ({"X": np.full((10, 3), "a")}, TypeError, "X has non-numeric dtype"),
        ({"X": X + 1j}, ValueError, "Complex data not supported: X"),
        ({"X": X * 1e160}, ValueError, r"X is too large .*squares overflows float64.*rescale X"),
        ({"X": np.tile(X * 1e160, 2)[:, ::2]}, ValueError, r"X is too large .*overflows float64"),
        ({"X": (X * 1e20).astype(np.float32)}, ValueError, r"X is too large .*overflows float32"),
        ({"X": None}, ValueError, "X is None"),
        ({"y": np.ones(9)}, ValueError, "y has 9 entries but X has 10 rows"),
        ({"y": Y.reshape(-1, 1)}, ValueError, r"y must be a 1-D .*ravel"),
        ({"y": np.ones(10)}, ValueError, "y has only 1 class"),
        ({"y": np.arange(10) % 3}, ValueError, "Only binary classification is supported. y has 3 classes"),
        ({"y": np.linspace(0, 1, 10) + 0.01}, ValueError, "Unknown label type: continuous"),
        ({"y": np.where(Y > 0, np.nan, 0.0)}, ValueError, "y contains NaN"),
        ({"y": np.full(10, np.inf), "loss": "squared"}, ValueError, "y contains NaN or infinity"),
        ({"y": None}, ValueError, "y is None"),
        ({"y": Y * 1e160, "loss": "squared"}, ValueError, r"y is too large .*rescale y"),
        ({"l1": -0.1}, ValueError, "l1=-0.1 must be >= 0"),
        ({"l2": -1}, ValueError, "l2=-1 must be >= 0"),
        ({"l1": float("nan")}, ValueError, "l1=nan must be finite"),
        ({"l1": "0.1"}, TypeError, "l1='0.1' must be a real number"),
        ({"lr": 0.0}, ValueError, "lr=0.0 must be > 0"),
        ({"lr": -1.0}, ValueError, "lr=-1.0 must be > 0"),
        ({"max_iter": 0}, ValueError, "max_iter=0 must be an integer >= 1"),
        ({"max_iter": 10.5}, TypeError, "max_iter=10.5 must be an integer"),
        ({"max_iter": 2**63}, ValueError, r"max_iter=9223372036854775808 must be at most 2\*\*63 - 1"),
        ({"max_iter": np.uint64(2**64 - 1), "solver": "gd"}, ValueError, r"max_iter=.* must be at most 2\*\*63"),
        ({"max_iter": 10**30, "solver": "fista"}, ValueError, r"max_iter=10+ must be at most 2\*\*63"),
        ({"tol": -1e-3}, ValueError, "tol=-0.001 must be >= 0"),
        ({"solver": "newton"}, ValueError, "solver='newton' is not supported"),
        ({"loss": "hinge"}, ValueError, "loss='hinge' is not supported"),
        ({"fit_intercept": "yes"}, TypeError, "fit_intercept='yes' must be True or False"),
        ({"w0": np.ones(4)}, ValueError, r"w0 must have shape \(3,\)"),
        ({"w0": np.array([np.nan, 0, 0])}, ValueError, "w0 contains NaN"),
        ({"w0": np.full(3, 1e160)}, ValueError, "w0 is too large"),
        ({"intercept0": 1.0, "fit_intercept": False}, ValueError, "intercept0 must be 0"),
        ({"intercept0": 1e160}, ValueError, "intercept0=1e.160 is too large .*overflows float64"),
        ({"X": X.astype(np.float32), "intercept0": -1e20}, ValueError, "intercept0=-1e.20 is too large .*overflows float32"),
        ({"intercept0": float("inf")}, ValueError, "intercept0=inf must be finite"),
        ({"n_threads": 0}, ValueError, "n_threads=0 must be an integer >= 1"),
        ({"n_threads": 10_000}, ValueError, "n_threads=10000 exceeds"),
    ],
)
def test_bad_input_is_named(kwargs, error, match):
    arguments = {"X": X, "y": Y} | kwargs
    with pytest.raises(error, match=match):
        fastreg.fit(arguments.pop("X"), arguments.pop("y"), **arguments)


def test_label_values_of_any_size_are_labels():
    labels = np.where(Y > 0, 1e300, -1e300)
    model = fastreg.LogisticRegression(l1=0.01).fit(X, labels)
    np.testing.assert_array_equal(model.classes_, [-1e300, 1e300])
    np.testing.assert_array_equal(model.predict(X), np.where(model.decision_function(X) > 0, 1e300, -1e300))


def test_sparse_matrices_are_refused_until_supported():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"X is a sparse matrix.*not support sparse input yet.*toarray"):
        fastreg.fit(sparse.csr_matrix(X), Y)


def test_estimator_parameters_are_validated_at_fit():
    model = fastreg.LogisticRegression(l1=-1.0)
    with pytest.raises(ValueError, match="l1=-1.0 must be >= 0"):
        model.fit(X, Y)


def test_predict_with_the_wrong_number_of_features():
    model = fastreg.LinearRegression().fit(X, Y)
    with pytest.raises(ValueError, match="X has 4 features, but LinearRegression is expecting 3"):
        model.predict(np.ones((2, 4)))
