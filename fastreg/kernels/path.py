"""The regularization path's kernels: the steps between lambdas around ``coordinate.cd_solve``.

A path runs as few kernel calls as it can (``path_run``): at each lambda ``path_step`` moves
the previous solution along the path (``tangent_step``, its Hessian carried along a lasso path
by ``carried_gram``; ``secant_step`` where a logistic support is too large for the Hessian to
pay), keeps the sequential strong rule's features
(``strong_rule_members``), and solves with ``coordinate.cd_solve``, whose certificates mark
where the next lambda's strong rule must look. The arrays that carry from one lambda to the
next are made once per path by ``fastreg.solvers.PathSolver``.
"""

import numpy as np

from .._jit import kernel
from . import clock, fused
from .columns import column_dot, listed_nonzero, support_predictor
from .coordinate import (SCAN_BLOCK, cd_solve, cholesky_factor, cholesky_solve, column_axpy, logistic_state,
                         penalty_change, weighted_gram)

# The columns of path_run's stats_out, one row per lambda.
N_STATS = 7
STAT_INTERCEPT, STAT_OBJECTIVE, STAT_GAP, STAT_PENALTY, STAT_EPOCHS, STAT_NNZ, STAT_SECONDS = range(N_STATS)

# Along a logistic path the tangent step builds the support's Hessian afresh at each lambda and
# factors it: N M^2 / 2 + M^3 / 6 multiply-adds for M features, the work of M / 2 + M^2 / (6 N)
# passes over their columns. Past this many passes the epochs that its prediction saves cost
# less than it does, and path_step takes the secant step instead. On 200 x 20000, whose
# support passes 100 features halfway down the path (the step took 165 us of a lambda's 380),
# the path took 0.75x the time at tol 1e-4 and 1.00x at 1e-6 (bench/ab.py a775a2a); with 16
# and 32 instead of 64, arcene's paths, whose supports stay under 60 features, took up to 1.3x
# the time (a /tmp script, medians of 8).
TAYLOR_MAX_PASSES = 64.0


@kernel
def carried_gram(X, support, h, fit_intercept, scale, gram, carried_support, h_ref, carry):
    """The lower triangle of :func:`weighted_gram`'s scale * W^T W over the columns support
    (M,), increasing, with the intercept's last when fit_intercept, and sqrt(h) as root_h:
    the Hessian of the loss at curvatures h, built from the one of an earlier call.

    The state gram (C, C), carried_support (C,), h_ref (N,) and carry (1,) int64 (the size of
    the carried support, -1 for none) holds the previous call's matrix, at curvatures h_ref.
    When h equals h_ref (the squared loss: h = 1), the entries of features in both supports
    are copied from it, and only a new feature's row is computed: O(N M) each, against
    O(N M^2) for the whole. Otherwise, or when the matrix does not fit the state (C = 0: never
    carried), it is built afresh. Along logistic paths, carrying it at the curvatures of an
    earlier lambda (rebuilt every 3 or every 10 lambdas) cost more epochs than it saved: arcene
    took 1.08x and 1.22x the time, 200 x 20000 0.99x and 1.11x (bench/ab.py). Returns a new
    (M', M') array, M' = M + 1 with an intercept.
    """
    n = X.shape[0]
    count = support.shape[0]
    m = count + 1 if fit_intercept else count
    zero = X.dtype.type(0.0)
    old = carry[0]
    if m > gram.shape[0] or old < 0 or not np.array_equal(h, h_ref):
        out = weighted_gram(X, support, np.zeros(count, dtype=X.dtype), np.sqrt(h), fit_intercept, scale)
        if m > gram.shape[0]:
            carry[0] = -1
            return out
        fused.copy_vector(h, h_ref)
    else:
        out = np.empty((m, m), dtype=X.dtype)
        # Where each feature sat in the carried support (-1: new); both lists increase, so a
        # kept pair's order, and with it the carried lower triangle, is preserved.
        position = np.full(count, -1, dtype=np.int64)
        k = 0
        for a in range(count):
            while k < old and carried_support[k] < support[a]:
                k += 1
            if k < old and carried_support[k] == support[a]:
                position[a] = k
        weighted = np.empty(n, dtype=X.dtype)
        for a in range(count):
            pa = position[a]
            if pa >= 0:
                for c in range(a + 1):
                    if position[c] >= 0:
                        out[a, c] = gram[pa, position[c]]
                if fit_intercept:
                    out[count, a] = gram[old, pa]
                continue
            j = support[a]
            total = zero
            for i in range(n):
                weighted[i] = h[i] * X[i, j]
                total += weighted[i]
            for c in range(count):
                value = column_dot(X, support[c], weighted) * scale
                if c <= a:
                    out[a, c] = value
                else:
                    out[c, a] = value
            if fit_intercept:
                out[count, a] = total * scale
        if fit_intercept:
            out[count, count] = gram[old, old]
    for a in range(m):
        for c in range(a + 1):
            gram[a, c] = out[a, c]
    for a in range(count):
        carried_support[a] = support[a]
    carry[0] = count
    return out


@kernel
def support_product(X, support, v, fit_intercept, out):
    """out = A v (N,) for A = X[:, support] followed by a column of ones when fit_intercept
    (v's last entry)."""
    zero = X.dtype.type(0.0)
    count = support.shape[0]
    offset = v[count] if fit_intercept else zero
    for i in range(X.shape[0]):
        out[i] = offset
    for a in range(count):
        column_axpy(X, support[a], v[a], zero, out)


@kernel
def support_transpose_product(X, support, u, fit_intercept, scale, out):
    """out = scale A^T u for :func:`support_product`'s A; u (N,)."""
    count = support.shape[0]
    for a in range(count):
        out[a] = column_dot(X, support[a], u) * scale
    if fit_intercept:
        out[count] = np.sum(u) * scale


# The rows of tangent_step's sample_work (N,) and feature_work (M,) vectors.
TANGENT_SAMPLE_ROWS = 10
TANGENT_FEATURE_ROWS = 6


@kernel
def tangent_step(loss, X, y, w, b, lam, lam_new, l1_ratio, fit_intercept, listed, n_listed, gram, carried_support,
                 h_ref, carry, sample_work, feature_work, support_work):
    """Move the solution (w, b) at lam along the path to lam_new, by its Taylor polynomial of
    third order, if that lowers the objective at lam_new; w (D,) is updated in place. Returns
    (the intercept, whether sample_work[0] holds X w + b at the returned point).

    On the support S with signs s the optimality conditions grad_S L + l1 s + l2 w_S = 0 and
    dL/db = 0 hold between kinks of the path; differentiating them in lam gives
    (H + lam (1 - l1_ratio) I) dw/dlam = -(l1_ratio s + (1 - l1_ratio) w_S), with the intercept's
    row and column in H, the loss Hessian mean_i h_i a_i a_i^T over a_i = (X[i, S], 1), and
    differentiating twice more the second and third derivatives, with the same matrix. The
    step leaves an error of order (lam_new - lam)^4 instead of (lam_new - lam) (lasso paths
    are linear between kinks: their higher derivatives are 0). A coefficient whose sign would
    flip is set to 0. Only when |S| <= N (a unique solution). listed[:n_listed] (increasing)
    holds every j with w_j != 0, as the last certificate's list of a path does (n_listed = D:
    all features; listed is not read), so that S costs O(n_listed), not O(D). H comes from
    :func:`carried_gram`, whose state (gram, carried_support, h_ref, carry) a path carries
    from one lambda to the next. sample_work (TANGENT_SAMPLE_ROWS, N), feature_work
    (TANGENT_FEATURE_ROWS, min(N, D) + 1) and support_work (D,) int64 are work arrays: a
    lambda's step took 9 us on colon-cancer, 2 of them in allocations.
    """
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    one = X.dtype.type(1.0)
    inv_n = one / X.dtype.type(n)
    count = listed_nonzero(w, listed, n_listed, support_work)
    support = support_work[:count]
    if count == 0 or count > n:
        carry[0] = -1
        return b, False
    m = count + 1 if fit_intercept else count
    z = sample_work[0]
    h = sample_work[1]
    dh = sample_work[2]
    ddh = sample_work[3]
    residual = sample_work[4]
    losses = sample_work[5]
    z1 = sample_work[6]
    weights = sample_work[7]
    z2 = sample_work[8]
    z_new = sample_work[9]
    rhs = feature_work[0, :m]
    first = feature_work[1, :m]
    second = feature_work[2, :m]
    third = feature_work[3, :m]
    w_new = feature_work[4, :m]
    current = feature_work[5, :m]
    support_predictor(X, w, b, support, count, z)
    # The curvature's first and second derivatives in z: for the logistic loss, with
    # p = sigmoid(z), h = p (1 - p), h' = h (1 - 2 p) and h'' = h (1 - 2 p)^2 - 2 h^2; for the
    # squared loss h = 1 and both are 0.
    if loss == fused.LOGISTIC:
        logistic_state(z, y, residual, h, losses)
        for i in range(n):
            tilt = one - (residual[i] + y[i]) - (residual[i] + y[i])
            dh[i] = h[i] * tilt
            ddh[i] = h[i] * (tilt * tilt - h[i] - h[i])
    else:
        for i in range(n):
            losses[i], _r = fused.loss_residual(loss, z[i], y[i])
            h[i] = one
            dh[i] = zero
            ddh[i] = zero
    # The Hessian's columns: the support's, and the intercept's.
    hessian = carried_gram(X, support, h, fit_intercept, inv_n, gram, carried_support, h_ref, carry)
    ridge = lam * (one - l1_ratio)
    for a in range(count):
        hessian[a, a] += ridge
    lower = cholesky_factor(hessian)
    if lower.shape[0] != m:
        return b, True
    # The derivatives in lam of the conditions, once, twice and three times, with
    # K = H + ridge I_S, H' v = mean_i h'_i z1_i a_i^T v a_i and z_k = A w_k:
    #   K w1 = -(l1_ratio s + (1 - l1_ratio) w_S)
    #   K w2 = -(mean_i h'_i z1_i^2 a_i + 2 (1 - l1_ratio) w1)
    #   K w3 = -(mean_i (h''_i z1_i^3 + 3 h'_i z1_i z2_i) a_i + 3 (1 - l1_ratio) w2)
    # One factor serves the three; the step's error is fourth order in the lambda step. On
    # leukemia's logistic path the step left 0, 42 and 71 (every lambda without a kink) of
    # 100 lambdas within a gap of 1e-7 F(0) at first, second and third order.
    rhs[:] = zero
    for a in range(count):
        wj = w[support[a]]
        rhs[a] = -(l1_ratio * np.sign(wj) + (one - l1_ratio) * wj)
    if not cholesky_solve(lower, rhs, first):
        return b, True
    if loss == fused.SQUARED and l1_ratio == one:
        # A lasso path is linear between kinks: w2 = w3 = 0, and their passes are skipped.
        second[:] = zero
        third[:] = zero
    else:
        support_product(X, support, first, fit_intercept, z1)
        for i in range(n):
            weights[i] = dh[i] * z1[i] * z1[i]
        support_transpose_product(X, support, weights, fit_intercept, -inv_n, rhs)
        for a in range(count):
            rhs[a] -= X.dtype.type(2.0) * (one - l1_ratio) * first[a]
        if not cholesky_solve(lower, rhs, second):
            return b, True
        support_product(X, support, second, fit_intercept, z2)
        for i in range(n):
            weights[i] = z1[i] * (ddh[i] * z1[i] * z1[i] + X.dtype.type(3.0) * dh[i] * z2[i])
        support_transpose_product(X, support, weights, fit_intercept, -inv_n, rhs)
        for a in range(count):
            rhs[a] -= X.dtype.type(3.0) * (one - l1_ratio) * second[a]
        if not cholesky_solve(lower, rhs, third):
            return b, True
    step = lam_new - lam
    # The Taylor polynomial's coefficients of w1, w2 and w3.
    c2 = step * step / X.dtype.type(2.0)
    c3 = c2 * step / X.dtype.type(3.0)
    b_new = b + step * first[count] + c2 * second[count] + c3 * third[count] if fit_intercept else b
    for a in range(count):
        w_new[a] = w[support[a]] + step * first[a] + c2 * second[a] + c3 * third[a]
    return _move_if_lower(loss, X, y, w, b, b_new, support, w_new, current, z, z_new, losses, lam_new * l1_ratio,
                          lam_new * (one - l1_ratio)), True


@kernel
def _move_if_lower(loss, X, y, w, b, b_new, support, w_new, current, z, z_new, losses, l1, l2):
    """Move (w, b) to the proposal (w_new[:M] on the features support (M,), b_new) if that
    lowers the objective at (l1, l2), a coefficient whose sign would flip set to 0; returns
    the intercept. z (N,) holds X w + b and losses (N,) the samples' losses there, and z
    holds X w + b of the returned point on return; current (M,) and z_new (N,) are work
    arrays."""
    n = X.shape[0]
    zero = X.dtype.type(0.0)
    count = support.shape[0]
    for i in range(n):
        z_new[i] = z[i] + (b_new - b)
    for a in range(count):
        current[a] = w[support[a]]
        if np.sign(w_new[a]) != np.sign(current[a]):
            w_new[a] = zero
        column_axpy(X, support[a], w_new[a] - current[a], zero, z_new)
    # F(new) - F(old), term by term: the change is far below the rounding of F itself.
    change = penalty_change(current[:count], w_new[:count], l1, l2)
    loss_change = zero
    for i in range(n):
        new_loss, _r = fused.loss_residual(loss, z_new[i], y[i])
        loss_change += new_loss - losses[i]
    change += loss_change * (X.dtype.type(1.0) / X.dtype.type(n))
    if not change < zero:
        return b
    for a in range(count):
        w[support[a]] = w_new[a]
    fused.copy_vector(z_new, z)
    return b_new


@kernel
def secant_step(loss, X, y, w, b, before, b_before, lam_before, lam, lam_new, l1_ratio, fit_intercept, listed,
                n_listed, sample_work, feature_work, support_work):
    """Move the solution (w, b) at lam along the secant from the solution (before, b_before)
    at lam_before > lam, to lam_new, if that lowers the objective at lam_new; w (D,) is
    updated in place. Returns (the intercept, whether sample_work[0] holds X w + b at the
    returned point).

    w_j += (lam_new - lam) / (lam - lam_before) (w_j - before_j) for each j with w_j != 0 and
    before_j of the same sign (the others stay: they crossed a kink between the two, where
    the path's slope changed), b likewise. A first-order step, from two solutions rather than
    the Hessian: O(N M) for a support of M features, where :func:`tangent_step` takes
    O(N M^2 + M^3) (see TAYLOR_MAX_PASSES). listed[:n_listed], sample_work, feature_work and
    support_work are as in tangent_step.
    """
    n = X.shape[0]
    count = listed_nonzero(w, listed, n_listed, support_work)
    support = support_work[:count]
    if count == 0:
        return b, False
    if count > feature_work.shape[1]:
        # More non-zeros than the work rows hold (min(N, D) + 1): no step.
        return b, False
    z = sample_work[0]
    losses = sample_work[5]
    z_new = sample_work[9]
    w_new = feature_work[4, :count]
    current = feature_work[5, :count]
    support_predictor(X, w, b, support, count, z)
    for i in range(n):
        losses[i], _r = fused.loss_residual(loss, z[i], y[i])
    ratio = (lam_new - lam) / (lam - lam_before)
    for a in range(count):
        j = support[a]
        slope = w[j] - before[j] if np.sign(before[j]) == np.sign(w[j]) else X.dtype.type(0.0)
        w_new[a] = w[j] + ratio * slope
    b_new = b + ratio * (b - b_before) if fit_intercept else b
    return _move_if_lower(loss, X, y, w, b, b_new, support, w_new, current, z, z_new, losses, lam_new * l1_ratio,
                          lam_new * (X.dtype.type(1.0) - l1_ratio)), True


@kernel
def strong_rule_members(w, grad, threshold, ceilings, members_out):
    """The sequential strong rule's features: members_out[:count] = the j with w_j != 0 or
    |grad_j| >= threshold, increasing; returns count.

    Unless ceilings[0] < 0 (every block is then looked at), ceilings (ceil(D / SCAN_BLOCK),)
    are :func:`coordinate.bounded_gradient`'s for grad and for a w whose non-zeros include the
    current ones: a block whose ceiling is at or below threshold holds no member, and only the
    others are looked at (members are 2 % to 3 % of leukemia's features along its path).
    """
    d = w.shape[0]
    zero = w.dtype.type(0.0)
    known = ceilings[0] >= zero
    count = 0
    for block in range(ceilings.shape[0]):
        if not known or ceilings[block] > threshold:
            # Every index is written and the count moves only past a member: no branch per
            # feature to mispredict (200 x 20000: 46 kcycles per lambda, where a mask and its
            # compaction took 69).
            for j in range(np.uint64(block * SCAN_BLOCK), np.uint64(min((block + 1) * SCAN_BLOCK, d))):
                members_out[count] = j
                count += (w[j] != zero) | (abs(grad[j]) >= threshold)
    return count


@kernel
def store_row(w, listed, count, row_out):
    """row_out = w, where listed[:count] holds every j with w_j != 0 (count = D: all of them).

    A path's rows are fresh memory, which a copy reads in before writing it; zeroing the row
    and writing only the listed features wrote leukemia's and 200 x 20000's rows in 2.2 and
    6.4 us instead of 3.4 and 10.4 (a /tmp script, rows evicted from the caches). Past a
    tenth of D listed, the scattered writes would cost more than the copy."""
    d = w.shape[0]
    if count * 10 >= d:
        fused.copy_vector(w, row_out)
        return
    for j in range(d):
        row_out[j] = w.dtype.type(0.0)
    for k in range(count):
        j = listed[k]
        row_out[j] = w[j]


@kernel
def path_step(loss, X, y, w, b, lam, previous_lam, next_lam, before, b_before, before_lam, l1_ratio, fit_intercept,
              screening, max_epochs, tol, parallel, listed, gram, carried_support, h_ref, carry, sample_work,
              feature_work, support_work, members, z, r, h, dz, grad, score_work, ws, decided, center, curvature,
              grad_work, hess_work, w_new, norms, ref_r, ref_grad, ceilings, history_out):
    """One lambda of a regularization path: l1 = lam l1_ratio and l2 = lam (1 - l1_ratio).

    (w, b) is the solution at previous_lam, or the start when previous_lam = 0 (the first
    lambda), and grad (D,) the gradient that the solve at previous_lam returned. The solution
    moves along the path: by :func:`tangent_step`, or for a logistic support of M features
    whose Hessian would take more than TAYLOR_MAX_PASSES passes over their columns (or M > N)
    by :func:`secant_step` from the solution (before, b_before) at before_lam (0: none, and
    the tangent step is taken); with screening, the sequential
    strong rule keeps the features with |grad_j| >= l1_ratio (2 lam - previous_lam) and the
    non-zero ones (Tibshirani et al., 2012), and :func:`coordinate.cd_solve` solves to tol on
    them first and then certifies the full problem. Its last certificate marks the blocks of
    features that the next lambda's strong rule must look at (next_lam: the next lambda, 0
    for none; :func:`coordinate.bounded_gradient`'s ceilings). gram, carried_support, h_ref
    and carry are the tangent step's state, carried from lambda to lambda, and sample_work,
    feature_work and support_work its work arrays; members (D,) int64
    receives the strong rule's features; the arguments from z on are
    :func:`coordinate.cd_solve`'s, and decided[:listed] the list of the previous solve's last
    certificate (listed = D before the first). Returns cd_solve's (epochs, outer iterations,
    b, status, objective, gap, gradient norm, penalty, number of non-zeros, listed).
    """
    zero = X.dtype.type(0.0)
    one = X.dtype.type(1.0)
    two = X.dtype.type(2.0)
    first = not previous_lam > zero
    ready = False
    if not first:
        size = X.dtype.type(listed_nonzero(w, decided, listed, support_work))
        n = X.dtype.type(X.shape[0])
        if loss == fused.LOGISTIC and before_lam > zero and (
                size > n or size / two + size * size / (X.dtype.type(6.0) * n) > TAYLOR_MAX_PASSES):
            b, ready = secant_step(loss, X, y, w, b, before, b_before, before_lam, previous_lam, lam, l1_ratio,
                                   fit_intercept, decided, listed, sample_work, feature_work, support_work)
        else:
            b, ready = tangent_step(loss, X, y, w, b, previous_lam, lam, l1_ratio, fit_intercept, decided, listed,
                                    gram, carried_support, h_ref, carry, sample_work, feature_work, support_work)
        if ready:
            # The step's X w + b: the solve need not compute it again (a pass over the whole
            # of w on leukemia, 1.7 us of the 18 that a lambda without an epoch takes).
            fused.copy_vector(sample_work[0], z)
    d = X.shape[1]
    n_members = d
    if screening and not first:
        n_members = strong_rule_members(w, grad, l1_ratio * (two * lam - previous_lam), ceilings, members)
    return cd_solve(loss, X, y, w, b, lam * l1_ratio, lam * (one - l1_ratio), fit_intercept, max_epochs, tol,
                    fused.DUALITY_GAP, parallel, members, n_members, l1_ratio * (two * next_lam - lam), ready, z, r, h,
                    dz, grad, score_work, ws, decided, center, curvature, grad_work, hess_work, w_new, norms, ref_r,
                    ref_grad, ceilings, history_out)


@kernel
def path_run(loss, X, y, w, b, grid, start, stop, budget, l1_ratio, fit_intercept, screening, max_epochs, tol,
             parallel, listed, gram, carried_support, h_ref, carry, sample_work, feature_work, support_work, members,
             z, r, h, dz, grad, score_work, ws, decided, center, curvature, grad_work, hess_work, w_new, norms, ref_r,
             ref_grad, ceilings, history_out, coefs_out, stats_out):
    """The lambdas grid[start:stop] of a regularization path (grid (K,) decreasing, of X's
    dtype), each a :func:`path_step` from the solution at the one before, in one kernel call
    (one call per lambda spent 16 us per lambda in Python on leukemia, a fifth of its path).

    (w, b) is the solution at grid[start - 1], or the start when start = 0; w (D,) is updated
    in place and listed is :func:`path_step`'s (D before the first lambda). Row k of
    coefs_out (K, D) receives w at grid[k], row k of stats_out (K, N_STATS) float64 its
    intercept, objective, duality gap, penalty, epochs, non-zeros and the seconds its step
    took (:mod:`clock`); their rows before start must hold the earlier lambdas' (the secant
    step reads the solution two lambdas back). The arguments from gram to history_out are
    path_step's. Returns (b, listed, done), done <= stop: the run returns early after the
    lambda that takes it past budget seconds (so that its caller can report progress and
    Python can act on Ctrl-C), and after a lambda whose objective is not finite.
    """
    zero = X.dtype.type(0.0)
    count = grid.shape[0]
    called = clock.seconds()
    for k in range(start, stop):
        began = clock.seconds()
        lam = grid[k]
        previous_lam = grid[k - 1] if k > 0 else zero
        next_lam = grid[k + 1] if k + 1 < count else zero
        # The solution two lambdas back, for the secant step.
        before = coefs_out[max(k - 2, 0)]
        b_before = X.dtype.type(stats_out[k - 2, STAT_INTERCEPT]) if k >= 2 else zero
        before_lam = grid[k - 2] if k >= 2 else zero
        # Where the last lambda was certified without an epoch, this one most likely is too:
        # the strong rule's list and the restricted certificate would only come before the
        # full one (on leukemia's logistic path, 77 such lambdas spent 5 us each on them).
        screen = screening and (k == 0 or stats_out[k - 1, STAT_EPOCHS] > 0)
        epochs, _outer, b_new, _status, value, gap, _grad_norm, penalty, nnz, listed = path_step(
            loss, X, y, w, b, lam, previous_lam, next_lam, before, b_before, before_lam, l1_ratio, fit_intercept,
            screen, max_epochs, tol, parallel, listed, gram, carried_support, h_ref, carry, sample_work,
            feature_work, support_work, members, z, r, h, dz, grad, score_work, ws, decided, center, curvature,
            grad_work, hess_work, w_new, norms, ref_r, ref_grad, ceilings, history_out)
        # In X's dtype: cd_solve's intercept comes out as float64 for float32 data, and a
        # float64 b would have the next lambda run a float64-intercept build of path_step.
        b = X.dtype.type(b_new)
        store_row(w, decided, listed, coefs_out[k])
        row = stats_out[k]
        row[STAT_INTERCEPT] = b
        row[STAT_OBJECTIVE] = value
        row[STAT_GAP] = gap
        row[STAT_PENALTY] = penalty
        row[STAT_EPOCHS] = epochs
        row[STAT_NNZ] = nnz
        ended = clock.seconds()
        row[STAT_SECONDS] = ended - began
        if not np.isfinite(value) or ended - called > budget:
            return b, listed, k + 1
    return b, listed, stop
