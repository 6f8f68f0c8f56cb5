"""Fusion models: the interface every submission implements, and the reference models."""

from geochem_bench.models.base import FusionModel
from geochem_bench.models.idw import InverseDistanceWeighting
from geochem_bench.models.upsampling import BicubicUpsampling, BilinearUpsampling, NearestUpsampling

__all__ = [
    "BicubicUpsampling",
    "BilinearUpsampling",
    "FusionModel",
    "InverseDistanceWeighting",
    "NearestUpsampling",
]
