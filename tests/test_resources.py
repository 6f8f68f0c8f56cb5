"""What ships in the package: baselines, dataset cards and the example, in the wheel too."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from geochem_bench import resources
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes.registry import scenes

ROOT = Path(__file__).resolve().parents[1]
VIEWS = {"baselines": "baselines", "datasets": "datasets", "examples": "examples"}


def _files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_repository_view_equals_the_packaged_files(view):
    packaged, browsable = resources.root() / VIEWS[view], ROOT / view
    if not browsable.is_dir():
        pytest.skip("not a source checkout")
    missing = _files(packaged) ^ _files(browsable)
    assert not missing, (
        f"{view}/ and geochem_bench/resources/{view}/ differ in files {sorted(missing)}; the "
        f"packaged copy is the source: rm -r {view} && cp -r geochem_bench/resources/{view} ."
    )
    differ = [f for f in _files(packaged) if not filecmp.cmp(packaged / f, browsable / f, False)]
    assert not differ, (
        f"{view}/ differs from the packaged copy in {differ}; edit geochem_bench/resources/ "
        f"and copy: rm -r {view} && cp -r geochem_bench/resources/{view} ."
    )


def test_every_baseline_loads_and_has_a_card():
    names = resources.baselines()
    assert {"bicubic", "ordinary-kriging", "fusion-cnn"} <= set(names)
    for name, folder in names.items():
        sub = load_submission(name)
        assert sub.name == name
        assert (folder / "README.md").is_file(), f"baseline {name} has no model card"


def test_every_registered_scene_has_a_packaged_card():
    for name in scenes():
        card = resources.dataset_card(name)
        assert card is not None, f"scene {name} has no card in geochem_bench/resources/datasets"
        assert card.read_text().startswith("---"), f"card of {name} lacks Hub front matter"


def test_example_submission_ships():
    folder = resources.example_submission_dir()
    assert (folder / "model.py").is_file() and (folder / "submission.toml").is_file()


def test_wheel_contains_every_baseline_card_and_example(tmp_path):
    # Build from a copy of the tracked sources so stale build/ folders cannot hide a
    # packaging mistake.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv*",
            ".git",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            "leaderboard",
            "geochem-bench-*",
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("geochem_bench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"geochem_bench/resources/{view}/{f}"
        for view in VIEWS.values()
        for f in _files(resources.root() / view)
    }
    assert expected, "nothing packaged?"
    missing = sorted(expected - names)
    assert not missing, f"the wheel lacks {missing[:5]} (see [tool.setuptools.package-data])"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "geochem_bench/py.typed" in names
    assert "geochem_bench/resources/pins/benchmark-1.0.json" in names  # the board's pins
