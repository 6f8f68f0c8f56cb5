"""Files that ship inside the package: baseline submissions, dataset cards, the example.

Everything a pip user runs lives here, read through :mod:`importlib.resources`, so a wheel
installed outside any checkout has the same baselines (``geochem-bench evaluate
ordinary-kriging``), the same dataset cards next to every built scene, and the same example
submission as a clone. The repository's top-level ``baselines/``, ``datasets/`` and
``examples/`` folders are the browsable view of these files; a test keeps them byte-equal.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from geochem_bench.errors import UnknownNameError

#: The config file of a submission folder.
SUBMISSION_CONFIG = "submission.toml"


def root() -> Path:
    """The folder of the packaged resources.

    The package is installed as files (wheels are unpacked; editable installs point at the
    source), so the traversable is a real path that subprocesses and GDAL can open too.
    """
    return Path(str(files(__name__)))


def baselines() -> dict[str, Path]:
    """The packaged baseline submissions by name, each a folder with config and model card."""
    folder = root() / "baselines"
    return {
        p.name: p
        for p in sorted(folder.iterdir())
        if p.is_dir() and (p / SUBMISSION_CONFIG).is_file()
    }


def baseline_dir(name: str) -> Path:
    """The folder of the packaged baseline ``name``.

    Raises:
        UnknownNameError: no baseline has that name; the message lists the known ones.
    """
    known = baselines()
    if name not in known:
        raise UnknownNameError(
            f"no baseline named {name!r}; the packaged baselines are {', '.join(known)} "
            "(geochem-bench baselines lists them)"
        )
    return known[name]


def dataset_card(scene: str) -> Path | None:
    """The Hugging Face dataset card of a packaged scene, or None for a scene without one."""
    card = root() / "datasets" / scene / "README.md"
    return card if card.is_file() else None


def example_submission_dir() -> Path:
    """The documented minimal submission (a model file and its ``submission.toml``)."""
    return root() / "examples" / "minimal-submission"
