"""Files checked against their pinned sha256 on every load, at the cost of one hash per change.

The truth is always a sha256 pinned somewhere the data cannot vouch for itself: a scene's
:class:`~geochem_bench.data.sources.RawFile` declarations for raw files, the build's
``manifest.json`` for built files. Hashing a file is a full read, so :func:`file_sha256`
remembers each digest it computed under the file's identity on disk (device, inode, size,
mtime and ctime in nanoseconds): a later load of an unchanged file costs one ``stat``.

Where the remembered digests live is a security decision. They live in this process's memory
only, never in a file:

* not in the build folder (or anywhere under the data root), which a model that can write
  the build could edit together with the file it tampers with;
* not in a per-user cache file either: anything a model process can write, it can forge, and
  a forged entry would turn the check off.

Memory of the harness process is out of reach of the model's process, and a stat key cannot
be replayed after an edit: writing a file (or resetting its mtime with ``utime``) sets its
ctime to now, which an unprivileged process cannot set back. So a changed file always misses
the cache and is hashed in full. The price is one full hash per file per process, measured
in the issue 11 report as small next to decoding the rasters; ``checksum=True`` (the CLI's
``--checksum``) ignores remembered digests and hashes everything again.
"""

from __future__ import annotations

import os
from pathlib import Path

from geochem_bench.data.sources import sha256_of

_FileKey = tuple[str, int, int, int, int, int]

#: sha256 of files hashed in this process, by their identity on disk (see the module doc).
_DIGESTS: dict[_FileKey, str] = {}


def _key(path: Path) -> _FileKey:
    st = os.stat(path)
    return (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def file_sha256(path: str | Path, *, full: bool = False) -> str:
    """The sha256 of a file, hashed only when it changed since this process last hashed it.

    Args:
        path: the file.
        full: hash the bytes even when the file looks unchanged (``--checksum``).

    Returns:
        The hex digest.
    """
    path = Path(path)
    # The key is taken before hashing: if the file changes while it is read, its ctime moves
    # on and the entry stored here can never match again.
    key = _key(path)
    if not full and key in _DIGESTS:
        return _DIGESTS[key]
    digest = sha256_of(path)
    _DIGESTS[key] = digest
    return digest


def remember(path: str | Path, digest: str) -> None:
    """Record the digest of a file this process has just written and hashed."""
    _DIGESTS[_key(Path(path))] = digest


def forget_all() -> None:
    """Drop every remembered digest (tests measure the cost of a first load with it)."""
    _DIGESTS.clear()
