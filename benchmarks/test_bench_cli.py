"""CLI start-up, beside the floor (a bare interpreter) and what lazy imports avoid (torch).

Run: pytest benchmarks/test_bench_cli.py --benchmark-enable
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

CLI = shutil.which("geochem-bench") or "geochem-bench"


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.benchmark(group="cli start-up")
@pytest.mark.parametrize(
    "name,cmd",
    [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
        ("geochem-bench --help", [CLI, "--help"]),
        ("geochem-bench list", [CLI, "list"]),
        ("python -c 'import torch' (avoided)", [sys.executable, "-c", "import torch"]),
    ],
)
def test_startup(benchmark, name, cmd):
    benchmark.pedantic(run, args=(cmd,), rounds=5, iterations=1)
