"""Raw source files: declared, fetched, verified.

Every raw file of a real scene is declared with its upstream URL (pinned to a commit) and its
sha256. :func:`fetch` downloads it to a temporary name in the destination folder, hashes it
while it streams, and renames it into place only when the hash matches: an interrupted or
corrupted download never leaves a file that looks complete.

A mirror replaces the upstream hosts: a local folder or a base URL laid out like the raw data
folder (``meuse/dem.tif``, ``jura/jura.rda``, ...), given as an argument or in the
``GEOCHEM_BENCH_MIRROR`` environment variable. Tests and CI point it at ``../shared/raw``.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from geochem_bench.core.atomic import atomic_path, default_file_mode
from geochem_bench.errors import InvalidInputError

MIRROR_ENV = "GEOCHEM_BENCH_MIRROR"
DATA_ENV = "GEOCHEM_BENCH_DATA"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RawFile:
    """One upstream file of a scene.

    Attributes:
        path: path in the raw data layout, e.g. ``"meuse/dem.tif"``; also its path on a mirror.
        url: upstream URL, pinned to a commit.
        sha256: expected sha256 of the bytes.
        size: expected size in bytes (for progress bars).
    """

    path: str
    url: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class Upstream:
    """A pinned upstream location: a URL template, the commit it is pinned to, a raw folder.

    Attributes:
        template: URL with ``{commit}`` and ``{file}`` placeholders, e.g.
            ``"https://raw.githubusercontent.com/cran/gstat/{commit}/data/{file}"``.
        commit: the upstream commit (or release) every file of this upstream is read at.
        folder: the files' folder in the raw data layout (``"meuse"``).
    """

    template: str
    commit: str
    folder: str

    def file(self, name: str, sha256: str, size: int | None = None) -> RawFile:
        """The raw file ``name`` (relative to the template's ``{file}`` and to ``folder``)."""
        return RawFile(
            f"{self.folder}/{name}",
            self.template.format(commit=self.commit, file=name),
            sha256,
            size,
        )


class ChecksumError(InvalidInputError):
    """A file's bytes do not match its declared sha256."""

    def __init__(self, name: str, expected: str, actual: str, fix: str | None = None) -> None:
        """Name the file, both hashes and what to do.

        Args:
            name: the file (its raw data path, or its path in a build).
            expected: the pinned sha256.
            actual: the sha256 of the bytes found.
            fix: what to do about it; default: the advice for a fresh download.
        """
        super().__init__(
            f"checksum mismatch for {name}: expected sha256 {expected}, got {actual}. "
            + (
                fix
                or "The file is corrupt or was changed upstream; delete it and download again, "
                "or check the mirror."
            )
        )
        self.name, self.expected, self.actual = name, expected, actual


def default_root() -> Path:
    """Where scenes are downloaded and built.

    ``$GEOCHEM_BENCH_DATA``, else ``~/.cache/geochem-bench``.
    """
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path.home() / ".cache" / "geochem-bench"


def sha256_of(path: str | Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(raw: RawFile, path: str | Path, fix: str | None = None) -> None:
    """Check a local file against its declared sha256 (always a full hash).

    Args:
        raw: the declaration.
        path: the local file.
        fix: what the error tells the user to do (default: download it again).

    Raises:
        ChecksumError: naming the file, the expected and the actual hash.
    """
    actual = sha256_of(path)
    if actual != raw.sha256:
        raise ChecksumError(str(path), raw.sha256, actual, fix)


def fetch(
    raw: RawFile,
    raw_dir: str | Path,
    *,
    mirror: str | None = None,
    checksum: bool = True,
    progress: bool = True,
    timeout: float = 60.0,
    retries: int = 3,
    fix: str | None = None,
) -> Path:
    """Make ``raw`` present and verified under ``raw_dir``; download it if missing.

    Downloads go through pooch (retries with back-off, a progress bar on a terminal, a
    temporary file renamed into place only after its sha256 matched), with the declared
    sha256 as pooch's registry. A local mirror folder is copied with the same guarantees.

    Args:
        raw: the file to fetch.
        raw_dir: local raw data folder; the file lands at ``raw_dir / raw.path``.
        mirror: folder or base URL replacing the upstream host (default:
            ``$GEOCHEM_BENCH_MIRROR``, else the upstream URL).
        checksum: verify an already present file too (new downloads are always verified).
        progress: show a progress bar.
        timeout: network timeout in seconds, per request.
        retries: further attempts after a failed or corrupt download.
        fix: what the error for a corrupt present file tells the user to do.

    Returns:
        The local path.

    Raises:
        ChecksumError: the downloaded (or present) bytes do not match.
        OSError: the source cannot be read (the message names it).
    """
    dest = Path(raw_dir) / raw.path
    if dest.is_file():
        if checksum:
            verify(raw, dest, fix)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = source_of(raw, mirror)
    if source.startswith(("http://", "https://")):
        _download(raw, source, Path(raw_dir), progress=progress, timeout=timeout, retries=retries)
    else:
        _copy(raw, Path(source), dest, progress=progress)
    return dest


def _download(
    raw: RawFile, url: str, raw_dir: Path, *, progress: bool, timeout: float, retries: int
) -> None:
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # our own messages say what is fetched
    store = pooch.create(
        path=raw_dir,
        base_url="",
        registry={raw.path: f"sha256:{raw.sha256}"},
        urls={raw.path: url},
        retry_if_failed=retries,
        allow_updates=False,
    )
    downloader = pooch.HTTPDownloader(progressbar=progress and sys.stderr.isatty(), timeout=timeout)
    try:
        path = Path(store.fetch(raw.path, downloader=downloader))
        path.chmod(default_file_mode())  # pooch renames its 0600 temporary file into place
    except requests.RequestException as exc:
        raise OSError(f"cannot download {raw.path} from {url}: {exc}") from exc
    except ValueError as exc:  # pooch's hash mismatch, after its retries
        got = re.search(r"got (?:sha256:)?([0-9a-f]{64})", str(exc))
        actual = got.group(1) if got else f"another hash ({exc})"
        raise ChecksumError(f"{raw.path} (from {url})", raw.sha256, actual) from exc


def _copy(raw: RawFile, source: Path, dest: Path, *, progress: bool) -> None:
    if not source.is_file():
        raise OSError(f"cannot read {raw.path}: {source} does not exist (check the mirror folder)")
    digest = hashlib.sha256()
    with atomic_path(dest, suffix=".part") as tmp:
        with open(source, "rb") as fh, open(tmp, "wb") as out:
            chunks = iter(lambda: fh.read(_CHUNK), b"")
            for chunk in _with_progress(chunks, raw.path, source.stat().st_size, progress):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != raw.sha256:
            raise ChecksumError(f"{raw.path} (from {source})", raw.sha256, digest.hexdigest())


def source_of(raw: RawFile, mirror: str | None = None) -> str:
    """Where ``raw`` is read from: the mirror (argument, then environment) or upstream."""
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    if mirror is None:
        return raw.url
    if mirror.startswith(("http://", "https://")):
        return mirror.rstrip("/") + "/" + raw.path
    folder = Path(mirror.removeprefix("file://"))
    return str(folder / raw.path)


def _with_progress(
    chunks: Iterator[bytes], name: str, total: int, enabled: bool
) -> Iterator[bytes]:
    if not enabled or not sys.stderr.isatty():  # a bar in a log file is only noise
        yield from chunks
        return
    from rich.console import Console
    from rich.progress import DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn(name), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(name, total=total or None)
        for chunk in chunks:
            bar.advance(task, len(chunk))
            yield chunk
