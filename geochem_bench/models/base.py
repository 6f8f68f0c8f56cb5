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

    Points and transfer tasks are scored at held-out sample sites. By default the harness reads
    the prediction of the fine cell that holds each site. A model may instead predict at the
    exact sites by overriding the optional :meth:`predict_points`: after ``fit`` and
    ``predict`` the harness calls it with the fold's same inputs and the sites' coordinates
    (never their values) and scores what it returns, with the same metrics; the record says
    which (``scored_at``: ``"cells"`` or ``"sites"``). ``predict`` is still required (the
    map is the benchmark's product, and grid tasks have no sites).

    A map from samples streams (``geochem-bench map --tile``) only a model that sets the class
    attribute ``streams_from_samples = True``. That is a promise: ``fit`` gets every sample
    and ``predict`` then gets one window of the grid at a time (``inputs.covariates``,
    ``inputs.valid`` and ``inputs.grid`` cover the window only) with the same samples,
    most of them outside it. The model must read the samples' covariates from
    ``inputs.points.covariates`` (or :func:`~geochem_bench.models.data_points.point_data`,
    which does), never from ``inputs.covariates`` at ``inputs.grid.cell_of`` of the
    samples (-1, the window's last cell, for a sample outside it), and a cell's prediction
    must depend on the samples and that cell's covariates only. Nothing checks the promise:
    a model that breaks it maps wrong values.
    """

    def fit(self, inputs: TaskInputs) -> None:  # noqa: B027 - optional for training-free models
        """Learn from a task fold's inputs. Training-free models need not override this."""

    @abstractmethod
    def predict(self, inputs: TaskInputs) -> Prediction | NDArray[np.float32]:
        """Predict the fine-resolution field of the target elements."""

    def predict_points(
        self, inputs: TaskInputs, xy: NDArray[np.float64]
    ) -> Prediction | NDArray[np.float32] | None:
        """Predict the target elements at the held-out sites of a points or transfer fold.

        Optional: the default returns None, and the fold is scored on the cells of
        :meth:`predict`'s map. Never called on grid tasks.

        Args:
            inputs: the fold's inputs, the same ones ``fit`` and ``predict`` got.
            xy: float64 (M, 2): x and y of every held-out site in the scene's CRS (the CRS of
                ``inputs.grid`` and of ``inputs.points``), one row per site. The order is
                the harness's; return values in the same order.

        Returns:
            float32 (E, M) in natural units (E as in ``inputs.elements``), finite at every
            site and positive for log10 elements; or a
            :class:`~geochem_bench.core.task.Prediction` of such arrays, with an optional
            (E, M) std in analysis space; or None to be scored on the cells.
        """
        return None
