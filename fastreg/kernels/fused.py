"""The fused full-gradient passes over X and the whole-loop solvers built on them.

One pass over the rows of a C-ordered X computes, row by row, the linear predictor
z_i = X[i] w + b, the loss and its derivative r_i = f'(z_i) (the sigmoid minus the label for
the logistic loss, the residual for the squared loss), and adds r_i X[i] to the gradient while
the row is still in cache. The objective at the point comes out of the same pass, so a cost
history and the divergence check cost nothing extra.

Gradient descent on a few very long rows (tile_width > 0) turns the pass around: it goes
over column tiles, each holding every row, so each tile's gradient is complete when the tile
has been read; the step on the tile's coefficients follows at once, and the tile, still in
L2 (or L3), gives its share of the next predictor X w. One step then reads X once, where the
row-wise pass would also read w and the gradient, as long as X's rows, once per block of rows. A
Fortran-ordered X with short columns goes the same way one column at a time (column_step),
each column reread from L1; its certificates read X twice (column_gradient).

Conventions (see DESIGN.md): mean loss, penalty l1 ||w||_1 + (l2 / 2) ||w||_2^2, intercept b
never penalized, labels in {0, 1} for the logistic loss. Every scalar argument has the dtype
of X: the Python layer casts them, so float32 problems are computed in float32.
"""

import os

import numpy as np
from numba import prange

from .._jit import kernel
from . import columns, logistic, squared

LOGISTIC = 0
SQUARED = 1

# Status codes returned by the whole-loop solvers.
MAX_ITER = 0
CONVERGED = 1
DIVERGED = 2

# One core's L2 and the L3, which the passes' routes below are chosen by; where sysfs lists
# none, those of the Zen 4 development machine. Numba compiles the values into the kernels,
# and caches them per CPU model.
DEFAULT_L2_BYTES = 1024 * 1024
DEFAULT_L3_BYTES = 32 * 1024 * 1024


def cache_bytes(level, default, cache_folder="/sys/devices/system/cpu/cpu0/cache") -> int:
    """The size of the level-``level`` cache of cpu0 as Linux's sysfs gives it ("512K"), else
    ``default``. For levels 2 and up, where a cache holds both data and instructions."""
    units = {"K": 1024, "M": 1024 * 1024}
    usual = f"index{level}"
    try:
        # index2 and index3 are the L2 and L3 on the usual layout (L1d, L1i, L2, L3): looked
        # at first, since each sysfs read costs about 50 us, and this runs at import.
        for index in sorted(os.listdir(cache_folder), key=lambda name: name != usual):
            folder = os.path.join(cache_folder, index)
            with open(os.path.join(folder, "level")) as listed:
                if listed.read().strip() != str(level):
                    continue
            with open(os.path.join(folder, "size")) as size:
                text = size.read().strip()
            value = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)
            if value > 0:
                return value
    except (OSError, ValueError):
        pass
    return default


L2_BYTES = cache_bytes(2, DEFAULT_L2_BYTES)
L3_BYTES = cache_bytes(3, DEFAULT_L3_BYTES)

# The row-wise pass takes the logistic loss's rows in blocks of BLOCK_ROWS when a row takes
# at most BLOCK_MAX_ROW_BYTES (the block then stays in L1 between its two sweeps), so that
# the block's exps and logs run as one vectorized loop (logistic_blocks). Against four rows at
# a time, timed in turns: 0.83x to 0.94x the time per gd iteration on one thread on
# 100000 x 20, 100000 x 100, 1000 x 100 and 50 x 50, 0.86x to 0.98x on two threads (but
# 50 x 50, which runs on one).
BLOCK_ROWS = 16
BLOCK_MAX_ROW_BYTES = 2048

# An X of at least STREAM_MIN_BYTES (past what a last-level cache keeps) whose rows take
# STREAM_MIN_ROW_BYTES to STREAM_MAX_ROW_BYTES goes through sequential_rows: four rows' dot
# products one row after the other, so that X leaves memory as one sequential stream, then
# their four-row gradient sweep from L1. The four interleaved rows of fused_rows make four
# streams, which the prefetchers of the Zen 4 development machine served at 2.5x to 3.3x the
# time of one read of X (50000 x 200, 40000 x 250). A logistic gd iteration there, in turns
# against fused_rows and logistic_blocks (one and two threads): 0.41x to 0.68x the time at
# rows of 1.6 to 4 kB, 0.77x to 0.98x at 512 B and 800 B rows and at 20 to 32 MB; 1.1x to
# 1.4x at 400 B rows and at 4 MB, and no faster at 10 MB: those are left out. The logistic
# loss's streamed rows go sixteen per block through logistic_blocks, still one row after the
# other, so that the exps run vectorized over the block: against sequential_rows, 0.85x to
# 0.95x the time per gd iteration on one thread and 0.90x to 1.01x on two on 100000 x 100,
# 40000 x 250, 200000 x 64 and 20000 x 500 (bench/ab.py --gd, Zen 3).
STREAM_MIN_BYTES = 16 * 1024 * 1024
STREAM_MIN_ROW_BYTES = 512
STREAM_MAX_ROW_BYTES = 4096
# Such an X with longer rows goes through pipelined_rows. Against fused_rows, one fused pass
# timed in turns on the Zen 3 machine of stop 39 (one thread, a /tmp script): 0.83x to 0.88x
# the time on 100 x 100000, 1000 x 100000, 2000 x 50000 and 20000 x 2000, 0.93x on
# 50 x 100000, 0.97x to 1.01x on 10000 x 10000 and 1000 x 5000; on X that the caches hold
# (1000 x 1000, 400 x 4096, 100 x 10000, 8 x 100000) 0.99x to 1.05x, so they keep fused_rows.
# Against sequential_rows by blocks of eight rows, which rows of 4 to 8 kB took until then
# (the Zen 4 machine had measured eight rows at 0.86x to 0.96x the time of four there), a gd
# iteration on 10000 x 1000, 13000 x 750 and 16000 x 625 took 0.81x to 0.96x the time on one
# thread and 0.89x to 1.00x on two (bench/ab.py --gd, Zen 3); on 5 to 8 kB rows one fused
# pass took 0.78x to 0.94x (a /tmp script), on 4 kB rows 0.99x. Not measured on Zen 4.
# Its four current rows are reread from L3 (past about 100 kB they no longer fit L2) after
# every thread has streamed four more rows through it; past PAIRED_REUSE_BYTES of those (a
# sixth of L3) they go two at a time instead (pipelined_pairs), which halves that distance
# and doubles the partial gradient's traffic. One fused pass against four at a time, timed in
# turns with a read of X on the Zen 3 machine of stop 40 (32 MB of L3; a /tmp script):
# 1000 x 100000 on two threads (6.4 MB apart) 0.90x to 1.00x, 500 x 200000 0.82x (12.8 MB)
# and 700 x 300000 0.91x (19.2 MB), on one 700 x 300000 0.94x; 1000 x 100000 on one thread
# (3.2 MB) 1.07x, 1500 x 66667 on two (4.3 MB) 1.06x, and 8 kB rows 1.1x to 1.3x.
PAIRED_REUSE_BYTES = L3_BYTES // 6

# Gradient descent on X with few, very long rows goes through column tiles (see tiled_pass):
# a tile of TILE_BYTES or less stays in L2 between its two reads, and its row pieces of at
# least MIN_TILE_COLUMNS elements stream from memory at full speed. Rows shorter than
# TILED_MIN_ROW_BYTES go row by row: w and the gradient then come from L2 or L3 once per block
# of four rows, which cost less than the tiles' second read from L2. Untiled, a logistic gd
# iteration on the Zen 4 development machine took 0.76x to 0.97x of the tiled pass's time on
# 100 x 100000, 200 x 50000 and 100 x 200000 (one and two threads; 50 x 200000 0.88x and
# 1.10x), and 1.0x to 1.9x on 40 x 400000, 20 x 1000000 and 50 x 1000000 (bench/ab.py --gd).
# A tile takes half of one core's L2 (the predictor, w and the gradient take some of the
# rest): 512 kB on the Zen 4 machine (1 MiB of L2; 256 kB tiles there were no better), and on
# the Zen 3 machine (512 kB of L2) 256 kB tiles took 0.95x to 0.96x the time of 512 kB ones
# on two threads and 0.98x to 1.01x on one (50 x 1000000, 20 x 1000000, 40 x 400000,
# bench/ab.py --gd).
TILE_BYTES = L2_BYTES // 2
MIN_TILE_COLUMNS = 512
TILED_MIN_ROW_BYTES = 2 * 1024 * 1024
# On two threads or more, rows from THREADED_TILED_MIN_ROW_BYTES go by tiles: split by rows,
# each thread of the row-wise pass sweeps a partial gradient as long as a row, and the
# threads' rows, w and those gradients crowd the shared L3. A gd iteration by tiles on two
# threads, against by rows (bench/ab.py --gd, Zen 3, 256 kB tiles): 0.66x to 0.96x the time
# on 50 x 100000, 64 x 100000, 100 x 100000, 120 x 80000 and 100 x 200000; on one thread
# 0.92x to 1.18x, so one thread keeps the rows.
THREADED_TILED_MIN_ROW_BYTES = 512 * 1024
THREADED_MIN_TILE_COLUMNS = 256
# Rows that long with too many of them for a tile in L2 of MIN_TILE_COLUMNS columns go by
# tiles in L3 (large_tile_bytes) as long as those keep MIN_TILE_COLUMNS columns:
# row by row, each row is reread from L3 for the gradient, along with a partial gradient as
# long as it. One fused gd step against by rows, timed in turns with a read of X on the Zen 3
# machine of stop 40 (a /tmp script): 250 x 400000 1.23x of the read against 2.03x (two
# threads) and 1.27x against 1.78x (one), 150 x 200000 1.27x against 1.91x (two),
# 100 x 400000 1.26x against 1.76x (one), 500 x 200000 1.42x to 1.49x against 1.60x (one and
# two). On two threads they beat L2 tiles of 256 to 511 columns too (bench/ab.py --gd, two
# runs): 100 x 100000 0.92x and 0.94x, 120 x 80000 0.92x and 0.97x, 80 x 150000 1.02x and
# 0.90x, 100 x 200000 0.92x. Tiles of 1 to 4 MB did about as well; 50 x 1000000 kept its
# L2 tiles (1.18x, against 1.24x and 1.28x for tiles of 1.6 and 3.2 MB), and 1000 x 100000
# its rows (1.37x, against 1.63x to 1.88x for tiles of 2 to 8 MB, whose row pieces of 2 to
# 8 kB are many and short). A tile takes an eighth of one thread's share of L3, a sixteenth
# of it on one or two threads (2 MB here): the threads' tiles stay within L3 on any thread
# count, though only one and two threads were measured. Where many threads leave too small a
# share for such a tile, an L2 tile of THREADED_MIN_TILE_COLUMNS or more still beats the rows
# (above).
LARGE_TILE_L3_SHARE = 8


@kernel
def large_tile_bytes(threads):
    """The bytes of a tile in L3 for a pass on ``threads`` threads."""
    return L3_BYTES // (LARGE_TILE_L3_SHARE * max(threads, 2))

# Gradient descent on a Fortran-ordered X whose columns take at most COLUMN_MAX_BYTES goes
# column by column (column_step): a column's gradient is complete once it has been read, and
# the column, still in L1, gives its share of the next predictor, so a step reads X once from
# memory and once from L1 (the tiled pass of a C-ordered X rereads its tiles from L2 or L3).
# Columns go four at a time, their gradients one column after the other so that X leaves
# memory as one stream in address order, then one sweep over the predictor for the four.
# Threads split the columns in runs of COLUMN_TILE. Columns of 192 to 448 bytes that do not
# fit in L3 are hinted 2 kB ahead (columns.prefetch_distance). Four interleaved columns, with
# software prefetch 8 kB ahead for columns of up to 2 kB, took 1.1x to 1.8x the time per
# logistic gd iteration on the Zen 4 development machine (100 x 100000, 50 x 1000000,
# 1000 x 100000, 200 x 20000 in Fortran order; bench/ab.py --gd, one and two threads).
COLUMN_MAX_BYTES = 16 * 1024
COLUMN_TILE = 1024

# The threads' partial gradients sit this many elements (one 64-byte cache line) apart at
# least: rows that shared a line would bounce it between cores on every row of X.
PARTIAL_GAP = 8

# Stopping certificates.
DUALITY_GAP = 0
GRADIENT_NORM = 1

# The objective of a descent method never rises far above its starting value; rising above
# this multiple of it means the step is too large.
DIVERGENCE_FACTOR = 1.5


@kernel
def copy_vector(v, out):
    """out[:len(v)] = v. Kernels copy arrays through this loop, never by assigning an array to
    a slice: that brings Numba's shape-mismatch error and the formatting of its message, about
    1 s of compilation per signature, into every library that does it."""
    for i in range(v.shape[0]):
        out[i] = v[i]


@kernel
def padded_length(length):
    """Row length for per-thread rows of ``length`` elements: at least PARTIAL_GAP apart."""
    return -(-length // PARTIAL_GAP) * PARTIAL_GAP + PARTIAL_GAP


def partial_gradients(n_blocks, d, dtype):
    """Work array for :func:`gradient_parallel`'s n_blocks partial gradients of length d.

    One thread (n_blocks <= 1) needs none: the result then has shape (1, 0).
    """
    if n_blocks <= 1:
        return np.empty((1, 0), dtype=dtype)
    return np.empty((n_blocks, padded_length(d)), dtype=dtype)


@kernel(inline=True)
def loss_residual(loss, z, y):
    """Loss f(z, y) and derivative f'(z, y) at one sample for the loss code ``loss`` (scalars)."""
    if loss == LOGISTIC:
        return logistic.loss_residual(z, y)
    return squared.loss_residual(z, y)


@kernel(inline=True)
def residual(loss, z, y):
    """Derivative f'(z, y) at one sample for the loss code ``loss`` (scalars)."""
    if loss == LOGISTIC:
        return logistic.residual(z, y)
    return squared.residual(z, y)


@kernel(inline=True)
def conjugate(loss, u, y):
    """Fenchel conjugate f*(u) of the loss ``loss`` at one sample (scalars)."""
    if loss == LOGISTIC:
        return logistic.conjugate(u, y)
    return squared.conjugate(u, y)


@kernel
def optimal_intercept(loss, xw, y, b):
    """Intercept minimizing the mean loss at linear predictor xw + b, starting from b; xw, y (N,)."""
    if loss == LOGISTIC:
        return logistic.optimal_intercept(xw, y, b)
    return squared.optimal_intercept(xw, y, b)


@kernel(inline=True)
def _row_terms(loss, z, y, want_loss):
    """(loss or 0, residual) of one sample: the log of the logistic loss only when wanted."""
    if want_loss:
        return loss_residual(loss, z, y)
    return z - z, residual(loss, z, y)


@kernel(inline=True)
def _four_row_terms(loss, z0, z1, z2, z3, y, i, want_loss):
    """:func:`_row_terms` of rows i to i + 3 at predictors z0 to z3: (the sum of their losses,
    the sum of their residuals, and the four residuals)."""
    loss0, r0 = _row_terms(loss, z0, y[i], want_loss)
    loss1, r1 = _row_terms(loss, z1, y[i + 1], want_loss)
    loss2, r2 = _row_terms(loss, z2, y[i + 2], want_loss)
    loss3, r3 = _row_terms(loss, z3, y[i + 3], want_loss)
    return (loss0 + loss1) + (loss2 + loss3), (r0 + r1) + (r2 + r3), r0, r1, r2, r3


@kernel(inline=True)
def _dot_row(X, w, b, i):
    """X[i] w + b: one row's predictor."""
    z = b
    for j in range(X.shape[1]):
        z += X[i, j] * w[j]
    return z


@kernel(inline=True)
def _dot_four(X, w, b, i, z_out):
    """z_out[i:i + 4] = X[i:i + 4] w + b, also returned: one sweep over w for four rows."""
    z0 = b
    z1 = b
    z2 = b
    z3 = b
    for j in range(X.shape[1]):
        wj = w[j]
        z0 += X[i, j] * wj
        z1 += X[i + 1, j] * wj
        z2 += X[i + 2, j] * wj
        z3 += X[i + 3, j] * wj
    z_out[i] = z0
    z_out[i + 1] = z1
    z_out[i + 2] = z2
    z_out[i + 3] = z3
    return z0, z1, z2, z3


@kernel(inline=True)
def _add_four(X, i, r0, r1, r2, r3, grad_out):
    """grad_out += r0 X[i] + r1 X[i + 1] + r2 X[i + 2] + r3 X[i + 3]: one sweep over the gradient."""
    for j in range(X.shape[1]):
        grad_out[j] += (r0 * X[i, j] + r1 * X[i + 1, j]) + (r2 * X[i + 2, j] + r3 * X[i + 3, j])


@kernel
def fused_rows(loss, X, y, w, b, want_loss, z_out, grad_out):
    """The fused pass over every row of X (N, D); y (N,), w (D,), z_out (N,), grad_out (D,).

    Writes z_out[i] = X[i] w + b and adds sum_i r_i X[i] to grad_out; returns the sums of the
    losses (0 unless want_loss: the logistic loss costs a log per row) and of the residuals.
    Rows go four at a time: one sweep over w computes four dot products (independent
    accumulators hide the multiply-add latency) and one sweep adds four rows to the gradient,
    so w and the gradient cross the cache once per four rows instead of once per row. X is
    indexed in two dimensions throughout: row slices cost a reference count each and kept
    LLVM from vectorizing the sweeps (3x slower on 1000 x 100 in cache). There is no software
    prefetch: hints for the rows 2 kB ahead, on X of 4 MB or more with rows of up to 2 kB, took
    1.1x to 1.9x the time per gd iteration on the Zen 4 development machine (200000 x 50,
    100000 x 20, 400000 x 10, logistic and squared; bench/ab.py --gd).
    """
    n, d = X.shape
    zero = X.dtype.type(0.0)
    loss_sum = zero
    residual_sum = zero
    i = 0
    while i + 4 <= n:
        z0, z1, z2, z3 = _dot_four(X, w, b, i, z_out)
        losses, residuals, r0, r1, r2, r3 = _four_row_terms(loss, z0, z1, z2, z3, y, i, want_loss)
        loss_sum += losses
        residual_sum += residuals
        _add_four(X, i, r0, r1, r2, r3, grad_out)
        i += 4
    for i in range(i, n):
        z = _dot_row(X, w, b, i)
        z_out[i] = z
        loss_i, r = _row_terms(loss, z, y[i], want_loss)
        loss_sum += loss_i
        residual_sum += r
        for j in range(d):
            grad_out[j] += r * X[i, j]
    return loss_sum, residual_sum


@kernel
def pipelined_rows(loss, X, y, w, b, want_loss, z_out, grad_out):
    """:func:`fused_rows` with the next four rows' dot products in the sweep that adds the
    current four rows to the gradient.

    Four rows longer than STREAM_MAX_ROW_BYTES barely fit L1 between fused_rows's two
    sweeps, and past a hundred kB or so not L2 either: the gradient sweep reads them back
    from L2 or L3 while no read from memory is under way, and the dot-product sweep then
    streams the next rows from memory while the caches sit idle. Here one loop over the
    columns does both, the next four rows' dot products (from memory) and the current four
    rows' terms of the gradient (from the cache), so that the two overlap. Each gradient entry
    receives the same terms, in the same order, as in fused_rows.
    """
    n = X.shape[0]
    if n < 8:
        return fused_rows(loss, X, y, w, b, want_loss, z_out, grad_out)
    zero = X.dtype.type(0.0)
    loss_sum = zero
    residual_sum = zero
    z0, z1, z2, z3 = _dot_four(X, w, b, 0, z_out)
    i = 0
    while True:
        losses, residuals, r0, r1, r2, r3 = _four_row_terms(loss, z0, z1, z2, z3, y, i, want_loss)
        loss_sum += losses
        residual_sum += residuals
        k = i + 4
        if k + 4 > n:
            break
        z0 = b
        z1 = b
        z2 = b
        z3 = b
        for j in range(X.shape[1]):
            wj = w[j]
            z0 += X[k, j] * wj
            z1 += X[k + 1, j] * wj
            z2 += X[k + 2, j] * wj
            z3 += X[k + 3, j] * wj
            grad_out[j] += (r0 * X[i, j] + r1 * X[i + 1, j]) + (r2 * X[i + 2, j] + r3 * X[i + 3, j])
        z_out[k] = z0
        z_out[k + 1] = z1
        z_out[k + 2] = z2
        z_out[k + 3] = z3
        i = k
    _add_four(X, i, r0, r1, r2, r3, grad_out)
    i += 4
    tail_loss, tail_residual = fused_rows(loss, X[i:], y[i:], w, b, want_loss, z_out[i:], grad_out)
    return loss_sum + tail_loss, residual_sum + tail_residual


@kernel
def pipelined_pairs(loss, X, y, w, b, want_loss, z_out, grad_out):
    """:func:`pipelined_rows` two rows at a time: the next two rows' dot products in the sweep
    that adds the current two to the gradient, for rows that L3 would not keep while four
    more went by (see PAIRED_REUSE_BYTES)."""
    n = X.shape[0]
    if n < 4:
        return fused_rows(loss, X, y, w, b, want_loss, z_out, grad_out)
    zero = X.dtype.type(0.0)
    loss_sum = zero
    residual_sum = zero
    z0 = _dot_row(X, w, b, 0)
    z1 = _dot_row(X, w, b, 1)
    z_out[0] = z0
    z_out[1] = z1
    i = 0
    while True:
        loss0, r0 = _row_terms(loss, z0, y[i], want_loss)
        loss1, r1 = _row_terms(loss, z1, y[i + 1], want_loss)
        loss_sum += loss0 + loss1
        residual_sum += r0 + r1
        k = i + 2
        if k + 2 > n:
            break
        z0 = b
        z1 = b
        for j in range(X.shape[1]):
            wj = w[j]
            z0 += X[k, j] * wj
            z1 += X[k + 1, j] * wj
            grad_out[j] += r0 * X[i, j] + r1 * X[i + 1, j]
        z_out[k] = z0
        z_out[k + 1] = z1
        i = k
    for j in range(X.shape[1]):
        grad_out[j] += r0 * X[i, j] + r1 * X[i + 1, j]
    i += 2
    tail_loss, tail_residual = fused_rows(loss, X[i:], y[i:], w, b, want_loss, z_out[i:], grad_out)
    return loss_sum + tail_loss, residual_sum + tail_residual


@kernel
def logistic_blocks(X, y, w, b, want_loss, sequential, z_out, grad_out):
    """:func:`fused_rows` for the logistic loss, in blocks of BLOCK_ROWS rows.

    Per block: the predictors, four rows per sweep over w or, with ``sequential``, one row
    after the other (X then leaves memory as one stream, as in :func:`sequential_rows`); then
    the residuals (the exps, and the logs when want_loss) in one loop over the block, which
    LLVM vectorizes; then the gradient four rows per sweep while the block is still in L1 or
    L2. The rows after the last whole block go through fused_rows.
    """
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    loss_sum = zero
    residual_sum = zero
    r = np.empty(BLOCK_ROWS, dtype=X.dtype)
    i = 0
    while i + BLOCK_ROWS <= n:
        if sequential:
            for k in range(i, i + BLOCK_ROWS):
                z_out[k] = _dot_row(X, w, b, k)
        else:
            for g in range(i, i + BLOCK_ROWS, 4):
                _dot_four(X, w, b, g, z_out)
        for k in range(BLOCK_ROWS):
            loss_k, r[k] = _row_terms(LOGISTIC, z_out[i + k], y[i + k], want_loss)
            loss_sum += loss_k
            residual_sum += r[k]
        for g in range(0, BLOCK_ROWS, 4):
            _add_four(X, i + g, r[g], r[g + 1], r[g + 2], r[g + 3], grad_out)
        i += BLOCK_ROWS
    tail_loss, tail_residual = fused_rows(LOGISTIC, X[i:], y[i:], w, b, want_loss, z_out[i:], grad_out)
    return loss_sum + tail_loss, residual_sum + tail_residual


@kernel
def sequential_rows(loss, X, y, w, b, want_loss, z_out, grad_out):
    """:func:`fused_rows` with each block's four dot products taken one row after the other.

    One sweep over w per row reads the block from memory in address order; the four rows,
    then in L1, go to the gradient in one sweep. The rows after the last whole block go
    through fused_rows.
    """
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    loss_sum = zero
    residual_sum = zero
    r = np.empty(4, dtype=X.dtype)
    i = 0
    while i + 4 <= n:
        for k in range(4):
            z = _dot_row(X, w, b, i + k)
            z_out[i + k] = z
            loss_k, r[k] = _row_terms(loss, z, y[i + k], want_loss)
            loss_sum += loss_k
            residual_sum += r[k]
        _add_four(X, i, r[0], r[1], r[2], r[3], grad_out)
        i += 4
    tail_loss, tail_residual = fused_rows(loss, X[i:], y[i:], w, b, want_loss, z_out[i:], grad_out)
    return loss_sum + tail_loss, residual_sum + tail_residual


@kernel
def streams_rows(X):
    """Whether the row-wise pass over X goes through :func:`sequential_rows`."""
    row_bytes = X.shape[1] * X.itemsize
    return (X.size * X.itemsize >= STREAM_MIN_BYTES
            and STREAM_MIN_ROW_BYTES <= row_bytes <= STREAM_MAX_ROW_BYTES)


@kernel
def pipelines_rows(X):
    """Whether the row-wise pass over X goes through :func:`pipelined_rows` or :func:`pipelined_pairs`."""
    return X.size * X.itemsize >= STREAM_MIN_BYTES and X.shape[1] * X.itemsize > STREAM_MAX_ROW_BYTES


@kernel
def pipelines_pairs(X, threads):
    """Whether the pipelined pass over X on ``threads`` threads takes its rows two at a time."""
    return threads * 4 * X.shape[1] * X.itemsize > PAIRED_REUSE_BYTES


@kernel
def row_pass(loss, X, y, w, b, lo, hi, threads, want_loss, z_out, grad_out):
    """Rows lo:hi of the fused pass, one of ``threads`` threads' shares: where
    :func:`streams_rows`, :func:`logistic_blocks` (sequential) for the logistic loss and
    :func:`sequential_rows` for the squared loss; where :func:`pipelines_rows`,
    :func:`pipelined_pairs` if :func:`pipelines_pairs` and else :func:`pipelined_rows`;
    :func:`logistic_blocks` for the logistic loss on rows of at most BLOCK_MAX_ROW_BYTES; else
    :func:`fused_rows`.

    Each gets the rows as slices starting at their row 0: LLVM then knows every row
    index to be non-negative and drops Numba's negative-index wraparound from the loops (with
    lo and hi passed on, one thread's gd iteration took 1.05x to 1.25x longer).
    """
    if streams_rows(X):
        if loss == LOGISTIC:
            return logistic_blocks(X[lo:hi], y[lo:hi], w, b, want_loss, True, z_out[lo:hi], grad_out)
        return sequential_rows(loss, X[lo:hi], y[lo:hi], w, b, want_loss, z_out[lo:hi], grad_out)
    if pipelines_rows(X):
        if pipelines_pairs(X, threads):
            return pipelined_pairs(loss, X[lo:hi], y[lo:hi], w, b, want_loss, z_out[lo:hi], grad_out)
        return pipelined_rows(loss, X[lo:hi], y[lo:hi], w, b, want_loss, z_out[lo:hi], grad_out)
    if loss == LOGISTIC and X.shape[1] * X.itemsize <= BLOCK_MAX_ROW_BYTES:
        return logistic_blocks(X[lo:hi], y[lo:hi], w, b, want_loss, False, z_out[lo:hi], grad_out)
    return fused_rows(loss, X[lo:hi], y[lo:hi], w, b, want_loss, z_out[lo:hi], grad_out)


@kernel
def gradient_serial(loss, X, y, w, b, want_loss, z_out, grad_out):
    """One fused pass on one thread: returns (mean loss, mean residual); grad_out = X^T r / N."""
    n = X.shape[0]
    grad_out[:] = 0
    loss_sum, residual_sum = row_pass(loss, X, y, w, b, 0, n, 1, want_loss, z_out, grad_out)
    inv_n = X.dtype.type(1.0) / X.dtype.type(n)
    for j in range(grad_out.shape[0]):
        grad_out[j] *= inv_n
    return loss_sum * inv_n, residual_sum * inv_n


@kernel(parallel=True)
def gradient_parallel(loss, X, y, w, b, want_loss, z_out, partial_out, grad_out):
    """The fused pass over row blocks in threads; partial_out (n_blocks, >= D) holds block gradients.

    Block k always covers the same rows and the blocks are summed in a fixed order, so the
    result is identical from run to run for a given number of blocks. partial_gradients
    spaces the blocks' rows so that no two threads write to one cache line.
    """
    n, d = X.shape
    n_blocks = partial_out.shape[0]
    zero = X.dtype.type(0.0)
    block_sums = np.empty((n_blocks, 2), dtype=X.dtype)
    for k in prange(n_blocks):
        lo = (k * n) // n_blocks
        hi = ((k + 1) * n) // n_blocks
        block = partial_out[k, :d]
        for j in range(d):
            block[j] = zero
        block_loss, block_residual = row_pass(loss, X, y, w, b, lo, hi, n_blocks, want_loss, z_out, block)
        block_sums[k, 0] = block_loss
        block_sums[k, 1] = block_residual
    inv_n = X.dtype.type(1.0) / X.dtype.type(n)
    for j in prange(d):
        total = zero
        for k in range(n_blocks):
            total += partial_out[k, j]
        grad_out[j] = total * inv_n
    loss_sum = zero
    residual_sum = zero
    for k in range(n_blocks):
        loss_sum += block_sums[k, 0]
        residual_sum += block_sums[k, 1]
    # Parfor lowering can widen these scalars to float64; keep the dtype of X.
    return X.dtype.type(loss_sum * inv_n), X.dtype.type(residual_sum * inv_n)


@kernel
def gradient(loss, X, y, w, b, z_out, partial_out, grad_out):
    """Fused pass: (mean loss, mean residual), grad_out = X^T r / N, z_out = X w + b.

    Runs in threads over partial_out.shape[0] row blocks when that is at least 2, else serially
    (partial_out, from :func:`partial_gradients`, is then unused and has shape (1, 0)).
    """
    return gradient_loss(loss, X, y, w, b, True, z_out, partial_out, grad_out)


@kernel
def residuals(loss, z, y, want_loss, scale, r_out):
    """r_out = f'(z, y) * scale sample by sample; returns the sums of the losses (0 unless
    want_loss) and of f'(z, y). z, y, r_out (N,)."""
    zero = z.dtype.type(0.0)
    loss_sum = zero
    residual_sum = zero
    for i in range(z.shape[0]):
        loss_i, r_i = _row_terms(loss, z[i], y[i], want_loss)
        loss_sum += loss_i
        residual_sum += r_i
        r_out[i] = r_i * scale
    return loss_sum, residual_sum


@kernel
def column_gradient(loss, X, y, w, b, want_loss, parallel, z_out, grad_out):
    """:func:`gradient_loss` for a Fortran-ordered X, in two reads: z_out = X w + b by columns,
    then grad_out = X^T r / N, one dot product per column (on all threads when parallel)."""
    n = X.shape[0]
    columns.predictor(X, w, b, z_out)
    r = np.empty(n, dtype=X.dtype)
    loss_sum, residual_sum = residuals(loss, z_out, y, want_loss, X.dtype.type(1.0), r)
    columns.gradient(X, r, parallel, grad_out)
    inv_n = X.dtype.type(1.0) / X.dtype.type(n)
    return loss_sum * inv_n, residual_sum * inv_n


@kernel
def gradient_loss(loss, X, y, w, b, want_loss, z_out, partial_out, grad_out):
    """:func:`gradient`, with the mean loss computed only when want_loss (else 0)."""
    if by_columns(X):
        return column_gradient(loss, np.asfortranarray(X), y, w, b, want_loss, partial_out.shape[0] > 1, z_out,
                               grad_out)
    if partial_out.shape[0] > 1:
        return gradient_parallel(loss, X, y, w, b, want_loss, z_out, partial_out, grad_out)
    return gradient_serial(loss, X, y, w, b, want_loss, z_out, grad_out)


@kernel
def penalty(w, l1, l2):
    """l1 ||w||_1 + (l2 / 2) ||w||_2^2; w (D,)."""
    zero = w.dtype.type(0.0)
    abs_sum = zero
    square_sum = zero
    for j in range(w.shape[0]):
        abs_sum += abs(w[j])
        square_sum += w[j] * w[j]
    return l1 * abs_sum + w.dtype.type(0.5) * l2 * square_sum


@kernel
def penalty_step(w, grad, lr, l1, l2, prox):
    """Step w in place from the loss gradient grad (D,); returns the penalty at w before the step.

    prox=False: the textbook subgradient step w -= lr (grad + l1 sign(w) + l2 w), sign(0) = 0.
    prox=True: the proximal step w = soft_threshold(w - lr grad, lr l1) / (1 + lr l2).
    """
    zero = w.dtype.type(0.0)
    threshold = lr * l1
    shrink = w.dtype.type(1.0) / (w.dtype.type(1.0) + lr * l2)
    abs_sum = zero
    square_sum = zero
    for j in range(w.shape[0]):
        wj = w[j]
        abs_sum += abs(wj)
        square_sum += wj * wj
        w[j] = _coefficient_step(wj, grad[j], lr, l1, l2, prox, threshold, shrink, zero)
    return l1 * abs_sum + w.dtype.type(0.5) * l2 * square_sum


@kernel(inline=True)
def _coefficient_step(wj, gj, lr, l1, l2, prox, threshold, shrink, zero):
    """One coefficient of :func:`penalty_step`'s step; threshold = lr l1, shrink = 1 / (1 + lr l2)."""
    if prox:
        u = wj - lr * gj
        # NumPy: np.sign(u) * np.maximum(np.abs(u) - threshold, 0) * shrink
        if u > threshold:
            return (u - threshold) * shrink
        if u < -threshold:
            return (u + threshold) * shrink
        return zero
    return wj - lr * (gj + l1 * np.sign(wj) + l2 * wj)


@kernel
def objective(loss, X, y, w, b, l1, l2):
    """F(w, b) = mean_i f(X[i] w + b, y_i) + l1 ||w||_1 + (l2 / 2) ||w||^2."""
    zero = X.dtype.type(0.0)
    loss_sum = zero
    for i in range(X.shape[0]):
        z = zero
        for j in range(X.shape[1]):
            z += X[i, j] * w[j]
        loss_i, _r = loss_residual(loss, z + b, y[i])
        loss_sum += loss_i
    return loss_sum / X.dtype.type(X.shape[0]) + penalty(w, l1, l2)


@kernel
def gd_step(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox, z_out, partial_out, grad_out):
    """One fused gradient step: w updated in place; returns (F(w, b) before the step, new b)."""
    return gd_step_loss(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox, True, z_out, partial_out, grad_out)


@kernel
def gd_step_loss(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox, want_loss, z_out, partial_out, grad_out):
    """:func:`gd_step`; without want_loss the returned value leaves out the mean loss."""
    loss_mean, residual_mean = gradient_loss(loss, X, y, w, b, want_loss, z_out, partial_out, grad_out)
    value = loss_mean + penalty_step(w, grad_out, lr, l1, l2, prox)
    if fit_intercept:
        b = b - lr * residual_mean
    return value, b


@kernel
def certificate(loss, X, y, w, b, l1, l2, fit_intercept, z_out, partial_out, grad_out):
    """(objective, duality gap, gradient norm) at (w, b); z_out, partial_out, grad_out are work.

    The gradient norm is the infinity norm of the minimum-norm subgradient of F, intercept
    included. The dual point is u = s f'(X w + b*), with b* the optimal intercept for this w
    (so that sum(u) = 0 when there is an intercept) and s <= 1 the largest scale that keeps
    ||X^T u||_inf / N <= l1 when l2 = 0. Any feasible u bounds F(w, b) - F* by
    F(w, b) - D(u), D(u) = -mean_i f*(u_i) - h*(-X^T u / N), h the penalty. The gap is inf
    without a penalty, whose dual has a single feasible point.
    """
    zero = X.dtype.type(0.0)
    loss_mean, residual_mean = gradient(loss, X, y, w, b, z_out, partial_out, grad_out)
    value = loss_mean + penalty(w, l1, l2)

    grad_norm = max(abs(residual_mean) if fit_intercept else zero, subgradient_norm(w, grad_out, l1, l2))
    if l1 == zero and l2 == zero:
        return value, np.inf, grad_norm

    if fit_intercept:
        for i in range(X.shape[0]):
            z_out[i] -= b
        b_opt = optimal_intercept(loss, z_out, y, b)
        gradient(loss, X, y, w, b_opt, z_out, partial_out, grad_out)
    for i in range(X.shape[0]):
        z_out[i] = residual(loss, z_out[i], y[i])
    dual = dual_objective(loss, z_out, y, grad_out, l1, l2)
    return value, max(value - dual, zero), grad_norm


@kernel
def subgradient_norm(w, grad, l1, l2):
    """Infinity norm of the minimum-norm subgradient grad + l2 w + l1 d|w| of F in w; w, grad (D,)."""
    zero = w.dtype.type(0.0)
    norm = zero
    for j in range(w.shape[0]):
        gj = grad[j] + l2 * w[j]
        if w[j] > zero:
            gj = abs(gj + l1)
        elif w[j] < zero:
            gj = abs(gj - l1)
        else:
            gj = max(abs(gj) - l1, zero)
        norm = max(norm, gj)
    return norm


@kernel
def dual_objective(loss, r, y, grad, l1, l2):
    """D(u) at the dual point u = s r built from the residuals r_i = f'(z_i, y_i) (N,).

    grad (D,) is the loss gradient X^T r / N over the features the dual is taken on.
    s <= 1 is the largest scale that keeps ||X^T u||_inf / N <= l1 when l2 = 0;
    D(u) = -mean_i f*(u_i) - h*(-X^T u / N), h the penalty. When the problem has an
    intercept, r must come from the optimal intercept, so that sum(u) = 0.
    """
    zero = r.dtype.type(0.0)
    grad_max = zero
    excess_sum = zero
    for j in range(grad.shape[0]):
        size = abs(grad[j])
        grad_max = max(grad_max, size)
        excess = max(size - l1, zero)
        excess_sum += excess * excess
    return dual_from_terms(loss, r, y, grad_max, excess_sum, l1, l2)


@kernel
def dual_from_terms(loss, r, y, grad_max, excess_sum, l1, l2):
    """:func:`dual_objective` from grad's terms: grad_max = max_j |grad_j| and, for the elastic
    net's part, excess_sum = sum_j max(|grad_j| - l1, 0)^2."""
    return dual_from_conjugate(conjugate_mean(loss, r, y, dual_scale(r, grad_max, l1, l2)), excess_sum, l2)


@kernel
def dual_scale(r, grad_max, l1, l2):
    """The dual point's scale s of :func:`dual_objective`, in the dtype of r: l1 / grad_max
    when l2 = 0 and grad_max > l1, else 1."""
    scale = r.dtype.type(1.0)
    if l2 == 0 and grad_max > l1:
        scale = l1 / grad_max
    return scale


@kernel
def conjugate_mean(loss, r, y, scale):
    """mean_i f*(scale r_i), the loss's part of the dual objective (with a minus sign)."""
    conjugate_sum = r.dtype.type(0.0)
    for i in range(r.shape[0]):
        conjugate_sum += conjugate(loss, scale * r[i], y[i])
    return conjugate_sum / r.dtype.type(r.shape[0])


@kernel
def dual_from_conjugate(conjugate_value, excess_sum, l2):
    """The dual objective from :func:`conjugate_mean` and the elastic net's excess_sum."""
    dual = -conjugate_value
    if l2 > 0:
        dual -= excess_sum / (l2 + l2)
    return dual


@kernel
def _stopping_value(criterion, gap, grad_norm):
    """The certificate that the solver compares with its tolerance."""
    if criterion == DUALITY_GAP:
        return gap
    return grad_norm


@kernel
def _diverged(value, first_value):
    """Whether the objective left the finite numbers or rose far above its first value."""
    return not np.isfinite(value) or value > DIVERGENCE_FACTOR * first_value


@kernel
def by_columns(X):
    """Whether gradient descent reads X column by column (:func:`column_step`).

    Where it does, the column kernels are called on ``np.asfortranarray(X)``: X itself, but
    typed as a Fortran-ordered array in every caller, so that they compile once per dtype
    rather than once more inside each caller compiled for a C-ordered X, where they never run
    (the parallel column gradient alone took 15 s to compile). An X that is C-contiguous as
    well (one row or one column) goes row by row, so that call never copies.
    """
    return X.flags.f_contiguous and not X.flags.c_contiguous and X.shape[0] * X.itemsize <= COLUMN_MAX_BYTES


@kernel
def tile_width(n, d, itemsize, threads):
    """Columns per tile of :func:`tiled_pass` for an (n, d) X on ``threads`` threads, or 0
    when X goes row by row."""
    threaded = threads >= 2
    min_row_bytes = THREADED_TILED_MIN_ROW_BYTES if threaded else TILED_MIN_ROW_BYTES
    if d * itemsize < min_row_bytes:
        return 0
    width = TILE_BYTES // (itemsize * n)
    if width >= MIN_TILE_COLUMNS:
        return width
    large = large_tile_bytes(threads) // (itemsize * n)
    if large >= MIN_TILE_COLUMNS:
        return large
    return width if threaded and width >= THREADED_MIN_TILE_COLUMNS else 0


@kernel
def tile_step(X, r, w, lr, l1, l2, prox, lo, hi, z_part, grad_out):
    """Columns lo:hi of :func:`tiled_pass`; returns the penalty of w[lo:hi] before the step."""
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    # Unsigned bounds: Numba then knows the indices are not negative and skips the wraparound
    # test, which otherwise keeps LLVM from vectorizing the sweeps (4x slower).
    lo = np.uint64(lo)
    hi = np.uint64(hi)
    for j in range(lo, hi):
        grad_out[j] = zero
    i = 0
    while i + 4 <= n:
        r0 = r[i]
        r1 = r[i + 1]
        r2 = r[i + 2]
        r3 = r[i + 3]
        for j in range(lo, hi):
            grad_out[j] += (r0 * X[i, j] + r1 * X[i + 1, j]) + (r2 * X[i + 2, j] + r3 * X[i + 3, j])
        i += 4
    for i in range(i, n):
        ri = r[i]
        for j in range(lo, hi):
            grad_out[j] += ri * X[i, j]
    value = penalty_step(w[lo:hi], grad_out[lo:hi], lr, l1, l2, prox)
    # The tile was read a moment ago and is still in L2 (L3 for a large tile): the new predictor
    # costs no memory traffic.
    i = 0
    while i + 4 <= n:
        s0 = zero
        s1 = zero
        s2 = zero
        s3 = zero
        for j in range(lo, hi):
            wj = w[j]
            s0 += X[i, j] * wj
            s1 += X[i + 1, j] * wj
            s2 += X[i + 2, j] * wj
            s3 += X[i + 3, j] * wj
        z_part[i] += s0
        z_part[i + 1] += s1
        z_part[i + 2] += s2
        z_part[i + 3] += s3
        i += 4
    for i in range(i, n):
        s = zero
        for j in range(lo, hi):
            s += X[i, j] * w[j]
        z_part[i] += s
    return value


@kernel
def column_step(X, r, w, lr, l1, l2, prox, lo, hi, z_part, grad_out):
    """:func:`tile_step` for a Fortran-ordered X (:func:`by_columns`): columns lo:hi, four at a time.

    Each column's gradient X[:, j]^T r is complete once the column is read, so its coefficient
    steps at once and the column, still in L1, adds its share of X w_new to z_part. Returns
    the penalty of w[lo:hi] before the step.
    """
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    threshold = lr * l1
    shrink = X.dtype.type(1.0) / (X.dtype.type(1.0) + lr * l2)
    abs_sum = zero
    square_sum = zero
    # Whole steps of four columns ahead: the hints go with the steps.
    ahead = (columns.prefetch_distance(X, X.shape[1], L3_BYTES) + 3) // 4 * 4
    line = columns.CACHE_LINE_BYTES // X.itemsize
    j = lo
    while j + 4 <= hi:
        if ahead > 0 and j + 4 + ahead <= hi:
            for k in range(j + ahead, j + ahead + 4):
                columns.prefetch_column(X, k, line)
        for k in range(j, j + 4):
            grad_out[k] = columns.column_dot(X, k, r)
        for k in range(j, j + 4):
            wk = w[k]
            abs_sum += abs(wk)
            square_sum += wk * wk
            w[k] = _coefficient_step(wk, grad_out[k], lr, l1, l2, prox, threshold, shrink, zero)
        w0 = w[j]
        w1 = w[j + 1]
        w2 = w[j + 2]
        w3 = w[j + 3]
        for i in range(n):
            z_part[i] += (X[i, j] * w0 + X[i, j + 1] * w1) + (X[i, j + 2] * w2 + X[i, j + 3] * w3)
        j += 4
    for j in range(j, hi):
        g = columns.column_dot(X, j, r)
        grad_out[j] = g
        wj = w[j]
        abs_sum += abs(wj)
        square_sum += wj * wj
        wj = _coefficient_step(wj, g, lr, l1, l2, prox, threshold, shrink, zero)
        w[j] = wj
        for i in range(n):
            z_part[i] += X[i, j] * wj
    return l1 * abs_sum + X.dtype.type(0.5) * l2 * square_sum


@kernel
def tile_range(X, r, w, lr, l1, l2, prox, width, first, last, z_part, grad_out):
    """Tiles first:last of :func:`tiled_pass`, adding their share of X w_new to z_part (N,)."""
    d = X.shape[1]
    z_part[:] = X.dtype.type(0.0)
    value = X.dtype.type(0.0)
    step_columns = by_columns(X)
    for t in range(first, last):
        lo = t * width
        hi = min(d, (t + 1) * width)
        if step_columns:
            value += column_step(np.asfortranarray(X), r, w, lr, l1, l2, prox, lo, hi, z_part, grad_out)
        else:
            value += tile_step(X, r, w, lr, l1, l2, prox, lo, hi, z_part, grad_out)
    return value


@kernel(parallel=True)
def tiled_pass_parallel(X, r, w, lr, l1, l2, prox, width, z_parts, grad_out):
    """:func:`tiled_pass` over z_parts.shape[0] contiguous runs of tiles in threads."""
    d = X.shape[1]
    n_blocks = z_parts.shape[0]
    n_tiles = (d + width - 1) // width
    values = np.empty(n_blocks, dtype=X.dtype)
    for k in prange(n_blocks):
        values[k] = tile_range(X, r, w, lr, l1, l2, prox, width, (k * n_tiles) // n_blocks,
                               ((k + 1) * n_tiles) // n_blocks, z_parts[k, :X.shape[0]], grad_out)
    value = X.dtype.type(0.0)
    for k in range(n_blocks):
        value += values[k]
    return X.dtype.type(value)


@kernel
def tiled_pass(X, r, w, lr, l1, l2, prox, width, z_parts, grad_out):
    """One gradient step over column tiles of a wide X; returns the penalty at w before the step.

    r (N,) holds f'(z_i) / N at the current point. Tile by tile: grad_out[tile] = X[:, tile]^T r
    (the tile's gradient is complete, since every row is in it), the step on w[tile]
    (penalty_step), and X[:, tile] w[tile] added to a partial predictor. X is read from memory
    once per step, where the row-wise pass reads w and the gradient once per block of rows.
    z_parts (n_blocks, >= N): row k receives block k's share of X w_new; the blocks are fixed
    runs of tiles, so the sum in a fixed order is identical from run to run.
    """
    if z_parts.shape[0] > 1:
        return tiled_pass_parallel(X, r, w, lr, l1, l2, prox, width, z_parts, grad_out)
    d = X.shape[1]
    return tile_range(X, r, w, lr, l1, l2, prox, width, 0, (d + width - 1) // width, z_parts[0, :X.shape[0]],
                      grad_out)


@kernel
def tiled_gd_step(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox, want_loss, width, z, r, z_parts,
                  grad_out):
    """:func:`gd_step_loss` through :func:`tiled_pass`, in tiles of ``width`` columns.

    z (N,) holds X w + b on entry and again on return: the next step's predictor comes out of
    this step's pass, so one step reads X once. r (N,) and z_parts (n_blocks, >= N) are work.
    """
    n = X.shape[0]
    inv_n = X.dtype.type(1.0) / X.dtype.type(n)
    loss_sum, residual_sum = residuals(loss, z, y, want_loss, inv_n, r)
    value = loss_sum * inv_n + tiled_pass(X, r, w, lr, l1, l2, prox, width, z_parts, grad_out)
    if fit_intercept:
        b = b - lr * residual_sum * inv_n
    for i in range(n):
        total = b
        for block in range(z_parts.shape[0]):
            total += z_parts[block, i]
        z[i] = total
    return value, b


@kernel
def gd_solve(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox, max_iter, tol, criterion,
             check_every, z_out, partial_out, grad_out, history_out):
    """Up to max_iter fused gradient steps inside Numba; w (D,) is updated in place.

    Every check_every steps, stops once the certificate chosen by criterion is <= tol (tol = 0
    runs exactly max_iter steps). history_out (max_iter,) or (0,) receives F before each step.
    Returns (n_iter, b, status, last objective seen); the caller computes the certificate at
    the returned point, so that fixed-iteration runs time iterations only. A Fortran-ordered
    X with short columns (:func:`by_columns`) and a C-ordered wide X with few rows
    (tile_width > 0) step through :func:`tiled_gd_step`, on as many threads as partial_out
    has rows.
    """
    n, d = X.shape
    zero = X.dtype.type(0.0)
    step_columns = by_columns(X)
    width = COLUMN_TILE if step_columns else tile_width(n, d, X.itemsize, partial_out.shape[0])
    tiled = width > 0
    # The tiled step's predictor, residuals and per-thread partial predictors (empty otherwise).
    z = np.empty(n if tiled else 0, dtype=X.dtype)
    r = np.empty(n if tiled else 0, dtype=X.dtype)
    z_parts = np.empty((max(partial_out.shape[0], 1), padded_length(n) if tiled else 0), dtype=X.dtype)
    if step_columns:
        columns.predictor(np.asfortranarray(X), w, b, z)
    elif tiled:
        # From w = 0 (a cold start) the predictor is b, without a pass over X: a ten-step
        # solve on 50 x 1000000 took 0.84x / 0.91x the time on two / one threads without it.
        moved = columns.block_has_nonzero(w, 0, d)
        for i in range(n):
            row = X[i]
            total = b
            if moved:
                for j in range(d):
                    total += row[j] * w[j]
            z[i] = total
    first_value = zero
    value = zero
    n_iter = 0
    record = history_out.shape[0] > 0
    for k in range(max_iter):
        # The loss costs a log per row: computed only where it is recorded or checked.
        watch = record or k % check_every == 0
        if tiled:
            value, b = tiled_gd_step(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox, watch, width, z, r,
                                     z_parts, grad_out)
        else:
            value, b = gd_step_loss(loss, X, y, w, b, lr, l1, l2, fit_intercept, prox, watch,
                                    z_out, partial_out, grad_out)
        n_iter = k + 1
        if k == 0:
            first_value = value
        if record:
            history_out[k] = value
        if watch and _diverged(value, first_value):
            return n_iter, b, DIVERGED, value
        if tol > 0 and n_iter % check_every == 0:
            value, gap, grad_norm = certificate(loss, X, y, w, b, l1, l2, fit_intercept,
                                                z_out, partial_out, grad_out)
            if _stopping_value(criterion, gap, grad_norm) <= tol:
                return n_iter, b, CONVERGED, value
    return n_iter, b, MAX_ITER, value


@kernel
def fista_solve(loss, X, y, w, b, lr, l1, l2, fit_intercept, max_iter, tol, criterion,
                check_every, v_work, w_prev_work, z_out, partial_out, grad_out, history_out):
    """Accelerated proximal gradient (FISTA) with adaptive restart, inside Numba; w updated in place.

    Each iteration takes the proximal step from the extrapolated point v, then restarts the
    momentum when the step points against the last move (O'Donoghue and Candes' gradient
    test). history_out receives F at each v. Returns what gd_solve returns.

    On an X that :func:`by_columns` accepts, the step goes through :func:`tiled_gd_step`,
    which reads X once: it keeps the predictors of w and v, and since v is a combination of
    the last two iterates, so is its predictor, X v + v_b = (1 + beta) (X w + b) - beta
    (X w_prev + b_prev), with no pass over X.
    """
    n, d = X.shape
    zero = X.dtype.type(0.0)
    one = X.dtype.type(1.0)
    t = one
    v = v_work
    w_prev = w_prev_work
    copy_vector(w, v)
    vb = b
    step_columns = by_columns(X)
    # The column route's predictors of v and w, residuals and per-thread partial predictors.
    z_v = np.empty(n if step_columns else 0, dtype=X.dtype)
    z_w = np.empty(n if step_columns else 0, dtype=X.dtype)
    r = np.empty(n if step_columns else 0, dtype=X.dtype)
    z_parts = np.empty((max(partial_out.shape[0], 1), padded_length(n) if step_columns else 0), dtype=X.dtype)
    if step_columns:
        columns.predictor(np.asfortranarray(X), w, b, z_v)
        copy_vector(z_v, z_w)
    first_value = zero
    n_iter = 0
    record = history_out.shape[0] > 0
    for k in range(max_iter):
        watch = record or k % check_every == 0
        copy_vector(w, w_prev)
        b_prev = b
        copy_vector(v, w)
        if step_columns:
            # z_v becomes X w + b for the stepped w.
            value, b = tiled_gd_step(loss, X, y, w, vb, lr, l1, l2, fit_intercept, True, watch, COLUMN_TILE,
                                     z_v, r, z_parts, grad_out)
        else:
            loss_mean, residual_mean = gradient_loss(loss, X, y, v, vb, watch, z_out, partial_out, grad_out)
            value = loss_mean + penalty_step(w, grad_out, lr, l1, l2, True)
            if fit_intercept:
                b = vb - lr * residual_mean
        n_iter = k + 1
        if k == 0:
            first_value = value
        if record:
            history_out[k] = value
        if watch and _diverged(value, first_value):
            return n_iter, b, DIVERGED, value

        t_next = (one + np.sqrt(one + X.dtype.type(4.0) * t * t)) / X.dtype.type(2.0)
        against = (vb - b) * (b - b_prev)
        for j in range(d):
            against += (v[j] - w[j]) * (w[j] - w_prev[j])
        if against > zero:
            t = one
            copy_vector(w, v)
            vb = b
            if step_columns:
                copy_vector(z_v, z_w)
        else:
            beta = (t - one) / t_next
            for j in range(d):
                v[j] = w[j] + beta * (w[j] - w_prev[j])
            vb = b + beta * (b - b_prev)
            t = t_next
            if step_columns:
                for i in range(n):
                    z_new = z_v[i]
                    z_v[i] = z_new + beta * (z_new - z_w[i])
                    z_w[i] = z_new

        if tol > 0 and n_iter % check_every == 0:
            value, gap, grad_norm = certificate(loss, X, y, w, b, l1, l2, fit_intercept,
                                                z_out, partial_out, grad_out)
            if _stopping_value(criterion, gap, grad_norm) <= tol:
                return n_iter, b, CONVERGED, value
    return n_iter, b, MAX_ITER, value


@kernel
def scaled_norm(v, v_b):
    """Euclidean norm of (v, v_b), v (D,): squares taken after dividing by the largest entry.

    v = A^T A u is finite whenever the data's sum of squares is, but its squares are of the
    order of that sum squared and overflow for data above about 1e77.
    """
    largest = abs(v_b)
    for j in range(v.shape[0]):
        largest = max(largest, abs(v[j]))
    if largest == v.dtype.type(0.0):
        return largest
    square_sum = (v_b / largest) * (v_b / largest)
    for j in range(v.shape[0]):
        square_sum += (v[j] / largest) * (v[j] / largest)
    return largest * np.sqrt(square_sum)


@kernel
def squared_operator_norm(X, fit_intercept, max_iter, rtol):
    """Largest eigenvalue of A^T A, A = [X, 1] with an intercept else X, by power iteration.

    One fused row pass per iteration computes A^T (A u) (two passes over the columns of a
    Fortran-ordered X that :func:`by_columns` accepts). The estimate approaches the
    eigenvalue from below; it stops when it changes by less than rtol (relative).
    """
    n, d = X.shape
    zero = X.dtype.type(0.0)
    u = np.empty(d, dtype=X.dtype)
    # A fixed, non-constant start: deterministic, and not orthogonal to a constant top vector.
    for j in range(d):
        u[j] = X.dtype.type(1.0) + X.dtype.type((j % 7) / 7.0)
    u_b = X.dtype.type(1.0) if fit_intercept else zero
    norm = scaled_norm(u, u_b)
    u /= norm
    u_b /= norm
    estimate = zero
    v = np.empty(d, dtype=X.dtype)
    step_columns = by_columns(X)
    t_columns = np.empty(n if step_columns else 0, dtype=X.dtype)
    for _ in range(max_iter):
        v[:] = zero
        v_b = zero
        if step_columns:
            X_columns = np.asfortranarray(X)
            columns.predictor(X_columns, u, u_b, t_columns)
            for j in range(d):
                v[j] = columns.column_dot(X_columns, j, t_columns)
            if fit_intercept:
                for i in range(n):
                    v_b += t_columns[i]
        else:
            for i in range(n):
                row = X[i]
                t = u_b
                for j in range(d):
                    t += row[j] * u[j]
                for j in range(d):
                    v[j] += t * row[j]
                if fit_intercept:
                    v_b += t
        norm = scaled_norm(v, v_b)
        if norm == zero:
            return zero
        for j in range(d):
            u[j] = v[j] / norm
        u_b = v_b / norm
        previous = estimate
        estimate = norm
        if abs(estimate - previous) <= rtol * estimate:
            break
    return estimate
