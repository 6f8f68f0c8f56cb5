"""The kriging engine behind every kriging baseline.

:mod:`~geochem_bench.kriging.variogram` (models, experimental variogram, automatic fit),
:mod:`~geochem_bench.kriging.neighbours` (moving neighbourhoods grouped by shared data),
:mod:`~geochem_bench.kriging.systems` (batched bordered systems, the solver that point and
block support share) and :mod:`~geochem_bench.kriging.point` (ordinary, simple, universal
and collocated co-kriging of point data). numpy and scipy only; PyKrige is the cross-check.
"""
