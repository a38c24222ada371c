"""What the benchmarks time: K fused-kernel iterations, the NumPy twin's, CD epochs (the squared
loss's and the logistic loss's quadratic model's), and the
machine's bounds (streaming read bandwidth, multiply-add rate).

Shared by the pytest-benchmark suite (``bench/test_kernels.py``), the target report
(``bench/targets.py``) and the grid report (``bench/grid.py``) so all time exactly the same work.
"""

from __future__ import annotations

import contextlib
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import prange

from fastreg import reference
from fastreg._jit import kernel
from fastreg.kernels import coordinate, fused
from fastreg.solvers import numba_threads

ROOT = Path(__file__).resolve().parents[1]

# (N, D): square in cache, tall, wide and very wide, and out-of-cache (80 MB) tall, wide, square.
SHAPES = [(50, 50), (1000, 100), (100_000, 100), (100, 10_000), (100, 100_000), (10_000, 1000)]
OUT_OF_CACHE = [(100_000, 100), (100, 100_000), (10_000, 1000)]
# Data this big or bigger is out of every cache on the development machine (32 MiB L3).
OUT_OF_CACHE_BYTES = 64 << 20
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


# Multiply-adds per timed solve: about 0.1 s of fused steps on the development machine.
WORK = 2e8


def iterations_for(n: int, d: int, work: float = WORK) -> int:
    """Iterations per timed solve: about ``work`` multiply-adds, at least 10."""
    return max(10, int(work // (n * d)))


def numpy_solve(X, y, lr, n_iter):
    """The NumPy twin: n_iter textbook gradient steps."""
    return reference.gd_solve("logistic", X, y, np.zeros(X.shape[1]), 0.0, lr, L1, L2, True, False, n_iter)


def numba_solver(X, y, lr, n_iter, threads: int, kernels=fused):
    """A callable running n_iter fused gradient steps inside one Numba call on ``threads`` threads.

    ``kernels`` is the module of the fused kernels: another version's, for bench/ab.py.
    """
    n, d = X.shape
    z, grad = np.empty(n), np.empty(d)
    partial = kernels.partial_gradients(threads, d, X.dtype)
    history = np.empty(0)

    def solve():
        w = np.zeros(d)
        with numba_threads(threads):
            return kernels.gd_solve(kernels.LOGISTIC, X, y, w, 0.0, lr, L1, L2, True, False, n_iter, 0.0,
                                    kernels.DUALITY_GAP, 10, z, partial, grad, history)

    return solve


def seconds(function) -> float:
    """Wall time of one call of ``function``."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def take_turns(versions, call, repeats: int) -> dict:
    """{name: [call(version) of each timed round]}: the versions take turns for repeats + 1
    rounds, and the first (compilation, first touch) is dropped, so that the machine's slow
    spells hit every version alike."""
    results = {name: [] for name in versions}
    for round_ in range(repeats + 1):
        for name, version in versions.items():
            outcome = call(version)
            if round_ > 0:
                results[name].append(outcome)
    return results


def take_turns_with_read(calls, X, threads: int, with_read: bool, repeats: int):
    """(:func:`take_turns` of the calls' wall times, [seconds of each read of X on threads
    threads]): with ``with_read`` (X out of every cache) a read of X takes its turn too, the
    one-read bound measured through the same slow spells as the calls; else no reads."""
    versions = dict(calls)
    if with_read:
        versions["read"] = lambda: read_once(X, threads)
    runs = take_turns(versions, seconds, repeats)
    return runs, runs.pop("read", [])


def median_seconds(function, repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``function``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


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


def read_once(array: np.ndarray, threads: int):
    """One full read of ``array`` (any layout, read in memory order) on ``threads`` threads."""
    flat = array.reshape(-1, order="A")
    if threads > 1:
        with numba_threads(threads):
            return read_sum_parallel(flat, threads)
    return read_sum(flat)


def read_bandwidth(array: np.ndarray, threads: int, repeats: int = 7) -> float:
    """Median bytes per second of a full read of ``array`` on ``threads`` threads."""
    def once():
        return read_once(array, threads)

    once()
    return array.nbytes / median_seconds(once, repeats)


@kernel
def multiply_add(a, m, c, reps):
    """reps passes of a = a * m + c over a small array: the FMA rate from registers and L1."""
    for _ in range(reps):
        for i in range(a.shape[0]):
            a[i] = a[i] * m + c
    return a[0]


@kernel(parallel=True)
def multiply_add_parallel(a, m, c, reps):
    """:func:`multiply_add` on every row of a (threads, K), one row per thread."""
    total = 0.0
    for k in prange(a.shape[0]):
        total += multiply_add(a[k], m, c, reps)
    return total


def fma_rate(threads: int, repeats: int = 5) -> float:
    """Median floating-point operations per second (2 per multiply-add) on ``threads`` threads."""
    length, reps = 512, 20_000
    work = np.ones((max(threads, 1), length))

    def once():
        if threads > 1:
            with numba_threads(threads):
                return multiply_add_parallel(work, 0.999999, 1e-6, reps)
        return multiply_add(work[0], 0.999999, 1e-6, reps)

    once()
    return 2.0 * work.shape[0] * length * reps / median_seconds(once, repeats)


@kernel
def cd_epochs(X, r, w, b, ws, l1, l2, fit_intercept, center, curvature, n_epochs):
    """n_epochs squared-loss CD epochs over every feature (coordinate.squared_epoch)."""
    for _ in range(n_epochs):
        b = coordinate.squared_epoch(X, r, w, b, ws, ws.shape[0], l1, l2, fit_intercept, center, curvature)
    return b


def cd_solver(X_fortran, y, n_epochs):
    """A callable running n_epochs squared-loss CD epochs over all features inside one Numba call."""
    n, d = X_fortran.shape
    ws = np.arange(d, dtype=np.int64)
    center = X_fortran.mean(axis=0)
    curvature = np.einsum("ij,ij->j", X_fortran, X_fortran) / n - center**2
    # A small penalty keeps most coefficients moving: every coordinate reads its column twice.
    l1 = 1e-4 * float(np.max(np.abs(X_fortran.T @ (y - y.mean())))) / n

    def solve():
        w = np.zeros(d)
        r = -(y - y.mean())
        return cd_epochs(X_fortran, r, w, float(y.mean()), ws, l1, 0.0, True, center, curvature, n_epochs)

    return solve


@kernel
def model_epochs(X, s, h, ws, l1, hessian, center, w_new, n_epochs):
    """n_epochs CD epochs over every feature on one quadratic model of the logistic loss
    (coordinate.model_epoch, the inner epoch of cd's proximal Newton)."""
    norm = X.dtype.type(0.0)
    # The epochs keep sum(s) where it starts.
    s_sum = np.sum(s)
    for _ in range(n_epochs):
        norm = coordinate.model_epoch(X, s, s_sum, h, ws, ws.shape[0], l1, 0.0, hessian, center, w_new)
    return norm


def model_solver(X_fortran, y, n_epochs):
    """A callable running n_epochs logistic model epochs over all features inside one Numba call,
    on the model at w = 0 with the best intercept (labels y in {0, 1})."""
    n, d = X_fortran.shape
    ws = np.arange(d, dtype=np.int64)
    p = np.full(n, y.mean())
    r, h = p - y, p * (1.0 - p)
    center = X_fortran.mean(axis=0)
    # h is constant at w = 0: the weighted centers and curvatures are the plain ones times h.
    hessian = h[0] * (np.einsum("ij,ij->j", X_fortran, X_fortran) / n - center**2)
    # As in cd_solver: a small penalty keeps most coefficients moving.
    l1 = 1e-4 * float(np.max(np.abs(X_fortran.T @ r))) / n

    def solve():
        # s = r + h dz starts at r (dz = 0).
        return model_epochs(X_fortran, r.copy(), h, ws, l1, hessian, center, np.zeros(d), n_epochs)

    return solve


COLD_FIT = (
    "import numpy as np, fastreg\n"
    "rng = np.random.default_rng(0)\n"
    "X = (rng.random((50, 50)) - 0.5) * 10\n"
    "y = (X[:, 0] + X[:, 1] > 0).astype(float)\n"
    "fastreg.fit(X, y, l1=0.04)\n"
)


def finds_scipy(python: str = sys.executable) -> bool:
    """Whether ``python`` can import SciPy, which Numba's first call then imports too."""
    found = subprocess.run([python, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('scipy') is None)"])
    return found.returncode == 0


def cold_start(repeats: int, empty_cache: bool = False, python: str = sys.executable) -> dict:
    """Median wall times of fresh processes of ``python``, in seconds, with warm caches.

    "import numba"; "trivial cached njit call" (Numba's own first-call floor: the first call
    of any cached function registers Numba's typing and lowering modules); "import fastreg +
    fit 50x50" (the textbook-sized problem, cd's cached kernels). The three take turns, so
    that machine noise hits all alike, after a first round that fills the caches, Python's
    bytecode cache included even where the environment sets PYTHONDONTWRITEBYTECODE (then
    every process would compile fastreg's 14 modules from source, about 0.06 s here, which an
    installed package never does). With ``empty_cache``, one more process fits with an empty
    compilation cache.

    ``python`` may be another environment's interpreter, such as one with only fastreg's
    run-time dependencies (fastreg itself comes from this checkout, through PYTHONPATH): where
    SciPy is installed, Numba's first call imports ``scipy.linalg`` to look for BLAS (0.13 s
    of the floor on the AMD EPYC machine of the README), which a user with numpy and numba
    alone never pays.
    """
    folder = Path(tempfile.mkdtemp(prefix="fastreg-cold-"))
    (folder / "trivial.py").write_text("import numba\n@numba.njit(cache=True)\ndef total(a):\n    return a.sum()\n")
    commands = {
        "import numba": [python, "-c", "import numba"],
        "trivial cached njit call": [python, "-c", "import numpy, trivial; trivial.total(numpy.ones(3))"],
        "import fastreg + fit 50x50": [python, "-c", COLD_FIT],
    }
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT)])
    for command in commands.values():
        subprocess.run(command, env=env, check=True, cwd=folder)
    timings = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, cwd=folder)
            timings[name].append(time.perf_counter() - start)
    result = {name: statistics.median(values) for name, values in timings.items()}
    if empty_cache:
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            subprocess.run(commands["import fastreg + fit 50x50"], env=dict(env, NUMBA_CACHE_DIR=cache), check=True,
                           cwd=folder)
            result["import fastreg + fit 50x50 (empty cache)"] = time.perf_counter() - start
    return result
