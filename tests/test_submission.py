from __future__ import annotations

from pathlib import Path

import pytest

from geochem_bench import resources
from geochem_bench.cli.demo import FIRST_BASELINES
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.models import BicubicUpsampling

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", FIRST_BASELINES)
def test_demo_baselines_load_by_name_from_the_package(name):
    sub = load_submission(name)
    assert sub.name == name and sub.folder == resources.baseline_dir(name).resolve()
    assert (sub.folder / "README.md").is_file()
    assert sub.build() is not None


def test_unknown_baseline_name_lists_the_known_ones():
    with pytest.raises(InvalidInputError, match="ordinary-kriging"):
        load_submission("ordinary-krigin")


def test_module_reference_with_config(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[submission]\nname = "mine"\nversion = "2.1"\n[params]\na = -0.75\n')
    sub = load_submission("geochem_bench.models:BicubicUpsampling", config=config)
    assert (sub.name, sub.version) == ("mine", "2.1")
    model = sub.build()
    assert isinstance(model, BicubicUpsampling) and model.a == -0.75


def test_file_reference(tmp_path):
    (tmp_path / "helper.py").write_text("SCALE = 2\n")
    (tmp_path / "my_model.py").write_text(
        "import helper\n"
        "class M:\n"
        "    def __init__(self, k=1): self.k = k * helper.SCALE\n"
        "    def fit(self, inputs): pass\n"
        "    def predict(self, inputs): return None\n"
    )
    sub = load_submission(f"{tmp_path / 'my_model.py'}:M")
    assert sub.name == "M" and sub.build().k == 2
    assert sub.revision is not None


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"submission\.toml"):
        load_submission(tmp_path)
    with pytest.raises(ValueError, match="neither a submission folder"):
        load_submission("no_colon_here")
    with pytest.raises(ImportError, match="has no attribute"):
        load_submission("geochem_bench.models:Nope").build()
    (tmp_path / "bad.py").write_text("class NoPredict:\n    def fit(self, inputs): pass\n")
    with pytest.raises(TypeError, match="no predict"):
        load_submission(f"{tmp_path / 'bad.py'}:NoPredict").build()


def test_documented_example_submission_runs_and_writes_its_card(tmp_path):
    import json
    from pathlib import Path

    from geochem_bench.evaluation.executors import evaluate
    from geochem_bench.evaluation.harness import RunOptions
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.scenes.registry import list_tasks

    folder = Path(__file__).resolve().parents[1] / "examples" / "minimal-submission"
    records = evaluate(
        load_submission(folder),
        list_tasks(["synthetic/all/s16/grid"]),
        RunOptions(out_dir=tmp_path, isolation="inline", progress=False),
    )
    assert [r.status for r in records] == ["ok"] * 3  # one fold per realisation
    card = json.loads((tmp_path / "covariate-detail" / "0.1.0" / "submission.json").read_text())
    assert card["authors"] == ["Your Name"] and card["params"] == {"strength": 1.0}


def test_config_with_a_model_key_loads_with_a_model_reference():
    from pathlib import Path

    from geochem_bench.evaluation.submission import SubmissionCard, load_submission

    ablations = Path(__file__).resolve().parents[1] / "leaderboard" / "v1" / "ablations"
    config = ablations / "fusion-cnn-single-factor.toml"
    sub = load_submission("geochem_bench.models.fusion_cnn:FusionCNN", config=config)
    assert sub.name == "fusion-cnn-single-factor" and sub.params["mixed_resolution"] is False
    assert SubmissionCard.from_submission(sub).model == "geochem_bench.models.fusion_cnn:FusionCNN"


def test_overrides_and_config_rules_for_folders(tmp_path, monkeypatch):
    sub = load_submission("bicubic", name="my-bicubic", version="2")
    assert (sub.name, sub.version) == ("my-bicubic", "2") and "name" not in sub.metadata
    config = tmp_path / "c.toml"
    config.write_text("[params]\na = -0.75\n")
    with pytest.raises(InvalidInputError, match="--config applies to a 'module:Class'"):
        load_submission("bicubic", config=config)
    # a results folder that shares a baseline's name does not hide the baseline
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bicubic").mkdir()
    assert load_submission("bicubic").folder == resources.baseline_dir("bicubic").resolve()


def test_init_submission_names_the_submission_after_its_folder(tmp_path):
    from geochem_bench.cli.main import main

    assert main(["init-submission", str(tmp_path / "model-b")]) == 0
    assert load_submission(tmp_path / "model-b").name == "model-b"
    assert main(["init-submission", str(tmp_path / "model-b")]) == 2  # not empty any more


def test_an_edited_model_package_makes_the_revision_dirty(tmp_path):
    """Red team: a packaged baseline's folder holds only its card, so an edited model module
    still read as a clean commit."""
    import subprocess

    from geochem_bench.evaluation.provenance import git_revision

    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "card").mkdir()
    (repo / "pkg" / "model.py").write_text("X = 1\n")
    (repo / "card" / "submission.toml").write_text("[submission]\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    clean = git_revision(repo / "card", repo / "pkg")
    assert clean is not None and not clean.endswith("-dirty")
    (repo / "pkg" / "model.py").write_text("X = 2\n")
    assert git_revision(repo / "card") == clean  # the card's folder alone cannot tell
    assert git_revision(repo / "card", repo / "pkg") == f"{clean}-dirty"
    assert git_revision(repo / "card", tmp_path / "elsewhere") == clean  # outside: ignored


@pytest.mark.parametrize(
    "value, expected",
    [(None, ("grid", "points", "transfer")), (["points", "grid"], ("grid", "points"))],
)
def test_protocols_default_to_all_and_keep_the_suite_order(value, expected):
    from geochem_bench.evaluation.submission import Submission

    metadata = {} if value is None else {"protocols": value}
    assert Submission("m", "1", "a:B", metadata=metadata).protocols == expected


@pytest.mark.parametrize("value", [[], "grid", ["grid", "raster"], [1]])
def test_bad_protocols_are_refused_with_the_fix(value):
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.evaluation.submission import Submission

    with pytest.raises(InvalidInputError, match="protocols must be a non-empty list"):
        _ = Submission("m", "1", "a:B", metadata={"protocols": value}).protocols
