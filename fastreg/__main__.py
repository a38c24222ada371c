"""Command line: ``python -m fastreg demo [--out DIR]`` and ``python -m fastreg path FILE ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the message and a pointer to --help, no usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise ValueError(text)
    return value


_positive_int.__name__ = "positive integer"
_fraction.__name__ = "number in (0, 1]"


def main(argv=None) -> int:
    parser = _Parser(prog="python -m fastreg", description="fastreg command line")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = commands.add_parser("demo", help="reproduce the seed experiments and write figures")
    demo.add_argument("--out", type=Path, default=Path("fastreg-demo"), help="folder for the PNG figures")
    path = commands.add_parser("path", help="regularization path (and cross-validation) of a data file")
    path.add_argument("file", help="svmlight/libsvm file (.bz2/.gz too) or CSV with a header row (.csv)")
    path.add_argument("--target", help="CSV column of y, by name or 0-based index (default: the last)")
    path.add_argument("--loss", choices=("logistic", "squared"),
                      help="default: logistic when the target has two values, else squared")
    path.add_argument("--l1-ratio", type=_fraction, default=1.0, help="l1 share of the penalty (default 1)")
    path.add_argument("--n-lambdas", type=_positive_int, default=100, help="grid size (default 100)")
    path.add_argument("--cv", type=_positive_int, metavar="K", help="also cross-validate with K folds")
    path.add_argument("--out", default="fastreg-path", help="folder for path.json and the figures")
    args = parser.parse_args(argv)
    from .cli import CommandError, output_folder, run_path

    try:
        if args.command == "demo":
            from .demo import run

            print(run(output_folder(args.out)))
        else:
            print(run_path(args))
    except CommandError as error:
        print(f"python -m fastreg {args.command}: error: {error}", file=sys.stderr)
        return error.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
