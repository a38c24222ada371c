"""How a multi-threaded BLAS call slows the Numba kernels that run right after it.

    python bench/blas_spin.py [--shape 100000 100] [--repeats 7]

After a call, OpenBLAS's threads spin (about 0.1 s here) before they sleep, and on a machine
with few cores they take the cores from Numba's threads. fastreg therefore checks its input
(``validation.check_data``) and computes ``lambda_max`` with einsum instead of BLAS. This
script times ten 2-thread fused gd iterations right after each candidate operation on X,
each after a pause that lets earlier spinning end, and prints the median time per iteration
and its ratio to the same solve after no operation at all.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fastreg
from bench import workloads
from fastreg import validation

# Longer than the spinning lasts (it was over after 0.1 s in every run here).
PAUSE_SECONDS = 0.3
ITERATIONS = 10


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=2, default=(100_000, 100), metavar=("N", "D"))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    X, y, lr = workloads.problem(*args.shape)
    flat = X.ravel()
    solve = workloads.numba_solver(X, y, lr, ITERATIONS, 2)
    solve()
    fastreg.lambda_max(X, y)
    operations = {
        "nothing": lambda: None,
        "np.dot(x, x), x = X.ravel()": lambda: np.dot(flat, flat),
        "X.T @ y": lambda: X.T @ y,
        "np.einsum('i,i->', x, x)": lambda: np.einsum("i,i->", flat, flat),
        "validation.check_data(X)": lambda: validation.check_data(X, "X"),
        "fastreg.lambda_max(X, y)": lambda: fastreg.lambda_max(X, y),
    }
    # Round-robin, so that every operation sees the same spells of a noisy machine.
    times = {name: [] for name in operations}
    for _ in range(args.repeats):
        for name, operation in operations.items():
            time.sleep(PAUSE_SECONDS)
            operation()
            start = time.perf_counter()
            solve()
            times[name].append((time.perf_counter() - start) / ITERATIONS)
    base = float(np.median(times["nothing"]))
    n, d = X.shape
    print(f"2-thread fused gd iteration on {n} x {d}, median of {args.repeats}, right after:")
    for name, values in times.items():
        median = float(np.median(values))
        print(f"  {name:30s} {median * 1e3:7.2f} ms  {median / base:5.2f}x")


if __name__ == "__main__":
    main()
