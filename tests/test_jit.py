"""The project's Numba decorator: compiled kernels load from the on-disk cache safely."""

import os
import subprocess
import sys
import textwrap

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
