"""Exporting a submission's scores as Hugging Face model-card evaluation metadata.

The Hub reads a ``model-index`` block in the YAML front matter of a model's README and shows
the results on the model page. Each geochem-bench task becomes one result: the task skill
(mean over folds, with its interval in the metric name) and the RMSE of each element.
"""

from __future__ import annotations

from typing import Any

from geochem_bench.board.hub import DEFAULT_REPO
from geochem_bench.board.leaderboard import Leaderboard
from geochem_bench.errors import UnknownNameError


def model_index(
    board: Leaderboard, submission: str, version: str | None = None, repo_id: str = DEFAULT_REPO
) -> dict[str, Any]:
    """The ``model-index`` mapping of one submission.

    Raises:
        KeyError: the board has no scores for that submission (and version).
    """
    scores = [
        t
        for t in board.tasks
        if t.submission == submission and (version is None or t.version == version)
    ]
    if not scores:
        known = sorted({f"{t.submission} {t.version}" for t in board.tasks})
        raise UnknownNameError(
            f"no scores for {submission!r} {version or ''}; the board has: {known}"
        )
    results = []
    for t in scores:
        skill_name = "skill vs bicubic (mean over folds)"
        if t.skill.low is not None and t.skill.high is not None:
            skill_name += f", 95% CI [{t.skill.low:+.3f}, {t.skill.high:+.3f}]"
        metrics: list[dict[str, Any]] = [
            {"type": "skill", "name": skill_name, "value": round(t.skill.estimate, 4)}
        ]
        metrics += [
            {
                "type": "rmse",
                "name": f"RMSE {element} (analysis space)",
                "value": round(r.estimate, 5),
            }
            for element, r in t.rmse.items()
        ]
        results.append(
            {
                "task": {
                    "type": "geochemical-fusion",
                    "name": f"{t.protocol} protocol, x{_scale(t.task_id)}",
                },
                "dataset": {
                    "type": f"geochem-bench/{t.scene}",
                    "name": f"geochem-bench {t.task_id}",
                    "config": t.task_id,
                    "split": "test",
                    "revision": f"v{board.benchmark_version}",
                },
                "metrics": metrics,
                "source": {
                    "name": "geochem-bench leaderboard",
                    "url": f"https://huggingface.co/datasets/{repo_id}",
                },
            }
        )
    return {"model-index": [{"name": f"{submission} {scores[0].version}", "results": results}]}


def _scale(task_id: str) -> str:
    part = task_id.split("/")[2]
    return part[1:] if part.startswith("s") else part


def model_index_yaml(index: dict[str, Any]) -> str:
    """The mapping as YAML to paste into a model card's front matter."""
    import yaml

    return str(yaml.safe_dump(index, sort_keys=False, allow_unicode=True, width=100))
