"""The model cards the board shows: each submission's facts and its card text.

A results folder holds ``<name>/<version>/submission.json`` (the facts: code, licence,
parameters, constructor arguments). The card's text, Markdown, comes from the first of:

1. ``<name>/<version>/README.md`` beside it: the card the submitter wrote;
2. the packaged baseline of the same name that runs the same model
   (``geochem_bench/resources/baselines/<name>/README.md``), for the official baselines, whose
   results folders hold no README; its version is kept, so the page can say when the card
   describes another version than the results;
3. the ``description`` of ``submission.json``.

Everything read here is untrusted (a submitter wrote it); the page escapes it
(:mod:`geochem_bench.board.card_markdown`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from geochem_bench.evaluation.submission import CARD_NAME, SubmissionCard, read_card

#: The card text beside ``submission.json``.
README_NAME: Final = "README.md"
#: Longer card texts are cut: a card is a page, not a data dump.
MAX_CARD_CHARS: Final = 200_000


@dataclass(frozen=True)
class ModelCard:
    """What the board shows of one submission beside its scores.

    Attributes:
        facts: the submission's ``submission.json`` (None when missing or unreadable).
        text: the card's Markdown ("" when there is none).
        source: where ``text`` came from: ``"README.md"``, ``"packaged baseline"``,
            ``"description"`` or ``""``.
        text_version: the submission version the text describes (a packaged baseline's card
            may describe a later version than the results).
    """

    facts: SubmissionCard | None
    text: str = ""
    source: str = ""
    text_version: str = ""


def load_model_cards(root: str | Path) -> dict[tuple[str, str], ModelCard]:
    """Every submission card under a results folder, by (name, version).

    Unreadable cards are left out (the board lists the submission without a card); a card
    that is a link is not followed, as records are not.
    """
    cards: dict[tuple[str, str], ModelCard] = {}
    baselines = _baseline_cards()
    for path in sorted(Path(root).glob(f"*/*/{CARD_NAME}")):
        if path.is_symlink():
            continue
        try:
            facts = read_card(path)
        except (ValueError, OSError):
            continue
        if not card_in_its_folder(path, facts.name, facts.version):
            continue  # a card claiming another submission's name must not replace its card
        cards[(facts.name, facts.version)] = _card(facts, path.parent / README_NAME, baselines)
    return cards


def card_in_its_folder(path: Path, name: str, version: str) -> bool:
    """Whether a ``submission.json`` lies in the folder its own name and version give.

    Results are ``<name>/<version>/...``: a card anywhere else speaks for a submission it
    is not the folder of, and is ignored.
    """
    from geochem_bench.evaluation.records import safe_name

    try:
        return (path.parent.parent.name, path.parent.name) == (safe_name(name), safe_name(version))
    except ValueError:
        return False


def _card(
    facts: SubmissionCard, readme: Path, baselines: dict[str, tuple[str, str | None, str]]
) -> ModelCard:
    if readme.is_file() and not readme.is_symlink():
        text = _read(readme)
        if text is not None:
            return ModelCard(facts, text, README_NAME, facts.version)
    if facts.name in baselines:
        version, model, text = baselines[facts.name]
        # the same name alone is no proof: the card must run the packaged model
        if model is not None and model == facts.model:
            return ModelCard(facts, text, "packaged baseline", version)
    if facts.description:
        return ModelCard(facts, facts.description[:MAX_CARD_CHARS], "description", facts.version)
    return ModelCard(facts)


def _read(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_CARD_CHARS)
    except OSError:
        return None


def _baseline_cards() -> dict[str, tuple[str, str | None, str]]:
    """Packaged baselines by name: (version, model, card text)."""
    from geochem_bench import resources

    found = {}
    for name, folder in resources.baselines().items():
        config = tomllib.loads((folder / resources.SUBMISSION_CONFIG).read_text(encoding="utf-8"))
        table = config.get("submission", {})
        text = _read(folder / README_NAME)
        if text is not None:
            found[name] = (str(table.get("version", "")), table.get("model"), text)
    return found
