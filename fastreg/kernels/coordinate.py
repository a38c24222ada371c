"""Coordinate descent on a Fortran-ordered X, with working sets and a duality-gap certificate.

X is (N, D) in column-major order, so column j is one contiguous read. The solver keeps the
sample state current in place as coefficients change, and never forms X w from scratch after
the start:

- squared loss: the residual r = X w + b - y. A coordinate update reads column j once for
  the gradient X_j^T r / N, takes the elastic-net proximal step with the coordinate's
  curvature ||X_j||^2 / N, and adds the change times X_j to r.
- logistic loss: proximal Newton. At the current z = X w + b the loss is replaced by its
  quadratic model with weights p (1 - p), p = sigmoid(z); CD epochs minimize the model plus
  the penalty over the working set, keeping s = r + h dz current (r = p - y; dz = X dw + db
  is formed once the epochs end); a backtracking line search on the true objective takes
  the step.

The outer loop computes the full gradient X^T f'(z) / N, the duality gap and the gradient
norm, stops on the certificate, and otherwise picks the working set: the features with
w_j != 0 and those that violate the optimality condition |grad_j| <= l1 most. The inner solve
on the working set stops at a fraction of the outer gap. The intercept is moved to its exact
optimum for the current w (a Newton solve in one variable) before every certificate, so the
dual point satisfies sum(u) = 0 and imbalanced classes converge.

Conventions as in ``fused``: mean loss, labels in {0, 1}, every scalar in the dtype of X.
"""

import numpy as np
from numba import prange

from .._jit import kernel
from . import fused
from .columns import (CACHE_LINE_BYTES, NONZERO_BLOCK, block_has_nonzero, centered_column_dot, column_dot,
                      columns_parallel, columns_serial, gradient, nonzero_features, predictor, prefetch_column,
                      prefetch_distance, support_predictor)

# The first working set holds WORKING_SET_START features, or one in WORKING_SET_START_SHARE
# of them if that is more (fewer if fewer violate the conditions). Each outer iteration costs
# a full pass over X, which on wide X costs as much as many epochs over a small set: grown
# from 10, the sets of 200 x 20000 logistic at lambda_max/10 took 5 full passes to reach
# the support's size (140). One in 200 cut its solves by 20 % to 45 % (both losses, with and
# without intercept, lambda_max/10 and /100), changed nothing with D < 4000 and measured
# within the noise on leukemia; on arcene it took 0.8x to 1.2x the time, problem by
# problem. One in 100 gave the same on 200 x 20000.
WORKING_SET_START = 10
WORKING_SET_START_SHARE = 200

# bounded_gradient reads every column and moves its reference residual when more than this
# share of the features would need their columns: past it a refresh costs little more, and
# the bounds from the new reference are tighter. Since a solved working set goes straight to
# the full certificate, 0.1 read the fewest columns over the logistic and lasso paths of
# leukemia, colon-cancer, arcene and 200 x 20000 (11 to 32 passes' worth in 100 lambdas,
# against 14 to 37 at 0.25; 0.05 and 0.15 in between) and took 0.69x to 0.97x the time of
# 0.25 on those paths (bench/ab.py), cold solves unchanged (0.90x to 1.08x, the noise).
# Since the path's step became third order, 0.05 took 0.95x to 1.01x the time of 0.1 on
# those paths (logistic 0.95x to 0.97x), and 0.025 0.89x to 1.20x.
REFERENCE_SHARE = 0.05

# Features per block of bounded_gradient's scan (see there).
SCAN_BLOCK = 16

# An inner solve on the working set stops when its own certificate falls below this fraction
# of the outer one: solving the subproblem more exactly than the outer gap is wasted work.
INNER_FRACTION = 0.3

# Logistic loss: a full certificate at most COMPLETE_SET_RATIO times the one the working set's
# solve ended with says that no feature outside the set violates its condition more than those
# inside (the two are equal then). The set is complete, and its next solve aims
# COMPLETE_SET_FACTOR lower than the usual INNER_FRACTION of the certificate: each outer
# iteration costs a full gradient pass and the loss's exp and log over all samples, while
# proximal Newton gains digits cheaply. Not for the squared loss, whose linear-rate CD paid
# more in epochs on ill-conditioned wide sets (leukemia, arcene at lambda_max / 100) than the
# passes it saved.
COMPLETE_SET_RATIO = 1.5
COMPLETE_SET_FACTOR = 0.1

# The squared-loss inner solve checks its certificate every this many epochs (one extra read
# of the working set's columns per check), and at the same time tries an Anderson
# extrapolation from the last EPOCHS_PER_CHECK iterates (Bertrand and Massias, 2021).
EPOCHS_PER_CHECK = 5

# Proximal Newton: CD epochs on one quadratic model at most, and the model's optimality
# violation, relative to its first epoch, at which the inner CD stops.
NEWTON_EPOCHS = 20
NEWTON_FRACTION = 0.1

# Backtracking line search: halvings at most, and the sufficient-decrease constant.
LINE_SEARCH_STEPS = 30
ARMIJO = 1e-4

# Outcomes of model_face_step: no move; a move that ended where a coefficient reached 0 (its
# budget spent, or a face's Hessian singular); the minimizer of a face reached (of the
# starting face or of one that it shrank to); no try, the first step costing more than its
# budget.
FACE_NONE = 0
FACE_CLIPPED = 1
FACE_REACHED = 2
FACE_OVER_BUDGET = 3

# The cost of a face step on M features, in units of what a CD epoch costs per element of
# the working set's columns (about 1 ns): FACE_COLUMN_READS reads of each face column (its
# gradient, the Hessian, the step), M^2 (N + M) / FACE_COST_DIVISOR for the Hessian's
# multiply-adds and the Cholesky factorization, and FACE_SAMPLE_PASSES passes over the N
# samples. With the Gram's 3 x 3 tiles both take about 0.1 ns per multiply-add on the Zen 3
# machine of stop 39 (0.3 ns and 1 ns before, when the divisor was 4). Divisor 8 against 4,
# bench/ab.py in turns there: arcene and colon-cancer paths 0.89x to 0.97x, arcene's cold
# solves 0.81x to 1.07x, 200 x 20000 and 100000 x 200 0.98x to 1.02x; 16 against 8 cost
# 200 x 20000 lasso's cold solve and arcene's logistic one at lambda_max / 100 1.13x to 1.15x.
FACE_COLUMN_READS = 3
FACE_COST_DIVISOR = 8
FACE_SAMPLE_PASSES = 4
# The first step's budget: the epochs CD still needs at its last rate, over FACE_MARGIN (the
# rate misjudges Anderson's extrapolation, which often ends the model's solve early). The
# steps on shrunken faces may spend the rest of those epochs.
FACE_MARGIN = 4

# Face steps only for faces of at least this share of the N samples: as M nears N the face's
# columns come close to dependent and CD's rate collapses (arcene: 3x to 10x fewer epochs
# with face steps), while with M << N the columns are usually well conditioned, CD with
# Anderson's extrapolation solves the model in a few epochs, and face steps made 100000 x 200
# logistic 10 % to 30 % slower.
FACE_MIN_SHARE = 0.1
# A smaller face still gets face steps once CD has spent CRAWL_EPOCHS epochs on its working
# set without solving it: two or three nearly collinear columns (arcene's near-duplicate
# features) took CD 300 to 10000 epochs at lambdas where they were the only non-zeros. CD's
# rate alone does not tell them apart: on 100000 x 200 logistic it promised 20 to 200 more
# epochs where Anderson's extrapolation finished in fewer, and face steps there took 1.09x
# to 1.12x the time (bench/ab.py --solves --problems tall).
CRAWL_EPOCHS = 40

# Samples of the weighted columns that weighted_gram holds at a time: 256 rows of 150
# columns take 300 kB, within L2.
GRAM_ROWS = 256

# squared_epoch takes coordinates two per pass over the residual (paired_epoch) when a column
# takes more than PAIR_MIN_COLUMN_BYTES: such columns no longer stay in L1 and L2 between
# their two reads, and r crossing the caches once per coordinate is what the epoch pays for.
# Shorter columns stay in cache, and the pair's longer loop body made them slower. Measured
# epoch / one read of X on one thread (2-core AMD EPYC, 512 kB L2): 100000 x 1000 1.45x to
# 1.22x, 4000 x 20000 1.34x to 1.12x, 3000 x 25000 1.28x to 1.12x; 2000 x 40000 1.26x and
# 1.28x; 1500 x 50000 1.15x to 1.35x, 1000 x 100000 1.16x to 1.57x.
PAIR_MIN_COLUMN_BYTES = 16 * 1024


@kernel
def column_axpy(X, j, alpha, center, v):
    """v += alpha (X[:, j] - center) in place; X (N, D) Fortran, v (N,)."""
    for i in range(X.shape[0]):
        v[i] += alpha * (X[i, j] - center)


@kernel
def weighted_column_axpy(X, j, alpha, center, h, v):
    """v += alpha h (X[:, j] - center) in place; X (N, D) Fortran, h, v (N,)."""
    for i in range(X.shape[0]):
        v[i] += alpha * h[i] * (X[i, j] - center)


@kernel
def column_axpy_dot(X, p, alpha, center, j, v):
    """v += alpha (X[:, p] - center), then X[:, j]^T v, in one pass over v; X (N, D) Fortran."""
    total = X.dtype.type(0.0)
    for i in range(X.shape[0]):
        vi = v[i] + alpha * (X[i, p] - center)
        v[i] = vi
        total += X[i, j] * vi
    return total


@kernel
def pair_axpy_dots(X, r, p, p_change, p_center, q, q_change, q_center, j, k, j_center):
    """r += p_change (X_p - p_center) + q_change (X_q - q_center), then (X_j^T r, X_k^T r,
    (X_j - j_center)^T X_k), in one pass over r; X (N, D) Fortran, r (N,)."""
    zero = X.dtype.type(0.0)
    dot_j = zero
    dot_k = zero
    cross = zero
    for i in range(X.shape[0]):
        ri = r[i] + p_change * (X[i, p] - p_center) + q_change * (X[i, q] - q_center)
        r[i] = ri
        xj = X[i, j]
        xk = X[i, k]
        dot_j += xj * ri
        dot_k += xk * ri
        cross += (xj - j_center) * xk
    return dot_j, dot_k, cross


@kernel
def inner_product(u, v):
    """u^T v for vectors u, v (N,), without BLAS (which Numba takes from SciPy)."""
    total = u.dtype.type(0.0)
    for i in range(u.shape[0]):
        total += u[i] * v[i]
    return total


@kernel
def sum_of_squares(u):
    """u^T u for a vector u (N,)."""
    return inner_product(u, u)


@kernel
def column_dot_square(X, j, v):
    """(X[:, j]^T v, ||X[:, j]||^2) in one read of the column; X (N, D) Fortran, v (N,)."""
    total = X.dtype.type(0.0)
    square = X.dtype.type(0.0)
    for i in range(X.shape[0]):
        x = X[i, j]
        total += x * v[i]
        square += x * x
    return total, square


@kernel
def gradient_with_norms_serial(X, r, norms, grad_out):
    """grad_out = X^T r / N over every column, and norms[j] = ||X[:, j]||_2 in the same read."""
    inv_n = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    for j in range(X.shape[1]):
        dot, square = column_dot_square(X, j, r)
        grad_out[j] = dot * inv_n
        norms[j] = np.sqrt(square)


@kernel(parallel=True)
def gradient_with_norms_parallel(X, r, norms, grad_out):
    """:func:`gradient_with_norms_serial` with the columns split over threads."""
    inv_n = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    for j in prange(X.shape[1]):
        dot, square = column_dot_square(X, j, r)
        grad_out[j] = dot * inv_n
        norms[j] = np.sqrt(square)


@kernel
def bounded_gradient(X, r, w, members, n_members, parallel, l1, watch, norms, ref_r, ref_grad, ceilings, grad_out,
                     decided_out):
    """The loss gradient X^T r / N where it can decide the certificate, a bound elsewhere.

    ref_grad[0] = X^T ref_r[0] / N was computed exactly at an earlier residual ref_r[0] (N,),
    and |X_j^T r| <= |X_j^T ref_r[0]| + ||X_j|| ||r - ref_r[0]|| (Cauchy-Schwarz), with norms
    (D,) the column norms. A feature with w_j = 0 whose bound is below l1 satisfies its
    optimality condition: its exact gradient would change neither the duality gap (the dual
    point's scale and the elastic net's excess term only see |grad_j| > l1), nor the gradient
    norm, nor the working set, so grad_out[j] receives the bound (>= |grad_j|) instead. Along
    a path and in the late outer iterations of a solve r moves little, and the bound settles
    most features without reading their columns (the sphere of Gap Safe screening, Fercoq,
    Gramfort and Salmon, 2015, drawn around the gradient instead of the dual point).

    Along a path r also keeps moving in much the same direction: ref_r[1] = v holds the step
    from the reference to the one before it, and ref_grad[1] = X^T v / N (both 0 when there
    was none). With r - ref_r[0] = beta v + e (e orthogonal to v), X_j^T r = X_j^T ref_r[0]
    + beta X_j^T v + X_j^T e, and the bound on the last term uses ||e|| instead of
    ||r - ref_r[0]||; each feature takes the smaller of the two bounds. Over the paths of
    leukemia, colon-cancer, arcene and 200 x 20000, this cut the columns read 2x to 3x.

    Only the features members[:n_members] (increasing) take part, or all D when n_members =
    D (members is then not read): a screened solve's certificates cost O(its features), not
    O(D). The others' grad_out entries are left as they are. When more than REFERENCE_SHARE
    of the D features would need their columns, or the norms are not known yet (norms[0] <
    0), every column is read and r becomes the reference (a refresh: every feature gets its
    exact gradient, member or not). D >= 1. decided_out (D,) int64 receives, in increasing
    order, the features that the certificate looks at: every member with w_j != 0 or
    |grad_j| >= l1 is among them, and the others add nothing to the certificate
    (:func:`certificate_terms`) or to the working set. They are the features whose columns
    were read, or after a refresh those with w_j != 0 or |grad_j| at the bound's limit or
    above, members or not. ref_r (2, N) and ref_grad (2, D).

    ceilings (ceil(D / SCAN_BLOCK),) receive, when every feature takes part, watch for a block
    of SCAN_BLOCK features where every w_j = 0 and every |grad_j| < watch, else inf: a path
    passes the threshold of its next lambda's strong rule (``path.strong_rule_members``), which
    then skips the blocks whose ceiling is at or below its threshold. When only the members
    take part, ceilings[0] = -1 says that the ceilings describe no scan. Returns how many
    features decided_out lists.
    """
    n, d = X.shape
    zero = X.dtype.type(0.0)
    eps = np.finfo(X.dtype).eps
    # The bound's own rounding: a relative error of a few eps in each term.
    limit = l1 * (X.dtype.type(1.0) - X.dtype.type(64.0) * eps)
    if norms[0] < zero:
        if parallel:
            gradient_with_norms_parallel(X, r, norms, grad_out)
        else:
            gradient_with_norms_serial(X, r, norms, grad_out)
        ref_r[1] = zero
        ref_grad[1] = zero
        return _refreshed(r, w, grad_out, ref_r, ref_grad, limit, watch, ceilings, decided_out)
    reference = ref_r[0]
    step = ref_r[1]
    distance = zero
    along = zero
    length = zero
    for i in range(n):
        u = r[i] - reference[i]
        distance += u * u
        along += u * step[i]
        length += step[i] * step[i]
    beta = along / length if length > zero else zero
    rest = zero
    for i in range(n):
        e = (r[i] - reference[i]) - beta * step[i]
        rest += e * e
    reach = np.sqrt(distance) / X.dtype.type(n)
    # The rounding of e, and of the two gradients whose difference beta multiplies (each
    # allowed what limit allows one gradient).
    reach_rest = (np.sqrt(rest) + X.dtype.type(4.0) * eps * (np.sqrt(distance) + abs(beta) * np.sqrt(length))) \
        / X.dtype.type(n)
    slack = X.dtype.type(128.0) * eps * abs(beta) * l1
    ref_g = ref_grad[0]
    ref_dg = ref_grad[1]
    uncertain = 0
    if n_members < d:
        ceilings[0] = -X.dtype.type(1.0)
        for k in range(n_members):
            j = members[k]
            bound = _feature_bound(ref_g[j], ref_dg[j], norms[j], beta, reach, reach_rest, slack)
            grad_out[j] = bound
            if w[j] != zero or not bound < limit:
                decided_out[uncertain] = j
                uncertain += 1
    else:
        # By blocks of SCAN_BLOCK features: the bounds and a flag of whether any feature of
        # the block is undecided, in a loop that LLVM vectorizes, then the list from the few
        # blocks flagged. One branch per feature cost leukemia's certificates 2 ns per feature.
        # The index is unsigned, as in columns.block_has_nonzero: 3.9 us per scan of
        # leukemia's 7129 features instead of 4.8.
        # The ceilings' flag is a third or, not a running maximum of the bounds, which LLVM
        # does not vectorize without assuming no nan (a maximum took the scan from 5.8 to
        # 13.8 us on leukemia).
        end = d - d % SCAN_BLOCK
        for start in range(0, end, SCAN_BLOCK):
            nonzero = False
            flagged = False
            watched = False
            for j in range(np.uint64(start), np.uint64(start + SCAN_BLOCK)):
                bound = _feature_bound(ref_g[j], ref_dg[j], norms[j], beta, reach, reach_rest, slack)
                grad_out[j] = bound
                nonzero = nonzero | (w[j] != zero)
                flagged = flagged | (not bound < limit)
                watched = watched | (not bound < watch)
            ceilings[start // SCAN_BLOCK] = np.inf if nonzero | watched else watch
            if nonzero | flagged:
                uncertain = _list_undecided(w, grad_out, limit, start, start + SCAN_BLOCK, decided_out, uncertain)
        for j in range(end, d):
            grad_out[j] = _feature_bound(ref_g[j], ref_dg[j], norms[j], beta, reach, reach_rest, slack)
        if end < d:
            ceilings[end // SCAN_BLOCK] = _ceiling(w, grad_out, watch, end, d)
        uncertain = _list_undecided(w, grad_out, limit, end, d, decided_out, uncertain)
    if uncertain > REFERENCE_SHARE * d:
        gradient(X, r, parallel, grad_out)
        # The old reference becomes the step's far end.
        for i in range(n):
            ref_r[1, i] = reference[i] - r[i]
        for j in range(d):
            ref_grad[1, j] = ref_g[j] - grad_out[j]
        return _refreshed(r, w, grad_out, ref_r, ref_grad, limit, watch, ceilings, decided_out)
    if parallel:
        columns_parallel(X, r, decided_out[:uncertain], grad_out)
    else:
        columns_serial(X, r, decided_out[:uncertain], grad_out)
    return uncertain


@kernel(inline=True)
def _feature_bound(ref_g, ref_dg, norm, beta, reach, reach_rest, slack):
    """The smaller of :func:`bounded_gradient`'s two bounds on |grad_j|: around the reference,
    and around the reference moved beta along the last step."""
    return min(abs(ref_g) + norm * reach, abs(ref_g + beta * ref_dg) + norm * reach_rest + slack)


@kernel(inline=True)
def _list_undecided(w, bound, limit, start, stop, decided_out, count):
    """Append to decided_out[count:] the features of start:stop that are non-zero or whose
    bound (or gradient: its size is taken) is not below limit; returns the new count."""
    for j in range(start, stop):
        if w[j] != 0 or not abs(bound[j]) < limit:
            decided_out[count] = j
            count += 1
    return count


@kernel(inline=True)
def _ceiling(w, grad, watch, start, stop):
    """watch if every w_j = 0 and every |grad_j| < watch over start:stop, else inf."""
    for j in range(start, stop):
        if w[j] != 0 or not abs(grad[j]) < watch:
            return grad.dtype.type(np.inf)
    return watch


@kernel
def _refreshed(r, w, grad, ref_r, ref_grad, limit, watch, ceilings, decided_out):
    """Make the exact gradient grad at r the reference of :func:`bounded_gradient` (ref_r[0],
    ref_grad[0]), list the features with w_j != 0 or |grad_j| >= limit in decided_out, and
    set the ceilings from grad; returns how many are listed.

    Only those features add to the certificate and the working set (:func:`certificate_terms`,
    :func:`select_working_set`): listing all D, as a refresh did before, had each of them go
    through both (leukemia: 40 us of a refresh's 70). By blocks of SCAN_BLOCK, as the scan."""
    fused.copy_vector(r, ref_r[0])
    fused.copy_vector(grad, ref_grad[0])
    d = grad.shape[0]
    count = 0
    end = d - d % SCAN_BLOCK
    for start in range(0, end, SCAN_BLOCK):
        nonzero = False
        flagged = False
        watched = False
        for j in range(np.uint64(start), np.uint64(start + SCAN_BLOCK)):
            size = abs(grad[j])
            nonzero = nonzero | (w[j] != 0)
            flagged = flagged | (not size < limit)
            watched = watched | (not size < watch)
        ceilings[start // SCAN_BLOCK] = np.inf if nonzero | watched else watch
        if nonzero | flagged:
            count = _list_undecided(w, grad, limit, start, start + SCAN_BLOCK, decided_out, count)
    if end < d:
        ceilings[end // SCAN_BLOCK] = _ceiling(w, grad, watch, end, d)
    return _list_undecided(w, grad, limit, end, d, decided_out, count)


@kernel
def certificate_terms(w, grad, decided, count, l1, l2):
    """The penalty, the gradient norm's largest violation, max |grad_j|, the elastic net's
    excess sum_j max(|grad_j| - l1, 0)^2 and the number of non-zeros, over the features
    decided[:count].

    Those must include every j with w_j != 0 or |grad_j| > l1, as :func:`bounded_gradient`'s
    list does: any other feature adds 0 to each term (its violation is max(|grad_j| - l1, 0)
    = 0, and its |grad_j| <= l1 leaves the dual point's scale at what the others make it), so
    a certificate costs O(count) here instead of five passes over all D features.
    """
    zero = w.dtype.type(0.0)
    abs_sum = zero
    square_sum = zero
    norm = zero
    grad_max = zero
    excess_sum = zero
    nnz = 0
    for k in range(count):
        j = decided[k]
        wj = w[j]
        abs_sum += abs(wj)
        square_sum += wj * wj
        if wj != zero:
            nnz += 1
        norm = max(norm, violation(wj, grad[j], l1, l2))
        size = abs(grad[j])
        grad_max = max(grad_max, size)
        excess = max(size - l1, zero)
        excess_sum += excess * excess
    penalty_value = l1 * abs_sum + w.dtype.type(0.5) * l2 * square_sum
    return penalty_value, norm, grad_max, excess_sum, nnz


@kernel
def soft_threshold_shrink(u, l1, curvature, l2):
    """argmin_v (curvature / 2) v^2 - u v + l1 |v| + (l2 / 2) v^2 = soft(u, l1) / (curvature + l2)."""
    # NumPy: np.sign(u) * np.maximum(np.abs(u) - l1, 0) / (curvature + l2)
    if u > l1:
        return (u - l1) / (curvature + l2)
    if u < -l1:
        return (u + l1) / (curvature + l2)
    return u - u


@kernel
def violation(w, g, l1, l2):
    """Distance of the one-coordinate subdifferential g + l2 w + l1 d|w| to 0 (scalars)."""
    zero = w - w
    gj = g + l2 * w
    if w > zero:
        return abs(gj + l1)
    if w < zero:
        return abs(gj - l1)
    return max(abs(gj) - l1, zero)


@kernel
def working_set_penalty(w, ws, count, l1, l2):
    """l1 ||w_S||_1 + (l2 / 2) ||w_S||^2 over the working set S = ws[:count]."""
    zero = w.dtype.type(0.0)
    abs_sum = zero
    square_sum = zero
    for k in range(count):
        wj = w[ws[k]]
        abs_sum += abs(wj)
        square_sum += wj * wj
    return l1 * abs_sum + w.dtype.type(0.5) * l2 * square_sum


@kernel
def solve_linear(matrix, rhs):
    """x with matrix x = rhs, matrix (M, M), by Gaussian elimination with partial pivoting.

    No LAPACK (Numba takes it from SciPy). Returns an empty array when the system is singular
    or the solution is not finite. The inputs are not modified.
    """
    m = rhs.shape[0]
    zero = matrix.dtype.type(0.0)
    system = np.empty((m, m + 1), dtype=matrix.dtype)
    for row in range(m):
        for col in range(m):
            system[row, col] = matrix[row, col]
        system[row, m] = rhs[row]
    for col in range(m):
        pivot = col
        for row in range(col + 1, m):
            if abs(system[row, col]) > abs(system[pivot, col]):
                pivot = row
        if system[pivot, col] == zero:
            return np.empty(0, dtype=matrix.dtype)
        if pivot != col:
            for c in range(m + 1):
                system[col, c], system[pivot, c] = system[pivot, c], system[col, c]
        for row in range(col + 1, m):
            factor = system[row, col] / system[col, col]
            for c in range(col, m + 1):
                system[row, c] -= factor * system[col, c]
    solution = np.empty(m, dtype=matrix.dtype)
    for row in range(m - 1, -1, -1):
        total = system[row, m]
        for c in range(row + 1, m):
            total -= system[row, c] * solution[c]
        solution[row] = total / system[row, row]
    if not np.all(np.isfinite(solution)):
        return np.empty(0, dtype=matrix.dtype)
    return solution


@kernel
def weighted_gram(X, columns, centers, root_h, with_ones, scale):
    """scale * W^T W for W (N, M) with columns root_h * (X[:, columns[a]] - centers[a]),
    followed by root_h itself when with_ones (the intercept's column); symmetric (M, M).

    W is copied GRAM_ROWS samples at a time into a block whose rows are its columns (padded
    with zero rows to a multiple of three), and each 3 x 3 tile of the lower triangle sums its
    9 dot products over the block's samples in one loop: 9 vector accumulators and 6 loads for
    9 multiply-adds per vector of samples, and the (M, M) result touched once per block.
    Against outer products of four rows added into the result, which read and wrote the whole
    triangle every four samples: about half the time at N = 200 and M = 150 to 200, a third at
    N = 2000 and 100000 (4 x 4 tiles, a /tmp script, in turns, on Zen 4). 3 x 3 tiles, not
    4 x 4: with AVX2's 16 vector registers (Zen 3), 16 accumulators spilled to the stack in the
    inner loop, and the Gram took 1.5x to 1.6x the time of 3 x 3 tiles at N = 200 and 2000,
    M = 50 to 200 (stop 39, /tmp script in turns). Memory: O(M GRAM_ROWS) besides the result.
    """
    n = X.shape[0]
    count = columns.shape[0]
    m = count + 1 if with_ones else count
    zero = X.dtype.type(0.0)
    out = np.zeros((m, m), dtype=X.dtype)
    block = np.zeros(((m + 2) // 3 * 3, min(n, GRAM_ROWS)), dtype=X.dtype)
    for start in range(0, n, GRAM_ROWS):
        rows = min(GRAM_ROWS, n - start)
        for a in range(count):
            j = columns[a]
            center = centers[a]
            for i in range(rows):
                # An unsigned sample index: Numba then skips its negative-index wraparound,
                # which kept LLVM from vectorizing this copy (the Gram took 1.2x as long).
                sample = np.uint64(start + i)
                block[a, i] = root_h[sample] * (X[sample, j] - center)
        if with_ones:
            for i in range(rows):
                block[count, i] = root_h[np.uint64(start + i)]
        for a in range(0, m, 3):
            for c in range(0, a + 1, 3):
                s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = zero
                for i in range(rows):
                    x0 = block[a, i]
                    x1 = block[a + 1, i]
                    x2 = block[a + 2, i]
                    y0 = block[c, i]
                    y1 = block[c + 1, i]
                    y2 = block[c + 2, i]
                    s00 += x0 * y0
                    s01 += x0 * y1
                    s02 += x0 * y2
                    s10 += x1 * y0
                    s11 += x1 * y1
                    s12 += x1 * y2
                    s20 += x2 * y0
                    s21 += x2 * y1
                    s22 += x2 * y2
                tile = ((s00, s01, s02), (s10, s11, s12), (s20, s21, s22))
                for r in range(min(3, m - a)):
                    for q in range(min(3, a + r - c + 1)):
                        out[a + r, c + q] += tile[r][q]
    for a in range(m):
        for c in range(a + 1):
            out[a, c] *= scale
            out[c, a] = out[a, c]
    return out


@kernel(inline=True)
def _factor_row(matrix, lower, i, start):
    """Entries start:i of row i of :func:`cholesky_factor`'s factor, from the rows
    above; returns the pivot matrix[i, i] - ||lower[i, :i]||^2."""
    zero = matrix.dtype.type(0.0)
    for k in range(start, i):
        total = zero
        for p in range(k):
            total += lower[i, p] * lower[k, p]
        lower[i, k] = (matrix[i, k] - total) / lower[k, k]
    total = zero
    for p in range(i):
        total += lower[i, p] * lower[i, p]
    return matrix[i, i] - total


@kernel
def solve_positive_definite(matrix, rhs):
    """x with matrix x = rhs for a symmetric positive definite matrix (M, M), by Cholesky
    (:func:`cholesky_factor`, :func:`cholesky_solve`). Returns an empty array when a pivot is
    not positive (the matrix is singular or indefinite to rounding) or the solution is not
    finite. The inputs are not modified."""
    lower = cholesky_factor(matrix)
    solution = np.empty(rhs.shape[0], dtype=matrix.dtype)
    if lower.shape[0] != rhs.shape[0] or not cholesky_solve(lower, rhs, solution):
        return np.empty(0, dtype=matrix.dtype)
    return solution


@kernel
def cholesky_factor(matrix):
    """L lower triangular with matrix = L L^T, for a symmetric positive definite matrix (M, M);
    an empty (0, 0) array when a pivot is not positive (the matrix is singular or indefinite
    to rounding).

    Factored row by row (Cholesky-Crout): each entry of L is a dot product of two rows
    already computed, which are contiguous, so the inner loops are multiply-adds that LLVM
    vectorizes and the factor is written once. Rows go four at a time: their entries left of
    the block share each load of the row they are dotted with (four independent sums), then
    the 4 x 4 block's own entries row by row. One row at a time took 1.5x to 2.7x as long at
    M = 20 to 198 (a /tmp script); the right-looking form, which subtracts each pivot's row
    from every row below it, stored the trailing matrix back on every step and ran 2x slower
    still at M = 150. Only the lower triangle of matrix is read. No LAPACK (Numba takes it
    from SciPy).
    """
    m = matrix.shape[0]
    zero = matrix.dtype.type(0.0)
    one = matrix.dtype.type(1.0)
    lower = np.zeros((m, m), dtype=matrix.dtype)
    first = 0
    while first < m:
        stop = min(first + 4, m)
        start = 0
        if stop == first + 4:
            start = first
            for k in range(first):
                t0 = zero
                t1 = zero
                t2 = zero
                t3 = zero
                for p in range(k):
                    pivot_row = lower[k, p]
                    t0 += lower[first, p] * pivot_row
                    t1 += lower[first + 1, p] * pivot_row
                    t2 += lower[first + 2, p] * pivot_row
                    t3 += lower[first + 3, p] * pivot_row
                inverse = one / lower[k, k]
                lower[first, k] = (matrix[first, k] - t0) * inverse
                lower[first + 1, k] = (matrix[first + 1, k] - t1) * inverse
                lower[first + 2, k] = (matrix[first + 2, k] - t2) * inverse
                lower[first + 3, k] = (matrix[first + 3, k] - t3) * inverse
        for i in range(first, stop):
            pivot = _factor_row(matrix, lower, i, start)
            if not pivot > zero:
                return np.empty((0, 0), dtype=matrix.dtype)
            lower[i, i] = np.sqrt(pivot)
        first = stop
    return lower


@kernel
def cholesky_solve(lower, rhs, out):
    """out = x with L L^T x = rhs, L = lower from :func:`cholesky_factor`, x (M,) and out of
    at least M entries; returns whether x is finite. L y = rhs by rows of L, then L^T x = y
    subtracting each solved x_i times row i of L."""
    m = rhs.shape[0]
    zero = lower.dtype.type(0.0)
    for i in range(m):
        total = zero
        for p in range(i):
            total += lower[i, p] * out[p]
        out[i] = (rhs[i] - total) / lower[i, i]
    finite = True
    for i in range(m - 1, -1, -1):
        value = out[i] / lower[i, i]
        out[i] = value
        finite = finite and np.isfinite(value)
        for p in range(i):
            out[p] -= value * lower[i, p]
    return finite


@kernel
def anderson_weights(iterates):
    """Weights c, sum(c) = 1, minimizing ||sum_k c_k (u_{k+1} - u_k)||; iterates (K + 1, M).

    Solves (U U^T) c = 1, U the K differences, then normalizes. Returns an empty array when
    the system is singular.
    """
    k_count = iterates.shape[0] - 1
    diffs = iterates[1:] - iterates[:-1]
    gram = np.empty((k_count, k_count), dtype=iterates.dtype)
    for a in range(k_count):
        for c in range(k_count):
            gram[a, c] = np.sum(diffs[a] * diffs[c])
    weights = solve_linear(gram, np.ones(k_count, dtype=iterates.dtype))
    if weights.shape[0] == 0:
        return weights
    total = np.sum(weights)
    if not np.isfinite(total) or total == iterates.dtype.type(0.0):
        return np.empty(0, dtype=iterates.dtype)
    return weights / total


@kernel
def kth_largest(values, k):
    """The k-th largest of values (k = 0: the largest), by three-way quickselect on a copy;
    O(len(values)) expected, ties and infinities included.

    Not np.partition, whose Numba implementation (with np.unique and a quicksort for its
    argument checks) took 3.4 s of a 38 s compilation of cd_solve.
    """
    work = values.copy()
    lo = 0
    hi = values.shape[0] - 1
    while lo < hi:
        a, b, c = work[lo], work[(lo + hi) // 2], work[hi]
        pivot = max(min(a, b), min(max(a, b), c))
        # work[lo:above] > pivot, work[above:i] == pivot, work[below + 1:hi + 1] < pivot.
        above = lo
        i = lo
        below = hi
        while i <= below:
            value = work[i]
            if value > pivot:
                work[i] = work[above]
                work[above] = value
                above += 1
                i += 1
            elif value < pivot:
                work[i] = work[below]
                work[below] = value
                below -= 1
            else:
                i += 1
        if k < above:
            hi = above - 1
        elif k > below:
            lo = below + 1
        else:
            return pivot
    return work[lo]


@kernel
def select_working_set(w, grad, l1, l2, size, decided, count, score_work, ws_out):
    """Fill ws_out with up to ``size`` features, in increasing order; returns how many.

    Every feature with w_j != 0 is kept; the rest of the room goes to the features whose
    optimality condition |grad_j| <= l1 is violated most. Features that satisfy it and are 0
    are left out even if there is room. Only the features decided[:count] (increasing) are
    looked at: the list must hold every feature that is non-zero or violates its condition.
    """
    zero = w.dtype.type(0.0)
    candidates = 0
    for k in range(count):
        j = decided[k]
        score = np.inf if w[j] != zero else violation(w[j], grad[j], l1, l2)
        if score > zero:
            ws_out[candidates] = j
            score_work[candidates] = score
            candidates += 1
    if candidates <= size:
        return candidates
    # The size-th largest score by selection, O(candidates): early in a solve thousands of
    # features violate, and sorting them cost more than the working set's solve (0.5 ms of
    # 3 ms at 4400 candidates on leukemia). Ties at the threshold go to the lowest indices.
    scores = score_work[:candidates]
    threshold = kth_largest(scores, size - 1)
    above = 0
    for k in range(candidates):
        if scores[k] > threshold:
            above += 1
    ties = size - above
    count = 0
    for k in range(candidates):
        score = scores[k]
        if score > threshold or (score == threshold and ties > 0):
            if score == threshold:
                ties -= 1
            ws_out[count] = ws_out[k]
            count += 1
    return count


@kernel
def squared_epoch(X, r, w, b, ws, count, l1, l2, fit_intercept, center, curvature):
    """One CD epoch of the squared loss over ws[:count]; r = X w + b - y kept current; returns b.

    Each coordinate's residual update r += delta (X_j - center_j) is applied in the same pass
    that reads the next coordinate's column for its gradient X_j'^T r / N, so r crosses the
    cache once per coordinate instead of twice; on long columns (PAIR_MIN_COLUMN_BYTES) once
    per two coordinates (:func:`paired_epoch`). center and curvature (D,) as in
    :func:`squared_subproblem`, already computed for the working set.
    """
    if X.shape[0] * X.itemsize > PAIR_MIN_COLUMN_BYTES:
        b = paired_epoch(X, r, w, b, ws, count, l1, l2, center, curvature)
    else:
        b = single_epoch(X, r, w, b, ws, count, l1, l2, center, curvature)
    if fit_intercept:
        # Removes the rounding drift of mean(r) = 0.
        shift = -np.mean(r)
        for i in range(X.shape[0]):
            r[i] += shift
        b += shift
    return b


@kernel
def coordinate_step(w, j, dot, l1, l2, curvature):
    """Set w[j] to its exact minimizer given the gradient dot = X_j^T r / N; returns the change."""
    old = w[j]
    w[j] = soft_threshold_shrink(curvature[j] * old - dot, l1, curvature[j], l2)
    return w[j] - old


@kernel
def single_epoch(X, r, w, b, ws, count, l1, l2, center, curvature):
    """:func:`squared_epoch` one coordinate per pass over r, without the intercept's shift."""
    zero = X.dtype.type(0.0)
    inv_n = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    ahead = prefetch_distance(X, count, fused.L3_BYTES)
    line = CACHE_LINE_BYTES // X.itemsize
    pending = -1
    pending_change = zero
    for k in range(count):
        j = ws[k]
        if ahead > 0 and k + ahead < count:
            prefetch_column(X, ws[k + ahead], line)
        if curvature[j] == zero:
            continue
        if pending >= 0:
            dot = column_axpy_dot(X, pending, pending_change, center[pending], j, r)
            pending = -1
        else:
            dot = column_dot(X, j, r)
        change = coordinate_step(w, j, dot * inv_n, l1, l2, curvature)
        if change != zero:
            pending = j
            pending_change = change
            b -= change * center[j]
    if pending >= 0:
        column_axpy(X, pending, pending_change, center[pending], r)
    return b


@kernel
def next_coordinate(ws, count, k, curvature):
    """The first position at or after k in ws[:count] whose feature has a non-zero curvature."""
    while k < count and curvature[ws[k]] == 0:
        k += 1
    return k


@kernel(inline=True)
def pending_pair(p, p_change, q, q_change):
    """The pair of pending changes (p, p_change, q, q_change) of the paired epochs, with a
    column whose change is zero replaced by the other one: it need not be read again."""
    if p_change == 0:
        p = q
        p_change = q_change
        q_change = q_change - q_change
    if q_change == 0:
        q = p
    return p, p_change, q, q_change


@kernel
def paired_epoch(X, r, w, b, ws, count, l1, l2, center, curvature):
    """:func:`squared_epoch` two coordinates j, k per pass over r, without the intercept's shift.

    The pass that applies the last pair's changes to r also gives X_j^T r, X_k^T r and
    (X_j - center_j)^T X_k (:func:`pair_axpy_dots`). After w_j's step the gradient of k is
    X_k^T r + delta_j (X_j - center_j)^T X_k: the same exact coordinate steps in the same
    order as :func:`single_epoch`. An unpaired last coordinate, or a pair with one change,
    passes a column twice with a zero change, which leaves r as it is.
    """
    zero = X.dtype.type(0.0)
    inv_n = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    first = next_coordinate(ws, count, 0, curvature)
    if first == count:
        return b
    p = ws[first]
    q = p
    p_change = zero
    q_change = zero
    while first < count:
        second = next_coordinate(ws, count, first + 1, curvature)
        j = ws[first]
        k = ws[second] if second < count else j
        dot_j, dot_k, cross = pair_axpy_dots(X, r, p, p_change, center[p], q, q_change, center[q], j, k, center[j])
        p_change = coordinate_step(w, j, dot_j * inv_n, l1, l2, curvature)
        b -= p_change * center[j]
        q_change = zero
        if second < count:
            q_change = coordinate_step(w, k, (dot_k + p_change * cross) * inv_n, l1, l2, curvature)
            b -= q_change * center[k]
            first = next_coordinate(ws, count, second + 1, curvature)
        else:
            first = count
        p, p_change, q, q_change = pending_pair(j, p_change, k, q_change)
    if p_change != zero:
        column_axpy(X, p, p_change, center[p], r)
    if q_change != zero:
        column_axpy(X, q, q_change, center[q], r)
    return b


@kernel
def squared_subproblem(X, y, r, w, b, ws, count, l1, l2, fit_intercept, criterion, inner_tol,
                       max_epochs, center, curvature, grad_work):
    """CD epochs for the squared loss on the features ws[:count]; r = X w + b - y kept current.

    With an intercept, the columns are centered implicitly: a change delta of w_j moves b by
    -delta mean(X_j), which keeps b optimal (mean(r) = 0) and makes the coordinate's
    curvature the centered ||X_j - mean(X_j)||^2 / N. Uncentered data would otherwise couple
    every coordinate to the intercept and slow CD to a crawl. center (D,) and curvature (D,)
    cache mean(X_j) and that curvature (curvature < 0: not computed yet). With an intercept,
    b must be optimal on entry. Stops when the working set's own certificate is <= inner_tol, checked every
    EPOCHS_PER_CHECK epochs, or after max_epochs. At a check where the sign pattern held since
    the last one, a face step (:func:`model_face_step`, with h = 1) may finish the pattern's
    face. Returns (epochs, b, the last certificate computed, inf if none).
    """
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    inv_n = X.dtype.type(1.0) / X.dtype.type(n)
    for k in range(count):
        j = ws[k]
        if curvature[j] < zero:
            # Moments of X_j - shift, as in logistic_subproblem's weighted ones.
            shift = X[0, j] if fit_intercept else zero
            total = zero
            squares = zero
            for i in range(n):
                x = X[i, j] - shift
                total += x
                squares += x * x
            mean = total * inv_n if fit_intercept else zero
            center[j] = shift + mean
            curvature[j] = max(squares * inv_n - mean * mean, zero)
    iterates = np.empty((EPOCHS_PER_CHECK + 1, count), dtype=X.dtype)
    for k in range(count):
        iterates[0, k] = w[ws[k]]
    trial_w = np.empty(count, dtype=X.dtype)
    trial_r = np.empty(n, dtype=X.dtype)
    signs = np.sign(w[ws[:count]])
    face_solved = False
    # The certificate at the last check, and the epochs run then: CD's rate.
    previous = X.dtype.type(np.inf)
    checked = 0
    epochs = 0
    stop = X.dtype.type(np.inf)
    while epochs < max_epochs:
        b = squared_epoch(X, r, w, b, ws, count, l1, l2, fit_intercept, center, curvature)
        epochs += 1
        slot = epochs % EPOCHS_PER_CHECK
        for k in range(count):
            iterates[EPOCHS_PER_CHECK if slot == 0 else slot, k] = w[ws[k]]
        # A warm-started working set is often solved after one epoch: checked then too.
        if slot != 0 and epochs != 1:
            continue
        if slot == 0:
            b = anderson_step(X, y, r, w, b, ws, count, l1, l2, fit_intercept, center, iterates, trial_w, trial_r)
            for k in range(count):
                iterates[0, k] = w[ws[k]]
        norm = zero
        for k in range(count):
            j = ws[k]
            grad_work[k] = column_dot(X, j, r) * inv_n
            norm = max(norm, violation(w[j], grad_work[k], l1, l2))
        if criterion == fused.DUALITY_GAP:
            value = X.dtype.type(0.5) * sum_of_squares(r) * inv_n + working_set_penalty(w, ws, count, l1, l2)
            stop = value - fused.dual_objective(fused.SQUARED, r, y, grad_work[:count], l1, l2)
        else:
            stop = norm
        if stop <= inner_tol:
            break
        stable = keep_signs(w[ws[:count]], signs)
        if not stable:
            # A new sign pattern: a face step may be tried on it.
            face_solved = False
        if slot == 0 and stable and not face_solved and stop < previous < np.inf and face_fits(
                np.count_nonzero(signs), n, epochs):
            # As in logistic_subproblem: the sign pattern held since the last check, so a few
            # linear solves on its face may finish what CD's rate would take many epochs to
            # (once per pattern). The model, mean(r dz + dz^2 / 2) + penalty, is the squared
            # loss itself.
            rate = (stop / previous) ** (X.dtype.type(1.0) / X.dtype.type(epochs - checked))
            needed = np.log(inner_tol / stop) / np.log(rate) if inner_tol > zero else X.dtype.type(np.inf)
            current = w[ws[:count]]
            # With h = 1, s = r + h dz is the residual after the move: r itself, moved in place.
            db, outcome = model_face_step(X, r, np.sum(r), np.ones(n, dtype=X.dtype), ws, count, l1, l2,
                                          center[ws[:count]], current, needed, epochs, trial_w, trial_r)
            face_solved = outcome != FACE_OVER_BUDGET
            if outcome == FACE_CLIPPED or outcome == FACE_REACHED:
                for k in range(count):
                    w[ws[k]] = current[k]
                    iterates[0, k] = current[k]
                keep_signs(current, signs)
                b += db
        previous = stop
        checked = epochs
    return epochs, b, stop


@kernel
def anderson_mix(iterates, trial_w):
    """trial_w (M,) = the iterates (K + 1, M) mixed with the weights of :func:`anderson_weights`;
    returns False (trial_w untouched) when the weights are singular."""
    weights = anderson_weights(iterates)
    if weights.shape[0] == 0:
        return False
    for k in range(trial_w.shape[0]):
        total = iterates.dtype.type(0.0)
        for m in range(weights.shape[0]):
            total += weights[m] * iterates[m + 1, k]
        trial_w[k] = total
    return True


@kernel
def columns_combination(X, ws, old, new, centers, v):
    """v += sum_k (new[k] - old[k]) (X[:, ws[k]] - centers[k]), reading only the columns whose
    coefficient changed; old, new, centers (count,). Returns the intercept's change under
    implicit centering, -sum_k (new[k] - old[k]) centers[k]."""
    intercept = X.dtype.type(0.0)
    for k in range(old.shape[0]):
        change = new[k] - old[k]
        if change != 0:
            column_axpy(X, ws[k], change, centers[k], v)
            intercept -= change * centers[k]
    return intercept


@kernel
def penalty_change(old, new, l1, l2):
    """P(new) - P(old) for the elastic-net penalty P over (count,) values, summed term by term
    so that rounding of P itself does not hide the change."""
    half = old.dtype.type(0.5)
    change = old.dtype.type(0.0)
    for k in range(old.shape[0]):
        change += l1 * (abs(new[k]) - abs(old[k])) + half * l2 * (new[k] - old[k]) * (new[k] + old[k])
    return change


@kernel
def anderson_step(X, y, r, w, b, ws, count, l1, l2, fit_intercept, center, iterates, trial_w, trial_r):
    """Replace (w, r, b) by the Anderson extrapolation of the iterates if it lowers F; returns b."""
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    current = w[ws[:count]]
    if not anderson_mix(iterates, trial_w):
        return b
    fused.copy_vector(r, trial_r)
    trial_b = b + columns_combination(X, ws, current, trial_w, center[ws[:count]], trial_r)
    if fit_intercept:
        shift = -np.mean(trial_r)
        for i in range(n):
            trial_r[i] += shift
        trial_b += shift
    # F(trial) - F(current), summed term by term so that rounding does not hide the change.
    change = zero
    for i in range(n):
        change += (trial_r[i] - r[i]) * (trial_r[i] + r[i])
    change *= X.dtype.type(0.5) / X.dtype.type(n)
    change += penalty_change(current, trial_w, l1, l2)
    if not change < zero:
        return b
    for k in range(count):
        w[ws[k]] = trial_w[k]
    fused.copy_vector(trial_r, r)
    return trial_b


@kernel
def mean_loss_residual(loss, z, y):
    """Mean loss at z (N,), overwriting z with the residuals f'(z_i, y_i)."""
    loss_sum = z.dtype.type(0.0)
    for i in range(z.shape[0]):
        loss_i, z[i] = fused.loss_residual(loss, z[i], y[i])
        loss_sum += loss_i
    return loss_sum / z.dtype.type(z.shape[0])


@kernel
def logistic_state(z, y, r_out, h_out, loss_out):
    """Mean loss at z; r_out = sigmoid(z) - y and h_out = p (1 - p), the loss's curvature (N,);
    loss_out (N,) receives the per-sample losses, or is skipped when it has length 0."""
    one = z.dtype.type(1.0)
    loss_sum = z.dtype.type(0.0)
    keep = loss_out.shape[0] > 0
    for i in range(z.shape[0]):
        loss_i, ri = fused.loss_residual(fused.LOGISTIC, z[i], y[i])
        p = ri + y[i]
        loss_sum += loss_i
        r_out[i] = ri
        h_out[i] = p * (one - p)
        if keep:
            loss_out[i] = loss_i
    return loss_sum / z.dtype.type(z.shape[0])


@kernel
def logistic_loss_change(z, dz, t, y, losses, trial_loss, trial_r):
    """Mean loss at z + t dz minus mean loss at z, given the losses (N,) at z, summed per
    sample: near the optimum the change is far below the rounding of either mean. The losses
    and residuals at z + t dz go to trial_loss, trial_r (N,): an accepted step's state."""
    change = z.dtype.type(0.0)
    for i in range(z.shape[0]):
        after, trial_r[i] = fused.loss_residual(fused.LOGISTIC, z[i] + t * dz[i], y[i])
        trial_loss[i] = after
        change += after - losses[i]
    return change / z.dtype.type(z.shape[0])


@kernel
def adopt_trial_state(y, trial_loss, trial_r, losses, r_out, h_out):
    """The state of :func:`logistic_state` at an accepted step, from the line search's losses
    and residuals there (no exp or log again); returns the mean loss."""
    one = y.dtype.type(1.0)
    loss_sum = y.dtype.type(0.0)
    for i in range(y.shape[0]):
        ri = trial_r[i]
        p = ri + y[i]
        loss_sum += trial_loss[i]
        losses[i] = trial_loss[i]
        r_out[i] = ri
        h_out[i] = p * (one - p)
    return loss_sum / y.dtype.type(y.shape[0])


@kernel
def shift_to_optimal_intercept(loss, z, y):
    """Add to z (N,) the intercept change that minimizes the mean loss; returns the change."""
    shift = fused.optimal_intercept(loss, z, y, z.dtype.type(0.0))
    for i in range(z.shape[0]):
        z[i] += shift
    return shift


@kernel
def model_epoch(X, s, s_sum, h, ws, count, l1, l2, hess_work, center_work, w_new):
    """One CD epoch on the quadratic model of the logistic loss over ws[:count].

    The model at z is mean_i [r_i dz_i + h_i dz_i^2 / 2] + penalty, dz = X dw + db; its
    gradient in w_j is X_j^T (r + h dz) / N, so the epoch keeps s = r + h dz (N,) current
    instead of dz: a coordinate reads its column, s and (when it moves) h, where dz would
    add r and dz itself (on 1000 x 100000 the three vectors of 8 kB stay in L1, where four did
    not: an epoch took 1.13x of a read of X instead of 1.93x). w_new[k], hess_work[k],
    center_work[k] are coordinate ws[k]'s value, curvature and weighted mean: a change delta
    moves dz by delta (X_j - center) and the intercept by -delta center, which keeps sum(s)
    at s_sum = sum(r); the gradients go through :func:`model_dot`. Returns the largest
    optimality violation seen. On long columns (PAIR_MIN_COLUMN_BYTES) two coordinates per
    pass over the samples (:func:`paired_model_epoch`).
    """
    if X.shape[0] * X.itemsize > PAIR_MIN_COLUMN_BYTES:
        return paired_model_epoch(X, s, s_sum, h, ws, count, l1, l2, hess_work, center_work, w_new)
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    inv_n = X.dtype.type(1.0) / X.dtype.type(n)
    model_norm = zero
    ahead = prefetch_distance(X, count, fused.L3_BYTES)
    line = CACHE_LINE_BYTES // X.itemsize
    for k in range(count):
        j = ws[k]
        if ahead > 0 and k + ahead < count:
            prefetch_column(X, ws[k + ahead], line)
        hj = hess_work[k]
        if hj == zero:
            continue
        g = model_dot(X, j, center_work[k], s, s_sum) * inv_n
        current = w_new[k]
        model_norm = max(model_norm, violation(current, g, l1, l2))
        new = soft_threshold_shrink(hj * current - g, l1, hj, l2)
        if new != current:
            weighted_column_axpy(X, j, new - current, center_work[k], h, s)
            w_new[k] = new
    return model_norm


@kernel
def model_dot(X, j, center, s, s_sum):
    """X_j^T s as the model's gradients take it, (X_j - center)^T s + center s_sum, with s_sum
    the sum(s) that the implicit centering keeps: s collects rounding of the size of r at every
    update, which X_j^T s would multiply by the column's mean (a column at 1e8 left cd stalled
    just above its tolerance)."""
    return centered_column_dot(X, j, center, s) + center * s_sum


@kernel
def model_pair_dots(X, s, h, p, p_change, p_center, q, q_change, q_center, j, k, j_center, k_center):
    """s += h (p_change (X_p - p_center) + q_change (X_q - q_center)), then, with the columns
    centered as in :func:`model_epoch`, ((X_j - j_center)^T s, (X_k - k_center)^T s,
    sum_i h_i (X_ij - j_center) (X_ik - k_center)), in one pass over the samples."""
    zero = X.dtype.type(0.0)
    dot_j = zero
    dot_k = zero
    cross = zero
    for i in range(X.shape[0]):
        hi = h[i]
        si = s[i] + hi * (p_change * (X[i, p] - p_center) + q_change * (X[i, q] - q_center))
        s[i] = si
        xj = X[i, j] - j_center
        xk = X[i, k] - k_center
        dot_j += xj * si
        dot_k += xk * si
        cross += hi * xj * xk
    return dot_j, dot_k, cross


@kernel
def next_position(values, count, k):
    """The first position at or after k in values[:count] that holds a non-zero value."""
    while k < count and values[k] == 0:
        k += 1
    return k


@kernel
def model_coordinate_step(w_new, k, g, l1, l2, hess_work):
    """The exact step of coordinate position k on the model given its gradient g; returns
    (the change, the coordinate's optimality violation before it)."""
    current = w_new[k]
    w_new[k] = soft_threshold_shrink(hess_work[k] * current - g, l1, hess_work[k], l2)
    return w_new[k] - current, violation(current, g, l1, l2)


@kernel
def paired_model_epoch(X, s, s_sum, h, ws, count, l1, l2, hess_work, center_work, w_new):
    """:func:`model_epoch` two coordinates per pass, as :func:`paired_epoch` for the squared loss.

    The pass that applies the last pair's changes to s gives the model gradients of the next
    two positions (features j, k) and sum_i h_i (X_ij - center_j) (X_ik - center_k); after
    j's step, k's gradient moves by delta_j times that sum / N. The pending changes are kept
    by position in ws, where center_work is indexed. On 100000 x 1000, 200000 x 100 and
    50000 x 2000 an epoch took 1.63x to 1.73x of a read of X, against 1.98x to 2.20x one
    coordinate per pass.
    """
    zero = X.dtype.type(0.0)
    inv_n = X.dtype.type(1.0) / X.dtype.type(X.shape[0])
    model_norm = zero
    first = next_position(hess_work, count, 0)
    if first == count:
        return model_norm
    p = first
    q = first
    p_change = zero
    q_change = zero
    while first < count:
        second = next_position(hess_work, count, first + 1)
        partner = second if second < count else first
        dot_j, dot_k, cross = model_pair_dots(X, s, h, ws[p], p_change, center_work[p], ws[q], q_change,
                                              center_work[q], ws[first], ws[partner], center_work[first],
                                              center_work[partner])
        dot_j += center_work[first] * s_sum
        dot_k += center_work[partner] * s_sum
        p_change, norm = model_coordinate_step(w_new, first, dot_j * inv_n, l1, l2, hess_work)
        model_norm = max(model_norm, norm)
        q_change = zero
        if second < count:
            q_change, norm = model_coordinate_step(w_new, second, (dot_k + p_change * cross) * inv_n, l1, l2,
                                                   hess_work)
            model_norm = max(model_norm, norm)
            next_first = next_position(hess_work, count, second + 1)
        else:
            next_first = count
        p, p_change, q, q_change = pending_pair(first, p_change, partner, q_change)
        first = next_first
    if p_change != zero:
        weighted_column_axpy(X, ws[p], p_change, center_work[p], h, s)
    if q_change != zero:
        weighted_column_axpy(X, ws[q], q_change, center_work[q], h, s)
    return model_norm


@kernel
def try_model_move(X, s, h, ws, count, l1, l2, center_work, w_new, trial_w, move):
    """Move w_new[:count] to trial_w if that lowers the quadratic model of :func:`model_epoch`,
    moving s = r + h dz with it; move (N,) is work space. Returns (whether it moved, the
    intercept's change of the move).

    The model's change for a move m of dz is mean_i m_i (s_i + h_i m_i / 2) + the penalty's
    change, summed term by term so that rounding does not hide it.
    """
    zero = X.dtype.type(0.0)
    half = X.dtype.type(0.5)
    move[:] = zero
    intercept = columns_combination(X, ws, w_new[:count], trial_w[:count], center_work[:count], move)
    change = zero
    for i in range(s.shape[0]):
        change += move[i] * (s[i] + half * h[i] * move[i])
    change = change / X.dtype.type(s.shape[0]) + penalty_change(w_new[:count], trial_w[:count], l1, l2)
    if not change < zero:
        return False, zero
    fused.copy_vector(trial_w[:count], w_new)
    for i in range(s.shape[0]):
        s[i] += h[i] * move[i]
    return True, intercept


@kernel
def model_anderson_step(X, s, h, ws, count, l1, l2, center_work, w_new, iterates, trial_w, move):
    """Replace w_new by the Anderson extrapolation of the model's CD iterates if it lowers the
    quadratic model of :func:`model_epoch`, moving s with it; move (N,) is work space."""
    if anderson_mix(iterates, trial_w):
        try_model_move(X, s, h, ws, count, l1, l2, center_work, w_new, trial_w, move)


@kernel
def keep_signs(values, signs):
    """Whether signs (M,) holds the signs of values (M,); updated to them where not."""
    kept = True
    for k in range(values.shape[0]):
        sign = np.sign(values[k])
        if sign != signs[k]:
            kept = False
            signs[k] = sign
    return kept


@kernel
def face_fits(m, n, spent):
    """Whether a face of m features over n samples gets face steps after CD has spent
    ``spent`` epochs on its working set (see FACE_MIN_SHARE and CRAWL_EPOCHS)."""
    return 0 < m <= n and (FACE_MIN_SHARE * n <= m or spent >= CRAWL_EPOCHS)


@kernel
def model_face_step(X, s, s_sum, h, ws, count, l1, l2, center_work, w_new, needed, spent, trial_w, move):
    """Move w_new toward the quadratic model's minimizer on the face of its sign pattern, by
    an active-set method, if that lowers the model of :func:`model_epoch` (s = r + h dz moves
    with it, s_sum as there; move (N,) is work space); returns (the intercept's change of the
    move, outcome).

    On the face F = {k : w_new[k] != 0} with signs sigma the model is a smooth quadratic, and
    one Newton step from w_new reaches its minimizer:
    (Q_FF + l2 I) e = -(g_F + l1 sigma + l2 w_new_F),
    Q the model's Hessian mean_i h_i (x_i - center)(x_i - center)^T over F's columns and g
    the model's gradient at w_new. Where a coefficient would cross 0 the step stops there,
    sets it to 0 and leaves it out of the face (the model falls all along the segment: it is
    convex and equals its smooth part on the face), and the next step solves on the smaller
    face, from Q_FF and the gradient moved by Q_FF's columns without reading X again (the
    active-set method for this quadratic program; stopping at the first crossing, once, left
    CD crawling on arcene: 207 of 209 steps stopped there). Only for faces that
    :func:`face_fits`: |F| <= N (Q_FF can be positive definite only then), and FACE_MIN_SHARE
    N <= |F| unless CD has crawled (``spent`` >= CRAWL_EPOCHS epochs); the first step only if
    it costs at most ``needed`` / FACE_MARGIN CD epochs over the working set (see FACE_COLUMN_READS),
    the later ones while the total stays below ``needed`` epochs. The outcome is FACE_NONE,
    FACE_CLIPPED, FACE_REACHED or FACE_OVER_BUDGET.
    """
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    one = X.dtype.type(1.0)
    inv_n = one / X.dtype.type(n)
    face = np.empty(count, dtype=np.int64)
    m = nonzero_features(w_new[:count], face)
    face = face[:m]
    if not face_fits(m, n, spent):
        return zero, FACE_NONE
    cost = m * (FACE_COLUMN_READS * n + m * (n + m) / FACE_COST_DIVISOR) + FACE_SAMPLE_PASSES * n
    if cost > needed / FACE_MARGIN * count * n:
        return zero, FACE_OVER_BUDGET
    root_h = np.sqrt(h)
    # gradient[a]: the model's smooth gradient (l2 included) at the face's point x.
    gradient = np.empty(m, dtype=X.dtype)
    x = np.empty(m, dtype=X.dtype)
    for a in range(m):
        k = face[a]
        x[a] = w_new[k]
        gradient[a] = model_dot(X, ws[k], center_work[k], s, s_sum) * inv_n + l2 * w_new[k]
    hessian = weighted_gram(X, ws[face], center_work[face], root_h, False, inv_n)
    for a in range(m):
        hessian[a, a] += l2
    inside = np.ones(m, dtype=np.bool_)
    members = np.empty(m, dtype=np.int64)
    limit = needed * count * n
    reached = False
    while True:
        size = nonzero_features(inside, members)
        if size == 0:
            break
        system = np.empty((size, size), dtype=X.dtype)
        rhs = np.empty(size, dtype=X.dtype)
        for a in range(size):
            rhs[a] = -(gradient[members[a]] + l1 * np.sign(x[members[a]]))
            for c in range(size):
                system[a, c] = hessian[members[a], members[c]]
        step = solve_positive_definite(system, rhs)
        if step.shape[0] == 0:
            break
        t = one
        crossing = -1
        for a in range(size):
            current = x[members[a]]
            if (current + step[a] > zero) != (current > zero) and step[a] != zero:
                reach = -current / step[a]
                if reach < t:
                    t = reach
                    crossing = a
        for a in range(size):
            delta = -x[members[a]] if a == crossing else t * step[a]
            x[members[a]] += delta
            # Row members[a] of the symmetric Hessian: its column, read contiguously.
            for c in range(m):
                gradient[c] += hessian[members[a], c] * delta
        if crossing < 0:
            reached = True
            break
        inside[members[crossing]] = False
        # The smaller system's copy and Cholesky factorization, and the gradient's update.
        cost += size * size * (size + 3 * m) / FACE_COST_DIVISOR
        if cost > limit:
            break
    fused.copy_vector(w_new[:count], trial_w)
    for a in range(m):
        trial_w[face[a]] = x[a]
    moved, intercept = try_model_move(X, s, h, ws, count, l1, l2, center_work, w_new, trial_w, move)
    if not moved:
        return zero, FACE_NONE
    return intercept, FACE_REACHED if reached else FACE_CLIPPED


@kernel
def logistic_subproblem(X, y, z, w, b, ws, count, l1, l2, fit_intercept, criterion, inner_tol,
                        max_epochs, r, h, dz, grad_work, hess_work, center_work, w_new):
    """Proximal Newton for the logistic loss on the features ws[:count]; z = X w + b kept current.

    Each Newton iteration: move b to its optimum, stop if the working set's certificate is
    <= inner_tol, else run CD epochs on the quadratic model until its optimality violation
    falls to NEWTON_FRACTION of the first epoch's, then backtrack on the true objective.
    With an intercept the model's columns are centered implicitly with the weights h: a
    change delta of w_j moves b by -delta mean_h(X_j), which keeps the model's intercept
    optimal. Returns (CD epochs run, b, the last certificate computed, inf if none).
    """
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    one = X.dtype.type(1.0)
    half = X.dtype.type(0.5)
    inv_n = one / X.dtype.type(n)
    iterates = np.empty((EPOCHS_PER_CHECK + 1, count), dtype=X.dtype)
    trial_w = np.empty(count, dtype=X.dtype)
    # s = r + h dz, kept by the epochs, and the move of dz that an Anderson or face step tries.
    s = np.empty(n, dtype=X.dtype)
    move = np.empty(n, dtype=X.dtype)
    signs = np.empty(count, dtype=X.dtype)
    # Per-sample losses at z, and the line search's losses and residuals at its last trial:
    # an accepted step's state then costs no exp or log again.
    losses = np.empty(n, dtype=X.dtype)
    trial_loss = np.empty(n, dtype=X.dtype)
    trial_r = np.empty(n, dtype=X.dtype)
    stepped = False
    epochs = 0
    stop = X.dtype.type(np.inf)
    while epochs < max_epochs:
        shift = zero
        if fit_intercept:
            shift = shift_to_optimal_intercept(fused.LOGISTIC, z, y)
            b += shift
        if stepped and shift == zero:
            loss_mean = adopt_trial_state(y, trial_loss, trial_r, losses, r, h)
        else:
            loss_mean = logistic_state(z, y, r, h, losses)
        h_sum = zero
        for i in range(n):
            h_sum += h[i]
        value = loss_mean + working_set_penalty(w, ws, count, l1, l2)
        norm = zero
        for k in range(count):
            j = ws[k]
            g = zero
            hx = zero
            hxx = zero
            # The weighted moments of X_j - shift, shift one of its values: a column far from
            # 0 against its spread would cancel to digits of noise in sum h x^2 - mean sum h x.
            shift = X[0, j] if fit_intercept else zero
            for i in range(n):
                x = X[i, j]
                g += x * r[i]
                x -= shift
                hx += h[i] * x
                hxx += h[i] * x * x
            mean = hx / h_sum if fit_intercept and h_sum > zero else zero
            grad_work[k] = g * inv_n
            center_work[k] = shift + mean
            hess_work[k] = max(hxx - mean * hx, zero) * inv_n
            norm = max(norm, violation(w[j], grad_work[k], l1, l2))
        if criterion == fused.DUALITY_GAP:
            stop = value - fused.dual_objective(fused.LOGISTIC, r, y, grad_work[:count], l1, l2)
        else:
            stop = norm
        if stop <= inner_tol:
            break

        fused.copy_vector(r, s)
        s_sum = np.sum(r)
        for k in range(count):
            w_new[k] = w[ws[k]]
            iterates[0, k] = w_new[k]
        first = zero
        previous = zero
        filled = 0
        face_solved = False
        keep_signs(w_new[:count], signs)
        for epoch in range(NEWTON_EPOCHS):
            model_norm = model_epoch(X, s, s_sum, h, ws, count, l1, l2, hess_work, center_work, w_new)
            epochs += 1
            filled += 1
            for k in range(count):
                iterates[filled, k] = w_new[k]
            if filled == EPOCHS_PER_CHECK:
                model_anderson_step(X, s, h, ws, count, l1, l2, center_work, w_new, iterates, trial_w, move)
                for k in range(count):
                    iterates[0, k] = w_new[k]
                filled = 0
            if epoch == 0:
                first = model_norm
            if epochs >= max_epochs or (epoch > 0 and model_norm <= NEWTON_FRACTION * first):
                break
            stable = keep_signs(w_new[:count], signs)
            # The epochs CD would still need at the rate of its last epoch.
            needed = X.dtype.type(np.inf)
            if model_norm < previous:
                needed = np.log(NEWTON_FRACTION * first / model_norm) / np.log(model_norm / previous)
            previous = model_norm
            if stable and not face_solved and epoch > 0:
                # The epoch kept the sign pattern: CD has likely found the face, and a few
                # linear solves do what CD's linear rate on correlated columns takes many
                # epochs to, where they cost well below those epochs.
                _intercept, outcome = model_face_step(X, s, s_sum, h, ws, count, l1, l2, center_work, w_new,
                                                      needed, epochs, trial_w, move)
                face_solved = outcome != FACE_OVER_BUDGET
                if outcome == FACE_CLIPPED or outcome == FACE_REACHED:
                    # The extrapolation starts afresh from the point the step reached.
                    keep_signs(w_new[:count], signs)
                    for k in range(count):
                        iterates[0, k] = w_new[k]
                    filled = 0

        # Tseng and Yun's decrease model: grad^T d + P(w + d) - P(w) < 0 for a descent step.
        # The penalty change is summed per coordinate: near the optimum it is far below the
        # rounding of the penalty itself.
        current = w[ws[:count]]
        # The step's dz, formed once from the coefficients' changes (one read of the columns
        # that moved), where keeping it current in the epochs would read it at every coordinate.
        dz[:] = zero
        db = columns_combination(X, ws, current, w_new[:count], center_work[:count], dz)
        decrease = inner_product(r, dz) * inv_n + penalty_change(current, w_new[:count], l1, l2)
        if not decrease < zero:
            break
        # Near the optimum the decrease falls below rounding even of the per-sample sums; a
        # change of F within rounding accepts the step, which the model says is a descent step.
        slack = X.dtype.type(16.0) * np.finfo(X.dtype).eps * abs(value)
        t = one
        accepted = False
        for _ in range(LINE_SEARCH_STEPS):
            for k in range(count):
                trial_w[k] = current[k] + t * (w_new[k] - current[k])
            change = (logistic_loss_change(z, dz, t, y, losses, trial_loss, trial_r)
                      + penalty_change(current, trial_w, l1, l2))
            if change <= ARMIJO * t * decrease + slack:
                accepted = True
                break
            t *= half
        if not accepted:
            break
        for k in range(count):
            w[ws[k]] = trial_w[k]
        for i in range(n):
            z[i] += t * dz[i]
        b += t * db
        stepped = True
    return epochs, b, stop


@kernel
def drop_flat_columns(X, w, b, fit_intercept):
    """Set w_j = 0 where column j is constant (with an intercept) or zero (without), moving
    X_j w_j into the intercept; returns b. X w + b does not change.

    Such a feature does not change the loss, so its optimal coefficient is 0; CD skips columns
    of zero curvature, and a warm start's non-zero value there would stay, leaving a gap that
    never closes. Only the columns with w_j != 0 are read.
    """
    zero = X.dtype.type(0.0)
    d = X.shape[1]
    for start in range(0, d, NONZERO_BLOCK):
        stop = min(start + NONZERO_BLOCK, d)
        if not block_has_nonzero(w, start, stop):
            continue
        for j in range(start, stop):
            if w[j] == zero:
                continue
            value = X[0, j]
            flat = fit_intercept or value == zero
            i = 1
            while flat and i < X.shape[0]:
                flat = X[i, j] == value
                i += 1
            if flat:
                b += value * w[j]
                w[j] = zero
    return b


@kernel
def cd_solve(loss, X, y, w, b, l1, l2, fit_intercept, max_epochs, tol, criterion, parallel, members,
             n_members, watch, z_ready, z, r, h, dz, grad, score_work, ws, decided, center, curvature, grad_work,
             hess_work, w_new, norms, ref_r, ref_grad, ceilings, history_out):
    """Working-set coordinate descent inside Numba; w (D,) updated in place, X (N, D) Fortran.

    Stops once the certificate chosen by criterion (duality gap or gradient norm, at the
    optimal intercept) is <= tol > 0, or when max_epochs epochs over working sets have run.
    Only the features members[:n_members] (D,) int64, in increasing order, take part at first
    (the others must have w_j = 0; n_members = D: all of them, and members is not read): once
    the restricted problem is solved to tol, or a working set of it is, the solve goes on to
    the certificate of the full problem, which re-admits any feature whose optimality
    condition fails (a screening rule with its check); watch is passed on to
    :func:`bounded_gradient` for its ceilings. z_ready says that z (N,) holds X w + b already
    (a path's step computed it); else it is computed here. A feature whose column is flat
    (:func:`drop_flat_columns`) must have w_j = 0: CD never moves it, so a warm start that has
    passed through drop_flat_columns, or a path started at w = 0, keeps it there.
    r, h, dz (N,) and score_work, grad_work, hess_work, w_new (D,), ws, decided (D,) int64
    are work arrays. center and curvature (D,) cache the squared loss's column moments
    (curvature < 0: not computed yet), which depend only on X and fit_intercept: a path keeps
    them from one lambda to the next. norms (D,), ref_r (2, N), ref_grad (2, D) and ceilings
    are the state of :func:`bounded_gradient`, which a path carries too (a fresh state:
    norms[0] = -1 and ceilings[0] = -1; the rest is then written before it is read).
    history_out (max_epochs + 1,) or (0,) receives the objective at each certificate. grad
    holds the loss gradient at the returned point, or for the features whose bound settled
    them an upper bound of its size below l1 (0 for the screened-out ones if it stops before
    the full certificate). Returns (epochs, outer iterations, b, status, objective, gap,
    gradient norm, penalty, number of non-zeros, listed), the objective to the non-zeros at
    the returned (w, b), from its last certificate, whose list of features decided[:listed]
    holds every non-zero one.
    """
    n, d = X.shape
    zero = X.dtype.type(0.0)
    inv_n = X.dtype.type(1.0) / X.dtype.type(n)
    if not z_ready:
        if n_members < d:
            support_predictor(X, w, b, members, n_members, z)
        else:
            predictor(X, w, b, z)
    if loss == fused.SQUARED:
        for i in range(n):
            r[i] = z[i] - y[i]
    size = max(WORKING_SET_START, d // WORKING_SET_START_SHARE)
    epochs = 0
    outer = 0
    status = fused.MAX_ITER
    screened = n_members < d
    set_stop = X.dtype.type(np.inf)
    moved = True
    loss_mean = zero
    # The conjugate part of the last certificate's dual objective, and its dual point's scale.
    conjugate_value = zero
    conjugate_scale = zero
    while True:
        same_point = not moved
        if same_point:
            # The full certificate right after the restricted one, at the same (w, b): its
            # intercept, residuals and loss stand.
            moved = True
        elif loss == fused.SQUARED:
            if fit_intercept:
                shift = -np.mean(r)
                for i in range(n):
                    r[i] += shift
                b += shift
            loss_mean = X.dtype.type(0.5) * sum_of_squares(r) * inv_n
        else:
            if fit_intercept:
                b += shift_to_optimal_intercept(loss, z, y)
            loss_mean = logistic_state(z, y, r, h, np.empty(0, dtype=X.dtype))
        n_decided = bounded_gradient(X, r, w, members, n_members, parallel, l1, watch, norms, ref_r, ref_grad,
                                     ceilings, grad, decided)
        penalty_value, grad_norm, grad_max, excess_sum, nnz = certificate_terms(w, grad, decided, n_decided, l1, l2)
        value = loss_mean + penalty_value
        if fit_intercept:
            grad_norm = max(grad_norm, abs(np.mean(r)))
        gap = X.dtype.type(np.inf)
        if l1 > zero or l2 > zero:
            scale = fused.dual_scale(r, grad_max, l1, l2)
            # The full certificate right after the restricted one shares its residuals, and
            # mostly its scale (the largest gradient is a non-zero feature's): one pass over
            # the samples' exp and log for both.
            if not same_point or scale != conjugate_scale:
                conjugate_value = fused.conjugate_mean(loss, r, y, scale)
                conjugate_scale = scale
            gap = max(value - fused.dual_from_conjugate(conjugate_value, excess_sum, l2), zero)
        stop = gap if criterion == fused.DUALITY_GAP else grad_norm
        if history_out.shape[0] > 0:
            history_out[outer] = value
        if tol > zero and stop <= tol:
            if screened:
                # The strong rule's check: the restricted problem is solved; the next
                # certificate covers every feature, and any wrongly screened one joins the
                # working sets from there.
                screened = False
                n_members = d
                moved = False
                continue
            status = fused.CONVERGED
            break
        if epochs >= max_epochs:
            break

        size = min(d, max(size, 2 * nnz))
        count = select_working_set(w, grad, l1, l2, size, decided, n_decided, score_work, ws)
        if count == 0:
            # Nothing violates the optimality conditions: only rounding separates the
            # certificate from 0, and no coordinate step can reduce it.
            break
        complete = loss == fused.LOGISTIC and set_stop < np.inf and stop <= COMPLETE_SET_RATIO * set_stop
        inner_tol = INNER_FRACTION * max(stop * (COMPLETE_SET_FACTOR if complete else 1.0), tol)
        if inner_tol <= zero:
            # tol = 0 at a certificate of exactly 0: the epochs still run (tol = 0 means
            # max_iter epochs), where an inner tolerance of 0 would return at once, forever.
            inner_tol = -X.dtype.type(1.0)
        certified_b = b
        if loss == fused.SQUARED:
            ran, b, set_stop = squared_subproblem(X, y, r, w, b, ws, count, l1, l2, fit_intercept, criterion,
                                        inner_tol, max_epochs - epochs, center, curvature, grad_work)
        else:
            ran, b, set_stop = logistic_subproblem(X, y, z, w, b, ws, count, l1, l2, fit_intercept, criterion,
                                         inner_tol, max_epochs - epochs, r, h, dz, grad_work,
                                         hess_work, center, w_new)
        epochs += ran
        if screened and set_stop <= tol:
            # The working set is solved to tol, and with it most likely the restricted
            # problem: the next certificate covers every feature at once, where one of the
            # restricted problem would come first (on the logistic paths of leukemia and
            # 200 x 20000, 82 and 92 of their 212 and 270 restricted certificates).
            screened = False
            n_members = d
        if ran == 0:
            # The working set was already solved to inner_tol: the violation is outside it.
            # No step was taken, so this is not an outer iteration (nor a history entry).
            if count == d or size == d:
                # The subproblem may still have moved the intercept (on separable data its
                # optimum runs off): return the point that the certificate describes.
                b = certified_b
                break
            size = min(d, 2 * size)
        else:
            outer += 1
    if screened:
        # Stopped before the full certificate: the screened-out features' entries are stale.
        kept = grad[members[:n_members]]
        grad[:] = zero
        grad[members[:n_members]] = kept
    return epochs, outer, b, status, value, gap, grad_norm, penalty_value, nnz, n_decided


