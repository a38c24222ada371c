"""The project's Numba decorator: compiled kernels load from the on-disk cache safely."""

import copy
import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

MODULE = textwrap.dedent('''
    import numpy as np
    from numba import prange

    from fastreg._jit import kernel


    @kernel(parallel=True)
    def add_one_parallel(x):
        for i in prange(x.shape[0]):
            x[i] += 1.0


    @kernel
    def add_one(x, parallel):
        if parallel:
            add_one_parallel(x)
        else:
            for i in range(x.shape[0]):
                x[i] += 1.0
''')


def run(tmp_path, code):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)


def test_kernel_with_parallel_callee_loads_from_cache(tmp_path):
    # The order that crashed numba issue 8578: one process compiles the parallel callee alone,
    # the next compiles its caller (loading the callee from the cache), the third loads the
    # caller from the cache and calls it.
    (tmp_path / "cached_kernels.py").write_text(MODULE)
    first = run(tmp_path, "import numpy as np, cached_kernels as k; x = np.zeros(8); k.add_one_parallel(x); print(x.sum())")
    assert first.returncode == 0, first.stderr
    outputs = []
    for _ in range(2):
        later = run(tmp_path, "import numpy as np, cached_kernels as k; x = np.zeros(8); k.add_one(x, False); print(x.sum())")
        assert later.returncode == 0, f"exit status {later.returncode}: {later.stderr}"
        outputs.append(float(later.stdout))
    assert outputs == [8.0, 8.0]
    # The later runs loaded the caller from the cache rather than compiling it again.
    cached = [name for _root, _dirs, names in os.walk(tmp_path / "cache") for name in names]
    assert any(name.startswith("cached_kernels.add_one-") and name.endswith(".nbc") for name in cached), cached


LITERAL_MODULE = textwrap.dedent('''
    from fastreg._jit import kernel


    @kernel
    def scaled(x, flag, k):
        return x * k if flag else x


    @kernel
    def with_constants(x):
        return scaled(x, True, 2) + scaled(x, False, 3)


    @kernel
    def with_variables(x, flag, k):
        return scaled(x, flag, k)
''')


def test_kernel_called_with_constants_compiles_once_for_plain_types(tmp_path):
    # Numba types the constants True and 2 as literals; each literal combination would be a
    # specialization of its own, compiled along with everything it calls.
    (tmp_path / "literal_kernels.py").write_text(LITERAL_MODULE)
    code = ("import literal_kernels as k\n"
            "print(k.with_constants(1.5), k.with_variables(1.5, True, 2))\n"
            "print(len(k.scaled.overloads))\n"
            "print(';'.join(str(sig) for sig in k.scaled.overloads))\n")
    result = run(tmp_path, code)
    assert result.returncode == 0, result.stderr
    values, count, signatures = result.stdout.splitlines()
    assert values.split() == ["4.5", "3.0"]
    assert count == "1", signatures
    assert "Literal" not in signatures


INLINE_MODULE = textwrap.dedent('''
    from fastreg._jit import kernel


    @kernel(inline=True)
    def twice(x):
        return 2.0 * x


    @kernel
    def calls_twice(x):
        return twice(x) + 1.0
''')


def test_inline_kernel_is_inlined_into_its_caller_not_compiled_alone(tmp_path):
    # Numba inlines a callee it finds through its targetoptions; a callee compiled on its own
    # would show an overload.
    (tmp_path / "inline_kernels.py").write_text(INLINE_MODULE)
    result = run(tmp_path, "import inline_kernels as k\nprint(k.calls_twice(1.5), len(k.twice.overloads))\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4.0", "0"]


def test_import_makes_no_dispatcher_and_a_fit_from_the_cache_makes_few():
    # Making a Numba dispatcher costs about 0.3 ms, and fastreg has over a hundred kernels. A
    # fit that compiles makes those of every kernel it calls; the second process loads it.
    code = textwrap.dedent('''
        import numpy as np, fastreg
        from fastreg import _jit
        from fastreg.kernels import columns, coordinate, fused, layout, logistic, squared, vecmath

        def made():
            found = [value for module in (columns, coordinate, fused, layout, logistic, squared, vecmath)
                     for value in vars(module).values() if isinstance(value, _jit.Kernel)]
            return len(found), sum(k._dispatcher is not None for k in found)

        print(*made())
        rng = np.random.default_rng(0)
        X = rng.standard_normal((40, 30))
        fastreg.fit(X, (X[:, 0] > 0).astype(float), l1=0.05)
        print(*made())
    ''')
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    (total, at_import), (_, after_fit) = (map(int, line.split()) for line in result.stdout.splitlines())
    assert total > 100
    assert at_import == 0
    assert 1 <= after_fit <= 5, after_fit


def test_a_kernel_pickles_and_copies_as_itself():
    # By reference, like a module's function. Before, pickle refused the wrapped function (not
    # the object its name now holds) and copy.copy recursed without end.
    from fastreg.kernels import fused

    kernel = fused.tile_width
    assert pickle.loads(pickle.dumps(kernel)) is kernel
    assert copy.copy(kernel) is kernel
    assert copy.deepcopy({"k": kernel})["k"] is kernel
    # Half-built (no __init__), as copy and pickle make one before their state arrives: no
    # dispatcher to compile, and a plain AttributeError rather than a RecursionError.
    bare = object.__new__(type(kernel))
    with pytest.raises(AttributeError):
        bare.dispatcher
    assert not hasattr(bare, "__setstate__")


FITS = textwrap.dedent('''
    import numpy as np, fastreg

    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 40))
    labels = (X[:, 0] - X[:, 1] > 0).astype(float)
    target = X[:, 2] + 0.1 * rng.standard_normal(60)
    fits = [
        fastreg.fit(X, labels, l1=0.02),
        fastreg.fit(X.astype(np.float32), labels, l1=0.02),
        fastreg.fit(np.asfortranarray(X), target, loss="squared", l1=0.01, l2=0.1),
        fastreg.fit(X, labels, l1=0.02, solver="fista"),
        fastreg.fit(X, target, loss="squared", l2=0.1, solver="gd", max_iter=50, tol=0),
    ]
    path = fastreg.regularization_path(X, labels, n_lambdas=8)
    answers = [float(v) for fit in fits for v in (*fit.coef, fit.intercept, fit.objective)]
    answers += [float(v) for v in path.coefs.ravel()]
''')


def test_kernels_load_from_the_cache_without_numbas_refresh_and_answer_as_compiled():
    # _jit._LoadWithoutRefresh: a process that loads every kernel it calls from the cache
    # never imports the typing and lowering modules that only Numba's refresh imports (its
    # polynomial functions, say), and its answers are those of the kernels compiled here. Not
    # to the bit: the object code that Numba caches is emitted apart from the code it runs
    # after compiling, and the two round differently (a squared-loss cd fit differed in its
    # last two bits between a process that compiled it and one that loaded it, before this
    # loader too).
    namespace = {}
    exec(FITS, namespace)
    # _jit._DataWithoutImports: nor the modules of the Numba functions linked into the kernels.
    code = FITS + ("import json, sys\nprint(json.dumps(answers))\n"
                   "print([m in sys.modules for m in ('numba.np.polynomial.polynomial_core', 'numba.np.arrayobj')])\n")
    # The first process loads what this one compiled, or compiles what it did not; the second loads.
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    answers, imported = result.stdout.splitlines()
    assert imported == "[False, False]"
    answers = json.loads(answers)
    assert len(answers) == len(namespace["answers"]) > 200
    np.testing.assert_allclose(answers, namespace["answers"], rtol=1e-13, atol=1e-15)


ALLOCATING_MODULE = textwrap.dedent('''
    import numpy as np

    from fastreg._jit import kernel


    @kernel
    def filled_sum(n, value):
        out = np.empty(n)
        out[:] = value
        return np.sum(out)
''')


def test_a_kernel_loaded_without_its_callees_modules_still_raises_their_errors(tmp_path):
    # The environments of Numba's np.empty and np.sum come back from the cache without their
    # module (numba.np.arrayobj); the code that raises np.empty's error for a negative size
    # must still raise it, with its message, and a function compiled afterwards in the same
    # process from the same Numba overloads must run and raise as well.
    (tmp_path / "allocating_kernels.py").write_text(ALLOCATING_MODULE)
    code = textwrap.dedent('''
        import sys
        import numba, numpy as np
        import allocating_kernels as k
        print(k.filled_sum(3, 1.5), 'numba.np.arrayobj' in sys.modules)
        try:
            k.filled_sum(-1, 1.5)
        except ValueError as error:
            print(error)

        @numba.njit
        def fresh(n):
            return np.sum(np.zeros(n) + 2.0)

        print(fresh(4))
        try:
            fresh(-2)
        except ValueError as error:
            print(error)
    ''')
    outputs = []
    for _ in range(2):
        result = run(tmp_path, code)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.splitlines())
    compiled, loaded = outputs
    assert compiled == ["4.5 True", "negative dimensions not allowed", "8.0", "negative dimensions not allowed"]
    assert loaded == ["4.5 False", *compiled[1:]]


def test_a_kernel_loads_through_numbas_own_loader_when_its_environments_do_not_fit(tmp_path):
    # Should a later Numba pickle its environments with other arguments, _rebuild_environment
    # fails, and the data file goes through Numba's loader, which imports the modules again.
    (tmp_path / "allocating_kernels.py").write_text(ALLOCATING_MODULE)
    first = run(tmp_path, "import allocating_kernels as k; print(k.filled_sum(3, 1.5))")
    assert first.returncode == 0, first.stderr
    code = textwrap.dedent('''
        import sys
        from fastreg import _jit

        def refuse(*args):
            raise TypeError("an environment pickled with other arguments")

        _jit._rebuild_environment = refuse
        import allocating_kernels as k
        stats = k.filled_sum.stats
        print(k.filled_sum(3, 1.5), 'numba.np.arrayobj' in sys.modules,
              sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
    ''')
    result = run(tmp_path, code)
    assert result.returncode == 0, result.stderr
    # Loaded from the cache (one hit, no miss), not compiled again.
    assert result.stdout.split() == ["4.5", "True", "1", "0"]
