"""Hostile inputs found by the red team of issue 14: forged schema-1.4.0 records, a grid-only
card at the hub, an ndarray subclass from predict_points, degenerate data in the kriging engine.
Each test failed before its fix."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from geochem_bench.board.leaderboard import collect_records
from geochem_bench.errors import InvalidInputError

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ROOT / "leaderboard" / "results"
GRID = "synthetic/all/s16/grid/fold-0.json"
POINTS = "synthetic/cu/s16/points/fold-0.json"


def _copy(tmp_path: Path, name: str = "idw") -> Path:
    out = tmp_path / "results"
    shutil.copytree(OFFICIAL / name, out / name)
    return out


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _skipped(out: Path, rel: str) -> list[str]:
    _, skipped = collect_records(out)
    return [s.reason for s in skipped if Path(s.path).as_posix().endswith(rel)]


# --- records, schema 1.4.0 ----------------------------------------------------------------


@pytest.mark.parametrize("schema", ["1.4.0", "1.3.0", "1.0.0"])
def test_a_grid_record_scored_at_sites_is_refused(tmp_path, schema):
    # A grid fold is never scored at sites (the hook is not
    # called on grid tasks), and schemas before 1.4.0 have no scored_at at all; the board
    # accepts such a record without a word.
    out = _copy(tmp_path)
    path = out / "idw" / "1.0.0" / GRID

    def forge(d):
        d["schema_version"] = schema
        d["scored_at"] = "sites"

    _edit(path, forge)
    assert _skipped(out, GRID), "a grid record claiming scored_at='sites' was accepted"


def test_schema_1_4_fields_on_an_older_record_are_refused(tmp_path):
    # params/code_digest/scored_at exist from schema 1.4.0; a
    # 1.3.0 (or 1.0.0) record carrying them was not written by the harness.
    out = _copy(tmp_path)
    path = out / "idw" / "1.0.0" / POINTS

    def forge(d):
        d["schema_version"] = "1.0.0"
        d["scored_at"] = "sites"
        d["submission"]["params"] = {"power": 99.0}
        d["submission"]["code_digest"] = "f" * 64

    _edit(path, forge)
    assert _skipped(out, POINTS), "a 1.0.0 record with 1.4.0 fields was accepted"


def test_params_and_code_digest_must_give_the_fingerprint_back(tmp_path):
    # The record says params and code digest are there "so a
    # reader sees what a fingerprint hashes": model, params, code digest, seed and package
    # version are all in the record, yet a record whose params and code digest do not hash
    # to its fingerprint (here: made-up params, a code digest that is not even a sha256)
    # is accepted, so per-task hyperparameters can hide under one submission version.
    out = _copy(tmp_path)
    path = out / "idw" / "1.0.0" / POINTS
    record = json.loads(path.read_text())
    facts = {
        "model": record["submission"]["model"],
        "params": {"power": 99.0, "neighbours": 12},
        "code": "zz",
        "seed": record["seed"],
        "package": record["package_version"],
    }
    real = hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()
    assert real != record["submission"]["fingerprint"]

    def forge(d):
        d["schema_version"] = "1.4.0"
        d["submission"]["params"] = facts["params"]
        d["submission"]["code_digest"] = facts["code"]

    _edit(path, forge)
    assert _skipped(out, POINTS), "params/code_digest that contradict the fingerprint accepted"


# --- protocols in the card ----------------------------------------------------------------


def test_the_hub_takes_a_submission_that_enters_only_the_grid_protocol(tmp_path):
    # atpk's submission.toml says protocols = ["grid"] and
    # evaluate runs only grid tasks, but prepare_submission still demands a record for every
    # fold of every points and transfer task, so a grid-only submission cannot be submitted.
    from geochem_bench.board.hub import SubmissionRefused, prepare_submission

    out = _copy(tmp_path, "atpk")
    card = next(out.rglob("submission.json"))
    _edit(card, lambda d: d.update(protocols=["grid"]))
    try:
        prepare_submission(out)
    except SubmissionRefused as exc:
        wrong = [
            line for line in str(exc).splitlines() if "/points:" in line or "/transfer:" in line
        ]
        assert not wrong, "\n".join(wrong[:3])


# --- predict_points -----------------------------------------------------------------------


class _Constant:
    def fit(self, inputs):
        values = inputs.lowres.reshape(len(inputs.elements), -1)
        self.level = np.nanmean(values, axis=1).astype(np.float32)

    def predict(self, inputs):
        return np.broadcast_to(self.level[:, None, None], inputs.output_shape).copy()


class MaskedSites(_Constant):
    """Returns a numpy masked array (an ndarray subclass) at the sites."""

    def predict_points(self, inputs, xy):
        mean = np.repeat(self.level[:, None], len(xy), axis=1)
        return np.ma.masked_array(mean, mask=np.ones_like(mean, dtype=bool))


def test_an_ndarray_subclass_at_the_sites_fails_the_fold_inline_not_the_harness(tmp_path):
    # Inline, the harness scores the subclass as given: a masked
    # array raises numpy's MaskError out of run_fold (no failure record). Process isolation
    # is fine (np.savez drops the mask). predict() returning one crashes the same way.
    from geochem_bench.evaluation.harness import RunOptions, run_fold
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.scenes.registry import get_task

    options = RunOptions(out_dir=tmp_path / "results", progress=False, isolation="inline")
    submission = load_submission(f"{__file__}:MaskedSites")
    record = run_fold(submission, get_task("synthetic/cu/s16/points"), 0, options)
    assert record.status in {"ok", "failed"}


# --- kriging engine -----------------------------------------------------------------------


def _data(n: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 100, n), rng.uniform(0, 100, n), rng.normal(size=n)


@pytest.mark.parametrize(
    "case",
    ["all values equal", "two data", "every datum at one site", "a NaN value"],
)
def test_the_variogram_fit_refuses_degenerate_data_clearly(case):
    # These end in scipy's least_squares errors ("Each lower
    # bound must be strictly less than each upper bound", "Residuals are not finite in the
    # initial point", "Initial guess is outside of provided bounds") that say nothing about
    # the data.
    from geochem_bench.kriging.variogram import auto_variogram

    x, y, z = _data()
    if case == "all values equal":
        z = np.full_like(z, 3.0)
    elif case == "two data":
        x, y, z = x[:2], y[:2], z[:2]
    elif case == "every datum at one site":
        x, y = np.full_like(x, 1.0), np.full_like(y, 1.0)
    else:
        z = z.copy()
        z[3] = np.nan
    with pytest.raises(InvalidInputError):
        auto_variogram(x, y, z, "spherical", 6)


@pytest.mark.parametrize("case", ["no data", "every datum at one site", "a NaN value"])
def test_krige_never_answers_silently_wrong(case):
    # Global ordinary kriging of no data returns estimate 0 with
    # variance 0 (certainty); of data all at one site, or with a NaN value, it returns NaN
    # estimates without a word.
    from geochem_bench.kriging.point import PointKriging, krige
    from geochem_bench.kriging.variogram import Variogram

    x, y, z = _data()
    if case == "no data":
        x, y, z = x[:0], y[:0], z[:0]
    elif case == "every datum at one site":
        x, y = np.full_like(x, 1.0), np.full_like(y, 1.0)
    else:
        z = z.copy()
        z[3] = np.nan
    try:
        data = PointKriging(x, y, z, Variogram("spherical", (1.0, 10.0, 0.0)))
        est, var = krige(data, np.array([5.0, 50.0]), np.array([5.0, 50.0]))
    except InvalidInputError:
        return
    assert np.isfinite(est).all() and (var > 0).all(), (est, var)
