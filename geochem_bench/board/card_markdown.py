"""Model cards to HTML: a small Markdown subset, with every character of the card escaped.

Cards are written by submitters, so they are untrusted: a card must not add a script, a style,
an event handler or a link that runs code. The renderer therefore never passes raw HTML
through. It escapes the whole text first and only then turns the Markdown it knows into tags:
ATX headings, paragraphs, ``-``/``*``/``+`` and ``1.`` lists, block quotes, fenced code,
pipe tables, inline code, ``**strong**``, ``*emphasis*``, and links whose target is an
``http(s)`` or ``mailto`` URL (any other target, ``javascript:`` included, stays text).
YAML front matter (the Hub's model-card metadata) is dropped. Anything else shows as typed.
"""

from __future__ import annotations

import html
import re
from typing import Final

#: Headings of a card start at ``h2``: the page around it has the ``h1``.
_HEADING_OFFSET: Final = 1
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_ORDERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
# Applied to escaped text, so quotes are already &quot; and cannot end the href attribute.
_LINK = re.compile(r"\[([^\]]+)\]\(\s*((?:https?://|mailto:)[^\s)]+)\s*\)")
_AUTOLINK = re.compile(r"&lt;(https?://[^\s&]+)&gt;")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\w)|(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)")


def markdown_to_html(text: str) -> str:
    """The card ``text`` as HTML, escaped; see the module docstring for what is rendered."""
    lines = _without_front_matter(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif fence := _FENCE.match(line.strip()):
            i = _code_block(lines, i, fence.group(1), out)
        elif heading := _HEADING.match(line):
            level = min(len(heading.group(1)) + _HEADING_OFFSET, 6)
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            i += 1
        elif _RULE.match(line):
            out.append("<hr>")
            i += 1
        elif "|" in line and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            i = _table(lines, i, out)
        elif _BULLET.match(line) or _ORDERED.match(line):
            i = _list(lines, i, out)
        elif _QUOTE.match(line):
            quoted = []
            while i < len(lines) and (match := _QUOTE.match(lines[i])):
                quoted.append(match.group(1))
                i += 1
            out.append(f"<blockquote>{markdown_to_html(chr(10).join(quoted))}</blockquote>")
        else:
            i = _paragraph(lines, i, out)
    return "\n".join(out)


def inline(text: str) -> str:
    """One line or paragraph of Markdown as escaped HTML with code, emphasis and links."""
    parts = []
    last = 0
    # code spans first: their content is shown literally, never as emphasis or links
    for match in _CODE_SPAN.finditer(text):
        parts.append(_inline_text(text[last : match.start()]))
        parts.append(f"<code>{html.escape(match.group(2).strip())}</code>")
        last = match.end()
    parts.append(_inline_text(text[last:]))
    return "".join(parts)


def _inline_text(text: str) -> str:
    """Escaped text with links, strong and emphasis, in one pass per kind of token.

    Each link is cut out as a placeholder as soon as it is found, so no later rule ever
    runs over a link's target: an autolink or an emphasis inside an ``href`` (the way out of
    the attribute a red team found) cannot happen.
    """
    escaped = html.escape(text, quote=True)
    links: list[str] = []

    def hold(anchor: str) -> str:
        links.append(anchor)
        return f"\x00{len(links) - 1}\x00"

    escaped = escaped.replace("\x00", "")  # placeholders are the only NULs
    escaped = _LINK.sub(
        lambda m: hold(
            f'<a href="{m.group(2)}" rel="nofollow noopener">{_emphasis(m.group(1))}</a>'
        ),
        escaped,
    )
    escaped = _AUTOLINK.sub(
        lambda m: hold(f'<a href="{m.group(1)}" rel="nofollow noopener">{m.group(1)}</a>'),
        escaped,
    )
    escaped = _emphasis(escaped)
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m.group(1))], escaped)


def _anchor(escaped_url: str, label: str) -> str:
    return f'<a href="{escaped_url}" rel="nofollow noopener">{label}</a>'


def _emphasis(escaped: str) -> str:
    escaped = _STRONG.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", escaped)
    return _EMPHASIS.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", escaped)


def _without_front_matter(text: str) -> str:
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            return text[end + 4 :].lstrip("\n")
    return text


def _code_block(lines: list[str], i: int, fence: str, out: list[str]) -> int:
    body = []
    i += 1
    while i < len(lines) and not lines[i].strip().startswith(fence):
        body.append(lines[i])
        i += 1
    out.append(f"<pre><code>{html.escape(chr(10).join(body))}</code></pre>")
    return i + 1


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    # an escaped pipe stays inside its cell
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def _table(lines: list[str], i: int, out: list[str]) -> int:
    head = _cells(lines[i])
    aligns = []
    for rule in _cells(lines[i + 1]):
        right, left = rule.endswith(":"), rule.startswith(":")
        aligns.append("center" if left and right else "right" if right else "")
    i += 2
    rows = []
    while i < len(lines) and "|" in lines[i] and lines[i].strip():
        rows.append(_cells(lines[i]))
        i += 1

    def cell(tag: str, text: str, column: int) -> str:
        align = aligns[column] if column < len(aligns) else ""
        style = f' class="{align}"' if align else ""
        return f"<{tag}{style}>{inline(text)}</{tag}>"

    body = "\n".join(
        "<tr>" + "".join(cell("td", c, k) for k, c in enumerate(row[: len(head)])) + "</tr>"
        for row in rows
    )
    head_row = "".join(cell("th", c, k) for k, c in enumerate(head))
    out.append(
        f'<div class="scroll"><table><thead><tr>{head_row}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )
    return i


def _list(lines: list[str], i: int, out: list[str]) -> int:
    ordered = bool(_ORDERED.match(lines[i])) and not _BULLET.match(lines[i])
    pattern = _ORDERED if ordered else _BULLET
    items: list[list[str]] = []
    indent = 0
    while i < len(lines):
        line = lines[i]
        match = pattern.match(line) if not line.startswith(("    ", "\t")) else None
        if match:
            items.append([match.group(1)])
            indent = match.start(1)
        elif items and line.startswith((" ", "\t")):
            # a wrapped line or a nested block, kept relative to the item's text
            depth = len(line) - len(line.lstrip())
            items[-1].append(line[min(depth, indent) :])
        elif items and line.strip() and items[-1][-1] and not _starts_block(lines, i):
            items[-1].append(line)  # a lazy continuation of the item's paragraph
        elif items and not line.strip() and _continues(lines, i + 1, pattern):
            items[-1].append("")
        else:
            break
        i += 1
    tag = "ol" if ordered else "ul"
    body = "".join(f"<li>{_item(item)}</li>" for item in items)
    out.append(f"<{tag}>{body}</{tag}>")
    return i


def _continues(lines: list[str], i: int, pattern: re.Pattern[str]) -> bool:
    """Whether the list goes on at line ``i``, after a blank line."""
    return i < len(lines) and bool(pattern.match(lines[i]) or lines[i].startswith(("  ", "\t")))


def _item(item: list[str]) -> str:
    """A list item: one line inline, several as blocks (a nested list, paragraphs)."""
    if len(item) == 1:
        return inline(item[0])
    rendered = markdown_to_html("\n".join(item))
    # a tight item's first paragraph carries no <p>, as in CommonMark
    if rendered.startswith("<p>"):
        end = rendered.index("</p>")
        rendered = rendered[3:end] + rendered[end + 4 :]
    return rendered


def _starts_block(lines: list[str], i: int) -> bool:
    """Whether line ``i`` opens a block that interrupts a paragraph."""
    line = lines[i]
    return bool(
        _FENCE.match(line.strip())
        or _HEADING.match(line)
        or _BULLET.match(line)
        or _ORDERED.match(line)
        or _QUOTE.match(line)
        or ("|" in line and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]))
    )


def _paragraph(lines: list[str], i: int, out: list[str]) -> int:
    text: list[str] = []
    while i < len(lines) and lines[i].strip():
        if text and _starts_block(lines, i):
            break
        text.append(lines[i].strip())
        i += 1
    out.append(f"<p>{inline(' '.join(text))}</p>")
    return i
