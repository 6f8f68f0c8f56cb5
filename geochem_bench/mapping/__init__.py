"""The map a geologist came for: a method fitted on every sample of a survey, as a COG."""

from geochem_bench.mapping.element_map import ElementMap
from geochem_bench.mapping.fused_map import make_map

__all__ = ["ElementMap", "make_map"]
