"""The one place where fastreg sets Numba's options.

Every kernel is compiled through :func:`kernel`. ``cache=True`` keeps compiled code on disk
between processes; ``nogil=True`` lets callers run kernels in threads; ``error_model="numpy"``
turns a division by zero into inf/nan (which the Python layer checks) instead of a Python
exception, which keeps the hot loops free of checks. The fastmath subset allows reassociation
and fused multiply-adds so that LLVM vectorizes dot products and reductions, but keeps IEEE
semantics for inf and nan, which the divergence checks rely on.
"""

from __future__ import annotations

import functools
import importlib
import pickle
import sys
import threading

import numba
from numba.core.caching import FunctionCache, IndexDataCacheFile
from numba.core.environment import Environment, lookup_environment
from numba.core.runtime import rtsys
from numba.core.types import unliteral

_FASTMATH = frozenset({"reassoc", "contract", "nsz"})
# Two threads calling a kernel for the first time make one dispatcher between them.
_MAKING = threading.Lock()

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
    (``@kernel(parallel=True)``). Returns a :class:`Kernel`.
    """

    def decorate(fn):
        options = {
            "cache": True,
            "nogil": True,
            "error_model": "numpy",
            "fastmath": set(_FASTMATH - {"reassoc"} if ordered else _FASTMATH),
            "parallel": parallel,
            "inline": "always" if inline else "never",
        }
        return Kernel(fn, options)

    if function is None:
        return decorate
    return decorate(function)


class Kernel:
    """A kernel whose Numba dispatcher is made on first use: by a call from Python, or when a
    calling kernel is compiled (Numba types the global through ``_numba_type_`` and reads
    ``targetoptions`` and ``py_func`` to inline it). Every other attribute is the dispatcher's.

    Making a dispatcher takes about 0.3 ms (its signature, its cache's locator, a probe of the
    cache folder), 40 ms for fastreg's 120 kernels at import. A fit whose kernel loads from
    the cache uses one or two of them: the others' compiled code is inside its library.
    """

    def __init__(self, function, options):
        self._dispatcher = None
        self._function = function
        self._options = options
        functools.update_wrapper(self, function)

    @property
    def dispatcher(self):
        if self._dispatcher is None:
            with _MAKING:
                if self._dispatcher is None:
                    made = numba.njit(**self._options)(self._function)
                    made._cache = _LoadWithoutRefresh(made.py_func)
                    self._dispatcher = _without_literal_specializations(made)
        return self._dispatcher

    @property
    def _numba_type_(self):
        return self.dispatcher._numba_type_

    def __call__(self, *args, **kwargs):
        return self.dispatcher(*args, **kwargs)

    def __getattr__(self, name):
        # Called only for names the Kernel lacks, and for "dispatcher" when making it raised
        # AttributeError. An instance made without __init__ (as copy and pickle rebuild one)
        # has no function to compile. Either way, asking the dispatcher would come back here
        # for ever.
        if name == "dispatcher" or "_function" not in vars(self):
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    def __reduce__(self):
        # Like a function, by reference: the copy is the module's kernel itself (the function
        # it wraps is not reachable by name, so pickle could not store it by value either).
        return _module_attribute, (self.__module__, self.__qualname__)

    def __repr__(self):
        return f"<fastreg kernel {self.__qualname__}>"


def _module_attribute(module: str, qualname: str):
    """The object that ``module``'s ``qualname`` names: how a pickled kernel is found again."""
    value = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


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


class _LoadWithoutRefresh(FunctionCache):
    """Numba's on-disk cache of one kernel (what ``cache=True`` gives it), loading compiled code
    without refreshing Numba's target context first.

    ``FunctionCache.load_overload`` calls ``target_context.refresh()`` before every load. The
    first refresh in a process imports and registers every typing and lowering module of Numba's
    library, 0.1 s of a fresh process that fits the 50 x 50 problem from a warm cache (and more
    objects for the interpreter to tear down at exit), while a load only links compiled code,
    which calls no Numba code but its runtime (NRT). A compilation still refreshes the context:
    Numba's compiler does it before it types anything, and its lowering whenever it meets a
    function it has no implementation for yet.

    Its data files are read by :class:`_DataWithoutImports`.
    """

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = _DataWithoutImports(cache_path=self._cache_path, filename_base=self._impl.filename_base,
                                               source_stamp=self._impl.locator.get_source_stamp())

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)


class _DataWithoutImports(IndexDataCacheFile):
    """Numba's index and data files of one kernel's cache, whose data loads without importing the
    modules of the Numba functions linked into the kernel.

    A kernel's cached library carries the environment of every function linked into it, Numba's
    implementations of ``np.empty``, ``np.sum`` or ``min`` among them, and Numba's
    ``_rebuild_env`` imports each environment's module to hand its globals to the code. Only
    object-mode code reads those globals, and fastreg's kernels are nopython code (their constants
    travel with the environment): importing ``numba.np.arrayobj``, ``npyimpl``, ``arraymath``
    and, through them, ``numba.cpython.unicode`` took 0.08 s of a fresh process that fits the
    50 x 50 problem from a warm cache (medians of 11 processes in turns with a bare
    ``import numba``: +0.17 s above it instead of +0.25 s).
    """

    def _load_data(self, name):
        try:
            with open(self._data_path(name), "rb") as f:
                return _EnvironmentUnpickler(f).load()
        except Exception:
            # A Numba whose environments pickle differently: its own loader reads the file (and
            # raises whatever it raised before, if the file itself is at fault).
            return super()._load_data(name)


class _EnvironmentUnpickler(pickle.Unpickler):
    """Unpickles a cached library with :func:`_rebuild_environment` for Numba's ``_rebuild_env``."""

    def find_class(self, module, name):
        if module == "numba.core.environment" and name == "_rebuild_env":
            return _rebuild_environment
        return super().find_class(module, name)


def _rebuild_environment(module, consts, name):
    """Numba's ``_rebuild_env``, with the globals of ``module`` only if it is already imported;
    otherwise a dictionary that holds its name (which Numba's cache checks when it saves code
    that links the same function)."""
    env = lookup_environment(name)
    if env is not None:
        return env
    loaded = sys.modules.get(module)
    env = Environment(loaded.__dict__ if loaded is not None else {"__name__": module})
    env.consts[:] = consts
    env.env_name = name
    Environment._memo[name] = env
    return env
