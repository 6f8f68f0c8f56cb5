"""Names that become path components, and paths that must stay under their root.

Scene, survey and element names end up in task ids (``meuse/cu/s10/points``) and through
them in file paths (``<out>/<submission>/<version>/<task id>/fold-0.json``); submission names
and versions are folders too. A name such as ``../../x`` would move a record outside
``--out``, so every such name is checked by :func:`check_name` where it enters (the command
line, a survey's files), and every written path is built with :func:`path_within`, which
refuses a result outside its root whatever slipped through.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from geochem_bench.errors import InvalidInputError

#: Characters allowed in a name; the first must be a letter or digit (no hidden files, no
#: ``..``, no option-looking ``-x``).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
#: Longest name accepted: far below every file system's component limit (255 bytes).
MAX_NAME_LENGTH = 64
#: What :data:`NAME_PATTERN` allows, in words, for error messages.
ALLOWED = "letters, digits and . _ + - (starting with a letter or digit)"
_DISALLOWED = re.compile(r"[^A-Za-z0-9._+-]")


def check_name(value: str, what: str) -> str:
    """Return ``value`` if it is a valid name, else raise saying what is wrong.

    Args:
        value: the name.
        what: what it names, for the message (``"scene name"``, ``"submission version"``).

    Raises:
        InvalidInputError: naming the value, the rule it breaks and a valid spelling.
    """
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}")
    problem = None
    if len(value) > MAX_NAME_LENGTH:
        problem = f"is {len(value)} characters long; at most {MAX_NAME_LENGTH} are allowed"
    elif "/" in value or "\\" in value or ".." in value:
        problem = "contains a path separator or '..'"
    elif not NAME_PATTERN.fullmatch(value):
        problem = f"may only use {ALLOWED}"
    if problem is None:
        return value
    suggestion = sanitize_name(value)
    hint = f"; e.g. {suggestion!r}" if suggestion else ""
    raise InvalidInputError(f"{what} {value!r} {problem}{hint}")


def sanitize_name(value: str) -> str:
    """``value`` with every disallowed character replaced by ``_``, trimmed to a valid name.

    Returns an empty string when nothing usable is left (e.g. for ``".."``).
    """
    cleaned = _DISALLOWED.sub("_", value).replace("..", "_").strip("._+-")
    return cleaned[:MAX_NAME_LENGTH].rstrip("._+-")


def path_within(root: str | Path, *parts: str) -> Path:
    """``root / parts...``, refused unless it stays under ``root``.

    The check is on the path as written (``..`` and absolute parts), not on where symbolic
    links lead: the Hugging Face cache and shared data folders are made of links, and the
    folders a run writes to are kept out of the model's reach by the harness's isolation.

    Args:
        root: the folder everything must stay in (``--out``, a build folder).
        parts: path components or relative paths below it.

    Raises:
        InvalidInputError: a part is absolute or climbs out with ``..``.
    """
    base = os.path.normpath(Path(root).absolute())
    joined = os.path.normpath(os.path.join(base, *parts))
    if not parts or os.path.commonpath([base, joined]) != base or joined == base:
        raise InvalidInputError(
            f"refusing the path {Path(root).joinpath(*parts)}: it is not inside {root}; a name "
            f"in {'/'.join(parts)!r} climbs out of the folder (names may use {ALLOWED})"
        )
    return Path(root).joinpath(*parts)
