"""Facts recorded with every result: hardware, code revision, time."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import subprocess
import sys
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from geochem_bench.evaluation.records import Hardware


@lru_cache(maxsize=1)
def hardware() -> Hardware:
    """The machine the harness runs on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return Hardware(
        platform=platform.platform(),
        python=platform.python_version(),
        cpu=cpu,
        n_cpus=os.cpu_count() or 1,
        memory_gb=memory_gb,
        gpu=gpu_name(),
    )


def git_revision(folder: str | Path, *code: str | Path | None) -> str | None:
    """Commit of the git checkout holding ``folder`` (suffixed ``-dirty`` if modified).

    ``code``: more places whose changes make the revision dirty, e.g. the package a
    submission's ``module:Class`` reference imports. A packaged baseline's folder holds only
    its card; without them, an edited model module still read as a clean commit (red team).
    Places outside the checkout are left out.
    """
    root = Path(folder)

    def git(*args: str, check: bool = True) -> str:
        run = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=check
        )
        return run.stdout.strip()

    try:
        rev = git("rev-parse", "HEAD")
        top = Path(git("rev-parse", "--show-toplevel")).resolve()
        inside = [
            str(Path(c).resolve())
            for c in code
            if c is not None and Path(c).resolve().is_relative_to(top)
        ]
        dirty = git("status", "--porcelain", "--", ".", *inside, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}-dirty" if dirty else rev


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def gpu_name() -> str | None:
    """The GPU torch would use, if torch is loaded and sees one (never imports torch)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return str(torch.cuda.get_device_name(0))
    return None


def utc_now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)
