"""Exporting a submission's scores as Hugging Face model-card evaluation metadata.

The Hub reads a ``model-index`` block in the YAML front matter of a model's README and shows
the results on the model page. Each geochem-bench task becomes one result: the task skill
(mean over folds, with its interval in the metric name) and the RMSE of each element.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geochem_bench.board.hub import DEFAULT_REPO
from geochem_bench.board.leaderboard import Leaderboard
from geochem_bench.errors import UnknownNameError

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData


def model_card_data(
    board: Leaderboard, submission: str, version: str | None = None, repo_id: str = DEFAULT_REPO
) -> ModelCardData:
    """The Hub model-card metadata of one submission: one evaluation result per metric.

    Raises:
        UnknownNameError: the board has no scores for that submission (and version).
    """
    from huggingface_hub import EvalResult, ModelCardData

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
        reference = "bicubic" if t.protocol == "grid" else "training mean"
        skill_name = f"skill vs {reference} (mean over folds)"
        if t.skill.low is not None and t.skill.high is not None:
            skill_name += f", 95% CI [{t.skill.low:+.3f}, {t.skill.high:+.3f}]"
        metrics = [("skill", skill_name, round(t.skill.estimate, 4))] + [
            ("rmse", f"RMSE {element} (analysis space)", round(r.estimate, 5))
            for element, r in t.rmse.items()
        ]
        for metric_type, metric_name, value in metrics:
            results.append(
                EvalResult(
                    task_type="geochemical-fusion",
                    task_name=f"{t.protocol} protocol, x{_scale(t.task_id)}",
                    dataset_type=f"geochem-bench/{t.scene}",
                    dataset_name=f"geochem-bench {t.task_id}",
                    dataset_config=t.task_id,
                    dataset_split="test",
                    dataset_revision=f"v{board.benchmark_version}",
                    metric_type=metric_type,
                    metric_name=metric_name,
                    metric_value=value,
                    source_name="geochem-bench leaderboard",
                    source_url=f"https://huggingface.co/datasets/{repo_id}",
                )
            )
    return ModelCardData(model_name=f"{submission} {scores[0].version}", eval_results=results)


def model_index(
    board: Leaderboard, submission: str, version: str | None = None, repo_id: str = DEFAULT_REPO
) -> dict[str, Any]:
    """The ``model-index`` mapping of one submission, as the Hub reads it.

    Raises:
        UnknownNameError: the board has no scores for that submission (and version).
    """
    data = model_card_data(board, submission, version, repo_id).to_dict()
    return {"model-index": data["model-index"]}


def _scale(task_id: str) -> str:
    part = task_id.split("/")[2]
    return part[1:] if part.startswith("s") else part


def model_index_yaml(index: dict[str, Any]) -> str:
    """The mapping as YAML to paste into a model card's front matter (huggingface_hub's)."""
    from huggingface_hub import ModelCardData

    return str(ModelCardData(**index).to_yaml()) + "\n"
