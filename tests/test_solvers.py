"""fastreg.fit against the textbook loop, scikit-learn's optima and its own certificates."""

import tracemalloc
import warnings

import numpy as np
import pytest
from conftest import make_problem

import fastreg
from fastreg import ConvergenceWarning, DivergenceError, reference, solvers
from fastreg.kernels import fused


def textbook_l1_logistic(X, Y, w, learning_rate, l1, n_iter):
    """The seed's loop, in its sum form, with its own sigmoid."""
    for _ in range(n_iter):
        Yhat = 1 / (1 + np.exp(-X.dot(w)))
        delta = Yhat - Y
        w = w - learning_rate * (X.T.dot(delta) + l1 * np.sign(w))
    return w


def test_gd_reproduces_the_textbook_loop():
    rng = np.random.default_rng(0)
    N, D = 50, 50
    X = (rng.random((N, D)) - 0.5) * 10
    true_w = np.array([1, 0.5, -0.5] + [0] * (D - 3))
    Y = np.round(reference.sigmoid(X.dot(true_w) + rng.standard_normal(N) * 0.5))
    w0 = rng.standard_normal(D) / np.sqrt(D)
    expected = textbook_l1_logistic(X, Y, w0, 0.001, 2.0, 500)
    result = fastreg.fit(X, Y, solver="gd", lr=0.001 * N, l1=2.0 / N, fit_intercept=False, tol=0, max_iter=500, w0=w0)
    assert result.n_iter == 500
    np.testing.assert_allclose(result.coef, expected, rtol=1e-10, atol=1e-12)


def sklearn_objective(loss, X, y, coef, intercept, l1, l2):
    return reference.objective(loss, X, y, np.ravel(coef), float(np.ravel([intercept])[0]), l1, l2)


def assert_matches_optimum(result, loss, X, y, l1, l2, coef, intercept):
    ours = reference.objective(loss, X, y, result.coef, result.intercept, l1, l2)
    theirs = sklearn_objective(loss, X, y, coef, intercept, l1, l2)
    assert result.converged
    assert result.gap <= result.tolerance or result.grad_norm <= result.tolerance
    # Ours may be lower than the peer's (it is a tighter solve); never higher by more than 1e-8.
    assert ours <= theirs * (1 + 1e-8)
    assert abs(ours - theirs) <= 1e-8 * abs(theirs) + 1e-7 * result.tolerance


@pytest.mark.parametrize("solver", ["cd", "fista"])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_reaches_sklearn_l1_logistic_optimum(fit_intercept, solver):
    from sklearn.linear_model import LogisticRegression

    X, y = make_problem("logistic", 80, 30, seed=3)
    N, l1 = X.shape[0], 0.02
    if fit_intercept:
        peer = LogisticRegression(C=1 / (N * l1), l1_ratio=1.0, solver="saga", tol=1e-14, max_iter=1_000_000)
    else:
        peer = LogisticRegression(C=1 / (N * l1), l1_ratio=1.0, solver="liblinear", tol=1e-14, max_iter=1_000_000, fit_intercept=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer.fit(X, y)
    result = fastreg.fit(X, y, l1=l1, solver=solver, tol=1e-12, max_iter=200_000, fit_intercept=fit_intercept)
    assert_matches_optimum(result, "logistic", X, y, l1, 0.0, peer.coef_, peer.intercept_)
    np.testing.assert_array_equal(result.coef == 0, np.abs(np.ravel(peer.coef_)) < 1e-8)


@pytest.mark.parametrize("solver", ["cd", "fista"])
def test_reaches_sklearn_l2_logistic_optimum(solver):
    from sklearn.linear_model import LogisticRegression

    X, y = make_problem("logistic", 120, 15, seed=4)
    N, l2 = X.shape[0], 0.05
    peer = LogisticRegression(C=1 / (N * l2), tol=1e-14, max_iter=100_000).fit(X, y)
    result = fastreg.fit(X, y, l2=l2, solver=solver, tol=1e-12, max_iter=100_000)
    assert_matches_optimum(result, "logistic", X, y, 0.0, l2, peer.coef_, peer.intercept_)


@pytest.mark.parametrize("solver", ["cd", "fista"])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("shape", [(100, 20), (30, 200)])
def test_reaches_sklearn_lasso_and_elastic_net(fit_intercept, shape, solver):
    from sklearn.linear_model import ElasticNet, Lasso

    X, y = make_problem("squared", *shape, seed=5)
    lasso = Lasso(alpha=0.05, tol=1e-14, max_iter=1_000_000, fit_intercept=fit_intercept).fit(X, y)
    result = fastreg.fit(X, y, loss="squared", l1=0.05, solver=solver, tol=1e-12, max_iter=500_000, fit_intercept=fit_intercept)
    assert_matches_optimum(result, "squared", X, y, 0.05, 0.0, lasso.coef_, lasso.intercept_)

    enet = ElasticNet(alpha=0.1, l1_ratio=0.3, tol=1e-14, max_iter=1_000_000, fit_intercept=fit_intercept).fit(X, y)
    result = fastreg.fit(X, y, loss="squared", l1=0.03, l2=0.07, solver=solver, tol=1e-12, max_iter=500_000, fit_intercept=fit_intercept)
    assert_matches_optimum(result, "squared", X, y, 0.03, 0.07, enet.coef_, enet.intercept_)


@pytest.mark.parametrize("solver", ["cd", "fista"])
def test_reaches_sklearn_ridge_optimum(solver):
    from sklearn.linear_model import Ridge

    X, y = make_problem("squared", 60, 10, seed=6)
    N, alpha = X.shape[0], 3.0
    peer = Ridge(alpha=alpha, tol=1e-14, solver="cholesky").fit(X, y)
    result = fastreg.fit(X, y, loss="squared", l2=alpha / N, solver=solver, tol=1e-12, max_iter=100_000)
    assert_matches_optimum(result, "squared", X, y, 0.0, alpha / N, peer.coef_, peer.intercept_)


def test_a_float32_solve_that_stops_short_says_float64_gives_more_digits():
    X, y = make_problem("logistic", 70, 12, seed=7)
    with pytest.warns(ConvergenceWarning, match=r"fista stopped at max_iter=5 .*In float32 .*pass X as float64"):
        fastreg.fit(X.astype(np.float32), y, l1=0.01, solver="fista", tol=1e-9, max_iter=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fastreg.fit(X, y, l1=0.01, solver="fista", tol=1e-9, max_iter=5)
    assert len(caught) == 1 and "float32" not in str(caught[0].message)


@pytest.mark.parametrize("solver", ["cd", "fista", "gd"])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_certificate_at_return_is_below_tolerance_and_bounds_suboptimality(solver, loss):
    X, y = make_problem(loss, 70, 12, seed=7)
    if solver == "gd":
        with pytest.warns(ConvergenceWarning, match="gd stopped at max_iter=10 before converging: duality_gap"):
            result = fastreg.fit(X, y, loss=loss, l1=0.01, l2=0.01, solver=solver, tol=1e-8, max_iter=10)
        # The subgradient method does not reach exact optimality; the gap still bounds it.
        tight = fastreg.fit(X, y, loss=loss, l1=0.01, l2=0.01, tol=1e-13, max_iter=200_000)
        assert result.objective - tight.objective <= result.gap * (1 + 1e-9) + 1e-15
    else:
        result = fastreg.fit(X, y, loss=loss, l1=0.01, l2=0.01, solver=solver, tol=1e-8, max_iter=100_000)
        assert result.converged and result.gap <= result.tolerance
        _value, gap, _norm = reference.certificate(loss, X, y, result.coef, result.intercept, 0.01, 0.01, True)
        np.testing.assert_allclose(gap, result.gap, rtol=1e-6, atol=1e-14)


def test_tol_zero_runs_exactly_max_iter():
    X, y = make_problem("logistic", 40, 5)
    for solver in ("fista", "gd"):
        result = fastreg.fit(X, y, l1=0.01, solver=solver, tol=0, max_iter=37, history=True)
        assert result.n_iter == 37 and len(result.history) == 37 and not result.converged
    result = fastreg.fit(X, y, l1=0.01, tol=0, max_iter=37, history=True)
    assert result.n_iter == 37 and not result.converged
    assert np.all(np.diff(result.history) <= 1e-15)  # cd: F at each certificate never rises


def test_warm_start_at_the_optimum_stops_at_the_first_check():
    X, y = make_problem("logistic", 60, 8)
    solved = fastreg.fit(X, y, l1=0.01, tol=1e-10, max_iter=100_000)
    again = fastreg.fit(X, y, l1=0.01, solver="fista", tol=1e-6, w0=solved.coef, intercept0=solved.intercept)
    assert again.n_iter == fastreg.solvers.CHECK_EVERY and again.converged


def test_separable_data_without_penalty_stays_finite():
    X = np.vstack([np.full((20, 2), 2.0), np.full((20, 2), -2.0)]) + np.random.default_rng(0).normal(0, 0.5, (40, 2))
    y = np.r_[np.ones(20), np.zeros(20)]
    for solver in ("cd", "fista", "gd"):
        result = fastreg.fit(X, y, solver=solver, tol=0, max_iter=5000, history=True)
        assert np.all(np.isfinite(result.history)) and np.isfinite(result.objective)
        assert np.all(np.isfinite(result.coef)) and result.gap == np.inf  # no penalty: no dual interior
        # No finite optimum: the loss keeps falling toward 0 as the weights grow (cd's large
        # margins reach 0 exactly in floating point); a loss is never negative.
        assert 0.0 <= result.history[-1] <= result.history[len(result.history) // 2] < result.history[0]
        assert np.all(result.history >= 0.0)


def test_extreme_margins_raise_no_overflow_warning():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 3)) * 1000.0
    y = (X[:, 0] > 0).astype(float)
    y[:3] = 1 - y[:3]  # not separable: the margins stay large at the optimum
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fastreg.fit(X, y, l2=1e-3, w0=np.array([1.0, 0, 0]), history=True, max_iter=200, tol=0)
    margins = np.abs(X @ np.array([1.0, 0, 0]))
    assert margins.max() > 1000
    assert np.all(np.isfinite(result.history)) and np.isfinite(result.objective)


def test_too_large_a_step_raises_with_the_step_it_needs():
    X, y = make_problem("squared", 50, 5)
    lipschitz = reference.squared_operator_norm(X, True) / 50
    for solver in ("gd", "fista"):
        with pytest.raises(DivergenceError, match=r"lr=.* too large.*at most"):
            fastreg.fit(X, y, loss="squared", solver=solver, lr=10 / lipschitz, max_iter=1000)


def test_cd_divergence_message_names_the_data_not_a_step():
    # cd has no step size (nor an lr argument that it would use): its message must not
    # suggest one, and must not fail on the step that cd never set.
    X, _ = make_problem("squared", 20, 3)
    message = solvers._divergence_message("cd", float("nan"), None, "squared", X, 0.0, True, 7, float("inf"))
    assert "after 7 epochs" in message and "non-finite" in message and "standardize" in message
    assert "lr" not in message and "nan" not in message


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_float32_solves_in_float32_and_agrees_with_float64(loss):
    X, y = make_problem(loss, 100, 10, seed=8)
    single = fastreg.fit(X.astype(np.float32), y.astype(np.float32), loss=loss, l1=0.01, tol=1e-5)
    double = fastreg.fit(X, y, loss=loss, l1=0.01, tol=1e-10, max_iter=100_000)
    assert single.coef.dtype == np.float32
    np.testing.assert_allclose(single.objective, double.objective, rtol=1e-4)


def test_labels_of_any_two_values_give_the_same_model():
    X, y01 = make_problem("logistic", 60, 6)
    base = fastreg.fit(X, y01, l1=0.01)
    for labels in (np.array([-1, 1]), np.array(["ham", "spam"]), np.array([3.5, 7.0])):
        result = fastreg.fit(X, labels[y01.astype(int)], l1=0.01)
        np.testing.assert_array_equal(result.classes, labels)
        np.testing.assert_allclose(result.coef, base.coef, rtol=1e-12)


def test_threads_agree_with_one_thread_and_repeat_exactly():
    X, y = make_problem("logistic", 3000, 40, seed=9)
    one = fastreg.fit(X, y, l1=0.001, tol=0, max_iter=50, n_threads=1)
    two_a = fastreg.fit(X, y, l1=0.001, tol=0, max_iter=50, n_threads=2)
    two_b = fastreg.fit(X, y, l1=0.001, tol=0, max_iter=50, n_threads=2)
    np.testing.assert_array_equal(two_a.coef, two_b.coef)
    np.testing.assert_allclose(two_a.coef, one.coef, rtol=1e-9, atol=1e-12)


def test_inputs_are_not_modified():
    X, y = make_problem("logistic", 40, 6)
    w0 = np.ones(6)
    copies = X.copy(), y.copy(), w0.copy()
    fastreg.fit(X, y, l1=0.01, w0=w0, max_iter=50, tol=0)
    for original, copy in zip((X, y, w0), copies):
        np.testing.assert_array_equal(original, copy)


def test_c_contiguous_float64_input_is_not_copied():
    X, y = make_problem("squared", 4000, 250)
    fastreg.fit(X, y, loss="squared", l1=0.1, solver="fista", lr=0.01, max_iter=3, tol=0)  # compile outside the trace
    tracemalloc.start()
    fastreg.fit(X, y, loss="squared", l1=0.1, solver="fista", lr=0.01, max_iter=3, tol=0)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.1 * X.nbytes


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["gd", "fista"])
def test_short_fortran_columns_are_read_without_a_copy(dtype, solver):
    X, y = make_problem("logistic", 400, 3000, dtype=dtype)
    F = np.asfortranarray(X)
    for name in ("gd", "fista", "cd"):
        assert solvers.prepare(F, y, loss="logistic", solver=name, fit_intercept=True).X is F, name
    tall = np.asfortranarray(make_problem("logistic", fused.COLUMN_MAX_BYTES // F.itemsize + 1, 3, dtype=dtype)[0])
    assert solvers.prepare(tall, np.arange(tall.shape[0]) % 2, loss="logistic", solver=solver,
                           fit_intercept=True).X.flags.c_contiguous
    options = dict(l1=1e-3, solver=solver, max_iter=30, tol=0)
    fastreg.fit(F, y, **options)  # compile outside the trace
    tracemalloc.start()
    by_columns = fastreg.fit(F, y, **options)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.1 * F.nbytes
    by_rows = fastreg.fit(X, y, **options)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert by_columns.lr == pytest.approx(by_rows.lr, rel=rtol)
    np.testing.assert_allclose(by_columns.coef, by_rows.coef, rtol=rtol, atol=rtol * 1e-2)
    assert by_columns.objective == pytest.approx(by_rows.objective, rel=rtol)


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1)])
def test_degenerate_shapes(shape):
    X, y = make_problem("squared", *shape)
    result = fastreg.fit(X, y, loss="squared", l2=0.1, tol=1e-10, max_iter=10_000)
    assert result.converged and np.all(np.isfinite(result.coef))


@pytest.mark.parametrize("loss", ["logistic", "squared"])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_tolerance_is_relative_to_the_objective_at_zero(loss, fit_intercept):
    X, y = make_problem(loss, 40, 6)
    y = np.where(np.arange(40) < 10, 1.0, 0.0) if loss == "logistic" else y + 3.0
    mean = y.mean()
    b0 = (np.log(mean / (1 - mean)) if loss == "logistic" else mean) if fit_intercept else 0.0
    at_zero = reference.objective(loss, X, y, np.zeros(6), b0, 0.0, 0.0)
    for solver in ("cd", "fista"):
        result = fastreg.fit(X, y, loss=loss, l1=0.01, solver=solver, fit_intercept=fit_intercept, tol=1e-5)
        assert result.tolerance == pytest.approx(1e-5 * at_zero, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(6000, 97), (97, 6000)])
def test_fortran_order_copies_c_ordered_x_exactly(shape, dtype):
    X = np.random.default_rng(0).normal(size=shape).astype(dtype)
    assert X.nbytes >= solvers.PARALLEL_MIN_BYTES // 2 and X.flags.c_contiguous
    big = np.vstack([X, X]) if shape[0] > shape[1] else np.hstack([X, X])  # over the kernel's size
    for data in (big, X):
        before = data.copy()
        out = solvers.fortran_order(data)
        assert out.flags.f_contiguous and out.dtype == dtype
        assert np.array_equal(out, np.asfortranarray(data))
        assert np.array_equal(data, before)
    F = np.asfortranarray(big)
    assert solvers.fortran_order(F) is F
