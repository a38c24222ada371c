"""pytest-benchmark suite, kernels: K fused gradient steps against the NumPy twin, and K CD
epochs (the squared loss's and the logistic loss's quadratic model's), per (N, D).

Run ``pytest bench --benchmark-only``. Each group is one shape; compare rows within it. The
first call of each Numba variant (compilation or cache load) happens before timing.
"""

import numba
import numpy as np
import pytest

from bench import workloads

THREADS = sorted({1, numba.config.NUMBA_NUM_THREADS})


@pytest.mark.parametrize("shape", workloads.SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thread")
def test_numpy_twin(benchmark, shape, threads):
    X, y, lr = workloads.problem(*shape)
    n_iter = workloads.iterations_for(*shape)
    benchmark.group = f"gd {shape[0]}x{shape[1]}, {n_iter} iterations"
    benchmark.extra_info["iterations"] = n_iter
    with workloads.blas_threads(threads):
        benchmark(workloads.numpy_solve, X, y, lr, n_iter)


@pytest.mark.parametrize("shape", workloads.SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thread")
def test_fused_numba(benchmark, shape, threads):
    X, y, lr = workloads.problem(*shape)
    n_iter = workloads.iterations_for(*shape)
    benchmark.group = f"gd {shape[0]}x{shape[1]}, {n_iter} iterations"
    benchmark.extra_info["iterations"] = n_iter
    solve = workloads.numba_solver(X, y, lr, n_iter, threads)
    solve()  # compile or load from cache outside the timing
    benchmark(solve)


@pytest.mark.parametrize("shape", workloads.SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("loss", ["squared", "logistic model"])
def test_cd_epoch(benchmark, shape, loss):
    n, d = shape
    rng = np.random.default_rng(n * 7919 + d)
    X = np.asfortranarray(rng.standard_normal((n, d)))
    y = X[:, 0] + 0.5 * rng.standard_normal(n)
    epochs = max(3, workloads.iterations_for(n, d) // 4)
    benchmark.group = f"cd epoch {n}x{d}, {epochs} epochs"
    benchmark.extra_info["epochs"] = epochs
    if loss == "squared":
        solve = workloads.cd_solver(X, y, epochs)
    else:
        solve = workloads.model_solver(X, (y > 0).astype(np.float64), epochs)
    solve()  # compile or load from cache outside the timing
    benchmark(solve)
