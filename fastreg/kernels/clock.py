"""A monotonic clock that kernels read: the wall time of each lambda of a path that runs in
one kernel call.

Numba's nopython mode has no clock. The operating system's is declared here by name as an
external function (POSIX ``clock_gettime``, Windows ``QueryPerformanceCounter``), which LLVM
finds in the process when a kernel is loaded: the kernels that read it stay cacheable, where
a ctypes function pointer would be an address baked into the code, which Numba's cache
refuses. One reading costs about 25 ns on Linux (``clock_gettime`` runs in the vDSO). The
POSIX route is the one that CI runs; the Windows one is not exercised there.
"""

import sys

import numpy as np
from numba import types

from .._jit import kernel

if sys.platform == "win32":
    _query_counter = types.ExternalFunction("QueryPerformanceCounter", types.int32(types.voidptr))
    _query_frequency = types.ExternalFunction("QueryPerformanceFrequency", types.int32(types.voidptr))

    @kernel
    def seconds():
        """Seconds on a monotonic clock from an arbitrary origin (the differences are what
        count)."""
        counts = np.empty(2, dtype=np.int64)
        _query_counter(counts[0:].ctypes)
        _query_frequency(counts[1:].ctypes)
        return counts[0] / counts[1]

else:
    _clock_gettime = types.ExternalFunction("clock_gettime", types.int32(types.int32, types.voidptr))
    # CLOCK_MONOTONIC, the clock of Python's time.perf_counter and time.monotonic.
    _MONOTONIC = 6 if sys.platform == "darwin" else 1

    @kernel
    def seconds():
        """Seconds on a monotonic clock from an arbitrary origin (the differences are what
        count)."""
        # struct timespec: whole seconds and nanoseconds, two 64-bit integers on the 64-bit
        # platforms that Numba supports.
        spec = np.empty(2, dtype=np.int64)
        _clock_gettime(_MONOTONIC, spec.ctypes)
        return spec[0] + spec[1] * 1e-9
