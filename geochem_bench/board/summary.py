"""Summaries of result records for the terminal: per task and element, mean over folds."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from geochem_bench.evaluation.records import ResultRecord
from geochem_bench.evaluation.scoring import OVERALL

Row = dict[str, object]


def summarise(records: list[ResultRecord]) -> list[Row]:
    """One row per (task, element, submission): fold counts and fold means of the main metrics."""
    groups: dict[tuple[str, str, str], list[ResultRecord]] = defaultdict(list)
    for r in records:
        elements = r.task.elements if r.metrics is None else [k for k in r.metrics if k != OVERALL]
        for element in elements:
            groups[(r.task.id, element, r.submission.name)].append(r)
    rows: list[Row] = []
    for (task_id, element, name), group in sorted(groups.items(), key=_sort_key):
        ok = [r for r in group if r.status == "ok" and r.metrics is not None]

        def mean(metric: str, ok: list[ResultRecord] = ok, element: str = element) -> float | None:
            values = [
                r.metrics[element].get(metric) for r in ok if r.metrics and element in r.metrics
            ]
            finite = [float(v) for v in values if v is not None]
            return float(np.mean(finite)) if finite else None

        rows.append(
            {
                "task": task_id,
                "element": element,
                "submission": name,
                "folds_ok": len(ok),
                "folds": len(group),
                "rmse": mean("rmse"),
                "skill": mean("skill"),
                "mae_natural": mean("mae_natural"),
                "failures": sorted({r.failure.kind for r in group if r.failure}),
            }
        )
    return rows


def _sort_key(item: tuple[tuple[str, str, str], list[ResultRecord]]) -> tuple[object, ...]:
    # scene, protocol, then scale numerically (s4 before s16); elements keep the task's order
    (task_id, element, name), group = item
    scene, label, scale, protocol = ([*task_id.split("/"), "", "", "", ""])[:4]
    protocols = ("grid", "points", "transfer")
    order = protocols.index(protocol) if protocol in protocols else len(protocols)
    elements = group[0].task.elements
    position = elements.index(element) if element in elements else len(elements)
    return (
        scene,
        order,
        label,
        int(scale[1:]) if scale[1:].isdigit() else 0,
        task_id,
        position,
        name,
    )


def render_table(records: list[ResultRecord], title: str = "geochem-bench results") -> str:
    """A terminal table: rows are task x element, columns are submissions (RMSE | skill)."""
    from rich.console import Console
    from rich.table import Table

    rows = summarise(records)
    submissions = sorted({str(r["submission"]) for r in rows})
    table = Table(
        title=title,
        caption="RMSE in analysis space (log10 for trace elements), mean over folds; "
        "skill = 1 - RMSE / RMSE(reference: bicubic on grid, training mean on points); "
        "'!' = some folds failed",
    )
    table.add_column("task", no_wrap=True)
    table.add_column("element")
    for name in submissions:
        table.add_column(f"{name}\nRMSE | skill", justify="right")
    by_key: dict[tuple[str, str], dict[str, Row]] = defaultdict(dict)
    for row in rows:
        by_key[(str(row["task"]), str(row["element"]))][str(row["submission"])] = row
    for (task_id, element), cells in by_key.items():
        rendered = []
        for name in submissions:
            cell = cells.get(name)
            rendered.append("" if cell is None else _cell_text(cell))
        table.add_row(task_id, element, *rendered)
    column = max([17, *(len(n) + 3 for n in submissions)])  # room for the whole name
    console = Console(record=True, width=max(120, 45 + column * len(submissions)))
    console.print(table)
    return console.export_text()


def _cell_text(row: Row) -> str:
    rmse, skill = row["rmse"], row["skill"]
    if rmse is None:
        text = "failed"
    elif skill is None:
        text = f"{rmse:.3f} | -"
    else:
        text = f"{rmse:.3f} | {skill:+.3f}"
    return text + (" !" if row["folds_ok"] != row["folds"] else "")
