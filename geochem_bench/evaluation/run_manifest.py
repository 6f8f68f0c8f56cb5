"""The run manifest: which records in a results folder this harness wrote, and their sha256.

A results folder is writable by anyone who can write files, a model included where no sandbox
holds it back. Resume therefore trusts a record only if it is listed here with the same
sha256: a record dropped in by hand, by a model, or edited since, is run again (and the
harness says so), never silently kept.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from geochem_bench.core.atomic import write_text_atomic
from geochem_bench.data.sources import sha256_of
from geochem_bench.evaluation.records import read_json, safe_name

MANIFEST_NAME = "run-manifest.json"


class RunManifest:
    """The manifest of one submission version's results folder.

    Args:
        out_dir: the results folder.
        name: submission name.
        version: submission version.
    """

    def __init__(self, out_dir: str | Path, name: str, version: str) -> None:
        self.root = Path(out_dir) / safe_name(name) / safe_name(version)
        self.path = self.root / MANIFEST_NAME

    def _read(self) -> dict[str, str]:
        try:  # the results folder is writable by others: read it as untrusted
            data = read_json(self.path, "run manifest")
        except (OSError, ValueError):
            return {}
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, dict):
            return {}
        return {str(k): str(v) for k, v in records.items()}

    def _key(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def add(self, path: Path) -> None:
        """Record that this harness wrote ``path`` (as it is now)."""
        self.root.mkdir(parents=True, exist_ok=True)
        # two evaluations may share a results folder: serialise the read-modify-write (a lock
        # on the folder itself, so no lock file is left behind)
        lock = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self._read()
            records[self._key(path)] = sha256_of(path)
            text = json.dumps({"records": dict(sorted(records.items()))}, indent=1)
            write_text_atomic(self.path, text + "\n")
        finally:
            os.close(lock)  # releases the lock

    def wrote(self, path: Path) -> bool:
        """Whether this harness wrote ``path`` and it is unchanged since."""
        expected = self._read().get(self._key(path))
        return expected is not None and os.path.isfile(path) and sha256_of(path) == expected
