"""Verified or self-reported: whether a rerun of a submission's code reproduced its records.

``geochem-bench verify`` reruns a submission on some task folds and writes
``<results>/<name>/<version>/verification.json`` (a
:class:`~geochem_bench.evaluation.records.VerificationReport`). The board marks a submission
*verified* only when that report exists, passed, every fold it lists matched, and every fold
it lists has a record the board accepted; anything else is *self-reported*. The two are ranked
in separate tables, as the large ML leaderboards do when they rerun submitted code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from geochem_bench.evaluation.provenance import utc_now
from geochem_bench.evaluation.records import (
    VERIFICATION_NAME,
    ResultRecord,
    Skipped,
    VerificationReport,
    first_lines,
    read_verification,
    record_digest,
    records_manifest_digest,
    safe_name,
)

VERIFIED = "verified"
SELF_REPORTED = "self-reported"


@dataclass(frozen=True)
class Verification:
    """How far a submission's numbers are checked.

    Attributes:
        verified: a passed rerun covers folds the board accepted.
        verified_at: when the rerun finished (None when not verified).
        folds_checked: task folds the rerun reproduced.
        reason: why the submission is self-reported (empty when verified).
    """

    verified: bool
    verified_at: datetime | None = None
    folds_checked: int = 0
    reason: str = "no verification.json"

    @property
    def status(self) -> str:
        """``"verified"`` or ``"self-reported"``."""
        return VERIFIED if self.verified else SELF_REPORTED

    @property
    def label(self) -> str:
        """``verified 2026-05-01 (12 folds)`` or ``self-reported``."""
        if not self.verified or self.verified_at is None:
            return SELF_REPORTED
        return f"{VERIFIED} {self.verified_at.date().isoformat()} ({self.folds_checked} folds)"


def verification_status(
    report: VerificationReport | None,
    accepted: Iterable[ResultRecord],
    require_manifest: bool = True,
) -> Verification:
    """Whether a submission is verified, from its report and the records the board accepted.

    Args:
        report: the submission's verification report, if any.
        accepted: the submission's records that passed every check.
        require_manifest: the report must vouch for every record (``records_sha256``), not
            only for the folds it reran; off for benchmark v1 reports, made before it.
    """
    if report is None:
        return Verification(verified=False)
    accepted = list(accepted)
    if report.verified_at.tzinfo is None:
        return Verification(verified=False, reason="the verification time has no time zone")
    if report.seed_dependent:
        return Verification(
            verified=False,
            reason="declared deterministic, but another seed changed its metrics: declare "
            "stochastic = true and evaluate it with 3 seeds",
        )
    if not report.passed:
        return Verification(verified=False, reason="the rerun did not reproduce the records")
    if not report.folds:
        return Verification(verified=False, reason="the verification lists no folds")
    mismatched = [f"{f.task} fold {f.fold}" for f in report.folds if not f.match]
    if mismatched:
        return Verification(verified=False, reason=f"rerun differs on {', '.join(mismatched)}")
    have = {(r.task.id, r.fold, r.seed): r for r in accepted if r.status == "ok"}
    unbacked = [
        f"{f.task} fold {f.fold}" for f in report.folds if (f.task, f.fold, f.seed) not in have
    ]
    if unbacked:
        return Verification(
            verified=False,
            reason=f"verified folds without an accepted record: {', '.join(unbacked)}",
        )
    # a report vouches for the exact records it reran: an edited record is not verified
    changed = [
        f"{f.task} fold {f.fold}"
        for f in report.folds
        if f.record_sha256 is None
        or f.record_sha256 != record_digest(have[(f.task, f.fold, f.seed)])
    ]
    if changed:
        return Verification(
            verified=False,
            reason=f"records differ from the ones the rerun checked: {', '.join(changed)}",
        )
    if require_manifest and report.records_sha256 != records_manifest_digest(accepted):
        return Verification(
            verified=False,
            reason="records added, removed or edited since the verification: verify again",
        )
    if report.verified_at > utc_now() + timedelta(hours=1):
        return Verification(verified=False, reason="the verification is dated in the future")
    if not report.isolation.startswith("sandboxed"):
        return Verification(verified=False, reason="the rerun was not sandboxed")
    return Verification(
        verified=True,
        verified_at=report.verified_at,
        folds_checked=len({(f.task, f.fold) for f in report.folds}),
        reason="",
    )


def collect_verifications(
    root: str | Path,
) -> tuple[dict[tuple[str, str], VerificationReport], list[Skipped]]:
    """Every ``verification.json`` under ``root`` by (name, version); bad ones with the reason.

    A report counts only at ``<root>/<name>/<version>/verification.json`` of the submission it
    names, so one submission cannot vouch for another.
    """
    root = Path(root)
    reports: dict[tuple[str, str], VerificationReport] = {}
    skipped: list[Skipped] = []
    for path in sorted(root.rglob(VERIFICATION_NAME)):
        shown = str(path.relative_to(root))
        try:
            report = read_verification(path)
            where = root / safe_name(report.name) / safe_name(report.version) / VERIFICATION_NAME
        except (ValueError, OSError) as exc:
            skipped.append(Skipped(shown, first_lines(str(exc))))
            continue
        if where.resolve() != path.resolve():
            skipped.append(
                Skipped(
                    shown,
                    f"verification of {report.name} {report.version} found at the wrong path "
                    f"(expected {where.relative_to(root)})",
                )
            )
            continue
        reports[(report.name, report.version)] = report
    return reports, skipped
