"""The ``geochem-bench`` command line (kept import-light so ``--help`` is instant)."""

from geochem_bench.cli.main import main

__all__ = ["main"]
