"""Compatibility alias: ``geochem_bench.task`` is :mod:`geochem_bench.core.task`.

Submissions written against v1 import ``TaskInputs`` and ``Prediction`` from here.
"""

from geochem_bench.core.task import HeldOut, Prediction, TaskInputs, TaskSpec

__all__ = ["HeldOut", "Prediction", "TaskInputs", "TaskSpec"]
