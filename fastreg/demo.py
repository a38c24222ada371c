"""The seed experiments, reproduced with fastreg: ``python -m fastreg demo``.

1. L1 logistic regression on the wide textbook problem (N = D = 50): the textbook
   subgradient loop (learning rate 0.001, l1 = 2 and 10 in the sum form) run by ``gd``, then
   ``fista`` with exact zeros.
2. L2 logistic regression on two Gaussian clouds: without a penalty the weights keep growing;
   with l2 they settle.
3. Linear regression: L1 sets the useless weights to zero, L2 only shrinks them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .reference import sigmoid
from .solvers import fit


def wide_l1_problem(seed: int = 0):
    """The textbook problem: X uniform in [-5, 5], 50 x 50, three informative features."""
    rng = np.random.default_rng(seed)
    n, d = 50, 50
    X = (rng.random((n, d)) - 0.5) * 10
    true_w = np.array([1.0, 0.5, -0.5] + [0.0] * (d - 3))
    y = np.round(sigmoid(X @ true_w + rng.standard_normal(n) * 0.5))
    w0 = rng.standard_normal(d) / np.sqrt(d)
    return X, y, true_w, w0


def gaussian_clouds(seed: int = 0, per_class: int = 50):
    """Two unit-variance clouds centred at (2, 2) (label 1) and (-2, -2) (label 0)."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.standard_normal((per_class, 2)) + 2, rng.standard_normal((per_class, 2)) - 2])
    y = np.r_[np.ones(per_class), np.zeros(per_class)]
    return X, y


def sparse_linear_problem(seed: int = 0, n: int = 100, d: int = 20):
    """y = X w + noise with only the first three of d weights non-zero."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    true_w = np.zeros(d)
    true_w[:3] = [2.0, -1.5, 1.0]
    return X, X @ true_w + 0.5 * rng.standard_normal(n), true_w


def weight_trajectory(X, y, l2: float, checkpoints: int, every: int):
    """Run ``gd`` in chunks of ``every`` iterations, recording (w, b) after each chunk."""
    w, b = np.zeros(X.shape[1]), 0.0
    path = []
    for _ in range(checkpoints):
        result = fit(X, y, l2=l2, solver="gd", tol=0, max_iter=every, w0=w, intercept0=b)
        w, b = result.coef, result.intercept
        path.append(np.r_[w, b])
    return np.arange(1, checkpoints + 1) * every, np.array(path)


def run(out: Path) -> str:
    """Run the three experiments, write PNG figures into ``out`` (when matplotlib is there)."""
    lines = []
    started = time.perf_counter()

    X, y, true_w, w0 = wide_l1_problem()
    n = X.shape[0]
    textbook = {}
    for l1_sum in (2.0, 10.0):
        textbook[l1_sum] = fit(X, y, solver="gd", lr=0.001 * n, l1=l1_sum / n, fit_intercept=False,
                               tol=0, max_iter=5000, w0=w0, history=True)
    exact = {l1_sum: fit(X, y, solver="fista", l1=l1_sum / n, fit_intercept=False, tol=1e-8) for l1_sum in textbook}
    lines.append("1. L1 logistic, wide textbook problem (N = D = 50, true support {0, 1, 2})")
    for l1_sum, result in textbook.items():
        lines.append(
            f"   gd, 5000 steps, lr 0.001 and l1 {l1_sum:g} (sum form): objective {result.objective:.4f}, "
            f"w[:3] = {np.array2string(result.coef[:3], precision=2)}, "
            f"largest |w_j| off the support {np.abs(result.coef[3:]).max():.3f}"
        )
    for l1_sum, result in exact.items():
        support = np.flatnonzero(result.coef)
        lines.append(
            f"   fista, l1 {l1_sum:g}: {result.n_iter} iterations, duality gap {result.gap:.1e}, "
            f"support {support.tolist()} ({len(support)} non-zero of {len(result.coef)}, the rest exactly 0)"
        )

    X2, y2 = gaussian_clouds()
    l2 = 0.1 / X2.shape[0]
    steps, free = weight_trajectory(X2, y2, 0.0, 100, 50)
    _, ridge = weight_trajectory(X2, y2, l2, 100, 50)
    lines.append("2. L2 logistic, Gaussian clouds at (2, 2) and (-2, -2), gd for 5000 steps")
    lines.append(
        f"   no penalty: |w| {np.linalg.norm(free[len(free) // 2, :2]):.2f} at step 2500, "
        f"{np.linalg.norm(free[-1, :2]):.2f} at step 5000 (still growing)"
    )
    lines.append(
        f"   l2 {l2:g} (0.1 in the sum form): |w| {np.linalg.norm(ridge[len(ridge) // 2, :2]):.2f} "
        f"at step 2500, {np.linalg.norm(ridge[-1, :2]):.2f} at step 5000 (settled)"
    )

    X3, y3, true_w3 = sparse_linear_problem()
    lasso = fit(X3, y3, loss="squared", l1=0.1, tol=1e-10)
    ridge3 = fit(X3, y3, loss="squared", l2=1.0, tol=1e-10)
    lines.append("3. Linear regression, 3 useful features of 20")
    lines.append(f"   L1 (l1 0.1): {np.sum(lasso.coef == 0)} of 17 useless weights exactly 0")
    lines.append(
        f"   L2 (l2 1.0): {np.sum(ridge3.coef == 0)} exactly 0, largest useless |w_j| "
        f"{np.abs(ridge3.coef[3:]).max():.3f} (shrunk, not removed)"
    )
    lines.append(f"Solved in {time.perf_counter() - started:.2f} s (compilation included on a first run).")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        lines.append("Figures skipped: matplotlib is not installed (pip install 'fastreg[plot]').")
        return "\n".join(lines)

    from . import plotting

    out.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    plotting.cost_curves({f"l1 = {k:g} (sum form)": r.history for k, r in textbook.items()}, left, log_y=True)
    left.set_title("gd on the textbook problem: cost")
    plotting.coefficients(
        {"true w": true_w, "gd, l1 = 2": textbook[2.0].coef, "gd, l1 = 10": textbook[10.0].coef,
         "fista, l1 = 10 (exact zeros)": exact[10.0].coef},
        right,
    )
    right.set_title("true vs estimated w")
    fig.tight_layout()
    fig.savefig(out / "l1_logistic.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    plotting.trajectories(steps, free[:, :2], ax, label="no penalty", linestyle="-")
    plotting.trajectories(steps, ridge[:, :2], ax, label="l2", linestyle="--")
    ax.set_title("Gaussian clouds: weights grow without a penalty, settle with l2")
    fig.tight_layout()
    fig.savefig(out / "l2_logistic.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    plotting.coefficients({"true w": true_w3, "L1 (lasso)": lasso.coef, "L2 (ridge)": ridge3.coef}, ax)
    ax.set_title("Linear regression: L1 zeroes useless weights, L2 shrinks them")
    fig.tight_layout()
    fig.savefig(out / "linear_l1_vs_l2.png", dpi=110)
    plt.close(fig)
    lines.append(f"Figures: {out / 'l1_logistic.png'}, {out / 'l2_logistic.png'}, {out / 'linear_l1_vs_l2.png'}")
    return "\n".join(lines)
