"""Per-sample math of the squared loss f(z, y) = (y - z)^2 / 2."""

from .._jit import kernel
from .vecmath import cast_like


@kernel(inline=True)
def loss_residual(z, y):
    """Loss (y - z)^2 / 2 and its derivative z - y at one sample (scalars)."""
    r = z - y
    return cast_like(z, 0.5) * r * r, r


@kernel(inline=True)
def residual(z, y):
    """Derivative z - y of the loss at one sample (scalars)."""
    return z - y


@kernel(inline=True)
def conjugate(u, y):
    """Fenchel conjugate f*(u) = u^2 / 2 + u y (scalars)."""
    return cast_like(u, 0.5) * u * u + u * y


@kernel
def optimal_intercept(xw, y, b):
    """Intercept minimizing mean (y - xw - b)^2 / 2 over b: mean(y - xw); xw, y (N,)."""
    total = type(b)(0.0)
    for i in range(xw.shape[0]):
        total += y[i] - xw[i]
    return total / type(b)(xw.shape[0])
