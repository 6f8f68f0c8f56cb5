"""The Hub client at its HTTP boundary: the real huggingface_hub talks to a fake transport."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import httpx2
import pyarrow.parquet as pq
import pytest

from geochem_bench.board.folder import board_files, write_board
from geochem_bench.board.hub import (
    HubUnavailable,
    SubmissionRefused,
    prepare_submission,
    publish_board,
    submit,
)
from geochem_bench.board.leaderboard import load_leaderboard
from geochem_bench.cli.main import main
from geochem_bench.evaluation.submission import SubmissionCard, write_card
from tests.conftest import add_canaries
from tests.fake_hub import FakeHub

OFFICIAL = Path(__file__).resolve().parents[1] / "leaderboard" / "results"
REPO = "geochem-bench-test/results"
TOKEN = "hf_secretTOKENvalue1234567890"


@pytest.fixture()
def hub(monkeypatch):
    import huggingface_hub
    from huggingface_hub.utils import _http

    fake = FakeHub(REPO)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(
            transport=httpx2.MockTransport(fake.handler),
            event_hooks={"request": [_http.hf_request_event_hook]},
        )
    )
    yield fake
    huggingface_hub.set_client_factory(_http.default_client_factory)


@pytest.fixture()
def results(tmp_path) -> Path:
    """A complete submission: the official bicubic records with a card and canary folds."""
    out = tmp_path / "out"
    shutil.copytree(OFFICIAL / "bicubic", out / "bicubic")
    add_canaries(out)
    version = next((out / "bicubic").iterdir()).name
    write_card(
        SubmissionCard(
            name="bicubic",
            version=version,
            authors=["A. Tester"],
            licence="MIT",
            code="https://example.org/code",
        ),
        out,
    )
    return out


def _record_files(out: Path) -> list[Path]:
    return sorted(out.rglob("fold-*.json"))


def test_submit_sends_one_pull_request_with_exactly_the_submission(hub, results, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    assert main(["submit", str(results), "--repo", REPO]) == 0
    assert len(hub.commits) == 1
    commit = hub.commits[0]
    assert commit.create_pr
    version = next((results / "bicubic").iterdir()).name
    expected = {
        f"results/bicubic/{version}/{p.relative_to(results / 'bicubic' / version).as_posix()}"
        for p in _record_files(results)
    } | {f"results/bicubic/{version}/submission.json"}
    assert set(commit.files) == expected
    assert all(p.startswith(f"results/bicubic/{version}/") for p in commit.files)
    some = next(iter(sorted(expected - {f"results/bicubic/{version}/submission.json"})))
    local = results / "bicubic" / version / some.removeprefix(f"results/bicubic/{version}/")
    assert commit.files[some] == local.read_bytes()
    assert commit.summary.startswith(f"Add bicubic {version}")
    assert "A. Tester" in commit.description and "MIT" in commit.description
    assert commit.parent == FakeHub(REPO).sha  # the head it was validated against
    # the token is sent to the Hub and nowhere else
    sent = [r.headers.get("authorization") for r in hub.requests]
    assert sent and all(h == f"Bearer {TOKEN}" for h in sent)
    captured = capsys.readouterr()
    assert "discussions/1" in captured.out
    assert TOKEN not in captured.out + captured.err + caplog.text
    assert not any(TOKEN in p.read_text() for p in results.rglob("*") if p.is_file())


def test_incomplete_suite_is_refused_before_any_request(hub, results):
    victim = next(p for p in _record_files(results) if "meuse/zn" in p.as_posix())
    victim.unlink()
    with pytest.raises(SubmissionRefused, match=r"meuse/zn/s10/points: no record for fold\(s\)"):
        submit(results, REPO)
    assert hub.requests == []


def test_other_benchmark_version_and_missing_authors_are_named(hub, results):
    path = _record_files(results)[0]
    data = json.loads(path.read_text())
    data["benchmark_version"] = "0.9"
    path.write_text(json.dumps(data))
    card = next(results.rglob("submission.json"))
    card_data = json.loads(card.read_text())
    card_data["authors"] = []
    card.write_text(json.dumps(card_data))
    with pytest.raises(SubmissionRefused) as info:
        prepare_submission(results)
    message = str(info.value)
    assert "benchmark v0.9 record" in message and "'authors' is empty" in message
    assert "2 problem(s)" in message


def test_invalid_record_is_refused_with_its_name(hub, results):
    path = _record_files(results)[3]
    path.write_text('{"status": "ok"')
    with pytest.raises(SubmissionRefused, match=path.name):
        submit(results, REPO)
    assert hub.commits == []


def test_existing_namespace_is_never_overwritten(hub, results):
    version = next((results / "bicubic").iterdir()).name
    hub.files[f"results/bicubic/{version}/submission.json"] = b"{}"
    hub.files["results/other/1/submission.json"] = b"{}"
    with pytest.raises(SubmissionRefused, match="never overwritten"):
        submit(results, REPO)
    assert hub.commits == []


def test_other_submissions_do_not_block(hub, results):
    hub.files["results/other/1/submission.json"] = b"{}"
    submit(results, REPO, create_pr=False)
    assert not hub.commits[0].create_pr
    assert hub.files["results/other/1/submission.json"] == b"{}"


def test_transient_errors_are_retried(hub, results):
    hub.failures = ["connect", 503]  # the first two requests fail, then the Hub recovers
    waits: list[float] = []
    url = submit(results, REPO, sleep=waits.append)
    assert len(hub.commits) == 1 and url.endswith("/discussions/1")
    assert len(waits) == 2 and waits[1] > waits[0]


def test_unreachable_hub_gives_a_clear_error_and_commits_nothing(hub, results, capsys):
    hub.failures = ["connect"] * 50
    with pytest.raises(HubUnavailable, match="nothing was committed"):
        submit(results, REPO, attempts=3, sleep=lambda s: None)
    assert hub.commits == []


def test_authorisation_errors_are_not_retried(hub, results):
    from huggingface_hub.errors import HfHubHTTPError

    hub.failures = [401]
    with pytest.raises(HfHubHTTPError):
        submit(results, REPO, sleep=lambda s: None)
    assert len(hub.requests) == 1


def test_dry_run_lists_files_and_sends_nothing(hub, results, capsys):
    assert main(["submit", str(results), "--repo", REPO, "--dry-run"]) == 0
    assert "submission.json" in capsys.readouterr().out
    assert hub.requests == []


def test_publish_uploads_board_table_and_card_in_one_commit(hub, tmp_path):
    board = load_leaderboard(OFFICIAL, n_boot=50)
    folder = tmp_path / "board"
    write_board(board, folder)
    from geochem_bench.board.leaderboard import collect_records

    records = [r for _, r in collect_records(OFFICIAL)[0]]
    publish_board(folder, records, REPO, sleep=lambda s: None)
    assert len(hub.commits) == 1
    files = hub.commits[0].files
    rendered = {f"leaderboard/{p.relative_to(folder).as_posix()}" for p in board_files(folder)}
    assert {
        "leaderboard/index.html",
        "leaderboard/board.js",
        "leaderboard/LEADERBOARD.md",
    } < rendered
    assert any(p.startswith("leaderboard/submissions/") for p in rendered)
    assert any(p.startswith("leaderboard/plots/") for p in rendered)
    assert set(files) == rendered | {"data/results.parquet", "README.md"}
    table = pq.read_table(io.BytesIO(files["data/results.parquet"]))
    assert table.num_rows == sum(len(r.task.elements) for r in records)
    assert "path: data/results.parquet" in files["README.md"].decode()
    assert TOKEN not in files["README.md"].decode()
    # the repository as published loads with datasets, through the card's configs
    import datasets

    repo = tmp_path / "repo"
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(content)
    loaded = datasets.load_dataset(str(repo), split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == table.num_rows and "skill" in loaded.column_names


def test_leaderboard_from_the_hub_downloads_the_records(hub, tmp_path, monkeypatch, capsys):
    for path in sorted((OFFICIAL / "bicubic").rglob("fold-*.json"))[:6]:
        hub.files[f"results/bicubic/{path.relative_to(OFFICIAL / 'bicubic').as_posix()}"] = (
            path.read_bytes()
        )
    hub.files["README.md"] = b"card"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import huggingface_hub.constants

    # the cache path is read at import: a snapshot of the fake repo left by an earlier run
    # (same fake commit) would be served instead of these files
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    from geochem_bench.board.hub import download_results

    local = download_results(REPO, cache_dir=tmp_path / "cache")
    assert len(list(local.rglob("fold-*.json"))) == 6
    assert not (local.parent / "README.md").exists()  # only the records are fetched
    assert main(["leaderboard", "--repo", REPO, "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert "bicubic 1.0.0" in out and "suite score" in out


def test_hostile_submission_name_is_refused(hub, results):
    card = next(results.rglob("submission.json"))
    data = json.loads(card.read_text())
    data["name"] = "../../victim"
    card.write_text(json.dumps(data))
    with pytest.raises(SubmissionRefused, match="not a plain path component"):
        submit(results, REPO)
    assert hub.requests == []


def test_one_submission_folder_of_a_shared_results_folder_can_be_submitted(results):
    shutil.copytree(OFFICIAL / "idw", results / "idw")  # a second submission beside ours
    with pytest.raises(SubmissionRefused, match="one <submission>/<version> folder at a time"):
        prepare_submission(results)
    version = next((results / "bicubic").iterdir()).name
    bundle = prepare_submission(results / "bicubic" / version)
    from geochem_bench.scenes.registry import suite_tasks

    assert bundle.card.name == "bicubic"
    assert len(bundle.records) == sum(t.n_folds for t in suite_tasks())  # one per suite fold
    assert all(p.startswith(f"results/bicubic/{version}/") for p, _ in bundle.files)


def test_records_the_board_would_skip_are_refused(hub, results):
    path = next(p for p in _record_files(results) if "meuse/zn" in p.as_posix())
    data = json.loads(path.read_text())
    data_rmse = json.loads(path.read_text())["metrics"]
    data["metrics"]["Zn"]["rmse"] *= 0.5  # the error blocks still give the true RMSE
    path.write_text(json.dumps(data))
    stale = next(p for p in _record_files(results) if "jura/cd/s10/points" in p.as_posix())
    data = json.loads(stale.read_text())
    data["task"]["version"] = "0"
    stale.write_text(json.dumps(data))
    with pytest.raises(SubmissionRefused) as info:
        submit(results, REPO)
    message = str(info.value)
    half, true = data_rmse["Zn"]["rmse"] * 0.5, data_rmse["Zn"]["rmse"]
    assert f"{path}: Zn rmse is {half:.6g}, its error blocks give {true:.6g}" in message
    assert f"{stale}: task jura/cd/s10/points version 0 is stale: rerun it" in message
    assert hub.requests == []


def test_a_python_submission_without_canary_folds_is_refused(hub, results):
    for path in results.rglob("fold-0.json"):
        record = json.loads(path.read_text())
        record.pop("canary")
        path.write_text(json.dumps(record))
    with pytest.raises(SubmissionRefused, match=r"have no canary fold .* --canary"):
        submit(results, repo_id=REPO)
    assert hub.requests == []


def test_a_flagged_canary_is_refused(hub, results):
    path = sorted(results.rglob("fold-0.json"))[0]
    record = json.loads(path.read_text())
    record["canary"] = {
        "changed": True,
        "max_abs_diff": 3.0,
        "tolerance": 1e-5,
        "message": "the prediction changed",
    }
    path.write_text(json.dumps(record))
    with pytest.raises(SubmissionRefused, match="its canary fold flagged a leak"):
        submit(results, repo_id=REPO)
