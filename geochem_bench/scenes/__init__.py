"""The real scenes of the benchmark, one module each."""

from geochem_bench.errors import SceneNotFoundError
from geochem_bench.scenes.base import RealScene
from geochem_bench.scenes.jura import Jura
from geochem_bench.scenes.lapland_iocg import LaplandIOCG
from geochem_bench.scenes.meuse import Meuse
from geochem_bench.scenes.olinda import Olinda
from geochem_bench.scenes.walker_lake import WalkerLake

REAL_SCENES: tuple[type[RealScene], ...] = (Olinda, WalkerLake, Meuse, LaplandIOCG, Jura)

__all__ = [
    "REAL_SCENES",
    "Jura",
    "LaplandIOCG",
    "Meuse",
    "Olinda",
    "RealScene",
    "SceneNotFoundError",
    "WalkerLake",
]
