"""Atomic file writes: a temporary file beside the target, renamed into place on success.

A crash or an error never leaves a half-written file under the real name, and the temporary
file is removed whatever happens.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; it replaces ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    # Everything after mkstemp is inside the try: a Ctrl-C (KeyboardInterrupt) or any other
    # exception at any point still runs the finally clause that removes the temporary file.
    try:
        os.close(fd)
        yield Path(tmp)
        # mkstemp makes the file 0600; a shared data or results folder needs the mode a plain
        # open() would have given (0666 minus the umask).
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def default_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0666 minus the process umask."""
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return 0o666 & ~mask


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write text to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
