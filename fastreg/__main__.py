"""Command line: ``python -m fastreg demo [--out DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastreg", description="fastreg command line")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="reproduce the seed experiments and write figures")
    demo.add_argument("--out", type=Path, default=Path("fastreg-demo"), help="folder for the PNG figures")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run

        print(run(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
