"""Per-sample math of the logistic loss f(z, y) = log(1 + exp(z)) - y z, y in {0, 1}."""

import numpy as np

from .._jit import kernel

# The largest change of the intercept in one Newton iteration of optimal_intercept, and the
# largest that it takes without checking the loss. The loss's third derivative is at most 0.1
# in size, so a Newton step s with mean curvature c changes the mean loss by at most
# -c s^2 / 2 + 0.1 |s|^3 / 6 < 0 when c > |s| / 30: with the margin c >= |s| / 15 and
# |s| <= 1/8 the step is a descent step, and checking it would cost a pass for nothing.
MAX_INTERCEPT_STEP = 8.0
TRUSTED_INTERCEPT_STEP = 0.125
# After a Newton step s at mean curvature c, the next one is at most M s^2 / (2 c), M = 0.0962
# the loss's largest third derivative; this constant keeps a factor 2 of margin on M / 2.
NEWTON_ERROR_FACTOR = 0.1


@kernel
def loss_residual(z, y):
    """Loss log(1 + e^z) - y z and its derivative sigmoid(z) - y at one sample (scalars)."""
    one = type(z)(1.0)
    e = np.exp(-abs(z))
    # NumPy: sigmoid without overflow, one exp shared with the loss.
    if z >= 0:
        p = one / (one + e)
        log_one_plus_exp = z + np.log1p(e)
    else:
        p = e / (one + e)
        log_one_plus_exp = np.log1p(e)
    return log_one_plus_exp - y * z, p - y


@kernel
def residual(z, y):
    """Derivative sigmoid(z) - y of the loss at one sample (scalars): one exp, no log."""
    one = type(z)(1.0)
    e = np.exp(-abs(z))
    if z >= 0:
        return one / (one + e) - y
    return e / (one + e) - y


@kernel
def conjugate(u, y):
    """Fenchel conjugate f*(u) = q log q + (1 - q) log(1 - q), q = u + y in [0, 1] (scalars)."""
    zero = type(u)(0.0)
    one = type(u)(1.0)
    q = min(max(u + y, zero), one)
    value = zero
    if q > zero:
        value += q * np.log(q)
    if q < one:
        value += (one - q) * np.log(one - q)
    return value


@kernel
def optimal_intercept(xw, y, b):
    """Intercept minimizing mean f(xw + b, y) over b, by safeguarded Newton from b; xw, y (N,)."""
    n = xw.shape[0]
    zero = type(b)(0.0)
    one = type(b)(1.0)
    half = type(b)(0.5)
    eps = np.finfo(xw.dtype).eps
    previous = type(b)(np.inf)
    for _ in range(100):
        # Slope and curvature take one exp per sample; the losses (a log more) are summed only
        # for a step that must be checked.
        slope = zero
        curvature = zero
        for i in range(n):
            ri = residual(xw[i] + b, y[i])
            slope += ri
            p = ri + y[i]
            curvature += p * (one - p)
        if slope == zero or curvature <= zero:
            break
        # On separable data the curvature vanishes and the Newton step has no bound: a move of
        # more than MAX_INTERCEPT_STEP in logit units is never needed in one iteration.
        step = max(min(slope / curvature, MAX_INTERCEPT_STEP), -MAX_INTERCEPT_STEP)
        trusted = abs(step) <= TRUSTED_INTERCEPT_STEP and 15 * curvature >= abs(step) * n
        if not trusted:
            # Halve the Newton step until the loss does not increase: far from the optimum the
            # curvature of the logistic loss can be tiny and a full step overshoots. The change
            # is summed per sample: the rounding of a sum of N losses grows with N and, near
            # the optimum, exceeds the change itself, which rejected every step on large N. A
            # change within rounding of the loss accepts the step.
            loss = zero
            for i in range(n):
                li, _ri = loss_residual(xw[i] + b, y[i])
                loss += li
            slack = 16 * eps * loss
            for _ in range(60):
                change = zero
                for i in range(n):
                    new_loss, _ri = loss_residual(xw[i] + b - step, y[i])
                    old_loss, _ri = loss_residual(xw[i] + b, y[i])
                    change += new_loss - old_loss
                if change <= slack:
                    break
                step *= half
        b -= step
        rounding = 4 * eps * (one + abs(b))
        if abs(step) <= rounding:
            break
        if trusted:
            # Trusted steps are in Newton's quadratic phase, where each step is far smaller
            # than the last: one that is not at most half the last is rounding noise in the
            # slope, and one whose successor is bounded below rounding ends the solve without
            # another pass.
            if abs(step) > half * previous or NEWTON_ERROR_FACTOR * step * step * n <= rounding * curvature:
                break
        previous = abs(step)
    return b
