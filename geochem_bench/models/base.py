"""The interface of a fusion model, as the harness calls it."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.task import Prediction, TaskInputs


class FusionModel(ABC):
    """A model that maps a task fold's inputs to a fine-resolution geochemical map.

    The harness builds the model from its submission config (keyword arguments of the
    constructor), calls :meth:`fit` once per task fold with the fold's inputs, then
    :meth:`predict` with the same inputs. Everything a model may use is in
    :class:`~geochem_bench.core.task.TaskInputs`; held-out values never are.

    ``predict`` returns float32 (E, H, W) in natural units (the units of ``inputs.elements``),
    finite on every ``inputs.valid`` cell and positive for log10 elements; or a
    :class:`~geochem_bench.core.task.Prediction` that adds a predictive standard deviation in
    analysis space. Use ``inputs.seed`` for anything random, so runs are reproducible.
    """

    def fit(self, inputs: TaskInputs) -> None:  # noqa: B027 - optional for training-free models
        """Learn from a task fold's inputs. Training-free models need not override this."""

    @abstractmethod
    def predict(self, inputs: TaskInputs) -> Prediction | NDArray[np.float32]:
        """Predict the fine-resolution field of the target elements."""
