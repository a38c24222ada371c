"""Figures with matplotlib, imported only when a function here runs.

Each function takes an optional Axes, draws on it (or on a new figure's) and returns it.
"""

from __future__ import annotations

import numpy as np

from . import validation
from .path import CrossValidation, Path


def _axes(ax):
    if ax is not None:
        from matplotlib.axes import Axes

        return validation.check_type(ax, Axes, "ax", "e.g. plt.subplots()[1], or None for a new figure")
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(6, 4)).add_subplot()


def _log_lambda_axis(ax, lambdas):
    """log(lambdas) for the x axis, which runs from the first lambda to the last (a single
    lambda keeps matplotlib's automatic limits: equal limits would be singular)."""
    log_lambdas = np.log(lambdas)
    if len(log_lambdas) > 1:
        ax.set_xlim(log_lambdas[0], log_lambdas[-1])
    ax.set_xlabel("log(lambda)")
    return log_lambdas


def cost_curves(histories: dict, ax=None, *, log_y: bool = False):
    """Objective against iteration, one line per entry of ``histories`` (label -> array)."""
    ax = _axes(ax)
    for label, history in histories.items():
        ax.plot(np.arange(1, len(history) + 1), history, label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective F(w, b)")
    if log_y:
        ax.set_yscale("log")
    ax.legend()
    return ax


def coefficients(series: dict, ax=None, *, markers=("o", "x", "s", "^", "d")):
    """Coefficient values against feature index, one marker style per entry of ``series``."""
    ax = _axes(ax)
    for (label, values), marker in zip(series.items(), markers * len(series)):
        ax.plot(np.arange(len(values)), values, marker, label=label, markersize=5, linestyle="none")
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlabel("feature j")
    ax.set_ylabel("w_j")
    ax.legend()
    return ax


def trajectories(iterations, weights, ax=None, *, label: str = "", linestyle: str = "-"):
    """Each coefficient's value against iteration; ``weights`` has shape (len(iterations), D)."""
    ax = _axes(ax)
    weights = np.asarray(weights)
    for j in range(weights.shape[1]):
        ax.plot(iterations, weights[:, j], linestyle, label=f"{label} w_{j}" if label else None)
    ax.set_xlabel("iteration")
    ax.set_ylabel("w_j")
    ax.legend()
    return ax


def coefficient_path(path, ax=None, *, n_labels: int = 5):
    """Each coefficient against log(lambda), largest lambda on the left; the ``n_labels``
    coefficients largest in absolute value at the smallest lambda are labelled."""
    validation.check_type(path, Path, "path", "from fastreg.regularization_path")
    ax = _axes(ax)
    log_lambdas = _log_lambda_axis(ax, path.lambdas)
    ax.plot(log_lambdas, path.coefs, linewidth=1)
    final = path.coefs[-1]
    for j in np.argsort(-np.abs(final))[: min(n_labels, int(np.count_nonzero(final)))]:
        ax.annotate(f"w_{j}", (log_lambdas[-1], final[j]), textcoords="offset points", xytext=(3, 0),
                    fontsize=8, va="center")
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_ylabel("coefficient")
    ax.set_title(f"{path.loss} path, l1_ratio={path.l1_ratio:g}")
    return ax


def path_profile(path, ax=None):
    """Per lambda: wall time (left axis), iterations and non-zeros (right axis) against log(lambda)."""
    validation.check_type(path, Path, "path", "from fastreg.regularization_path")
    ax = _axes(ax)
    log_lambdas = _log_lambda_axis(ax, path.lambdas)
    ax.plot(log_lambdas, path.seconds * 1e3, color="C0", label="time (ms)")
    ax.set_ylabel("time per lambda (ms)", color="C0")
    right = ax.twinx()
    right.plot(log_lambdas, path.n_iter, color="C1", label="iterations")
    right.plot(log_lambdas, path.nnz, color="C2", label="non-zeros")
    right.set_ylabel("iterations, non-zeros")
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="upper left")
    ax.set_title(f"path profile: {path.seconds.sum():.3g} s in all")
    return ax


def cv_curve(cv, ax=None):
    """Mean held-out error against log(lambda) with one-standard-error bars; lambda_min and
    lambda_1se marked."""
    validation.check_type(cv, CrossValidation, "cv", "from fastreg.cross_validate_path")
    ax = _axes(ax)
    log_lambdas = _log_lambda_axis(ax, cv.lambdas)
    ax.errorbar(log_lambdas, cv.mean, yerr=cv.std_error, fmt="o", markersize=3, color="C3", ecolor="grey",
                elinewidth=0.8, capsize=2)
    ax.axvline(np.log(cv.lambda_min), linestyle="--", color="k", linewidth=0.8, label=f"lambda_min {cv.lambda_min:.3g}")
    ax.axvline(np.log(cv.lambda_1se), linestyle=":", color="k", linewidth=0.8, label=f"lambda_1se {cv.lambda_1se:.3g}")
    ax.set_ylabel(f"{cv.scoring} ({cv.errors.shape[0]}-fold)")
    ax.legend()
    return ax
