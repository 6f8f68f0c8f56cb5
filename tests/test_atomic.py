import os

import pytest

from geochem_bench.core.atomic import atomic_path, write_text_atomic


def test_atomic_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_an_interrupted_atomic_write_leaves_neither_file_nor_temp_file(tmp_path):
    """Ctrl-C in the middle of a write: the target is untouched, the temp file is gone."""
    target = tmp_path / "fold-0.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["fold-0.json"]
    assert target.read_text() == "old"
