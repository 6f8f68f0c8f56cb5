from __future__ import annotations

import http.server
import threading

import pytest

from geochem_bench.data.sources import (
    MIRROR_ENV,
    ChecksumError,
    RawFile,
    fetch,
    sha256_of,
    source_of,
)
from geochem_bench.scenes import REAL_SCENES

from .conftest import RAW_DIR, require_raw


@pytest.fixture()
def meuse_dem() -> RawFile:
    require_raw()
    path = RAW_DIR / "meuse" / "dem.tif"
    return RawFile(
        "meuse/dem.tif", "https://example.invalid/dem.tif", sha256_of(path), path.stat().st_size
    )


@pytest.mark.real_data
def test_download_from_http_mirror(tmp_path, raw_server, meuse_dem):
    dest = fetch(meuse_dem, tmp_path, mirror=raw_server, progress=False)
    assert dest == tmp_path / "meuse" / "dem.tif"
    assert sha256_of(dest) == meuse_dem.sha256
    assert not list(dest.parent.glob(".*part"))


@pytest.mark.real_data
def test_download_from_folder_mirror(tmp_path, meuse_dem):
    dest = fetch(meuse_dem, tmp_path, mirror=str(RAW_DIR), progress=True)
    assert sha256_of(dest) == meuse_dem.sha256


@pytest.mark.real_data
def test_checksum_mismatch_names_file_and_hashes_and_leaves_nothing(
    tmp_path, raw_server, meuse_dem
):
    wrong = RawFile(meuse_dem.path, meuse_dem.url, "0" * 64)
    with pytest.raises(ChecksumError) as info:
        fetch(wrong, tmp_path, mirror=raw_server, progress=False)
    message = str(info.value)
    assert "meuse/dem.tif" in message and "0" * 64 in message and meuse_dem.sha256 in message
    assert not (tmp_path / "meuse" / "dem.tif").exists()
    assert not list((tmp_path / "meuse").iterdir())  # no partial file either


@pytest.mark.real_data
def test_present_but_corrupt_file_is_caught_with_checksum(tmp_path, meuse_dem):
    dest = tmp_path / "meuse" / "dem.tif"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"not a tiff")
    with pytest.raises(ChecksumError, match=r"meuse/dem\.tif"):
        fetch(meuse_dem, tmp_path, mirror=str(RAW_DIR), checksum=True, progress=False)
    assert fetch(meuse_dem, tmp_path, checksum=False, progress=False) == dest  # trusted when asked


@pytest.mark.real_data
def test_missing_upstream_file_is_a_clear_error(tmp_path, raw_server):
    ghost = RawFile("meuse/ghost.tif", "https://example.invalid/ghost.tif", "0" * 64)
    with pytest.raises(OSError, match=r"cannot download meuse/ghost\.tif"):
        fetch(ghost, tmp_path, mirror=raw_server, progress=False)
    with pytest.raises(OSError, match="does not exist"):
        fetch(ghost, tmp_path, mirror=str(RAW_DIR), progress=False)


def test_interrupted_transfer_leaves_no_file(tmp_path):
    payload = b"x" * 100_000

    class Truncating(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[:1000])  # then the connection drops

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Truncating)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        import hashlib

        raw = RawFile("x/blob.bin", "unused", hashlib.sha256(payload).hexdigest(), len(payload))
        with pytest.raises((OSError, ChecksumError)):
            fetch(
                raw, tmp_path, mirror=f"http://127.0.0.1:{server.server_address[1]}", progress=False
            )
        assert not (tmp_path / "x" / "blob.bin").exists()
        assert not list((tmp_path / "x").iterdir())
    finally:
        server.shutdown()


@pytest.mark.real_data
def test_mirror_resolution(monkeypatch, meuse_dem):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    assert source_of(meuse_dem) == meuse_dem.url
    assert source_of(meuse_dem, "http://h:1/raw/") == "http://h:1/raw/meuse/dem.tif"
    monkeypatch.setenv(MIRROR_ENV, "/some/folder")
    assert source_of(meuse_dem) == "/some/folder/meuse/dem.tif"


@pytest.mark.real_data
@pytest.mark.parametrize("name", sorted(cls.name for cls in REAL_SCENES))
def test_every_declared_raw_file_is_the_one_sources_json_pins(name):
    """URL (pinned commit), sha256 and size of each declared file, as SOURCES.json lists them."""
    import json

    cls = {c.name: c for c in REAL_SCENES}[name]
    listed = {d["file"]: d for d in json.loads((require_raw() / "SOURCES.json").read_text())}
    for raw in cls.files:
        assert raw.path in listed, f"{name}: {raw.path} is not in SOURCES.json"
        entry = listed[raw.path]
        assert (raw.url, raw.sha256, raw.size) == (entry["url"], entry["sha256"], entry["size"]), (
            raw.path
        )
        assert sha256_of(RAW_DIR / raw.path) == raw.sha256, raw.path
