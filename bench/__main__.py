"""``python -m bench``: the N x D grid report (see bench/grid.py)."""

import sys

from bench.grid import main

sys.exit(main())
