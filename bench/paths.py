"""Whole regularization paths at matched accuracy: fastreg against its peers.

    python bench/paths.py [--quick] [--out bench/results/paths.json]

A path is 100 lambdas from lambda_max down to lambda_max / 100 (geometric), L1 logistic
regression and lasso without intercept, on leukemia, colon-cancer, arcene and a wide correlated
synthetic set (200 x 20000). Accuracy is matched the way bench/peers.py matches single solves:
each library runs its path at ever tighter tolerances, and its time is the median over
repeated runs (one run for settings slower than 2 s; a setting over 5 s ends the sweep) of
the first setting at which every point reaches (F - F*) / F* <= 1e-6, F* from
a tight fastreg path (tol 1e-11: gaps below 1e-11 F(0) make F* exact to far better than 1e-6). Warm-up runs are excluded. Peers: scikit-learn (lasso_path; liblinear
LogisticRegression over the grid, the fastest of its L1 logistic solvers here), celer
(celer_path), skglm (warm-started estimators) and glum (alpha_search), when installed.

It also reports fastreg's path time over one cold solve at the smallest lambda, at the same
tolerance (the issue's target: below 3).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fastreg
from bench.datasets import load_shared
from bench.peers import GLUM_MAX_FEATURES, TARGET, correlated
from fastreg import reference

TOLERANCES = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]
REPEATS = 3
TIME_CAP = 5.0
# A setting slower than this is timed once more rather than REPEATS times.
SLOW_SECONDS = 2.0
N_LAMBDAS = 100
MIN_RATIO = 1e-2


def fastreg_path(loss, grid):
    def run(tol, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastreg.ConvergenceWarning)
            path = fastreg.regularization_path(X, y, loss=loss, lambdas=grid, tol=tol, fit_intercept=False,
                                               max_iter=10**6)
        return path.coefs
    return run


class OverBudget(Exception):
    """A path made of separate fits ran past TIME_CAP before its last lambda."""


def over_budget(start: float) -> None:
    if time.perf_counter() - start > TIME_CAP:
        raise OverBudget


def peer_paths(loss, grid, n, n_features):
    """name -> (tol, X, y) -> coefs (K, D) over the grid, for the installed peers."""
    runs = {}
    if importlib.util.find_spec("sklearn"):
        from sklearn.linear_model import LogisticRegression, lasso_path

        if loss == "squared":
            runs["sklearn"] = lambda tol, X, y: lasso_path(X, y, alphas=grid, tol=tol, max_iter=10**6)[1].T
        else:
            def liblinear(tol, X, y):
                coefs = []
                start = time.perf_counter()
                for lam in grid:
                    over_budget(start)
                    model = LogisticRegression(C=1 / (n * lam), l1_ratio=1.0, solver="liblinear", tol=tol,
                                               fit_intercept=False, max_iter=10**6).fit(X, y)
                    coefs.append(model.coef_.ravel())
                return np.array(coefs)
            runs["sklearn"] = liblinear
    if importlib.util.find_spec("celer"):
        from celer import celer_path

        if loss == "squared":
            runs["celer"] = lambda tol, X, y: celer_path(X, y, "lasso", alphas=grid, tol=tol)[1].T
        else:
            runs["celer"] = lambda tol, X, y: celer_path(X, 2 * y - 1, "logreg", alphas=grid * n, tol=tol)[1].T
    if importlib.util.find_spec("skglm"):
        import skglm

        def warm_started(tol, X, y):
            if loss == "squared":
                model = skglm.Lasso(alpha=grid[0], tol=tol, fit_intercept=False, warm_start=True, max_iter=1000)
            else:
                model = skglm.SparseLogisticRegression(alpha=grid[0], tol=tol, fit_intercept=False, warm_start=True,
                                                       max_iter=1000)
            coefs = []
            start = time.perf_counter()
            for lam in grid:
                over_budget(start)
                model.set_params(alpha=lam).fit(X, y)
                coefs.append(np.ravel(model.coef_).copy())
            return np.array(coefs)
        runs["skglm"] = warm_started
    if importlib.util.find_spec("glum") and n_features <= GLUM_MAX_FEATURES:
        import glum

        family = "normal" if loss == "squared" else "binomial"

        def alpha_search(tol, X, y):
            model = glum.GeneralizedLinearRegressor(family=family, alpha_search=True, alphas=grid, l1_ratio=1.0,
                                                    fit_intercept=False, gradient_tol=tol, max_iter=10**4)
            model.fit(X, y)
            return np.array(model.coef_path_)
        runs["glum"] = alpha_search
    return runs


def time_to_target(run, X, y, objectives, f_star):
    """(median seconds, worst relative suboptimality at the tightest setting tried, tol)."""
    worst = np.inf
    try:
        # Compilation (fastreg, skglm) and first-use costs happen here, outside every timing.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(TOLERANCES[0], X, y)
    except OverBudget:
        return np.inf, worst, None
    for tol in TOLERANCES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            try:
                coefs = run(tol, X, y)
            except OverBudget:
                break
            first = time.perf_counter() - start
        worst = float(np.max((objectives(coefs) - f_star) / f_star))
        if worst <= TARGET:
            times = []
            for _ in range(REPEATS if first < SLOW_SECONDS else 1):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    run(tol, X, y)
                    times.append(time.perf_counter() - start)
            return statistics.median(times), worst, tol
        if first > TIME_CAP:
            break
    return np.inf, worst, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="colon-cancer only")
    parser.add_argument("--only", nargs="+", metavar="PROBLEM", help="run only these problems (names as printed)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "paths.json"))
    parser.add_argument("--from-json", action="store_true", help="print the table of an existing --out file")
    args = parser.parse_args(argv)
    if args.from_json:
        print(markdown(json.loads(Path(args.out).read_text())["rows"]))
        return

    problems = []
    for name in (["colon-cancer"] if args.quick else ["leukemia", "colon-cancer", "arcene"]):
        data = load_shared(name)
        if data is not None:
            problems.append((name, data))
    if not args.quick:
        problems.append(("wide 200x20000", correlated(np.random.default_rng(0), 200, 20_000)))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (X, y) in problems:
        if args.only and name not in args.only:
            continue
        X = np.asfortranarray(X, dtype=np.float64)
        for loss in ("logistic", "squared"):
            top = fastreg.lambda_max(X, y, loss=loss, fit_intercept=False)
            grid = top * np.geomspace(1.0, MIN_RATIO, N_LAMBDAS)
            tight = fastreg.regularization_path(X, y, loss=loss, lambdas=grid, tol=1e-11, fit_intercept=False,
                                                max_iter=10**6)
            f_star = tight.objectives.copy()

            def objectives(coefs):
                values = np.array([reference.objective(loss, X, y, c, 0.0, lam, 0.0) for c, lam in zip(coefs, grid)])
                np.minimum(f_star, values, out=f_star)
                return values

            results = {"fastreg": time_to_target(fastreg_path(loss, grid), X, y, objectives, f_star)}
            for peer, run in peer_paths(loss, grid, *X.shape).items():
                results[peer] = time_to_target(run, X, y, objectives, f_star)
            tol = results["fastreg"][2] or 1e-10
            cold = []
            for _ in range(REPEATS + 1):
                start = time.perf_counter()
                fastreg.fit(X, y, loss=loss, l1=grid[-1], tol=tol, fit_intercept=False, max_iter=10**6)
                cold.append(time.perf_counter() - start)
            cold_seconds = statistics.median(cold[1:])
            peers = {k: v[0] for k, v in results.items() if k != "fastreg" and np.isfinite(v[0])}
            fastest = min(peers, key=peers.get) if peers else None
            row = {
                "problem": name, "shape": list(X.shape), "loss": loss, "n_lambdas": N_LAMBDAS,
                "results": {k: {"seconds": v[0], "worst_suboptimality": v[1], "tol": v[2]} for k, v in results.items()},
                "fastest_peer": fastest,
                "ratio_to_fastest_peer": results["fastreg"][0] / peers[fastest] if fastest else None,
                "cold_solve_seconds": cold_seconds,
                "path_over_cold_solve": results["fastreg"][0] / cold_seconds,
            }
            rows.append(row)
            cells = "  ".join(f"{k}={v[0] * 1e3:.1f}ms" if np.isfinite(v[0]) else f"{k}=n/r" for k, v in results.items())
            ratio = row["ratio_to_fastest_peer"]
            print(f"{name:<16} {loss:<8} fastreg/fastest({fastest})={ratio:.2f}  path/cold={row['path_over_cold_solve']:.1f}"
                  f"  {cells}" if ratio is not None else f"{name} {loss} {cells}")
            sys.stdout.flush()
            # Written after every row, so that a long run interrupted keeps what it measured.
            out.write_text(json.dumps({"target": TARGET, "rows": rows}, indent=1, default=float))
    print(f"wrote {out}\n")
    print(markdown(rows))


def markdown(rows) -> str:
    """The results as a Markdown table (milliseconds per whole path), from the JSON rows."""
    libraries = []
    for row in rows:
        libraries += [k for k in row["results"] if k not in libraries]
    lines = ["| problem | loss | " + " | ".join(libraries) + " | fastreg / fastest peer | fastreg path / cold solve |",
             "|---" * (4 + len(libraries)) + "|"]
    for row in rows:
        cells = []
        for library in libraries:
            entry = row["results"].get(library)
            seconds = float(entry["seconds"]) if entry else np.nan
            cells.append(f"{seconds * 1e3:.0f}" if np.isfinite(seconds) else ("n/r" if entry else "-"))
        ratio = row["ratio_to_fastest_peer"]
        lines.append(f"| {row['problem']} | {row['loss']} | " + " | ".join(cells) +
                     (f" | {ratio:.2f} ({row['fastest_peer']})" if ratio is not None else " | -") +
                     f" | {row['path_over_cold_solve']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
