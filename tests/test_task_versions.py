"""A new task version: records of the old one stay valid for it, scored apart and marked.

The pins keep each earlier version of a task with the data it ran on (``Pins.superseded``,
carried over by ``python -m geochem_bench.board.pins --write``). The board accepts a record of
that version against those pins, scores it as that version in its own section, and never
pools it with the current version's records or counts it in a suite.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from geochem_bench.board.leaderboard import build_leaderboard, collect_records
from geochem_bench.board.pins import (
    Pins,
    SupersededPin,
    carry_superseded,
    load_pins,
    pins_json,
    read_pins,
    superseded_key,
)
from geochem_bench.board.rendering import render_csv, render_markdown
from geochem_bench.board.site import render_html
from geochem_bench.board.validation import check_record
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.records import ResultRecord, read_result, result_path, write_result

OFFICIAL = Path(__file__).resolve().parents[1] / "leaderboard" / "results"
GRID = "sir-samuel-radiometrics/all/s16/grid"  # one fold, at version 1
POINTS = "meuse/zn/s10/points"  # five folds


def _records(name: str, task_id: str) -> list[ResultRecord]:
    return [read_result(p) for p in sorted((OFFICIAL / name).glob(f"*/{task_id}/fold-*.json"))]


def _as_version(record: ResultRecord, version: str) -> ResultRecord:
    return record.model_copy(update={"task": record.task.model_copy(update={"version": version})})


def _bumped(pins: Pins, *task_ids: str) -> Pins:
    """``pins`` after a release that moved ``task_ids`` from their version to the next one.

    The new version's reference facts are the old ones (the change could be anything that
    keeps them); only the version moves, so a record relabelled to it matches its pin.
    """
    tasks, superseded = dict(pins.tasks), dict(pins.superseded)
    for task_id in task_ids:
        old = pins.tasks[task_id]
        new_version = str(int(old.task.version) + 1)
        tasks[task_id] = old.model_copy(
            update={"task": old.task.model_copy(update={"version": new_version})}
        )
        key = superseded_key(task_id, old.task.version)
        superseded[key] = SupersededPin(task=old, scene=pins.scenes[old.task.scene])
    return pins.model_copy(update={"tasks": tasks, "superseded": superseded})


def test_a_record_of_a_superseded_version_is_accepted_against_that_version_only():
    pins = load_pins()
    version = pins.tasks[GRID].task.version
    bumped = _bumped(pins, GRID)
    (old,) = _records("bicubic", GRID)
    assert old.task.version == version
    assert check_record(old, bumped) == []  # checked against the superseded pin and data
    assert bumped.is_superseded(GRID, version) and not bumped.is_superseded(GRID, "2")
    # without the kept pin the same record is stale, and says so
    forgotten = bumped.model_copy(update={"superseded": {}})
    (reason,) = check_record(old, forgotten)
    assert reason.startswith(f"task {GRID} version {version} is stale: rerun it (the suite runs")
    # a version nobody pinned is refused too
    (reason,) = check_record(_as_version(old, "7"), bumped)
    assert "version 7 is stale: rerun it" in reason
    # the old version's checks still bite: a forged reference sum is refused
    assert old.errors is not None
    blocks = {k: v.model_copy() for k, v in old.errors.items()}
    blocks["K"] = blocks["K"].model_copy(
        update={"sse_reference": [2 * v for v in blocks["K"].sse_reference]}
    )
    assert check_record(old.model_copy(update={"errors": blocks}), bumped)


def _write(root: Path, record: ResultRecord) -> None:
    path = result_path(
        root,
        record.submission.name,
        record.submission.version,
        record.task.id,
        record.fold,
        record.seed,
    )
    write_result(record, path)


def test_the_board_scores_old_version_records_apart_and_labels_them(tmp_path):
    pins = _bumped(load_pins(), GRID, POINTS)
    root = tmp_path / "results"
    for record in _records("bicubic", GRID) + _records("bicubic", POINTS):
        _write(root, record)  # bicubic: run before the release, version 1
    idw_points = _records("idw", POINTS)
    for record in _records("idw", GRID):
        _write(root, _as_version(record, "2"))  # idw: rerun on version 2 of the grid task
    for record in idw_points[:3]:
        _write(root, record)  # idw's points task: folds 0-2 of version 1 ...
    for record in idw_points[3:]:
        _write(root, _as_version(record, "2"))  # ... and folds 3-4 of version 2
    found, skipped = collect_records(root, pins)
    assert skipped == [] and len(found) == 1 + 5 + 1 + 5  # every record is valid
    board = build_leaderboard(
        [r for _, r in found], suite_task_ids=[GRID, POINTS], n_boot=50, pins=pins
    )
    # current version: idw on the grid task only; bicubic's records are not in it
    assert [(t.submission, t.task_id, t.task_version) for t in board.tasks] == [("idw", GRID, "2")]
    assert not any(t.superseded for t in board.tasks)
    # the old version: bicubic on both tasks, marked, scored on its own records
    old = {(t.submission, t.task_id): t for t in board.superseded}
    assert set(old) == {("bicubic", GRID), ("bicubic", POINTS)}
    assert all(t.superseded and t.task_version == "1" for t in old.values())
    (bicubic_grid,) = _records("bicubic", GRID)
    assert bicubic_grid.metrics is not None
    assert old[("bicubic", GRID)].skill.estimate == pytest.approx(
        bicubic_grid.metrics["overall"]["skill"]
    )
    # never pooled: idw's points folds of two versions make a score of neither
    reasons = {(i.submission, i.task_id): i.reason for i in board.incomplete}
    assert reasons[("idw", POINTS)] == (
        f"{POINTS}: folds [0, 1, 2] have no record of version 2; records of version 1 are "
        "scored apart as superseded and cannot fill them"
    )
    assert reasons[("idw", f"{POINTS} (version 1)")] == f"{POINTS}: folds [3, 4] have no record"
    assert reasons[("bicubic", GRID)] == (
        "only records of task version 1, superseded by version 2: scored apart as that "
        "version; rerun the task for the suite"
    )
    # no suite counts an old version: bicubic has no suite score, idw's grid suite is complete
    suites = {(s.submission, s.protocol): s for s in board.suite}
    assert set(suites) == {("idw", "grid")} and suites[("idw", "grid")].complete
    # labelled on every rendering
    markdown = render_markdown(board)
    assert "## Superseded task versions" in markdown
    assert f"### {GRID}, task version 1 (superseded)" in markdown
    section = markdown.split("## Superseded task versions")[1].split("## Not scored")[0]
    assert "bicubic 1.0.0" in section and "idw" not in section.split(POINTS)[0]
    assert f"\n### {GRID}\n" in markdown.split("## Superseded task versions")[0]
    csv = render_csv(board)
    assert f",{GRID}@1,sir-samuel-radiometrics,grid,,skill," in csv
    assert f",{GRID},sir-samuel-radiometrics,grid,,skill," in csv  # idw's current score
    assert f"{GRID}, task version 1 (superseded)" in render_html(board)


def test_superseded_records_of_an_earlier_card_do_not_unrank_the_current_ones(tmp_path):
    """A card that changed its stochastic flag after its old-version runs: the records of the
    current versions decide, and the old ones are still scored apart."""
    pins = _bumped(load_pins(), GRID)
    root = tmp_path / "results"
    for record in _records("idw", POINTS):
        _write(root, record)  # current version of the points task, deterministic card
    for record in _records("idw", GRID):  # version 1 only, run when the card said stochastic
        submission = record.submission.model_copy(update={"stochastic": True})
        _write(root, record.model_copy(update={"submission": submission}))
    found, skipped = collect_records(root, pins)
    assert skipped == [] and len(found) == 6
    board = build_leaderboard(
        [r for _, r in found], suite_task_ids=[GRID, POINTS], n_boot=50, pins=pins
    )
    assert [(t.task_id, t.superseded) for t in board.tasks] == [(POINTS, False)]
    assert [s.protocol for s in board.suite] == ["points"]
    # the old version is judged on its own records: one seed of a stochastic card is short
    reasons = {i.task_id: i.reason for i in board.incomplete}
    assert "seed" in reasons[f"{GRID} (version 1)"]
    assert not any("disagree" in r for r in reasons.values())


def test_pins_write_carries_an_old_version_over_and_refuses_a_silent_change(tmp_path):
    pins = load_pins()
    bumped = _bumped(pins, GRID)
    fresh = bumped.model_copy(update={"superseded": {}})  # what compute_pins makes
    carried = carry_superseded(fresh, pins)
    assert carried.superseded == bumped.superseded
    assert (
        carried.superseded[superseded_key(GRID, "1")].scene
        == pins.scenes["sir-samuel-radiometrics"]
    )
    # kept on the next release; a version that is current again is no longer superseded
    assert carry_superseded(fresh, carried).superseded == carried.superseded
    assert set(carry_superseded(pins, carried).superseded) == {*pins.superseded, f"{GRID}@2"}
    # a task that leaves the suite is dropped with its old versions, not superseded
    retired = carried.model_copy(
        update={"tasks": {k: v for k, v in carried.tasks.items() if k != GRID}}
    )
    assert carry_superseded(retired.model_copy(update={"superseded": {}}), carried).superseded == (
        pins.superseded
    )
    # the same version with other reference facts: refused, naming the fix
    old = pins.tasks[GRID]
    changed_fold = {
        symbol: pin.model_copy(update={"sse_reference": pin.sse_reference * 1.01})
        for symbol, pin in old.folds[0].items()
    }
    silent = pins.model_copy(
        update={"tasks": {**pins.tasks, GRID: old.model_copy(update={"folds": [changed_fold]})}}
    )
    with pytest.raises(InvalidInputError, match=rf"task {GRID} keeps version 1 but the reference"):
        carry_superseded(silent, pins)
    data = pins.scenes["sir-samuel-radiometrics"].dataset
    other_data = pins.model_copy(
        update={
            "scenes": {
                **pins.scenes,
                "sir-samuel-radiometrics": pins.scenes["sir-samuel-radiometrics"].model_copy(
                    update={"dataset": data.model_copy(update={"version": "9"})}
                ),
            }
        }
    )
    with pytest.raises(
        InvalidInputError, match="the data of scene sir-samuel-radiometrics changed: bump"
    ):
        carry_superseded(other_data, pins)
    # the file keeps them, one per line, and reads back the same
    path = tmp_path / "pins.json"
    path.write_text(pins_json(carried))
    assert read_pins(path) == carried
    text = path.read_text()
    assert '\n "superseded": {\n' in text and f'\n  "{GRID}@1": {{' in text  # one per line
    assert json.loads(text)["superseded"].keys() == {*pins.superseded, f"{GRID}@1"}
    # a file without the section (every pins file before the first bump) is still valid
    none = pins.model_copy(update={"superseded": {}})
    assert "superseded" not in pins_json(none)
    path.write_text(pins_json(none))
    assert read_pins(path) == none


def test_committed_records_of_a_task_are_not_superseded_on_their_own_board():
    """The v1 board's pins keep no superseded versions: its records are all current there."""
    v1 = load_pins("1.0")
    assert v1.superseded == {}
    assert not any(v1.is_superseded(t, p.task.version) for t, p in v1.tasks.items())


def test_copy_of_official_records_keeps_its_verification(tmp_path):
    """Superseded records still count for a submission's verification (it vouches for all)."""
    from geochem_bench.board.leaderboard import load_board_inputs

    shutil.copytree(OFFICIAL / "bicubic", tmp_path / "bicubic")
    records, reports, skipped = load_board_inputs(tmp_path)
    assert skipped == []
    pins = _bumped(load_pins(), GRID)
    board = build_leaderboard(records, n_boot=20, reports=reports, pins=pins)
    assert [t.task_id for t in board.superseded] == [GRID]
    assert board.verified("bicubic", "1.0.0").verified
