"""Hostile submissions: each tries one way to see the test, forge results or escape limits.

The integrity tests run them through the harness and assert they gain nothing: refused,
flagged, failed, or scoring no better than an honest model.
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from geochem_bench.models.upsampling import upsample_lowres


class _Honest:
    """Bicubic upsampling, the fallback every cheat returns when its trick fails."""

    def fit(self, inputs):
        pass

    def predict(self, inputs):
        return upsample_lowres(inputs, "bicubic")


def _paste(prediction, rows, cols, values):
    for e in range(prediction.shape[0]):
        known = np.isfinite(values[:, e])
        prediction[e, rows[known], cols[known]] = values[known, e]
    return prediction


def _paste_unseen(prediction, scene, inputs):
    """Paste the values of every sample of ``scene`` the fold's inputs do not show."""
    points = scene.points
    seen = set(inputs.points.ids.tolist())
    hidden = np.array([i not in seen for i in points.ids.tolist()])
    rows, cols = scene.grid.cell_of(points.x[hidden], points.y[hidden])
    columns = [points.index(e.symbol) for e in inputs.elements]
    return _paste(prediction, rows, cols, points.values[hidden][:, columns])


class StackReader(_Honest):
    """Looks through every live object of its process for the held-out values."""

    def predict(self, inputs):
        prediction = super().predict(inputs)
        from geochem_bench.core.task import HeldOut

        for obj in gc.get_objects():
            if isinstance(obj, HeldOut):
                if obj.truth is not None and obj.truth.shape == prediction.shape:
                    return np.where(np.isfinite(obj.truth), obj.truth, prediction).astype(
                        np.float32
                    )
                if obj.values is not None:
                    return _paste(prediction, obj.rows, obj.cols, obj.values)
        return prediction


class CacheReader(_Honest):
    """Opens the built scene in the data cache and copies the held-out samples."""

    def predict(self, inputs):
        prediction = super().predict(inputs)
        try:
            from geochem_bench.data.sources import default_root
            from geochem_bench.data.store import read_scene

            scene_name = inputs.task_id.split("/")[0]
            roots = [default_root(), Path(os.environ.get("HOSTILE_DATA_ROOT", "/nonexistent"))]
            # a scene's build, or a realisation's build of a simulated scene
            folders = [
                folder
                for root in roots
                for folder in (root / scene_name, *sorted(root.glob(f"{scene_name}/*/")))
            ]
            found = next((f for f in folders if (f / "scene.json").is_file()), None)
            if found is None:
                return prediction
            scene = read_scene(found)
            return _paste_unseen(prediction, scene, inputs)
        except Exception:  # a cheat whose trick fails falls back to honest work
            return prediction


class CacheWriter(_Honest):
    """Appends garbage to the built scene's samples in the data cache."""

    def fit(self, inputs):
        scene = Path(os.environ["HOSTILE_DATA_ROOT"]) / inputs.task_id.split("/")[0]
        with (scene / "samples.parquet").open("ab") as handle:
            handle.write(b"garbage")


class ResultsForger(_Honest):
    """Writes a record for a fold it never ran into the results folder."""

    def fit(self, inputs):
        target = Path(os.environ["HOSTILE_RESULTS"]) / "forged.json"
        target.write_text("{}")


class ClosesFds(_Honest):
    """Closes every inherited descriptor (the harness's pipe included), then hangs."""

    def fit(self, inputs):
        os.closerange(3, 4096)
        time.sleep(600)


class Grandchild(_Honest):
    """Starts a detached grandchild that outlives the model, then hangs."""

    def fit(self, inputs):
        marker = os.environ["HOSTILE_MARKER"]
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)", marker],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(600)


class MemoryHog(_Honest):
    """Allocates far more memory than the limit allows."""

    def fit(self, inputs):
        self.ballast = np.ones(int(os.environ["HOSTILE_BYTES"]) // 8)


class Networked(_Honest):
    """Phones home (a local server the test runs) before predicting."""

    def fit(self, inputs):
        port = int(os.environ["HOSTILE_PORT"])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(b"leak")
        except OSError:
            pass


def _private() -> Path:
    """The model's private folder (the harness points $TMPDIR inside it)."""
    return Path(os.environ["TMPDIR"]).parent


class ShmCrossFold(_Honest):
    """Keeps every fold's training samples in /dev/shm; later folds look their held-out up."""

    def predict(self, inputs):
        prediction = super().predict(inputs)
        points = inputs.points
        columns = [points.index(e.symbol) for e in inputs.elements]
        try:
            store = Path("/dev/shm") / os.environ["HOSTILE_MARKER"]
            store.mkdir(exist_ok=True)
            np.savez(
                store / f"fold{inputs.fold}.npz",
                ids=points.ids,
                x=points.x,
                y=points.y,
                v=points.values[:, columns],
            )
            seen = set(points.ids.tolist())
            for file in store.glob("fold*.npz"):
                data = np.load(file)
                new = np.array([i not in seen for i in data["ids"].tolist()])
                if new.any():
                    rows, cols = inputs.grid.cell_of(data["x"][new], data["y"][new])
                    prediction = _paste(prediction, rows, cols, data["v"][new])
        except OSError:
            pass
        return prediction


class ReadsOutsideTheAllowlist(_Honest):
    """Rebuilds the scene from a raw mirror (or any data folder) it was never told about."""

    def predict(self, inputs):
        prediction = super().predict(inputs)
        try:
            from geochem_bench.data.store import read_scene

            scene = read_scene(Path(os.environ["HOSTILE_DATA_ROOT"]) / "synthetic")
        except Exception:
            return prediction
        return _paste_unseen(prediction, scene, inputs)


class FakesItsNote(_Honest):
    """Writes its own prediction and a note claiming an impossible runtime, then exits."""

    def predict(self, inputs):
        import json

        private = _private()
        np.savez(private / "prediction.npz", mean=super().predict(inputs))
        note = {"runtime": {"fit_s": 1e-6, "predict_s": 1e-6, "total_s": 2e-6}, "peak": 1.0}
        (private / "result.json").write_text(json.dumps(note))
        time.sleep(0.5)
        os._exit(0)


class FifoPrediction(_Honest):
    """Leaves a FIFO where the prediction should be: a naive read blocks forever."""

    def predict(self, inputs):
        import json

        private = _private()
        note = {"runtime": {"fit_s": 0, "predict_s": 0, "total_s": 0}}
        (private / "result.json").write_text(json.dumps(note))
        os.mkfifo(private / "prediction.npz")
        os._exit(0)


class NpzBomb(_Honest):
    """A prediction.npz of a few hundred bytes whose header declares a 1.6 TB array."""

    def predict(self, inputs):
        import json
        import zipfile

        private = _private()
        header = repr({"descr": "<f4", "fortran_order": False, "shape": (20000, 20000, 1000)})
        raw = header.encode()
        raw += b" " * (63 - (len(raw) + 10) % 64) + b"\n"
        npy = b"\x93NUMPY\x01\x00" + len(raw).to_bytes(2, "little") + raw + b"\0" * 64
        with zipfile.ZipFile(private / "prediction.npz", "w") as archive:
            archive.writestr("mean.npy", npy)
        note = {"runtime": {"fit_s": 0, "predict_s": 0, "total_s": 0}}
        (private / "result.json").write_text(json.dumps(note))
        os._exit(0)


class LogExfiltrator(_Honest):
    """Swaps its log for a symlink to a file it cannot read, then crashes: the harness would
    copy the log's tail into the record."""

    def predict(self, inputs):
        private = _private()
        os.unlink(private / "model.log")
        os.symlink(os.environ["HOSTILE_SECRET"], private / "model.log")
        os._exit(3)


class SysVChannel(_Honest):
    """Keeps every fold's training samples in a SysV shared memory segment (outlives the fold,
    and without an IPC namespace the harness too); later folds paste their held-out values."""

    KEY, SIZE = 0x6B7A11, 1 << 22

    def predict(self, inputs):
        import ctypes
        import io

        prediction = super().predict(inputs)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        key = self.KEY ^ int(os.environ.get("HOSTILE_KEY", "0"))
        shmid = libc.shmget(key, self.SIZE, 0o1600)  # IPC_CREAT | 0600
        if shmid < 0:
            return prediction
        address = libc.shmat(shmid, None, 0)
        if address in (None, ctypes.c_void_p(-1).value):
            return prediction
        buffer = (ctypes.c_char * self.SIZE).from_address(address)
        points = inputs.points
        columns = [points.index(e.symbol) for e in inputs.elements]
        mine = (points.ids, points.x, points.y, points.values[:, columns])
        size = int.from_bytes(buffer[:8], "little")
        stored = mine
        if size:
            data = np.load(io.BytesIO(bytes(buffer[8 : 8 + size])))
            seen = set(points.ids.tolist())
            new = np.array([i not in seen for i in data["ids"].tolist()])
            if new.any():
                rows, cols = inputs.grid.cell_of(data["x"][new], data["y"][new])
                prediction = _paste(prediction, rows, cols, data["v"][new])
            stored = tuple(
                np.concatenate([a, b])
                for a, b in zip(mine, (data[k] for k in ["ids", "x", "y", "v"]))
            )
        out = io.BytesIO()
        np.savez(out, ids=stored[0], x=stored[1], y=stored[2], v=stored[3])
        blob = out.getvalue()[: self.SIZE - 8]
        buffer[: 8 + len(blob)] = len(blob).to_bytes(8, "little") + blob
        return prediction


class MetadataChannel(_Honest):
    """Tries the channels Landlock does not govern: extended attributes and modes of files it
    can read (its own source; a root model owns the host's files). Fails if any works."""

    def fit(self, inputs):
        opened = []
        for label, attempt in (
            ("setxattr", lambda: os.setxattr(__file__, "user.geochem", b"leak")),
            ("chmod", lambda: os.chmod(__file__, os.stat(__file__).st_mode)),
            ("utime", lambda: os.utime(__file__)),
        ):
            try:
                attempt()
                opened.append(label)
            except OSError:
                pass
        if opened:
            raise RuntimeError(f"metadata channel open: {', '.join(opened)}")


class ForkHog(_Honest):
    """Each of several children stays under the per-process limit; together they exceed it."""

    def fit(self, inputs):
        size = int(os.environ["HOSTILE_BYTES"])
        children = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                ballast = np.ones(size // 8)
                time.sleep(30)
                os._exit(int(ballast[0]))
            children.append(pid)
        ballast = np.ones(size // 8)
        time.sleep(30)
        self.ballast = ballast
