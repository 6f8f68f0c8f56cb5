"""geochem-bench: a benchmark for geochemical and remote sensing data fusion.

The top-level package stays import-light (no torch, no rasterio) so that the command line
starts instantly; heavy modules are imported where they are used.
"""

__version__ = "0.1.0"

#: Version of the benchmark protocol (tasks, splits, metrics). Results from different
#: benchmark versions are never mixed on a leaderboard.
BENCHMARK_VERSION = "2.0"

__all__ = ["BENCHMARK_VERSION", "__version__"]

from geochem_bench import _v1_paths  # noqa: E402  (v1 flat module paths keep importing)

_v1_paths.install()
