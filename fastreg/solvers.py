"""Solver drivers: validate, allocate, dispatch to the Numba kernels, interpret what they return.

The objective (DESIGN.md) is a mean loss plus an elastic-net penalty, intercept unpenalized:

    F(w, b) = (1/N) sum_i f(x_i^T w + b, y_i) + l1 ||w||_1 + (l2 / 2) ||w||_2^2

with f(z, y) = log(1 + e^z) - y z (logistic, y in {0, 1}) or (y - z)^2 / 2 (squared).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass, field

import numba
import numpy as np

from . import validation
from .exceptions import ConvergenceWarning, DivergenceError
from .kernels import coordinate, fused, layout
from .kernels import path as path_kernels
# The columns of a path's numbers, one row per lambda (PathSolver.run).
from .kernels.path import (N_STATS, STAT_EPOCHS, STAT_GAP, STAT_INTERCEPT, STAT_NNZ, STAT_OBJECTIVE, STAT_PENALTY,
                           STAT_SECONDS)

SOLVERS = ("cd", "fista", "gd")

# Curvature bound of each loss in z: the Lipschitz constant of the mean loss's gradient is
# this times ||X||_2^2 / N.
_CURVATURE = {"logistic": 0.25, "squared": 1.0}
_LOSS_CODE = {"logistic": fused.LOGISTIC, "squared": fused.SQUARED}

# X smaller than this runs on one thread: below it a parallel region costs more than it saves.
PARALLEL_MIN_BYTES = 1 << 22

# The certificate is checked every this many iterations: it costs one or two passes over X.
CHECK_EVERY = 10

# A path carries the Hessian of supports of up to this many features from one tangent step to
# the next (tangent_state), in at most 8 MiB (float64); larger supports have theirs built
# afresh at every lambda.
TANGENT_CARRY_MAX = 1024

# A cd path's kernel call returns to Python at the first lambda past this many seconds
# (kernels.path.path_run), which then reports progress and lets Ctrl-C through.
PATH_CALL_SECONDS = 0.1

# The power-iteration estimate of ||X||_2^2 approaches it from below; the automatic step is
# 1 / (STEP_SAFETY * L) so that an estimate a little low still gives a convergent step.
STEP_SAFETY = 1.02


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        The coefficients w, in the dtype of X.
    intercept : float
        The intercept b (0.0 when ``fit_intercept=False``).
    n_iter : int
        Iterations run.
    converged : bool
        Whether the stopping certificate reached the tolerance.
    objective : float
        F(coef, intercept).
    gap : float
        Duality gap at the returned point: an upper bound on ``objective - F*``. It is ``inf``
        for an unpenalized problem (l1 = l2 = 0), whose dual has no interior.
    grad_norm : float
        Infinity norm of the minimum-norm subgradient of F at the returned point, intercept
        included.
    criterion : str
        The certificate compared with the tolerance: ``"duality_gap"`` when l1 > 0, else
        ``"gradient_norm"``.
    tolerance : float
        The absolute tolerance that certificate was compared with (see :func:`fit`).
    history : ndarray or None
        When ``history=True``: for ``gd`` and ``fista``, F at the point of each iteration's
        gradient (the extrapolated point for ``fista``), shape (n_iter,); for ``cd``, F at
        each outer iteration's certificate, shape (n_outer + 1,).
    lr : float
        The step size used (nan for ``cd``, whose steps are per coordinate).
    classes : ndarray of shape (2,) or None
        For the logistic loss, the two labels; ``classes[1]`` is the class coded 1.
    """

    coef: np.ndarray
    intercept: float
    n_iter: int
    converged: bool
    objective: float
    gap: float
    grad_norm: float
    criterion: str
    tolerance: float
    history: np.ndarray | None
    lr: float
    classes: np.ndarray | None = field(default=None)


def fit(
    X,
    y,
    *,
    loss: str = "logistic",
    l1: float = 0.0,
    l2: float = 0.0,
    solver: str = "cd",
    fit_intercept: bool = True,
    lr: float | None = None,
    max_iter: int = 10_000,
    tol: float = 1e-6,
    w0=None,
    intercept0: float | None = None,
    history: bool = False,
    n_threads: int | None = None,
) -> FitResult:
    r"""Minimize the regularized mean loss over (w, b).

    .. math::

        F(w, b) = \frac{1}{N} \sum_{i=1}^N f(x_i^\top w + b, y_i)
                  + \ell_1 \|w\|_1 + \frac{\ell_2}{2} \|w\|_2^2

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Dense, finite. float32 is solved in float32, every other real dtype in float64.
        ``cd`` reads columns: Fortran-ordered (column-major) float32/float64 input is used
        without a copy, anything else is copied once to Fortran order. ``fista`` and ``gd``
        read rows: C-ordered input is used as is, anything else copied once to C order;
        except that they read a Fortran-ordered X whose columns take at most 16 kB
        (N <= 2048 in float64: wide data) by columns, without a copy and faster.
    y : array-like of shape (n_samples,)
        Targets; for ``loss="logistic"`` any two distinct labels, mapped to {0, 1} in sorted
        order (``result.classes``).
    loss : {"logistic", "squared"}
        f(z, y) = log(1 + e^z) - y z, or (y - z)^2 / 2.
    l1, l2 : float >= 0
        Penalty strengths. scikit-learn's ``Lasso(alpha)`` is ``l1=alpha``;
        ``LogisticRegression(C=C, penalty="l1")`` is ``l1 = 1 / (N C)``.
    solver : {"cd", "fista", "gd"}
        ``"cd"``: coordinate descent on working sets (proximal Newton for the logistic loss),
        the intercept at its exact optimum for w at every certificate; exact zeros. Beyond X
        it uses O(N + D) memory.
        ``"fista"``: accelerated proximal gradient with adaptive restart; exact zeros.
        ``"gd"``: the textbook fused gradient step with the subgradient l1 sign(w), sign(0) = 0.
    fit_intercept : bool
        Fit an unpenalized intercept b.
    lr : float > 0 or None
        Fixed step size of ``gd`` and ``fista``. None uses 1 / L, L the Lipschitz constant of
        the smooth part's gradient, estimated by power iteration.
    max_iter : int >= 1
        Iteration limit: gradient steps for ``gd`` and ``fista``, epochs over the working set
        for ``cd``.
    tol : float >= 0
        Relative tolerance of the stopping certificate. The duality gap is compared with
        tol * F(0, b0), when l1 > 0 (and for ``cd`` whenever l1 > 0 or l2 > 0); otherwise the
        gradient norm with tol * ||grad F(0, b0)||_inf, b0 the best intercept for w = 0 (0
        without intercept). ``gd`` and ``fista`` check every 10 iterations, ``cd`` at every
        outer iteration. ``tol=0`` runs exactly ``max_iter`` iterations.
    w0 : array-like of shape (n_features,) or None
        Warm start for w (not modified). Default zeros.
    intercept0 : float or None
        Warm start for b. Default: b0 (see ``tol``).
    history : bool
        Record F at every iteration.
    n_threads : int >= 1 or None
        Threads for the full-gradient passes. None: all of Numba's threads when X takes at least 4 MiB,
        else one.

    Returns
    -------
    FitResult

    Raises
    ------
    DivergenceError
        The objective became non-finite or grew: the step is too large. The message gives the
        step 1 / L that converges.

    Warns
    -----
    ConvergenceWarning
        ``max_iter`` ran out before the certificate reached the tolerance (``tol > 0``).
    """
    loss = validation.check_choice(loss, "loss", validation.LOSSES)
    solver = validation.check_choice(solver, "solver", SOLVERS)
    l1 = validation.check_nonnegative(l1, "l1")
    l2 = validation.check_nonnegative(l2, "l2")
    fit_intercept = validation.check_bool(fit_intercept, "fit_intercept")
    history = validation.check_bool(history, "history")
    max_iter = validation.check_positive_int(max_iter, "max_iter")
    tol = validation.check_nonnegative(tol, "tol")
    if lr is not None:
        lr = validation.check_positive(lr, "lr")
        if solver == "cd":
            raise ValueError("lr applies to the gd and fista solvers; cd takes exact coordinate steps: leave lr=None.")
    threads = thread_count(n_threads)
    data = prepare(X, y, loss=loss, solver=solver, fit_intercept=fit_intercept)
    w = None if w0 is None else validation.as_start(w0, data.X.shape[1], data.X.dtype)
    if intercept0 is not None:
        intercept0 = validation.check_intercept(intercept0, data.X.dtype)
        if not fit_intercept and intercept0 != 0.0:
            raise ValueError("intercept0 must be 0 or None when fit_intercept=False.")
    return solve(data, l1=l1, l2=l2, solver=solver, lr=lr, max_iter=max_iter, tol=tol, w=w,
                 intercept0=intercept0, history=history, n_threads=threads)


@dataclass(frozen=True)
class Problem:
    """Validated data, converted once to the layout and dtype the solver reads."""

    X: np.ndarray
    y: np.ndarray
    loss: str
    fit_intercept: bool
    classes: np.ndarray | None
    intercept_at_zero: float


def fortran_order(X: np.ndarray) -> np.ndarray:
    """X itself if Fortran-ordered, else a Fortran-ordered copy: by ``layout.fortran_copy``
    for a C-ordered X of PARALLEL_MIN_BYTES or more (NumPy's copy is 2x to 3x slower there),
    by NumPy otherwise (no kernel to load for a small X)."""
    if X.flags.f_contiguous:
        return X
    if X.flags.c_contiguous and X.nbytes >= PARALLEL_MIN_BYTES:
        out = np.empty(X.shape[::-1], dtype=X.dtype).T
        layout.fortran_copy(X, out)
        return out
    return np.asfortranarray(X)


def _reads_columns(X: np.ndarray) -> bool:
    """``fused.by_columns`` in Python (no kernel to load to decide the layout): gd and fista
    read a Fortran-ordered X with short columns as it is."""
    return X.flags.f_contiguous and not X.flags.c_contiguous and X.shape[0] * X.itemsize <= fused.COLUMN_MAX_BYTES


def prepare(X, y, *, loss: str, solver: str, fit_intercept: bool) -> Problem:
    """Validate X and y for :func:`solve`: X in Fortran order for ``cd``, C order otherwise,
    except a Fortran-ordered X with short columns, which ``gd`` and ``fista`` read by columns."""
    X = validation.as_matrix(X)
    n = X.shape[0]
    classes = None
    if loss == "logistic":
        classes, y = validation.encode_binary_labels(y, n, X.dtype)
    else:
        y = validation.as_float_target(y, n, X.dtype)
    if solver == "cd":
        X = fortran_order(X)
    elif not _reads_columns(X):
        X = np.ascontiguousarray(X)
    b_zero = _intercept_at_zero(loss, y) if fit_intercept else 0.0
    return Problem(X, y, loss, fit_intercept, classes, b_zero)


def solve(data: Problem, *, l1: float, l2: float, solver: str, lr, max_iter: int, tol: float, w=None,
          intercept0=None, history: bool = False, n_threads=None, grad_out=None,
          warn: bool = True) -> FitResult:
    """:func:`fit` on prepared data with validated arguments; w (D,) is updated in place.

    ``warn=False`` leaves the ConvergenceWarning to the caller (warning filters are
    process-wide, so callers running in threads cannot silence it themselves). ``grad_out``
    (D,) receives the loss gradient X^T f'(z) / N at the returned point (for ``cd``, where the
    bound of ``coordinate.bounded_gradient`` settled a feature, an upper bound of |grad_j|
    below l1). Paths go through :class:`PathSolver`.
    """
    X, y, loss, fit_intercept = data.X, data.y, data.loss, data.fit_intercept
    n, d = X.shape
    dtype = X.dtype.type
    classes = data.classes
    threads = n_threads
    warm = w is not None
    if not warm:
        w = np.zeros(d, dtype=X.dtype)
    b_zero = data.intercept_at_zero
    b = b_zero if intercept0 is None else intercept0

    code = _LOSS_CODE[loss]
    n_blocks = _block_count(X, threads)
    z = np.empty(n, dtype=X.dtype)
    grad = np.empty(d, dtype=X.dtype) if grad_out is None else grad_out
    if solver == "cd":
        criterion = fused.DUALITY_GAP if (l1 > 0 or l2 > 0) else fused.GRADIENT_NORM
    else:
        criterion = fused.DUALITY_GAP if l1 > 0 else fused.GRADIENT_NORM
    step = float("nan")
    with numba_threads(n_blocks):
        scale = _certificate_scale(loss, X, y, dtype(b_zero), criterion, solver == "cd", n_blocks > 1, z, grad)
        tolerance = _absolute_tolerance(tol, scale, X.dtype)
        if solver == "cd":
            trace = np.empty(max_iter + 1 if history else 0, dtype=X.dtype)
            if warm:
                b = coordinate.drop_flat_columns(X, w, dtype(b), fit_intercept)
            # No next lambda to watch for (inf): bounded_gradient's ceilings go unused.
            n_iter, n_outer, b, status, value, gap, grad_norm, _penalty, _nnz, _listed = coordinate.cd_solve(
                code, X, y, w, dtype(b), dtype(l1), dtype(l2), fit_intercept, max_iter,
                dtype(tolerance), criterion, n_blocks > 1, np.empty(0, dtype=np.int64), d, dtype(np.inf), False,
                *cd_work_arrays(n, d, X.dtype, z, grad, trace),
            )
            trace = trace[: n_outer + 1]
        else:
            trace = np.empty(max_iter if history else 0, dtype=X.dtype)
            partial = fused.partial_gradients(n_blocks, d, X.dtype)
            step = lr if lr is not None else _default_step(loss, X, l2, fit_intercept)
            scalars = (dtype(b), dtype(step), dtype(l1), dtype(l2), fit_intercept)
            if solver == "gd":
                n_iter, b, status, value = fused.gd_solve(
                    code, X, y, w, *scalars, False, max_iter, dtype(tolerance), criterion,
                    CHECK_EVERY, z, partial, grad, trace,
                )
            else:
                n_iter, b, status, value = fused.fista_solve(
                    code, X, y, w, *scalars, max_iter, dtype(tolerance), criterion, CHECK_EVERY,
                    np.empty_like(w), np.empty_like(w), z, partial, grad, trace,
                )
            trace = trace[:n_iter]
            if status != fused.DIVERGED:
                value, gap, grad_norm = fused.certificate(
                    code, X, y, w, dtype(b), dtype(l1), dtype(l2), fit_intercept, z, partial, grad
                )
    if status == fused.DIVERGED or not np.isfinite(value):
        raise DivergenceError(_divergence_message(solver, step, lr, loss, X, l2, fit_intercept, n_iter, value))
    criterion_name = "duality_gap" if criterion == fused.DUALITY_GAP else "gradient_norm"
    reached = gap if criterion == fused.DUALITY_GAP else grad_norm
    converged = tol > 0 and reached <= tolerance
    if warn and tol > 0 and not converged:
        warnings.warn(
            f"{solver} stopped at max_iter={max_iter} before converging: {criterion_name} "
            f"{reached:.3g} > tolerance {tolerance:.3g} (tol={tol:g}, relative). "
            "Increase max_iter, or loosen tol."
            + (" In float32 the rounding of the iterates can keep the certificate above a tight tol "
               "(fista and gd more than cd): pass X as float64 for more digits." if X.dtype == np.float32 else ""),
            ConvergenceWarning,
            stacklevel=2,
        )
    return FitResult(
        coef=w,
        intercept=float(b),
        n_iter=int(n_iter),
        converged=bool(converged),
        objective=float(value),
        gap=float(gap),
        grad_norm=float(grad_norm),
        criterion=criterion_name,
        tolerance=float(tolerance),
        history=trace.copy() if history else None,
        lr=float(step),
        classes=classes,
    )


class PathSolver:
    """Solves along a decreasing grid of penalties on prepared data, each from the previous.

    The penalty at ``lam`` is ``lam * (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||_2^2)``, the
    tolerance as in :func:`fit`. For ``cd`` the work arrays and the state of
    ``coordinate.bounded_gradient`` are made once and carried from lambda to lambda, and a run
    of lambdas is one kernel call (``kernels.path.path_run``: at each lambda the tangent or
    secant step, the strong rule and the solve); ``fista`` takes the tangent step and calls
    :func:`solve` at each lambda.
    """

    def __init__(self, data: Problem, *, solver: str, tol: float, max_iter: int, n_threads, screening: bool):
        X = data.X
        n, d = X.shape
        self.data, self.solver, self.tol, self.max_iter, self.screening = data, solver, tol, max_iter, screening
        self.n_threads = n_threads
        self.n_blocks = _block_count(X, n_threads)
        # The duality gap's scale, F(0, b0), as in solve: lam > 0 and l1_ratio > 0 make l1 > 0.
        scale = mean_loss_at_constant(data.loss, data.y, data.intercept_at_zero)
        self.tolerance = _absolute_tolerance(tol, scale, X.dtype)
        self.grad = np.zeros(d, dtype=X.dtype)
        # Carried only where it stays exact: the squared loss's Hessian does not depend on w.
        self._tangent = tangent_state(n, d, X.dtype, TANGENT_CARRY_MAX if data.loss == "squared" else 0)
        if solver == "cd":
            # How many features the last certificate listed (kernels.path.path_step): all of
            # them before the first lambda.
            self._listed = d
            self._state = (*self._tangent, np.empty(d, dtype=np.int64),
                           *cd_work_arrays(n, d, X.dtype, np.empty(n, dtype=X.dtype), self.grad,
                                           np.empty(0, dtype=X.dtype)))

    def run(self, w: np.ndarray, b: float, grid: np.ndarray, start: int, stop: int, l1_ratio: float,
            coefs_out: np.ndarray, stats_out: np.ndarray) -> tuple[float, int]:
        """Solve at grid[start:stop] (grid decreasing), from the solution (w, b) at
        grid[start - 1], or from the start (w, b) when start = 0, for about PATH_CALL_SECONDS
        at most: returns (the intercept, done), having solved at grid[start:done], done > start;
        w (D,) is updated in place. Row k of coefs_out (K, D) receives w at grid[k], row k of
        stats_out (K, N_STATS) its numbers (``STAT_*``: intercept, objective, gap, penalty,
        iterations, non-zeros, seconds)."""
        data = self.data
        X = data.X
        if self.solver != "cd":
            called = time.perf_counter()
            for k in range(start, stop):
                began = time.perf_counter()
                b = self._fista_step(w, b, grid, k, l1_ratio, stats_out[k])
                stats_out[k, STAT_SECONDS] = time.perf_counter() - began
                coefs_out[k] = w
                if time.perf_counter() - called > PATH_CALL_SECONDS:
                    return b, k + 1
            return b, stop
        dtype = X.dtype.type
        with numba_threads(self.n_blocks):
            b, self._listed, done = path_kernels.path_run(
                _LOSS_CODE[data.loss], X, data.y, w, dtype(b), grid.astype(X.dtype), start, stop, PATH_CALL_SECONDS,
                dtype(l1_ratio), data.fit_intercept, self.screening, self.max_iter, dtype(self.tolerance),
                self.n_blocks > 1, self._listed, *self._state, coefs_out, stats_out,
            )
        if not np.isfinite(stats_out[done - 1, STAT_OBJECTIVE]):
            raise DivergenceError(f"cd diverged at lambda {grid[done - 1]:.4g}: the objective became non-finite.")
        return float(b), done

    def _fista_step(self, w: np.ndarray, b: float, grid: np.ndarray, k: int, l1_ratio: float, row: np.ndarray) -> float:
        """fista at grid[k] from the solution at grid[k - 1] (moved along the path's tangent)
        or the start; fills row's numbers but its seconds, returns the intercept."""
        lam = grid[k]
        l1, l2 = lam * l1_ratio, lam * (1.0 - l1_ratio)
        if k > 0:
            b = tangent_step(self.data, w, b, grid[k - 1], lam, l1_ratio, self._tangent)
        result = solve(self.data, l1=l1, l2=l2, solver=self.solver, lr=None, max_iter=self.max_iter, tol=self.tol,
                       w=w, intercept0=b, n_threads=self.n_threads, grad_out=self.grad, warn=False)
        row[STAT_INTERCEPT] = result.intercept
        row[STAT_OBJECTIVE] = result.objective
        row[STAT_GAP] = result.gap
        row[STAT_PENALTY] = l1 * float(np.sum(np.abs(w))) + 0.5 * l2 * float(np.sum(w * w))
        row[STAT_EPOCHS] = result.n_iter
        row[STAT_NNZ] = np.count_nonzero(w)
        return result.intercept


def tangent_step(data: Problem, w: np.ndarray, b: float, lam: float, lam_new: float, l1_ratio: float,
                 state: tuple | None = None) -> float:
    """The solution (w, b) at ``lam`` moved along the path to ``lam_new`` (its Taylor polynomial
    of third order) when that lowers the objective there (``kernels.path.tangent_step``); w is
    updated in place, the new intercept returned. Skipped (b returned) for a C-ordered X
    (``fista``'s, unless it reads by columns), and by the kernel for supports larger than N.
    ``state``: a path's :func:`tangent_state`, which carries the support's Hessian from one
    lambda to the next, and the step's work arrays; None builds it afresh at the current
    point."""
    X = data.X
    if not X.flags.f_contiguous:
        return b
    if state is None:
        state = tangent_state(*X.shape, X.dtype, 0)
    dtype = X.dtype.type
    b_new, _ready = path_kernels.tangent_step(_LOSS_CODE[data.loss], X, data.y, w, dtype(b), dtype(lam),
                                              dtype(lam_new), dtype(l1_ratio), data.fit_intercept,
                                              np.empty(0, dtype=np.int64), X.shape[1], *state)
    return float(b_new)


def tangent_state(n: int, d: int, dtype, largest: int) -> tuple:
    """``kernels.path.tangent_step``'s state before the first lambda: room to carry the Hessian
    of supports of up to ``largest`` features (no more than a tangent step takes: min(N, D)),
    the intercept's row included, and nothing carried yet (``kernels.path.carried_gram``);
    then its work arrays."""
    size = min(n, d, largest) + 1 if largest > 0 else 0
    return (np.empty((size, size), dtype=dtype), np.empty(size, dtype=np.int64),
            np.empty(n if size else 0, dtype=dtype), np.full(1, -1, dtype=np.int64),
            np.empty((path_kernels.TANGENT_SAMPLE_ROWS, n), dtype=dtype),
            np.empty((path_kernels.TANGENT_FEATURE_ROWS, min(n, d) + 1), dtype=dtype), np.empty(d, dtype=np.int64))


def lipschitz_constant(X: np.ndarray, loss: str, l2: float, fit_intercept: bool) -> float:
    """Upper bound estimate of the Lipschitz constant of the smooth part's gradient in (w, b).

    ``X`` must be a validated float array, C-contiguous or as ``fused.by_columns`` accepts.
    """
    norm = fused.squared_operator_norm(X, fit_intercept, 100, X.dtype.type(1e-4))
    return STEP_SAFETY * _CURVATURE[loss] * float(norm) / X.shape[0] + l2


def _default_step(loss: str, X: np.ndarray, l2: float, fit_intercept: bool) -> float:
    lipschitz = lipschitz_constant(X, loss, l2, fit_intercept)
    # L = 0 only for X = 0 without intercept: any step is exact then.
    return 1.0 / lipschitz if lipschitz > 0 else 1.0


def _intercept_at_zero(loss: str, y: np.ndarray) -> float:
    """The intercept minimizing the mean loss when w = 0."""
    mean = float(np.mean(y, dtype=np.float64))
    if loss == "logistic":
        return float(np.log(mean / (1.0 - mean)))
    return mean


def mean_loss_at_constant(loss: str, y: np.ndarray, b: float) -> float:
    """mean_i f(b, y_i): the mean loss of the model w = 0 with intercept b, in closed form."""
    b = float(b)
    if loss == "logistic":
        return float(np.logaddexp(0.0, b) - b * np.mean(y, dtype=np.float64))
    return float(0.5 * np.mean((b - y.astype(np.float64)) ** 2))


def _certificate_scale(loss, X, y, b_zero, criterion, column_major, parallel, z, grad) -> float:
    """What ``tol`` is relative to: F(0, b0) for the gap, ||grad F(0, b0)||_inf otherwise."""
    if criterion == fused.DUALITY_GAP:
        # In closed form: no kernel to load for it.
        return mean_loss_at_constant(loss, y, b_zero)
    code = _LOSS_CODE[loss]
    z[:] = b_zero
    coordinate.mean_loss_residual(code, z, y)
    if column_major:
        coordinate.gradient(X, z, parallel, grad)
    else:
        zeros = np.zeros(X.shape[1], dtype=X.dtype)
        partial = fused.partial_gradients(numba.get_num_threads() if parallel else 1, X.shape[1], X.dtype)
        fused.gradient(code, X, y, zeros, b_zero, np.empty_like(z), partial, grad)
    return float(np.max(np.abs(grad)))


def cd_work_arrays(n: int, d: int, dtype, z: np.ndarray, grad: np.ndarray, history: np.ndarray) -> tuple:
    """``coordinate.cd_solve``'s arguments from ``z`` on: fresh work arrays, an empty cache of
    column moments (curvature -1) and a fresh gradient-bound state, around the given z (N,),
    grad (D,) and history."""
    r, h, dz = (np.empty(n, dtype=dtype) for _ in range(3))
    score_work, center, grad_work, hess_work, w_new = (np.empty(d, dtype=dtype) for _ in range(5))
    curvature = np.full(d, -1.0, dtype=dtype)
    return (z, r, h, dz, grad, score_work, np.empty(d, dtype=np.int64), np.empty(d, dtype=np.int64), center,
            curvature, grad_work, hess_work, w_new, *fresh_bounds(n, d, dtype), history)


def _block_count(X: np.ndarray, n_threads) -> int:
    """Threads for the kernels on X: ``n_threads`` when given, else all of Numba's for X of
    PARALLEL_MIN_BYTES or more and one below."""
    if n_threads is not None:
        return n_threads
    return numba.get_num_threads() if X.nbytes >= PARALLEL_MIN_BYTES else 1


def _absolute_tolerance(tol: float, scale: float, dtype) -> float:
    """``tol`` relative to ``scale`` (see :func:`fit`); tol = 0 stays 0 (run max_iter iterations).

    A zero scale means (0, b0) is optimal: the smallest positive tolerance still stops there.
    """
    return tol * max(scale, float(np.finfo(dtype).tiny)) if tol > 0 else 0.0


def fresh_bounds(n: int, d: int, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The state of ``coordinate.bounded_gradient`` before any column is read: column norms
    unknown (-1), which makes its first call read every column and fill the references:
    residual and step (2, N), gradient and its step (2, D); and the blocks' ceilings,
    describing no scan yet (-1)."""
    blocks = -(-d // coordinate.SCAN_BLOCK)
    return (np.full(d, -1.0, dtype=dtype), np.empty((2, n), dtype=dtype), np.empty((2, d), dtype=dtype),
            np.full(blocks, -1.0, dtype=dtype))


def thread_count(n_threads) -> int | None:
    if n_threads is None:
        return None
    n_threads = validation.check_positive_int(n_threads, "n_threads")
    available = numba.config.NUMBA_NUM_THREADS
    if n_threads > available:
        raise ValueError(
            f"n_threads={n_threads} exceeds the {available} threads Numba was started with "
            "(NUMBA_NUM_THREADS)."
        )
    return n_threads


@contextlib.contextmanager
def numba_threads(count: int):
    """Run Numba's parallel regions in this thread on ``count`` threads, then restore."""
    if count <= 1:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _divergence_message(solver, step, lr, loss, X, l2, fit_intercept, n_iter, value) -> str:
    what = "became non-finite" if not np.isfinite(value) else f"grew to {value:.3g}"
    if solver == "cd":
        # cd takes no step size: only overflow in the sample state gets it here.
        return (f"cd diverged after {n_iter} epochs: the objective {what}; X's scale overflowed the "
                "solver's arithmetic: standardize X's columns (or pass float64 instead of float32).")
    safe = 1.0 / lipschitz_constant(X, loss, l2, fit_intercept)
    advice = (
        f"lr={step:.3g} is too large for this problem; a step of at most {safe:.3g} (= 1/L) "
        "converges: pass lr=None to use it."
        if lr is not None
        else f"the automatic step {step:.3g} was too large; pass a smaller lr, e.g. lr={safe / 2:.3g}."
    )
    return f"{solver} diverged at iteration {n_iter}: the objective {what}; {advice}"
