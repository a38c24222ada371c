"""Regularization paths, cross-validation, their estimators and the ``path`` command line."""

import io
import json
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from conftest import DATA_DIR, lambda_max_formula, load_dataset, make_problem

import fastreg
from fastreg import cli, reference, solvers
from fastreg.__main__ import main
from fastreg.kernels import fused
from fastreg.kernels import path as path_kernels
from fastreg.path import fold_indices


def objective(loss, X, y, coef, intercept, lam, l1_ratio):
    return reference.objective(loss, X, y, coef, intercept, lam * l1_ratio, lam * (1 - l1_ratio))


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_lambda_max_is_the_edge_of_the_zero_solution(loss, fit_intercept, l1_ratio):
    X, y = make_problem(loss, 60, 30, seed=1)
    lam = fastreg.lambda_max(X, y, loss=loss, fit_intercept=fit_intercept, l1_ratio=l1_ratio)
    np.testing.assert_allclose(lam, lambda_max_formula(loss, X, y, fit_intercept) / l1_ratio, rtol=1e-12)
    path = fastreg.regularization_path(X, y, loss=loss, fit_intercept=fit_intercept, l1_ratio=l1_ratio,
                                       lambdas=[lam, 0.99 * lam], tol=1e-10)
    assert np.all(path.coefs[0] == 0.0)
    assert np.count_nonzero(path.coefs[1]) >= 1


@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_every_point_matches_a_cold_solve(loss, l1_ratio):
    X, y = make_problem(loss, 50, 120, seed=2)
    path = fastreg.regularization_path(X, y, loss=loss, l1_ratio=l1_ratio, n_lambdas=15, tol=1e-10)
    assert path.lambdas[0] > path.lambdas[-1] and np.all(np.diff(path.lambdas) < 0)
    zero = np.zeros(X.shape[1])
    null_loss = reference.objective(loss, X, y, zero, reference.optimal_intercept(loss, X @ zero, y, 0.0), 0.0, 0.0)
    np.testing.assert_allclose(path.lambdas[-1] / path.lambdas[0], 1e-2)  # D > N: default ratio 1e-2
    for k, lam in enumerate(path.lambdas):
        cold = fastreg.fit(X, y, loss=loss, l1=lam * l1_ratio, l2=lam * (1 - l1_ratio), tol=1e-10)
        assert abs(path.objectives[k] - cold.objective) <= 1e-8 * cold.objective
        np.testing.assert_allclose(path.objectives[k], objective(loss, X, y, path.coefs[k], path.intercepts[k],
                                                                 lam, l1_ratio), rtol=1e-10)
        # The gap comes from gradient bounds carried along the path: it is the reference's gap.
        gap = reference.certificate(loss, X, y, path.coefs[k], path.intercepts[k],
                                    lam * l1_ratio, lam * (1 - l1_ratio), True)[1]
        assert abs(path.gaps[k] - gap) <= 1e-12 * cold.objective
        assert path.nnz[k] == np.count_nonzero(path.coefs[k])
        # The deviance explained takes the penalty off the objective: both come from the kernel.
        mean_loss = reference.objective(loss, X, y, path.coefs[k], path.intercepts[k], 0.0, 0.0)
        np.testing.assert_allclose(path.deviance_explained[k], max(0.0, 1.0 - mean_loss / null_loss), atol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_tangent_step_predicts_the_next_solution_to_fourth_order(loss, l1_ratio, fit_intercept):
    X, y = make_problem(loss, 60, 30, seed=4)
    data = solvers.prepare(X, y, loss=loss, solver="cd", fit_intercept=fit_intercept)
    lam = 0.3 * fastreg.lambda_max(X, y, loss=loss, l1_ratio=l1_ratio, fit_intercept=fit_intercept)

    def solution(value):
        return fastreg.fit(X, y, loss=loss, l1=value * l1_ratio, l2=value * (1 - l1_ratio), tol=1e-14,
                           fit_intercept=fit_intercept)

    start = solution(lam)
    errors = []
    for factor in (0.98, 0.99):
        target = solution(factor * lam)
        assert np.array_equal(start.coef != 0, target.coef != 0)  # no kink between the two: the step applies
        w = start.coef.copy()
        b = solvers.tangent_step(data, w, start.intercept, lam, factor * lam, l1_ratio)
        errors.append(np.linalg.norm(w - target.coef) + abs(b - target.intercept))
    moved = np.linalg.norm(start.coef - target.coef)
    if loss == "squared" and l1_ratio == 1.0:
        # A lasso path is linear between kinks: the step lands on it, to rounding.
        assert errors[1] <= 1e-10 * moved
    else:
        # Halving the step divides a fourth-order error by 16 (a first-order step's by 4).
        assert errors[0] >= 12 * errors[1]
        assert errors[1] <= 1e-4 * moved


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
def test_secant_step_predicts_the_next_solution_to_second_order(l1_ratio, fit_intercept):
    X, y = make_problem("logistic", 60, 30, seed=4)
    data = solvers.prepare(X, y, loss="logistic", solver="cd", fit_intercept=fit_intercept)
    lam = 0.3 * fastreg.lambda_max(X, y, l1_ratio=l1_ratio, fit_intercept=fit_intercept)
    n, d = data.X.shape

    def solution(value):
        return fastreg.fit(X, y, l1=value * l1_ratio, l2=value * (1 - l1_ratio), tol=1e-14, fit_intercept=fit_intercept)

    start = solution(lam)
    errors = []
    for factor in (0.98, 0.99):
        before, target = solution(lam / factor), solution(lam * factor)
        # No kink across the three: every non-zero coefficient takes the secant.
        assert np.array_equal(before.coef != 0, start.coef != 0) and np.array_equal(start.coef != 0, target.coef != 0)
        w = start.coef.copy()
        old = before.coef.copy()
        b, _ready = path_kernels.secant_step(fused.LOGISTIC, data.X, data.y, w, start.intercept, old,
                                             before.intercept, lam / factor, lam, lam * factor, l1_ratio,
                                             fit_intercept, np.empty(0, dtype=np.int64), d,
                                             *solvers.tangent_state(n, d, np.float64, 0)[4:])
        np.testing.assert_array_equal(old, before.coef)
        errors.append(np.linalg.norm(w - target.coef) + abs(b - target.intercept))
    moved = np.linalg.norm(start.coef - target.coef) + abs(start.intercept - target.intercept)
    # Halving the step divides a second-order error by 4 (a third-order one's by 8).
    assert 3 * errors[1] <= errors[0] <= 6 * errors[1]
    assert errors[1] <= 0.05 * moved


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_path_steps_leave_the_predictor_of_the_point_they_return(fit_intercept):
    # path_step hands the step's X w + b (sample_work[0]) to the solve, which then skips
    # computing it: it must be that of the returned point, moved or kept.
    X, y = make_problem("logistic", 60, 30, seed=4)
    data = solvers.prepare(X, y, loss="logistic", solver="cd", fit_intercept=fit_intercept)
    n, d = data.X.shape
    lam = 0.3 * fastreg.lambda_max(X, y, fit_intercept=fit_intercept)
    start = fastreg.fit(X, y, l1=lam, tol=1e-14, fit_intercept=fit_intercept)
    before = fastreg.fit(X, y, l1=lam / 0.98, tol=1e-14, fit_intercept=fit_intercept)
    listed = np.empty(0, dtype=np.int64)
    far = before.coef + 50.0 * np.sign(before.coef)  # a secant that overshoots: the point is kept
    for name, previous in (("tangent", None), ("secant", before.coef), ("kept", far)):
        w = start.coef.copy()
        state = solvers.tangent_state(n, d, np.float64, 0)
        if previous is None:
            b, ready = path_kernels.tangent_step(fused.LOGISTIC, data.X, data.y, w, start.intercept, lam, 0.98 * lam,
                                                 1.0, fit_intercept, listed, d, *state)
        else:
            b, ready = path_kernels.secant_step(fused.LOGISTIC, data.X, data.y, w, start.intercept, previous,
                                                before.intercept, lam / 0.98, lam, 0.98 * lam, 1.0, fit_intercept,
                                                listed, d, *state[4:])
        assert ready
        assert np.array_equal(w, start.coef) == (name == "kept")
        np.testing.assert_allclose(state[4][0], data.X @ w + b, rtol=1e-12, atol=1e-12)
    # At w = 0 neither step computes it.
    zeros = np.zeros(d)
    state = solvers.tangent_state(n, d, np.float64, 0)
    assert not path_kernels.tangent_step(fused.LOGISTIC, data.X, data.y, zeros, 0.0, lam, 0.98 * lam, 1.0,
                                         fit_intercept, listed, d, *state)[1]
    assert not path_kernels.secant_step(fused.LOGISTIC, data.X, data.y, zeros, 0.0, zeros, 0.0, lam / 0.98, lam,
                                        0.98 * lam, 1.0, fit_intercept, listed, d, *state[4:])[1]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_store_row_writes_the_whole_row_from_the_listed_features(dtype):
    rng = np.random.default_rng(3)
    d = 500
    w = np.where(rng.random(d) < 0.02, rng.standard_normal(d), 0.0).astype(dtype)
    nonzero = np.flatnonzero(w)
    # The list may hold zero features too, as a certificate's does; few listed (zero the row,
    # then write them), many (a copy), and all D.
    few = np.union1d(nonzero, [0, 7, d - 1])
    many = np.union1d(nonzero, np.arange(0, d, 3))
    for listed, count in ((few, few.size), (many, many.size), (np.empty(0, np.int64), d)):
        row = np.full(d, np.nan, dtype=dtype)
        path_kernels.store_row(w, np.asarray(listed, np.int64), count, row)
        np.testing.assert_array_equal(row, w)


def test_secant_step_keeps_the_point_where_it_would_raise_the_objective():
    X, y = make_problem("logistic", 60, 30, seed=4)
    data = solvers.prepare(X, y, loss="logistic", solver="cd", fit_intercept=False)
    n, d = data.X.shape
    lam = 0.3 * fastreg.lambda_max(X, y, fit_intercept=False)
    start = fastreg.fit(X, y, l1=lam, tol=1e-14, fit_intercept=False)
    # A "previous solution" far off the path: its secant overshoots.
    before = start.coef + 50.0 * np.sign(start.coef)
    w = start.coef.copy()
    path_kernels.secant_step(fused.LOGISTIC, data.X, data.y, w, 0.0, before, 0.0, 1.01 * lam, lam, 0.99 * lam, 1.0,
                             False, np.empty(0, dtype=np.int64), d, *solvers.tangent_state(n, d, np.float64, 0)[4:])
    np.testing.assert_array_equal(w, start.coef)


def test_a_path_whose_support_outgrows_the_tangent_step_matches_cold_solves():
    # 150 samples: past about 110 non-zeros the Hessian would take more than
    # TAYLOR_MAX_PASSES passes over the support's columns, and the path takes secant steps.
    X, y = make_problem("logistic", 150, 600, seed=5)
    path = fastreg.regularization_path(X, y, n_lambdas=40, tol=1e-9, fit_intercept=False)
    n = X.shape[0]
    size = path.nnz.astype(float)
    secant = (size / 2 + size**2 / (6 * n) > path_kernels.TAYLOR_MAX_PASSES) | (size > n)
    assert np.count_nonzero(secant[:-1]) >= 5
    for k in np.flatnonzero(secant[:-1])[-4:] + 1:
        cold = fastreg.fit(X, y, l1=path.lambdas[k], tol=1e-12, fit_intercept=False)
        assert abs(path.objectives[k] - cold.objective) <= 1e-8 * cold.objective


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_path_matches_sklearn_lasso_and_enet_path(l1_ratio):
    from sklearn.linear_model import enet_path, lasso_path

    X, y = make_problem("squared", 40, 80, seed=3)
    path = fastreg.regularization_path(X, y, loss="squared", l1_ratio=l1_ratio, n_lambdas=12, tol=1e-12,
                                       fit_intercept=False)
    if l1_ratio == 1.0:
        _alphas, coefs, _gaps = lasso_path(X, y, alphas=path.lambdas, tol=1e-14, max_iter=1_000_000)
    else:
        _alphas, coefs, _gaps = enet_path(X, y, l1_ratio=l1_ratio, alphas=path.lambdas, tol=1e-14,
                                          max_iter=1_000_000)
    for k, lam in enumerate(path.lambdas):
        theirs = objective("squared", X, y, coefs[:, k], 0.0, lam, l1_ratio)
        # The gap bounds our suboptimality, up to the rounding of the two objectives (a gap
        # computed as 0 can sit an ulp below the true one).
        assert path.objectives[k] <= theirs + path.gaps[k] + 4 * np.finfo(float).eps * theirs
        assert theirs - path.objectives[k] <= 1e-8 * theirs
        np.testing.assert_allclose(path.coefs[k], coefs[:, k], atol=1e-5)


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_screening_never_changes_the_answer(loss):
    X, y = load_dataset("colon-cancer")
    screened = fastreg.regularization_path(X, y, loss=loss, n_lambdas=30, tol=1e-9)
    plain = fastreg.regularization_path(X, y, loss=loss, n_lambdas=30, tol=1e-9, screening=False)
    np.testing.assert_allclose(screened.objectives, plain.objectives, rtol=1e-8)
    for k in range(len(screened)):
        # Both are certified; the gaps bound how far either can be from the optimum.
        assert screened.gaps[k] <= 1e-9 * 0.7 and plain.gaps[k] <= 1e-9 * 0.7
        strong = np.abs(screened.coefs[k]) > 1e-6
        np.testing.assert_array_equal(strong, np.abs(plain.coefs[k]) > 1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_a_lambda_after_one_certified_without_epochs_is_certified_on_every_feature(fit_intercept):
    # After a lambda that needed no epoch, the path skips the strong rule: a lambda that then
    # needs epochs runs its working sets over every feature. Its gap must still bound its
    # distance to the optimum.
    X, y = load_dataset("colon-cancer")
    path = fastreg.regularization_path(X, y, n_lambdas=40, tol=1e-4, fit_intercept=fit_intercept)
    assert np.any((path.n_iter[:-1] == 0) & (path.n_iter[1:] > 0))
    for k, lam in enumerate(path.lambdas):
        optimum = fastreg.fit(X, y, l1=lam, tol=1e-12, fit_intercept=fit_intercept, max_iter=10**6)
        rounding = 8 * np.finfo(float).eps * optimum.objective
        assert path.gaps[k] <= 1e-4 * np.log(2)
        assert -optimum.gap - rounding <= path.objectives[k] - optimum.objective <= path.gaps[k] + rounding


def test_strong_rule_discards_and_the_check_restores_features():
    # Ties in X make the sequential strong rule wrong at times; the answer must not change.
    rng = np.random.default_rng(4)
    base = rng.standard_normal((40, 10))
    X = np.hstack([base, base[:, :5] + 1e-3 * rng.standard_normal((40, 5)), rng.standard_normal((40, 100))])
    y = base[:, :5] @ np.ones(5) + rng.standard_normal(40)
    # Near-duplicate columns make the problem ill-conditioned: CD needs many epochs.
    screened = fastreg.regularization_path(X, y, loss="squared", n_lambdas=40, tol=1e-9, max_iter=200_000)
    plain = fastreg.regularization_path(X, y, loss="squared", n_lambdas=40, tol=1e-9, max_iter=200_000,
                                        screening=False)
    np.testing.assert_allclose(screened.objectives, plain.objectives, rtol=1e-8)


def test_path_loads_its_kernels_once_per_process(monkeypatch):
    X, y = make_problem("logistic", 60, 30, seed=11)
    monkeypatch.setattr(fastreg.path, "_LOADED_KERNELS", set())
    first = fastreg.regularization_path(X, y, n_lambdas=8)
    again = fastreg.regularization_path(X, y, n_lambdas=8)
    assert first.setup_seconds > 0 and again.setup_seconds == 0
    np.testing.assert_array_equal(again.coefs, first.coefs)
    # Another dtype runs other kernels: loaded again.
    assert fastreg.regularization_path(X.astype(np.float32), y, n_lambdas=8).setup_seconds > 0


def test_path_result_exports_and_gives_estimators():
    X, y = make_problem("logistic", 80, 20, seed=5)
    path = fastreg.regularization_path(X, y, n_lambdas=10)
    record = json.loads(path.to_json())
    assert set(record) >= {"lambdas", "coefs", "intercepts", "objectives", "gaps", "n_iter", "nnz", "seconds",
                           "deviance_explained"}
    np.testing.assert_array_equal(np.array(record["coefs"]), path.coefs)
    assert np.all(path.seconds > 0) and path.setup_seconds >= 0
    assert np.all(np.diff(path.deviance_explained) >= -1e-9)  # a smaller penalty explains more
    model = fastreg.LogisticRegression.from_path(path, 7)
    np.testing.assert_allclose(model.decision_function(X), X @ path.coefs[7] + path.intercepts[7])
    np.testing.assert_array_equal(model.classes_, [0.0, 1.0])
    assert path.index(path.lambdas[7] * 1.01) == 7
    with pytest.raises(ValueError, match="needs a path of the squared loss"):
        fastreg.LinearRegression.from_path(path, 0)
    for index, error, message in [(len(path), ValueError, f"index={len(path)} must be an integer from 0 to {len(path) - 1}"),
                                  (-1, ValueError, "index=-1 must be an integer from 0"),
                                  (1.5, TypeError, "index=1.5 must be an integer")]:
        with pytest.raises(error, match=message):
            fastreg.LogisticRegression.from_path(path, index)
    with pytest.raises(TypeError, match="path must be a fastreg.Path .*got dict"):
        fastreg.LogisticRegression.from_path(path.to_dict(), 0)


def test_early_stop_is_reported():
    X, y = make_problem("squared", 200, 5, seed=6)
    path = fastreg.regularization_path(X, y, loss="squared", n_lambdas=100, early_stop=True)
    full = fastreg.regularization_path(X, y, loss="squared", n_lambdas=100)
    assert len(path) < len(full) and "deviance explained" in path.early_stop
    assert full.early_stop is None
    # The early-stopped path is the full one's beginning, cut at the first lambda where
    # glmnet's rule holds (from the full path's own numbers).
    k = len(path)
    np.testing.assert_array_equal(path.coefs, full.coefs[:k])
    np.testing.assert_array_equal(path.deviance_explained, full.deviance_explained[:k])
    explained = full.deviance_explained
    rule = (explained[1:] > 0.999) | (np.abs(np.diff(explained)) < 1e-5 * np.abs(explained[1:]))
    assert np.flatnonzero(rule)[0] + 1 == k - 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_a_path_in_one_kernel_call_equals_one_call_per_lambda(loss, dtype, monkeypatch):
    # A small path runs in one kernel call; with no time allowed per call, each lambda is its
    # own call. The same steps, so the same numbers, bit for bit; progress is reported after
    # each call.
    X, y = make_problem(loss, 50, 120, seed=9)
    X = X.astype(dtype)
    whole_calls, stepped_calls = [], []
    started = time.perf_counter()
    whole = fastreg.regularization_path(X, y, loss=loss, n_lambdas=20, fit_intercept=loss == "logistic",
                                       progress=lambda done, total: whole_calls.append((done, total)))
    elapsed = time.perf_counter() - started
    monkeypatch.setattr(solvers, "PATH_CALL_SECONDS", 0.0)
    stepped = fastreg.regularization_path(X, y, loss=loss, n_lambdas=20, fit_intercept=loss == "logistic",
                                         progress=lambda done, total: stepped_calls.append((done, total)))
    assert whole_calls == [(20, 20)]
    assert stepped_calls == [(k, 20) for k in range(1, 21)]
    for name in ("lambdas", "coefs", "intercepts", "objectives", "gaps", "n_iter", "nnz", "deviance_explained"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(stepped, name), err_msg=name)
    assert whole.coefs.dtype == dtype
    # Each lambda's seconds come from the kernel's clock: positive, and together no more than
    # the call took.
    assert np.all(whole.seconds > 0) and whole.seconds.sum() < elapsed


def test_bad_path_arguments_are_named():
    X, y = make_problem("squared", 20, 4)
    for kwargs, message in [
        ({"lambdas": [0.1, -1.0]}, r"lambdas must be > 0; got -1.0"),
        ({"lambdas": [0.1, 0.0]}, r"lambdas must be > 0; got 0.0"),
        ({"lambdas": []}, "lambdas is empty"),
        ({"lambdas": [[0.1, 0.2]]}, r"lambdas must be a 1-D .*np.ravel\(lambdas\)"),
        ({"lambdas": [0.1, float("nan")]}, "Input lambdas contains NaN or infinity"),
        ({"lambdas": [float("inf"), 0.1]}, "Input lambdas contains NaN or infinity"),
        ({"max_iter": 2**63}, r"max_iter=9223372036854775808 must be at most"),
        ({"lambda_min_ratio": 2.0}, "lambda_min_ratio=2.0 must be < 1"),
        ({"l1_ratio": 0.0}, r"l1_ratio=0.0 must be in \(0, 1\]"),
        ({"n_lambdas": 0}, "n_lambdas"),
        ({"solver": "gd"}, "solver"),
    ]:
        with pytest.raises(ValueError, match=message):
            fastreg.regularization_path(X, y, loss="squared", **kwargs)
    for lambdas in (["a", "b"], [True, False], np.array([0.1], dtype=object)):
        with pytest.raises(TypeError, match="lambdas must hold real numbers"):
            fastreg.regularization_path(X, y, loss="squared", lambdas=lambdas)


def test_a_grid_from_lambda_max_zero_is_refused_with_the_reason():
    X, _y = make_problem("squared", 20, 4)
    with pytest.raises(ValueError, match=r"lambda_max is 0 \(X\^T \(y - mean\(y\)\) = 0"):
        fastreg.regularization_path(X, np.full(20, 3.0), loss="squared")
    with pytest.raises(ValueError, match=r"lambda_max is 0 \(X\^T \(y\) = 0"):
        fastreg.regularization_path(np.zeros((20, 4)), np.arange(20.0), loss="squared", fit_intercept=False)


def test_bad_cv_arguments_are_named_before_any_path_is_computed():
    X, y = make_problem("logistic", 30, 4, seed=3)
    calls = []
    few_positives = np.r_[np.ones(2), np.zeros(28)]
    for kwargs, error, message in [
        ({"random_state": "a"}, TypeError, "random_state='a' must be None, an integer >= 0"),
        ({"random_state": -1}, ValueError, "random_state=-1 must be >= 0"),
        ({"random_state": 1.5}, TypeError, "random_state=1.5"),
        ({"progress": 3}, TypeError, "progress=3 must be a callable or None"),
        ({"y": few_positives, "progress": lambda done, total: calls.append(done)}, ValueError,
         "n_folds=5 exceeds the number of samples in the smaller class"),
    ]:
        arguments = {"y": y} | kwargs
        with pytest.raises(error, match=message):
            fastreg.cross_validate_path(X, arguments.pop("y"), n_lambdas=5, **arguments)
    assert calls == []
    with pytest.raises(TypeError, match="progress='x' must be a callable"):
        fastreg.regularization_path(X, y, n_lambdas=5, progress="x")


def test_cv_takes_a_generator_or_an_integer_seed_for_the_same_folds():
    X, y = make_problem("logistic", 40, 6, seed=4)
    by_seed = fastreg.cross_validate_path(X, y, n_lambdas=6, n_folds=4, random_state=11)
    by_generator = fastreg.cross_validate_path(X, y, n_lambdas=6, n_folds=4, random_state=np.random.default_rng(11))
    np.testing.assert_array_equal(by_seed.errors, by_generator.errors)
    # A legacy RandomState seeds the folds with one draw, as scikit-learn's check_random_state does.
    legacy = fastreg.cross_validate_path(X, y, n_lambdas=6, n_folds=4, random_state=np.random.RandomState(0))
    drawn = fastreg.cross_validate_path(X, y, n_lambdas=6, n_folds=4,
                                        random_state=int(np.random.RandomState(0).randint(2**31 - 1)))
    np.testing.assert_array_equal(legacy.errors, drawn.errors)


def test_folds_partition_the_samples_and_stratify():
    y = np.r_[np.zeros(37), np.ones(13)]
    folds = fold_indices(y, 5, True, 0)
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(50))
    positives = [int(y[f].sum()) for f in folds]
    assert max(positives) - min(positives) <= 1


@pytest.mark.parametrize("loss, scoring", [("logistic", "deviance"), ("squared", "mse")])
def test_cv_picks_the_lambda_of_a_plain_loop_over_folds(loss, scoring):
    X, y = make_problem(loss, 90, 25, seed=7)
    cv = fastreg.cross_validate_path(X, y, loss=loss, n_lambdas=12, n_folds=3, scoring=scoring, tol=1e-10)
    folds = fold_indices(y, 3, loss == "logistic", 0)
    errors = np.empty((3, len(cv.lambdas)))
    for f, held_out in enumerate(folds):
        train = np.setdiff1d(np.arange(90), held_out)
        for k, lam in enumerate(cv.lambdas):
            result = fastreg.fit(X[train], y[train], loss=loss, l1=lam, tol=1e-10)
            z = X[held_out] @ result.coef + result.intercept
            if loss == "logistic":
                errors[f, k] = 2 * np.mean(reference.log1pexp(z) - y[held_out] * z)
            else:
                errors[f, k] = np.mean((y[held_out] - z) ** 2)
    np.testing.assert_allclose(cv.errors, errors, rtol=1e-6)
    mean = errors.mean(axis=0)
    assert cv.index_min == np.argmin(mean)
    se = errors.std(axis=0, ddof=1) / np.sqrt(3)
    assert cv.index_1se == np.flatnonzero(mean <= mean.min() + se[np.argmin(mean)])[0]
    assert cv.lambda_1se >= cv.lambda_min


def test_cv_estimator_refits_at_the_chosen_lambda():
    X, y = make_problem("logistic", 120, 15, seed=8)
    model = fastreg.LogisticRegressionCV(cv=3, n_lambdas=15, choice="1se", tol=1e-10).fit(X, y)
    assert model.lambda_ == model.cv_results_.lambda_1se
    direct = fastreg.fit(X, y, l1=model.lambda_, tol=1e-10)
    np.testing.assert_allclose(model.coef_, direct.coef, atol=1e-6)
    assert model.predict(X).shape == (120,)
    with pytest.raises(ValueError, match="n_folds=200 must be between 2"):
        fastreg.LinearRegressionCV(cv=200).fit(*make_problem("squared", 30, 3))


def is_png(file):
    data = file.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def table_rows(text):
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit():
            rows.append((float(fields[0]), int(fields[1]), float(fields[2])))
    return rows


@pytest.mark.parametrize("dataset, file", [("colon-cancer", "colon-cancer.bz2"), ("leukemia", "leu.bz2")])
def test_cli_on_shared_data_writes_files_and_a_correct_table(dataset, file, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    load_dataset(dataset)  # skips when the data folder is absent
    assert main(["path", str(DATA_DIR / file), "--cv", "3", "--n-lambdas", "30", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("path.png", "profile.png", "cv.png"):
        assert is_png(tmp_path / name)
    record = json.loads((tmp_path / "path.json").read_text())
    lambdas, nnz = np.array(record["lambdas"]), np.array(record["nnz"])
    rows = table_rows(out)
    assert rows[0][1] == 0 and len(rows) >= 10
    for lam, count, explained in rows:
        k = int(np.argmin(np.abs(lambdas - lam)))
        np.testing.assert_allclose(lam, lambdas[k], rtol=1e-3)
        assert count == nnz[k]
        np.testing.assert_allclose(explained, record["deviance_explained"][k], atol=1e-4)
    X, y = load_dataset(dataset)
    direct = fastreg.regularization_path(X, y, n_lambdas=30)
    np.testing.assert_allclose(lambdas, direct.lambdas, rtol=1e-12)
    np.testing.assert_array_equal(nnz, direct.nnz)
    cv = record["cross_validation"]
    assert cv["lambda_1se"] >= cv["lambda_min"] and "lambda_min=" in out


def test_cli_on_a_csv_it_writes(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    X, y = make_problem("squared", 60, 4, seed=9)
    lines = ["f0,f1,target,f2,f3"] + [",".join(repr(float(v)) for v in [*row[:2], t, *row[2:]])
                                      for row, t in zip(X, y)]
    csv_file = tmp_path / "data.csv"
    csv_file.write_text("\n".join(lines) + "\n")
    assert main(["path", str(csv_file), "--target", "target", "--n-lambdas", "20", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "loss=squared" in out
    record = json.loads((tmp_path / "o" / "path.json").read_text())
    direct = fastreg.regularization_path(X, y, loss="squared", n_lambdas=20)
    np.testing.assert_allclose(record["coefs"], direct.coefs, rtol=1e-9, atol=1e-12)
    assert is_png(tmp_path / "o" / "path.png") and not (tmp_path / "o" / "cv.png").exists()


def run_cli(*args):
    completed = subprocess.run([sys.executable, "-m", "fastreg", "path", *args], capture_output=True, text=True)
    return completed.returncode, completed.stderr


def test_cli_bad_inputs_get_one_line_and_a_nonzero_exit(tmp_path):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("a,b,y\n1,2,0\n3,oops,1\n")
    bad_svm = tmp_path / "bad.svm"
    bad_svm.write_text("1 1:0.5 2:1\n-1 1:0.25\n1 3:abc\n")
    cases = [
        ((str(tmp_path / "missing.svm"),), "missing.svm: no such file"),
        ((str(bad_svm),), "line 3 is unreadable"),
        ((str(bad_csv),), "line 3: column 'b' is not numeric"),
        ((str(bad_csv), "--target", "nope"), "--target 'nope' is not a column"),
        ((str(bad_csv), "--frobnicate"), "unrecognized arguments: --frobnicate"),
        ((str(bad_csv), "--l1-ratio", "2"), "invalid number in (0, 1] value"),
        ((str(bad_svm), "--out", str(bad_csv / "figures")), "cannot create the folder"),
        ((str(bad_svm), "--out", str(bad_csv)), "is a file, not a folder"),
    ]
    for args, message in cases:
        code, stderr = run_cli(*args)
        assert code != 0, args
        assert stderr.count("\n") == 1 and message in stderr and "Traceback" not in stderr, (args, stderr)


def test_progress_bar_draws_on_a_terminal_once_the_run_is_long(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = cli.ProgressBar(stream)
    bar(1, 4)  # a short run so far: nothing drawn
    assert stream.getvalue() == ""
    monkeypatch.setattr(cli, "PROGRESS_AFTER_SECONDS", 0.0)
    bar(3, 4)
    bar.close()
    assert stream.getvalue() == "\r[" + "#" * 22 + " " * 8 + "] 3/4\n"


def test_demo_with_an_unusable_out_folder_gets_one_line_and_exit_code_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    completed = subprocess.run([sys.executable, "-m", "fastreg", "demo", "--out", str(blocker / "figures")],
                               capture_output=True, text=True)
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and "--out" in completed.stderr and "cannot create" in completed.stderr


def test_plots_take_and_return_axes():
    plt = pytest.importorskip("matplotlib.pyplot")
    from fastreg import plotting

    X, y = make_problem("logistic", 60, 8, seed=10)
    cv = fastreg.cross_validate_path(X, y, n_lambdas=8, n_folds=3)
    figure, axes = plt.subplots(1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plotting.coefficient_path(cv.path, axes[0]) is axes[0]
        assert plotting.path_profile(cv.path, axes[1]) is axes[1]
        assert plotting.cv_curve(cv, axes[2]) is axes[2]
    assert len(axes[0].get_lines()) >= 8  # one line per coefficient
    plt.close(figure)
    with pytest.raises(TypeError, match="ax must be a matplotlib.Axes"):
        plotting.coefficient_path(cv.path, "left")
    with pytest.raises(TypeError, match="path must be a fastreg.Path"):
        plotting.path_profile(cv)
    with pytest.raises(TypeError, match="cv must be a fastreg.CrossValidation"):
        plotting.cv_curve(cv.path)
    single = fastreg.regularization_path(X, y, lambdas=[cv.lambdas[3]])
    figure, axes = plt.subplots(1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # equal x limits would warn
        plotting.coefficient_path(single, axes[0])
        plotting.path_profile(single, axes[1])
    assert axes[0].get_xlim()[0] < np.log(single.lambdas[0]) < axes[0].get_xlim()[1]
    plt.close(figure)


@pytest.mark.parametrize("solver", ["cd", "fista"])
def test_kernels_are_loaded_for_the_layout_the_path_runs(solver):
    X, y = make_problem("logistic", 30, 8)
    data = solvers.prepare(X, y, loss="logistic", solver=solver, fit_intercept=True)
    tiny = fastreg.path._two_samples(data)
    assert tiny.X.shape == (2, 8) and tiny.X.dtype == data.X.dtype
    assert tiny.X.flags.f_contiguous == data.X.flags.f_contiguous
    assert tiny.X.flags.c_contiguous == data.X.flags.c_contiguous
    np.testing.assert_array_equal(tiny.X, data.X[:2])
