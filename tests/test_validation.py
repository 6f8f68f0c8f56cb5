"""Hostile records and files: the board and submit check records, they do not trust them."""

from __future__ import annotations

import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from geochem_bench.board.hub import MissingToken, SubmissionRefused, prepare_submission, submit
from geochem_bench.board.leaderboard import load_leaderboard
from geochem_bench.board.pins import compute_pins, load_pins
from geochem_bench.board.rendering import markdown_text, render_csv, render_markdown
from geochem_bench.board.site import board_data, render_html
from geochem_bench.board.validation import REPRODUCIBLE_REL_TOL, check_record
from geochem_bench.cli.main import main
from geochem_bench.evaluation.record_factory import make_record
from geochem_bench.evaluation.records import (
    MAX_FILE_BYTES,
    MAX_JSON_DEPTH,
    SCHEMA_VERSION,
    VERIFICATION_NAME,
    ResultRecord,
    VerificationReport,
    VerifiedFold,
    read_result,
    record_digest,
    records_manifest_digest,
    result_path,
    write_result,
)
from geochem_bench.evaluation.submission import SubmissionCard, write_card
from geochem_bench.scenes import SCENES
from geochem_bench.scenes.registry import get_task
from tests.conftest import add_canaries, release_suite
from tests.test_hub import REPO, hub  # noqa: F401  (the fake Hub fixture)

OFFICIAL = Path(__file__).resolve().parents[1] / "leaderboard" / "results"
TASK = "meuse/zn/s10/points"


def official(name: str = "nearest", task: str = TASK, fold: int = 0) -> ResultRecord:
    return read_result(next((OFFICIAL / name).glob(f"*/{task}/fold-{fold}.json")))


def forge(record: ResultRecord, name: str | None = None, **changes) -> ResultRecord:
    """The record remade by the record factory with some fields replaced."""
    info = record.submission
    if name is not None:
        info = info.model_copy(update={"name": name})
    return make_record(
        info,
        get_task(record.task.id),
        record.fold,
        changes.get("dataset", record.dataset),
        seed=record.seed,
        metrics=changes.get("metrics", record.metrics),
        errors=changes.get("errors", record.errors),
    )


def with_overall_skill(record: ResultRecord, value: float) -> ResultRecord:
    metrics = {k: dict(v) for k, v in (record.metrics or {}).items()}
    metrics["overall"]["skill"] = value
    return forge(record, metrics=metrics)


def _derived_overall(record: ResultRecord) -> float:
    assert record.errors is not None
    skills = [
        1 - math.sqrt(math.fsum(b.sse) / math.fsum(b.sse_reference)) for b in record.errors.values()
    ]
    return sum(skills) / len(skills)


@pytest.mark.parametrize("value", [0.95, 1e300])
def test_forged_overall_skill_is_refused(value):
    record = with_overall_skill(official(), value)
    assert check_record(record, load_pins()) == [
        f"overall skill is {value:.6g}, its error blocks give {_derived_overall(record):.6g}"
    ]


def test_nan_skill_is_refused():
    record = with_overall_skill(official(), math.nan)
    assert check_record(record, load_pins()) == ["overall skill is nan, not a finite number"]


@pytest.mark.parametrize("claimed", [0.0, 3.0, None, 2.5, -1.0, 1e9])
def test_n_censored_must_be_a_count_of_scored_values(claimed):
    record = official()
    assert record.metrics["Zn"]["n_censored"] == 0 and check_record(record, load_pins()) == []
    metrics = {k: dict(v) for k, v in (record.metrics or {}).items()}
    metrics["Zn"]["n_censored"] = claimed
    reasons = check_record(forge(record, metrics=metrics), load_pins())
    if claimed is None or claimed in (0.0, 3.0):
        assert reasons == []
    else:
        n = int(record.metrics["Zn"]["n"])
        assert reasons == [
            f"Zn n_censored is {claimed}, not a count between 0 and its {n} scored values"
        ]


def _times_100(record: ResultRecord) -> ResultRecord:
    """sse_reference x 100 with every derived number recomputed to agree: only pins catch it."""
    assert record.errors is not None and record.metrics is not None
    errors, metrics = {}, {k: dict(v) for k, v in record.metrics.items()}
    for symbol, blocks in record.errors.items():
        scaled = [v * 100 for v in blocks.sse_reference]
        errors[symbol] = blocks.model_copy(update={"sse_reference": scaled})
        skill = 1 - math.sqrt(math.fsum(blocks.sse) / math.fsum(scaled))
        metrics[symbol].update(skill=skill, rmse_reference=metrics[symbol]["rmse_reference"] * 10)
    metrics["overall"]["skill"] = sum(metrics[s]["skill"] for s in errors) / len(errors)
    return forge(record, metrics=metrics, errors=errors)


def test_bias_and_coherence_must_be_possible_and_present():
    """|bias| <= RMSE, coherence >= 0, and a v2 row shows both: none may hide or be made up."""
    record = official("nearest", "synthetic/all/s16/grid")
    rmse = record.metrics["Cu"]["rmse"]

    def edited(**row):
        metrics = {k: dict(v) for k, v in (record.metrics or {}).items()}
        for key, value in row.items():
            if value is None:
                del metrics["Cu"][key]
            else:
                metrics["Cu"][key] = value
        return check_record(forge(record, metrics=metrics), load_pins())

    assert edited() == []
    assert edited(bias=1e300) == [f"Cu bias is 1e+300, beyond its RMSE {rmse:.6g}"]
    assert edited(coherence=-5.0) == ["Cu coherence is -5.0: an RMS error is never negative"]
    assert edited(bias=None, coherence=None) == ["Cu lacks bias, coherence, which the board shows"]


def test_reference_times_100_is_refused_with_the_pinned_value():
    record = _times_100(official())
    pin = load_pins().tasks[TASK].folds[0]["Zn"]
    assert check_record(record, load_pins()) == [
        f"Zn: sse_reference sum is {pin.sse_reference * 100:.10g}, the pinned reference "
        f"is {pin.sse_reference:.10g} (relative tolerance 1e-09): the reference was altered or "
        "computed on other data"
    ]


def test_synthetic_reference_is_checked_within_its_tolerance():
    record = _times_100(official(task="synthetic/cu/s16/points"))
    (reason,) = check_record(record, load_pins())
    assert f"(relative tolerance {REPRODUCIBLE_REL_TOL:g})" in reason
    # its sha256 is not compared (not bit-reproducible), so made-up hashes alone pass
    other = official(task="synthetic/cu/s16/points")
    made_up = other.dataset.model_copy(update={"sha256": {"truth": "0" * 64}})
    assert check_record(forge(other, dataset=made_up), load_pins()) == []


def test_wrong_fold_count_is_refused():
    record = official()
    task = record.task.model_copy(update={"n_folds": 3})
    forged = record.model_copy(update={"task": task})
    assert check_record(forged, load_pins()) == [
        f"task {TASK} is described as {task.model_dump()}, the official task is "
        f"{record.task.model_dump()}"
    ]


def _copy(tmp_path: Path, *names: str) -> Path:
    out = tmp_path / "results"
    for name in names:
        shutil.copytree(OFFICIAL / name, out / name)
    return out


def _board_copy(tmp_path: Path) -> Path:
    return _copy(tmp_path, "bicubic", "nearest", "idw")


def _board(out: Path):
    """The board of a :func:`_board_copy`, on the tasks its three submissions' records cover."""
    suite = release_suite("bicubic", "nearest", "idw")
    return load_leaderboard(out, n_boot=50, suite_task_ids=suite)


def test_sse_reference_times_100_does_not_rank_first(tmp_path):
    out = _board_copy(tmp_path)
    paths = sorted((out / "nearest").rglob("fold-*.json"))
    for path in paths:
        write_result(_times_100(read_result(path)), path)
    board = _board(out)
    assert not any(s.submission == "nearest" for s in board.suite)
    # every edited record is refused, whatever the size of the suite
    assert len([s for s in board.skipped if s.path.startswith("nearest/")]) == len(paths) > 100
    assert "nearest" not in {s.submission for s in board.suite if s.rank == 1}
    assert {s.protocol for s in board.suite if s.rank == 1 and s.submission == "idw"} == {
        "points",
        "transfer",
    }


def test_twelve_made_up_sha256_records_are_refused_and_push_nobody_off(tmp_path):
    out = _board_copy(tmp_path)
    task = "meuse/cd/s10/points"
    source = official("bicubic", task)
    made_up = source.dataset.model_copy(
        update={"sha256": {k: "f" * 64 for k in source.dataset.sha256}}
    )
    forged = []
    for i in range(12):
        record = forge(source, name=f"aaa-forged-{i:02d}", dataset=made_up)
        path = result_path(out, record.submission.name, record.submission.version, task, 0)
        write_result(record, path)
        forged.append(str(path.relative_to(out)))
    board = _board(out)
    reasons = {s.path: s.reason for s in board.skipped}
    expected = (
        f"computed on other data than the official {task} (dataset sha256 of covariates, "
        "points, valid differs from the pinned one): rebuild the scene (geochem-bench download "
        "meuse --force) and rerun"
    )
    assert reasons == dict.fromkeys(forged, expected)
    assert {s.submission for s in board.suite if s.complete} == {"bicubic", "nearest", "idw"}
    assert {t.submission for t in board.tasks if t.task_id == task} == {
        "bicubic",
        "nearest",
        "idw",
    }


# --- untrusted files ---------------------------------------------------------------------------


def _card(out: Path, name: str = "nearest") -> None:
    version = next((out / name).iterdir()).name
    write_card(SubmissionCard(name=name, version=version, authors=["A"], licence="MIT"), out)


@pytest.mark.parametrize("kind", ["deep", "big"])
@pytest.mark.parametrize("command", ["leaderboard", "submit", "cite", "model-index"])
def test_hostile_file_is_skipped_with_a_reason_by_every_command(tmp_path, capsys, kind, command):
    out = _copy(tmp_path, "nearest")
    victim = next((out / "nearest").glob(f"*/{TASK}/fold-0.json"))
    if kind == "deep":
        victim.write_text("[" * 100_000)
        why = f"JSON nested 100000 levels deep, over the limit of {MAX_JSON_DEPTH}"
    else:
        victim.write_text(" " * (MAX_FILE_BYTES + 1))
        why = f"{MAX_FILE_BYTES + 1} bytes, over the {MAX_FILE_BYTES} byte limit"
    reason = f"{victim} is not a valid geochem-bench result (schema {SCHEMA_VERSION}): {why}"
    argv = {
        "leaderboard": ["leaderboard", "--source", str(out), "--bootstrap", "100"],
        "submit": ["submit", str(out), "--dry-run"],
        "cite": ["cite", "--results", str(out)],
        "model-index": ["model-index", "nearest", "--source", str(out)],
    }[command]
    if command == "submit":
        _card(out)
    status = main(argv)
    captured = capsys.readouterr()
    shown = " ".join((captured.out + captured.err).split())  # rich wraps long lines
    if command == "submit":
        assert status == 2
        assert f"- {reason}" in captured.err
    else:
        assert status == 0
        assert f"nearest/1.0.0/{TASK}/fold-0.json: {reason}" in shown


def test_deep_card_and_verification_are_refused(tmp_path):
    out = _copy(tmp_path, "nearest")
    _card(out)
    card = next(out.rglob("submission.json"))
    card.write_text("{" * 1000)
    with pytest.raises(SubmissionRefused, match="JSON nested 1000 levels deep"):
        prepare_submission(out)
    (out / "nearest" / "1.0.0" / VERIFICATION_NAME).write_text("[" * 100_000)
    board = load_leaderboard(out, n_boot=20)
    assert [s.reason for s in board.skipped if s.path.endswith(VERIFICATION_NAME)] == [
        f"{out / 'nearest' / '1.0.0' / VERIFICATION_NAME} is not a valid verification report: "
        f"JSON nested 100000 levels deep, over the limit of {MAX_JSON_DEPTH}"
    ]


# --- rendering and submit ----------------------------------------------------------------------


def test_a_name_cannot_inject_markdown_or_html(tmp_path):
    out = _copy(tmp_path, "bicubic")
    hostile = "x |\n# pwned <script>alert(1)</script>"
    for path in sorted((out / "bicubic").rglob("fold-*.json")):
        record = read_result(path)
        forged = forge(record, name=hostile)
        task, fold = record.task.id, record.fold
        write_result(forged, result_path(out, hostile, record.submission.version, task, fold))
    board = load_leaderboard(out, n_boot=20)
    # such a name is no name (check_name): its records never reach the board, and say why
    assert not any(s.submission == hostile for s in board.suite)
    assert any("submission name" in s.reason for s in board.skipped)
    text = render_markdown(board)
    assert "<script>" not in text and "<script>" not in render_html(board)
    # the escaping that any other untrusted string gets in the Markdown still holds
    assert markdown_text(hostile) == r"x \| \# pwned &lt;script&gt;alert\(1\)&lt;/script&gt;"


def test_submit_without_a_token_makes_no_request(hub, tmp_path, monkeypatch):  # noqa: F811
    out = _copy(tmp_path, "bicubic")
    _card(out, "bicubic")
    add_canaries(out)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(MissingToken, match="no Hugging Face token found, nothing was sent"):
        submit(out, REPO)
    assert hub.requests == []
    assert main(["submit", str(out), "--repo", REPO]) == 2
    assert hub.requests == []


# --- verified and self-reported ----------------------------------------------------------------


def _verify(
    out: Path,
    name: str,
    passed: bool = True,
    task: str = TASK,
    when: datetime = datetime(2026, 5, 1, 12, tzinfo=UTC),
    isolation: str = "sandboxed: landlock ABI 7, user/network/PID namespaces",
) -> None:
    version = next((out / name).iterdir()).name

    def digest(fold: int) -> str | None:
        path = out / name / version / task / f"fold-{fold}.json"
        return record_digest(read_result(path)) if path.is_file() else None

    report = VerificationReport(
        name=name,
        version=version,
        verified_at=when,
        package_version="0.1.0",
        isolation=isolation,
        tolerance=0.0,
        folds=[
            VerifiedFold(task=task, fold=k, match=passed, max_abs_diff=0.0, record_sha256=digest(k))
            for k in (0, 1)
        ],
        passed=passed,
        # the report vouches for every record of the folder as it is now
        records_sha256=records_manifest_digest(
            [read_result(p) for p in sorted((out / name / version).rglob("fold-*.json"))]
        ),
    )
    (out / name / version / VERIFICATION_NAME).write_text(report.model_dump_json())


def test_verified_and_self_reported_are_ranked_in_separate_tables(tmp_path):
    out = _board_copy(tmp_path)
    _verify(out, "nearest")
    _verify(out, "idw", passed=False)
    _verify(out, "bicubic", task="no/such/task")  # vouches for folds it has no record of
    board = _board(out)
    assert board.verified("nearest", "1.0.0").label == "verified 2026-05-01 (2 folds)"
    assert board.verified("idw", "1.0.0").reason == "the rerun did not reproduce the records"
    assert board.verified("bicubic", "1.0.0").reason == (
        "verified folds without an accepted record: no/such/task fold 0, no/such/task fold 1"
    )
    # nearest is last among all, but first (and alone) among the verified, on every protocol
    for protocol in board.protocols:
        rows = board.suite_of(protocol)
        assert (rows[0].submission, rows[0].rank) == ("nearest", 1)
        assert {s.submission for s in rows[1:]} == {"idw", "bicubic"}
        assert min(s.rank for s in rows[1:]) == 1
    text = render_markdown(board)
    verified = text.split("## Suite, points protocol: verified")[1].split("## Suite, points")[0]
    self_reported = text.split("## Suite, points protocol: self-reported")[1].split("\n## ")[0]
    assert "| nearest |" in verified and "verified 2026-05-01 (2 folds)" in verified
    assert "| idw |" in self_reported and "| nearest |" not in self_reported
    assert "nearest,1.0.0,1,verified,suite,,points" in render_csv(board)
    points = board_data(board, {}, "results")["suites"]["points"]
    first = points[0]
    assert (first["submission"], first["status"], first["rank"]) == ("nearest", "verified", 1)


def test_a_verification_vouches_only_for_the_records_it_reran(tmp_path):
    out = _board_copy(tmp_path)
    _verify(out, "nearest")
    _verify(out, "idw", when=datetime(2031, 1, 1, tzinfo=UTC))  # forged: in the future
    _verify(out, "bicubic", isolation="forged-by-hand")
    # a record edited after its verification (a consistent edit the board cannot see)
    path = out / "nearest" / "1.0.0" / TASK / "fold-1.json"
    record = read_result(path)
    write_result(record.model_copy(update={"package_version": "9.9.9"}), path)
    board = _board(out)
    assert board.verified("nearest", "1.0.0").reason == (
        f"records differ from the ones the rerun checked: {TASK} fold 1"
    )
    assert board.verified("idw", "1.0.0").reason == "the verification is dated in the future"
    assert board.verified("bicubic", "1.0.0").reason == "the rerun was not sandboxed"


# --- the pins themselves -----------------------------------------------------------------------


def test_pins_declare_the_scenes_reproducibility_and_cover_the_suite():
    pins = load_pins()
    assert {n: s.bit_reproducible for n, s in pins.scenes.items()} == {
        cls.name: cls.bit_reproducible for cls in SCENES if cls.in_suite
    }
    from geochem_bench.scenes.registry import suite_tasks

    assert {t.id: t.version for t in suite_tasks()} == {
        k: p.task.version for k, p in pins.tasks.items()
    }


@pytest.mark.real_data
def test_packaged_pins_equal_freshly_computed_ones(built_root):
    fresh, packaged = compute_pins(built_root), load_pins()
    assert fresh.tasks.keys() == packaged.tasks.keys()
    for task_id, pin in packaged.tasks.items():
        scene = packaged.scenes[pin.task.scene]
        tolerance = 1e-12 if scene.bit_reproducible else REPRODUCIBLE_REL_TOL
        assert fresh.tasks[task_id].task == pin.task
        for got, want in zip(fresh.tasks[task_id].folds, pin.folds, strict=True):
            for symbol, element in want.items():
                assert (got[symbol].n_blocks, got[symbol].n) == (element.n_blocks, element.n)
                assert got[symbol].sse_reference == pytest.approx(
                    element.sse_reference, rel=tolerance
                )
        if scene.bit_reproducible:
            assert fresh.scenes[pin.task.scene] == scene
