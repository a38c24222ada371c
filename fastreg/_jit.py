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
from numba.core.types import unliteral

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
        return _without_literal_specializations(
            numba.njit(
                cache=True,
                nogil=True,
                error_model="numpy",
                fastmath=set(_FASTMATH - {"reassoc"} if ordered else _FASTMATH),
                parallel=parallel,
                inline="always" if inline else "never",
            )(fn)
        )

    if function is None:
        return decorate
    return decorate(function)


def _without_literal_specializations(dispatcher):
    """Compile calls from other kernels for the arguments' plain types, never their literal ones.

    Numba types a constant argument (``True``, ``0``, ``LOGISTIC``) as a literal, and a kernel
    called with it from another kernel gets its own specialization, compiled anew along with
    everything it calls and inlines: the fused pass was compiled six times for one dtype,
    once per combination of literal and plain ``loss``, ``lo`` and ``want_loss``. Typed with
    plain types, each kernel compiles once per dtype and layout (the demo's first run compiled
    for 94 s instead of 162 s). Calls from Python are typed from the values and never literal.
    Numba has no option for this: the wrapped method, ``Dispatcher.get_call_template``, is the
    one through which a calling kernel is typed, with this signature in every Numba >= 0.59.
    """
    call_template = dispatcher.get_call_template

    def get_call_template(args, kws):
        return call_template(
            tuple(unliteral(a) for a in args), {name: unliteral(a) for name, a in kws.items()}
        )

    dispatcher.get_call_template = get_call_template
    return dispatcher
