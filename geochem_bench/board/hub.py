"""The results dataset on the Hugging Face Hub: layout, submission, download and publishing.

Layout of the dataset repository (``geochem-bench/geochem-bench-results`` by default)::

    README.md                                   dataset card; `configs:` -> data/results.parquet
    data/results.parquet                        one row per (submission, task, fold, element)
    results/<submission>/<version>/submission.json            the submission's card
    results/<submission>/<version>/<task id>/fold-<k>.json    one record per task fold
    leaderboard/{LEADERBOARD.md, leaderboard.csv, leaderboard.png, index.html, board.js, ...}
    leaderboard/plots/<scene>.png, leaderboard/submissions/<name>@<version>.html

A submission adds only files under its own ``results/<submission>/<version>/`` namespace, in
one commit (a pull request unless ``create_pr=False``), and is refused when that namespace
already exists: a new run is a new version. The table, card and rendered board are rewritten
by ``geochem-bench leaderboard --publish`` (maintainers), also in one commit.

The token is whatever ``huggingface_hub`` finds (``HF_TOKEN``, ``hf auth login``) or what the
caller passes; this module never prints, logs or stores it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from geochem_bench import BENCHMARK_VERSION
from geochem_bench.board.leaderboard import record_problem
from geochem_bench.errors import GeochemBenchError, InvalidInputError
from geochem_bench.evaluation.records import ResultRecord, read_result, safe_name
from geochem_bench.evaluation.submission import CARD_NAME, SubmissionCard, read_card
from geochem_bench.scenes.registry import suite_tasks

if TYPE_CHECKING:
    import pyarrow as pa
    from huggingface_hub import HfApi

DEFAULT_REPO: Final = "geochem-bench/geochem-bench-results"
RESULTS_DIR: Final = "results"
TABLE_PATH: Final = "data/results.parquet"
BOARD_DIR: Final = "leaderboard"
CARD_PATH: Final = "README.md"

T = TypeVar("T")


def results_url(repo_id: str) -> str:
    """The web address of the records folder of a results dataset (pages link records there)."""
    return f"https://huggingface.co/datasets/{repo_id}/tree/main/{RESULTS_DIR}"


class SubmissionRefused(InvalidInputError):
    """A results folder that cannot be submitted; the message lists what to fix."""


class MissingToken(GeochemBenchError, PermissionError):
    """No Hugging Face token was found; nothing was sent."""


def require_token(token: str | None = None) -> str:
    """The token to upload with: ``token``, else huggingface_hub's lookup; checked offline.

    Raises:
        MissingToken: none was given or found (checked before any request is made).
    """
    from huggingface_hub import get_token

    found = token or get_token()
    if not found:
        raise MissingToken(
            "no Hugging Face token found, nothing was sent: run `hf auth login` or set "
            "HF_TOKEN to a token with write access, then submit again"
        )
    return found


class HubUnavailable(GeochemBenchError, RuntimeError):
    """The Hub could not be reached after retries; nothing was committed."""


@dataclass(frozen=True)
class SubmissionBundle:
    """A validated submission, ready to upload.

    Attributes:
        card: the submission's card.
        files: ``(path in repo, local file)`` for the card and every record.
        records: the validated records.
    """

    card: SubmissionCard
    files: list[tuple[str, Path]]
    records: list[ResultRecord]

    @property
    def namespace(self) -> str:
        """The repo folder the submission owns: ``results/<name>/<version>``."""
        return f"{RESULTS_DIR}/{safe_name(self.card.name)}/{safe_name(self.card.version)}"


def prepare_submission(results_dir: str | Path) -> SubmissionBundle:
    """Validate a results folder for submission: one submission, complete, current version.

    Args:
        results_dir: the ``--out`` folder of ``geochem-bench evaluate`` (or one
            ``<submission>/<version>`` folder inside it).

    Raises:
        SubmissionRefused: listing every problem found (invalid files, other benchmark
            versions, missing task folds, several submissions, a missing or incomplete card).
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise SubmissionRefused(f"results folder {root} does not exist")
    cards = sorted(root.rglob(CARD_NAME))
    if not cards:
        raise SubmissionRefused(
            f"no {CARD_NAME} under {root}; `geochem-bench evaluate` writes it from the "
            "[submission] table of submission.toml"
        )
    if len(cards) > 1:
        raise SubmissionRefused(
            f"{root} holds {len(cards)} submissions ({', '.join(str(c.parent) for c in cards)}); "
            "submit one <submission>/<version> folder at a time"
        )
    card_file = cards[0]
    problems: list[str] = []
    try:
        card = read_card(card_file)
    except ValueError as exc:
        raise SubmissionRefused(str(exc)) from exc
    for what, value in (("name", card.name), ("version", card.version)):
        if safe_name(value) != value:
            problems.append(
                f"{card_file}: submission {what} {value!r} is not a plain path component; use "
                "letters, digits and . _ + - only"
            )
    if not card.authors:
        problems.append(f"{card_file}: 'authors' is empty; add authors = [...] to [submission]")
    if not card.licence:
        problems.append(f"{card_file}: 'licence' is missing; add licence = \"...\" to [submission]")
    base = card_file.parent  # <out>/<name>/<version>
    out_dir = base.parent.parent
    records: list[ResultRecord] = []
    files: list[tuple[str, Path]] = []
    namespace = f"{RESULTS_DIR}/{safe_name(card.name)}/{safe_name(card.version)}"
    suite = {t.id: t for t in suite_tasks()}
    for path in sorted(base.rglob("fold-*.json")):
        try:
            record = read_result(path)
        except ValueError as exc:
            problems.append(str(exc).splitlines()[0])
            continue
        if (record.submission.name, record.submission.version) != (card.name, card.version):
            problems.append(
                f"{path}: record of {record.submission.name} {record.submission.version}, "
                f"the card is {card.name} {card.version}"
            )
        elif (reason := record_problem(record, path, out_dir, suite)) is not None:
            # what the board would skip is refused here, with the same reason
            problems.append(f"{path}: {reason}")
        records.append(record)
        files.append((f"{namespace}/{path.relative_to(base).as_posix()}", path))
    have = {(r.task.id, r.fold) for r in records}
    entered = set(card.entered)
    outside = sorted({r.task.id for r in records if r.task.protocol not in entered})
    if outside:
        problems.append(
            f"{len(outside)} task(s) of protocols the card does not enter (e.g. {outside[0]}; "
            f"protocols = {sorted(entered)} in {CARD_NAME}): remove their records or add the "
            "protocol to the card"
        )
    for task in suite.values():  # stale task versions were refused record by record above
        if task.protocol not in entered:
            continue
        missing = [k for k in task.folds if (task.id, k) not in have]
        if missing:
            problems.append(f"{task.id}: no record for fold(s) {missing}")
    # a Python submission's run must include its canary folds (predictions scored from files
    # have no model to rerun); a flagged canary was refused record by record above
    canaried = {r.task.id for r in records if r.canary is not None}
    python = {r.task.id for r in records if r.submission.source == "python"}
    uncanaried = sorted(python - canaried)
    if uncanaried:
        problems.append(
            f"{len(uncanaried)} task(s) have no canary fold (e.g. {uncanaried[0]}); rerun "
            f"`geochem-bench evaluate <submission> --canary --out {out_dir}`: it reruns one "
            "fold per task with the held-out values replaced by noise and keeps the rest"
        )
    if problems:
        raise SubmissionRefused(
            f"cannot submit {base}: {len(problems)} problem(s)\n  - " + "\n  - ".join(problems)
        )
    files.insert(0, (f"{namespace}/{CARD_NAME}", card_file))
    return SubmissionBundle(card=card, files=files, records=records)


def _commit_message(bundle: SubmissionBundle) -> tuple[str, str]:
    failed = sum(r.status == "failed" for r in bundle.records)
    tasks = len({r.task.id for r in bundle.records})
    title = f"Add {bundle.card.name} {bundle.card.version} (geochem-bench v{BENCHMARK_VERSION})"
    body = (
        f"{len(bundle.records)} result records over {tasks} tasks ({failed} failed folds), "
        f"authors: {', '.join(bundle.card.authors)}; licence: {bundle.card.licence}; "
        f"code: {bundle.card.code or 'not given'}; open weights: {bundle.card.open_weights}."
    )
    return title, body


def _api(token: str | None) -> HfApi:
    from huggingface_hub import HfApi

    return HfApi(token=token)


def _transient(exc: BaseException) -> bool:
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        return status is None or status == 429 or status >= 500
    # transport failures: the stdlib's, and those of the HTTP stacks huggingface_hub has used
    transport = type(exc).__module__.startswith(("httpx", "httpcore", "requests", "urllib3"))
    return isinstance(exc, (ConnectionError, TimeoutError)) or transport


def with_retries(
    call: Callable[[], T],
    what: str,
    attempts: int = 5,
    base_delay_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``call``, retrying transient network and 5xx/429 errors with jittered backoff.

    Raises:
        HubUnavailable: after ``attempts`` transient failures (the last error is chained).
        Exception: a non-transient error (e.g. 401, 403, 404) at once.
    """
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            if not _transient(exc):
                raise
            if attempt == attempts - 1:
                raise HubUnavailable(
                    f"{what} failed {attempts} times ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else 'no message'}); nothing was "
                    "committed, run the same command again later"
                ) from exc
            sleep(base_delay_s * 2**attempt * (1 + 0.25 * random.random()))
    raise AssertionError("unreachable")


def submit(
    results: str | Path | SubmissionBundle,
    repo_id: str = DEFAULT_REPO,
    *,
    create_pr: bool = True,
    token: str | None = None,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Validate a results folder and upload it in one commit.

    Args:
        results: the evaluate ``--out`` folder of one submission, or the bundle
            :func:`prepare_submission` already made of it (not validated twice).
        repo_id: the results dataset repository.
        create_pr: open a pull request (default; outside contributors cannot push to main).
        token: a Hub token; by default huggingface_hub's own lookup.
        attempts: tries per Hub call on transient errors.
        sleep: the wait between tries (tests pass a no-op).

    Returns:
        The URL of the pull request or commit.

    Raises:
        SubmissionRefused: invalid or incomplete results, or the submission's namespace
            already exists in the repository.
        MissingToken: no Hub token (nothing is sent).
        HubUnavailable: the Hub could not be reached.
    """
    from huggingface_hub import CommitOperationAdd

    bundle = results if isinstance(results, SubmissionBundle) else prepare_submission(results)
    api = _api(require_token(token))  # before any request: a missing token sends nothing
    info = with_retries(
        lambda: api.repo_info(repo_id, repo_type="dataset", files_metadata=False),
        f"reading {repo_id}",
        attempts,
        sleep=sleep,
    )
    existing = {s.rfilename for s in (getattr(info, "siblings", None) or [])}
    taken = sorted(p for p in existing if p.startswith(bundle.namespace + "/"))
    if taken:
        raise SubmissionRefused(
            f"{repo_id} already has {bundle.namespace}/ ({len(taken)} files); results are never "
            "overwritten: bump the version in submission.toml and evaluate again"
        )
    title, body = _commit_message(bundle)
    commit = with_retries(
        lambda: api.create_commit(  # fresh operations per try: an operation is single-use
            repo_id,
            operations=[
                CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(f)) for p, f in bundle.files
            ],
            commit_message=title,
            commit_description=body,
            repo_type="dataset",
            create_pr=create_pr,
            parent_commit=info.sha,
        ),
        f"committing to {repo_id}",
        attempts,
        sleep=sleep,
    )
    return str(commit.pr_url or commit.commit_url)


def download_results(
    repo_id: str = DEFAULT_REPO,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    token: str | None = None,
) -> Path:
    """Download the records of the results dataset; returns the local ``results/`` folder."""
    from huggingface_hub import snapshot_download

    local = snapshot_download(
        repo_id,
        repo_type="dataset",
        revision=revision,
        cache_dir=cache_dir,
        token=token,
        allow_patterns=[f"{RESULTS_DIR}/**"],
    )
    return Path(local) / RESULTS_DIR


# --- the Parquet table and the dataset card ------------------------------------------------

TABLE_COLUMNS: Final = (
    "submission",
    "version",
    "benchmark_version",
    "task",
    "scene",
    "protocol",
    "scale",
    "fold",
    "seed",
    "status",
    "element",
    "n",
    "n_censored",
    "rmse",
    "mae",
    "bias",
    "skill",
    "rmse_reference",
    "rmse_natural",
    "mae_natural",
    "r2",
    "spearman_rho",
    "ssim",
    "coherence",
    "crps",
    "coverage_90",
    "fit_s",
    "predict_s",
    "failure",
)


def results_table(records: Sequence[ResultRecord]) -> pa.Table:
    """All records as one table: a row per (record, element); failed folds keep a row."""
    import pyarrow as pa

    rows: dict[str, list[object]] = {c: [] for c in TABLE_COLUMNS}
    for r in records:
        for element in r.task.elements:
            metrics = (r.metrics or {}).get(element, {})
            values: dict[str, object] = {
                "submission": r.submission.name,
                "version": r.submission.version,
                "benchmark_version": r.benchmark_version,
                "task": r.task.id,
                "scene": r.task.scene,
                "protocol": r.task.protocol,
                "scale": r.task.scale,
                "fold": r.fold,
                "seed": r.seed,
                "status": r.status,
                "element": element,
                "fit_s": r.runtime.fit_s if r.runtime else None,
                "predict_s": r.runtime.predict_s if r.runtime else None,
                "failure": r.failure.kind if r.failure else None,
            }
            for column in TABLE_COLUMNS:
                rows[column].append(values[column] if column in values else metrics.get(column))
    types = {c: pa.float64() for c in TABLE_COLUMNS}
    types.update(
        {c: pa.string() for c in ("submission", "version", "benchmark_version", "task", "scene")}
    )
    types.update({c: pa.string() for c in ("protocol", "status", "element", "failure")})
    types.update({"scale": pa.int32(), "fold": pa.int32(), "seed": pa.int64()})
    return pa.table({c: pa.array(rows[c], type=types[c]) for c in TABLE_COLUMNS})


def dataset_card(repo_id: str, n_records: int, submissions: Sequence[str]) -> str:
    """The results dataset's README with ``configs:`` so ``datasets.load_dataset`` reads it."""
    listed = "\n".join(f"- {s}" for s in sorted(submissions))
    return f"""---
license: cc-by-4.0
pretty_name: geochem-bench results
tags:
- geochemistry
- remote-sensing
- benchmark
- leaderboard
configs:
- config_name: default
  data_files:
  - split: train
    path: {TABLE_PATH}
---

# geochem-bench results (benchmark v{BENCHMARK_VERSION})

Result records of the geochem-bench leaderboard: one JSON file per (submission, version, task,
fold) under `{RESULTS_DIR}/<submission>/<version>/`, each submission's card in
`{RESULTS_DIR}/<submission>/<version>/{CARD_NAME}`, and all {n_records} records flattened into
`{TABLE_PATH}` (one row per record and element):

```python
from datasets import load_dataset
table = load_dataset("{repo_id}", split="train")
```

The rendered leaderboard (Markdown, CSV, plot, static page) is in `{BOARD_DIR}/`. Submit with
`geochem-bench submit RESULTS_DIR --repo {repo_id}` (a pull request); rebuild the board with
`geochem-bench leaderboard --source hub`.

Submissions:

{listed}
"""


def publish_board(
    board_dir: str | Path,
    records: Sequence[ResultRecord],
    repo_id: str = DEFAULT_REPO,
    *,
    token: str | None = None,
    create_pr: bool = False,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Upload the rendered board, the Parquet table and the card in one commit.

    Returns:
        The URL of the commit (or pull request).
    """
    import io

    import pyarrow.parquet as pq
    from huggingface_hub import CommitOperationAdd

    from geochem_bench.board.folder import board_files

    board_dir = Path(board_dir)
    buffer = io.BytesIO()
    pq.write_table(results_table(records), buffer)
    submissions = sorted({f"{r.submission.name} {r.submission.version}" for r in records})
    contents: list[tuple[str, str | bytes]] = [
        (f"{BOARD_DIR}/{path.relative_to(board_dir).as_posix()}", str(path))
        for path in board_files(board_dir)
    ]
    contents.append((TABLE_PATH, buffer.getvalue()))
    contents.append((CARD_PATH, dataset_card(repo_id, len(records), submissions).encode()))
    api = _api(token)
    commit = with_retries(
        lambda: api.create_commit(
            repo_id,
            operations=[CommitOperationAdd(path_in_repo=p, path_or_fileobj=c) for p, c in contents],
            commit_message=f"Leaderboard: {len(submissions)} submissions, {len(records)} records",
            repo_type="dataset",
            create_pr=create_pr,
        ),
        f"publishing to {repo_id}",
        attempts,
        sleep=sleep,
    )
    return str(commit.pr_url or commit.commit_url)
