"""Numba kernels: plain functions over arrays and scalars, compiled with ``fastreg._jit.kernel``.

- ``logistic`` and ``squared`` hold the per-sample math of each loss under the same names
  (``loss_residual``, ``conjugate``, ``optimal_intercept``).
- ``fused`` holds the passes over X, written once for both losses: they take an integer loss
  code (``fused.LOGISTIC`` or ``fused.SQUARED``) rather than a function, because Numba functions
  passed as arguments defeat ``cache=True``.
- ``coordinate`` holds the coordinate-descent solver; ``path`` the regularization path's
  steps around it (the tangent step, the strong rule, a run of lambdas in one call) and
  ``clock`` the monotonic clock it reads; ``columns`` the passes over a Fortran-ordered X's
  columns that cd shares with ``fused``; ``layout`` the copy of a C-ordered X into the
  Fortran order cd reads; ``vecmath`` the exp and log that the logistic loss's loops
  vectorize.

Kernels never raise or warn and never import anything of fastreg but other kernels and
``_jit``; they return numbers and status codes that ``fastreg.solvers`` interprets.
Labels are floats in {0, 1} of the same dtype as X.
"""
