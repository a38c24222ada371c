"""What the benchmarks time: K fused-kernel iterations, the NumPy twin's, and the read bound.

Shared by the pytest-benchmark suite (``bench/test_kernels.py``) and the target report
(``bench/targets.py``) so both time exactly the same work.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
from numba import prange

from fastreg import reference
from fastreg._jit import kernel
from fastreg.kernels import fused
from fastreg.solvers import numba_threads

# (N, D): square in cache, tall, wide and very wide, and out-of-cache (80 MB) tall, wide, square.
SHAPES = [(50, 50), (1000, 100), (100_000, 100), (100, 10_000), (100, 100_000), (10_000, 1000)]
OUT_OF_CACHE = [(100_000, 100), (100, 100_000), (10_000, 1000)]
L1, L2 = 1e-3, 1e-3


@functools.lru_cache(maxsize=None)
def problem(n: int, d: int):
    """A fixed logistic problem of shape (N, D), C-ordered float64, and its 1/L step."""
    rng = np.random.default_rng(n * 7919 + d)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(float)
    # ||X||_2^2 <= ||X||_F^2: a safe step without a power iteration.
    lr = 1.0 / (0.25 * float(np.sum(X * X)) / n + L2)
    return X, y, lr


def iterations_for(n: int, d: int) -> int:
    """Iterations per timed solve: about 2e8 multiply-adds, at least 10."""
    return max(10, int(2e8 // (n * d)))


def numpy_solve(X, y, lr, n_iter):
    """The NumPy twin: n_iter textbook gradient steps."""
    return reference.gd_solve("logistic", X, y, np.zeros(X.shape[1]), 0.0, lr, L1, L2, True, False, n_iter)


def numba_solver(X, y, lr, n_iter, threads: int):
    """A callable running n_iter fused gradient steps inside one Numba call on ``threads`` threads."""
    n, d = X.shape
    z, grad = np.empty(n), np.empty(d)
    partial = np.empty((threads, d)) if threads > 1 else np.empty((1, 0))
    history = np.empty(0)

    def solve():
        w = np.zeros(d)
        with numba_threads(threads):
            return fused.gd_solve(fused.LOGISTIC, X, y, w, 0.0, lr, L1, L2, True, False, n_iter, 0.0,
                                  fused.DUALITY_GAP, 10, z, partial, grad, history)

    return solve


@contextlib.contextmanager
def blas_threads(count: int):
    """Limit NumPy's BLAS to ``count`` threads when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=count, user_api="blas"):
        yield


@kernel
def read_sum(a):
    """Sum of a 1-D array on one thread: a streaming read."""
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i]
    return total


@kernel(parallel=True)
def read_sum_parallel(a, n_blocks):
    """Sum of a 1-D array read in n_blocks contiguous blocks on Numba's threads."""
    partial = np.zeros(n_blocks)
    n = a.shape[0]
    for k in prange(n_blocks):
        # The serial kernel per block: a parfor body is not vectorized like a kernel is.
        partial[k] = read_sum(a[(k * n) // n_blocks:((k + 1) * n) // n_blocks])
    return partial.sum()


def read_bandwidth(array: np.ndarray, threads: int, repeats: int = 7) -> float:
    """Median bytes per second of a full read of ``array`` on ``threads`` threads."""
    import time

    def once():
        if threads > 1:
            with numba_threads(threads):
                return read_sum_parallel(array, threads)
        return read_sum(array)

    once()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return array.nbytes / float(np.median(times))
