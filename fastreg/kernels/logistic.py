"""Per-sample math of the logistic loss f(z, y) = log(1 + exp(z)) - y z, y in {0, 1}."""

import numpy as np

from .._jit import kernel
from . import vecmath

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


@kernel(inline=True)
def loss_residual(z, y):
    """Loss log(1 + e^z) - y z and its derivative sigmoid(z) - y at one sample (scalars)."""
    # NumPy: sigmoid without overflow, one exp shared with the loss, exp and log in float64
    # (vecmath's functions) rounded to the dtype of z. The loss is log1p(e^-|z|) +
    # (max(z, 0) - y z): for labels in {0, 1} the bracket is exact, so a confident, correct
    # prediction keeps its tiny loss instead of cancelling to 0.
    e = vecmath.exp_nonpositive(np.float64(-abs(z)))
    p = (1.0 if z >= 0 else e) / (1.0 + e)
    margin = max(z, vecmath.cast_like(z, 0.0)) - y * z
    return vecmath.cast_like(z, vecmath.log1p_unit(e)) + margin, vecmath.cast_like(z, p) - y


@kernel(inline=True)
def residual(z, y):
    """Derivative sigmoid(z) - y of the loss at one sample (scalars): one exp, no log."""
    e = vecmath.exp_nonpositive(np.float64(-abs(z)))
    return vecmath.cast_like(z, (1.0 if z >= 0 else e) / (1.0 + e)) - y


@kernel(inline=True)
def conjugate(u, y):
    """Fenchel conjugate f*(u) = q log q + (1 - q) log(1 - q), q = u + y in [0, 1] (scalars)."""
    q = np.float64(min(max(u + y, vecmath.cast_like(u, 0.0)), vecmath.cast_like(u, 1.0)))
    value = 0.0
    if q > 0.0:
        value += q * vecmath.log_positive(q)
    if q < 1.0:
        value += (1.0 - q) * vecmath.log_positive(1.0 - q)
    return vecmath.cast_like(u, value)


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
