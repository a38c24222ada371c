"""Passes over the columns of a Fortran-ordered X, shared by coordinate descent and by the
gradient methods (gd, fista) on X with short columns.

In column-major order column j is one contiguous read: X w is a sum of columns scaled by
their coefficients, and X^T r one dot product per column.
"""

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import kernel


# Scans for the non-zero coefficients of a sparse w go by blocks of this many: a count over
# the block, which LLVM vectorizes, and one branch per feature only in the blocks that hold
# one (7129 features, 21 non-zero: 4.5 to 1.7 us; 1.4 us since block_has_nonzero's index is
# unsigned).
NONZERO_BLOCK = 64


@kernel(inline=True)
def block_has_nonzero(w, start, stop):
    """Whether any of w[start:stop] is non-zero; 0 <= start <= stop."""
    count = 0
    # An unsigned index spares LLVM Numba's wraparound of negative indices, which kept the
    # count from unrolling into a few vector compares: over 7129 features the blocks' counts
    # took 4.1 us instead of 0.65, and nonzero_features 4.7 us instead of 1.4.
    for j in range(np.uint64(start), np.uint64(stop)):
        count += w[j] != 0
    return count > 0


@kernel
def nonzero_features(w, out):
    """Write the j with w_j != 0 to out[:count], in increasing order; returns count."""
    count = 0
    for start in range(0, w.shape[0], NONZERO_BLOCK):
        stop = min(start + NONZERO_BLOCK, w.shape[0])
        if block_has_nonzero(w, start, stop):
            for j in range(start, stop):
                if w[j] != 0:
                    out[count] = j
                    count += 1
    return count


@kernel
def listed_nonzero(w, listed, count, out):
    """Write the j of listed[:count] with w_j != 0 to out, in listed's order; returns how many.
    count = D: every feature (:func:`nonzero_features`; listed is not read)."""
    if count == w.shape[0]:
        return nonzero_features(w, out)
    found = 0
    for k in range(count):
        j = listed[k]
        out[found] = j
        found += w[j] != 0
    return found


# Cache lines take 64 bytes on x86-64 processors and most ARM64 ones (Apple's take 128: the
# hints of prefetch_column then come twice per line, which costs a few instructions).
CACHE_LINE_BYTES = 64

# A pass that reads short columns one after the other from memory, with work on each column
# in between (a coordinate's update in cd's epochs, which the next coordinate waits for; a
# step of four coefficients in gd's column route), streams them more slowly than a plain read:
# the hardware prefetchers fall behind on such a stream. Those passes hint the column
# PREFETCH_AHEAD_BYTES ahead where the columns take PREFETCH_MIN_COLUMN_BYTES to
# PREFETCH_MAX_COLUMN_BYTES and the columns of a pass do not fit in L3
# (:func:`prefetch_distance`). Against the same passes without hints (2-core AMD EPYC Zen 3,
# in turns with a read of X; float64):
# - cd's epochs (a /tmp script): 32 x 1500000, 50 x 1000000 and 56 x 900000 took 0.79x to
#   0.86x the time (logistic model) and 0.80x to 0.88x (squared), from 1.31x-1.46x of one read
#   to 1.08x-1.26x; 24 x 1600000 0.99x and 0.88x. At 20 rows the hints took 1.07x and 1.16x
#   the time (the epoch is bound by its arithmetic there, at 2.2x to 2.4x of a read), at 64
#   rows 1.10x to 1.23x; at 80 and 100 rows they changed nothing, and at 200 and 1000 rows
#   (1.6 and 8 kB, where the hardware keeps up) they took 1.06x and 1.25x.
# - gd by columns (bench/ab.py --gd, one / two threads): 50 x 1000000 0.83x / 0.86x,
#   50 x 100000 0.77x / 0.70x, 32 x 1500000 0.96x / 0.89x, 56 x 900000 0.93x / 0.89x; at
#   20 rows 1.18x / 1.05x.
PREFETCH_MIN_COLUMN_BYTES = 192
PREFETCH_MAX_COLUMN_BYTES = 448
PREFETCH_AHEAD_BYTES = 2048


@intrinsic
def _prefetch(typingctx, X, i, j):
    """A hint to bring the cache line of X[i, j] into every cache level, for reading."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer2(context, builder, array.data, cgutils.unpack_tuple(builder, array.shape),
                                            cgutils.unpack_tuple(builder, array.strides), array_type.layout,
                                            [args[1], args[2]])
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        hint = builder.module.declare_intrinsic(
            "llvm.prefetch", [byte_pointer], ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]))
        # read (0), highest locality (3), data cache (1)
        builder.call(hint, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return types.void(X, i, j), codegen


@kernel
def prefetch_distance(X, count, cache):
    """How many columns ahead a pass over count columns of X (N, D) Fortran hints its reads;
    0 (none) where the columns take fewer than PREFETCH_MIN_COLUMN_BYTES or more than
    PREFETCH_MAX_COLUMN_BYTES, or all count of them fit in ``cache`` bytes (L3), which keeps
    them from one pass to the next."""
    column_bytes = X.shape[0] * X.itemsize
    too_short = column_bytes < PREFETCH_MIN_COLUMN_BYTES
    if too_short or column_bytes > PREFETCH_MAX_COLUMN_BYTES or count * column_bytes <= cache:
        return 0
    return max(1, PREFETCH_AHEAD_BYTES // column_bytes)


@kernel
def prefetch_column(X, j, step):
    """Hint every cache line of column j of X (N, D) Fortran; step: the elements in a line."""
    n = X.shape[0]
    # A while loop: a range with a step computes its length by a division at every call.
    i = 0
    while i < n:
        _prefetch(X, i, j)
        i += step
    # The column need not start on a line: its last element may sit one line further.
    _prefetch(X, n - 1, j)


@kernel
def predictor(X, w, b, z_out):
    """z = X w + b, adding only the columns with w_j != 0; X (N, D) Fortran, z_out (N,)."""
    n, d = X.shape
    for i in range(n):
        z_out[i] = b
    for start in range(0, d, NONZERO_BLOCK):
        stop = min(start + NONZERO_BLOCK, d)
        if not block_has_nonzero(w, start, stop):
            continue
        for j in range(start, stop):
            wj = w[j]
            if wj != 0:
                for i in range(n):
                    z_out[i] += wj * X[i, j]


@kernel
def support_predictor(X, w, b, support, count, z_out):
    """z = X w + b from the columns support[:count], which hold every j with w_j != 0; X (N,
    D) Fortran, z_out (N,)."""
    for i in range(X.shape[0]):
        z_out[i] = b
    for k in range(count):
        j = support[k]
        wj = w[j]
        if wj != 0:
            for i in range(X.shape[0]):
                z_out[i] += wj * X[i, j]


@kernel
def column_dot(X, j, v):
    """X[:, j]^T v; X (N, D) Fortran, v (N,)."""
    total = X.dtype.type(0.0)
    for i in range(X.shape[0]):
        total += X[i, j] * v[i]
    return total


@kernel
def centered_column_dot(X, j, center, v):
    """(X[:, j] - center)^T v; X (N, D) Fortran, v (N,)."""
    total = X.dtype.type(0.0)
    for i in range(X.shape[0]):
        total += (X[i, j] - center) * v[i]
    return total


# On columns of at most FOUR_DOTS_MAX_ROWS samples, dot products with r go DOTS_PER_PASS
# columns per pass: one dot's loop is too short to hide the latency of its sum, and four
# independent sums that share each load of r took X^T r in 0.85x (38 x 7000), 0.89x (62 x 2000)
# and 0.92x (64 x 8000) the time. On 100 to 1000 samples the four-column loop took 1.2x to
# 2.6x the time of one column per pass (a /tmp benchmark of gradient_serial), so longer
# columns go one at a time.
DOTS_PER_PASS = 4
FOUR_DOTS_MAX_ROWS = 64


@kernel(inline=True)
def four_column_dots(X, j0, j1, j2, j3, v, scale, out):
    """out[j] = X_j^T v * scale for j = j0, j1, j2, j3, in one pass over v; X (N, D) Fortran."""
    zero = X.dtype.type(0.0)
    a0 = zero
    a1 = zero
    a2 = zero
    a3 = zero
    for i in range(X.shape[0]):
        vi = v[i]
        a0 += X[i, j0] * vi
        a1 += X[i, j1] * vi
        a2 += X[i, j2] * vi
        a3 += X[i, j3] * vi
    out[j0] = a0 * scale
    out[j1] = a1 * scale
    out[j2] = a2 * scale
    out[j3] = a3 * scale


@kernel
def columns_serial(X, r, index, grad_out):
    """grad_out[j] = X[:, j]^T r / N for j in index (int64); X (N, D) Fortran, r (N,). Four
    columns per pass where N <= FOUR_DOTS_MAX_ROWS, else one."""
    scale = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    count = index.shape[0]
    whole = count - count % DOTS_PER_PASS if X.shape[0] <= FOUR_DOTS_MAX_ROWS else 0
    for k in range(0, whole, DOTS_PER_PASS):
        four_column_dots(X, index[k], index[k + 1], index[k + 2], index[k + 3], r, scale, grad_out)
    for k in range(whole, count):
        grad_out[index[k]] = column_dot(X, index[k], r) * scale


@kernel(parallel=True)
def columns_parallel(X, r, index, grad_out):
    """:func:`columns_serial` with the columns, or groups of four, split over threads (each
    column's dot is the same on any thread count)."""
    scale = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    count = index.shape[0]
    if X.shape[0] > FOUR_DOTS_MAX_ROWS:
        for k in prange(count):
            grad_out[index[k]] = column_dot(X, index[k], r) * scale
        return
    whole = count - count % DOTS_PER_PASS
    for group in prange(whole // DOTS_PER_PASS):
        k = group * DOTS_PER_PASS
        four_column_dots(X, index[k], index[k + 1], index[k + 2], index[k + 3], r, scale, grad_out)
    for k in range(whole, count):
        grad_out[index[k]] = column_dot(X, index[k], r) * scale


@kernel
def gradient_serial(X, r, grad_out):
    """grad = X^T r / N (D,); X (N, D) Fortran, r (N,). :func:`columns_serial` over consecutive
    columns, without the index array that it would need: gd and fista on a Fortran X call this
    at every iteration."""
    scale = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    d = X.shape[1]
    whole = d - d % DOTS_PER_PASS if X.shape[0] <= FOUR_DOTS_MAX_ROWS else 0
    for j in range(0, whole, DOTS_PER_PASS):
        four_column_dots(X, j, j + 1, j + 2, j + 3, r, scale, grad_out)
    for j in range(whole, d):
        grad_out[j] = column_dot(X, j, r) * scale


@kernel(parallel=True)
def gradient_parallel(X, r, grad_out):
    """:func:`gradient_serial` with the columns, or groups of four, split over threads (each
    column's dot is the same on any thread count)."""
    scale = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    d = X.shape[1]
    if X.shape[0] > FOUR_DOTS_MAX_ROWS:
        for j in prange(d):
            grad_out[j] = column_dot(X, j, r) * scale
        return
    whole = d - d % DOTS_PER_PASS
    for group in prange(whole // DOTS_PER_PASS):
        j = group * DOTS_PER_PASS
        four_column_dots(X, j, j + 1, j + 2, j + 3, r, scale, grad_out)
    for j in range(whole, d):
        grad_out[j] = column_dot(X, j, r) * scale


@kernel
def gradient(X, r, parallel, grad_out):
    """grad = X^T r / N (D,), on all threads when parallel; X (N, D) Fortran, r (N,)."""
    if parallel:
        gradient_parallel(X, r, grad_out)
    else:
        gradient_serial(X, r, grad_out)
