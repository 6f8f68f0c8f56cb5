"""The board people browse: a static page over an embedded JSON of the board, a page per entry.

``index.html`` embeds the board as JSON (suite rows per protocol, task rows per element, the
filters' choices, the BibTeX entries); ``board.js``, small and dependency-free, draws the
protocol tabs, the scene / element / scale filters, the search box and the sortable tables
from it. It only displays: every number, rank and tie comes from the board
(:mod:`geochem_bench.board.aggregation`), nothing is recomputed in the browser. The overall
standing, the method, the superseded scores and the citation of the whole board are plain
HTML, readable without scripts.

``submissions/<name>@<version>.html`` shows one entry: its model card rendered from Markdown
(escaped, :mod:`geochem_bench.board.card_markdown`), code, licence, parameters, the verified
or self-reported badge, and its scores per task with intervals and links to the raw records.

Nothing is fetched: no CDN, no request; the JSON sits inside the page, so the folder works
from ``file://``, from any static web server and from a Hub Space with the static SDK
(:data:`SPACE_FRONT_MATTER`). Every string from a submission (names, cards, parameters) is
untrusted: HTML is escaped here, and the script writes text nodes only.

Links to the raw records (``records``) are relative to the board folder when the board was
rendered from a local results folder (``leaderboard/results`` beside ``leaderboard/index.html``
in the repository), or absolute URLs into the Hub dataset when it was rendered from the Hub.
"""

from __future__ import annotations

import html
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from geochem_bench.board.aggregation import Interval, TaskScore
from geochem_bench.board.card_markdown import markdown_to_html
from geochem_bench.board.cards import ModelCard
from geochem_bench.board.leaderboard import Leaderboard
from geochem_bench.board.rendering import (
    CSV_NAME,
    HTML_NAME,
    MARKDOWN_NAME,
    PLOT_NAME,
    SUPERSEDED_NOTE,
    VERIFIED_NOTE,
    by_old_task,
    method_text,
    scene_plot_name,
    scenes_of,
    split_overall,
    submission_label,
    task_cells,
    task_header,
)
from geochem_bench.core.atomic import write_text_atomic
from geochem_bench.errors import UnknownNameError
from geochem_bench.evaluation.records import safe_name

SCRIPT_NAME: Final = "board.js"
STYLE_NAME: Final = "board.css"
#: The folder of the per-submission pages, inside the board folder.
SUBMISSIONS_DIR: Final = "submissions"
#: The ``id`` of the ``<script type="application/json">`` that holds the board.
DATA_ID: Final = "board-data"
#: The front matter of the ``README.md`` a Hub Space needs to serve the folder as is.
SPACE_FRONT_MATTER: Final = """---
title: geochem-bench leaderboard
emoji: 🪨
colorFrom: yellow
colorTo: blue
sdk: static
app_file: index.html
pinned: false
license: mit
---
"""

Cards = Mapping[tuple[str, str], ModelCard]


def _asset(name: str) -> str:
    """A file of the page shipped in the package (``resources/site``), written as is."""
    from geochem_bench import resources

    return (resources.root() / "site" / name).read_text(encoding="utf-8")


def submission_page(name: str, version: str) -> str:
    """A submission's page, relative to the board folder (``@`` is no name character)."""
    return f"{SUBMISSIONS_DIR}/{safe_name(name)}@{safe_name(version)}.html"


def records_href(records: str, name: str, version: str, task_id: str = "") -> str:
    """The folder of a submission's records (of one task when ``task_id`` is given).

    Args:
        records: the results folder, relative to the board folder or an absolute URL.
        name: submission name.
        version: submission version.
        task_id: a task id (its parts are checked names, so they stay inside the folder).
    """
    parts = [records.rstrip("/"), safe_name(name), safe_name(version)]
    return "/".join([*parts, *([task_id] if task_id else [])]) + "/"


def _from_page(href: str) -> str:
    """``href`` (relative to the board folder) as seen from a page in ``submissions/``."""
    return href if "://" in href else f"../{href}"


# --- the embedded JSON ---------------------------------------------------------------------


def _round(value: float | None) -> float | None:
    # six significant digits: what the tables show, and a page a third the size
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _tied(board: Leaderboard) -> set[tuple[str, str, str]]:
    """(submission, version, protocol) whose rank another row of the same table shares.

    Verified and self-reported submissions are ranked apart, so a rank is shared only within
    one protocol and one of the two groups.
    """
    count: dict[tuple[str, bool, int], int] = defaultdict(int)
    for s in board.suite:
        if s.rank is not None:
            count[(s.protocol, board.verified(s.submission, s.version).verified, s.rank)] += 1
    return {
        (s.submission, s.version, s.protocol)
        for s in board.suite
        if s.rank is not None
        and count[(s.protocol, board.verified(s.submission, s.version).verified, s.rank)] > 1
    }


def _citations(board: Leaderboard) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Citation keys per ``scene/protocol`` of the board, and the BibTeX entry of each key."""
    from geochem_bench.board.citations import citation_keys, entries

    keys: dict[str, list[str]] = {}
    for task_id in board.suite_task_ids:
        scene, protocol = task_id.split("/")[0], task_id.rsplit("/", 1)[-1]
        try:
            keys[f"{scene}/{protocol}"] = citation_keys([(scene, protocol)])
        except UnknownNameError:  # a user survey declares no references: none to offer
            continue
    known = entries()
    used = sorted({k for ks in keys.values() for k in ks})
    return keys, {k: known[k] for k in used if k in known}


def board_data(board: Leaderboard, cards: Cards, records: str) -> dict[str, Any]:
    """The board as the page's JSON: what the script shows, already computed.

    Args:
        board: the board.
        cards: model cards by (name, version) (parameters come from them).
        records: the results folder, relative to the board folder or an absolute URL.
    """
    tied = _tied(board)

    def parameters(name: str, version: str) -> int | None:
        card = cards.get((name, version))
        return None if card is None or card.facts is None else card.facts.parameters

    def status(name: str, version: str) -> str:
        return board.verified(name, version).status

    ranks = {(s.submission, s.version, s.protocol): s for s in board.suite}
    suites: dict[str, list[dict[str, Any]]] = {p: [] for p in board.protocols}
    for order, s in enumerate(board.suite):
        suites[s.protocol].append(
            {
                "order": order,
                "submission": s.submission,
                "version": s.version,
                "page": submission_page(s.submission, s.version),
                "status": status(s.submission, s.version),
                "label": board.verified(s.submission, s.version).label,
                "rank": s.rank,
                "tie": (s.submission, s.version, s.protocol) in tied,
                **_interval("iqm", s.iqm),
                "tasks": s.n_tasks,
                "suite_tasks": s.n_suite_tasks,
                "parameters": parameters(s.submission, s.version),
            }
        )
    rows: dict[str, list[dict[str, Any]]] = {p: [] for p in board.protocols}
    task_order = {task_id: i for i, task_id in enumerate(board.suite_task_ids)}
    for t in sorted(board.tasks, key=lambda t: (task_order.get(t.task_id, 0), t.submission)):
        suite = ranks.get((t.submission, t.version, t.protocol))
        for element in t.elements:
            rows.setdefault(t.protocol, []).append(
                {
                    "submission": t.submission,
                    "version": t.version,
                    "page": submission_page(t.submission, t.version),
                    "status": status(t.submission, t.version),
                    "rank": None if suite is None else suite.rank,
                    "tie": (t.submission, t.version, t.protocol) in tied,
                    "task": t.task_id,
                    "scene": t.scene,
                    "scale": t.scale,
                    "element": element,
                    **_interval("skill", t.skill),
                    **_interval("rmse", t.rmse[element]),
                    "mae": _round(t.mae_natural.get(element)),
                    "bias": _round(t.bias.get(element)),
                    "runtime": _round(t.runtime_s),
                    "parameters": parameters(t.submission, t.version),
                    "records": records_href(records, t.submission, t.version, t.task_id),
                }
            )
    facets = {
        p: {
            "scene": list(dict.fromkeys(r["scene"] for r in rows[p])),
            "element": sorted({r["element"] for r in rows[p]}),
            "scale": sorted({r["scale"] for r in rows[p]}),
        }
        for p in rows
    }
    citations, bibtex = _citations(board)
    return {
        "benchmark": board.benchmark_version,
        "protocols": board.protocols,
        "suites": suites,
        "tasks": rows,
        "facets": facets,
        "citations": citations,
        "bibtex": bibtex,
        "plots": {scene: scene_plot_name(scene) for scene in scenes_of(board)},
    }


def _interval(name: str, interval: Interval) -> dict[str, float | None]:
    return {
        name: _round(interval.estimate),
        f"{name}_low": _round(interval.low),
        f"{name}_high": _round(interval.high),
    }


def embedded_json(data: Mapping[str, Any]) -> str:
    """``data`` as JSON that cannot end its ``<script>`` element (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- pages ---------------------------------------------------------------------------------


def _head(title: str, depth: int) -> str:
    up = "../" * depth
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="{up}{STYLE_NAME}">
</head>
"""


def _overall_tables(board: Leaderboard) -> str:
    esc = html.escape
    tables = []
    verified, self_reported = split_overall(board)
    for table_id, title, overall in (
        ("overall-verified", "Overall: verified", verified),
        ("overall", "Overall: self-reported", self_reported),
    ):
        if not overall:
            continue
        rows = "\n".join(
            f'<tr><td class="name"><a href="{esc(submission_page(o.submission, o.version))}">'
            f"{esc(o.submission)}</a></td><td>{esc(o.version)}</td><td>{o.mean_rank:.2f}</td>"
            + "".join(f"<td>{o.ranks[p]}</td>" for p in board.protocols)
            + f"<td>{_badge(board, o.submission, o.version)}</td></tr>"
            for o in overall
        )
        head = "".join(f"<th>{esc(p)}</th>" for p in board.protocols)
        tables.append(
            f'<h3>{title}</h3>\n<div class="scroll"><table id="{table_id}"><thead><tr>'
            f'<th class="name">submission</th><th>version</th><th>mean rank</th>{head}'
            f"<th>status</th></tr></thead><tbody>\n{rows}\n</tbody></table></div>"
        )
    return "\n".join(tables)


def _badge(board: Leaderboard, name: str, version: str) -> str:
    verification = board.verified(name, version)
    return (
        f'<span class="badge {verification.status}" title="{html.escape(verification.reason)}">'
        f"{html.escape(verification.label)}</span>"
    )


def _task_table(title: str, scores: Sequence[TaskScore], depth: int = 0) -> str:
    """One task's table under an ``h4`` (``title`` already escaped)."""
    esc = html.escape
    columns = task_header(scores[0].elements, scores[0].protocol == "grid")
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "\n".join(
        f'<tr><td class="name"><a href="{"../" * depth}'
        f'{esc(submission_page(t.submission, t.version))}">{esc(submission_label(t))}</a></td>'
        f"<td>{esc(t.skill.format())}</td>"
        + "".join(f"<td>{esc(c)}</td>" for c in task_cells(t))
        + "</tr>"
        for t in scores
    )
    return (
        f'<h4>{title}</h4><div class="scroll"><table class="task"><thead><tr>'
        f'<th class="name">submission</th><th>skill [95 % CI]</th>{head}</tr></thead><tbody>\n'
        f"{body}\n</tbody></table></div>"
    )


def _bibtex(board: Leaderboard, task_ids: Sequence[str]) -> str:
    """The ``geochem-bench cite`` output for ``task_ids`` (empty when a scene has none)."""
    from geochem_bench.board.citations import bibtex, citation_keys

    pairs = sorted({(t.split("/")[0], t.rsplit("/", 1)[-1]) for t in task_ids})
    try:
        return bibtex(citation_keys(pairs))
    except UnknownNameError:
        return ""


def render_html(board: Leaderboard, cards: Cards | None = None, records: str = "results") -> str:
    """The board's main page: the interactive tables over the embedded JSON, and the rest.

    Args:
        board: the board.
        cards: model cards by (name, version) (default: none known).
        records: the results folder, relative to the board folder or an absolute URL.
    """
    esc = html.escape
    data = board_data(board, cards or {}, records)
    title = f"geochem-bench v{board.benchmark_version} leaderboard"
    tabs = "".join(
        f'<button type="button" role="tab" data-protocol="{esc(p)}" '
        f'aria-selected="{"true" if i == 0 else "false"}">{esc(p)}</button>'
        for i, p in enumerate(board.protocols)
    )
    old = by_old_task(board)
    superseded = ""
    if old:
        tables = "\n".join(
            _task_table(f"{esc(task_id)}, task version {esc(version)} (superseded)", scores)
            for (task_id, version), scores in old.items()
        )
        superseded = (
            '<details id="superseded"><summary>Superseded task versions</summary>'
            f'<p class="method">{esc(SUPERSEDED_NOTE)}</p>\n{tables}</details>'
        )
    incomplete = ""
    if board.incomplete:
        items = "".join(
            f"<li>{esc(f'{i.submission} {i.version}')}: <code>{esc(i.task_id)}</code>: "
            f"{esc(i.reason)}</li>"
            for i in board.incomplete
        )
        incomplete = (
            f'<details id="not-scored"><summary>Not scored</summary><ul>{items}</ul></details>'
        )
    skipped = ""
    if board.skipped:
        items = "".join(
            f"<li><code>{esc(s.path)}</code>: {esc(s.reason)}</li>" for s in board.skipped
        )
        skipped = (
            f'<details id="skipped"><summary>Skipped files</summary><ul>{items}</ul></details>'
        )
    figures = "\n".join(
        f'<figure data-scene="{esc(scene)}"><img src="{esc(path)}" loading="lazy" '
        f'alt="{esc(scene)}: task skill of every submission with 95 % intervals">'
        f"<figcaption>{esc(scene)}</figcaption></figure>"
        for scene, path in data["plots"].items()
    )
    return f"""{_head(title, 0)}<body>
<header>
<h1>{esc(title)}</h1>
<p class="lead">Which method for my protocol, scene and element? Pick the protocol, then a
scene and an element: the tables keep the submissions' suite ranks, whose ties come from
paired bootstrap intervals (<a href="#method">method</a>). Click a name for its model card and
records; click a column to sort.</p>
<p class="files">Also as <a href="{MARKDOWN_NAME}">Markdown</a>,
<a href="{CSV_NAME}">CSV</a> and <a href="{PLOT_NAME}">one figure</a>.</p>
</header>
<main>
<section id="explore">
<div class="tabs" role="tablist" id="protocols" aria-label="protocol">{tabs}</div>
<div class="controls">
<label>Search <input type="search" id="search" placeholder="submission"></label>
<label>Scene <select id="scene"></select></label>
<label>Element <select id="element"></select></label>
<label>Scale <select id="scale"></select></label>
<span id="count" aria-live="polite"></span>
</div>
<noscript><p>The tables below need JavaScript; the same numbers are in
<a href="{MARKDOWN_NAME}">{MARKDOWN_NAME}</a>.</p></noscript>
<h2>Suite <span class="method">(IQM of the protocol's task skills; search applies)</span></h2>
<div class="scroll"><table id="suite" class="sortable"></table></div>
<h2>Task scores <span class="method">(one row per task and element; every filter
applies)</span></h2>
<div class="scroll"><table id="tasks" class="sortable"></table></div>
<details id="cite-shown"><summary>BibTeX for the tasks shown</summary>
<pre id="cite-tasks"></pre></details>
</section>
<section id="overall-standing">
<h2>Overall standing</h2>
<p class="method">The mean of the per-protocol ranks, for submissions ranked on every
protocol.</p>
{_overall_tables(board)}
</section>
<section id="method">
<h2>Method</h2>
<p class="method">{esc(method_text(board))}</p>
<p class="method">{esc(VERIFIED_NOTE)}</p>
</section>
<section id="plots">
<h2>Plots by scene</h2>
<div class="figures">
{figures}
</div>
</section>
{superseded}
{incomplete}
{skipped}
<section id="cite">
<h2>Cite the board</h2>
<p class="method"><code>geochem-bench cite</code> prints the same for any set of tasks.</p>
<pre>{esc(_bibtex(board, board.suite_task_ids))}</pre>
</section>
</main>
<script id="{DATA_ID}" type="application/json">{embedded_json(data)}</script>
<script src="{SCRIPT_NAME}"></script>
</body>
</html>
"""


def _code_link(url: str | None) -> str:
    """A card's code URL as a link when it is http(s), else as text (never a script URL)."""
    if not url:
        return "not given"
    if url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url)}" rel="nofollow noopener">{html.escape(url)}</a>'
    return html.escape(url)


def _facts(card: ModelCard | None) -> str:
    """The card's facts as a definition list."""
    esc = html.escape
    facts = None if card is None else card.facts
    if facts is None:
        return '<p class="method">No readable <code>submission.json</code>.</p>'
    items = [
        ("authors", esc(", ".join(facts.authors)) or "not given"),
        ("licence", esc(facts.licence or "not given")),
        ("code", _code_link(facts.code)),
        ("parameters", "not given" if facts.parameters is None else f"{facts.parameters:,}"),
        ("training data", esc(facts.training_data or "not given")),
        ("open weights", esc({True: "yes", False: "no", None: "not given"}[facts.open_weights])),
        ("stochastic", "yes (ranked on 3 seeds)" if facts.stochastic else "no"),
        ("protocols", esc(", ".join(facts.entered))),
        ("model", f"<code>{esc(facts.model or 'not given')}</code>"),
        ("revision", f"<code>{esc(facts.revision or 'not given')}</code>"),
    ]
    params = json.dumps(facts.params, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    listed = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="facts">{listed}<dt>params</dt><dd><pre>{esc(params)}</pre></dd></dl>'


def _card_text(card: ModelCard | None, version: str) -> str:
    if card is None or not card.text:
        return '<p class="method">This submission has no model card text.</p>'
    note = ""
    if card.source == "packaged baseline" and card.text_version != version:
        note = (
            f'<p class="method">The card of the packaged baseline, version '
            f"{html.escape(card.text_version)}; these results are of version "
            f"{html.escape(version)}.</p>"
        )
    return f'{note}<article class="card">{markdown_to_html(card.text)}</article>'


def render_submission(
    board: Leaderboard,
    name: str,
    version: str,
    card: ModelCard | None = None,
    records: str = "results",
) -> str:
    """One submission's page: card, facts, badge, suite ranks and scores per task.

    Args:
        board: the board.
        name: submission name.
        version: submission version.
        card: its model card (None: unknown).
        records: the results folder, relative to the board folder or an absolute URL.
    """
    esc = html.escape
    title = f"{name} {version}"
    suites = [s for s in board.suite if (s.submission, s.version) == (name, version)]
    suite_rows = "\n".join(
        f"<tr><td>{esc(s.protocol)}</td><td>{'-' if s.rank is None else s.rank}</td>"
        f"<td>{esc(s.iqm.format())}</td><td>{s.n_tasks}/{s.n_suite_tasks}</td></tr>"
        for s in suites
    )
    mine = [t for t in board.tasks if (t.submission, t.version) == (name, version)]
    order = {task_id: i for i, task_id in enumerate(board.suite_task_ids)}
    mine.sort(key=lambda t: order.get(t.task_id, 0))
    task_rows = "\n".join(
        f'<tr><td class="name">{esc(t.task_id)}</td><td>{esc(t.skill.format())}</td>'
        f"<td>{esc(', '.join(f'{e} {t.rmse[e].format(signed=False)}' for e in t.elements))}"
        f"</td><td>{'' if t.runtime_s is None else f'{t.runtime_s:.3g}'}</td>"
        f"<td>{t.n_folds} x {t.n_seeds}</td>"
        f'<td><a href="{esc(_from_page(records_href(records, name, version, t.task_id)))}">'
        "records</a></td></tr>"
        for t in mine
    )
    old = [t for t in board.superseded if (t.submission, t.version) == (name, version)]
    old_tables = "\n".join(
        _task_table(f"{esc(t.task_id)}, task version {esc(t.task_version)} (superseded)", [t], 1)
        for t in old
    )
    missing = [i for i in board.incomplete if (i.submission, i.version) == (name, version)]
    missing_list = "".join(
        f"<li><code>{esc(i.task_id)}</code>: {esc(i.reason)}</li>" for i in missing
    )
    folder = _from_page(records_href(records, name, version))
    cite = _bibtex(board, [t.task_id for t in mine])
    return f"""{_head(f"{title}: geochem-bench v{board.benchmark_version}", 1)}<body>
<header>
<p><a href="../{HTML_NAME}">geochem-bench v{esc(board.benchmark_version)} leaderboard</a></p>
<h1 id="name">{esc(title)}</h1>
<p>{_badge(board, name, version)}
<a href="{esc(folder)}">records, card and verification</a></p>
</header>
<main>
<section id="facts">
<h2>Facts</h2>
{_facts(card)}
</section>
<section id="model-card">
<h2>Model card</h2>
{_card_text(card, version)}
</section>
<section id="suite-ranks">
<h2>Suite ranks</h2>
<div class="scroll"><table><thead><tr><th>protocol</th><th>rank</th>
<th>IQM skill [95 % CI]</th><th>tasks</th></tr></thead><tbody>
{suite_rows}
</tbody></table></div>
</section>
<section id="scores">
<h2>Scores per task</h2>
<p class="method">Skill and RMSE (analysis space) with 95 % bootstrap intervals; runtime:
mean seconds per fold on the submitter's machine; runs: folds x seeds.</p>
<div class="scroll"><table id="task-scores"><thead><tr><th class="name">task</th>
<th>skill [95 % CI]</th><th>RMSE [95 % CI]</th><th>runtime (s)</th><th>runs</th>
<th>raw</th></tr></thead><tbody>
{task_rows}
</tbody></table></div>
{old_tables}
{f"<h3>Not scored</h3><ul>{missing_list}</ul>" if missing else ""}
</section>
<section id="cite">
<h2>Cite these results</h2>
<pre>{esc(cite)}</pre>
</section>
</main>
</body>
</html>
"""


def write_site(
    board: Leaderboard, folder: str | Path, cards: Cards | None = None, records: str = "results"
) -> list[Path]:
    """Write ``index.html``, its script and style, and a page per submission into ``folder``.

    Pages of submissions no longer on the board are removed from ``submissions/`` (the folder
    is the renderer's own), so the folder always equals a fresh rendering.

    Returns:
        The paths written.
    """
    folder = Path(folder)
    cards = cards or {}
    pages = folder / SUBMISSIONS_DIR
    pages.mkdir(parents=True, exist_ok=True)
    texts = {
        folder / HTML_NAME: render_html(board, cards, records),
        folder / SCRIPT_NAME: _asset(SCRIPT_NAME),
        folder / STYLE_NAME: _asset(STYLE_NAME),
    }
    keys = sorted(
        {(s.submission, s.version) for s in board.suite}
        | {(t.submission, t.version) for t in (*board.tasks, *board.superseded)}
    )
    for name, version in keys:
        texts[folder / submission_page(name, version)] = render_submission(
            board, name, version, cards.get((name, version)), records
        )
    for stale in sorted(pages.glob("*.html")):
        if stale not in texts:
            stale.unlink()
    for path, text in texts.items():
        write_text_atomic(path, text)
    return list(texts)
