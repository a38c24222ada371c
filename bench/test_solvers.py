"""pytest-benchmark suite, solvers: time to tolerance on the textbook problem and on leukemia,
and one 100-lambda path.

Groups are named after the problem, so that ``--benchmark-compare`` between two commits puts
the same solves side by side. The first call (compilation or cache load) happens before timing.
"""

import warnings

import numpy as np
import pytest

import fastreg
from bench.datasets import load_shared
from bench.peers import textbook

TOL = 1e-6


def problems():
    yield "textbook 50x50", textbook(np.random.default_rng(0))
    data = load_shared("leukemia")
    if data is not None:
        yield "leukemia 38x7129", data


PROBLEMS = dict(problems())


def timed(benchmark, function):
    function()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastreg.ConvergenceWarning)
        benchmark(function)


@pytest.mark.parametrize("solver", ["cd", "fista"])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_solve_to_tolerance(benchmark, name, loss, solver):
    X, y = PROBLEMS[name]
    l1 = fastreg.lambda_max(X, y, loss=loss) / 10
    benchmark.group = f"solve {name} {loss} at lambda_max/10, tol {TOL:g}"
    timed(benchmark, lambda: fastreg.fit(X, y, loss=loss, l1=l1, solver=solver, tol=TOL, max_iter=100_000))


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_path(benchmark, loss):
    if "leukemia 38x7129" not in PROBLEMS:
        pytest.skip("leukemia is absent (../shared/data)")
    X, y = PROBLEMS["leukemia 38x7129"]
    benchmark.group = f"path leukemia {loss}, 100 lambdas down to lambda_max/100, tol {TOL:g}"
    timed(benchmark, lambda: fastreg.regularization_path(X, y, loss=loss, lambda_min_ratio=1e-2, tol=TOL))
