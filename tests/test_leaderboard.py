"""Building and rendering the board from result folders, bad files included."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from geochem_bench.board.leaderboard import load_leaderboard
from geochem_bench.board.rendering import (
    CSV_NAME,
    HTML_NAME,
    MARKDOWN_NAME,
    PLOT_NAME,
    render_csv,
    render_html,
    render_markdown,
    write_board,
)

from .conftest import release_suite

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ROOT / "leaderboard" / "results"
BOARD = ROOT / "leaderboard"


@pytest.fixture(scope="module")
def official_board():
    return load_leaderboard(OFFICIAL)


def test_committed_board_matches_a_fresh_rendering(official_board):
    assert (BOARD / MARKDOWN_NAME).read_text() == render_markdown(official_board)
    assert (BOARD / CSV_NAME).read_text() == render_csv(official_board)
    assert (BOARD / HTML_NAME).read_text() == render_html(official_board)
    assert (BOARD / PLOT_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert official_board.skipped == []


def test_v1_records_stay_readable_on_their_own_board():
    """v1 records keep their board (v1 pins, v1 verifications), rendered as committed."""
    v1 = load_leaderboard(BOARD / "v1" / "results", benchmark_version="1.0")
    assert v1.skipped == [] and v1.benchmark_version == "1.0"
    assert (BOARD / "v1" / MARKDOWN_NAME).read_text() == render_markdown(v1)
    assert (BOARD / "v1" / CSV_NAME).read_text() == render_csv(v1)
    assert v1.verified("bicubic", "1.0.0").verified  # old digests still match
    assert "v1.0 records" in render_markdown(v1)
    # on the current board the same files are refused with a pointer to their own board
    current = load_leaderboard(BOARD / "v1" / "results")
    assert current.tasks == [] and current.skipped
    assert all("--benchmark 1.0" in s.reason for s in current.skipped)


def test_official_board_is_consistent(official_board):
    names = {s.submission for s in official_board.suite}
    assert {"bicubic", "idw", "ordinary-kriging", "random-forest", "fusion-cnn"} <= names
    assert official_board.protocols == ["grid", "points", "transfer"]
    # bicubic is the grid reference: skill 0 there by construction, not on points
    grid = {s.submission: s for s in official_board.suite_of("grid")}
    assert grid["bicubic"].complete and grid["bicubic"].iqm.estimate == pytest.approx(0.0)
    for t in official_board.tasks:
        assert t.skill.low is not None and t.skill.low <= t.skill.estimate + 1e-9
        assert t.skill.estimate <= t.skill.high + 1e-9
        assert all(v is not None for v in t.bias.values())  # bias sits next to skill
        if t.protocol == "grid":
            assert all(v is not None and v >= 0 for v in t.coherence.values())
        if t.task_id.startswith(("synthetic/", "olinda/")):
            assert t.n_realisations == 3
    stochastic = {t.n_seeds for t in official_board.tasks if t.submission == "fusion-cnn"}
    assert stochastic == {3}
    # the overall standing is the mean of the per-protocol ranks
    for o in official_board.overall:
        assert o.mean_rank == pytest.approx(sum(o.ranks.values()) / len(o.ranks))
    markdown = render_markdown(official_board)
    assert "bias Cu" in markdown and "coherence Cu" in markdown


def _copy(tmp_path: Path, *submissions: str) -> Path:
    out = tmp_path / "results"
    for name in submissions:
        shutil.copytree(OFFICIAL / name, out / name)
    return out


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _block_rmse(path: Path, element: str = "Cu") -> str:
    blocks = json.loads(path.read_text())["errors"][element]
    return f"{math.sqrt(math.fsum(blocks['sse']) / sum(blocks['n'])):.6g}"


def test_bad_files_are_skipped_and_listed_never_crash(tmp_path):
    out = _copy(tmp_path, "bicubic", "idw")
    idw = next((out / "idw").iterdir())
    files = sorted(idw.rglob("fold-*.json"))
    files[0].write_text('{"schema_version": "1.1.0", "status": ')  # truncated
    _edit(files[1], lambda d: d.update(benchmark_version="0.9"))
    _edit(files[2], lambda d: d["metrics"][d["task"]["elements"][0]].update(rmse=1e300))

    def contradict(d):
        element = d["task"]["elements"][0]
        d["metrics"][element]["rmse"] *= 0.5  # the blocks still say the true RMSE

    _edit(files[3], contradict)
    _edit(files[4], lambda d: d["dataset"]["sha256"].update(covariates="0" * 64))
    _edit(files[5], lambda d: d["submission"].update(name="../../etc/passwd"))
    hostile = out / "idw" / idw.name / "synthetic" / "fold-0.json"
    hostile.write_text(json.dumps({"status": "ok", "metrics": {"Cu": {"rmse": "NaN"}}}))

    board = load_leaderboard(out, n_boot=50, suite_task_ids=release_suite("bicubic", "idw"))
    reasons = {s.path: s.reason for s in board.skipped}
    rel = [str(f.relative_to(out)) for f in files]
    assert "not a valid geochem-bench result" in reasons[rel[0]]
    assert "a benchmark v0.9 record on the v2.0 board" in reasons[rel[1]]
    assert reasons[rel[2]] == f"Cu rmse is 1e+300, its error blocks give {_block_rmse(files[2])}"
    half = json.loads(files[3].read_text())["metrics"]["Cu"]["rmse"]
    assert (
        reasons[rel[3]] == f"Cu rmse is {half:.6g}, its error blocks give {_block_rmse(files[3])}"
    )
    task = json.loads(files[4].read_text())["task"]
    assert reasons[rel[4]] == (
        f"computed on other data than the official {task['id']} (dataset sha256 of "
        f"covariates differs from the pinned one): rebuild the scene (geochem-bench download "
        f"{task['scene']} --force) and rerun"
    )
    assert "wrong path" in reasons[rel[5]]
    assert str(hostile.relative_to(out)) in reasons
    # the broken tasks drop out of idw's score and are said to; bicubic is untouched
    broken = [s for s in board.suite if s.submission == "idw" and not s.complete]
    assert broken and all(s.rank is None for s in broken)
    assert {i.task_id for i in board.incomplete if i.submission == "idw"}
    assert all(s.complete for s in board.suite if s.submission == "bicubic")
    text = render_markdown(board)
    assert "## Skipped files" in text and "benchmark v0.9 record" in text


def test_a_symlinked_record_is_not_read(tmp_path):
    """A link could pass a rival's file off as another seed of its own: skipped, not read."""
    out = _copy(tmp_path, "bicubic", "idw")
    mine = next(p for p in sorted((out / "bicubic").rglob("fold-0.json")) if "meuse" in str(p))
    rival = out / "idw" / mine.relative_to(out / "bicubic")
    link = rival.with_name("fold-0-seed-1.json")
    link.symlink_to(mine)
    board = load_leaderboard(out, n_boot=50, suite_task_ids=release_suite("bicubic", "idw"))
    assert {s.path: s.reason for s in board.skipped} == {
        str(link.relative_to(out)): "a link to another record of the folder"
    }
    assert all(s.complete for s in board.suite)


def test_failed_folds_make_a_task_incomplete(tmp_path):
    out = _copy(tmp_path, "bicubic")
    path = next(
        p for p in sorted(out.rglob("fold-1.json")) if "meuse/cd/s10/points" in p.as_posix()
    )

    def fail(d):
        d.update(status="failed", metrics=None, errors=None)
        d["failure"] = {"kind": "timeout", "message": "over 1800 s"}

    _edit(path, fail)
    board = load_leaderboard(out, n_boot=50)
    assert [i.reason for i in board.incomplete] == ["meuse/cd/s10/points: folds [1] failed"]
    assert board.skipped == []


def test_a_protocol_the_card_does_not_enter_is_not_missing(tmp_path):
    out = _copy(tmp_path, "bicubic")
    for path in out.rglob("fold-*.json"):
        if "/points/" in path.as_posix() or "/transfer/" in path.as_posix():
            path.unlink()
    # deleting a protocol's records does not make the submission grid-only: they are missing
    board = load_leaderboard(out, n_boot=50)
    missing = {i.task_id for i in board.incomplete if i.reason == "no records"}
    assert missing and all(t.endswith(("/points", "/transfer")) for t in missing)
    # the card saying so does (what `protocols = ["grid"]` in submission.toml writes)
    _edit(next(out.rglob("submission.json")), lambda d: d.update(protocols=["grid"]))
    board = load_leaderboard(out, n_boot=50)
    assert board.incomplete == []
    assert {s.protocol for s in board.suite} == {"grid"}
    assert board.overall == []  # the overall rank needs every protocol
    for path in sorted(out.rglob("synthetic/all/s4/grid/*.json")):
        path.unlink()  # a grid task gone: the protocol it enters is incomplete
    board = load_leaderboard(out, n_boot=50)
    assert [(i.task_id, i.reason) for i in board.incomplete] == [
        ("synthetic/all/s4/grid", "no records")
    ]


def test_missing_results_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_leaderboard(tmp_path / "nope")


@pytest.mark.browser
def test_static_page_shows_table_and_plot_in_chromium(tmp_path, official_board):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "install the Debian package chromium to run the browser tests"
    write_board(official_board, tmp_path)
    page = (tmp_path / HTML_NAME).as_uri()
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert dom.count("<tr>") >= len(official_board.suite) + 1
    assert 'id="plot"' in dom and 'data-loaded="yes"' in dom  # the PNG decoded in the page
    for score in official_board.suite:
        assert score.submission in dom
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            page,
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000


def test_model_index_lists_every_task_with_skill_and_rmse(official_board, capsys):
    import yaml

    from geochem_bench.board.model_index import model_index, model_index_yaml
    from geochem_bench.cli.main import main

    index = model_index(official_board, "bicubic")  # scored on every suite task
    results = index["model-index"][0]["results"]
    assert len(results) == len(official_board.suite_task_ids)
    first = results[0]
    assert first["metrics"][0]["type"] == "skill" and "95% CI" in first["metrics"][0]["name"]
    assert yaml.safe_load(model_index_yaml(index)) == index
    assert main(["model-index", "bicubic", "--source", str(OFFICIAL)]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == index
    with pytest.raises(KeyError, match="the board has"):
        model_index(official_board, "no-such-model")
