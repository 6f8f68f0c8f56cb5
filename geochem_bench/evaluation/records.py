"""Result records: one JSON file per (submission, task, fold), validated by a versioned schema.

Layout, as MTEB does for its results: ``<out>/<submission>/<version>/<task id>/fold-<k>.json``,
so results of different submissions and versions never overwrite each other. Files are written
atomically (temporary file, fsync, rename): a crash never leaves a half-written record.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geochem_bench.core.atomic import write_text_atomic
from geochem_bench.core.names import ALLOWED, check_name, path_within, sanitize_name
from geochem_bench.errors import InvalidInputError

SCHEMA_VERSION: Final = "1.1.0"

FailureKind = Literal["exception", "timeout", "invalid_prediction", "crash", "missing_prediction"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubmissionInfo(_Strict):
    """Who produced the predictions."""

    name: str
    version: str
    revision: str | None = Field(None, description="VCS revision of the submission's code")
    model: str | None = Field(None, description="'module:Class' of a Python submission")
    source: Literal["python", "predictions"] = "python"


class TaskInfo(_Strict):
    """The task a result belongs to."""

    id: str
    version: str
    scene: str
    elements: list[str]
    scale: int
    protocol: Literal["grid", "points", "transfer"]
    n_folds: int


class DatasetInfo(_Strict):
    """The exact data the result was computed on."""

    scene: str
    version: str
    sha256: dict[str, str]
    options: dict[str, Any] = Field(default_factory=dict)


class Failure(_Strict):
    """Why a task fold produced no score."""

    kind: FailureKind
    message: str
    traceback: str | None = None


class Runtime(_Strict):
    """Wall-clock seconds spent in the model."""

    fit_s: float
    predict_s: float
    total_s: float


class Hardware(_Strict):
    """Where the model ran."""

    platform: str
    python: str
    cpu: str
    n_cpus: int
    memory_gb: float | None = None
    gpu: str | None = None


class ErrorBlocks(_Strict):
    """Per-block error sums of one element, in its analysis space, for bootstrap intervals.

    Scores are spatially autocorrelated, so confidence intervals resample blocks of cells
    rather than single cells: on the grid protocol a block is a square of ``block_edge_cells``
    fine cells (a whole number of coarse cells); on the points protocols each held-out sample
    is its own block (``block_edge_cells`` is None).
    """

    block_edge_cells: int | None = Field(None, description="edge of a grid block in fine cells")
    n: list[int] = Field(description="scored cells or samples in each block")
    sse: list[float] = Field(description="sum of squared errors of the prediction per block")
    sse_reference: list[float] = Field(
        description="sum of squared errors of bicubic upsampling per block (for skill)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ErrorBlocks:
        if not len(self.n) == len(self.sse) == len(self.sse_reference):
            raise InvalidInputError("n, sse and sse_reference must have one entry per block")
        if any(k <= 0 for k in self.n):
            raise InvalidInputError("every block needs n >= 1 scored cells")
        values = self.sse + self.sse_reference
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise InvalidInputError("error sums must be finite and >= 0")
        return self


class ResultRecord(_Strict):
    """One scored (or failed) task fold of one submission."""

    schema_version: Literal["1.0.0", "1.1.0"] = SCHEMA_VERSION
    status: Literal["ok", "failed"]
    submission: SubmissionInfo
    package_version: str
    benchmark_version: str
    task: TaskInfo
    fold: int
    dataset: DatasetInfo
    metrics: dict[str, dict[str, float | None]] | None = None
    errors: dict[str, ErrorBlocks] | None = Field(
        None, description="per-element block error sums (schema >= 1.1.0)"
    )
    failure: Failure | None = None
    runtime: Runtime | None = None
    peak_memory_mb: float | None = Field(
        None, description="peak RSS of the process that ran the model"
    )
    hardware: Hardware
    seed: int
    timestamp: datetime

    @model_validator(mode="after")
    def _status_matches_payload(self) -> ResultRecord:
        if self.status == "ok" and (self.metrics is None or self.failure is not None):
            raise InvalidInputError("an 'ok' result needs metrics and no failure")
        if self.status == "failed" and self.failure is None:
            raise InvalidInputError("a 'failed' result needs a failure reason")
        if not 0 <= self.fold < self.task.n_folds:
            raise InvalidInputError(f"fold {self.fold} outside 0..{self.task.n_folds - 1}")
        return self


def safe_name(name: str) -> str:
    """A submission name or version usable as one path component.

    Disallowed characters become ``_`` (see :func:`geochem_bench.core.names.sanitize_name`).

    Raises:
        InvalidInputError: nothing usable is left (``".."``, ``"/"``).
    """
    cleaned = sanitize_name(name)
    if not cleaned:
        raise InvalidInputError(
            f"{name!r} cannot be used as a submission name or version; use {ALLOWED}"
        )
    return cleaned


def result_path(
    out_dir: str | Path, submission: str, version: str, task_id: str, fold: int
) -> Path:
    """Where the record of one (submission, version, task, fold) lives.

    Raises:
        InvalidInputError: a part of the task id is not a valid name, so the record would
            land outside ``out_dir`` or in a folder of another task.
    """
    parts = task_id.split("/")
    for part in parts:
        check_name(part, f"task id {task_id!r}: part")
    return path_within(
        out_dir, safe_name(submission), safe_name(version), *parts, f"fold-{int(fold)}.json"
    )


def write_result(record: ResultRecord, path: str | Path) -> None:
    """Write a record atomically."""
    write_text_atomic(path, record.model_dump_json(indent=2) + "\n")


def read_result(path: str | Path) -> ResultRecord:
    """Read and validate one record.

    Raises:
        ValueError: naming the file, when it is not a valid record.
    """
    try:
        return ResultRecord.model_validate(json.loads(Path(path).read_text()))
    except (ValidationError, json.JSONDecodeError) as exc:
        raise InvalidInputError(
            f"{path} is not a valid geochem-bench result (schema {SCHEMA_VERSION}): {exc}"
        ) from exc


def load_results(out_dir: str | Path) -> list[ResultRecord]:
    """All records under a results folder, sorted by submission, task and fold."""
    records = [read_result(p) for p in sorted(Path(out_dir).rglob("fold-*.json"))]
    return sorted(
        records, key=lambda r: (r.submission.name, r.submission.version, r.task.id, r.fold)
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a result record (for non-Python tooling)."""
    return ResultRecord.model_json_schema()
