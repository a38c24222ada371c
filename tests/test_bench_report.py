"""The benchmark report's runner and figures on a tiny grid (no speed is asserted here)."""

import csv
import importlib.util
import json
import sys

import numpy as np
import pytest

from bench import grid, workloads


def is_png(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("report")
    record = grid.run(out, (20, 40), (10, 30), ((10, 10**9),), repeats=1, bandwidth_bytes=64e6,
                      memory_budget=1e9, cold=False, empty_cache=False, work=2e5)
    return out, record


def test_files_are_written_and_the_json_has_its_schema(report):
    out, record = report
    saved = json.loads((out / "results.json").read_text())
    assert saved == json.loads(json.dumps(record))
    assert set(saved) >= {"machine", "command", "bandwidth_bytes_per_second", "flops_per_second", "threads", "cells",
                          "skipped", "cold_start_seconds", "cold_start_scipy", "fit_memory_over_x"}
    assert {(c["n"], c["d"]) for c in saved["cells"]} == {(20, 10), (20, 30), (40, 10), (40, 30)}
    assert saved["skipped"] == [{"n": 10, "d": 10**9, "bytes": 8 * 10**10}]
    with open(out / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and float(rows[0]["gd_1t"]) == saved["cells"][0]["gd_1t"]
    for name in ("speedup.png", "bound.png", "scaling.png"):
        assert is_png(out / name)


def test_numbers_are_positive_and_finite(report):
    _out, record = report
    timed = [key for key in record["cells"][0] if key.startswith(("numpy_", "gd_", "cd_", "model_", "bound_"))]
    assert len(timed) >= 11 and "model_1t" in timed
    for cell in record["cells"]:
        for key in timed:
            assert np.isfinite(cell[key]) and cell[key] > 0, key
    for value in list(record["flops_per_second"].values()) + list(record["fit_memory_over_x"].values()):
        assert np.isfinite(value) and value > 0


def test_fits_allocate_little_beyond_x(report):
    _out, record = report
    # The solvers work in O(N + D) memory when X comes in their order: no copy of X.
    for solver, fraction in record["fit_memory_over_x"].items():
        assert fraction < 0.1, solver


def test_readme_section_is_generated_from_the_record(report):
    out, record = report
    section = grid.readme_section(record, out)
    assert section.startswith(grid.README_START) and section.endswith(grid.README_END)
    assert section.count("\n| ") == 4 + 1 + 1  # header, four cells, one skipped cell
    assert "skipped" in section and "speedup.png" in section


def test_read_bandwidth_is_plausible():
    array = np.ones(int(64e6) // 8)
    bandwidth = workloads.read_bandwidth(array, 1, repeats=3)
    # Between a slow laptop's DRAM and an L3 cache: anything outside means the probe is broken.
    assert 0.5e9 < bandwidth < 2e12


def test_ab_exports_an_earlier_commit_as_a_second_package(tmp_path):
    import sys

    import fastreg
    from bench import ab

    old = ab.export_old("HEAD", tmp_path)
    try:
        assert old.__name__ == "fastreg_old" and old is not fastreg
        assert old.fit.__module__ == "fastreg_old.solvers" and fastreg.fit.__module__ == "fastreg.solvers"
        assert (tmp_path / "fastreg_old" / "kernels" / "coordinate.py").is_file()
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == "fastreg_old"]:
            del sys.modules[name]


def test_ab_solves_time_each_setting_of_the_peer_table(capsys):
    import fastreg
    from bench import ab

    X, y = ab.load("textbook")
    ab.compare_solves({"old": fastreg, "new": fastreg}, X, y, "logistic", "textbook", 1e-6, 1)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [(row[2], row[3]) for row in rows] == [("no", "/10"), ("no", "/100"), ("yes", "/10"), ("yes", "/100")]
    for row in rows:
        old, new = float(row[4]), float(row[5])
        assert old > 0 and new > 0
        # The same package on both sides: the same solve, epoch for epoch.
        assert row[7] == row[9] and int(row[7]) == fastreg.fit(
            X, y, l1=fastreg.lambda_max(X, y, fit_intercept=row[2] == "yes") / int(row[3][1:]),
            fit_intercept=row[2] == "yes", tol=1e-6, max_iter=10**6).n_iter


@pytest.mark.parametrize("text", ["20x", "0x5", "2x-1", "axb", "1x2x3"])
def test_ab_refuses_a_shape_that_is_not_n_by_d(text):
    import argparse

    from bench import ab

    with pytest.raises(argparse.ArgumentTypeError, match="NxD"):
        ab.parse_shape(text)


def test_ab_gd_times_each_shape_on_one_and_all_threads(capsys):
    import numba

    from bench import ab
    from fastreg.kernels import fused

    assert ab.parse_shape("30x7F") == (30, 7, True) and ab.parse_shape("30x7") == (30, 7, False)
    ab.compare_gd(fused, [(30, 7, False), (30, 7, True)], 1)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    threads = sorted({1, numba.config.NUMBA_NUM_THREADS})
    assert [(" ".join(row[:-6]), row[-6]) for row in rows] == [(label, str(count)) for label in ("30x7", "30x7 F")
                                                               for count in threads]
    for row in rows:
        old, new, ratio = (float(value) for value in row[-5:-2])
        assert old > 0.005 and new > 0
        # The printed ratio agrees with the printed times up to their rounding to 0.01.
        assert (new - 0.005) / (old + 0.005) - 0.005 <= ratio <= (new + 0.005) / (old - 0.005) + 0.005


def test_finds_scipy_answers_for_the_interpreter_it_is_given():
    assert workloads.finds_scipy(sys.executable) == (importlib.util.find_spec("scipy") is not None)


def test_targets_time_a_read_of_each_out_of_cache_x_in_turns(monkeypatch):
    from bench import targets

    monkeypatch.setattr(workloads, "OUT_OF_CACHE_BYTES", 30 * 7 * 8)
    # Solves of 2e5 multiply-adds: the default 2e8 ran the NumPy twin for minutes on shapes this small.
    tall, small = targets.kernel_rows([(30, 7), (20, 7)], 1, work=2e5)
    threads = sorted({1, targets.ALL})
    assert [row["shape"] for row in (tall, small)] == ["30x7", "20x7"]
    for count in threads:
        assert tall[f"read_{count}t"] > 0 and tall[f"numba_{count}t"] > 0
        assert f"read_{count}t" not in small and small[f"numba_{count}t"] > 0


def test_grid_bound_out_of_cache_is_a_read_of_x_timed_in_turns(monkeypatch):
    monkeypatch.setattr(workloads, "OUT_OF_CACHE_BYTES", 30 * 20 * 8)
    bandwidth = {1: 1e15, grid.ALL_THREADS: 1e15}
    out_of_cache, in_cache = (grid.time_cell(n, 20, 1, bandwidth, 2e5) for n in (30, 20))
    assert out_of_cache["out_of_cache"] and not in_cache["out_of_cache"]
    for threads in bandwidth:
        # A read of 4.8 kB takes longer than the 5 ps the made-up bandwidth gives it.
        assert out_of_cache[f"bound_{threads}t"] > 100 * out_of_cache["bytes"] / 1e15
        assert in_cache[f"bound_{threads}t"] == in_cache["bytes"] / 1e15
        for row in (out_of_cache, in_cache):
            assert row[f"gd_{threads}t"] > 0 and row[f"gd_fortran_{threads}t"] > 0
    assert out_of_cache["cd_1t"] > 0 and out_of_cache["model_1t"] > 0
