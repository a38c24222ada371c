"""scikit-learn-style estimators over :func:`fastreg.fit`.

When scikit-learn is installed the estimators derive from its ``BaseEstimator`` and mixins,
so ``clone``, pipelines, grid search and its warnings and errors work as with its own
estimators; without it, a minimal base gives the same public API (``get_params``,
``set_params``, ``fit``, ``predict``, ``score``). This module is imported on first use of an
estimator, so ``import fastreg`` never imports scikit-learn.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from . import validation
from .path import Path, cross_validate_path
from .solvers import fit as _fit

try:
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClassifierMixin as _ClassifierMixin
    from sklearn.base import RegressorMixin as _RegressorMixin
    from sklearn.exceptions import DataConversionWarning, NotFittedError
except ImportError:

    class NotFittedError(ValueError, AttributeError):
        """An estimator was used before ``fit``."""

    class DataConversionWarning(UserWarning):
        """The input was converted to another shape or dtype."""

    class _Base:
        """get_params / set_params from the constructor's signature, as scikit-learn does."""

        @classmethod
        def _get_param_names(cls):
            signature = inspect.signature(cls.__init__)
            return sorted(p.name for p in signature.parameters.values() if p.name != "self")

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for name, value in params.items():
                if name not in valid:
                    raise ValueError(f"Invalid parameter {name!r} for {type(self).__name__}; valid: {valid}.")
                setattr(self, name, value)
            return self

        def __repr__(self):
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class _ClassifierMixin:
        _estimator_type = "classifier"

        def score(self, X, y):
            """Mean accuracy of ``predict(X)`` against ``y``."""
            return float(np.mean(self.predict(X) == np.asarray(y)))

    class _RegressorMixin:
        _estimator_type = "regressor"

        def score(self, X, y):
            """Coefficient of determination R^2 of ``predict(X)`` against ``y``."""
            y = np.asarray(y, dtype=float)
            residual = np.sum((y - self.predict(X)) ** 2)
            total = np.sum((y - y.mean()) ** 2)
            return float(1.0 - residual / total) if total > 0 else 0.0


class _RegularizedLinearModel(_Base):
    """Shared fit / predict plumbing; subclasses set ``_loss``."""

    _loss = "squared"

    def _fit(self, X, y):
        # fastreg.fit validates X; only scikit-learn's object-array convention is handled here.
        X = validation.objects_to_float(X)
        y = self._column_to_1d(y)
        result = _fit(
            X,
            y,
            loss=self._loss,
            l1=self.l1,
            l2=self.l2,
            solver=self.solver,
            fit_intercept=self.fit_intercept,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        self._set_solution(result.coef, result.intercept, result.n_iter)
        return result

    @classmethod
    def from_path(cls, path, index: int):
        """The fitted estimator at ``path.lambdas[index]`` of a :class:`fastreg.Path`.

        Its ``l1`` and ``l2`` are that lambda's (``lam * l1_ratio``, ``lam * (1 - l1_ratio)``).
        """
        validation.check_type(path, Path, "path", "from fastreg.regularization_path")
        if path.loss != cls._loss:
            raise ValueError(f"{cls.__name__} needs a path of the {cls._loss} loss; this path is {path.loss}.")
        index = validation.check_index(index, len(path))
        lam = float(path.lambdas[index])
        estimator = cls(l1=lam * path.l1_ratio, l2=lam * (1.0 - path.l1_ratio), fit_intercept=path.fit_intercept)
        estimator._set_solution(path.coefs[index].copy(), float(path.intercepts[index]), int(path.n_iter[index]))
        if path.classes is not None:
            estimator.classes_ = path.classes
        return estimator

    def _set_solution(self, coef, intercept, n_iter):
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = n_iter
        self.n_features_in_ = coef.shape[0]

    def _column_to_1d(self, y):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        array = np.asarray(y)
        if array.ndim == 2 and array.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. "
                "Please change the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            array = array.ravel()
        return array

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _linear_predictor(self, X):
        self._check_fitted()
        X = validation.as_matrix(X, allow_object=True)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X @ self.coef_.astype(X.dtype, copy=False) + self.intercept_


class LogisticRegression(_ClassifierMixin, _RegularizedLinearModel):
    r"""Binary logistic regression with L1 / L2 / elastic-net penalties.

    Minimizes :math:`\frac1N \sum_i [\log(1 + e^{z_i}) - y_i z_i] + \ell_1 \|w\|_1
    + \frac{\ell_2}{2}\|w\|_2^2`, :math:`z = Xw + b`, labels mapped to {0, 1} in sorted order.
    scikit-learn's ``LogisticRegression(C=C)`` sums the loss: its pure-L2 model is
    ``l2 = 1 / (N C)``, its pure-L1 model ``l1 = 1 / (N C)``.

    Parameters
    ----------
    l1, l2 : float >= 0
        Penalty strengths. The default ``l2=1e-4`` keeps the optimum finite on separable data.
    solver : {"cd", "fista", "gd"}
        See :func:`fastreg.fit`.
    fit_intercept : bool
        Fit an unpenalized intercept.
    tol : float >= 0
        Relative tolerance of the stopping certificate (see :func:`fastreg.fit`).
    max_iter : int >= 1
        Iteration limit.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    n_features_in_ : int
    """

    _loss = "logistic"

    def __init__(self, l1=0.0, l2=1e-4, solver="cd", fit_intercept=True, tol=1e-6, max_iter=10_000):
        self.l1 = l1
        self.l2 = l2
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y):
        """Fit on X (n_samples, n_features) and two-class labels y (n_samples,); returns self."""
        result = self._fit(X, y)
        self.classes_ = result.classes
        return self

    def decision_function(self, X):
        """Linear predictor X w + b, shape (n_samples,): positive means ``classes_[1]``."""
        return self._linear_predictor(X)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, 2), columns in the order of ``classes_``."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed in float64 without overflow."""
        z = self._linear_predictor(X).astype(np.float64)
        # log sigmoid(z) = -log(1 + e^-z) and log sigmoid(-z) = -log(1 + e^z), both stable.
        log_one_plus_exp = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
        return np.column_stack([-log_one_plus_exp, z - log_one_plus_exp])

    def predict(self, X):
        """Predicted labels, shape (n_samples,)."""
        positive = self._linear_predictor(X) > 0
        return self.classes_[positive.astype(int)]


class LinearRegression(_RegressorMixin, _RegularizedLinearModel):
    r"""Linear regression (squared loss) with L1 / L2 / elastic-net penalties.

    Minimizes :math:`\frac{1}{2N}\|y - Xw - b\|^2 + \ell_1 \|w\|_1 + \frac{\ell_2}{2}\|w\|_2^2`.
    scikit-learn's ``Lasso(alpha)`` is ``l1=alpha``; ``ElasticNet(alpha, l1_ratio)`` is
    ``l1 = alpha * l1_ratio, l2 = alpha * (1 - l1_ratio)``; ``Ridge(alpha)`` sums the loss:
    ``l2 = alpha / N``. The defaults (no penalty) give ordinary least squares.

    Parameters and attributes as :class:`LogisticRegression`, without ``classes_``.
    """

    _loss = "squared"

    def __init__(self, l1=0.0, l2=0.0, solver="cd", fit_intercept=True, tol=1e-6, max_iter=10_000):
        self.l1 = l1
        self.l2 = l2
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y):
        """Fit on X (n_samples, n_features) and targets y (n_samples,); returns self."""
        self._fit(X, y)
        return self

    def predict(self, X):
        """Predictions X w + b, shape (n_samples,)."""
        return self._linear_predictor(X)


class _CrossValidatedMixin:
    """fit = cross-validation over a path, then a refit at the chosen lambda on all the data."""

    def fit(self, X, y):
        """Cross-validate the path on X, y, refit at the chosen lambda; returns self."""
        choice = validation.check_choice(self.choice, "choice", ("min", "1se"))
        X = validation.objects_to_float(X)
        y = self._column_to_1d(y)
        cv = cross_validate_path(
            X, y, loss=self._loss, l1_ratio=self.l1_ratio, n_lambdas=self.n_lambdas,
            lambda_min_ratio=self.lambda_min_ratio, n_folds=self.cv, scoring=self.scoring,
            fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter, n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        index = cv.index_min if choice == "min" else cv.index_1se
        lam = float(cv.lambdas[index])
        result = _fit(X, y, loss=self._loss, l1=lam * self.l1_ratio, l2=lam * (1.0 - self.l1_ratio),
                      fit_intercept=self.fit_intercept, tol=self.tol, max_iter=self.max_iter,
                      w0=cv.path.coefs[index], intercept0=cv.path.intercepts[index] if self.fit_intercept else None)
        self._set_solution(result.coef, result.intercept, result.n_iter)
        if result.classes is not None:
            self.classes_ = result.classes
        self.lambda_ = lam
        self.cv_results_ = cv
        return self


_CV_PARAMETERS = """
    Parameters
    ----------
    l1_ratio : float in (0, 1]
        The l1 share of the penalty lam * (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||^2).
    n_lambdas, lambda_min_ratio
        The grid (see :func:`fastreg.regularization_path`).
    cv : int >= 2
        Folds (stratified by class for the logistic loss).
    scoring : {"deviance", "misclassification", "mse"}
    choice : {"min", "1se"}
        Refit at the lambda of smallest mean error, or at the largest lambda within one standard
        error of it (glmnet's lambda.1se).
    fit_intercept, tol, max_iter
        As in :func:`fastreg.fit`.
    n_jobs : int or None
        Threads for the folds.
    random_state : int or None
        Seeds the fold assignment.

    Attributes
    ----------
    lambda_ : float
        The chosen lambda.
    cv_results_ : fastreg.path.CrossValidation
        Errors per fold and lambda, lambda_min, lambda_1se and the full-data path.
    coef_, intercept_, n_iter_, n_features_in_
        The refit at ``lambda_``.
"""


class LogisticRegressionCV(_CrossValidatedMixin, LogisticRegression):
    __doc__ = "Logistic regression with the penalty chosen by K-fold cross-validation over a path.\n" + _CV_PARAMETERS + (
        "    classes_ : ndarray of shape (2,)\n")

    def __init__(self, l1_ratio=1.0, n_lambdas=100, lambda_min_ratio=None, cv=5, scoring="deviance", choice="min",
                 fit_intercept=True, tol=1e-6, max_iter=10_000, n_jobs=None, random_state=0):
        self.l1_ratio = l1_ratio
        self.n_lambdas = n_lambdas
        self.lambda_min_ratio = lambda_min_ratio
        self.cv = cv
        self.scoring = scoring
        self.choice = choice
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.random_state = random_state


class LinearRegressionCV(_CrossValidatedMixin, LinearRegression):
    __doc__ = "Linear regression with the penalty chosen by K-fold cross-validation over a path.\n" + _CV_PARAMETERS

    def __init__(self, l1_ratio=1.0, n_lambdas=100, lambda_min_ratio=None, cv=5, scoring="mse", choice="min",
                 fit_intercept=True, tol=1e-6, max_iter=10_000, n_jobs=None, random_state=0):
        self.l1_ratio = l1_ratio
        self.n_lambdas = n_lambdas
        self.lambda_min_ratio = lambda_min_ratio
        self.cv = cv
        self.scoring = scoring
        self.choice = choice
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.random_state = random_state
