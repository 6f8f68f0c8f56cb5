"""The reference prediction each protocol's skill is measured against.

Skill is ``1 - RMSE / RMSE(reference)`` on the same fold, so the reference fixes what a skill
of 0 means, and it must be a yardstick no serious method falls below:

* **grid** -> bicubic upsampling of the lowres grid, the convention of image
  super-resolution. The lowres cells are exact block means of an exhaustive field, so
  interpolating them is already a strong, model-free prediction.
* **points** and **transfer** -> the mean of the fold's training values of the target, in
  the element's analysis space (the geometric mean for log10 elements), predicted everywhere:
  the "climatology" reference of forecast verification (Murphy 1988, Mon. Weather Rev.
  116:2417-2424). Here the lowres cells are means of one to four samples (empty cells filled
  from neighbours), and their bicubic upsampling is *worse* than this constant on Jura Cd,
  Meuse Cd and synthetic Cu (v1 measurements), so a v1 skill of +0.10 could still mean
  "worse than a constant". With the training mean, skill > 0 means a method beats knowing
  nothing about where the samples are. Ordinary kriging was the alternative; it is a method
  on the board, with fitted variogram choices, and a yardstick should have no choices to
  argue about.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.task import TaskInputs
from geochem_bench.errors import InvalidInputError


def reference_prediction(inputs: TaskInputs) -> NDArray[np.float32]:
    """The fold's reference prediction in natural units, (E, H, W) float32, NaN off valid.

    Raises:
        InvalidInputError: a points fold without any training value of a target element.
    """
    if inputs.protocol == "grid":
        from geochem_bench.models.upsampling import upsample_lowres

        return upsample_lowres(inputs, "bicubic")
    return training_mean(inputs)


def training_mean(inputs: TaskInputs) -> NDArray[np.float32]:
    """Each target's mean training value (analysis space, back-transformed), everywhere valid.

    The training values are exactly what the model received (``inputs.points``): for a
    transfer task, the target is known only at its subset of training sites.
    """
    if inputs.points is None:
        raise InvalidInputError(f"{inputs.task_id}: the training-mean reference needs samples")
    out = np.full(inputs.output_shape, np.nan, dtype=np.float32)
    for e, element in enumerate(inputs.elements):
        values = element.to_analysis(inputs.points.column(element.symbol))
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise InvalidInputError(
                f"{inputs.task_id} fold {inputs.fold}: no training value of {element.symbol}; "
                "the task's split leaves a fold without training data, rebuild it"
            )
        out[e, inputs.valid] = np.float32(element.from_analysis(values.mean()))
    return out
