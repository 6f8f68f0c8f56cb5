"""Writing a task fold's inputs to files, for models that are not written in Python.

Such a model reads the files, writes ``<task id>/fold-<k>.tif`` on the grid of
``covariates.tif``, and ``geochem-bench score`` scores the folder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.geotiff import write_raster
from geochem_bench.data.store import LIMIT_PREFIX
from geochem_bench.tasks.protocols import build_fold


def export_fold(scene: Scene, task: TaskSpec, fold: int, out_dir: Path) -> list[Path]:
    """Write the inputs of one fold (never its held-out values) under ``out_dir``.

    Files: ``covariates.tif`` (C bands), ``valid.tif`` (1 = predict here), ``lowres.tif`` and
    ``lowres_count.tif`` (one band per target element), ``points.csv`` (training samples,
    empty cells = not available; censored values as half their detection limit, and then
    one ``detection_limit:<element>`` column per element, the limit where censored) and
    ``task.json``.

    Returns:
        The written paths.
    """
    inputs, _ = build_fold(scene, task, fold)
    out_dir.mkdir(parents=True, exist_ok=True)
    symbols = [e.symbol for e in inputs.elements]
    paths = {
        "covariates": out_dir / "covariates.tif",
        "valid": out_dir / "valid.tif",
        "lowres": out_dir / "lowres.tif",
        "lowres_count": out_dir / "lowres_count.tif",
        "task": out_dir / "task.json",
    }
    write_raster(paths["covariates"], inputs.covariates, inputs.grid, list(inputs.band_names))
    write_raster(paths["valid"], inputs.valid[None].astype(np.float32), inputs.grid, ["valid"])
    write_raster(paths["lowres"], inputs.lowres, inputs.lowres_grid, symbols)
    write_raster(
        paths["lowres_count"], inputs.lowres_count.astype(np.float32), inputs.lowres_grid, symbols
    )
    if inputs.points is not None:
        paths["points"] = out_dir / "points.csv"
        with paths["points"].open("w", newline="") as fh:
            writer = csv.writer(fh)
            limits = inputs.points.limits
            limit_names = (
                [] if limits is None else [LIMIT_PREFIX + e for e in inputs.points.elements]
            )
            writer.writerow(["id", "x", "y", *inputs.points.elements, *limit_names])
            for i in range(len(inputs.points)):
                row = inputs.points.values[i]
                if limits is not None:
                    row = np.concatenate([row, limits[i]])
                values = ["" if not np.isfinite(v) else repr(float(v)) for v in row]
                writer.writerow(
                    [
                        int(inputs.points.ids[i]),
                        repr(float(inputs.points.x[i])),
                        repr(float(inputs.points.y[i])),
                        *values,
                    ]
                )
    paths["task"].write_text(
        json.dumps(
            {
                **task.to_dict(),
                "fold": fold,
                "elements": [e.to_dict() for e in inputs.elements],
                "grid": inputs.grid.to_dict(),
                "lowres_grid": inputs.lowres_grid.to_dict(),
                "prediction": f"{task.id}/fold-{fold}.tif: float32, one band per element "
                f"({', '.join(symbols)}) in natural units, on the grid of covariates.tif",
            },
            indent=2,
        )
    )
    return list(paths.values())
