"""Result records: one JSON file per (submission, task, fold), validated by a versioned schema.

Layout, as MTEB does for its results: ``<out>/<submission>/<version>/<task id>/fold-<k>.json``,
so results of different submissions and versions never overwrite each other. Files are written
atomically (temporary file, fsync, rename): a crash never leaves a half-written record.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geochem_bench.core.atomic import write_text_atomic
from geochem_bench.core.names import ALLOWED, check_name, path_within, sanitize_name
from geochem_bench.core.task import fold_unit
from geochem_bench.errors import InvalidInputError

SCHEMA_VERSION: Final = "1.4.0"
ModelT = TypeVar("ModelT", bound=BaseModel)
#: Largest result, card or verification file read (bytes). Honest records are tens of kB (the
#: largest official one is under 1 MB); a cap keeps one hostile upload from exhausting memory.
MAX_FILE_BYTES: Final = 5_000_000
#: Deepest nesting of arrays/objects accepted. Records nest about 5 levels; the cap stops a file
#: like ``[[[[...`` before the JSON parser recurses past Python's stack limit.
MAX_JSON_DEPTH: Final = 64
#: Name of the verification report ``geochem-bench verify`` writes next to a submission's records.
VERIFICATION_NAME: Final = "verification.json"

FailureKind = Literal[
    "exception", "timeout", "invalid_prediction", "crash", "missing_prediction", "memory"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubmissionInfo(_Strict):
    """Who produced the predictions."""

    name: str
    version: str
    revision: str | None = Field(None, description="VCS revision of the submission's code")
    model: str | None = Field(None, description="'module:Class' of a Python submission")
    source: Literal["python", "predictions"] = "python"
    fingerprint: str | None = Field(
        None,
        description="sha256 of what determines the predictions: model reference, params, code "
        "digest, seed and package version (schema >= 1.2.0); resume reuses only a match",
    )
    stochastic: bool = Field(
        False,
        description="the submission's output depends on its seed, so the board needs its "
        "records of seeds 0, 1 and 2 for every fold (schema >= 1.3.0)",
    )
    params: dict[str, Any] | None = Field(
        None,
        description="the constructor parameters the model ran with (schema >= 1.4.0), so a "
        "reader sees what a fingerprint hashes without rerunning the submission",
    )
    code_digest: str | None = Field(
        None,
        description="sha256 of the submission's source (schema >= 1.4.0; one input of the "
        "fingerprint): records of the same code share it across seeds and tasks",
    )


class TaskInfo(_Strict):
    """The task a result belongs to (``TaskSpec.to_dict``)."""

    id: str
    version: str
    scene: str
    elements: list[str]
    scale: int
    protocol: Literal["grid", "points", "transfer"]
    n_folds: int = Field(description="evaluation folds: spatial folds x realisations")
    n_spatial_folds: int | None = Field(
        None, description="spatial folds per realisation (schema >= 1.3.0; before: n_folds)"
    )
    realisations: list[int] = Field(
        default_factory=list,
        description="realisations of a simulated scene, in fold order (schema >= 1.3.0; "
        "empty: one fixed realisation)",
    )
    dev: bool = Field(
        False, description="run on the public dev realisations, for tuning: never on a board"
    )
    reference: str | None = Field(
        default=None,
        description="the reference prediction of skill (v2: bicubic on grid, training-mean on "
        "points and transfer); None in v1 records, whose reference was always bicubic",
    )

    @model_validator(mode="after")
    def _fold_counts(self) -> TaskInfo:
        if self.spatial_folds < 1 or self.n_folds != max(1, len(self.realisations)) * (
            self.spatial_folds
        ):
            raise InvalidInputError(
                f"n_folds {self.n_folds} is not {self.spatial_folds} spatial fold(s) x "
                f"{max(1, len(self.realisations))} realisation(s)"
            )
        return self

    @property
    def spatial_folds(self) -> int:
        """Spatial folds per realisation (records before schema 1.3.0 say only ``n_folds``)."""
        return self.n_folds if self.n_spatial_folds is None else self.n_spatial_folds

    def unit(self, fold: int) -> tuple[int | None, int]:
        """The (realisation, spatial fold) of evaluation ``fold`` (``TaskSpec.unit``)."""
        return fold_unit(self.realisations, self.spatial_folds, fold)

    def canonical(self) -> TaskInfo:
        """This description with every field filled, to compare records of any schema."""
        return self.model_copy(update={"n_spatial_folds": self.spatial_folds})


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
        description="sum of squared errors of the reference prediction per block (for skill)"
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


class Isolation(_Strict):
    """How the model process was confined (schema >= 1.2.0)."""

    process: Literal["sandboxed", "inline", "none"] = Field(
        description="'sandboxed': a fresh process from the model server; 'inline': the "
        "harness's own process (debugging); 'none': predictions scored from files"
    )
    filesystem: Literal["landlock", "none"] = Field(
        "none", description="'landlock': data cache, raw files and results unreadable"
    )
    network: Literal["namespace", "open"] = Field(
        "open", description="'namespace': no network in the model process"
    )
    processes: Literal["pid-namespace", "process-group", "none"] = Field(
        "none", description="how the model's process tree is killed on timeout"
    )
    memory_limit_mb: int | None = None


class CanaryCheck(_Strict):
    """A fold rerun with every held-out value replaced by noise (schema >= 1.2.0).

    An honest model cannot tell the difference, so its prediction must not change; a model
    that reads the held-out values from anywhere sees the noise and changes its prediction.
    """

    changed: bool = Field(description="whether the prediction changed: a leak")
    max_abs_diff: float | None = Field(
        None, description="largest change of the prediction (natural units); None if failed"
    )
    tolerance: float = Field(description="relative change allowed for nondeterminism")
    message: str | None = None


class ResultRecord(_Strict):
    """One scored (or failed) task fold of one submission."""

    schema_version: Literal["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"] = SCHEMA_VERSION
    status: Literal["ok", "failed"]
    submission: SubmissionInfo
    package_version: str
    benchmark_version: str
    task: TaskInfo
    fold: int
    realisation: int | None = Field(
        None,
        description="the realisation of a simulated scene the fold ran on (schema >= 1.3.0; "
        "None: the scene's one fixed realisation)",
    )
    dataset: DatasetInfo
    metrics: dict[str, dict[str, float | None]] | None = Field(
        None,
        description="per element (and 'overall') metric -> value; null = undefined. Points "
        "protocols also count n_censored: the scored held-out values below a detection limit",
    )
    errors: dict[str, ErrorBlocks] | None = Field(
        None, description="per-element block error sums (schema >= 1.1.0)"
    )
    failure: Failure | None = None
    runtime: Runtime | None = None
    peak_memory_mb: float | None = Field(
        None, description="peak RSS of the process that ran the model"
    )
    hardware: Hardware
    seed: int = Field(ge=0, lt=2**63, description="the seed given to the model")
    timestamp: datetime
    isolation: Isolation | None = Field(None, description="confinement of the model process")
    canary: CanaryCheck | None = Field(None, description="canary rerun of this fold, if any")
    scored_at: Literal["cells", "sites"] = Field(
        "cells",
        description="points and transfer tasks: 'cells' scored predict()'s map at the fine "
        "cells of the held-out sites; 'sites' scored the model's predict_points() values at "
        "the sites themselves (schema >= 1.4.0; grid tasks and older records: 'cells')",
    )

    @model_validator(mode="after")
    def _status_matches_payload(self) -> ResultRecord:
        if self.status == "ok" and (self.metrics is None or self.failure is not None):
            raise InvalidInputError("an 'ok' result needs metrics and no failure")
        if self.status == "failed" and self.failure is None:
            raise InvalidInputError("a 'failed' result needs a failure reason")
        if not 0 <= self.fold < self.task.n_folds:
            raise InvalidInputError(f"fold {self.fold} outside 0..{self.task.n_folds - 1}")
        self._check_schema_1_4_fields()
        return self

    def _check_schema_1_4_fields(self) -> None:
        """The 1.4.0 fields: only on 1.4.0 records, coherent with the task and fingerprint."""
        info = self.submission
        newer = info.params is not None or info.code_digest is not None
        if self.schema_version != "1.4.0" and (newer or self.scored_at != "cells"):
            raise InvalidInputError(
                f"a schema {self.schema_version} record carries fields of schema 1.4.0 "
                "(params, code_digest, scored_at): the harness never wrote it; rerun the fold"
            )
        if self.scored_at == "sites" and self.task.protocol == "grid":
            raise InvalidInputError(
                "a grid-protocol record says it was scored at sites: grid tasks are scored on "
                "every valid fine cell (predict_points is not called there); rerun the fold"
            )
        if info.code_digest is not None and not _SHA256.fullmatch(info.code_digest):
            raise InvalidInputError(
                f"code_digest {info.code_digest[:80]!r} is not a sha256 hex digest"
            )
        if newer and info.fingerprint is None:
            raise InvalidInputError(
                "the record carries params or a code_digest without the fingerprint they are "
                "part of: the harness writes all three or none; rerun the fold"
            )
        if info.params is not None and info.code_digest is not None and info.model:
            expected = submission_fingerprint(
                info.model, info.params, info.code_digest, self.seed, self.package_version
            )
            if info.fingerprint != expected:
                raise InvalidInputError(
                    "the record's params and code_digest do not give its fingerprint back "
                    "(sha256 of model, params, code digest, seed and package version): they "
                    "were edited after the run; rerun the fold"
                )


_SHA256 = re.compile(r"[0-9a-f]{64}")


def submission_fingerprint(
    model: str, params: dict[str, Any], code_digest: str, seed: int, package: str
) -> str:
    """sha256 of everything that determines a submission's predictions.

    The one definition, used by the harness to stamp records and by the record schema to
    check a record's params and code digest against its fingerprint.
    """
    facts = {
        "model": model,
        "params": params,
        "code": code_digest,
        "seed": seed,
        "package": package,
    }
    blob = json.dumps(facts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


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
    out_dir: str | Path, submission: str, version: str, task_id: str, fold: int, seed: int = 0
) -> Path:
    """Where the record of one (submission, version, task, fold, seed) lives.

    ``fold-<k>.json`` for seed 0, ``fold-<k>-seed-<s>.json`` for the other seeds of a
    stochastic submission (run with several seeds).

    Raises:
        InvalidInputError: a part of the task id is not a valid name, so the record would
            land outside ``out_dir`` or in a folder of another task.
    """
    parts = task_id.split("/")
    for part in parts:
        check_name(part, f"task id {task_id!r}: part")
    name = f"fold-{int(fold)}.json" if seed == 0 else f"fold-{int(fold)}-seed-{int(seed)}.json"
    return path_within(out_dir, safe_name(submission), safe_name(version), *parts, name)


def record_digest(record: ResultRecord) -> str:
    """sha256 of a record's canonical JSON: what a verification vouches for.

    Fields added to the schema after 1.2.0 are left out while they hold their defaults, so
    the digests of older records, and the verifications that vouch for them, stay valid.
    """
    exclude: dict[str, Any] = {}
    for section, name, default in _ADDED_AFTER_1_2:
        holder = record if section is None else getattr(record, section)
        if getattr(holder, name) == default:
            if section is None:
                exclude[name] = True
            else:
                exclude.setdefault(section, set()).add(name)
    return hashlib.sha256(record.model_dump_json(exclude=exclude).encode()).hexdigest()


#: (section, field, default) of the fields added after schema 1.2.0 (see record_digest).
_ADDED_AFTER_1_2: tuple[tuple[str | None, str, object], ...] = (
    (None, "realisation", None),
    ("task", "n_spatial_folds", None),
    ("task", "realisations", []),
    ("task", "dev", False),
    ("task", "reference", None),
    ("submission", "stochastic", False),
    ("submission", "params", None),
    ("submission", "code_digest", None),
    (None, "scored_at", "cells"),
)


def records_manifest_digest(records: list[ResultRecord]) -> str:
    """One sha256 over the digests of a submission's scored records, in a fixed order."""
    keys = sorted(
        (r.task.id, r.fold, r.seed, record_digest(r)) for r in records if r.status == "ok"
    )
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()


def write_result(record: ResultRecord, path: str | Path) -> None:
    """Write a record atomically."""
    write_text_atomic(path, record.model_dump_json(indent=2) + "\n")


class VerifiedFold(_Strict):
    """One task fold that ``geochem-bench verify`` reran, and whether it reproduced."""

    task: str
    fold: int
    seed: int = Field(0, description="the seed of the record it reran (one file per seed)")
    match: bool
    max_abs_diff: float | None = None
    reason: str | None = None
    record_sha256: str | None = Field(
        None, description="digest of the record the rerun reproduced (record_digest)"
    )


class VerificationReport(_Strict):
    """What ``geochem-bench verify`` found when it reran a submission's code.

    Written as ``<results>/<name>/<version>/verification.json``; the board reads it to mark a
    submission *verified* (see :mod:`geochem_bench.board.verification`).
    """

    schema_version: Literal["1"] = "1"
    name: str
    version: str
    verified_at: datetime = Field(description="when the rerun finished (ISO-8601, UTC)")
    package_version: str
    isolation: str = Field(description="the sandbox the rerun used")
    tolerance: float = Field(description="largest accepted absolute metric difference")
    folds: list[VerifiedFold]
    passed: bool
    sample_seed: int | None = Field(
        None, description="seed of the fold sample (drawn at random unless given)"
    )
    records_sha256: str | None = Field(
        None,
        description="digest of every scored record of the submission at verification time "
        "(records_manifest_digest): a record edited afterwards voids the verification",
    )
    seed_dependent: bool | None = Field(
        None,
        description="a submission declared deterministic was rerun on one fold with another "
        "seed: whether its metrics changed (then it is stochastic and needs 3 seeds; the "
        "verification fails); None when not checked",
    )


@dataclass(frozen=True)
class Skipped:
    """A file left out (of a board, a submission, a citation list), and why."""

    path: str
    reason: str


def _nesting_depth(text: str) -> int:
    # Strings may hold brackets: blank them out first (one regex pass, fast on 5 MB), then the
    # depth is a running count over the remaining brackets.
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", bare):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def read_json(path: str | Path, what: str) -> Any:
    """Parse an untrusted JSON file: refused, never crashing, when too big or too deep.

    The one reader of result records, submission cards and verification reports.

    Args:
        path: the file.
        what: what the file should be, for the message (``"geochem-bench result"``).

    Raises:
        InvalidInputError: naming the file, when it is over :data:`MAX_FILE_BYTES`, nested
            deeper than :data:`MAX_JSON_DEPTH`, unreadable text or not JSON.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InvalidInputError(
            f"{path} is not a valid {what}: {size} bytes, over the {MAX_FILE_BYTES} byte limit"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not a valid {what}: not UTF-8 text ({exc})") from exc
    depth = _nesting_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InvalidInputError(
            f"{path} is not a valid {what}: JSON nested {depth} levels deep, over the "
            f"limit of {MAX_JSON_DEPTH}"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not a valid {what}: {exc}") from exc


def read_model(path: str | Path, model: type[ModelT], what: str, fix: str = "") -> ModelT:
    """Read an untrusted JSON file (:func:`read_json`) and validate it as ``model``.

    Args:
        path: the file.
        model: the pydantic model it must satisfy.
        what: what the file should be, for the message.
        fix: what to do about an invalid file, appended to the message.

    Raises:
        InvalidInputError: naming the file, when it is too big, too deep, not JSON or not
            ``model``.
    """
    data = read_json(path, what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(f"{path} is not a valid {what}: {exc}{fix}") from exc


def read_result(path: str | Path) -> ResultRecord:
    """Read and validate one record.

    Raises:
        InvalidInputError: naming the file, when it is not a valid record (too big, too deep,
            not JSON, or not the schema).
    """
    return read_model(path, ResultRecord, f"geochem-bench result (schema {SCHEMA_VERSION})")


def read_verification(path: str | Path) -> VerificationReport:
    """Read and validate a ``verification.json``.

    Raises:
        InvalidInputError: naming the file, when it is not a valid verification report.
    """
    return read_model(path, VerificationReport, "verification report")


def scan_results(root: str | Path) -> tuple[list[tuple[Path, ResultRecord]], list[Skipped]]:
    """Every ``fold-*.json`` under ``root`` that parses, and the files that do not, with why.

    Skipped paths are relative to ``root``; reasons are the first lines of the error.
    """
    root = Path(root)
    found: list[tuple[Path, ResultRecord]] = []
    skipped: list[Skipped] = []
    for path in sorted(root.rglob("fold-*.json")):
        if _links_inside(path, root):  # it would pass another record of the folder off as its own
            skipped.append(
                Skipped(str(path.relative_to(root)), "a link to another record of the folder")
            )
            continue
        try:
            found.append((path, read_result(path)))
        except (ValueError, OSError) as exc:
            skipped.append(Skipped(str(path.relative_to(root)), first_lines(str(exc))))
    return found, skipped


def _links_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` leads, through a symbolic link, to another file under ``root``.

    Links out of the folder are how the Hub's download cache stores files (into its blob
    store), and read as any file would; a link to another file of the folder duplicates a
    record under another name (another submission's fold passed off as one's own seed).
    """
    if path.resolve() == path.absolute():
        return False
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def first_lines(text: str, n: int = 3) -> str:
    """The first ``n`` lines of an error message joined on one line (for tables of reasons)."""
    lines = text.strip().splitlines()
    return " ".join(lines[:n]) if lines else text


def load_results(out_dir: str | Path) -> list[ResultRecord]:
    """All records under a results folder, sorted by submission, task and fold.

    Raises:
        InvalidInputError: naming the first file that is not a valid record.
    """
    found, skipped = scan_results(out_dir)
    if skipped:
        raise InvalidInputError(f"{Path(out_dir) / skipped[0].path}: {skipped[0].reason}")
    records = [record for _, record in found]
    return sorted(
        records, key=lambda r: (r.submission.name, r.submission.version, r.task.id, r.fold)
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a result record (for non-Python tooling)."""
    return ResultRecord.model_json_schema()
