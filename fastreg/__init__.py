"""fastreg: L1 / L2 / elastic-net regularized logistic and linear regression, fast.

``fastreg.fit`` is the functional solver; ``fastreg.LogisticRegression`` and
``fastreg.LinearRegression`` are scikit-learn-style estimators. The estimators module is
imported on first use, so ``import fastreg`` stays light and never imports scikit-learn.
"""

from .exceptions import ConvergenceWarning, DivergenceError
from .path import CrossValidation, Path, cross_validate_path, lambda_max, regularization_path
from .solvers import FitResult, fit

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "CrossValidation",
    "DivergenceError",
    "FitResult",
    "LinearRegression",
    "LinearRegressionCV",
    "LogisticRegression",
    "LogisticRegressionCV",
    "Path",
    "cross_validate_path",
    "fit",
    "lambda_max",
    "regularization_path",
]

_LAZY = {"LogisticRegression", "LinearRegression", "LogisticRegressionCV", "LinearRegressionCV", "NotFittedError"}


def __getattr__(name):
    if name in _LAZY:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'fastreg' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY)
