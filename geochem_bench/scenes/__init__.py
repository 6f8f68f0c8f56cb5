"""The scenes of the benchmark, one module each, found by looking in this package.

Every module here that defines a :class:`~geochem_bench.scenes.base.SceneDeclaration`
subclass with a ``name`` contributes one scene: adding a scene is adding a module (plus its
card and its fake-data generator; see ``docs/adding-a-scene.md``). ``SCENES`` lists them,
the scenes that need no download first, then by name.
"""

from __future__ import annotations

import importlib
import pkgutil

from geochem_bench.errors import SceneNotFoundError
from geochem_bench.scenes.base import RealScene, SceneDeclaration

#: Modules of this package that are machinery, not scenes.
_NOT_SCENES = frozenset({"base", "registry", "survey"})


def _discover() -> tuple[type[SceneDeclaration], ...]:
    found: dict[str, type[SceneDeclaration]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_SCENES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, SceneDeclaration)
                and value.__module__ == module.__name__
                and "name" in vars(value)
            ):
                if value.name in found:
                    raise RuntimeError(f"two scene modules declare the scene {value.name!r}")
                found[value.name] = value
    return tuple(sorted(found.values(), key=lambda c: (c.needs_download, c.name)))


#: Every declared scene.
SCENES: tuple[type[SceneDeclaration], ...] = _discover()
#: The scenes built from downloaded raw files.
REAL_SCENES: tuple[type[RealScene], ...] = tuple(
    cls for cls in SCENES if issubclass(cls, RealScene)
)


def __getattr__(name: str) -> type[SceneDeclaration]:
    # ``from geochem_bench.scenes import Meuse`` keeps working for every declared scene.
    for cls in SCENES:
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "REAL_SCENES",
    "SCENES",
    "RealScene",
    "SceneDeclaration",
    "SceneNotFoundError",
]
