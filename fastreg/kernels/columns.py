"""Passes over the columns of a Fortran-ordered X, shared by coordinate descent and by the
gradient methods (gd, fista) on X with short columns.

In column-major order column j is one contiguous read: X w is a sum of columns scaled by
their coefficients, and X^T r one dot product per column.
"""

from numba import prange

from .._jit import kernel


@kernel
def predictor(X, w, b, z_out):
    """z = X w + b, adding only the columns with w_j != 0; X (N, D) Fortran, z_out (N,)."""
    n, d = X.shape
    for i in range(n):
        z_out[i] = b
    for j in range(d):
        wj = w[j]
        if wj != 0:
            for i in range(n):
                z_out[i] += wj * X[i, j]


@kernel
def column_dot(X, j, v):
    """X[:, j]^T v; X (N, D) Fortran, v (N,)."""
    total = X.dtype.type(0.0)
    for i in range(X.shape[0]):
        total += X[i, j] * v[i]
    return total


@kernel
def gradient_serial(X, r, active, grad_out):
    """grad_j = X_j^T r / N for the columns with active[j], 0 for the others; X (N, D) Fortran,
    r (N,), active (D,) bool, grad_out (D,)."""
    inv_n = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    for j in range(X.shape[1]):
        grad_out[j] = column_dot(X, j, r) * inv_n if active[j] else X.dtype.type(0.0)


@kernel(parallel=True)
def gradient_parallel(X, r, active, grad_out):
    """:func:`gradient_serial` with the columns split over threads (each column is independent,
    so the result does not depend on the thread count)."""
    inv_n = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    for j in prange(X.shape[1]):
        grad_out[j] = column_dot(X, j, r) * inv_n if active[j] else X.dtype.type(0.0)


@kernel
def gradient(X, r, active, parallel, grad_out):
    """grad = X^T r / N (D,) over the active columns (0 elsewhere), on all threads when parallel."""
    if parallel:
        gradient_parallel(X, r, active, grad_out)
    else:
        gradient_serial(X, r, active, grad_out)
