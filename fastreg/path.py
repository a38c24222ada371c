"""Regularization paths: lambda_max, lambda grids and warm-started paths with a per-lambda profile.

On a path the penalty is ``lam * (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||_2^2)``, so
``l1 = lam * l1_ratio`` and ``l2 = lam * (1 - l1_ratio)`` (DESIGN.md).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path as PathLib

import numpy as np

from . import solvers, validation
from .exceptions import ConvergenceWarning


def lambda_max(X, y, *, loss: str = "logistic", fit_intercept: bool = True, l1_ratio: float = 1.0) -> float:
    r"""The smallest penalty ``lam`` whose solution has w = 0.

    At w = 0 the loss gradient is :math:`X^\top g / N` with g = f'(b0) - y, b0 the optimal
    intercept (mean(y) for the squared loss, logit(mean(y)) for the logistic loss) or 0 without
    intercept. w = 0 is optimal exactly when ``lam * l1_ratio >= ||X^T g||_inf / N``:

    - squared: g = y - mean(y) with intercept, y without;
    - logistic (labels mapped to {0, 1}): g = y - mean(y) with intercept, y - 1/2 without.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    loss : {"logistic", "squared"}
    fit_intercept : bool
    l1_ratio : float in (0, 1]
        The l1 share of the penalty; the l2 part never zeroes a coefficient.

    Returns
    -------
    float
    """
    loss = validation.check_choice(loss, "loss", validation.LOSSES)
    fit_intercept = validation.check_bool(fit_intercept, "fit_intercept")
    l1_ratio = validation.check_fraction(l1_ratio, "l1_ratio")
    X = validation.as_matrix(X)
    n = X.shape[0]
    if loss == "logistic":
        _classes, y = validation.encode_binary_labels(y, n, np.float64)
    else:
        y = validation.as_float_target(y, n, np.float64)
    return _lambda_max_of(X, y, loss, fit_intercept, l1_ratio)


def _lambda_max_of(X: np.ndarray, y: np.ndarray, loss: str, fit_intercept: bool, l1_ratio: float) -> float:
    """:func:`lambda_max` of validated data: y holds the labels as {0, 1} for the logistic loss."""
    n = X.shape[0]
    y = y.astype(np.float64, copy=False)
    if fit_intercept:
        g = y - np.mean(y)
    else:
        g = y - 0.5 if loss == "logistic" else y
    # einsum, not BLAS, which would leave its threads spinning on the cores that the path's
    # kernels are about to use (see validation.check_data).
    return float(np.max(np.abs(np.einsum("ij,i->j", X, g.astype(X.dtype))), initial=0.0)) / n / l1_ratio


@dataclass
class Path:
    """A regularization path: one row per lambda, largest lambda first.

    Attributes
    ----------
    lambdas : ndarray (K,)
    coefs : ndarray (K, n_features)
    intercepts, objectives, gaps, deviance_explained, seconds : ndarray (K,)
        F at the solution, its duality gap, the fraction of the null deviance explained
        (1 - deviance / deviance of the intercept-only model), and the wall time of the step.
    n_iter, nnz : ndarray of int (K,)
        Epochs (cd) or iterations run, and non-zero coefficients.
    loss, l1_ratio, fit_intercept, classes
        What was fitted; ``classes`` are the two labels for the logistic loss.
    early_stop : str or None
        Why the path stopped before the last lambda of the grid (glmnet's rule), else None.
    setup_seconds : float
        Time to load (or compile) the kernels before the first lambda, kept out of ``seconds``;
        0 when an earlier path of the process loaded them.
    """

    lambdas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    objectives: np.ndarray
    gaps: np.ndarray
    n_iter: np.ndarray
    nnz: np.ndarray
    seconds: np.ndarray
    deviance_explained: np.ndarray
    loss: str
    l1_ratio: float
    fit_intercept: bool
    classes: np.ndarray | None = None
    early_stop: str | None = None
    setup_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.lambdas)

    def to_dict(self) -> dict:
        """Plain Python lists and numbers, ready for ``json.dumps``."""
        out = {}
        for item in fields(self):
            value = getattr(self, item.name)
            out[item.name] = value.tolist() if isinstance(value, np.ndarray) else value
        return out

    def to_json(self, file=None) -> str:
        """The JSON text of :meth:`to_dict`, also written to ``file`` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if file is not None:
            PathLib(file).write_text(text)
        return text

    def index(self, lam: float) -> int:
        """The position of the path's lambda closest to ``lam`` (in log scale)."""
        lam = validation.check_positive(lam, "lam")
        return int(np.argmin(np.abs(np.log(self.lambdas) - np.log(lam))))


def lambda_grid(lam_max: float, n_lambdas: int, lambda_min_ratio: float) -> np.ndarray:
    """n_lambdas values from lam_max down to lambda_min_ratio * lam_max, evenly spaced in log."""
    if n_lambdas == 1:
        return np.array([lam_max])
    return lam_max * np.geomspace(1.0, lambda_min_ratio, n_lambdas)


def regularization_path(
    X,
    y,
    *,
    loss: str = "logistic",
    l1_ratio: float = 1.0,
    n_lambdas: int = 100,
    lambda_min_ratio: float | None = None,
    lambdas=None,
    solver: str = "cd",
    tol: float = 1e-6,
    fit_intercept: bool = True,
    max_iter: int = 10_000,
    screening: bool = True,
    early_stop: bool = False,
    n_threads: int | None = None,
    progress=None,
) -> Path:
    r"""Solve along a decreasing grid of penalties, each solve warm-started from the previous.

    The warm start is the previous solution moved along the path by its Taylor polynomial of
    third order when that lowers the objective (see ``solvers.tangent_step``): its error is
    fourth order in the step between lambdas. With ``cd``, a logistic path whose support is
    too large for its Hessian to pay for itself moves along the secant of its last two
    solutions instead (``kernels.path.secant_step``: second-order error, no Hessian).

    At each ``lam`` the objective is F(w, b) = mean loss + lam * l1_ratio ||w||_1
    + lam * (1 - l1_ratio) / 2 ||w||_2^2, solved to ``tol`` (see :func:`fastreg.fit`).

    Parameters
    ----------
    X, y, loss, fit_intercept, tol, max_iter, n_threads
        As in :func:`fastreg.fit`.
    l1_ratio : float in (0, 1]
    n_lambdas : int >= 1
        Size of the automatic grid.
    lambda_min_ratio : float in (0, 1) or None
        The grid ends at this fraction of :func:`lambda_max`: default 1e-4 when N > D, else 1e-2.
    lambdas : array-like or None
        The penalties to use instead of the automatic grid; sorted into decreasing order.
    solver : {"cd", "fista"}
    screening : bool
        ``cd`` only: the sequential strong rule (Tibshirani et al., 2012) keeps, at lam_k, the
        features with |grad_j| >= l1_ratio (2 lam_k - lam_{k-1}) at the previous solution (plus
        the non-zero ones); the solve on them is followed by a check of the optimality
        conditions on all features, which resumes the solve with any feature wrongly left out.
        A lambda after one that was certified without an epoch goes straight to that check.
        The answer does not depend on it; only the time does.
    early_stop : bool
        Stop when the fraction of deviance explained changes by less than 1e-5 between two
        lambdas or exceeds 0.999 (glmnet's rule); ``Path.early_stop`` says why.
    progress : callable or None
        Called as ``progress(done, n_lambdas)`` after each run of lambdas: about every
        ``solvers.PATH_CALL_SECONDS`` of solving (after each lambda with ``early_stop``), and
        after the last.

    Returns
    -------
    Path
    """
    loss = validation.check_choice(loss, "loss", validation.LOSSES)
    solver = validation.check_choice(solver, "solver", ("cd", "fista"))
    l1_ratio = validation.check_fraction(l1_ratio, "l1_ratio")
    fit_intercept = validation.check_bool(fit_intercept, "fit_intercept")
    screening = validation.check_bool(screening, "screening")
    early_stop = validation.check_bool(early_stop, "early_stop")
    progress = validation.check_callback(progress, "progress")
    tol = validation.check_nonnegative(tol, "tol")
    max_iter = validation.check_positive_int(max_iter, "max_iter")
    threads = solvers.thread_count(n_threads)
    data = solvers.prepare(X, y, loss=loss, solver=solver, fit_intercept=fit_intercept)
    n, d = data.X.shape
    if lambdas is None:
        n_lambdas = validation.check_positive_int(n_lambdas, "n_lambdas")
        if lambda_min_ratio is None:
            lambda_min_ratio = 1e-4 if n > d else 1e-2
        lambda_min_ratio = validation.check_positive(lambda_min_ratio, "lambda_min_ratio")
        if lambda_min_ratio >= 1:
            raise ValueError(f"lambda_min_ratio={lambda_min_ratio!r} must be < 1: the grid runs down from lambda_max.")
        # data is validated already: a second check of X would read it once more (2 ms of a
        # 200 x 20000 path's 72).
        top = _lambda_max_of(data.X, data.y, loss, fit_intercept, l1_ratio)
        grid = lambda_grid(top, n_lambdas, lambda_min_ratio) if top > 0 else np.zeros(0)
        if top == 0:
            residual = "y - mean(y)" if fit_intercept else ("y - 1/2" if loss == "logistic" else "y")
            raise ValueError(f"lambda_max is 0 (X^T ({residual}) = 0: the loss gradient at w = 0 vanishes): "
                             f"every penalty gives w = 0; pass lambdas explicitly.")
    else:
        grid = validation.as_penalties(lambdas)

    setup_seconds = _load_kernels(data, solver, tol, threads, screening)
    stepper = solvers.PathSolver(data, solver=solver, tol=tol, max_iter=max_iter, n_threads=threads, screening=screening)
    w = np.zeros(d, dtype=data.X.dtype)
    b = data.intercept_at_zero
    # The loss of w = 0 with the best intercept (0 without intercept).
    null_deviance = solvers.mean_loss_at_constant(data.loss, data.y, data.intercept_at_zero)
    count = len(grid)
    coefs = np.empty((count, d), dtype=data.X.dtype)
    stats = np.empty((count, solvers.N_STATS))
    # Runs of lambdas (for cd, each one kernel call) of up to solvers.PATH_CALL_SECONDS; the
    # early-stop rule looks at each lambda as it comes.
    chunk = 1 if early_stop else count
    done = 0
    reason = None
    while done < count:
        b, done = stepper.run(w, b, grid, done, min(done + chunk, count), l1_ratio, coefs, stats)
        if progress is not None:
            progress(done, count)
        if early_stop and done > 1:
            before, explained = _explained(stats[done - 2 : done], null_deviance)
            lam, k = grid[done - 1], done - 1
            if explained > 0.999:
                reason = f"deviance explained {explained:.4f} > 0.999 at lambda {lam:.4g} (step {k} of {count})"
            elif abs(explained - before) < 1e-5 * max(abs(explained), 1e-300):
                reason = (f"deviance explained changed by {explained - before:.2e} < 1e-5 relative at lambda "
                          f"{lam:.4g} (step {k} of {count})")
            if reason is not None:
                break
    stats = stats[:done]
    gaps = stats[:, solvers.STAT_GAP]
    if tol > 0:
        for k in np.flatnonzero(~(gaps <= stepper.tolerance)):
            warnings.warn(f"regularization_path: lambda {grid[k]:.4g} (step {k}) stopped at max_iter={max_iter} with "
                          f"duality_gap {gaps[k]:.3g} > tolerance {stepper.tolerance:.3g}.",
                          ConvergenceWarning, stacklevel=2)
    return Path(
        lambdas=grid[:done].copy(),
        coefs=coefs if done == count else coefs[:done].copy(),
        intercepts=stats[:, solvers.STAT_INTERCEPT].copy(),
        objectives=stats[:, solvers.STAT_OBJECTIVE].copy(),
        gaps=gaps.copy(),
        n_iter=stats[:, solvers.STAT_EPOCHS].astype(int),
        nnz=stats[:, solvers.STAT_NNZ].astype(int),
        seconds=stats[:, solvers.STAT_SECONDS].copy(),
        deviance_explained=_explained(stats, null_deviance),
        loss=loss,
        l1_ratio=l1_ratio,
        fit_intercept=fit_intercept,
        classes=data.classes,
        early_stop=reason,
        setup_seconds=setup_seconds,
    )


def _explained(stats: np.ndarray, null_deviance: float) -> np.ndarray:
    """The fraction of the null deviance explained at each row of a path's stats: 1 - L(w, b) /
    L(0, b0), with L the loss part of the objective; F(w) <= F(0) bounds the loss by the null
    loss, so a negative value is rounding and reads 0."""
    if not null_deviance > 0:
        return np.zeros(len(stats))
    deviance = stats[:, solvers.STAT_OBJECTIVE] - stats[:, solvers.STAT_PENALTY]
    return np.maximum(0.0, 1.0 - deviance / null_deviance)


# The (solver, dtype, memory order) of the paths that _load_kernels has run in this process.
_LOADED_KERNELS = set()


def _load_kernels(data, solver: str, tol: float, threads, screening: bool) -> float:
    """Run two lambdas of a path on a two-sample problem of the same dtype and layout, so that
    the first lambda's time does not include loading or compiling the kernels; returns the
    seconds it took, 0 when a path of this process already ran them (the two lambdas took
    0.6 ms, 5 % of a leukemia path)."""
    key = (solver, data.X.dtype.str, bool(data.X.flags.f_contiguous))
    if key in _LOADED_KERNELS:
        return 0.0
    start = time.perf_counter()
    tiny = _two_samples(data)
    if tiny.X.shape[0] == 2:
        stepper = solvers.PathSolver(tiny, solver=solver, tol=tol, max_iter=2, n_threads=threads, screening=screening)
        grid = np.array([1e-2, 1e-3])
        w, b, done = np.zeros(tiny.X.shape[1], dtype=tiny.X.dtype), 0.0, 0
        coefs, stats = np.empty((2, tiny.X.shape[1]), dtype=tiny.X.dtype), np.empty((2, solvers.N_STATS))
        while done < 2:
            b, done = stepper.run(w, b, grid, done, 2, 1.0, coefs, stats)
        _LOADED_KERNELS.add(key)
    return time.perf_counter() - start


def _two_samples(data):
    """The first two samples of ``data`` as a problem in X's memory order (cd's Fortran order,
    fista's C order), so that solving it loads the kernels the path will run."""
    head = data.X[:2]
    X = np.asfortranarray(head) if data.X.flags.f_contiguous else np.ascontiguousarray(head)
    return solvers.Problem(X=X, y=np.array([0.0, 1.0], dtype=data.X.dtype), loss=data.loss,
                           fit_intercept=data.fit_intercept, classes=None, intercept_at_zero=0.0)


SCORINGS = ("deviance", "misclassification", "mse")


@dataclass
class CrossValidation:
    """Cross-validated error along a regularization path.

    Attributes
    ----------
    lambdas : ndarray (K,)
        The grid, shared by every fold.
    errors : ndarray (n_folds, K)
        The held-out error of each fold at each lambda.
    mean, std_error : ndarray (K,)
        Mean over folds, and its standard error std / sqrt(n_folds).
    index_min, index_1se : int
        The lambda with the smallest mean error, and the largest lambda whose mean error is
        within one standard error of that minimum (the sparser model the data cannot tell apart).
    lambda_min, lambda_1se : float
    scoring : str
        "deviance" (mean loss on the held-out fold, times 2), "misclassification" or "mse".
    path : Path
        The path on all the data.
    """

    lambdas: np.ndarray
    errors: np.ndarray
    mean: np.ndarray
    std_error: np.ndarray
    index_min: int
    index_1se: int
    lambda_min: float
    lambda_1se: float
    scoring: str
    path: Path

    def to_dict(self) -> dict:
        out = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "path"}
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}
        out["path"] = self.path.to_dict()
        return out


def fold_indices(y: np.ndarray, n_folds: int, stratified: bool, seed) -> list[np.ndarray]:
    """Held-out index sets of ``n_folds`` folds; with ``stratified``, each class is dealt out evenly."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(y), dtype=int)
    groups = [np.flatnonzero(y == value) for value in np.unique(y)] if stratified else [np.arange(len(y))]
    offset = 0
    for members in groups:
        members = rng.permutation(members)
        assignment[members] = (np.arange(len(members)) + offset) % n_folds
        offset += len(members)
    return [np.flatnonzero(assignment == fold) for fold in range(n_folds)]


def held_out_error(loss: str, scoring: str, X, y, coefs, intercepts) -> np.ndarray:
    """The error of every path point (rows of coefs) on (X, y): shape (K,).

    The predictions use only the features non-zero somewhere on the path, and np.einsum rather
    than BLAS: the folds run in threads, and BLAS's threads spin for a while after each call,
    taking the cores from the other folds' kernels (see validation.check_data).
    """
    support = np.flatnonzero(np.any(coefs != 0, axis=0))
    z = np.einsum("nd,kd->nk", X[:, support], coefs[:, support]) + intercepts  # (n, K)
    y = y[:, None]
    if scoring == "mse":
        prediction = 1.0 / (1.0 + np.exp(-z)) if loss == "logistic" else z
        return np.mean((y - prediction) ** 2, axis=0)
    if scoring == "misclassification":
        return np.mean((z > 0) != (y > 0.5), axis=0)
    if loss == "logistic":
        return 2.0 * np.mean(np.logaddexp(0.0, z) - y * z, axis=0)
    return np.mean((y - z) ** 2, axis=0)


def cross_validate_path(
    X,
    y,
    *,
    loss: str = "logistic",
    l1_ratio: float = 1.0,
    n_lambdas: int = 100,
    lambda_min_ratio: float | None = None,
    lambdas=None,
    n_folds: int = 5,
    scoring: str = "deviance",
    fit_intercept: bool = True,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    n_jobs: int | None = None,
    random_state=0,
    progress=None,
) -> CrossValidation:
    """K-fold cross-validation over a regularization path.

    The lambda grid comes from all the data; each fold then runs a warm-started path on the
    same grid over its training part (stratified by class for the logistic loss) and scores
    every point on its held-out part. Folds run in ``n_jobs`` threads (default: as many as
    folds, up to the CPU count); the kernels release the GIL, and each fold's solves then run
    on one thread.

    Parameters
    ----------
    X, y, loss, l1_ratio, n_lambdas, lambda_min_ratio, lambdas, fit_intercept, tol, max_iter
        As in :func:`regularization_path`.
    n_folds : int >= 2
    scoring : {"deviance", "misclassification", "mse"}
        "misclassification" needs the logistic loss.
    n_jobs : int >= 1 or None
    random_state : int, numpy Generator or None
        Seeds the fold assignment.
    progress : callable or None
        Called as ``progress(done, total)`` after the full path and after each fold.

    Returns
    -------
    CrossValidation
    """
    loss = validation.check_choice(loss, "loss", validation.LOSSES)
    scoring = validation.check_choice(scoring, "scoring", SCORINGS)
    if scoring == "misclassification" and loss != "logistic":
        raise ValueError("scoring='misclassification' needs loss='logistic'; use 'mse' or 'deviance'.")
    n_folds = validation.check_positive_int(n_folds, "n_folds")
    X = validation.as_matrix(X)
    n = X.shape[0]
    if not 2 <= n_folds <= n:
        raise ValueError(f"n_folds={n_folds} must be between 2 and the number of samples ({n}).")
    if n_jobs is not None:
        n_jobs = validation.check_positive_int(n_jobs, "n_jobs")
    rng = validation.check_random_state(random_state)
    progress = validation.check_callback(progress, "progress")
    if loss == "logistic":
        _classes, target = validation.encode_binary_labels(y, n, np.float64)
        if np.min(np.bincount(target.astype(int))) < n_folds:
            raise ValueError(f"n_folds={n_folds} exceeds the number of samples in the smaller class; use fewer folds.")
    else:
        target = validation.as_float_target(y, n, np.float64)
    options = dict(loss=loss, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=tol, max_iter=max_iter)
    full = regularization_path(X, y, n_lambdas=n_lambdas, lambda_min_ratio=lambda_min_ratio, lambdas=lambdas,
                               **options)
    if progress is not None:
        progress(1, n_folds + 1)
    folds = fold_indices(target, n_folds, loss == "logistic", rng)

    def run_fold(held_out):
        train = np.ones(n, dtype=bool)
        train[held_out] = False
        fold_path = regularization_path(X[train], target[train], lambdas=full.lambdas, n_threads=1, **options)
        return held_out_error(loss, scoring, X[held_out], target[held_out], fold_path.coefs, fold_path.intercepts)

    workers = n_jobs or min(n_folds, os.cpu_count() or 1)
    errors = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for k, fold_errors in enumerate(pool.map(run_fold, folds)):
            errors.append(fold_errors)
            if progress is not None:
                progress(k + 2, n_folds + 1)
    errors = np.array(errors)
    mean = errors.mean(axis=0)
    std_error = errors.std(axis=0, ddof=1) / np.sqrt(n_folds)
    index_min = int(np.argmin(mean))
    # The grid decreases, so the first index within one standard error is the largest lambda.
    index_1se = int(np.flatnonzero(mean <= mean[index_min] + std_error[index_min])[0])
    return CrossValidation(
        lambdas=full.lambdas, errors=errors, mean=mean, std_error=std_error, index_min=index_min,
        index_1se=index_1se, lambda_min=float(full.lambdas[index_min]), lambda_1se=float(full.lambdas[index_1se]),
        scoring=scoring, path=full,
    )
