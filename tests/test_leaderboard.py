"""Building and rendering the board from result folders, bad files included."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest

from geochem_bench.board.cards import README_NAME, load_model_cards
from geochem_bench.board.folder import board_files, write_board
from geochem_bench.board.leaderboard import load_leaderboard
from geochem_bench.board.rendering import (
    CSV_NAME,
    HTML_NAME,
    MARKDOWN_NAME,
    PLOT_NAME,
    render_csv,
    render_markdown,
    scene_plot_name,
    scenes_of,
)
from geochem_bench.board.site import (
    DATA_ID,
    SCRIPT_NAME,
    SPACE_FRONT_MATTER,
    STYLE_NAME,
    SUBMISSIONS_DIR,
    render_html,
    render_submission,
    submission_page,
)
from geochem_bench.resources import root as resources_root

from .conftest import release_suite

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ROOT / "leaderboard" / "results"
BOARD = ROOT / "leaderboard"


@pytest.fixture(scope="module")
def official_board():
    return load_leaderboard(OFFICIAL)


def _assert_fresh(board, folder: Path, results: Path) -> None:
    """The board committed in ``folder`` equals a fresh rendering of ``board``, page included."""
    cards = load_model_cards(results)
    records = os.path.relpath(results, folder)
    assert (folder / MARKDOWN_NAME).read_text() == render_markdown(board)
    assert (folder / CSV_NAME).read_text() == render_csv(board)
    assert (folder / HTML_NAME).read_text() == render_html(board, cards, records)
    for name in (SCRIPT_NAME, STYLE_NAME):
        assert (folder / name).read_text() == (resources_root() / "site" / name).read_text()
    keys = {(s.submission, s.version) for s in board.suite} | {
        (t.submission, t.version) for t in (*board.tasks, *board.superseded)
    }
    pages = {folder / submission_page(*key): key for key in keys}
    assert set((folder / SUBMISSIONS_DIR).glob("*.html")) == set(pages)
    for path, (name, version) in pages.items():
        expected = render_submission(board, name, version, cards.get((name, version)), records)
        assert path.read_text() == expected, path
    for path in [folder / PLOT_NAME] + [folder / scene_plot_name(s) for s in scenes_of(board)]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_committed_board_matches_a_fresh_rendering(official_board):
    _assert_fresh(official_board, BOARD, OFFICIAL)
    assert official_board.skipped == []


def test_v1_records_stay_readable_on_their_own_board():
    """v1 records keep their board (v1 pins, v1 verifications), rendered as committed."""
    v1 = load_leaderboard(BOARD / "v1" / "results", benchmark_version="1.0")
    assert v1.skipped == [] and v1.benchmark_version == "1.0"
    _assert_fresh(v1, BOARD / "v1", BOARD / "v1" / "results")
    assert v1.verified("bicubic", "1.0.0").verified  # old digests still match
    assert "v1.0 records" in render_markdown(v1)
    # on the current board the same files are refused with a pointer to their own board
    current = load_leaderboard(BOARD / "v1" / "results")
    assert current.tasks == [] and current.skipped
    assert all("--benchmark 1.0" in s.reason for s in current.skipped)


def test_the_space_front_matter_is_documented():
    """A Hub Space serves the folder with the README front matter the board's README gives."""
    assert SPACE_FRONT_MATTER in (BOARD / "README.md").read_text()
    assert "sdk: static" in SPACE_FRONT_MATTER and "app_file: index.html" in SPACE_FRONT_MATTER


def test_official_board_is_consistent(official_board):
    names = {s.submission for s in official_board.suite}
    assert {"bicubic", "idw", "ordinary-kriging", "random-forest", "fusion-cnn"} <= names
    assert official_board.protocols == ["grid", "points", "transfer"]
    # bicubic is the grid reference: skill 0 there by construction, not on points
    grid = {s.submission: s for s in official_board.suite_of("grid")}
    assert grid["bicubic"].complete and grid["bicubic"].iqm.estimate == pytest.approx(0.0)
    for t in official_board.tasks:
        assert t.skill.low is not None and t.skill.low <= t.skill.estimate + 1e-9
        assert t.skill.estimate <= t.skill.high + 1e-9
        assert all(v is not None for v in t.bias.values())  # bias sits next to skill
        if t.protocol == "grid":
            assert all(v is not None and v >= 0 for v in t.coherence.values())
        if t.task_id.startswith(("synthetic/", "olinda/")):
            assert t.n_realisations == 3
    stochastic = {t.n_seeds for t in official_board.tasks if t.submission == "fusion-cnn"}
    assert stochastic == {3}
    # the overall standing is the mean of the per-protocol ranks
    for o in official_board.overall:
        assert o.mean_rank == pytest.approx(sum(o.ranks.values()) / len(o.ranks))
    markdown = render_markdown(official_board)
    assert "bias Cu" in markdown and "coherence Cu" in markdown


def _copy(tmp_path: Path, *submissions: str) -> Path:
    out = tmp_path / "results"
    for name in submissions:
        shutil.copytree(OFFICIAL / name, out / name)
    return out


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _block_rmse(path: Path, element: str = "Cu") -> str:
    blocks = json.loads(path.read_text())["errors"][element]
    return f"{math.sqrt(math.fsum(blocks['sse']) / sum(blocks['n'])):.6g}"


def test_bad_files_are_skipped_and_listed_never_crash(tmp_path):
    out = _copy(tmp_path, "bicubic", "idw")
    idw = next((out / "idw").iterdir())
    files = sorted(idw.rglob("fold-*.json"))
    files[0].write_text('{"schema_version": "1.1.0", "status": ')  # truncated
    _edit(files[1], lambda d: d.update(benchmark_version="0.9"))
    _edit(files[2], lambda d: d["metrics"][d["task"]["elements"][0]].update(rmse=1e300))

    def contradict(d):
        element = d["task"]["elements"][0]
        d["metrics"][element]["rmse"] *= 0.5  # the blocks still say the true RMSE

    _edit(files[3], contradict)
    _edit(files[4], lambda d: d["dataset"]["sha256"].update(covariates="0" * 64))
    _edit(files[5], lambda d: d["submission"].update(name="../../etc/passwd"))
    hostile = out / "idw" / idw.name / "synthetic" / "fold-0.json"
    hostile.write_text(json.dumps({"status": "ok", "metrics": {"Cu": {"rmse": "NaN"}}}))

    board = load_leaderboard(out, n_boot=50, suite_task_ids=release_suite("bicubic", "idw"))
    reasons = {s.path: s.reason for s in board.skipped}
    rel = [str(f.relative_to(out)) for f in files]
    assert "not a valid geochem-bench result" in reasons[rel[0]]
    assert "a benchmark v0.9 record on the v2.0 board" in reasons[rel[1]]
    assert reasons[rel[2]] == f"Cu rmse is 1e+300, its error blocks give {_block_rmse(files[2])}"
    half = json.loads(files[3].read_text())["metrics"]["Cu"]["rmse"]
    assert (
        reasons[rel[3]] == f"Cu rmse is {half:.6g}, its error blocks give {_block_rmse(files[3])}"
    )
    task = json.loads(files[4].read_text())["task"]
    assert reasons[rel[4]] == (
        f"computed on other data than the official {task['id']} (dataset sha256 of "
        f"covariates differs from the pinned one): rebuild the scene (geochem-bench download "
        f"{task['scene']} --force) and rerun"
    )
    assert "path separator" in reasons[rel[5]]  # refused by its name before its path
    assert str(hostile.relative_to(out)) in reasons
    # the broken tasks drop out of idw's score and are said to; bicubic is untouched
    broken = [s for s in board.suite if s.submission == "idw" and not s.complete]
    assert broken and all(s.rank is None for s in broken)
    assert {i.task_id for i in board.incomplete if i.submission == "idw"}
    assert all(s.complete for s in board.suite if s.submission == "bicubic")
    text = render_markdown(board)
    assert "## Skipped files" in text and "benchmark v0.9 record" in text


def test_a_symlinked_record_is_not_read(tmp_path):
    """A link could pass a rival's file off as another seed of its own: skipped, not read."""
    out = _copy(tmp_path, "bicubic", "idw")
    mine = next(p for p in sorted((out / "bicubic").rglob("fold-0.json")) if "meuse" in str(p))
    rival = out / "idw" / mine.relative_to(out / "bicubic")
    link = rival.with_name("fold-0-seed-1.json")
    link.symlink_to(mine)
    board = load_leaderboard(out, n_boot=50, suite_task_ids=release_suite("bicubic", "idw"))
    assert {s.path: s.reason for s in board.skipped} == {
        str(link.relative_to(out)): "a link to another record of the folder"
    }
    assert all(s.complete for s in board.suite)


def test_failed_folds_make_a_task_incomplete(tmp_path):
    out = _copy(tmp_path, "bicubic")
    path = next(
        p for p in sorted(out.rglob("fold-1.json")) if "meuse/cd/s10/points" in p.as_posix()
    )

    def fail(d):
        d.update(status="failed", metrics=None, errors=None)
        d["failure"] = {"kind": "timeout", "message": "over 1800 s"}

    _edit(path, fail)
    board = load_leaderboard(out, n_boot=50)
    assert [i.reason for i in board.incomplete] == ["meuse/cd/s10/points: folds [1] failed"]
    assert board.skipped == []


def test_a_protocol_the_card_does_not_enter_is_not_missing(tmp_path):
    out = _copy(tmp_path, "bicubic")
    for path in out.rglob("fold-*.json"):
        if "/points/" in path.as_posix() or "/transfer/" in path.as_posix():
            path.unlink()
    # deleting a protocol's records does not make the submission grid-only: they are missing
    board = load_leaderboard(out, n_boot=50)
    missing = {i.task_id for i in board.incomplete if i.reason == "no records"}
    assert missing and all(t.endswith(("/points", "/transfer")) for t in missing)
    # the card saying so does (what `protocols = ["grid"]` in submission.toml writes)
    _edit(next(out.rglob("submission.json")), lambda d: d.update(protocols=["grid"]))
    board = load_leaderboard(out, n_boot=50)
    assert board.incomplete == []
    assert {s.protocol for s in board.suite} == {"grid"}
    assert board.overall == []  # the overall rank needs every protocol
    for path in sorted(out.rglob("synthetic/all/s4/grid/*.json")):
        path.unlink()  # a grid task gone: the protocol it enters is incomplete
    board = load_leaderboard(out, n_boot=50)
    assert [(i.task_id, i.reason) for i in board.incomplete] == [
        ("synthetic/all/s4/grid", "no records")
    ]


def test_missing_results_folder_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_leaderboard(tmp_path / "nope")


def _embedded(page: str) -> dict:
    match = re.search(rf'<script id="{DATA_ID}" type="application/json">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_the_rendered_page_holds_the_board_offline_and_escaped(tmp_path):
    out = _copy(tmp_path, "bicubic", "idw")
    hostile = (
        "# Card <script>alert(1)</script>\n\n<img src=x onerror=alert(2)> [x](javascript:alert(3))"
    )
    (next((out / "idw").iterdir()) / README_NAME).write_text(hostile)
    board = load_leaderboard(out, n_boot=50, suite_task_ids=release_suite("bicubic", "idw"))
    folder = tmp_path / "board"
    write_board(board, folder, load_model_cards(out), "../results")
    page = (folder / HTML_NAME).read_text()
    data = _embedded(page)
    shown = {
        (p, r["submission"], r["version"], r["rank"])
        for p, rows in data["suites"].items()
        for r in rows
    }
    assert shown == {(s.protocol, s.submission, s.version, s.rank) for s in board.suite}
    rows = {(r["submission"], r["task"], r["element"]) for rs in data["tasks"].values() for r in rs}
    assert rows == {(t.submission, t.task_id, e) for t in board.tasks for e in t.elements}
    for key in {(s.submission, s.version) for s in board.suite}:
        assert (folder / submission_page(*key)).is_file()
    # offline: every script and style is a file of the folder, nothing is fetched
    for html_file in [folder / HTML_NAME, *(folder / SUBMISSIONS_DIR).glob("*.html")]:
        text = html_file.read_text()
        sources = re.findall(r"<(?:script|link|img)\b[^>]*?(?:src|href)=\"([^\"]*)\"", text)
        assert sources and not [s for s in sources if "//" in s or s.startswith("data:")]
        for source in sources:
            assert (html_file.parent / source).is_file(), source
    idw = (folder / submission_page("idw", next((out / "idw").iterdir()).name)).read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in idw and "<script" not in idw
    assert "<img" not in idw and "javascript:" not in idw.replace("[x](javascript:", "")
    assert 'href="../../results/idw/' in idw  # the records, relative to the page
    assert set(board_files(folder)) >= {folder / HTML_NAME, folder / SCRIPT_NAME}


# --- in headless Chromium ------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "apt-get install chromium chromium-driver; pip install -e '.[browser]'"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by chromedriver (the Debian packages; nothing downloaded)."""
    chromium = shutil.which("chromium") or CHROMIUM
    driver_path = shutil.which("chromedriver") or CHROMEDRIVER
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip(f"selenium is not installed: {INSTALL}")
    if not (Path(chromium).is_file() and Path(driver_path).is_file()):
        pytest.skip(f"chromium or chromedriver is missing: {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_window_size(1400, 1000)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory, official_board):
    """The official board rendered with its cards, records linked relatively as committed."""
    folder = tmp_path_factory.mktemp("board")
    write_board(
        official_board, folder, load_model_cards(OFFICIAL), os.path.relpath(OFFICIAL, folder)
    )
    return folder


def _open(browser, site: Path, view: str = "") -> None:
    browser.get("about:blank")  # a new hash alone would keep the last test's page and state
    browser.get((site / HTML_NAME).as_uri() + view)
    browser.find_element("css selector", "#tasks tbody")


def _keys(browser, table: str) -> list[str]:
    return browser.execute_script(
        f"return [...document.querySelectorAll('#{table} tbody tr')].map(r => r.dataset.key)"
    )


def _column(browser, table: str, column: str) -> list[str]:
    index = browser.execute_script(
        f"return [...document.querySelectorAll('#{table} thead th')]"
        f".findIndex(th => th.dataset.column === '{column}')"
    )
    return browser.execute_script(
        f"return [...document.querySelectorAll('#{table} tbody tr')]"
        f".map(r => r.cells[{index}].textContent)"
    )


def _select(browser, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", name)).select_by_value(value)


@pytest.mark.browser
def test_protocol_tabs_show_each_protocols_suite(browser, site, official_board):
    _open(browser, site)
    for protocol in official_board.protocols:
        browser.find_element("css selector", f'#protocols [data-protocol="{protocol}"]').click()
        expected = [f"{s.submission} {s.version}" for s in official_board.suite_of(protocol)]
        assert _keys(browser, "suite") == expected  # board order: its ranks, ties included
        ranks = _column(browser, "suite", "rank")
        assert [r.lstrip("=") for r in ranks] == [
            "-" if s.rank is None else str(s.rank) for s in official_board.suite_of(protocol)
        ]


@pytest.mark.browser
def test_filters_and_search_show_the_expected_rows(browser, site, official_board):
    protocol = official_board.protocols[1]
    first = next(t for t in official_board.tasks if t.protocol == protocol)
    scene, element = first.scene, first.elements[0]
    _open(browser, site)
    browser.find_element("css selector", f'#protocols [data-protocol="{protocol}"]').click()
    _select(browser, "scene", scene)
    _select(browser, "element", element)
    expected = {
        f"{t.submission} {t.version} {t.task_id} {element}"
        for t in official_board.tasks
        if (t.protocol, t.scene) == (protocol, scene) and element in t.elements
    }
    assert expected and set(_keys(browser, "tasks")) == expected
    scale = str(first.scale)
    _select(browser, "scale", scale)
    assert set(_keys(browser, "tasks")) == {k for k in expected if f"/s{scale}/" in k}
    browser.find_element("id", "search").send_keys("krig")
    suite = [
        f"{s.submission} {s.version}"
        for s in official_board.suite_of(protocol)
        if "krig" in s.submission.lower()
    ]
    assert suite and _keys(browser, "suite") == suite
    assert {k.split()[0] for k in _keys(browser, "tasks")} <= {k.split()[0] for k in suite}
    # a link keeps the view
    assert f"scene={scene}" in browser.current_url and "search=krig" in browser.current_url


@pytest.mark.browser
def test_sorting_by_a_column_orders_the_rows(browser, site, official_board):
    protocol = official_board.protocols[0]
    _open(browser, site, f"#protocol={protocol}")
    scores = [(t, e) for t in official_board.tasks if t.protocol == protocol for e in t.elements]
    by_skill = sorted((t.skill.estimate for t, _ in scores), reverse=True)
    assert _column(browser, "tasks", "skill") == [f"{v:+.3f}" for v in by_skill]  # the default
    browser.find_element("css selector", '#tasks th[data-column="rmse"] button').click()
    by_rmse = sorted(t.rmse[e].estimate for t, e in scores)
    assert _column(browser, "tasks", "rmse") == [f"{v:.3f}" for v in by_rmse]
    browser.find_element("css selector", '#tasks th[data-column="rmse"] button').click()
    assert _column(browser, "tasks", "rmse") == [f"{v:.3f}" for v in reversed(by_rmse)]
    browser.find_element("css selector", '#suite th[data-column="iqm"] button').click()
    iqm = sorted((s.iqm.estimate for s in official_board.suite_of(protocol)), reverse=True)
    assert _column(browser, "suite", "iqm") == [f"{v:+.3f}" for v in iqm]


@pytest.mark.browser
def test_a_submission_page_opens_with_its_card(browser, site, official_board):
    _open(browser, site)
    top = official_board.suite_of(official_board.protocols[0])[0]
    browser.find_element("css selector", "#suite tbody tr td.name a").click()
    assert browser.find_element("id", "name").text == f"{top.submission} {top.version}"
    card = load_model_cards(OFFICIAL)[(top.submission, top.version)]
    title = card.text.splitlines()[0].lstrip("# ")
    assert browser.find_element("css selector", "article.card h2").text == title
    badge = browser.find_element("css selector", "header .badge").text
    assert badge == official_board.verified(top.submission, top.version).label
    rows = browser.find_elements("css selector", "#task-scores tbody tr")
    mine = [
        t
        for t in official_board.tasks
        if (t.submission, t.version) == (top.submission, top.version)
    ]
    assert len(rows) == len(mine)
    link = rows[0].find_element("css selector", "a").get_attribute("href")
    assert Path(link.removeprefix("file://")).is_dir()  # the raw records of that task


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 800])
def test_the_page_fits_the_window(browser, site, tmp_path, width):
    browser.set_window_size(width, 2400)
    try:
        _open(browser, site, "#protocol=points&scene=meuse")
        browser.execute_script("return document.fonts.ready")
        scroll, inner = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert scroll <= inner, f"{scroll} px of page in a {inner} px window"
        shots = [tmp_path / f"board-{width}.png"]
        if os.environ.get("GEOCHEM_BENCH_SCREENSHOTS"):
            shots.append(Path(os.environ["GEOCHEM_BENCH_SCREENSHOTS"]) / f"board-{width}.png")
        for shot in shots:
            shot.parent.mkdir(parents=True, exist_ok=True)
            assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        browser.set_window_size(1400, 1000)


def test_model_index_lists_every_task_with_skill_and_rmse(official_board, capsys):
    import yaml

    from geochem_bench.board.model_index import model_index, model_index_yaml
    from geochem_bench.cli.main import main

    index = model_index(official_board, "bicubic")  # scored on every suite task
    results = index["model-index"][0]["results"]
    assert len(results) == len(official_board.suite_task_ids)
    first = results[0]
    assert first["metrics"][0]["type"] == "skill" and "95% CI" in first["metrics"][0]["name"]
    assert yaml.safe_load(model_index_yaml(index)) == index
    assert main(["model-index", "bicubic", "--source", str(OFFICIAL)]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == index
    with pytest.raises(KeyError, match="the board has"):
        model_index(official_board, "no-such-model")


def test_a_record_whose_name_its_folder_would_rename_is_refused(tmp_path):
    """``idw!`` would share ``idw_``'s folder and page: such a name never reaches the board."""
    from geochem_bench.board.leaderboard import collect_records

    source = next((OFFICIAL / "idw").iterdir())
    record = json.loads(next(source.rglob("fold-0.json")).read_text())
    task = record["task"]["id"]
    record["submission"]["name"] = "idw!"
    where = tmp_path / "idw_" / source.name / task / "fold-0.json"
    where.parent.mkdir(parents=True)
    where.write_text(json.dumps(record))
    found, skipped = collect_records(tmp_path)
    assert not found and "submission name" in skipped[0].reason


def test_an_empty_results_folder_renders_an_empty_board(tmp_path):
    (tmp_path / "results").mkdir()
    board = load_leaderboard(tmp_path / "results")
    paths = write_board(board, tmp_path / "out")
    assert any(Path(p).name == "index.html" for p in paths)


def test_every_task_of_the_committed_board_has_its_citation():
    """The page cites the whole board, and every task's scene and protocol has its BibTeX."""
    page = (ROOT / "leaderboard" / HTML_NAME).read_text()
    data = _embedded(page)
    assert '<section id="cite">' in page and "@" in page.split('<section id="cite">')[1]
    for protocol, rows in data["tasks"].items():
        for row in rows:
            keys = data["citations"][f"{row['scene']}/{protocol}"]
            assert keys, (row["scene"], protocol)
            assert all(data["bibtex"][k].startswith("@") for k in keys)
