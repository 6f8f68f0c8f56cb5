"""A built scene on disk: GeoTIFF rasters, Parquet samples and splits, JSON metadata, manifest.

Layout of ``<root>/<scene>/`` (of ``<root>/<scene>/realisation-<r>/`` for each realisation of
a simulated scene; :func:`built_folder`)::

    covariates.tif      float32, one band per covariate (band descriptions = names)
    valid.tif           float32 0/1, cells where predictions are scored
    truth.tif           float32, one band per element (only where an exhaustive truth exists)
    samples.parquet     id, x, y, one column per element (natural units; null = not measured;
                        half the detection limit where censored), and only when some value
                        is censored one ``detection_limit:<element>`` column per element
                        (the limit where censored, null elsewhere)
    splits/<name>.parquet   sample_id, fold (-1 = always training)
    scene.json          name, version, grid, elements, bands, licence, citation, realisation, ...
    manifest.json       sha256 of every file above

Writing is deterministic: building the same scene twice gives byte-identical files, so the
manifest identifies the data a result was computed on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from geochem_bench.core.atomic import atomic_path, write_text_atomic
from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.names import path_within
from geochem_bench.core.samples import Samples
from geochem_bench.core.scene import Scene
from geochem_bench.data.geotiff import write_raster
from geochem_bench.data.sources import ChecksumError, sha256_of
from geochem_bench.data.verification import file_sha256, remember
from geochem_bench.errors import InvalidInputError
from geochem_bench.tasks.splits import SampleSplit

STORE_FORMAT = "geochem-bench/scene/1"
MANIFEST = "manifest.json"


def write_scene(scene: Scene, out_dir: str | Path) -> dict[str, str]:
    """Write a scene and its manifest; returns the manifest (file -> sha256)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_raster(out / "covariates.tif", scene.covariates, scene.grid, list(scene.band_names))
    write_raster(out / "valid.tif", scene.valid[None].astype(np.float32), scene.grid, ["valid"])
    symbols = [e.symbol for e in scene.elements]
    if scene.truth is not None:
        write_raster(out / "truth.tif", scene.truth, scene.grid, symbols)
    if scene.points is not None:
        _write_samples(out / "samples.parquet", scene.points)
    for name, split in sorted(scene.splits.items()):
        _write_split(path_within(out, "splits", f"{name}.parquet"), split)
    meta: dict[str, Any] = {
        "format": STORE_FORMAT,
        "name": scene.name,
        "version": scene.version,
        "grid": scene.grid.to_dict(),
        "band_names": list(scene.band_names),
        "elements": [e.to_dict() for e in scene.elements],
        "licence": scene.licence,
        "citation": scene.citation,
        "description": scene.description,
        "options": scene.options,
        "splits": {
            name: {"n_folds": s.n_folds, "method": s.method, "params": s.params}
            for name, s in scene.splits.items()
        },
    }
    if scene.realisation is not None:  # builds of fixed scenes keep their bytes
        meta["realisation"] = scene.realisation
    write_text_atomic(out / "scene.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    files = sorted(
        p
        for p in out.rglob("*")
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    )
    manifest = {
        p.relative_to(out).as_posix(): sha256_of(p)
        for p in files
        if p.suffix in {".tif", ".parquet", ".json"}
    }
    for name, digest in manifest.items():  # the next load need not hash them again
        remember(out / name, digest)
    write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def built_folder(root: str | Path, name: str, realisation: int | None = None) -> Path:
    """The build folder of a scene (realisation) under a data root.

    ``<root>/<name>``; a realisation of a simulated scene: ``<root>/<name>/realisation-<r>``.
    The one layout, for the loaders and for the decoys a canary run writes where a model's
    data API looks.
    """
    folder = Path(root) / name
    return folder if realisation is None else folder / f"realisation-{int(realisation)}"


def is_built(out_dir: str | Path) -> bool:
    """Whether a complete build (with its manifest) is present."""
    return (Path(out_dir) / MANIFEST).is_file()


def check_manifest(out_dir: str | Path, *, full: bool = False, fix: str | None = None) -> None:
    """Verify every built file against the manifest.

    The manifest's sha256 are the truth; a file unchanged on disk since this process last
    hashed it is not hashed again unless ``full`` (see :mod:`geochem_bench.data.verification`).

    Args:
        out_dir: the build folder.
        full: hash every file again (``--checksum``).
        fix: what to do about a mismatch, e.g. the ``geochem-bench download SCENE --force``
            command of a downloaded scene (default: rebuild advice without a command).

    Raises:
        ChecksumError: naming the file that differs, both hashes and ``fix``.
        InvalidInputError: the manifest or a file it lists is missing, with ``fix``.
    """
    out = Path(out_dir)
    fix = fix or f"Rebuild {out} from its sources (a downloaded scene: geochem-bench download "
    "SCENE --force; a survey: geochem-bench make-task ... --out with the same options)."
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{out / MANIFEST} cannot be read ({exc}). {fix}") from exc
    if not isinstance(manifest, dict):
        raise InvalidInputError(f"{out / MANIFEST} is not a file -> sha256 table. {fix}")
    for name, expected in sorted(manifest.items()):
        path = path_within(out, *Path(name).parts)
        if not path.is_file():
            raise InvalidInputError(f"built file {path} is missing. {fix}")
        actual = file_sha256(path, full=full)
        if actual != expected:
            raise ChecksumError(f"built file {path}", str(expected), actual, fix)


def read_scene(out_dir: str | Path, *, checksum: bool = False, fix: str | None = None) -> Scene:
    """Load a built scene, after checking it against its manifest.

    Only files the manifest lists are read (the split files named in ``scene.json``, not
    whatever lies in ``splits/``), so nothing unverified reaches a task.

    Args:
        out_dir: the build folder.
        checksum: hash every file again instead of trusting digests remembered by this process.
        fix: what a failed check tells the user to do (see :func:`check_manifest`).

    Raises:
        ChecksumError: a built file differs from the manifest.
        InvalidInputError: a file is missing, or the build has another format.
    """
    import rasterio

    out = Path(out_dir)
    check_manifest(out, full=checksum, fix=fix)
    meta = json.loads((out / "scene.json").read_text())
    if meta.get("format") != STORE_FORMAT:
        raise InvalidInputError(
            f"{out} holds a scene of format {meta.get('format')!r}, expected {STORE_FORMAT!r}; "
            "rebuild it"
        )
    g = meta["grid"]
    grid = GridSpec(g["height"], g["width"], Affine(*g["transform"]), g["crs"])
    with rasterio.open(out / "covariates.tif") as src:
        covariates = src.read().astype(np.float32)
    with rasterio.open(out / "valid.tif") as src:
        valid = src.read(1) > 0.5
    truth = None
    if (out / "truth.tif").is_file():
        with rasterio.open(out / "truth.tif") as src:
            truth = src.read().astype(np.float32)
    elements = tuple(Element(**e) for e in meta["elements"])
    points = read_samples(out / "samples.parquet") if (out / "samples.parquet").is_file() else None
    splits = {
        name: _read_split(path_within(out, "splits", f"{name}.parquet"), split_meta)
        for name, split_meta in sorted(meta["splits"].items())
    }
    return Scene(
        name=meta["name"],
        version=meta["version"],
        grid=grid,
        covariates=covariates,
        band_names=tuple(meta["band_names"]),
        valid=valid,
        elements=elements,
        truth=truth,
        points=points,
        licence=meta["licence"],
        citation=meta["citation"],
        description=meta["description"],
        options=meta["options"],
        splits=splits,
        realisation=meta.get("realisation"),  # absent from builds of fixed scenes before it
    )


#: Prefix of the detection-limit columns of ``samples.parquet``. The ``:`` cannot appear in an
#: element name (:func:`~geochem_bench.core.names.check_name`), so no element column collides.
LIMIT_PREFIX = "detection_limit:"


def _write_samples(path: Path, samples: Samples) -> None:
    import pyarrow as pa

    columns: dict[str, Any] = {
        "id": pa.array(samples.ids, pa.int64()),
        "x": samples.x,
        "y": samples.y,
    }
    for e, symbol in enumerate(samples.elements):
        columns[symbol] = _nullable(samples.values[:, e])
    if samples.limits is not None:  # absent otherwise: uncensored surveys keep their bytes
        for e, symbol in enumerate(samples.elements):
            columns[LIMIT_PREFIX + symbol] = _nullable(samples.limits[:, e])
    _write_parquet(path, pa.table(columns))


def _nullable(v: Any) -> Any:
    import pyarrow as pa

    return pa.array(np.where(np.isfinite(v), v, 0.0), mask=~np.isfinite(v))


def read_samples(path: Path) -> Samples:
    """The samples of a built scene (``samples.parquet``), limits included."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    names = [n for n in table.column_names if n not in ("id", "x", "y")]
    elements = tuple(n for n in names if not n.startswith(LIMIT_PREFIX))

    def column_stack(columns: list[str]) -> Any:
        if not columns:
            return np.empty((table.num_rows, 0))
        return np.column_stack(
            [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in columns]
        )

    limit_columns = [LIMIT_PREFIX + e for e in elements]
    if any(c in names for c in limit_columns):
        missing = [c for c in limit_columns if c not in names]
        if missing:
            raise InvalidInputError(
                f"{path} lacks the detection-limit columns {missing}; rebuild it"
            )
        limits = column_stack(limit_columns)
    else:
        limits = None
    return Samples(
        ids=table.column("id").to_numpy().astype(np.int64),
        x=table.column("x").to_numpy().astype(np.float64),
        y=table.column("y").to_numpy().astype(np.float64),
        values=column_stack(list(elements)),
        elements=elements,
        limits=limits,
    )


def _write_split(path: Path, split: SampleSplit) -> None:
    import pyarrow as pa

    _write_parquet(
        path,
        pa.table(
            {
                "sample_id": pa.array(split.sample_ids, pa.int64()),
                "fold": pa.array(split.folds, pa.int64()),
            }
        ),
    )


def _read_split(path: Path, meta: dict[str, Any]) -> SampleSplit:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return SampleSplit(
        sample_ids=table.column("sample_id").to_numpy().astype(np.int64),
        folds=table.column("fold").to_numpy().astype(np.int64),
        n_folds=int(meta["n_folds"]),
        method=str(meta["method"]),
        params=dict(meta["params"]),
    )


def _write_parquet(path: Path, table: Any) -> None:
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
