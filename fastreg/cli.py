"""``python -m fastreg path FILE``: a regularization path (and cross-validation) from a data file.

Reads svmlight/libsvm files (``.bz2`` and ``.gz`` too) with scikit-learn's reader and CSV files
with Python's ``csv`` module; prints a compact table; writes path.json, path.png, profile.png
and, with ``--cv``, cv.png. Every user error ends in one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .path import cross_validate_path, regularization_path

# Exit codes: 2 for a wrong command line (as argparse), 1 for unreadable data.
USAGE_ERROR = 2
DATA_ERROR = 1

# Runs longer than this show a progress bar (when stderr is a terminal).
PROGRESS_AFTER_SECONDS = 0.5

# The printed table keeps about this many rows of the path.
TABLE_ROWS = 20


class CommandError(Exception):
    """A user error: its message is printed as one line, ``code`` is the exit status."""

    def __init__(self, message: str, code: int = DATA_ERROR):
        super().__init__(message)
        self.code = code


def output_folder(out) -> Path:
    """The folder ``out``, created if missing; checked before any work so that a run never
    computes for minutes and then fails to save."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"--out {folder}: is a file, not a folder", USAGE_ERROR)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"--out {folder}: cannot create the folder ({error.strerror or error})", USAGE_ERROR) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(f"--out {folder}: the folder is not writable", USAGE_ERROR)
    return folder


def _open_text(path: Path):
    if path.suffix == ".bz2":
        return io.TextIOWrapper(bz2.open(path), newline="")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), newline="")
    return open(path, newline="")


def is_csv(path: Path) -> bool:
    suffixes = path.suffixes
    return bool(suffixes) and (suffixes[-1] == ".csv" or (len(suffixes) > 1 and suffixes[-2] == ".csv"))


def read_svmlight(path: Path):
    """(X dense, y) from an svmlight/libsvm file; a bad line is reported with its number."""
    try:
        from sklearn.datasets import load_svmlight_file
    except ImportError:
        raise CommandError("reading svmlight files needs scikit-learn: pip install 'fastreg[test]'") from None
    try:
        X, y = load_svmlight_file(str(path))
    except (ValueError, RuntimeError, OSError, EOFError) as error:
        raise CommandError(f"{path}: {_first_bad_svmlight_line(path, load_svmlight_file) or error}") from None
    if X.shape[0] == 0:
        raise CommandError(f"{path}: no samples")
    return X.toarray(), y


def _first_bad_svmlight_line(path: Path, reader) -> str | None:
    """'line N: reason' for the first line the reader rejects on its own, or None."""
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                try:
                    reader(io.BytesIO(line.encode()))
                except (ValueError, RuntimeError) as error:
                    return f"line {number} is unreadable ({error}): {line.strip()[:60]!r}"
    except (OSError, EOFError, UnicodeDecodeError) as error:
        return f"cannot be read ({error})"
    return None


def read_csv(path: Path, target: str | None):
    """(X, y, feature names) from a CSV file with a header row; ``target`` names the y column
    (or gives its 0-based index); default the last column."""
    try:
        with _open_text(path) as handle:
            rows = list(csv.reader(handle))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
        raise CommandError(f"{path}: cannot be read as CSV ({error})") from None
    rows = [row for row in rows if row]
    if len(rows) < 2:
        raise CommandError(f"{path}: a CSV needs a header row and at least one data row")
    header = [name.strip() for name in rows[0]]
    if target is None:
        column = len(header) - 1
    elif target in header:
        column = header.index(target)
    elif target.isdigit() and int(target) < len(header):
        column = int(target)
    else:
        raise CommandError(f"--target {target!r} is not a column of {path} (columns: {', '.join(header)})",
                           USAGE_ERROR)
    if len(header) < 2:
        raise CommandError(f"{path}: needs at least one feature column besides the target")
    features, labels = [], []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise CommandError(f"{path}: line {number} has {len(row)} fields, the header has {len(header)}")
        values = []
        for index, field in enumerate(row):
            if index == column:
                labels.append(field.strip())
                continue
            try:
                values.append(float(field))
            except ValueError:
                raise CommandError(
                    f"{path}: line {number}: column {header[index]!r} is not numeric ({field!r})") from None
        features.append(values)
    names = [name for index, name in enumerate(header) if index != column]
    return np.array(features), np.array(labels), names


def parse_target(labels: np.ndarray, loss: str | None):
    """The loss (two distinct labels: logistic, else squared) and y in the form it needs."""
    distinct = np.unique(labels)
    if loss is None:
        loss = "logistic" if len(distinct) == 2 else "squared"
    if loss == "squared" or labels.dtype.kind in "fiu":
        try:
            numeric = labels.astype(np.float64)
        except ValueError:
            raise CommandError("the target column is not numeric; for class labels use --loss logistic",
                               USAGE_ERROR) from None
        return loss, numeric
    return loss, labels


class ProgressBar:
    """A bar on stderr (a terminal), shown only for runs longer than PROGRESS_AFTER_SECONDS."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.shown = False

    def __call__(self, done: int, total: int):
        if time.perf_counter() - self.start < PROGRESS_AFTER_SECONDS:
            return
        width = 30
        filled = int(width * done / total)
        self.stream.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}")
        self.stream.flush()
        self.shown = True

    def close(self):
        if self.shown:
            self.stream.write("\n")


def table(path, cv=None) -> str:
    """The path as a compact text table: about TABLE_ROWS rows, the first and last included."""
    step = max(1, int(np.ceil(len(path) / TABLE_ROWS)))
    rows = set(range(0, len(path), step)) | {len(path) - 1}
    if cv is not None:
        rows |= {cv.index_min, cv.index_1se}
    rows = sorted(rows)
    lines = [f"{'lambda':>11} {'nnz':>6} {'dev.expl':>8} {'time(ms)':>9} {'gap':>9}" + ("  cv" if cv else "")]
    for k in rows:
        mark = ""
        if cv is not None:
            mark = "  " + " ".join(label for label, index in (("min", cv.index_min), ("1se", cv.index_1se))
                                   if index == k)
        lines.append(f"{path.lambdas[k]:11.4g} {path.nnz[k]:6d} {path.deviance_explained[k]:8.4f} "
                     f"{path.seconds[k] * 1e3:9.2f} {path.gaps[k]:9.2g}{mark}")
    return "\n".join(lines)


def run_path(args) -> str:
    """Run the ``path`` command; returns the text to print."""
    file = Path(args.file)
    if not file.exists():
        raise CommandError(f"{file}: no such file", USAGE_ERROR)
    if file.is_dir():
        raise CommandError(f"{file}: is a folder, not a data file", USAGE_ERROR)
    out = output_folder(args.out)
    if is_csv(file):
        X, labels, _names = read_csv(file, args.target)
    else:
        if args.target is not None:
            raise CommandError("--target applies to CSV files; an svmlight file's target is its first field",
                               USAGE_ERROR)
        X, labels = read_svmlight(file)
    loss, y = parse_target(labels, args.loss)
    progress = ProgressBar()
    # Without a terminal to draw on, no callback: a path then runs as one kernel call.
    callback = progress if progress.stream.isatty() else None
    options = dict(loss=loss, l1_ratio=args.l1_ratio, n_lambdas=args.n_lambdas)
    try:
        if args.cv:
            cv = cross_validate_path(X, y, n_folds=args.cv, progress=callback, **options)
            path = cv.path
        else:
            cv = None
            path = regularization_path(X, y, progress=callback, **options)
    except ValueError as error:
        raise CommandError(str(error), USAGE_ERROR) from None
    finally:
        progress.close()

    record = path.to_dict()
    if cv is not None:
        record["cross_validation"] = {k: v for k, v in cv.to_dict().items() if k != "path"}
    try:
        (out / "path.json").write_text(json.dumps(record, indent=1))
        written = ["path.json"] + _figures(path, cv, out)
    except OSError as error:
        raise CommandError(f"{out}: cannot write the results ({error.strerror or error})") from None
    header = (f"{file.name}: N={X.shape[0]} D={X.shape[1]} loss={loss} l1_ratio={args.l1_ratio:g}, "
              f"{len(path)} lambdas in {path.seconds.sum():.3g} s")
    lines = [header, table(path, cv)]
    if path.early_stop:
        lines.append(f"stopped early: {path.early_stop}")
    if cv is not None:
        lines.append(f"cross-validation ({args.cv} folds, {cv.scoring}): lambda_min={cv.lambda_min:.4g}, "
                     f"lambda_1se={cv.lambda_1se:.4g}")
    lines.append(f"wrote {', '.join(written)} to {out}")
    return "\n".join(lines)


def _figures(path, cv, out: Path) -> list[str]:
    try:
        import matplotlib
    except ImportError:
        return ["(no figures: matplotlib is not installed; pip install 'fastreg[plot]')"]
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plotting

    drawings = [("path.png", plotting.coefficient_path, path), ("profile.png", plotting.path_profile, path)]
    if cv is not None:
        drawings.append(("cv.png", plotting.cv_curve, cv))
    for name, draw, data in drawings:
        figure = plt.figure(figsize=(7, 4.5))
        draw(data, figure.add_subplot())
        figure.tight_layout()
        figure.savefig(out / name, dpi=110)
        plt.close(figure)
    return [name for name, _draw, _data in drawings]
