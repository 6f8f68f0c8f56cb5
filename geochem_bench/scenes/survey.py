"""Bring your own survey: covariate GeoTIFFs + a samples table -> a scene and its tasks.

The scene is built on the grid of the first covariate: every other covariate is reprojected
and resampled onto it (bilinear, nearest for integer rasters), nodata holes enclosed by data
are filled from the nearest cell, the valid mask is where every covariate has data, samples
are reprojected to the grid's CRS (rounded to 1 mm) and samples on nodata cells are dropped
(the count is reported). The same protocols, spatial-block splits and metrics as the
registered scenes apply. The result is written like a built scene (GeoTIFF, Parquet,
manifest) plus ``tasks.json``, and registered with :func:`register_survey`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.atomic import write_text_atomic
from geochem_bench.core.elements import Element, is_element_symbol
from geochem_bench.core.grid import GridSpec, fill_nearest
from geochem_bench.core.names import check_name
from geochem_bench.core.samples import Samples, half_limit
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.store import read_scene, write_scene
from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes.registry import SceneEntry, register_scene

TASKS_FILE = "tasks.json"


class SurveyError(InvalidInputError):
    """The survey inputs cannot make a scene; the message says what to fix."""


def make_survey(
    name: str,
    covariates: list[str | Path],
    samples: str | Path | None,
    out_dir: str | Path,
    *,
    elements: list[str] | None = None,
    x: str = "x",
    y: str = "y",
    id_column: str | None = None,
    crs: str | None = None,
    samples_crs: str | None = None,
    linear: tuple[str, ...] = (),
    unit: str = "mg/kg",
    scales: tuple[int, ...] = (10,),
    n_folds: int = 5,
    block_cells: int = 2,
    transfer_fraction: float | None = None,
    seed: int = 0,
    negative_means_censored: bool = False,
    lowres_grid: str | Path | None = None,
    lowres_elements: list[str] | None = None,
) -> tuple[Scene, list[TaskSpec]]:
    """Build a scene and its tasks from a user's files and write them to ``out_dir``.

    Args:
        name: scene name (first part of the task ids).
        covariates: GeoTIFFs; the first defines the grid.
        samples: CSV (with ``x``/``y`` columns) or a vector file (GeoPackage, shapefile).
        out_dir: where the scene is written.
        elements: element columns (default: every column named by an element symbol, in any
            case, e.g. ``Cu``/``CU``; the other columns are listed in
            ``scene.options["ignored_columns"]``).
        x: x column of a CSV.
        y: y column of a CSV.
        id_column: sample id column (default: row number from 1).
        crs: CRS to assign to covariates that have none (never overrides an existing tag).
        samples_crs: CRS of the sample coordinates: a CSV's (default: the grid's), or the CRS
            that replaces a vector file's own (default: the file's; for a wrong ``.prj``).
        linear: elements scored in linear space (the others in log10).
        unit: unit of the element columns.
        scales: scale factors of the tasks.
        n_folds: spatial-block folds.
        block_cells: block edge in coarse cells.
        transfer_fraction: also make transfer tasks with the target known at this fraction of
            training sites (the other elements everywhere).
        seed: split seed.
        negative_means_censored: read a negative value ``-L`` as "below the detection limit
            ``L``" (the convention of USGS and GSC survey tables); without it negative values
            are refused.
        lowres_grid: a coarse geochemical GeoTIFF (one band per element, cells an integer
            multiple of the covariates'), the map to downscale; with or without samples (see
            :mod:`geochem_bench.scenes.lowres_grid`: it adds a ``<name>-wald`` scene in
            ``out_dir/wald`` whose grid tasks measure downscaling one scale up).
        lowres_elements: the elements of the lowres grid's bands (default: their
            descriptions, or the file stem of a one-band file).

    Element values must be finite and > 0 (concentrations); an empty cell means "not
    measured". A detection-limit code ``<L`` (``<0.5``, ``< 0.5``, ``<1e-3``; ``L`` > 0 with a
    decimal point) is a censored value: kept with its limit ``L``, trained on as ``L / 2``
    and scored with the censoring rule (see :class:`~geochem_bench.core.samples.Samples`).
    ``inf``, zero, negative values (unless ``negative_means_censored``), ``<0``, ``<abc``,
    ``<0,5`` and ``>L`` codes are refused with the column, row and value, rather than guessed
    at.

    Raises:
        SurveyError: an invalid name, non-overlapping extents, a CRS mismatch that cannot be
            resolved, a non-numeric or non-positive element value, a malformed detection-limit
            code, too few samples for the folds, ...
    """
    _check_name(name, "scene name (--name)")
    from geochem_bench.scenes import SCENES

    if name in {cls.name for cls in SCENES} or name.endswith("-wald"):
        raise SurveyError(
            f"scene name {name!r} is taken (an official scene, or the '-wald' suffix of a "
            "lowres grid's Wald scene); choose another --name"
        )
    if not covariates:
        raise SurveyError("give at least one covariate GeoTIFF")
    if samples is None and lowres_grid is None:
        raise SurveyError("give the samples (--samples), a lowres grid (--lowres-grid) or both")
    grid, stack, names = _covariate_stack([Path(p) for p in covariates], crs)
    valid: NDArray[np.bool_] = np.asarray(np.isfinite(stack).all(axis=0))
    points, symbols, ignored, description = (
        _survey_points(
            Path(samples),
            grid,
            valid,
            elements,
            x,
            y,
            id_column,
            samples_crs,
            negative_means_censored,
            n_folds,
        )
        if samples is not None
        else (None, (), (), "no samples")
    )
    grid_symbols: tuple[str, ...] = ()
    truth = None
    wald: tuple[Scene, list[TaskSpec]] | None = None
    if lowres_grid is not None:
        lowres_scale, coarse, grid_symbols = _lowres(Path(lowres_grid), grid, lowres_elements)
    if len(set(grid_symbols)) != len(grid_symbols):
        raise SurveyError(
            f"the lowres grid's elements repeat: {list(grid_symbols)}; name each band once"
        )
    all_symbols = tuple(dict.fromkeys(symbols + grid_symbols))
    for symbol in grid_symbols:
        _check_name(symbol, "lowres grid element (--lowres-elements)")
    element_objs = tuple(
        Element(s, unit, "linear" if s in linear else "log10") for s in all_symbols
    )
    # resolved paths: the same files named another way (./a.tif, a.tif) build the same survey,
    # whose records then stay valid
    options: dict[str, Any] = {
        "covariates": [str(Path(p).resolve()) for p in covariates],
        "samples": str(Path(samples).resolve()) if samples is not None else None,
        "ignored_columns": list(ignored),
    }
    if lowres_grid is not None:
        from geochem_bench.scenes.lowres_grid import spread, wald_scene

        truth = np.full((len(all_symbols), *grid.shape), np.nan, dtype=np.float32)
        fine = spread(coarse, lowres_scale, grid.shape)
        for b, symbol in enumerate(grid_symbols):
            truth[all_symbols.index(symbol)] = fine[b]
        options |= {
            "lowres_grid": str(Path(lowres_grid).resolve()),
            "lowres_scale": lowres_scale,
            "lowres_elements": list(grid_symbols),
        }
        description += (
            f"; lowres grid {Path(lowres_grid).name} ({', '.join(grid_symbols)}, cells "
            f"{lowres_scale}x the covariates')"
        )
        wald = wald_scene(
            name,
            stack,
            names,
            valid,
            grid,
            coarse,
            lowres_scale,
            tuple(element_objs[all_symbols.index(s)] for s in grid_symbols),
        )
    scene = Scene(
        name=name,
        version="1",
        grid=grid,
        covariates=stack,
        band_names=names,
        valid=valid,
        elements=element_objs,
        truth=truth,
        points=points,
        licence="user data",
        citation="",
        description=f"user survey: {description}, {len(names)} covariates",
        options=options,
    )
    tasks = [
        TaskSpec(
            name,
            (s,),
            scale,
            "points",
            n_spatial_folds=n_folds,
            block_cells=block_cells,
            split_seed=seed,
        )
        for scale in scales
        for s in symbols
    ]
    if transfer_fraction is not None:
        tasks += [
            TaskSpec(
                name,
                (s,),
                scale,
                "transfer",
                n_spatial_folds=n_folds,
                block_cells=block_cells,
                split_seed=seed,
                target_fraction=transfer_fraction,
            )
            for scale in scales
            for s in symbols
        ]
    from geochem_bench.tasks.protocols import split_name, task_split

    for task in tasks:  # fails early, with the split's own message, when folds cannot be made
        try:
            scene.splits[split_name(task)] = task_split(scene, task)
        except ValueError as exc:
            raise SurveyError(f"task {task.id}: {exc}") from exc
    out = Path(out_dir)
    _clear_previous_build(out)
    write_scene(scene, out)
    write_text_atomic(out / TASKS_FILE, json.dumps([_task_dict(t) for t in tasks], indent=2) + "\n")
    if wald is not None:
        # the Wald scene's tasks are scored against the given map: they are the survey's
        # only grid tasks (the fine scene's spread map is an input, never a truth)
        from geochem_bench.scenes.lowres_grid import WALD_FOLDER

        write_scene(wald[0], out / WALD_FOLDER)
        write_text_atomic(
            out / WALD_FOLDER / TASKS_FILE,
            json.dumps([_task_dict(t) for t in wald[1]], indent=2) + "\n",
        )
    register_survey(out)
    return scene, tasks


#: What a build writes into its folder (``write_scene``, the tasks, the Wald scene).
_BUILD_FILES = (
    "scene.json",
    "manifest.json",
    "covariates.tif",
    "valid.tif",
    "truth.tif",
    "samples.parquet",
    TASKS_FILE,
)
_BUILD_FOLDERS = ("splits", "wald")


def _clear_previous_build(out: Path) -> None:
    """Remove an earlier build from ``out``: a rebuild must not keep its truth or Wald scene.

    A folder that holds anything else is refused: it is not ours to overwrite.
    """
    import shutil

    if not out.exists():
        return
    if not out.is_dir():
        raise SurveyError(f"--out {out} is a file; give a folder")
    present = {p.name for p in out.iterdir()}
    if not present:
        return
    if "scene.json" not in present or present - {*_BUILD_FILES, *_BUILD_FOLDERS}:
        raise SurveyError(
            f"--out {out} is not empty and not a make-task build ({sorted(present)[:5]}); "
            "give an empty or new folder"
        )
    for name in _BUILD_FILES:
        (out / name).unlink(missing_ok=True)
    for name in _BUILD_FOLDERS:
        if (out / name).is_dir() and not (out / name).is_symlink():
            shutil.rmtree(out / name)


def _lowres(
    path: Path, grid: GridSpec, elements: list[str] | None
) -> tuple[int, NDArray[np.float32], tuple[str, ...]]:
    from geochem_bench.scenes.lowres_grid import read_lowres_grid

    try:
        return read_lowres_grid(path, grid, elements)
    except InvalidInputError as exc:
        raise SurveyError(str(exc)) from None


def _survey_points(
    path: Path,
    grid: GridSpec,
    valid: NDArray[np.bool_],
    elements: list[str] | None,
    x: str,
    y: str,
    id_column: str | None,
    samples_crs: str | None,
    negative_means_censored: bool,
    n_folds: int,
) -> tuple[Samples, tuple[str, ...], tuple[str, ...], str]:
    """The survey's samples on the grid and what was made of the table.

    Returns:
        The samples, their element columns, the ignored columns, and a description.
    """
    table, sx, sy, source_crs = _read_samples(path, x, y, samples_crs, grid.crs)
    sx, sy = _to_grid_crs(sx, sy, source_crs, grid.crs)
    symbols, ignored = _element_columns(table, elements, {x, y, id_column or "", "geometry"})
    parsed = [_concentrations(table, c, path.name, negative_means_censored) for c in symbols]
    limits = np.column_stack([limit for _, limit in parsed])
    values = half_limit(np.column_stack([value for value, _ in parsed]), limits)
    rows, cols = grid.cell_of(sx, sy)
    inside = rows >= 0
    if not inside.any():
        left, bottom, right, top = grid.bounds
        raise SurveyError(
            f"no sample lies on the covariate grid (x {left:.1f}..{right:.1f}, y {bottom:.1f}.."
            f"{top:.1f} in {grid.crs}); the extents do not overlap: check the samples' CRS "
            "(--samples-crs) and the x/y columns"
        )
    on_data = inside.copy()
    on_data[inside] = valid[rows[inside], cols[inside]]
    ids = (
        table[id_column].to_numpy().astype(np.int64) if id_column else np.arange(1, len(table) + 1)
    )
    points = Samples(
        ids=ids[on_data],
        x=sx[on_data],
        y=sy[on_data],
        values=values[on_data],
        elements=symbols,
        limits=limits[on_data],
    )
    censored = ", ".join(
        f"{symbol} {n}" for symbol, n in zip(symbols, points.censored.sum(axis=0)) if n
    )
    if len(points) < 2 * n_folds:
        raise SurveyError(
            f"{len(points)} usable samples are too few for {n_folds} folds; use fewer folds"
        )
    description = (
        f"{len(points)} samples ({int((~on_data).sum())} off the grid or on nodata cells "
        "dropped)" + (f"; censored (below detection) values: {censored}" if censored else "")
    )
    return points, symbols, ignored, description


def register_survey(folder: str | Path) -> SceneEntry:
    """Register a survey written by :func:`make_survey` so its tasks can be listed and run."""
    folder = Path(folder)
    if not (folder / TASKS_FILE).is_file():
        raise SurveyError(
            f"{folder} holds no {TASKS_FILE}; build it with `geochem-bench make-task`"
        )
    try:  # hand-edited files: say which and how to fix, not a traceback
        meta = json.loads((folder / "scene.json").read_text())
        _check_name(meta["name"], f"scene name in {folder / 'scene.json'}")
        tasks = tuple(_task_from_dict(d) for d in json.loads((folder / TASKS_FILE).read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, SurveyError):
            raise
        raise SurveyError(
            f"{folder} is not a readable make-task build ({type(exc).__name__}: {exc}); "
            "rebuild it with `geochem-bench make-task ... --out` that folder"
        ) from None
    for task in tasks:  # a hand-edited tasks.json must not move records out of --out
        for part in task.id.split("/"):
            _check_name(part, f"task id {task.id!r} in {folder / TASKS_FILE}: part")
    fix = (
        f"Rebuild it: geochem-bench make-task ... --out {folder} with the options it was made "
        f"with (samples {meta['options'].get('samples')})."
    )

    def loader(checksum: bool = False, **_: Any) -> Scene:
        return read_scene(folder, checksum=checksum, fix=fix)

    entry = SceneEntry(
        name=meta["name"],
        summary=meta["description"],
        size=(
            f"{meta['grid']['height']}x{meta['grid']['width']} px, {len(meta['band_names'])} bands"
        ),
        licence=meta["licence"],
        loader=loader,
        tasks=tasks,
        in_suite=False,
    )
    register_scene(entry)
    from geochem_bench.scenes.lowres_grid import WALD_FOLDER

    if (folder / WALD_FOLDER / TASKS_FILE).is_file():  # a survey with a lowres grid
        register_survey(folder / WALD_FOLDER)
    return entry


def _covariate_stack(
    paths: list[Path], crs: str | None
) -> tuple[GridSpec, NDArray[np.float32], tuple[str, ...]]:
    import rasterio
    from rasterio.crs import CRS

    from geochem_bench.data.warp import warp_bands

    assigned = CRS.from_user_input(crs) if crs else None
    with rasterio.open(paths[0]) as ref:
        ref_crs = ref.crs or assigned
        grid = GridSpec(
            ref.height, ref.width, ref.transform, ref_crs.to_string() if ref_crs else None
        )
    bands: list[NDArray[np.float32]] = []
    names: list[str] = []
    for path in paths:
        if not path.is_file():
            raise SurveyError(f"covariate {path} does not exist")
        with rasterio.open(path) as src:
            src_crs = src.crs or assigned
            if (src_crs is None) != (ref_crs is None):
                raise SurveyError(
                    f"{path.name} {'has no CRS' if src_crs is None else 'has a CRS'} while "
                    f"{paths[0].name} {'has none' if ref_crs is None else 'has ' + str(ref_crs)}; "
                    "assign one with --crs so the rasters can be reprojected onto one grid"
                )
            data = src.read().astype(np.float32)
            for b in range(src.count):
                if src.nodatavals[b] is not None:
                    data[b][data[b] == src.nodatavals[b]] = np.nan
            same_grid = (
                (src.height, src.width) == grid.shape
                and src.transform.almost_equals(grid.transform)
                and (src_crs == ref_crs)
            )
            if not same_grid:
                if not _overlaps(src.bounds, src_crs, grid):
                    raise SurveyError(
                        f"{path.name} does not overlap {paths[0].name}; check its CRS and extent"
                    )
                integer = np.issubdtype(np.dtype(src.dtypes[0]), np.integer)
                data = warp_bands(
                    data, src.transform, src_crs, grid, "nearest" if integer else "bilinear"
                )
            stem = path.stem
            descriptions = src.descriptions
        for b in range(data.shape[0]):
            names.append(descriptions[b] or (stem if data.shape[0] == 1 else f"{stem}_{b + 1}"))
            bands.append(_fill_interior_holes(data[b]))
    if len(set(names)) != len(names):
        raise SurveyError(f"covariate band names repeat: {names}; rename the files")
    return grid, np.stack(bands), tuple(names)


def _fill_interior_holes(band: NDArray[np.float32]) -> NDArray[np.float32]:
    """Fill nodata cells enclosed by data (not connected to the raster's outer nodata)."""
    from scipy import ndimage

    finite = np.isfinite(band)
    holes = ndimage.binary_fill_holes(finite) & ~finite
    return (
        fill_nearest(np.where(finite, band, 0.0), holes).astype(np.float32) if holes.any() else band
    )


def _overlaps(bounds: Any, src_crs: Any, grid: GridSpec) -> bool:
    from rasterio.warp import transform_bounds

    left, bottom, right, top = (
        transform_bounds(src_crs, grid.crs, *bounds) if src_crs is not None and grid.crs else bounds
    )
    g_left, g_bottom, g_right, g_top = grid.bounds
    return left < g_right and right > g_left and bottom < g_top and top > g_bottom


def _read_samples(
    path: Path, x: str, y: str, assigned_crs: str | None, grid_crs: str | None
) -> tuple[Any, NDArray[np.float64], NDArray[np.float64], str | None]:
    """The samples table, its x and y, and the CRS they are in.

    A CSV's coordinates are in ``assigned_crs`` (default: the grid's). A vector file carries
    its own CRS, unless ``assigned_crs`` is given: that replaces it without reprojecting, for
    files whose ``.prj`` is wrong (the Meuse shapefile's reads as a polar stereographic).
    """
    import pandas as pd

    default_crs = assigned_crs or grid_crs
    if not path.is_file():
        raise SurveyError(f"samples file {path} does not exist")
    if path.suffix.lower() in {".csv", ".txt", ".tsv"}:
        table = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
        missing = [c for c in (x, y) if c not in table.columns]
        if missing:
            raise SurveyError(
                f"{path.name} has no column {missing}; columns are {list(table.columns)} "
                "(use --x/--y)"
            )
        return table, _numeric(table, x), _numeric(table, y), default_crs
    import pyogrio

    table = pyogrio.read_dataframe(path)
    if table.geometry.geom_type.ne("Point").any():
        raise SurveyError(
            f"{path.name} must hold points; it has {sorted(set(table.geometry.geom_type))}"
        )
    if assigned_crs is not None:
        crs: str | None = assigned_crs
    else:
        crs = table.crs.to_string() if table.crs is not None else grid_crs
    return table, table.geometry.x.to_numpy(np.float64), table.geometry.y.to_numpy(np.float64), crs


def _to_grid_crs(
    x: NDArray[np.float64], y: NDArray[np.float64], source: str | None, target: str | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if source is None or target is None:
        if (source is None) != (target is None):
            raise SurveyError(
                "samples and covariates must both have a CRS or both be local; "
                "pass --samples-crs or --crs"
            )
        return x, y
    from pyproj import CRS, Transformer

    if CRS.from_user_input(source) == CRS.from_user_input(target):
        return x, y
    transformer = Transformer.from_crs(source, target, always_xy=True)
    tx, ty = transformer.transform(x, y)
    # Rounded to 1 mm: a sample on a cell edge stays on the same side after a round trip.
    rx = np.round(np.asarray(tx, dtype=np.float64), 3).astype(np.float64)
    ry = np.round(np.asarray(ty, dtype=np.float64), 3).astype(np.float64)
    return rx, ry


def _check_name(value: str, what: str) -> None:
    try:
        check_name(value, what)
    except InvalidInputError as exc:
        raise SurveyError(str(exc)) from None


def _element_columns(
    table: Any, elements: list[str] | None, exclude: set[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The element columns and the columns left out (never silently: the CLI lists them)."""
    if elements:
        missing = [e for e in elements if e not in table.columns]
        if missing:
            raise SurveyError(
                f"element columns {missing} are not in the samples table; "
                f"columns are {list(table.columns)}"
            )
        for column in elements:
            _check_name(column, "element column (--elements)")  # becomes part of task ids
        ignored = [c for c in table.columns if c not in exclude and c not in elements]
        return tuple(elements), tuple(ignored)
    # Only columns named by an element symbol: a numeric `depth`, `year` or `sample_no` is a
    # number, not a concentration, and must not become a task.
    candidates = [c for c in table.columns if c not in exclude]
    symbols = [c for c in candidates if isinstance(c, str) and is_element_symbol(c)]
    if not symbols:
        raise SurveyError(
            f"no column of the samples table is named by an element symbol (Cu, Zn, ...); "
            f"columns are {list(table.columns)}; name the element columns with --elements"
        )
    ignored = [c for c in candidates if c not in symbols]
    return tuple(symbols), tuple(ignored)


def _numeric(table: Any, column: str) -> NDArray[np.float64]:
    import pandas as pd

    values = pd.to_numeric(table[column], errors="coerce")
    bad = table[column][values.isna() & table[column].notna()]
    if len(bad):
        raise SurveyError(
            f"column {column!r} is not numeric: {len(bad)} values such as "
            f"{list(bad.astype(str)[:3])}; fix them or choose other columns"
        )
    return values.to_numpy(dtype=np.float64)


#: A detection-limit code: ``<`` then a number written with a decimal point (``<0.5``,
#: ``< 0.5``, ``<5``, ``<1e-3``); whether it is positive is checked after the match.
_LIMIT_CODE = re.compile(r"<\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")


def _concentrations(
    table: Any, column: str, source: str, negative_means_censored: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """An element column as finite positive values and detection limits (NaN where none).

    An empty cell is not measured (NaN value, NaN limit). ``<L`` with ``L`` > 0 is censored:
    NaN value (the caller puts half the limit there) and limit ``L``; so is ``-L`` when
    ``negative_means_censored``. Refused, naming the column, the row (1-based, header not
    counted) and the value: other text (``n.d.``, ``<abc``, ``<0,5``, ``>10000``), ``<0``,
    ``inf``, zero and negative values. Refusing rather than guessing keeps the reading of an
    unusual code with the user, who knows the laboratory's conventions.
    """
    import pandas as pd

    raw = table[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    limits = np.full(len(values), np.nan)
    present = raw.notna().to_numpy()
    text = present & np.isnan(values)
    for i in np.flatnonzero(text):
        match = _LIMIT_CODE.fullmatch(str(raw.iloc[i]).strip())
        if match is not None:
            limits[i] = float(match.group(1))  # "<0" and "<-1" are refused below
    number = present & ~text
    negative = number & (values < 0)
    if negative_means_censored:
        limits[negative] = -values[negative]
    censored = np.isfinite(limits) & (limits > 0)
    ok = censored | (number & np.isfinite(values) & (values > 0))
    bad = np.flatnonzero(present & ~ok)
    if len(bad):
        row = int(bad[0])
        shown = str(raw.iloc[row]).strip()
        why = _why_refused(shown, values[row], text[row])
        raise SurveyError(
            f"{source}: column {column!r} row {row + 1}: value {shown!r} {why} "
            f"({len(bad)} such value(s) in the column)"
        )
    values = np.where(censored | ~present, np.nan, values)
    return values, np.where(censored, limits, np.nan)


def _why_refused(shown: str, value: float, text: bool) -> str:
    """Why a cell of an element column is refused, and what to write instead."""
    empty = "or leave the cell empty (not measured)"
    if shown.startswith("<"):
        limit = shown[1:].strip()
        if "," in limit:
            dotted = limit.replace(",", ".")
            return f"is a detection-limit code with a decimal comma; write '<{dotted}'"
        if _LIMIT_CODE.fullmatch(shown) is not None:
            return (
                "is a detection-limit code whose limit is not > 0; write the positive limit "
                f"(e.g. '<0.5') {empty}"
            )
        return f"is a detection-limit code whose limit is not a number; write e.g. '<0.5' {empty}"
    if shown.startswith(">"):
        return (
            "is an above-range code (right-censored), which cannot be scored; replace it with a "
            f"measured value {empty}"
        )
    if text:
        return f"is not a number; fix it {empty}"
    if not np.isfinite(value):
        return f"is not finite; fix it {empty}"
    if value < 0:
        return (
            "is not a positive concentration; if negative values code 'below the detection "
            "limit |value|' (the USGS/GSC convention), pass --negative-means-censored, else "
            f"fix it {empty}"
        )
    return (
        "is not a positive concentration; a value below the detection limit is written "
        f"'<LIMIT' (e.g. '<0.5'); fix it {empty}"
    )


def _task_dict(task: TaskSpec) -> dict[str, Any]:
    return {
        "scene": task.scene,
        "elements": list(task.elements),
        "scale": task.scale,
        "protocol": task.protocol,
        "n_spatial_folds": task.n_spatial_folds,
        "block_cells": task.block_cells,
        "split_seed": task.split_seed,
        "target_fraction": task.target_fraction,
    }


def _task_from_dict(d: dict[str, Any]) -> TaskSpec:
    return TaskSpec(
        d["scene"],
        tuple(d["elements"]),
        int(d["scale"]),
        d["protocol"],
        # surveys made before realisations existed name the same count "n_folds"
        n_spatial_folds=int(d.get("n_spatial_folds", d.get("n_folds", 0))),
        block_cells=int(d["block_cells"]),
        split_seed=int(d["split_seed"]),
        target_fraction=float(d["target_fraction"]),
    )
