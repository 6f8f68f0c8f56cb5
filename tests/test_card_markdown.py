"""Model cards on the board: the escaped Markdown subset and where a card's text comes from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from geochem_bench import resources
from geochem_bench.board.card_markdown import markdown_to_html
from geochem_bench.board.cards import README_NAME, load_model_cards

OFFICIAL = Path(__file__).resolve().parents[1] / "leaderboard" / "results"


def test_the_markdown_subset_renders():
    text = "\n".join(
        [
            "---",
            "license: mit",
            "---",
            "# Title",
            "",
            "A *short* **card** with `code <b>` and [a link](https://example.org/?a=1&b=2).",
            "",
            "- one",
            "- two",
            "  1. nested",
            "",
            "| task | skill |",
            "|---|---:|",
            "| a \\| b | +0.1 |",
            "",
            "```",
            "x < y",
            "```",
        ]
    )
    page = markdown_to_html(text)
    assert "license: mit" not in page
    assert "<h2>Title</h2>" in page
    assert "<em>short</em>" in page and "<strong>card</strong>" in page
    assert "<code>code &lt;b&gt;</code>" in page
    assert '<a href="https://example.org/?a=1&amp;b=2" rel="nofollow noopener">a link</a>' in page
    assert "<ul><li>one</li><li>two\n<ol><li>nested</li></ol></li></ul>" in page
    assert '<td>a | b</td><td class="right">+0.1</td>' in page
    assert "<pre><code>x &lt; y</code></pre>" in page


def test_a_card_cannot_add_markup_or_run_code():
    hostile = "\n".join(
        [
            "# <script>alert(1)</script>",
            '<img src=x onerror="alert(1)"> <a href="javascript:alert(1)">x</a>',
            "[click](javascript:alert(1)) [data](data:text/html,<script>alert(1)</script>)",
            '[quote](https://x.org/"onmouseover="alert(1))',
            "<style>body{display:none}</style>",
        ]
    )
    page = markdown_to_html(hostile)
    assert "<script" not in page and "<img" not in page and "<style" not in page
    assert 'href="javascript' not in page and 'href="data' not in page
    assert 'onmouseover="' not in page  # the quote became &quot; inside the href
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_cards_come_from_the_results_folder_then_the_packaged_baseline(tmp_path):
    out = tmp_path / "results"
    for name in ("bicubic", "idw"):
        shutil.copytree(OFFICIAL / name, out / name, ignore=shutil.ignore_patterns("fold-*"))
    bicubic = next((out / "bicubic").iterdir())
    (bicubic / README_NAME).write_text("# Mine\n\nThe submitter's own card.")
    idw = next((out / "idw").iterdir())
    cards = load_model_cards(out)
    mine = cards[("bicubic", bicubic.name)]
    assert mine.source == README_NAME and "submitter's own card" in mine.text
    packaged = cards[("idw", idw.name)]
    readme = (resources.baseline_dir("idw") / README_NAME).read_text()
    assert packaged.source == "packaged baseline" and packaged.text == readme
    assert packaged.facts is not None and packaged.facts.licence
    # a card that only borrows a baseline's name gets its own description, not the baseline's
    card = json.loads((idw / "submission.json").read_text())
    card.update(model="my_module:Other", description="Mine, not IDW.")
    (idw / "submission.json").write_text(json.dumps(card))
    assert load_model_cards(out)[("idw", idw.name)].text == "Mine, not IDW."


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
            found.append((tag, attrs))

    Collect().feed(page)
    return found


@pytest.mark.parametrize(
    "text",
    [
        # an autolink inside a link target: the red team's way out of the href (page load XSS)
        "[x](https://a.example/<https://b/autofocus/onfocus=window.pwned=4;//>)",
        "[x](mailto:a@b.c<https://b/onclick=alert(1)//>)",
        "| a |\n|---|\n| [x](https://a/<https://b/x/onclick=alert(1)//>) |",
        "[<https://b>](https://y) [x](https://a.com/_a_b_)",
    ],
)
def test_links_never_gain_attributes_or_nest(text):
    anchors = [attrs for tag, attrs in _tags(markdown_to_html(text)) if tag == "a"]
    assert anchors, "the link was rendered"
    for attrs in anchors:
        assert [name for name, _ in attrs] == ["href", "rel"], attrs
    assert "<a" not in "".join(str(v) for attrs in anchors for _, v in attrs)


def test_a_card_in_another_submissions_folder_is_ignored(tmp_path):
    """A submission.json claiming idw's name from its own folder cannot replace idw's card."""
    out = tmp_path / "results"
    shutil.copytree(OFFICIAL / "idw", out / "idw", ignore=shutil.ignore_patterns("fold-*"))
    version = next((out / "idw").iterdir()).name
    spoof = out / "zzz-spoof" / version
    spoof.mkdir(parents=True)
    card = json.loads((out / "idw" / version / "submission.json").read_text())
    card.update(code="https://evil.example/idw", licence="SPOOFED")
    (spoof / "submission.json").write_text(json.dumps(card))
    (spoof / README_NAME).write_text("# SPOOFED idw card")
    cards = load_model_cards(out)
    assert "SPOOFED" not in cards[("idw", version)].text
    assert cards[("idw", version)].facts.licence != "SPOOFED"
