"""Inverse distance weighting, from survey samples or, without samples, from coarse cells."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from geochem_bench.core.task import TaskInputs
from geochem_bench.errors import InvalidInputError
from geochem_bench.models.base import FusionModel
from geochem_bench.models.data_points import point_data

_CHUNK = 1 << 20  # query cells per batch, bounds memory on large grids


class InverseDistanceWeighting(FusionModel):
    """Shepard's inverse distance weighting in analysis space with a k-nearest neighbourhood.

    Data points are the training samples where the target is known; for the grid protocol,
    which has no samples, the centres of the non-empty coarse cells. There is no well-kept
    IDW library, so this is scipy's cKDTree plus the weighting.

    Args:
        power: distance exponent (2 is Shepard's choice).
        neighbours: number of nearest data points per prediction cell.
    """

    #: A cell's value needs only the samples: a map from samples can stream it.
    streams_from_samples = True

    def __init__(self, power: float = 2.0, neighbours: int = 12) -> None:
        if power <= 0 or neighbours < 1:
            raise InvalidInputError("IDW needs power > 0 and neighbours >= 1")
        self.power = power
        self.neighbours = neighbours

    def predict(self, inputs: TaskInputs) -> NDArray[np.float32]:
        """Interpolate every target element onto the valid fine cells."""
        rows, cols = np.nonzero(inputs.valid)
        qx, qy = inputs.grid.centres(rows, cols)
        query = np.column_stack([qx, qy])
        out = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        for e, element in enumerate(inputs.elements):
            data = point_data(inputs, e, with_features=False)
            x, y, v = data.x, data.y, data.value
            tree = cKDTree(np.column_stack([x, y]))
            k = min(self.neighbours, len(v))
            values = np.empty(len(query))
            for start in range(0, len(query), _CHUNK):
                dist, idx = tree.query(query[start : start + _CHUNK], k=k, workers=-1)
                dist, idx = dist.reshape(len(dist), k), idx.reshape(len(idx), k)
                exact = dist[:, 0] == 0
                with np.errstate(divide="ignore"):
                    w = 1.0 / dist**self.power
                w[exact] = 0.0
                w[exact, 0] = 1.0
                values[start : start + _CHUNK] = np.sum(w * v[idx], axis=1) / np.sum(w, axis=1)
            out[e, rows, cols] = element.from_analysis(values)
        return out
