"""fastreg's benchmarks: ``pytest bench --benchmark-only`` and ``python bench/targets.py``."""
