"""Measure issue 2's performance targets side by side in one run and print the ratios.

    python bench/targets.py [--quick] [--json PATH] [--cold-python PATH]

1. Per-iteration time of the whole-loop fused kernel against the NumPy twin (medians after a
   warm-up; the compile or cache load is timed apart), on 1 and all threads.
2. At out-of-cache shapes, one iteration against one streaming read of X at the machine's
   read bandwidth, measured here by a Numba read reduction over a 1.5 GB array, and against
   the same reduction over X itself, timed in turns with the iterations; for X in C order,
   and in Fortran order where gd reads it by columns (rows marked "F").
3. Cold start: fresh processes that import numba; that call one trivial cached njit function
   (Numba's own first-call floor); that import fastreg and fit the 50 x 50 problem. With
   ``--cold-python``, in another environment's interpreter: one with only fastreg's run-time
   dependencies measures what a user of ``pip install fastreg`` gets (no SciPy for Numba to
   import on its first call).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import workloads  # noqa: E402
from fastreg.kernels import fused  # noqa: E402

ALL = numba.config.NUMBA_NUM_THREADS


def kernel_rows(shapes, repeats, fortran=False, work=workloads.WORK):
    """One row per (N, D) shape: the NumPy twin and the fused gd per iteration (solves of about
    ``work`` multiply-adds), on one and all threads, with a read of X in turns where X is out
    of cache."""
    rows = []
    for n, d in shapes:
        X, y, lr = workloads.problem(n, d)
        if fortran:
            X = np.asfortranarray(X)
        k = workloads.iterations_for(n, d, work)
        row = {"shape": f"{n}x{d}" + (" F" if fortran else ""), "bytes": X.nbytes, "iterations": k}
        for threads in sorted({1, ALL}):
            with workloads.blas_threads(threads):
                row[f"numpy_{threads}t"] = workloads.median_seconds(lambda: workloads.numpy_solve(X, y, lr, k), repeats) / k
            solve = workloads.numba_solver(X, y, lr, k, threads)
            row[f"first_call_{threads}t"] = workloads.seconds(solve)
            # The read of an out-of-cache X, in turns with the iterations: a slow spell of the
            # machine then slows both, where the bound from the bandwidth was measured minutes before.
            runs, reads = workloads.take_turns_with_read({"numba": solve}, X, threads,
                                                         X.nbytes >= workloads.OUT_OF_CACHE_BYTES, repeats)
            row[f"numba_{threads}t"] = statistics.median(runs["numba"]) / k
            if reads:
                row[f"read_{threads}t"] = statistics.median(reads)
        rows.append(row)
    return rows


def machine():
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "numba_threads": ALL,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="in-cache shapes only, fewer repeats")
    parser.add_argument("--json", type=Path, default=Path("bench/results/targets.json"))
    parser.add_argument("--cold-python", default=sys.executable,
                        help="the interpreter whose fresh processes the cold start times (default: this one)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    shapes = [s for s in workloads.SHAPES if s not in workloads.OUT_OF_CACHE] if args.quick else workloads.SHAPES

    big = np.ones(int(1.5e9) // 8)
    bandwidth = {threads: workloads.read_bandwidth(big, threads) for threads in sorted({1, ALL})}
    del big
    by_columns = [(n, d) for n, d in shapes if (n, d) in workloads.OUT_OF_CACHE and 8 * n <= fused.COLUMN_MAX_BYTES]
    rows = kernel_rows(shapes, repeats) + kernel_rows(by_columns, repeats, fortran=True)
    cold = workloads.cold_start(3 if args.quick else 7, python=args.cold_python)
    cold_scipy = workloads.finds_scipy(args.cold_python)

    print(f"machine: {machine()}")
    print("read bandwidth: " + ", ".join(f"{t} thread(s) {b / 1e9:.1f} GB/s" for t, b in bandwidth.items()))
    print()
    print("| shape | threads | NumPy twin / iter | fused Numba / iter | speedup | one read of X | iter / read "
          "| read in turns | iter / read in turns |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        for threads in sorted({1, ALL}):
            numpy_t, numba_t = row[f"numpy_{threads}t"], row[f"numba_{threads}t"]
            bound = row["bytes"] / bandwidth[threads]
            row[f"bound_{threads}t"] = bound
            line = (f"| {row['shape']} | {threads} | {numpy_t * 1e6:.1f} us | {numba_t * 1e6:.2f} us | "
                    f"{numpy_t / numba_t:.1f}x | {bound * 1e6:.1f} us | ")
            read = row.get(f"read_{threads}t")
            if read is None:
                print(line + "(in cache) | | |")
            else:
                print(line + f"{numba_t / bound:.2f}x | {read * 1e6:.1f} us | {numba_t / read:.2f}x |")
    print()
    print("cold start (median wall time of a fresh process, warm compilation cache):")
    scipy = "installed: Numba imports it on its first call" if cold_scipy else "not installed"
    print(f"  interpreter: {args.cold_python} (SciPy {scipy})")
    for name, seconds in cold.items():
        print(f"  {name}: {seconds:.3f} s")
    print(f"  fastreg above 'import numba': {cold['import fastreg + fit 50x50'] - cold['import numba']:+.3f} s; "
          f"above Numba's first-call floor: {cold['import fastreg + fit 50x50'] - cold['trivial cached njit call']:+.3f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine(), "bandwidth": bandwidth, "kernels": rows, "cold_start": cold,
                                      "cold_start_python": args.cold_python, "cold_start_scipy": cold_scipy}, indent=2))
    print(f"\nraw results: {args.json}")


if __name__ == "__main__":
    main()
