from __future__ import annotations

import re

import pytest

from geochem_bench.board.citations import ALWAYS, bibtex, citation_keys, scene_references
from geochem_bench.cli.main import main
from geochem_bench.scenes.registry import scenes


def test_every_scene_has_references_and_every_key_resolves():
    assert set(scenes()) <= set(scene_references())
    keys = citation_keys(
        (name, p) for name in scene_references() for p in ("grid", "points", "transfer")
    )
    text = bibtex(keys)
    assert len(re.findall(r"^@\w+\{", text, flags=re.M)) == len(keys)
    assert text.count("{") == text.count("}")


def test_cite_prints_exactly_what_the_tasks_used(capsys):
    assert main(["cite", "jura/cd/s10/points"]) == 0
    keys = re.findall(r"^@\w+\{([^,]+),", capsys.readouterr().out, flags=re.M)
    assert keys == [*ALWAYS, *scene_references()["jura"]]
    assert main(["cite", "olinda/all/s8/grid"]) == 0
    keys = re.findall(r"^@\w+\{([^,]+),", capsys.readouterr().out, flags=re.M)
    assert "wald1997fusion" in keys and "goovaerts1997geostatistics" not in keys


def test_cite_from_a_results_folder(tmp_path, capsys):
    from geochem_bench.evaluation.executors import evaluate
    from geochem_bench.evaluation.harness import RunOptions
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.scenes.registry import list_tasks

    evaluate(
        load_submission("geochem_bench.models:BicubicUpsampling", name="b"),
        list_tasks(["synthetic/all/s16/grid"]),
        RunOptions(out_dir=tmp_path, isolation="inline", progress=False),
    )
    assert main(["cite", "--results", str(tmp_path)]) == 0
    keys = re.findall(r"^@\w+\{([^,]+),", capsys.readouterr().out, flags=re.M)
    assert keys == [*ALWAYS, "wald1997fusion"]


def test_unknown_scene_is_explained():
    with pytest.raises(KeyError, match="cite your survey's own sources"):
        citation_keys([("my-survey", "points")])
