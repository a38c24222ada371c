"""The one place where fastreg sets Numba's options.

Every kernel is compiled through :func:`kernel`. ``cache=True`` keeps compiled code on disk
between processes; ``nogil=True`` lets callers run kernels in threads; ``error_model="numpy"``
turns a division by zero into inf/nan (which the Python layer checks) instead of a Python
exception, which keeps the hot loops free of checks. The fastmath subset allows reassociation
and fused multiply-adds so that LLVM vectorizes dot products and reductions, but keeps IEEE
semantics for inf and nan, which the divergence checks rely on.
"""

from __future__ import annotations

import numba

_FASTMATH = frozenset({"reassoc", "contract", "nsz"})

# Start Numba's threading layer now (about 4 ms). A cached kernel whose parallel callee was
# itself loaded from the cache when the kernel was compiled (another process compiled that
# callee first) segfaults when it runs in a process whose threading layer has not started:
# loading it from the cache skips the parallel region's set-up (numba issue 8578).
numba.get_num_threads()


def kernel(function=None, *, parallel: bool = False, ordered: bool = False, inline: bool = False):
    """Compile ``function`` with fastreg's Numba options; ``parallel=True`` enables ``prange``.

    ``ordered=True`` drops reassociation: for code whose result depends on the order of its
    operations as written (the range reductions of ``kernels.vecmath``). ``inline=True`` has
    Numba inline the function into its callers before they are compiled (with the callers'
    options): LLVM then sees the per-sample math of a loop's body and can vectorize the loop,
    which it does not across a call. Usable bare (``@kernel``) or with arguments
    (``@kernel(parallel=True)``).
    """

    def decorate(fn):
        return numba.njit(
            cache=True,
            nogil=True,
            error_model="numpy",
            fastmath=set(_FASTMATH - {"reassoc"} if ordered else _FASTMATH),
            parallel=parallel,
            inline="always" if inline else "never",
        )(fn)

    if function is None:
        return decorate
    return decorate(function)
