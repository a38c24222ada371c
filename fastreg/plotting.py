"""Figures with matplotlib, imported only when a function here runs.

Each function takes an optional Axes, draws on it (or on a new figure's) and returns it.
"""

from __future__ import annotations

import numpy as np


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(6, 4)).add_subplot()


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
