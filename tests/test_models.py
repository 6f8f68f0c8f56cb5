from __future__ import annotations

import dataclasses

import numpy as np

from geochem_bench.core.samples import Samples
from geochem_bench.models import InverseDistanceWeighting
from geochem_bench.scenes.registry import get_task
from geochem_bench.tasks.protocols import build_fold


def test_idw_honours_samples_and_stays_in_range(scene):
    inputs, _ = build_fold(scene, get_task("synthetic/cu/s16/points"), 0)
    pred = InverseDistanceWeighting(power=2, neighbours=8).predict(inputs)
    assert pred.dtype == np.float32 and pred.shape == inputs.output_shape
    cu = inputs.points.column("Cu")
    rows, cols = inputs.grid.cell_of(inputs.points.x, inputs.points.y)
    valid = pred[0, inputs.valid]
    assert cu.min() * 0.999 <= valid.min() and valid.max() <= cu.max() * 1.001
    # a sample exactly at a cell centre is reproduced there
    x, y = inputs.grid.centres(rows[:1], cols[:1])
    pts = inputs.points
    moved = Samples(pts.ids, np.r_[x, pts.x[1:]], np.r_[y, pts.y[1:]], pts.values, pts.elements)
    pred2 = InverseDistanceWeighting().predict(dataclasses.replace(inputs, points=moved))
    np.testing.assert_allclose(pred2[0, rows[0], cols[0]], cu[0], rtol=1e-5)


def test_idw_uses_known_target_only_in_transfer(scene):
    inputs, _ = build_fold(scene, get_task("synthetic/cu/s16/transfer"), 0)
    pred = InverseDistanceWeighting().predict(inputs)
    assert np.isfinite(pred[:, inputs.valid]).all()


def test_idw_falls_back_to_coarse_cells_on_grid_tasks(scene):
    inputs, _ = build_fold(scene, get_task("synthetic/all/s16/grid"), 0)
    pred = InverseDistanceWeighting().predict(inputs)
    assert np.isfinite(pred[:, inputs.valid]).all()
    # at a coarse cell centre the nearest data point is that cell's own value, at distance > 0,
    # so IDW is close to, not equal to, the lowres value: check it is pulled towards it
    assert (
        np.corrcoef(
            np.log10(pred[0, 8::16, 8::16][inputs.valid[8::16, 8::16]]),
            np.log10(inputs.lowres[0][inputs.valid[8::16, 8::16]]),
        )[0, 1]
        > 0.9
    )


def test_cell_features_fill_only_the_cells_asked_for_as_the_whole_raster_fill():
    """Reading a chunk of cells fills their holes with the values a whole-raster fill writes
    (rounded to the covariates' dtype), and is NaN-free even off the valid cells."""
    import numpy as np

    from geochem_bench.models.data_points import (
        cell_features,
        covariate_fill,
        filled_covariates,
    )
    from tests.test_area_to_point_regression import _field, _inputs

    rng = np.random.default_rng(0)
    bands = _field(2, (32, 40))
    bands[1, rng.random((32, 40)) < 0.1] = np.nan  # holes on valid cells
    valid = np.ones((32, 40), dtype=bool)
    valid[:, 36:] = False
    inputs = _inputs(bands[0], bands, 4, valid)
    rows, cols = np.nonzero(valid)
    whole = filled_covariates(inputs)[:, rows, cols].T.astype(np.float64)
    np.testing.assert_array_equal(cell_features(inputs, rows, cols), whole)
    fill = covariate_fill(inputs) + 0.1  # a fit's own fill values
    whole = filled_covariates(inputs, fill)[:, rows, cols].T.astype(np.float64)
    np.testing.assert_array_equal(cell_features(inputs, rows, cols, fill), whole)
    off = np.nonzero(~valid)
    assert np.isfinite(cell_features(inputs, *off)).all()


def test_samples_on_cells_without_covariates_are_filled_at_the_fit_as_at_predict():
    """A sample on a cell whose covariates are NaN (off the mask of hand-built inputs, whose
    valid cells all have covariates): cell_features fills such a cell where a prediction reads
    it, but point_data read the unfilled raster, so the training features were NaN and kriging
    with external drift failed ('SVD did not converge'). Filled at the fit as at predict, the
    fit is the one on the same samples carrying their covariates (a streamed map's)."""
    from geochem_bench.models.kriging import KrigingExternalDrift
    from tests.test_area_to_point_regression import _inputs, _masked_scene

    truth, bands, valid, scale = _masked_scene()
    grid_inputs = _inputs(truth, bands, scale, valid)
    rng = np.random.default_rng(0)
    on, off = np.nonzero(valid), np.nonzero(~valid)
    pick_on = rng.choice(len(on[0]), 150, replace=False)
    pick_off = rng.choice(len(off[0]), 3, replace=False)
    rows = np.concatenate([on[0][pick_on], off[0][pick_off]])
    cols = np.concatenate([on[1][pick_on], off[1][pick_off]])
    x, y = grid_inputs.grid.centres(rows, cols)
    samples = Samples(np.arange(len(x)), x, y, truth[rows, cols][:, None], ("Fe",))
    inputs = dataclasses.replace(
        grid_inputs, protocol="points", points=samples, task_id="t/fe/s4/points"
    )
    model = KrigingExternalDrift()
    model.fit(inputs)
    mean = model.predict(inputs).mean
    assert np.isfinite(mean[:, valid]).all()
    carried = dataclasses.replace(
        samples, covariates=grid_inputs.covariates[:, rows, cols].T.copy()
    )
    streamed = KrigingExternalDrift()
    streamed.fit(dataclasses.replace(inputs, points=carried))
    np.testing.assert_allclose(streamed.predict(inputs).mean, mean, rtol=1e-5)


def test_samples_carrying_covariates_get_the_features_their_cells_give():
    """A streamed map's samples carry their covariates; a hole there is filled with the value
    the whole raster's fill writes at that cell (rounded to the covariates' dtype), so the
    streamed fit sees exactly the features of the in-memory fit (before: a fit's own fill on
    other inputs was used unrounded at the samples, 1.5e-9 off)."""
    from geochem_bench.models.data_points import covariate_fill, point_data
    from tests.test_area_to_point_regression import _field, _inputs

    rng = np.random.default_rng(1)
    bands = _field(2, (32, 40))
    bands[1, rng.random((32, 40)) < 0.2] = np.nan
    grid_inputs = _inputs(bands[0], bands, 4, np.ones((32, 40), dtype=bool))
    rows, cols = rng.integers(0, 32, 120), rng.integers(0, 40, 120)
    x, y = grid_inputs.grid.centres(rows, cols)
    values = np.abs(bands[0][rows, cols])[:, None] + 1.0
    samples = Samples(np.arange(len(x)), x, y, values, ("Fe",))
    inputs = dataclasses.replace(
        grid_inputs, protocol="points", points=samples, task_id="t/fe/s4/points"
    )
    at_samples = grid_inputs.covariates[:, rows, cols].T.copy()  # as a streamed map reads them
    carried = dataclasses.replace(samples, covariates=at_samples)
    assert np.isnan(carried.covariates).any()
    for fill in (None, covariate_fill(inputs) + 0.1):  # its own fill, and a fit's on others
        from_cells = point_data(inputs, 0, fill=fill)
        from_samples = point_data(dataclasses.replace(inputs, points=carried), 0, fill=fill)
        np.testing.assert_array_equal(from_samples.features, from_cells.features)
