"""Old against new in one process: path and cold-solve times of an earlier commit and the working tree.

    python bench/ab.py REVISION [--problems leukemia wide ...] [--losses logistic squared]
                       [--tol 1e-6] [--repeats 5] [--solves]

The fastreg/ folder of REVISION (any git revision of this repository) is exported with
``git archive`` to a temporary folder under the package name ``fastreg_old`` (its imports are
relative, so it runs as it was) and imported next to the working tree's ``fastreg``. Both run
the benchmark of bench/paths.py on the same data: a 100-lambda path from lambda_max to
lambda_max / 100 without intercept, and one cold solve at the smallest lambda, at the same
tolerance. The two versions take turns, round after round, so that both see the same spells
of a noisy machine; the first round (compilation) is dropped and the medians of the others
are printed, with new / old. Timing in one process is the only fair comparison on a shared
machine: two runs minutes apart can differ by 1.5x.

``--solves`` times cold solves instead, the settings of bench/peers.py: without and with
intercept, at lambda_max / 10 and lambda_max / 100, with each version's epoch count. The
problems are those of bench/peers.py ("wide" is 200 x 20000, "tall" 100000 x 200).

``--gd 100000x100 40000x250 ...`` times instead the fused gradient step of bench/targets.py
(a logistic gd solve, per iteration) of both versions on those shapes (C order; "F" after a
shape for Fortran order), on one and on all threads, in turns with one read of X, whose
time each is also given as a multiple of.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

import fastreg
from bench import workloads
from bench.datasets import load_shared
from bench.paths import MIN_RATIO, N_LAMBDAS
from bench.peers import correlated, textbook

PROBLEMS = ("textbook", "leukemia", "colon-cancer", "arcene", "wide", "tall")
DEFAULT_PROBLEMS = ("leukemia", "colon-cancer", "arcene", "wide")


def export_old(revision: str, folder: Path):
    """The fastreg package of ``revision``, extracted to ``folder`` and imported as ``fastreg_old``."""
    archive = subprocess.run(["git", "archive", revision, "fastreg"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        # The "data" filter (Python >= 3.10.12) refuses links and paths out of the folder.
        tar.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    package = folder / "fastreg_old"
    (folder / "fastreg").rename(package)
    spec = importlib.util.spec_from_file_location("fastreg_old", package / "__init__.py",
                                                  submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastreg_old"] = module
    spec.loader.exec_module(module)
    return module


def load(problem: str):
    if problem == "textbook":
        return textbook(np.random.default_rng(0))
    if problem == "wide":
        return correlated(np.random.default_rng(0), 200, 20_000)
    if problem == "tall":
        return correlated(np.random.default_rng(0), 100_000, 200)
    return load_shared(problem)


def run_once(package, X, y, loss, grid, tol):
    """(path seconds, cold-solve seconds) of one round."""
    start = time.perf_counter()
    package.regularization_path(X, y, loss=loss, lambdas=grid, tol=tol, fit_intercept=False, max_iter=10**6)
    middle = time.perf_counter()
    package.fit(X, y, loss=loss, l1=grid[-1], tol=tol, fit_intercept=False, max_iter=10**6)
    return middle - start, time.perf_counter() - middle


def compare_solves(versions, X, y, loss, problem, tol, repeats):
    """Print old and new cold-solve times (and epochs) at the settings of bench/peers.py."""
    for fit_intercept in (False, True):
        for divisor in (10, 100):
            l1 = fastreg.lambda_max(X, y, loss=loss, fit_intercept=fit_intercept) / divisor

            def solve(package):
                start = time.perf_counter()
                result = package.fit(X, y, loss=loss, l1=l1, fit_intercept=fit_intercept, tol=tol, max_iter=10**6)
                return time.perf_counter() - start, result.n_iter

            runs = workloads.take_turns(versions, solve, repeats)
            old, new = (statistics.median(t[0] for t in runs[name]) * 1e3 for name in ("old", "new"))
            print(f"{problem:<14} {loss:<9} {'yes' if fit_intercept else 'no':<9} {'/' + str(divisor):<7}"
                  f" {old:>9.2f} {new:>9.2f} {new / old:>7.2f}  {runs['old'][-1][1]} -> {runs['new'][-1][1]}",
                  flush=True)


def parse_shape(text: str):
    """(N, D, Fortran order?) from "NxD" or "NxDF"."""
    fortran = text.endswith("F")
    try:
        n, d = (int(part) for part in text.rstrip("F").split("x"))
    except ValueError:
        n = d = 0
    if n < 1 or d < 1:
        raise argparse.ArgumentTypeError(f"a shape is NxD or NxDF with N, D >= 1, e.g. 100000x100, not {text!r}")
    return n, d, fortran


def compare_gd(old_kernels, shapes, repeats):
    """Print old and new time per gd iteration against one read of X, on 1 and all threads."""
    threads = sorted({1, numba.config.NUMBA_NUM_THREADS})
    print(f"{'shape':<14} {'threads':>7} {'old us':>10} {'new us':>10} {'new/old':>7} {'old/read':>8} {'new/read':>8}"
          f"  (per iteration, median of {repeats})")
    for n, d, fortran in shapes:
        X, y, lr = workloads.problem(n, d)
        if fortran:
            X = np.asfortranarray(X)
        k = workloads.iterations_for(n, d)
        for count in threads:
            calls = {"old": workloads.numba_solver(X, y, lr, k, count, kernels=old_kernels),
                     "new": workloads.numba_solver(X, y, lr, k, count),
                     "read": lambda: workloads.read_once(X, count)}

            runs = workloads.take_turns(calls, workloads.seconds, repeats)
            old, new = (statistics.median(runs[name]) / k for name in ("old", "new"))
            read = statistics.median(runs["read"])
            print(f"{f'{n}x{d}' + (' F' if fortran else ''):<14} {count:>7} {old * 1e6:>10.2f} {new * 1e6:>10.2f}"
                  f" {new / old:>7.2f} {old / read:>8.2f} {new / read:>8.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the git revision to compare the working tree with")
    parser.add_argument("--problems", nargs="+", choices=PROBLEMS, default=list(DEFAULT_PROBLEMS))
    parser.add_argument("--losses", nargs="+", choices=["logistic", "squared"], default=["logistic", "squared"])
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds after the warm-up round")
    parser.add_argument("--solves", action="store_true",
                        help="cold solves with and without intercept at lambda_max / 10 and / 100 instead of paths")
    parser.add_argument("--gd", nargs="+", type=parse_shape, metavar="NxD[F]",
                        help="the fused gradient step per iteration on these shapes instead of paths")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        old = export_old(args.revision, Path(folder))
        if args.gd:
            compare_gd(importlib.import_module("fastreg_old.kernels.fused"), args.gd, args.repeats)
            return
        versions = {"old": old, "new": fastreg}
        if args.solves:
            print(f"{'problem':<14} {'loss':<9} {'intercept':<9} {'lambda':<7} {'old':>9} {'new':>9} {'new/old':>7}"
                  f"  epochs old -> new (ms, median of {args.repeats})")
        else:
            print(f"{'problem':<14} {'loss':<9} {'old path':>9} {'new path':>9} {'new/old':>7}"
                  f" {'old cold':>9} {'new cold':>9} {'new/old':>7}  (ms, median of {args.repeats})")
        for problem in args.problems:
            data = load(problem)
            if data is None:
                print(f"{problem}: not found in ../shared/data (or scikit-learn missing), skipped")
                continue
            X, y = np.asfortranarray(data[0]), data[1]
            for loss in args.losses:
                if args.solves:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        compare_solves(versions, X, y, loss, problem, args.tol, args.repeats)
                    continue
                grid = fastreg.lambda_max(X, y, loss=loss, fit_intercept=False) * np.geomspace(1.0, MIN_RATIO, N_LAMBDAS)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    times = workloads.take_turns(
                        versions, lambda package: run_once(package, X, y, loss, grid, args.tol), args.repeats)
                path = {name: statistics.median(t[0] for t in runs) * 1e3 for name, runs in times.items()}
                cold = {name: statistics.median(t[1] for t in runs) * 1e3 for name, runs in times.items()}
                print(f"{problem:<14} {loss:<9} {path['old']:>9.1f} {path['new']:>9.1f} {path['new'] / path['old']:>7.2f}"
                      f" {cold['old']:>9.2f} {cold['new']:>9.2f} {cold['new'] / cold['old']:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
