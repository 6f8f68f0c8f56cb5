"""Submissions with the optional ``predict_points`` hook, honest and hostile, for its tests."""

from __future__ import annotations

import os

import numpy as np

from geochem_bench.core.task import Prediction


class _Constant:
    """Predicts the training mean of each target everywhere: on the map and at the sites."""

    def fit(self, inputs):
        values = inputs.lowres.reshape(len(inputs.elements), -1)
        self.level = np.nanmean(values, axis=1).astype(np.float32)

    def predict(self, inputs):
        return np.broadcast_to(self.level[:, None, None], inputs.output_shape).copy()


class ConstantOnCells(_Constant):
    pass


class ConstantAtSites(_Constant):
    def predict_points(self, inputs, xy):
        return np.repeat(self.level[:, None], len(xy), axis=1)


class ConstantAtSitesWithStd(_Constant):
    def predict_points(self, inputs, xy):
        mean = np.repeat(self.level[:, None], len(xy), axis=1)
        return Prediction(mean=mean, std=np.full_like(mean, 0.3))


class DeclinesTheHook(_Constant):
    def predict_points(self, inputs, xy):
        return None


class SitesAsMap(_Constant):
    """Returns a whole map where site values are due."""

    def predict_points(self, inputs, xy):
        return self.predict(inputs)


class SitesNaN(ConstantAtSites):
    def predict_points(self, inputs, xy):
        out = super().predict_points(inputs, xy)
        out[0, 0] = np.nan
        return out


class SitesInf(ConstantAtSites):
    def predict_points(self, inputs, xy):
        out = super().predict_points(inputs, xy)
        out[0, -1] = np.inf
        return out


class SitesNegative(ConstantAtSites):
    def predict_points(self, inputs, xy):
        return -super().predict_points(inputs, xy)


class SitesFloat64(ConstantAtSites):
    def predict_points(self, inputs, xy):
        return super().predict_points(inputs, xy).astype(np.float64)


class SitesList(_Constant):
    def predict_points(self, inputs, xy):
        return [[1.0] * len(xy)]


class SitesHuge(_Constant):
    """A million values per element where a few dozen are due."""

    def predict_points(self, inputs, xy):
        return np.ones((len(inputs.elements), 1_000_000), dtype=np.float32)


class SitesBadStd(ConstantAtSites):
    def predict_points(self, inputs, xy):
        mean = super().predict_points(inputs, xy)
        return Prediction(mean=mean, std=-np.ones_like(mean))


class Recorder(ConstantAtSites):
    """Saves what the hook was given to ``$SITE_RECORDER`` (an .npz; inline runs only)."""

    def predict_points(self, inputs, xy):
        np.savez(
            os.environ["SITE_RECORDER"],
            xy=xy,
            ids=inputs.points.ids,
            target=inputs.points.column(inputs.elements[0].symbol),
        )
        return super().predict_points(inputs, xy)
