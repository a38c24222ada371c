"""Copying X into the memory order a solver reads.

NumPy's C-to-Fortran copy walks the output column by column and reads X with a stride of a
whole row, so on a tall X every read touches a new cache line: 100000 x 200 float64 took
0.2 s to 0.5 s, more than a cd solve on it. Copying tiles keeps both the rows read and the
columns written in cache.
"""

from numba import prange

from .._jit import kernel

# A tile is TILE_ROWS rows of TILE_COLUMNS columns: each row's part is one 64-byte cache line
# of float64, and each column's part a 2 kB run of the output. Measured against 32 x 32,
# 64 x 16, 128 x 8 and 16 x 64 tiles on 100000 x 200, 10000 x 1000 and 200 x 20000: best or
# within 5 % of it on each.
TILE_ROWS = 256
TILE_COLUMNS = 8


@kernel(parallel=True)
def fortran_copy(X, out):
    """out[:] = X for X (N, D) C-ordered and out (N, D) Fortran-ordered, tile by tile; column
    tiles are shared among the threads (a copy: the result does not depend on them)."""
    n, d = X.shape
    for t in prange((d + TILE_COLUMNS - 1) // TILE_COLUMNS):
        j0 = t * TILE_COLUMNS
        j1 = min(j0 + TILE_COLUMNS, d)
        for i0 in range(0, n, TILE_ROWS):
            i1 = min(i0 + TILE_ROWS, n)
            for j in range(j0, j1):
                for i in range(i0, i1):
                    out[i, j] = X[i, j]
