"""The benchmark report: kernels against NumPy over an N x D grid, with the machine's bounds.

    python -m bench [--quick] [--out bench/report] [--memory-budget GB] [--update-readme]
                    [--cold-python PATH]

On the machine it runs on, it measures the streaming read bandwidth (a Numba read reduction
over a 1 GB array, on 1 and all threads) and the multiply-add rate, records the machine, and
times per iteration, over the grid N in {50, 1000, 100000} x D in {50, 1000, 100000} plus
50 x 1000000 (cells whose data exceed the memory budget are skipped and listed):

- the NumPy twin's gradient step (``reference.gd_solve``), on 1 and all BLAS threads;
- the fused Numba gradient step (``fused.gd_solve``), on 1 and all threads, on the C-ordered
  X, and where gd reads a Fortran-ordered X by columns (``fused.by_columns``) on that too;
- the squared-loss CD epoch over every feature (``coordinate.squared_epoch``), and the CD
  epoch on the logistic loss's quadratic model (``coordinate.model_epoch``, the inner epoch of
  cd's proximal Newton), one thread (coordinate descent is sequential);

each as the median of repeated runs after a warm-up, whose time (compilation or cache load
included) is its own column; the kernels of a cell take turns, and on a cell out of every
cache so does a read of X, the one-read bound. Then cold start (``workloads.cold_start``: a
fresh process importing fastreg and fitting a small problem, with an empty and a warm
compilation cache, against a bare ``import numba`` and Numba's own first call of a cached
function) and the peak memory a fit allocates beyond X. It writes results.json and
results.csv first, then draws the figures from them: speedup over NumPy, fraction of the
one-read bound, and scaling curves. ``--update-readme`` rewrites the README's benchmark
section from results.json.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import tracemalloc
from pathlib import Path

import numba
import numpy as np

from bench import workloads
from fastreg.kernels import fused

ROOT = workloads.ROOT
FULL_N = (50, 1000, 100_000)
FULL_D = (50, 1000, 100_000)
FULL_EXTRA = ((50, 1_000_000),)
QUICK_N = (50, 1000)
QUICK_D = (50, 1000)
ALL_THREADS = numba.config.NUMBA_NUM_THREADS
README_START = "<!-- bench:grid:start -->"
README_END = "<!-- bench:grid:end -->"


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = []
    try:
        from threadpoolctl import threadpool_info

        blas = [{k: info.get(k) for k in ("internal_api", "version", "num_threads")} for info in threadpool_info()
                if info.get("user_api") == "blas"]
    except ImportError:
        pass
    versions = {}
    for package in ("numpy", "numba", "fastreg", "scikit-learn"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "numba_threads": ALL_THREADS,
            "python": platform.python_version(), "numpy_blas": blas, "versions": versions}


def time_cell(n: int, d: int, repeats: int, bandwidth: dict, work: float) -> dict:
    """Per-iteration times of the three kernels at one shape, and the one-read bound; each timed
    run does about ``work`` multiply-adds.

    On an out-of-cache cell the bound is the read of X itself, timed in turns with the kernels:
    this machine's bandwidth moves by a fifth from one minute to the next, so a bound from the
    probe at the start of the run put cells below 1x. In cache it is X's size over ``bandwidth``.
    """
    row, reads = time_gradient_steps(n, d, repeats, work)
    # One copy of X at a time: the C-ordered one goes before the Fortran-ordered one is made.
    workloads.problem.cache_clear()
    epochs, cd_reads = time_cd_epochs(n, d, row["iterations"], repeats, row["out_of_cache"])
    row.update(epochs)
    reads[1] += cd_reads
    for threads, times in reads.items():
        row[f"bound_{threads}t"] = statistics.median(times) if times else row["bytes"] / bandwidth[threads]
    return row


def time_gradient_steps(n: int, d: int, repeats: int, work: float):
    """(the row of the gd times, {threads: [seconds of each read of X]}, empty in cache)."""
    X, y, lr = workloads.problem(n, d)
    k = workloads.iterations_for(n, d, work)
    # The NumPy twin is slower: fewer iterations keep its runs near a second.
    k_numpy = max(2, k // 10)
    row = {"n": n, "d": d, "bytes": X.nbytes, "iterations": k, "out_of_cache": X.nbytes >= workloads.OUT_OF_CACHE_BYTES}
    X_fortran = np.asfortranarray(X) if n * X.itemsize <= fused.COLUMN_MAX_BYTES else None
    reads = {}
    for threads in sorted({1, ALL_THREADS}):
        with workloads.blas_threads(threads):
            row[f"numpy_{threads}t"] = workloads.median_seconds(lambda: workloads.numpy_solve(X, y, lr, k_numpy),
                                                      repeats) / k_numpy
        calls = {"gd": workloads.numba_solver(X, y, lr, k, threads)}
        if X_fortran is not None:
            calls["gd_fortran"] = workloads.numba_solver(X_fortran, y, lr, k, threads)
        for name, solve in calls.items():
            row[f"{name}_warmup_{threads}t"] = workloads.seconds(solve)
        runs, reads[threads] = workloads.take_turns_with_read(calls, X, threads, row["out_of_cache"], repeats)
        for name, times in runs.items():
            row[f"{name}_{threads}t"] = statistics.median(times) / k
    return row, reads


def time_cd_epochs(n: int, d: int, iterations: int, repeats: int, out_of_cache: bool):
    """(the row of the CD epoch times, [seconds of each one-thread read of X], empty in cache)."""
    rng = np.random.default_rng(n * 7919 + d)
    X = np.asfortranarray(rng.standard_normal((n, d)))
    target = X[:, 0] + 0.5 * rng.standard_normal(n)
    epochs = max(3, iterations // 4)
    calls = {"cd": workloads.cd_solver(X, target, epochs),
             "model": workloads.model_solver(X, (target > 0).astype(np.float64), epochs)}
    row = {f"{name}_warmup_1t": workloads.seconds(solve) for name, solve in calls.items()}
    runs, reads = workloads.take_turns_with_read(calls, X, 1, out_of_cache, repeats)
    for name, times in runs.items():
        row[f"{name}_1t"] = statistics.median(times) / epochs
    return row, reads


def fit_memory(n: int = 4000, d: int = 250) -> dict:
    """Peak bytes NumPy allocates during a fit, over size(X), for X already in each solver's order."""
    import fastreg

    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, d))
    y = X[:, 0] + rng.standard_normal(n)
    result = {}
    for solver, layout in (("gd", np.ascontiguousarray), ("fista", np.ascontiguousarray), ("cd", np.asfortranarray)):
        data = layout(X)
        options = dict(loss="squared", l1=0.1, solver=solver, max_iter=20, tol=0)
        if solver != "cd":
            options["lr"] = 1e-3
        fastreg.fit(data, y, **options)
        tracemalloc.start()
        fastreg.fit(data, y, **options)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result[solver] = peak / data.nbytes
    return result


def run(out: Path, sizes_n, sizes_d, extra, repeats: int, bandwidth_bytes: float, memory_budget: float,
        cold: bool, empty_cache: bool, work: float = workloads.WORK, cold_python: str = sys.executable) -> dict:
    """Measure everything, write results.json / results.csv, then the figures; returns the record.

    The cold start runs fresh processes of ``cold_python`` (see ``workloads.cold_start``).
    """
    out.mkdir(parents=True, exist_ok=True)
    big = np.ones(int(bandwidth_bytes) // 8)
    bandwidth = {threads: workloads.read_bandwidth(big, threads) for threads in sorted({1, ALL_THREADS})}
    del big
    flops = {threads: workloads.fma_rate(threads) for threads in sorted({1, ALL_THREADS})}
    cells = [(n, d) for n in sizes_n for d in sizes_d] + list(extra)
    rows, skipped = [], []
    for n, d in cells:
        # The NumPy twin holds X, X^T-products and a Fortran copy for CD at most: budget 2 X.
        if 2 * 8 * n * d > memory_budget:
            skipped.append({"n": n, "d": d, "bytes": 8 * n * d})
            print(f"skipped {n} x {d}: X takes {8 * n * d / 1e9:.1f} GB, over the budget", flush=True)
            continue
        row = time_cell(n, d, repeats, bandwidth, work)
        rows.append(row)
        print(f"{n:>7} x {d:<8} numpy {row['numpy_1t'] * 1e6:10.1f} us  gd {row['gd_1t'] * 1e6:9.2f} us "
              f"({row[f'gd_{ALL_THREADS}t'] * 1e6:.2f} us on {ALL_THREADS})  cd {row['cd_1t'] * 1e6:9.2f} us  "
              f"model {row['model_1t'] * 1e6:9.2f} us",
              flush=True)
    record = {
        "machine": machine(),
        "command": "python -m bench" + (" --quick" if tuple(sizes_n) == QUICK_N else ""),
        "bandwidth_bytes_per_second": {str(k): v for k, v in bandwidth.items()},
        "flops_per_second": {str(k): v for k, v in flops.items()},
        "threads": sorted({1, ALL_THREADS}),
        "cells": rows,
        "skipped": skipped,
        "memory_budget_bytes": memory_budget,
        "cold_start_seconds": workloads.cold_start(3, empty_cache, cold_python) if cold else None,
        "cold_start_scipy": workloads.finds_scipy(cold_python) if cold else None,
        "fit_memory_over_x": fit_memory(),
    }
    (out / "results.json").write_text(json.dumps(record, indent=1))
    with open(out / "results.csv", "w", newline="") as handle:
        # Cells that gd does not read by columns have no Fortran timings: their fields stay empty.
        fields = list(dict.fromkeys(key for row in rows for key in row)) or ["n", "d"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    draw(record, out)
    return record


def draw(record: dict, out: Path) -> list[Path]:
    """The three figures, from the record alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = record["cells"]
    threads = record["threads"][-1]
    ns = sorted({c["n"] for c in cells})
    ds = sorted({c["d"] for c in cells})
    lookup = {(c["n"], c["d"]): c for c in cells}

    def heat(ax, value, title, fmt):
        grid = np.full((len(ns), len(ds)), np.nan)
        for i, n in enumerate(ns):
            for j, d in enumerate(ds):
                if (n, d) in lookup:
                    grid[i, j] = value(lookup[(n, d)])
        image = ax.imshow(grid, cmap="viridis", origin="lower")
        for i in range(len(ns)):
            for j in range(len(ds)):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, fmt.format(grid[i, j]), ha="center", va="center", color="w", fontsize=8)
        ax.set_xticks(range(len(ds)), [str(d) for d in ds], rotation=30)
        ax.set_yticks(range(len(ns)), [str(n) for n in ns])
        ax.set_xlabel("D (features)")
        ax.set_ylabel("N (samples)")
        ax.set_title(title, fontsize=9)
        plt.colorbar(image, ax=ax, shrink=0.8)

    files = []
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    heat(axes[0], lambda c: c["numpy_1t"] / c["gd_1t"], "fused GD step: speedup over NumPy, 1 thread", "{:.1f}x")
    heat(axes[1], lambda c: c[f"numpy_{threads}t"] / c[f"gd_{threads}t"],
         f"fused GD step: speedup over NumPy, {threads} threads", "{:.1f}x")
    figure.tight_layout()
    files.append(out / "speedup.png")
    figure.savefig(files[-1], dpi=100)
    plt.close(figure)

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    heat(axes[0], lambda c: c[f"bound_{threads}t"] / c[f"gd_{threads}t"],
         f"GD step: fraction of the one-read bound, {threads} threads", "{:.2f}")
    heat(axes[1], lambda c: c["bound_1t"] / c["cd_1t"], "CD epoch: fraction of the one-read bound, 1 thread", "{:.2f}")
    figure.tight_layout()
    files.append(out / "bound.png")
    figure.savefig(files[-1], dpi=100)
    plt.close(figure)

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    fixed_d = 1000 if 1000 in ds else ds[-1]
    fixed_n = 1000 if 1000 in ns else ns[-1]
    for ax, key, fixed, label in ((axes[0], "n", fixed_d, "N"), (axes[1], "d", fixed_n, "D")):
        other = "d" if key == "n" else "n"
        line = sorted((c for c in cells if c[other] == fixed), key=lambda c: c[key])
        x = [c[key] for c in line]
        for name, field in (("NumPy twin", "numpy_1t"), ("fused GD, 1 thread", "gd_1t"),
                            (f"fused GD, {threads} threads", f"gd_{threads}t"), ("CD epoch, 1 thread", "cd_1t"),
                            ("logistic model epoch, 1 thread", "model_1t"),
                            ("one read of X, 1 thread", "bound_1t")):
            ax.loglog(x, [c[field] for c in line], "--" if name.startswith("one read") else "-o", label=name,
                      markersize=3)
        ax.set_xlabel(label)
        ax.set_ylabel("seconds per iteration")
        ax.set_title(f"time against {label} at {other.upper()} = {fixed}", fontsize=9)
        ax.legend(fontsize=7)
    figure.tight_layout()
    files.append(out / "scaling.png")
    figure.savefig(files[-1], dpi=100)
    plt.close(figure)
    return files


def readme_section(record: dict, out: Path) -> str:
    """The README's benchmark section, from the record."""
    info = record["machine"]
    threads = record["threads"][-1]
    bandwidth = record["bandwidth_bytes_per_second"]
    relative = os.path.relpath(out, ROOT)
    lines = [
        README_START,
        f"Measured on {info['cpu']} ({info['cores']} cores, Numba {info['versions']['numba']}, "
        f"NumPy {info['versions']['numpy']}) with `{record['command']}`; raw data in "
        f"`{relative}/results.json` and `.csv`. Read bandwidth {float(bandwidth['1']) / 1e9:.1f} GB/s on 1 thread, "
        f"{float(bandwidth[str(threads)]) / 1e9:.1f} GB/s on {threads}. Times are per iteration (median after warm-up); "
        "\"bound\" is one streaming read of X: out of cache, the read of X itself timed in turns with the "
        "kernels; in cache (where it is not a bound), X's size at that bandwidth.",
        "",
        f"| N x D | NumPy twin | fused GD (1 t) | fused GD ({threads} t) | speedup (1 t) | GD / bound ({threads} t) "
        f"| GD / bound, Fortran X (1 t, {threads} t) | CD epoch (1 t) | CD / bound (1 t) | logistic model epoch / bound (1 t) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in record["cells"]:
        gd_bound = c[f"gd_{threads}t"] / c[f"bound_{threads}t"]
        cd_bound = c["cd_1t"] / c["bound_1t"]
        model_bound = c["model_1t"] / c["bound_1t"]
        in_cache = "" if c["out_of_cache"] else " (in cache)"
        fortran = "-"
        if "gd_fortran_1t" in c:
            fortran = ", ".join(f"{c[f'gd_fortran_{t}t'] / c[f'bound_{t}t']:.2f}x" for t in record["threads"]) + in_cache
        lines.append(
            f"| {c['n']} x {c['d']} | {c['numpy_1t'] * 1e6:.1f} us | {c['gd_1t'] * 1e6:.2f} us | "
            f"{c[f'gd_{threads}t'] * 1e6:.2f} us | {c['numpy_1t'] / c['gd_1t']:.1f}x | {gd_bound:.2f}x{in_cache} | "
            f"{fortran} | {c['cd_1t'] * 1e6:.2f} us | {cd_bound:.2f}x{in_cache} | {model_bound:.2f}x{in_cache} |")
    for s in record["skipped"]:
        lines.append(f"| {s['n']} x {s['d']} | skipped: X takes {s['bytes'] / 1e9:.0f} GB | | | | | | | | |")
    cold = record["cold_start_seconds"]
    if cold:
        scipy = {True: ", SciPy installed (Numba imports it on its first call)", False: ", SciPy not installed"}
        lines += ["", "Cold start (fresh process, median" + scipy.get(record.get("cold_start_scipy"), "") + "): "
                  + "; ".join(f"{k} {v:.2f} s" for k, v in cold.items()) + "."]
    memory = record["fit_memory_over_x"]
    lines += ["", "Peak memory a fit allocates beyond X (4000 x 250 float64 in the solver's order), as a fraction "
              "of size(X): " + ", ".join(f"{k} {v:.3f}" for k, v in memory.items()) + ".",
              "", f"![speedup]({relative}/speedup.png)", f"![bound]({relative}/bound.png)",
              f"![scaling]({relative}/scaling.png)", README_END]
    return "\n".join(lines)


def update_readme(record: dict, out: Path) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"README.md has no {README_START} ... {README_END} section to replace")
    before, rest = text.split(README_START, 1)
    _old, after = rest.split(README_END, 1)
    readme.write_text(before + readme_section(record, out) + after)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N, D in {50, 1000}, fewer repeats: under a minute")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "report")
    parser.add_argument("--memory-budget", type=float, default=4.0, help="GB of X (times 2) a cell may use")
    parser.add_argument("--update-readme", action="store_true", help="rewrite README.md's section from the results")
    parser.add_argument("--from-json", action="store_true", help="redraw and rewrite from an existing results.json")
    parser.add_argument("--cold-python", default=sys.executable,
                        help="the interpreter whose fresh processes the cold start times (default: this one)")
    args = parser.parse_args(argv)
    if args.from_json:
        record = json.loads((args.out / "results.json").read_text())
        draw(record, args.out)
    elif args.quick:
        record = run(args.out, QUICK_N, QUICK_D, (), 3, 256e6, args.memory_budget * 1e9, cold=True, empty_cache=False,
                     work=3e7, cold_python=args.cold_python)
    else:
        record = run(args.out, FULL_N, FULL_D, FULL_EXTRA, 5, 1e9, args.memory_budget * 1e9, cold=True,
                     empty_cache=True, cold_python=args.cold_python)
    print(readme_section(record, args.out))
    if args.update_readme:
        update_readme(record, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
