"""Fusion models: the interface every submission implements, and the reference models."""

from geochem_bench.models.base import FusionModel
from geochem_bench.models.idw import InverseDistanceWeighting
from geochem_bench.models.upsampling import (
    BackProjectionUpsampling,
    BicubicUpsampling,
    BilinearUpsampling,
    NearestUpsampling,
)

__all__ = [
    "BackProjectionUpsampling",
    "BicubicUpsampling",
    "BilinearUpsampling",
    "FusionModel",
    "InverseDistanceWeighting",
    "NearestUpsampling",
]
