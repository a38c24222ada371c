"""Coordinate descent: kernels against the NumPy twin, the solver against fista, scikit-learn and
its own duality gap, on synthetic data and on the real data sets in ../shared/data."""

import itertools
import tracemalloc
import warnings

import numpy as np
import pytest
from conftest import lambda_max_formula, load_dataset, make_problem

import fastreg
from fastreg import ConvergenceWarning, reference
from fastreg.kernels import columns, coordinate, fused, path

PENALTIES = {"l1": (1.0, 0.0), "l2": (0.0, 1.0), "elastic-net": (0.5, 0.5)}


def work_arrays(n, d, dtype=np.float64):
    return {
        "r": np.zeros(n, dtype),
        "h": np.zeros(n, dtype),
        "dz": np.zeros(n, dtype),
        "grad_work": np.zeros(d, dtype),
        "hess_work": np.zeros(d, dtype),
        "center": np.zeros(d, dtype),
        "w_new": np.zeros(d, dtype),
    }


# 30 rows: one coordinate per pass over r; 2100 rows (columns over PAIR_MIN_COLUMN_BYTES):
# two per pass, with an odd number of features so that the last one goes unpaired.
@pytest.mark.parametrize("n, d", [(30, 12), (2100, 13)])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("l1, l2", [(0.05, 0.0), (0.02, 0.1), (0.0, 0.3)])
def test_squared_epoch_matches_numpy_twin(n, d, fit_intercept, l1, l2):
    assert (n * 8 > coordinate.PAIR_MIN_COLUMN_BYTES) == (n == 2100)
    X, y = make_problem("squared", n, d, seed=1)
    X[:, 3] += 5.0  # an uncentered column: the implicit centering matters
    X[:, 6] = 0.0  # a column of zero curvature, which the epoch skips
    X = np.asfortranarray(X)
    w0 = np.random.default_rng(2).standard_normal(d) * 0.1
    # The kernel's precondition with an intercept: b optimal for w (the solver ensures it).
    b0 = float(np.mean(y - X @ w0)) if fit_intercept else 0.2
    expected_w, expected_b = reference.cd_epoch(X, y, w0, b0, l1, l2, fit_intercept)
    w = w0.copy()
    r = X @ w + b0 - y
    ws = np.arange(d, dtype=np.int64)
    curvature = np.full(d, -1.0)
    _epochs, b, _stop = coordinate.squared_subproblem(
        X, y, r, w, b0, ws, d, l1, l2, fit_intercept, fused.DUALITY_GAP, 0.0, 1,
        np.zeros(d), curvature, np.zeros(d),
    )
    np.testing.assert_allclose(w, expected_w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b, expected_b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r, X @ w + b - y, rtol=1e-12, atol=1e-13)


def logistic_with_a_zero_column(n, d, seed):
    """A logistic problem, X Fortran-ordered, whose column 4 has zero curvature (the epoch skips it)."""
    X, y = make_problem("logistic", n, d, seed=seed)
    X[:, 4] = 0.0
    return np.asfortranarray(X), y


# 2100 rows: two coordinates per pass (paired_model_epoch), with the last one unpaired.
@pytest.mark.parametrize("n, d", [(60, 10), (2100, 11)])
def test_model_epoch_matches_numpy_twin(n, d):
    X, y = logistic_with_a_zero_column(n, d, seed=4)
    l1, l2 = 0.002, 0.05
    w0 = np.random.default_rng(5).standard_normal(d) * 0.3
    w0[4] = 0.0
    expected = reference.proximal_newton_direction(X, y, w0, 0.0, l1, l2, n_epochs=1)
    p = reference.sigmoid(X @ w0)
    r, h = p - y, p * (1 - p)
    w_new = w0.copy()
    s = r.copy()
    coordinate.model_epoch(X, s, np.sum(s), h, np.arange(d, dtype=np.int64), d, l1, l2,
                           np.einsum("i,ij,ij->j", h, X, X) / n, np.zeros(d), w_new)
    assert np.count_nonzero(w_new != w0) >= d - 2
    np.testing.assert_allclose(w_new, expected, rtol=1e-12, atol=1e-15)
    # s = r + h dz with dz = X (w_new - w0): the model's gradient is X^T s / N.
    np.testing.assert_allclose(s, r + h * (X @ (w_new - w0)), rtol=1e-11, atol=1e-14)


def test_passes_hint_their_reads_only_for_short_columns_beyond_l3():
    columns_in_l3 = fused.L3_BYTES // 400
    short = np.empty((50, 1), order="F")
    hint = columns.prefetch_distance
    assert hint(short, columns_in_l3 + 1, fused.L3_BYTES) == columns.PREFETCH_AHEAD_BYTES // 400
    assert hint(short, columns_in_l3, fused.L3_BYTES) == 0
    assert hint(np.empty((100, 1), np.float32, order="F"), columns_in_l3 + 1, fused.L3_BYTES) > 0
    longer = np.empty((columns.PREFETCH_MAX_COLUMN_BYTES // 8 + 1, 1), order="F")
    assert hint(longer, 10**9, fused.L3_BYTES) == 0
    shorter = np.empty((columns.PREFETCH_MIN_COLUMN_BYTES // 8 - 1, 1), order="F")
    assert hint(shorter, 10**9, fused.L3_BYTES) == 0
    assert hint(np.empty((columns.PREFETCH_MIN_COLUMN_BYTES // 8, 1), order="F"), 10**9, fused.L3_BYTES) > 0


def short_columns_beyond_l3(seed):
    """A Fortran X of 50 rows whose columns take more than L3: the epochs over all of them hint
    their reads, and over half of them do not."""
    d = fused.L3_BYTES // 400 + 4
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((50, d)))
    assert columns.prefetch_distance(X, d, fused.L3_BYTES) > 0
    assert columns.prefetch_distance(X, d // 2, fused.L3_BYTES) == 0
    return X, rng


# The hints change no result: an epoch over every column equals the same epoch run in two
# calls over half of the columns each, which take no hints (the route of the tests above).
def test_squared_epoch_with_hints_equals_the_epoch_in_pieces():
    X, rng = short_columns_beyond_l3(seed=6)
    n, d = X.shape
    y = X[:, :40] @ rng.standard_normal(40) + rng.standard_normal(n)
    center = np.zeros(d)
    curvature = np.einsum("ij,ij->j", X, X) / n
    ws = np.arange(d, dtype=np.int64)
    l1 = 0.05 * np.max(np.abs(X.T @ y)) / n
    runs = []
    for pieces in (1, 2):
        w = np.zeros(d)
        r = -y.copy()
        for part in np.array_split(ws, pieces):
            coordinate.squared_epoch(X, r, w, 0.0, part, part.size, l1, 0.0, False, center, curvature)
        runs.append((w, r))
    (w_one, r_one), (w_pieces, r_pieces) = runs
    assert np.count_nonzero(w_one) > 100
    np.testing.assert_allclose(w_one, w_pieces, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r_one, r_pieces, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r_one, X @ w_one - y, rtol=1e-10, atol=1e-12)


def test_model_epoch_with_hints_equals_the_epoch_in_pieces():
    X, rng = short_columns_beyond_l3(seed=7)
    n, d = X.shape
    y = (X[:, :40] @ rng.standard_normal(40) + rng.standard_normal(n) > 0).astype(float)
    p = np.full(n, y.mean())
    r, h = p - y, p * (1 - p)
    hess = np.einsum("i,ij,ij->j", h, X, X) / n
    ws = np.arange(d, dtype=np.int64)
    l1 = 0.05 * np.max(np.abs(X.T @ r)) / n
    runs = []
    for pieces in (1, 2):
        w_new = np.zeros(d)
        s = r.copy()
        for part in np.array_split(np.arange(d), pieces):
            start, stop = part[0], part[-1] + 1
            coordinate.model_epoch(X, s, np.sum(r), h, ws[start:stop], stop - start, l1, 0.0, hess[start:stop],
                                   np.zeros(stop - start), w_new[start:stop])
        runs.append((w_new, s))
    (w_one, s_one), (w_pieces, s_pieces) = runs
    assert np.count_nonzero(w_one) > 100
    np.testing.assert_allclose(w_one, w_pieces, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s_one, s_pieces, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(s_one, r + h * (X @ w_one), rtol=1e-10, atol=1e-12)


# 2100 rows: two coordinates per pass of the model's epoch (paired_model_epoch), the last unpaired.
@pytest.mark.parametrize("n, d", [(60, 10), (2100, 11)])
def test_proximal_newton_step_matches_numpy_twin_near_the_optimum(n, d):
    X, y = logistic_with_a_zero_column(n, d, seed=3)
    l1, l2 = 0.01, 0.05
    # Near the optimum the line search takes the full step, so the step is the model's minimizer.
    start = fastreg.fit(X, y, l1=l1, l2=l2, solver="fista", fit_intercept=False, tol=1e-3)
    expected = reference.proximal_newton_direction(X, y, start.coef, 0.0, l1, l2, n_epochs=1)
    w = start.coef.copy()
    z = X @ w
    ws = np.arange(d, dtype=np.int64)
    work = work_arrays(n, d)
    coordinate.logistic_subproblem(
        X, y, z, w, 0.0, ws, d, l1, l2, False, fused.DUALITY_GAP, 0.0, 1, work["r"], work["h"],
        work["dz"], work["grad_work"], work["hess_work"], work["center"], work["w_new"],
    )
    np.testing.assert_allclose(w, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(z, X @ w, rtol=1e-10, atol=1e-13)


def test_full_gradient_and_predictor_match_numpy():
    X, y = make_problem("squared", 40, 25, seed=4)
    X = np.asfortranarray(X)
    r = np.random.default_rng(5).standard_normal(40)
    w = np.where(np.arange(25) % 3 == 0, 1.5, 0.0)
    for parallel, n in itertools.product((False, True), (40, columns.FOUR_DOTS_MAX_ROWS + 6)):
        # Columns short enough for four dot products per pass, and longer ones (one per pass).
        # 25 columns: six groups of four and one column left over.
        A, s = make_problem("squared", n, 25, seed=n)[0], np.random.default_rng(n).standard_normal(n)
        A = np.asfortranarray(A)
        grad = np.empty(25)
        coordinate.gradient(A, s, parallel, grad)
        np.testing.assert_allclose(grad, A.T @ s / n, rtol=1e-12, atol=1e-15)
        # Any columns, in groups of four and a rest: 0 to 3 left over.
        for count in (0, 1, 3, 4, 9, 14):
            index = np.random.default_rng(count).permutation(25)[:count]
            grad = np.full(25, np.nan)
            (columns.columns_parallel if parallel else columns.columns_serial)(A, s, index, grad)
            np.testing.assert_allclose(grad[index], A[:, index].T @ s / n, rtol=1e-12, atol=1e-15)
            assert np.all(np.isnan(np.delete(grad, index)))
    z = np.empty(40)
    coordinate.predictor(X, w, 0.7, z)
    np.testing.assert_allclose(z, X @ w + 0.7, rtol=1e-12)


@pytest.mark.parametrize("where", [[], [0], [63, 64], [5, 127, 128, 250, 299], list(range(0, 300, 7))])
def test_sparse_scans_find_every_non_zero_coefficient(where):
    # The scans skip blocks of 64 coefficients that hold no non-zero: non-zeros at the
    # blocks' edges, in the last (partial) block, and in every block.
    n, d = 30, 300
    rng = np.random.default_rng(len(where))
    X = np.asfortranarray(rng.standard_normal((n, d)))
    w = np.zeros(d)
    w[where] = rng.standard_normal(len(where))
    out = np.full(d, -1, dtype=np.int64)
    count = coordinate.nonzero_features(w, out)
    np.testing.assert_array_equal(out[:count], where)
    mask = np.zeros(d, bool)
    mask[where] = True
    assert coordinate.nonzero_features(mask, out) == len(where)
    np.testing.assert_array_equal(out[:len(where)], where)
    z = np.empty(n)
    coordinate.predictor(X, w, -0.3, z)
    np.testing.assert_allclose(z, X @ w - 0.3, rtol=1e-12, atol=1e-12)
    # From a list that holds the non-zeros among zeros (a certificate's list), or all of them.
    listed = np.union1d(where, np.arange(1, d, 11)).astype(np.int64)
    for candidates, count in ((listed, listed.size), (np.empty(0, np.int64), d)):
        out = np.full(d, -1, dtype=np.int64)
        assert columns.listed_nonzero(w, candidates, count, out) == len(where)
        np.testing.assert_array_equal(out[:len(where)], where)
    z = np.full(n, np.nan)
    columns.support_predictor(X, w, -0.3, listed, listed.size, z)
    np.testing.assert_allclose(z, X @ w - 0.3, rtol=1e-12, atol=1e-12)
    # Constant columns: their weight moves into the intercept, and X w + b stays.
    flat = X.copy(order="F")
    flat[:, where[::2]] = 2.5
    w_flat = w.copy()
    b = coordinate.drop_flat_columns(flat, w_flat, 0.4, True)
    np.testing.assert_array_equal(np.flatnonzero(w_flat), where[1::2])
    np.testing.assert_allclose(flat @ w_flat + b, flat @ w + 0.4, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("screened", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bounded_gradient_is_exact_where_it_decides_and_an_upper_bound_elsewhere(dtype, screened):
    n, d = 40, 300
    rng = np.random.default_rng(6)
    X = np.asfortranarray(rng.standard_normal((n, d)).astype(dtype))
    r0 = rng.standard_normal(n).astype(dtype)
    w = np.where(np.arange(d) % 50 == 0, 0.5, 0.0).astype(dtype)
    # A screened solve's features, or all of them (the block scan over every feature).
    active = np.arange(d) % 7 != 3 if screened else np.ones(d, bool)
    members = np.flatnonzero(active)
    n_members = members.size

    def bounded_gradient(r, l1, watch=None):
        # Watching by default for the features with |grad_j| >= 0.9 l1 (the next strong
        # rule's threshold on a grid of 100 lambdas down to lambda_max / 100).
        watch = dtype(0.9) * l1 if watch is None else watch
        return coordinate.bounded_gradient(X, r, w, members, n_members, parallel, l1, watch, norms, ref_r, ref_grad,
                                           ceilings, grad, decided)

    def check_ceilings(watch, exact):
        # A block's ceiling is watch where every w_j = 0 and every |grad_j| < watch (the next
        # strong rule skips it), else inf; every ceiling is inf for a block that holds a
        # feature at or above watch. A screened scan marks them unknown.
        if screened and not exact:
            assert ceilings[0] == -1
            return
        for block, ceiling in enumerate(ceilings):
            part = slice(block * coordinate.SCAN_BLOCK, (block + 1) * coordinate.SCAN_BLOCK)
            if np.any(w[part] != 0) or np.max(np.abs(grad[part])) >= watch:
                assert ceiling == np.inf
            else:
                assert ceiling == watch or (ceiling == np.inf and not exact)
        assert np.count_nonzero(ceilings == np.inf) < ceilings.size
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    # Past this share of undecided features every column is read; l1 leaves a third of it
    # violating the optimality condition.
    share = coordinate.REFERENCE_SHARE
    violating = 1 - share / 3

    def exact(r):
        return (X.astype(np.float64).T @ r.astype(np.float64)) / n

    def refreshed_list(count, l1):
        # After a refresh: the non-zero features and those at the bound's limit or above,
        # members or not, in increasing order.
        limit = l1 * (1 - 64 * np.finfo(dtype).eps)
        np.testing.assert_array_equal(decided[:count], np.flatnonzero((w != 0) | (np.abs(grad) >= limit)))

    r1 = (r0 + 1e-3 * rng.standard_normal(n)).astype(dtype)
    r2 = (r0 + rng.standard_normal(n)).astype(dtype)
    results = []  # serial and parallel: equal to rounding (their reductions vectorize differently)
    for parallel in (False, True):
        norms, ref_r, ref_grad, ceilings = fastreg.solvers.fresh_bounds(n, d, dtype)
        assert ceilings.shape == (-(-d // coordinate.SCAN_BLOCK),) and ceilings[0] == -1
        grad = np.empty(d, dtype)
        decided = np.empty(d, np.int64)
        # No norms yet: every column is read, inactive ones included, and r0 becomes the reference.
        refreshed_list(bounded_gradient(r0, dtype(0.1), dtype(0.4)), dtype(0.1))
        check_ceilings(dtype(0.4), exact=True)
        np.testing.assert_allclose(grad, exact(r0), rtol=rtol, atol=rtol * 1e-2)
        np.testing.assert_allclose(norms, np.linalg.norm(X.astype(np.float64), axis=0), rtol=rtol)
        np.testing.assert_array_equal(ref_r, [r0, np.zeros(n)])
        np.testing.assert_array_equal(ref_grad[1], np.zeros(d))

        # A small move of r: the bound settles most features.
        g1 = exact(r1)
        l1 = dtype(np.quantile(np.abs(g1), violating))
        before = grad.copy()
        read = bounded_gradient(r1, l1)
        assert 0 < read < share * d
        must_read = active & ((w != 0) | (np.abs(g1) >= l1))
        # The decided list: increasing, holding every feature that must be read.
        assert np.all(np.diff(decided[:read]) > 0)
        assert set(np.flatnonzero(must_read)) <= set(decided[:read])
        np.testing.assert_allclose(grad[must_read], g1[must_read], rtol=rtol, atol=rtol * 1e-2)
        bounded = active & ~np.isclose(grad, g1, rtol=rtol, atol=rtol * 1e-2)
        assert bounded.sum() >= d // 2
        assert np.all(w[bounded] == 0)
        assert np.all((np.abs(g1[bounded]) <= grad[bounded]) & (grad[bounded] < l1))
        # The features outside the screened set are not looked at.
        np.testing.assert_array_equal(grad[~active], before[~active])
        np.testing.assert_array_equal(ref_r[0], r0)
        check_ceilings(dtype(0.9) * l1, exact=False)

        # A large move: too many features are undecided, so every column is read again.
        refreshed_list(bounded_gradient(r2, l1), l1)
        np.testing.assert_allclose(grad, exact(r2), rtol=rtol, atol=rtol * 1e-2)
        # The old reference is the far end of the step, with the difference of the gradients.
        np.testing.assert_array_equal(ref_r[0], r2)
        np.testing.assert_allclose(ref_r[1], r0 - r2, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(ref_grad[1], exact(r0) - exact(r2), rtol=rtol, atol=rtol * 1e-2)
        results.append(grad.copy())

        # Further along the same line, plus a small move off it: the bound around the moved
        # reference settles features that the one around r2 alone cannot.
        r3 = (r2 + 0.5 * (r2 - r0) + 1e-3 * rng.standard_normal(n)).astype(dtype)
        g3 = exact(r3)
        l1 = dtype(np.quantile(np.abs(g3), violating))
        plain = np.abs(exact(r2)) + norms * np.linalg.norm(r3 - r2) / n
        plain_count = np.count_nonzero(active & ((w != 0) | (plain >= l1)))
        read = bounded_gradient(r3, l1)
        must_read = active & ((w != 0) | (np.abs(g3) >= l1))
        assert set(np.flatnonzero(must_read)) <= set(decided[:read])
        assert read < share * d < plain_count
        np.testing.assert_allclose(grad[decided[:read]], g3[decided[:read]], rtol=rtol, atol=rtol * 1e-2)
        bounded = np.setdiff1d(np.flatnonzero(active), decided[:read])
        assert np.all((np.abs(g3[bounded]) <= grad[bounded]) & (grad[bounded] < l1))
        check_ceilings(dtype(0.9) * l1, exact=False)
    np.testing.assert_allclose(results[0], results[1], rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("d", [5, 16, 300])
def test_strong_rule_members_are_the_non_zero_and_large_gradient_features(d):
    rng = np.random.default_rng(d)
    w = np.where(rng.random(d) < 0.05, rng.standard_normal(d), 0.0)
    grad = rng.standard_normal(d) * np.where(rng.random(d) < 0.1, 1.0, 0.01)
    threshold = 0.3
    expected = np.flatnonzero((w != 0) | (np.abs(grad) >= threshold))
    size = coordinate.SCAN_BLOCK
    blocks = -(-d // size)
    padded = np.zeros(blocks * size)
    padded[:d] = np.where(w != 0, np.inf, np.abs(grad))
    tops = padded.reshape(blocks, size).max(axis=1)

    def ceilings(watch):
        return np.where(tops >= watch, np.inf, watch)
    # Ceilings unknown (every feature is looked at), or watched at the threshold, below it
    # and above it (where no block is skipped): the same members.
    for marks in (np.full(blocks, -1.0), ceilings(threshold), ceilings(0.2), ceilings(0.5), ceilings(-1.0)):
        members = np.full(d, -1, dtype=np.int64)
        count = path.strong_rule_members(w, grad, threshold, marks, members)
        np.testing.assert_array_equal(members[:count], expected)
    # The ceilings are trusted: a block whose ceiling is at the threshold is skipped.
    if expected.size:
        marks = ceilings(threshold)
        marks[expected[0] // size] = threshold
        count = path.strong_rule_members(w, grad, threshold, marks, members)
        assert expected[0] not in members[:count]


def test_working_set_keeps_the_support_and_takes_the_worst_violators():
    w = np.array([0.0, 2.0, 0.0, 0.0, -1.0, 0.0])
    grad = np.array([0.5, 0.0, 3.0, 0.1, 0.0, 1.2])
    ws = np.empty(6, dtype=np.int64)
    every = np.arange(6)
    count = coordinate.select_working_set(w, grad, 0.3, 0.0, 4, every, 6, np.empty(6), ws)
    # The support {1, 4}, then the two largest violations |g| - l1: features 2 and 5.
    np.testing.assert_array_equal(ws[:count], [1, 2, 4, 5])
    # With room to spare, only features that violate the conditions join (3 does not).
    count = coordinate.select_working_set(w, grad, 0.3, 0.0, 6, every, 6, np.empty(6), ws)
    np.testing.assert_array_equal(ws[:count], [0, 1, 2, 4, 5])
    # Only the listed features are looked at: the caller vouches that the others are settled.
    count = coordinate.select_working_set(w, grad, 0.3, 0.0, 6, np.array([1, 2, 3]), 3, np.empty(6), ws)
    np.testing.assert_array_equal(ws[:count], [1, 2])


@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_certificate_terms_over_the_decided_features_equal_the_full_certificate(l2):
    rng = np.random.default_rng(12)
    d, n, l1 = 3000, 30, 0.4
    w = np.where(rng.random(d) < 0.01, rng.standard_normal(d), 0.0)
    grad = 0.5 * rng.standard_normal(d)
    # Every non-zero or violating feature, and some settled ones: what bounded_gradient lists.
    decided = np.flatnonzero((w != 0) | (np.abs(grad) > l1) | (rng.random(d) < 0.1))
    penalty, norm, grad_max, excess_sum, nnz = coordinate.certificate_terms(w, grad, decided, decided.size, l1, l2)
    np.testing.assert_allclose(penalty, l1 * np.abs(w).sum() + 0.5 * l2 * (w @ w), rtol=1e-12)
    subgradient = np.where(w > 0, np.abs(grad + l2 * w + l1), np.where(w < 0, np.abs(grad + l2 * w - l1),
                                                                       np.maximum(np.abs(grad) - l1, 0.0)))
    assert norm == subgradient.max()
    assert nnz == np.count_nonzero(w)
    # The dual objective from these terms equals the one written out over all D features.
    y = (rng.random(n) < 0.5).astype(float)
    r = rng.random(n) - y
    scale = min(1.0, l1 / np.abs(grad).max()) if l2 == 0 else 1.0
    excess = np.sum(np.maximum(np.abs(grad) - l1, 0.0) ** 2) / (2 * l2) if l2 > 0 else 0.0
    for name, code in (("logistic", fused.LOGISTIC), ("squared", fused.SQUARED)):
        expected = -np.mean(reference.conjugate(name, scale * r, y)) - excess
        np.testing.assert_allclose(fused.dual_from_terms(code, r, y, grad_max, excess_sum, l1, l2), expected, rtol=1e-12)
        np.testing.assert_allclose(fused.dual_objective(code, r, y, grad, l1, l2), expected, rtol=1e-12)


def test_working_set_selection_matches_a_sort_and_breaks_ties_by_index():
    rng = np.random.default_rng(8)
    d, size, l1 = 5000, 60, 0.3
    w = np.where(rng.random(d) < 0.004, 1.0, 0.0)
    # Rounded gradients: many violations tie, some of them at the threshold.
    grad = np.round(rng.standard_normal(d), 1)
    ws = np.empty(d, dtype=np.int64)
    count = coordinate.select_working_set(w, grad, l1, 0.0, size, np.arange(d), d, np.empty(d), ws)
    score = np.where(w != 0, np.inf, np.maximum(np.abs(grad) - l1, 0.0))
    order = np.lexsort((np.arange(d), -score))  # largest score first, then lowest index
    expected = np.sort(order[:size])
    assert count == size and np.all(score[expected] > 0)
    np.testing.assert_array_equal(ws[:count], expected)
    threshold = score[expected].min()
    assert np.sum(score == threshold) > np.sum(score[expected] == threshold)  # a tie was cut


def test_kth_largest_matches_a_sort_with_ties_infinities_and_ordered_input():
    rng = np.random.default_rng(21)
    cases = [rng.standard_normal(257), np.round(rng.standard_normal(300), 1), np.full(40, 2.5),
             np.arange(100.0), np.arange(100.0)[::-1].copy(), np.array([7.0]),
             np.where(rng.random(200) < 0.3, np.inf, rng.random(200))]
    for values in cases:
        before = values.copy()
        descending = np.sort(values)[::-1]
        for k in range(values.size):
            assert coordinate.kth_largest(values, k) == descending[k]
        np.testing.assert_array_equal(values, before)


# Sizes on and off the kernels' blocks: the Gram's 3 x 3 tiles and the factor's four rows at a
# time (7, 8 with the intercept's column, 9, 10, 22, 23), GRAM_ROWS samples at a time (70 and
# 40 in one partial block, 600 in two whole ones and a partial one).
@pytest.mark.parametrize("n, size", [(70, 7), (40, 9), (600, 22)])
@pytest.mark.parametrize("with_ones", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_gram_and_cholesky_solve_match_numpy(dtype, with_ones, n, size):
    rng = np.random.default_rng(9)
    X = np.asfortranarray(rng.standard_normal((n, 30)) + 2.0).astype(dtype)
    columns = np.sort(rng.choice(30, size, replace=False)).astype(np.int64)
    centers = rng.standard_normal(size).astype(dtype)
    root_h = rng.random(n).astype(dtype)
    W = root_h[:, None].astype(np.float64) * (X[:, columns] - centers)
    if with_ones:
        W = np.column_stack([W, root_h])
    expected = W.T @ W / n
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    gram = coordinate.weighted_gram(X, columns, centers, root_h, with_ones, dtype(1 / n))
    assert gram.dtype == dtype
    np.testing.assert_allclose(gram, expected, rtol=rtol, atol=rtol)
    rhs = rng.standard_normal(len(gram)).astype(dtype)
    solution = coordinate.solve_positive_definite(gram, rhs)
    np.testing.assert_allclose(solution, np.linalg.solve(expected, rhs.astype(np.float64)), rtol=100 * rtol)
    # Rank 3 below the size: a pivot falls to (rounding around) 0, and the solve says so.
    few = np.asfortranarray(X[:3])
    singular = coordinate.weighted_gram(few, columns, centers, root_h[:3], with_ones, dtype(1 / 3))
    assert coordinate.solve_positive_definite(singular, rhs).shape == (0,)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_carried_gram_copies_kept_pairs_and_rebuilds_when_h_changes(fit_intercept):
    n, d = 30, 12
    rng = np.random.default_rng(10)
    X = np.asfortranarray(rng.standard_normal((n, d)) + 1.0)
    state = fastreg.solvers.tangent_state(n, d, np.float64, d)[:4]
    ones = np.ones(n)

    def expected(support, h):
        A = X[:, support]
        if fit_intercept:
            A = np.column_stack([A, np.ones(n)])
        return np.tril(A.T @ (h[:, None] * A) / n)

    # Features added before, between and after the carried ones, some dropped, all replaced.
    for support in ([1, 3, 5], [0, 1, 2, 3, 5, 9], [2, 9], [2, 4, 9, 11], [6, 7]):
        support = np.array(support, dtype=np.int64)
        gram = path.carried_gram(X, support, ones, fit_intercept, 1 / n, *state)
        np.testing.assert_allclose(np.tril(gram), expected(support, ones), rtol=1e-12, atol=1e-14)
        assert state[3][0] == support.size
    # Copied, not recomputed: an entry planted in the carried matrix comes back.
    state[0][1, 0] = 123.0
    kept = path.carried_gram(X, np.array([6, 7, 8], dtype=np.int64), ones, fit_intercept, 1 / n, *state)
    assert kept[1, 0] == 123.0
    # Other curvatures (a logistic loss's h moves with w): built afresh.
    h = rng.uniform(0.05, 0.25, n)
    support = np.array([6, 7, 8, 10], dtype=np.int64)
    gram = path.carried_gram(X, support, h, fit_intercept, 1 / n, *state)
    np.testing.assert_allclose(np.tril(gram), expected(support, h), rtol=1e-12, atol=1e-14)
    # A support larger than the state holds: built afresh, and nothing is carried from it.
    small = fastreg.solvers.tangent_state(n, d, np.float64, 2)[:4]
    gram = path.carried_gram(X, support, ones, fit_intercept, 1 / n, *small)
    np.testing.assert_allclose(np.tril(gram), expected(support, ones), rtol=1e-12, atol=1e-14)
    assert small[3][0] == -1


def face_problem(fit_intercept, seed):
    """A logistic quadratic model on 8 working-set features of a 50 x 20 X, at dz = 0."""
    rng = np.random.default_rng(seed)
    n = 50
    X = np.asfortranarray(rng.standard_normal((n, 20)) + (1.5 if fit_intercept else 0.0))
    ws = np.array([1, 3, 4, 7, 10, 12, 15, 19], dtype=np.int64)
    p = 1 / (1 + np.exp(-rng.normal(0, 1.5, n)))
    y = (rng.random(n) < p).astype(float)
    r, h = p - y, p * (1 - p)
    if fit_intercept:
        r -= h * np.sum(r) / np.sum(h)  # the solver keeps the intercept optimal: sum(r) = 0
    centers = (h @ X[:, ws]) / np.sum(h) if fit_intercept else np.zeros(8)
    return X, ws, r, h, centers


def model_face_reference(X, ws, r, h, w, face, l1, l2, fit_intercept):
    """The minimizer over (w_face, db) of the model mean(r dz + h dz^2 / 2) + l1 s.w + l2 |w|^2 / 2
    with dz = X_face (w_face - w) + db, by NumPy's solver on the (intercept-augmented) system."""
    n = X.shape[0]
    A = X[:, ws[face]]
    if fit_intercept:
        A = np.column_stack([A, np.ones(n)])
    m = len(face)
    H = A.T @ (h[:, None] * A) / n
    H[:m, :m] += l2 * np.eye(m)
    g = A.T @ r / n
    g[:m] += l1 * np.sign(w[face]) + l2 * w[face]
    delta = np.linalg.solve(H, -g)
    return w[face] + delta[:m], (delta[m] if fit_intercept else 0.0)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_face_step_reaches_the_model_minimizer_on_its_sign_pattern(fit_intercept):
    X, ws, r, h, centers = face_problem(fit_intercept, seed=10)
    l1, l2 = 0.01, 0.02
    face = np.array([0, 2, 3, 5, 6, 7])
    assert len(face) >= coordinate.FACE_MIN_SHARE * 50
    w = np.zeros(8)
    w[face] = [1.8, -1.6, 1.7, -1.9, 1.5, -1.5]
    # A step that costs more than its budget (in CD epochs) is not taken.
    w_new, s = w.copy(), r.copy()
    _db, outcome = coordinate.model_face_step(X, s, np.sum(s), h, ws, 8, l1, l2, centers, w_new, 1.0, 0,
                                              np.empty(8), np.empty(50))
    assert outcome == coordinate.FACE_OVER_BUDGET
    np.testing.assert_array_equal(w_new, w)
    np.testing.assert_array_equal(s, r)
    expected_w, expected_db = model_face_reference(X, ws, r, h, w, face, l1, l2, fit_intercept)
    assert np.all(np.sign(expected_w) == np.sign(w[face]))  # no coefficient crosses 0 here
    w_new, s = w.copy(), r.copy()
    db, outcome = coordinate.model_face_step(X, s, np.sum(s), h, ws, 8, l1, l2, centers, w_new, 100.0, 0,
                                             np.empty(8), np.empty(50))
    assert outcome == coordinate.FACE_REACHED
    np.testing.assert_allclose(w_new[face], expected_w, rtol=1e-10)
    np.testing.assert_array_equal(np.delete(w_new, face), 0.0)
    np.testing.assert_allclose(db, expected_db, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(s, r + h * (X[:, ws] @ (w_new - w) + db), rtol=1e-10, atol=1e-14)


def active_set_reference(X, ws, r, h, w, face, l1, l2, removals):
    """The face steps of the model (no intercept) in NumPy: from w, move toward the minimizer of
    the model's smooth part on the face (each face solved afresh from X), stop where the first
    coefficient reaches 0, drop it from the face, and go on; at most ``removals`` drops.
    Returns (point, whether the last face's minimizer was reached)."""
    n = X.shape[0]
    A = X[:, ws]
    v = w.copy()
    inside = list(face)
    for _ in range(removals + 1):
        F = np.array(inside)
        B = A[:, F]
        # The gradient of mean(r dz + h dz^2 / 2) + l1 s.v + l2 |v|^2 / 2 in v_F, dz = A (v - w),
        # is 0 at the face's minimizer.
        lhs = B.T @ (h[:, None] * B) / n + l2 * np.eye(len(F))
        rhs = B.T @ (h * (A @ w - A @ v + B @ v[F])) / n - B.T @ r / n - l1 * np.sign(w[F])
        target = np.linalg.solve(lhs, rhs)
        crosses = np.sign(target) != np.sign(v[F])
        if not crosses.any():
            v[F] = target
            return v, True
        reach = np.where(crosses, v[F] / (v[F] - target), np.inf)
        first = np.argmin(reach)
        v[F] += reach[first] * (target - v[F])
        v[F[first]] = 0.0
        inside.remove(F[first])
    return v, False


def model_value(X, ws, r, h, w, l1, l2, v):
    step = X[:, ws] @ (v - w)
    return np.mean(r * step + h * step**2 / 2) + l1 * np.abs(v).sum() + l2 / 2 * v @ v


def test_face_step_drops_coefficients_that_reach_zero_until_a_face_minimizer():
    X, ws, r, h, centers = face_problem(False, seed=11)
    l1, l2 = 0.01, 0.0
    face = np.array([0, 1, 3, 4, 6, 7])
    w = np.zeros(8)
    w[face] = [0.05, -0.05, 0.05, -0.05, 0.05, -0.05]
    expected, reached = active_set_reference(X, ws, r, h, w, face, l1, l2, removals=len(face))
    assert reached
    dropped = (expected == 0) & (w != 0)
    assert dropped.any()  # the first face's minimizer has coefficients of the other sign
    w_new, s = w.copy(), r.copy()
    _db, outcome = coordinate.model_face_step(X, s, np.sum(s), h, ws, 8, l1, l2, centers, w_new, 100.0, 0,
                                              np.empty(8), np.empty(50))
    assert outcome == coordinate.FACE_REACHED
    np.testing.assert_allclose(w_new, expected, rtol=1e-10, atol=1e-15)
    np.testing.assert_array_equal(w_new[dropped], 0.0)
    np.testing.assert_allclose(s, r + h * (X[:, ws] @ (w_new - w)), rtol=1e-10, atol=1e-14)
    assert model_value(X, ws, r, h, w, l1, l2, w_new) < model_value(X, ws, r, h, w, l1, l2, w)


def test_face_step_stops_at_a_zero_crossing_when_its_budget_runs_out():
    # 120 of 150 samples on the face, each coefficient small and of a random sign: the face's
    # minimizer has many coefficients of the other sign, and each smaller face's Cholesky
    # factorization costs CD epochs.
    rng = np.random.default_rng(12)
    n, m = 150, 120
    X = np.asfortranarray(rng.standard_normal((n, m)))
    ws = np.arange(m, dtype=np.int64)
    p = 1 / (1 + np.exp(-rng.normal(0, 1.5, n)))
    r, h = p - (rng.random(n) < p), p * (1 - p)
    l1, l2 = 0.01, 0.0
    w = 0.01 * rng.choice([-1.0, 1.0], m)
    face = np.arange(m)
    full, reached = active_set_reference(X, ws, r, h, w, face, l1, l2, removals=m)
    assert reached
    # Just enough budget for the first step: the smaller faces may spend only FACE_MARGIN times it.
    first_cost = m * (coordinate.FACE_COLUMN_READS * n + m * (n + m) / coordinate.FACE_COST_DIVISOR) \
        + coordinate.FACE_SAMPLE_PASSES * n
    needed = first_cost * coordinate.FACE_MARGIN / (m * n)
    w_new = w.copy()
    _db, outcome = coordinate.model_face_step(X, r.copy(), np.sum(r), h, ws, m, l1, l2, np.zeros(m), w_new, needed,
                                              0, np.empty(m), np.empty(n))
    assert outcome == coordinate.FACE_CLIPPED
    dropped = np.count_nonzero(w_new == 0)
    assert 1 <= dropped < np.count_nonzero(full == 0)
    expected, reached = active_set_reference(X, ws, r, h, w, face, l1, l2, removals=dropped - 1)
    assert not reached
    np.testing.assert_allclose(w_new, expected, rtol=1e-8, atol=1e-14)
    assert model_value(X, ws, r, h, w, l1, l2, w_new) < model_value(X, ws, r, h, w, l1, l2, w)


# scikit-learn's reference solve stops at a gap of 3e-14 against its tolerance of 1.8e-14.
@pytest.mark.filterwarnings("ignore:Objective did not converge")
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_squared_subproblem_finishes_a_correlated_lasso_by_face_steps(fit_intercept):
    # Neighbouring columns correlated 0.95: plain CD (the NumPy twin) needs 347 epochs to come
    # within 1e-9 of the optimum here; face steps on the sign pattern finish well inside 40.
    rng = np.random.default_rng(13)
    n, d = 40, 12
    Z = rng.standard_normal((n, d))
    X = Z.copy()
    for j in range(1, d):
        X[:, j] = 0.95 * X[:, j - 1] + np.sqrt(1 - 0.95**2) * Z[:, j]
    X = np.asfortranarray(X + (2.0 if fit_intercept else 0.0))
    y = X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n) + (1.0 if fit_intercept else 0.0)
    l1 = 0.02 * lambda_max_formula("squared", X, y, fit_intercept)
    from sklearn.linear_model import Lasso
    star = Lasso(alpha=l1, fit_intercept=fit_intercept, tol=1e-16, max_iter=10**7).fit(X, y)
    assert np.count_nonzero(star.coef_) >= coordinate.FACE_MIN_SHARE * n
    w = np.zeros(d)
    b0 = float(np.mean(y)) if fit_intercept else 0.0
    r = b0 - y
    epochs, b, stop = coordinate.squared_subproblem(
        X, y, r, w, b0, np.arange(d, dtype=np.int64), d, l1, 0.0, fit_intercept, fused.DUALITY_GAP, 1e-14, 40,
        np.zeros(d), np.full(d, -1.0), np.zeros(d),
    )
    assert stop <= 1e-14 and epochs < 40
    np.testing.assert_allclose(w, star.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(b, star.intercept_ if fit_intercept else 0.0, rtol=0, atol=1e-8)
    np.testing.assert_allclose(r, X @ w + b - y, rtol=1e-12, atol=1e-12)


def relative_gap_ok(result):
    return result.converged and result.gap <= result.tolerance


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("penalty", sorted(PENALTIES))
@pytest.mark.parametrize("loss", ["logistic", "squared"])
# (4200, 8): columns long enough for two coordinates per pass (PAIR_MIN_COLUMN_BYTES) in
# float64 and float32.
@pytest.mark.parametrize("shape", [(80, 30), (40, 300), (4200, 8)])
def test_cd_certifies_and_agrees_with_fista(shape, loss, penalty, fit_intercept, dtype):
    X, y = make_problem(loss, *shape, seed=6, dtype=dtype)
    lam = 0.1 * lambda_max_formula(loss, X.astype(np.float64), y.astype(np.float64), fit_intercept)
    l1, l2 = (lam * share for share in PENALTIES[penalty])
    tol = 1e-10 if dtype == np.float64 else 1e-5
    cd = fastreg.fit(X, y, loss=loss, l1=l1, l2=l2, fit_intercept=fit_intercept, tol=tol)
    assert cd.coef.dtype == dtype
    assert relative_gap_ok(cd)
    _value, gap, _norm = reference.certificate(loss, X.astype(np.float64), y.astype(np.float64),
                                               cd.coef.astype(np.float64), cd.intercept, l1, l2, fit_intercept)
    assert gap <= cd.tolerance * 1.01 + 1e-6 * (dtype == np.float32)
    fista = fastreg.fit(X.astype(np.float64), y.astype(np.float64), loss=loss, l1=l1, l2=l2,
                        fit_intercept=fit_intercept, solver="fista", tol=1e-12, max_iter=1_000_000)
    if dtype == np.float64:
        assert abs(cd.objective - fista.objective) <= 1e-8 * fista.objective
        if l1 > 0:
            np.testing.assert_array_equal(cd.coef != 0, np.abs(fista.coef) > 0)
    else:
        # float32 stops within its tolerance of the optimum, up to float32 rounding of F.
        assert abs(cd.objective - fista.objective) <= cd.tolerance * 1.01 + 1e-5 * fista.objective


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_at_and_above_lambda_max_the_solution_is_exactly_zero(loss, fit_intercept):
    X, y = make_problem(loss, 50, 40, seed=7)
    lam = lambda_max_formula(loss, X, y, fit_intercept)
    for l1 in (lam, 2 * lam):
        result = fastreg.fit(X, y, loss=loss, l1=l1, fit_intercept=fit_intercept, tol=1e-10)
        assert result.converged and np.all(result.coef == 0)
    below = fastreg.fit(X, y, loss=loss, l1=0.99 * lam, fit_intercept=fit_intercept, tol=1e-10)
    assert np.count_nonzero(below.coef) >= 1


def test_heavily_imbalanced_classes_converge_to_the_right_intercept():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(8)
    X = rng.standard_normal((2000, 10)) + 3.0
    y = np.zeros(2000)
    y[rng.choice(2000, 20, replace=False)] = 1.0  # 1 % positives
    l2 = 1e-3
    result = fastreg.fit(X, y, l2=l2, tol=1e-12)
    peer = LogisticRegression(C=1 / (2000 * l2), tol=1e-14, max_iter=100_000).fit(X, y)
    assert relative_gap_ok(result)
    # The optimal intercept makes the mean predicted probability the fraction of positives.
    mean_p = reference.sigmoid(X @ result.coef + result.intercept).mean()
    np.testing.assert_allclose(mean_p, 0.01, rtol=1e-8)
    np.testing.assert_allclose(result.intercept, peer.intercept_[0], rtol=1e-6)


def test_one_sample_one_feature():
    X = np.array([[2.0]])
    result = fastreg.fit(X, [3.0], loss="squared", l1=0.5, fit_intercept=False, tol=1e-12)
    # F(w) = (3 - 2w)^2 / 2 + 0.5 |w|: w = (2 * 3 - 0.5) / 4.
    np.testing.assert_allclose(result.coef, [(6 - 0.5) / 4], rtol=1e-12)
    result = fastreg.fit(X, [3.0], loss="squared", l1=0.5, tol=1e-12)
    np.testing.assert_array_equal(result.coef, [0.0])  # the intercept fits one sample alone
    assert result.intercept == 3.0


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_duplicated_columns_give_the_objective_of_the_original_problem(loss):
    X, y = make_problem(loss, 60, 8, seed=9)
    l1 = 0.1 * lambda_max_formula(loss, X, y, True)
    once = fastreg.fit(X, y, loss=loss, l1=l1, tol=1e-12)
    twice = fastreg.fit(np.hstack([X, X]), y, loss=loss, l1=l1, tol=1e-12)
    # Splitting a weight between two copies leaves both the fit and the l1 norm unchanged.
    np.testing.assert_allclose(twice.objective, once.objective, rtol=1e-9)
    np.testing.assert_allclose(twice.coef[:8] + twice.coef[8:], once.coef, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("dataset", ["leukemia", "colon-cancer", "arcene"])
def test_real_data_l1_logistic_and_lasso_certified_and_match_sklearn(dataset, fit_intercept):
    from sklearn.linear_model import Lasso, LogisticRegression

    X, y = load_dataset(dataset)
    n = X.shape[0]
    for loss in ("logistic", "squared"):
        l1 = 0.1 * lambda_max_formula(loss, X, y, fit_intercept)
        result = fastreg.fit(X, y, loss=loss, l1=l1, fit_intercept=fit_intercept, tol=1e-9, max_iter=100_000)
        assert relative_gap_ok(result)
        _value, gap, _norm = reference.certificate(loss, X, y, result.coef, result.intercept, l1, 0.0, fit_intercept)
        assert gap <= result.tolerance * 1.01
        if loss == "logistic" and fit_intercept:
            # scikit-learn's L1 logistic with an unpenalized intercept is saga, which takes
            # minutes to get near 1e-9 here; the gap checked above is the certificate, and
            # test_reaches_sklearn_l1_logistic_optimum covers saga on smaller data.
            continue
        if loss == "logistic":
            peer = LogisticRegression(C=1 / (n * l1), l1_ratio=1.0, solver="liblinear", tol=1e-10,
                                      max_iter=100_000, fit_intercept=False)
        else:
            peer = Lasso(alpha=l1, tol=1e-10, max_iter=1_000_000, fit_intercept=fit_intercept)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer.fit(X, y)
        theirs = reference.objective(loss, X, y, np.ravel(peer.coef_), float(np.ravel([peer.intercept_])[0]), l1, 0.0)
        # The gap bounds our suboptimality (up to the rounding of the two objectives); the
        # peer, solved less tightly, may only be higher.
        assert result.objective <= theirs + result.gap + 4 * np.finfo(float).eps * theirs
        assert theirs - result.objective <= 1e-6 * theirs


# Lambdas of arcene's 100-lambda path (lambda_max to lambda_max / 100, no intercept) where two
# or three near-duplicate features are the only non-zeros. Before faces this small got face
# steps, CD crawled there: 8280 and 10435 epochs at these lambdas of the path (tol 1e-6), 15510
# and 12496 for these cold solves (75 and 171 with them).
@pytest.mark.parametrize("loss, step", [("logistic", 21), ("squared", 43)])
def test_cd_finishes_a_small_face_of_near_duplicate_features(loss, step):
    X, y = load_dataset("arcene")
    l1 = lambda_max_formula(loss, X, y, False) * 1e-2 ** (step / 99)
    result = fastreg.fit(X, y, loss=loss, l1=l1, fit_intercept=False, tol=1e-8, max_iter=100_000)
    assert np.count_nonzero(result.coef) < coordinate.FACE_MIN_SHARE * X.shape[0]
    _value, gap, _norm = reference.certificate(loss, X, y, result.coef, 0.0, l1, 0.0, False)
    assert gap <= result.tolerance * 1.01
    assert result.n_iter <= 400


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("dataset", ["leukemia", "colon-cancer"])
def test_real_data_elastic_net_and_l2_certified(dataset, fit_intercept):
    X, y = load_dataset(dataset)
    cases = [("logistic", 0.5, 0.5), ("squared", 0.5, 0.5), ("logistic", 0.0, 1.0)]
    # Pure ridge on these D >> N correlated sets is ill-conditioned for every first-order
    # method (cd needs over 20000 epochs): squared L2 is covered on synthetic data above.
    for loss, l1_share, l2_share in cases:
        lam = 0.05 * lambda_max_formula(loss, X, y, fit_intercept)
        l1, l2 = l1_share * lam, l2_share * lam
        result = fastreg.fit(X, y, loss=loss, l1=l1, l2=l2, tol=1e-9, max_iter=100_000, fit_intercept=fit_intercept)
        assert relative_gap_ok(result)
        single = fastreg.fit(X.astype(np.float32), y.astype(np.float32), loss=loss, l1=l1, l2=l2, tol=1e-5,
                             fit_intercept=fit_intercept)
        assert single.coef.dtype == np.float32 and single.converged
        # float32 stops within its own tolerance of the optimum, up to float32 rounding of F.
        assert abs(single.objective - result.objective) <= single.tolerance + 1e-6 * result.objective


def test_max_iter_warning_says_what_gap_was_reached():
    X, y = make_problem("logistic", 100, 50, seed=10)
    with pytest.warns(ConvergenceWarning, match=r"cd stopped at max_iter=2 before converging: duality_gap \S+ > tolerance"):
        result = fastreg.fit(X, y, l1=0.01, tol=1e-12, max_iter=2)
    assert not result.converged and result.n_iter == 2


def test_warm_start_from_the_optimum_runs_no_epoch():
    X, y = make_problem("logistic", 60, 8)
    solved = fastreg.fit(X, y, l1=0.01, tol=1e-10)
    again = fastreg.fit(X, y, l1=0.01, tol=1e-6, w0=solved.coef, intercept0=solved.intercept)
    assert again.converged and again.n_iter == 0
    np.testing.assert_array_equal(again.coef, solved.coef)


# A column that does not change the loss: zero (either way) or constant (with an intercept).
@pytest.mark.parametrize("column, fit_intercept", [(0.0, False), (0.0, True), (3.0, True)])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
@pytest.mark.parametrize("l1, l2", [(0.01, 0.0), (0.0, 0.1)])
def test_warm_start_with_weight_on_a_flat_column_reaches_the_optimum(column, fit_intercept, loss, l1, l2):
    X, y = make_problem(loss, 60, 5, seed=8)
    X[:, 2] = column
    w0 = np.array([0.0, 0.2, 0.7, 0.0, 0.0])
    w0_before = w0.copy()
    warm = fastreg.fit(X, y, loss=loss, l1=l1, l2=l2, fit_intercept=fit_intercept, w0=w0, tol=1e-10)
    np.testing.assert_array_equal(w0, w0_before)
    reference_fit = fastreg.fit(X, y, loss=loss, l1=l1, l2=l2, fit_intercept=fit_intercept, solver="fista",
                                tol=1e-12, max_iter=1_000_000)
    assert warm.converged and warm.coef[2] == 0.0
    assert abs(warm.objective - reference_fit.objective) <= 1e-8 * reference_fit.objective


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_a_column_far_from_zero_gives_the_centered_column_s_coefficients(loss):
    # With an intercept, adding a constant to a column moves only the intercept. At 1e8 the
    # column's moments E x^2 - (E x)^2 cancel to noise unless taken about one of its values.
    X, y = make_problem(loss, 200, 6, seed=9)
    shifted = X.copy()
    shifted[:, 1] += 1e8
    centered = fastreg.fit(X, y, loss=loss, l1=0.01, tol=1e-10)
    far = fastreg.fit(shifted, y, loss=loss, l1=0.01, tol=1e-10)
    assert far.converged
    np.testing.assert_allclose(far.coef, centered.coef, rtol=1e-5, atol=1e-8)
    assert abs(far.objective - centered.objective) <= 1e-8 * centered.objective


def test_fortran_float64_input_is_not_copied_and_memory_is_linear():
    X, y = make_problem("squared", 4000, 250)
    X = np.asfortranarray(X)
    fastreg.fit(X, y, loss="squared", l1=0.1, max_iter=3, tol=0)  # compile outside the trace
    tracemalloc.start()
    fastreg.fit(X, y, loss="squared", l1=0.1, max_iter=3, tol=0)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.1 * X.nbytes


def test_lr_is_refused_by_cd():
    X, y = make_problem("squared", 10, 3)
    with pytest.raises(ValueError, match="lr applies to the gd and fista solvers"):
        fastreg.fit(X, y, loss="squared", lr=0.1)


def test_history_holds_one_certificate_per_outer_iteration_ending_at_the_result():
    separable = np.vstack([np.full((20, 2), 2.0), np.full((20, 2), -2.0)]) + np.random.default_rng(0).normal(0, 0.5, (40, 2))
    cases = [
        (separable, np.r_[np.ones(20), np.zeros(20)], "logistic", 0.0, 0),  # ends on a solved working set
        (*make_problem("logistic", 80, 30, seed=5), "logistic", 0.01, 1e-10),
        (*make_problem("squared", 80, 30, seed=5), "squared", 0.01, 1e-10),
    ]
    for X, y, loss, l1, tol in cases:
        result = fastreg.fit(X, y, loss=loss, l1=l1, tol=tol, max_iter=5000, history=True)
        expected = reference.objective(loss, X, y, result.coef, result.intercept, l1, 0.0)
        assert result.history[-1] == result.objective
        # The solver's predictor z = X w + b is kept up to date step by step: it carries a
        # rounding of a few eps times the size of the terms summed, and a logistic loss near
        # e^-z changes by that much relative. On the separable data (|w| ~ 1e3, losses ~ 1e-108)
        # that is above 1e-12.
        scale = np.max(np.abs(X) @ np.abs(result.coef) + abs(result.intercept))
        rtol = max(1e-12, 16 * np.finfo(float).eps * scale) if loss == "logistic" else 1e-12
        np.testing.assert_allclose(result.history[-1], expected, rtol=rtol, atol=1e-300)
        assert np.all(np.diff(result.history) <= 1e-15)


def test_line_search_trial_hands_the_state_at_the_step_to_the_next_newton_iteration():
    rng = np.random.default_rng(4)
    n = 500
    z = rng.normal(0, 3, n)
    dz = rng.normal(0, 1, n)
    y = (rng.random(n) < 0.4).astype(float)
    t = 0.5
    r = np.empty(n)
    h = np.empty(n)
    losses = np.empty(n)
    coordinate.logistic_state(z, y, r, h, losses)
    trial_loss = np.empty(n)
    trial_r = np.empty(n)
    change = coordinate.logistic_loss_change(z, dz, t, y, losses, trial_loss, trial_r)
    moved = z + t * dz
    expected_losses, expected_r = reference.loss_residual("logistic", moved, y)
    before, _r = reference.loss_residual("logistic", z, y)
    np.testing.assert_allclose(change, np.mean(expected_losses - before), rtol=1e-12)
    mean_loss = coordinate.adopt_trial_state(y, trial_loss, trial_r, losses, r, h)
    p = reference.sigmoid(moved)
    np.testing.assert_allclose(mean_loss, np.mean(expected_losses), rtol=1e-13)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(r, expected_r, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h, p * (1 - p), rtol=1e-12, atol=1e-15)
