"""The rendered board folder: every rendering of a board, written together.

``LEADERBOARD.md``, ``leaderboard.csv``, ``leaderboard.png`` and ``plots/<scene>.png``
(:mod:`geochem_bench.board.rendering`), and the browsable page with a page per submission
(:mod:`geochem_bench.board.site`). ``geochem-bench leaderboard --render DIR`` writes them and
``--publish`` uploads exactly these files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from geochem_bench.board.cards import ModelCard
from geochem_bench.board.leaderboard import Leaderboard
from geochem_bench.board.rendering import (
    CSV_NAME,
    HTML_NAME,
    MARKDOWN_NAME,
    PLOT_NAME,
    PLOTS_DIR,
    render_csv,
    render_markdown,
    render_plot,
    render_scene_plots,
)
from geochem_bench.board.site import SCRIPT_NAME, STYLE_NAME, SUBMISSIONS_DIR, write_site
from geochem_bench.core.atomic import write_text_atomic


def write_board(
    board: Leaderboard,
    folder: str | Path,
    cards: Mapping[tuple[str, str], ModelCard] | None = None,
    records: str = "results",
) -> list[Path]:
    """Write every rendering into ``folder``; returns the paths.

    ``LEADERBOARD.md``, ``leaderboard.csv``, ``leaderboard.png``, ``plots/<scene>.png`` and
    the browsable page (:mod:`geochem_bench.board.site`: ``index.html``, its script and
    style, ``submissions/*.html``).

    Args:
        board: the board.
        folder: where to write.
        cards: model cards by (name, version) (see
            :func:`~geochem_bench.board.cards.load_model_cards`).
        records: the results folder the board was built from, relative to ``folder`` or an
            absolute URL: where the pages link the raw records.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in ((MARKDOWN_NAME, render_markdown(board)), (CSV_NAME, render_csv(board))):
        write_text_atomic(folder / name, text)
        written.append(folder / name)
    render_plot(board, folder / PLOT_NAME)
    written.append(folder / PLOT_NAME)
    written += render_scene_plots(board, folder)
    return written + write_site(board, folder, cards, records)


def board_files(folder: str | Path) -> list[Path]:
    """The files of a board rendered into ``folder`` (what ``--publish`` uploads), sorted.

    Only the renderer's own files: the folder may hold other things (the repository's
    ``leaderboard/`` holds the results and a README).
    """
    folder = Path(folder)
    names = (MARKDOWN_NAME, CSV_NAME, PLOT_NAME, HTML_NAME, SCRIPT_NAME, STYLE_NAME)
    files = [folder / name for name in names if (folder / name).is_file()]
    files += folder.glob(f"{PLOTS_DIR}/*.png")
    files += folder.glob(f"{SUBMISSIONS_DIR}/*.html")
    return sorted(files)
