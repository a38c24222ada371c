"""The pure-NumPy twin of every kernel: the test oracle and the benchmark baseline.

Written like the textbook loop (``Yhat = sigmoid(X @ w); delta = Yhat - Y;
w = w - lr * (X.T @ delta + l1 * np.sign(w) + l2 * w)``) in the mean form of DESIGN.md:
F(w, b) = mean_i f(X[i] w + b, y_i) + l1 ||w||_1 + (l2 / 2) ||w||_2^2. ``loss`` is
``"logistic"`` (y in {0, 1}) or ``"squared"``. Nothing here is tuned for speed.
"""

from __future__ import annotations

import numpy as np

def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) without overflow."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log1pexp(z: np.ndarray) -> np.ndarray:
    """log(1 + exp(z)) without overflow."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def loss_residual(loss: str, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample losses f(z_i, y_i) and derivatives f'(z_i, y_i)."""
    if loss == "logistic":
        # max(z, 0) - y z is exact for labels in {0, 1}: no cancellation at confident margins.
        return np.log1p(np.exp(-np.abs(z))) + (np.maximum(z, 0.0) - y * z), sigmoid(z) - y
    return 0.5 * (z - y) ** 2, z - y


def conjugate(loss: str, u: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample Fenchel conjugates f*(u_i) of the loss."""
    if loss == "logistic":
        q = np.clip(u + y, 0.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(q > 0, q * np.log(q), 0.0) + np.where(q < 1, (1 - q) * np.log(1 - q), 0.0)
    return 0.5 * u**2 + u * y


def optimal_intercept(loss: str, xw: np.ndarray, y: np.ndarray, b: float) -> float:
    """Intercept minimizing the mean loss at linear predictor xw + b (Newton from b)."""
    if loss == "squared":
        return float(np.mean(y - xw))
    previous = np.inf
    eps = np.finfo(xw.dtype).eps
    for _ in range(100):
        p = sigmoid(xw + b)
        slope = np.sum(p - y)
        curvature = np.sum(p * (1 - p))
        if slope == 0 or curvature <= 0:
            break
        step = np.clip(slope / curvature, -8.0, 8.0)  # the kernel's MAX_INTERCEPT_STEP
        trusted = abs(step) <= 0.125 and 15 * curvature >= abs(step) * len(y)  # the kernel's rule
        if not trusted:
            # The kernel's test: the change summed per sample, within rounding of the loss.
            each = loss_residual(loss, xw + b, y)[0]
            slack = 16 * eps * np.sum(each)
            while np.sum(loss_residual(loss, xw + b - step, y)[0] - each) > slack:
                step *= 0.5
        b -= step
        rounding = 4 * eps * (1 + abs(b))
        if abs(step) <= rounding:
            break
        # The kernel's stops in Newton's quadratic phase: a step not halving, or a bound on the
        # next step (NEWTON_ERROR_FACTOR s^2 / mean curvature) below rounding.
        if trusted and (abs(step) > 0.5 * previous or 0.1 * step * step * len(y) <= rounding * curvature):
            break
        previous = abs(step)
    return float(b)


def penalty(w: np.ndarray, l1: float, l2: float) -> float:
    """l1 ||w||_1 + (l2 / 2) ||w||_2^2."""
    return l1 * np.sum(np.abs(w)) + 0.5 * l2 * np.sum(w * w)


def objective(loss: str, X, y, w, b, l1: float, l2: float) -> float:
    """F(w, b)."""
    return float(np.mean(loss_residual(loss, X @ w + b, y)[0]) + penalty(w, l1, l2))


def gradient(loss: str, X, y, w, b) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(mean loss, mean residual, X^T r / N, z) at (w, b): the fused pass, unfused."""
    z = X @ w + b
    losses, delta = loss_residual(loss, z, y)
    return float(np.mean(losses)), float(np.mean(delta)), X.T @ delta / X.shape[0], z


def soft_threshold(u: np.ndarray, t: float) -> np.ndarray:
    """sign(u) max(|u| - t, 0)."""
    return np.sign(u) * np.maximum(np.abs(u) - t, 0.0)


def penalty_step(w, grad, lr, l1, l2, prox: bool) -> np.ndarray:
    """The step on w from the loss gradient: subgradient (textbook) or proximal form."""
    if prox:
        return soft_threshold(w - lr * grad, lr * l1) / (1 + lr * l2)
    return w - lr * (grad + l1 * np.sign(w) + l2 * w)


def gd_step(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox):
    """One gradient step; returns (F(w, b) before the step, new w, new b)."""
    loss_mean, residual_mean, grad, _z = gradient(loss, X, y, w, b)
    value = loss_mean + penalty(w, l1, l2)
    w = penalty_step(w, grad, lr, l1, l2, prox)
    if fit_intercept:
        b = b - lr * residual_mean
    return value, w, b


def gd_solve(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox, n_iter):
    """n_iter gradient steps from (w, b); returns (w, b, history of F before each step)."""
    history = np.empty(n_iter)
    for k in range(n_iter):
        history[k], w, b = gd_step(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox)
    return w, b, history


def fista_solve(loss, X, y, w, b, lr, l1, l2, fit_intercept, n_iter):
    """n_iter FISTA iterations with adaptive restart; returns (w, b, history of F at each v)."""
    v, vb, t = w.copy(), b, 1.0
    history = np.empty(n_iter)
    for k in range(n_iter):
        loss_mean, residual_mean, grad, _z = gradient(loss, X, y, v, vb)
        history[k] = loss_mean + penalty(v, l1, l2)
        w_prev, b_prev = w, b
        w = penalty_step(v, grad, lr, l1, l2, True)
        if fit_intercept:
            b = vb - lr * residual_mean
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        if np.dot(v - w, w - w_prev) + (vb - b) * (b - b_prev) > 0:
            v, vb, t = w.copy(), b, 1.0
        else:
            beta = (t - 1) / t_next
            v, vb, t = w + beta * (w - w_prev), b + beta * (b - b_prev), t_next
    return w, b, history


def certificate(loss, X, y, w, b, l1, l2, fit_intercept) -> tuple[float, float, float]:
    """(objective, duality gap, gradient norm) at (w, b), as ``fused.certificate`` defines them."""
    loss_mean, residual_mean, grad, z = gradient(loss, X, y, w, b)
    value = loss_mean + penalty(w, l1, l2)
    g = grad + l2 * w
    sub = np.where(w > 0, np.abs(g + l1), np.where(w < 0, np.abs(g - l1), np.maximum(np.abs(g) - l1, 0)))
    grad_norm = max(float(np.max(sub, initial=0.0)), abs(residual_mean) if fit_intercept else 0.0)
    if l1 == 0 and l2 == 0:
        return value, np.inf, grad_norm
    if fit_intercept:
        b_opt = optimal_intercept(loss, z - b, y, b)
        _loss, _res, grad, z = gradient(loss, X, y, w, b_opt)
    scale = 1.0
    if l2 == 0 and np.max(np.abs(grad)) > l1:
        scale = l1 / np.max(np.abs(grad))
    u = scale * loss_residual(loss, z, y)[1]
    dual = -np.mean(conjugate(loss, u, y))
    if l2 > 0:
        dual -= np.sum(np.maximum(np.abs(scale * grad) - l1, 0) ** 2) / (2 * l2)
    return value, max(value - dual, 0.0), grad_norm


def squared_operator_norm(X, fit_intercept: bool) -> float:
    """||A||_2^2, A = [X, 1] with an intercept else X (exact, by SVD)."""
    A = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
    return float(np.linalg.norm(A, 2) ** 2)


def cd_epoch(X, y, w, b, l1, l2, fit_intercept):
    """One coordinate-descent epoch of the squared loss over every feature, in order.

    Each coordinate minimizes F exactly in (w_j, b) together: with an intercept the column is
    centered, so b follows w_j and stays optimal. Returns (w, b); w is not modified.
    """
    w = w.copy()
    n = X.shape[0]
    for j in range(X.shape[1]):
        x = X[:, j] - (X[:, j].mean() if fit_intercept else 0.0)
        curvature = x @ x / n
        if curvature == 0:
            continue
        r = X @ w + b - y
        step = soft_threshold(curvature * w[j] - x @ r / n, l1) / (curvature + l2)
        if fit_intercept:
            b -= (step - w[j]) * X[:, j].mean()
        w[j] = step
    if fit_intercept:
        b -= np.mean(X @ w + b - y)
    return w, b


def proximal_newton_direction(X, y, w, b, l1, l2, n_epochs):
    """The target of one proximal-Newton step of the logistic loss, without intercept.

    Minimizes the quadratic model of the mean loss at (w, b) plus the penalty by ``n_epochs``
    CD epochs, writing the model as NumPy would: gradient X^T r / N and weights p (1 - p) / N.
    Returns the model's minimizer w_new (the step is w_new - w).
    """
    n = X.shape[0]
    z = X @ w + b
    p = sigmoid(z)
    r, h = p - y, p * (1 - p)
    w_new = w.copy()
    for _ in range(n_epochs):
        for j in range(X.shape[1]):
            dz = X @ (w_new - w)
            g = X[:, j] @ (r + h * dz) / n
            curvature = (h * X[:, j]) @ X[:, j] / n
            w_new[j] = soft_threshold(curvature * w_new[j] - g, l1) / (curvature + l2)
    return w_new
