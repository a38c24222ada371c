"""Kernels against the NumPy twin (1e-12 in float64), finite differences and exact norms."""

import time

import numpy as np
import pytest
from conftest import make_problem

from fastreg import reference
from fastreg._jit import kernel
from fastreg.kernels import clock, columns, fused, vecmath

SHAPES = [(1, 1), (1, 6), (6, 1), (7, 3), (23, 3), (20, 200), (200, 20), (9, 600)]
# 7, 9 rows: a block of 4 and a rest; 23: a block of BLOCK_ROWS (logistic), one of 4 and a rest
LOSSES = {"logistic": fused.LOGISTIC, "squared": fused.SQUARED}
# C order goes through the row-wise passes; Fortran order with columns of at most
# fused.COLUMN_MAX_BYTES (every shape here) through the column-wise ones.
LAYOUTS = {"C": np.ascontiguousarray, "F": np.asfortranarray}


def buffers(n, d, blocks=1):
    return np.empty(n), fused.partial_gradients(blocks, d, np.float64), np.empty(d)


def start(d, seed=1):
    return np.random.default_rng(seed).standard_normal(d) * 0.3


def assert_gradient_matches_reference(loss, X, y, w, b, blocks):
    """The fused pass on ``blocks`` row blocks against the NumPy twin, every output."""
    z, partial, grad = buffers(*X.shape, blocks)
    loss_mean, residual_mean = fused.gradient(LOSSES[loss], X, y, w, b, z, partial, grad)
    ref_loss, ref_residual, ref_grad, ref_z = reference.gradient(loss, X, y, w, b)
    np.testing.assert_allclose(loss_mean, ref_loss, rtol=1e-12)
    np.testing.assert_allclose(residual_mean, ref_residual, rtol=1e-12, atol=1e-15)
    # Each z_i = X[i] w + b is a sum of D + 1 terms, which both sides round differently: the
    # bound is the dot product's, 2 (D + 1) eps sum_j |X_ij w_j| (Higham, Accuracy and
    # Stability, 3.1). Relative to z_i, a z_i near 0 by cancellation can differ by much more
    # than 1e-12. So can a gradient entry, a sum of N terms r_i X_ij: its bound is the same
    # dot product's, plus what the residuals' own differences (at most z's: |f''| <= 1) carry.
    n, d = X.shape
    eps = np.finfo(X.dtype).eps
    bound = 2 * (d + 1) * eps * (np.abs(X) @ np.abs(w) + abs(b))
    assert np.all(np.abs(z - ref_z) <= bound)
    r = np.abs(reference.loss_residual(loss, ref_z, y)[1])
    grad_bound = (2 * (n + 1) * eps * (np.abs(X).T @ r) + np.abs(X).T @ (bound + eps * r)) / n
    assert np.all(np.abs(grad - ref_grad) <= grad_bound)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("blocks", [1, 2, 3])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_gradient_matches_reference(loss, shape, blocks, layout):
    X, y = make_problem(loss, *shape)
    X = LAYOUTS[layout](X)
    assert fused.by_columns(X) == (X.flags.f_contiguous and not X.flags.c_contiguous)
    assert_gradient_matches_reference(loss, X, y, start(shape[1]), 0.2, blocks)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("blocks", [1, 2])
@pytest.mark.parametrize("n, d", [(4_303, 500), (5_003, 420)])
def test_gradient_of_streamed_rows_matches_reference(loss, blocks, n, d):
    # 17 MB of 4 kB rows with 3 rows after the blocks of 4, and of 3.4 kB rows with 3 after them.
    X, y = make_problem(loss, n, d)
    assert fused.streams_rows(X) and not fused.streams_rows(X[:1_000]) and not fused.pipelines_rows(X)
    assert_gradient_matches_reference(loss, X, y, start(d), -0.3, blocks)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("blocks", [1, 2])
@pytest.mark.parametrize("n, d", [(1_031, 2_050), (2_213, 950)])
def test_gradient_of_pipelined_rows_matches_reference(loss, blocks, n, d):
    # 17 MB of 16 kB rows with 3 rows after the blocks of 4, and of 7.6 kB rows with 1 after them.
    X, y = make_problem(loss, n, d)
    assert fused.pipelines_rows(X) and not fused.streams_rows(X) and not fused.pipelines_rows(X[:, :500])
    assert_gradient_matches_reference(loss, X, y, start(d), -0.3, blocks)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("blocks", [1, 2])
def test_gradient_of_paired_rows_matches_reference(loss, blocks):
    # Rows just long enough for two threads' four rows to pass PAIRED_REUSE_BYTES, on at
    # least STREAM_MIN_BYTES with 3 rows after the pairs: two blocks take them two at a time,
    # one block four at a time.
    d = fused.PAIRED_REUSE_BYTES // (8 * 4 * 2) + 1
    n = fused.STREAM_MIN_BYTES // (8 * d) + 4
    X, y = make_problem(loss, n, d)
    assert fused.pipelines_rows(X) and fused.pipelines_pairs(X, 2) and not fused.pipelines_pairs(X, 1)
    assert_gradient_matches_reference(loss, X, y, start(d), -0.3, blocks)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("kernel", ["pipelined_rows", "pipelined_pairs"])
# Fewer rows than the pipeline's two blocks (4, 7 rows; 2, 3 for pairs), two blocks exactly
# (8; 4), and rows after the blocks (1 to 3; 1).
@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 8, 9, 14, 31])
def test_pipelined_rows_match_reference(loss, kernel, n):
    X, y = make_problem(loss, n, 37)
    w, b = start(37), 0.4
    z, grad = np.empty(n), np.zeros(37)
    loss_sum, residual_sum = getattr(fused, kernel)(LOSSES[loss], X, y, w, b, True, z, grad)
    ref_loss, ref_residual, ref_grad, ref_z = reference.gradient(loss, X, y, w, b)
    np.testing.assert_allclose(loss_sum / n, ref_loss, rtol=1e-12)
    np.testing.assert_allclose(residual_sum / n, ref_residual, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad / n, ref_grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(z, ref_z, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", LOSSES)
def test_parallel_pass_is_reproducible(loss):
    X, y = make_problem(loss, 501, 37)
    w = start(37)
    first = [np.empty(0)] * 2
    for repeat in range(2):
        z, partial, grad = buffers(501, 37, blocks=2)
        fused.gradient(LOSSES[loss], X, y, w, 0.1, z, partial, grad)
        if repeat == 0:
            first = grad.copy()
    np.testing.assert_array_equal(grad, first)


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_matches_finite_differences(loss):
    X, y = make_problem(loss, 30, 8)
    w, b = start(8), -0.4
    z, partial, grad = buffers(30, 8)
    _loss, residual_mean = fused.gradient(LOSSES[loss], X, y, w, b, z, partial, grad)
    h = 1e-6
    for j in range(8):
        e = np.zeros(8)
        e[j] = h
        numeric = (reference.objective(loss, X, y, w + e, b, 0, 0) - reference.objective(loss, X, y, w - e, b, 0, 0)) / (2 * h)
        assert abs(numeric - grad[j]) < 1e-7
    numeric_b = (reference.objective(loss, X, y, w, b + h, 0, 0) - reference.objective(loss, X, y, w, b - h, 0, 0)) / (2 * h)
    assert abs(numeric_b - residual_mean) < 1e-7


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("prox", [False, True])
def test_gd_step_matches_reference(loss, shape, prox):
    X, y = make_problem(loss, *shape)
    w, b = start(shape[1]), 0.1
    w[0] = 0.0  # sign(0) = 0 in the subgradient form
    ref_value, ref_w, ref_b = reference.gd_step(loss, X, y, w, b, 0.05, 0.03, 0.2, True, prox)
    z, partial, grad = buffers(*shape)
    value, new_b = fused.gd_step(LOSSES[loss], X, y, w, b, 0.05, 0.03, 0.2, True, prox, z, partial, grad)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(w, ref_w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(new_b, ref_b, rtol=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (20, 200), (200, 20)])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_whole_loop_solvers_match_reference(loss, shape, fit_intercept, layout):
    X, y = make_problem(loss, *shape)
    X = LAYOUTS[layout](X)
    n, d = shape
    lr = 1.0 / (reference.squared_operator_norm(X, fit_intercept) / n + 0.01)
    w0 = start(d)
    z, partial, grad = buffers(n, d)
    for prox in (False, True):
        w = w0.copy()
        history = np.empty(40)
        n_iter, b, status, _value = fused.gd_solve(
            LOSSES[loss], X, y, w, 0.0, lr, 0.02, 0.01, fit_intercept, prox, 40, 0.0,
            fused.DUALITY_GAP, 10, z, partial, grad, history,
        )
        ref_w, ref_b, ref_history = reference.gd_solve(loss, X, y, w0, 0.0, lr, 0.02, 0.01, fit_intercept, prox, 40)
        assert (n_iter, status) == (40, fused.MAX_ITER)
        np.testing.assert_allclose(w, ref_w, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(b, ref_b, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(history, ref_history, rtol=1e-12)
    w = w0.copy()
    history = np.empty(40)
    n_iter, b, status, _value = fused.fista_solve(
        LOSSES[loss], X, y, w, 0.0, lr, 0.02, 0.01, fit_intercept, 40, 0.0, fused.DUALITY_GAP, 10,
        np.empty(d), np.empty(d), z, partial, grad, history,
    )
    ref_w, ref_b, ref_history = reference.fista_solve(loss, X, y, w0, 0.0, lr, 0.02, 0.01, fit_intercept, 40)
    np.testing.assert_allclose(w, ref_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, ref_b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(history, ref_history, rtol=1e-11)


@pytest.mark.parametrize("level, sizes, expected", [
    (2, {"index0": ("1", "32K"), "index2": ("2", "512K"), "index3": ("3", "32768K")}, 512 * 1024),
    (3, {"index0": ("1", "32K"), "index2": ("2", "512K"), "index3": ("3", "32768K")}, 32 * 1024 * 1024),
    (2, {"index0": ("1", "48K"), "index2": ("2", "2M")}, 2 * 1024 * 1024),
    (2, {"index0": ("1", "32K"), "index1": ("2", "1M"), "index2": ("3", "16M")}, 1024 * 1024),  # not at index2
    (3, {"index0": ("1", "32K"), "index1": ("2", "1M"), "index2": ("3", "16M")}, 16 * 1024 * 1024),
    (2, {"index0": ("1", "32K"), "index3": ("3", "32768K")}, 12345),  # no L2 listed
    (3, {"index0": ("1", "32K"), "index2": ("2", "2M")}, 12345),  # no L3 listed
    (2, {"index2": ("2", "big")}, 12345),
    (3, {}, 12345),  # no cache folder at all
])
def test_cache_bytes_reads_sysfs_and_falls_back(tmp_path, level, sizes, expected):
    folder = tmp_path / "cache"
    if sizes:
        for index, (listed, size) in sizes.items():
            (folder / index).mkdir(parents=True)
            (folder / index / "level").write_text(listed + "\n")
            (folder / index / "size").write_text(size + "\n")
    assert fused.cache_bytes(level, 12345, str(folder)) == expected


@pytest.mark.parametrize("threads", [1, 2, 16])
def test_tile_width_prefers_l2_then_l3_then_narrow_l2_tiles(threads):
    threaded = threads > 1
    min_row_bytes = fused.THREADED_TILED_MIN_ROW_BYTES if threaded else fused.TILED_MIN_ROW_BYTES
    d = min_row_bytes // 8
    large_bytes = fused.large_tile_bytes(threads)
    # The threads' tiles in L3 fit it together, and take a sixteenth of it on one or two.
    assert large_bytes * max(threads, 2) <= fused.L3_BYTES // 8
    assert threaded and threads > 2 or large_bytes == fused.L3_BYTES // 16
    floor = fused.THREADED_MIN_TILE_COLUMNS if threaded else fused.MIN_TILE_COLUMNS
    widths = [fused.tile_width(n, d, 8, threads) for n in range(1, 5001)]
    for n, width in enumerate(widths, start=1):
        l2_width = fused.TILE_BYTES // (8 * n)
        if l2_width >= fused.MIN_TILE_COLUMNS:  # a wide enough tile in L2 comes first
            assert width == l2_width
        elif width:  # else a tile in L3, or on threads a narrower one in L2
            assert width >= floor and 8 * n * width <= max(large_bytes, fused.TILE_BYTES)
            assert width >= fused.MIN_TILE_COLUMNS or width == l2_width
    assert widths[-1] == 0  # 5000 rows: no tile keeps enough columns
    if not threaded or threads == 2:
        # One row more than an L2 tile of MIN_TILE_COLUMNS holds: a tile in L3.
        few = fused.TILE_BYTES // (8 * fused.MIN_TILE_COLUMNS)
        assert widths[few] == large_bytes // (8 * (few + 1)) > fused.TILE_BYTES // (8 * (few + 1))
    assert fused.tile_width(1, d - 1, 8, threads) == 0  # rows too short for tiles


@pytest.mark.parametrize("loss", LOSSES)
# The shortest rows that go by tiles, 20 rows whose last tile is a partial one, and rows that
# go by tiles on two threads or more only.
@pytest.mark.parametrize("shape", [(5, fused.TILED_MIN_ROW_BYTES // 8), (20, fused.TILED_MIN_ROW_BYTES // 8 + 7),
                                   (20, fused.THREADED_TILED_MIN_ROW_BYTES // 8 + 7)])
@pytest.mark.parametrize("blocks", [1, 2, 3])
# From w = 0 the first predictor is the intercept, taken without a pass over X.
@pytest.mark.parametrize("zero_start", [False, True])
def test_tiled_gd_matches_reference(loss, shape, blocks, zero_start):
    n, d = shape
    # Long enough rows for the column-tiled pass (the last shape's on one thread go by rows).
    assert (fused.tile_width(n, d, 8, blocks) > 0) == (blocks > 1 or d * 8 >= fused.TILED_MIN_ROW_BYTES)
    X, y = make_problem(loss, n, d)
    lr = 1.0 / (reference.squared_operator_norm(X, True) / n + 0.01)
    w0 = np.zeros(d) if zero_start else start(d)
    ref = {prox: reference.gd_solve(loss, X, y, w0, 0.1, lr, 0.02, 0.01, True, prox, 12) for prox in (False, True)}
    for prox in (False, True):
        runs = []
        for _ in range(2):
            w = w0.copy()
            history = np.empty(12)
            z, partial, grad = buffers(n, d, blocks)
            _n_iter, b, status, _value = fused.gd_solve(
                LOSSES[loss], X, y, w, 0.1, lr, 0.02, 0.01, True, prox, 12, 0.0,
                fused.DUALITY_GAP, 10, z, partial, grad, history,
            )
            runs.append(w)
        ref_w, ref_b, ref_history = ref[prox]
        assert status == fused.MAX_ITER
        np.testing.assert_allclose(w, ref_w, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(b, ref_b, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(history, ref_history, rtol=1e-12)
        np.testing.assert_array_equal(runs[0], runs[1])  # same blocks, same result


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("shape", [(50, 2 * fused.COLUMN_TILE + 7), (300, 1030), (3, 4099)])
@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_column_gd_matches_reference(loss, shape, blocks):
    # 50 rows: three runs of COLUMN_TILE columns and a rest of 3 columns after the groups of
    # 4; 300 rows: a second run of 6 columns (a group of 4, a rest of 2); 3 rows: columns
    # shorter than a vector.
    n, d = shape
    X, y = make_problem(loss, n, d)
    X = np.asfortranarray(X)
    assert fused.by_columns(X)
    lr = 1.0 / (reference.squared_operator_norm(X, True) / n + 0.01)
    w0 = start(d)
    w0[::5] = 0.0  # sign(0) = 0 in the subgradient form, and columns the predictor skips
    for solver in ("gd", "gd prox", "fista"):
        prox = solver != "gd"
        if solver == "fista":
            expected = reference.fista_solve(loss, X, y, w0, 0.1, lr, 0.02, 0.01, True, 12)
        else:
            expected = reference.gd_solve(loss, X, y, w0, 0.1, lr, 0.02, 0.01, True, prox, 12)
        runs = []
        for _ in range(2):
            w = w0.copy()
            history = np.empty(12)
            z, partial, grad = buffers(n, d, blocks)
            if solver == "fista":
                _n_iter, b, status, _value = fused.fista_solve(
                    LOSSES[loss], X, y, w, 0.1, lr, 0.02, 0.01, True, 12, 0.0, fused.DUALITY_GAP, 10,
                    np.empty(d), np.empty(d), z, partial, grad, history,
                )
            else:
                _n_iter, b, status, _value = fused.gd_solve(
                    LOSSES[loss], X, y, w, 0.1, lr, 0.02, 0.01, True, prox, 12, 0.0,
                    fused.DUALITY_GAP, 10, z, partial, grad, history,
                )
            runs.append(w)
        ref_w, ref_b, ref_history = expected
        # As in test_whole_loop_solvers_match_reference: fista's momentum amplifies rounding.
        rtol, atol, history_rtol = (1e-10, 1e-12, 1e-11) if solver == "fista" else (1e-11, 1e-13, 1e-12)
        assert status == fused.MAX_ITER
        np.testing.assert_allclose(w, ref_w, rtol=rtol, atol=atol)
        np.testing.assert_allclose(b, ref_b, rtol=rtol, atol=atol)
        np.testing.assert_allclose(history, ref_history, rtol=history_rtol)
        np.testing.assert_array_equal(runs[0], runs[1])  # same blocks, same result



@pytest.mark.parametrize("loss", LOSSES)
def test_column_gd_with_hints_matches_reference(loss):
    # Columns of 400 bytes that take more than L3 together: the column route hints its reads
    # (columns.prefetch_distance), which must change no result. 9 columns past a multiple of
    # 4: the hints stop short of the last steps, and a rest of one column follows them.
    n, d = 50, fused.L3_BYTES // 400 + 9
    X, y = make_problem(loss, n, d)
    X = np.asfortranarray(X)
    assert fused.by_columns(X) and columns.prefetch_distance(X, d, fused.L3_BYTES) > 0
    lr = 1.0 / (reference.squared_operator_norm(X, True) / n + 0.01)
    w0 = start(d)
    ref_w, ref_b, ref_history = reference.gd_solve(loss, X, y, w0, 0.1, lr, 0.02, 0.01, True, True, 3)
    for blocks in (1, 2):
        w = w0.copy()
        history = np.empty(3)
        z, partial, grad = buffers(n, d, blocks)
        _n_iter, b, status, _value = fused.gd_solve(
            LOSSES[loss], X, y, w, 0.1, lr, 0.02, 0.01, True, True, 3, 0.0, fused.DUALITY_GAP, 10, z, partial, grad,
            history,
        )
        assert status == fused.MAX_ITER
        np.testing.assert_allclose(w, ref_w, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(b, ref_b, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(history, ref_history, rtol=1e-12)

def test_columns_are_read_only_when_short_and_fortran_ordered():
    limit = fused.COLUMN_MAX_BYTES // 8
    assert fused.by_columns(np.asfortranarray(np.ones((limit, 3))))
    assert not fused.by_columns(np.asfortranarray(np.ones((limit + 1, 3))))
    assert not fused.by_columns(np.ones((limit, 3)))
    assert fused.by_columns(np.asfortranarray(np.ones((2 * limit, 3), dtype=np.float32)))
    assert not fused.by_columns(np.asfortranarray(np.ones((1, 30))))  # C-contiguous too: by rows


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("penalty", [(0.05, 0.0), (0.0, 0.1), (0.03, 0.1), (0.0, 0.0)])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_certificate_matches_reference(loss, shape, penalty, fit_intercept, layout):
    X, y = make_problem(loss, *shape)
    X = LAYOUTS[layout](X)
    w, b = start(shape[1]), 0.3 if fit_intercept else 0.0
    w[-1] = 0.0
    z, partial, grad = buffers(*shape)
    got = fused.certificate(LOSSES[loss], X, y, w, b, *penalty, fit_intercept, z, partial, grad)
    expected = reference.certificate(loss, X, y, w, b, *penalty, fit_intercept)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("loss", LOSSES)
def test_objective_matches_reference(loss):
    X, y = make_problem(loss, 40, 9)
    w = start(9)
    got = fused.objective(LOSSES[loss], X, y, w, 0.2, 0.1, 0.3)
    np.testing.assert_allclose(got, reference.objective(loss, X, y, w, 0.2, 0.1, 0.3), rtol=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_optimal_intercept_zeroes_the_mean_residual(loss):
    X, y = make_problem(loss, 60, 4)
    xw = X @ start(4)
    b = fused.optimal_intercept(LOSSES[loss], xw, y, 0.0)
    residuals = reference.loss_residual(loss, xw + b, y)[1]
    assert abs(residuals.mean()) < 1e-13
    np.testing.assert_allclose(b, reference.optimal_intercept(loss, xw, y, 0.0), rtol=1e-12)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("shape", [(1, 1), (30, 5), (10, 80)])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_operator_norm_matches_svd(fit_intercept, shape, layout):
    X, _ = make_problem("squared", *shape)
    X = LAYOUTS[layout](X)
    estimate = fused.squared_operator_norm(X, fit_intercept, 1000, 1e-12)
    np.testing.assert_allclose(estimate, reference.squared_operator_norm(X, fit_intercept), rtol=1e-6)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("scale", [1e150, 1e-150])
def test_operator_norm_of_data_whose_products_overflow_or_underflow(fit_intercept, scale):
    # The power iteration's vector A^T A u is of the order of scale^2: its squares overflow
    # (1e600) or underflow (1e-600) unless they are taken after rescaling.
    X, _ = make_problem("squared", 30, 5)
    estimate = fused.squared_operator_norm(X * scale, fit_intercept, 1000, 1e-12)
    np.testing.assert_allclose(estimate, reference.squared_operator_norm(X * scale, fit_intercept), rtol=1e-6)


@pytest.mark.parametrize("loss", LOSSES)
def test_float32_is_computed_in_float32(loss):
    X, y = make_problem(loss, 50, 10, dtype=np.float32)
    w = start(10).astype(np.float32)
    z = np.empty(50, np.float32)
    grad = np.empty(10, np.float32)
    loss_mean, _ = fused.gradient(LOSSES[loss], X, y, w, np.float32(0.1), z, np.empty((1, 0), np.float32), grad)
    compiled = [s for s in fused.gradient.nopython_signatures if str(s.args[1].dtype) == "float32"]
    assert compiled and all(str(s.return_type) == "UniTuple(float32 x 2)" for s in compiled)
    _ref_loss, _ref_res, ref_grad, _ = reference.gradient(loss, X.astype(float), y.astype(float), w.astype(float), 0.1)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(loss_mean, _ref_loss, rtol=1e-5)


def test_logistic_loss_is_finite_at_extreme_margins():
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    for label in (0.0, 1.0):
        for zi in z:
            value, residual = fused.loss_residual(fused.LOGISTIC, zi, label)
            ref_value, ref_residual = reference.loss_residual("logistic", np.array([zi]), np.array([label]))
            assert np.isfinite(value) and np.isfinite(residual)
            np.testing.assert_allclose(value, ref_value[0], rtol=1e-12)
            np.testing.assert_allclose(residual, ref_residual[0], rtol=1e-12, atol=1e-300)


@kernel
def _apply_vecmath(which, x, out):
    # The functions as the solvers use them: inlined into a loop that LLVM vectorizes.
    for i in range(x.shape[0]):
        if which == 0:
            out[i] = vecmath.exp_nonpositive(x[i])
        elif which == 1:
            out[i] = vecmath.log1p_unit(x[i])
        else:
            out[i] = vecmath.log_positive(x[i])


def _ulps(actual, expected):
    return np.max(np.abs(actual - expected) / np.spacing(np.maximum(np.abs(expected), 5e-324)))


def test_vectorizable_exp_and_logs_agree_with_numpy_to_a_few_ulps():
    rng = np.random.default_rng(11)
    edges = [0.0, -0.0, -5e-324, -1e-300, -708.4, -709.8, -744.44, -745.13, -746.0, -1e4]
    x = np.concatenate([-np.logspace(-320, np.log10(750), 20000), -40 * rng.random(20000), edges])
    e = np.concatenate([np.logspace(-320, 0, 20000), rng.random(20000), [0.0, 1.0, np.sqrt(2) - 1]])
    q = np.concatenate([np.logspace(-323.3, 0, 20000), rng.random(20000), [5e-324, 2.2250738585072014e-308, 1.0]])
    for which, values, function, bound in ((0, x, np.exp, 1), (1, e, np.log1p, 4), (2, q, np.log, 4)):
        out = np.empty_like(values)
        _apply_vecmath(which, values, out)
        assert _ulps(out, function(values)) <= bound
    out = np.empty(3)
    _apply_vecmath(0, np.array([-745.2, -800.0, -1e300]), out)
    np.testing.assert_array_equal(out, 0.0)  # exp underflows to exactly 0, as NumPy's does


def test_the_kernels_clock_measures_the_time_that_python_measures():
    # Differences over a sleep: the clock's origin is arbitrary.
    first_kernel, first_python = clock.seconds(), time.perf_counter()
    time.sleep(0.05)
    elapsed_kernel, elapsed_python = clock.seconds() - first_kernel, time.perf_counter() - first_python
    assert elapsed_kernel >= 0.05
    assert abs(elapsed_kernel - elapsed_python) < 0.01
