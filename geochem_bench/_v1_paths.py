"""The v1 module paths (``geochem_bench.grid``, ``geochem_bench.harness``, ...) as aliases.

v1 had 33 flat modules; submissions and notebooks import from them. Importing an old path
returns the module at its new place (the same module object, so classes compare equal) with
a ``DeprecationWarning`` naming the new path. ``geochem_bench.task`` and
``geochem_bench.models`` are not deprecated: they stay the documented submission API.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Final

#: v1 module -> its module in the subpackage layout.
MOVED: Final[dict[str, str]] = {
    "elements": "core.elements",
    "grid": "core.grid",
    "samples": "core.samples",
    "scene": "core.scene",
    "atomic": "core.atomic",
    "sources": "data.sources",
    "store": "data.store",
    "geotiff": "data.geotiff",
    "random_fields": "data.random_fields",
    "tileable_synthetic": "data.tileable_synthetic",
    "synthetic": "scenes.synthetic",
    "survey": "scenes.survey",
    "registry": "scenes.registry",
    "protocols": "tasks.protocols",
    "splits": "tasks.splits",
    "export": "tasks.export",
    "plotting": "tasks.plotting",
    "harness": "evaluation.harness",
    "ray_executor": "evaluation.ray_executor",
    "scoring": "evaluation.scoring",
    "tiled": "evaluation.tiled",
    "submission": "evaluation.submission",
    "provenance": "evaluation.provenance",
    "results": "evaluation.records",
    "aggregation": "board.aggregation",
    "leaderboard": "board.leaderboard",
    "rendering": "board.rendering",
    "hub": "board.hub",
    "citations": "board.citations",
    "model_index": "board.model_index",
    "summary": "board.summary",
    "torch_data": "torch.datasets",
    "demo": "cli.demo",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} is a v1 module path; import {self.target} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        # create_module returned the target, already executed; the import system itself
        # records it under the alias name in sys.modules.
        pass


class V1PathFinder(importlib.abc.MetaPathFinder):
    """Finds ``geochem_bench.<v1 module>`` and loads the module at its new path."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, leaf = fullname.rpartition(".")
        if package != "geochem_bench" or leaf not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(f"{package}.{MOVED[leaf]}"))


def install() -> None:
    """Add the finder once (after the normal finders, so real modules always win)."""
    if not any(isinstance(f, V1PathFinder) for f in sys.meta_path):
        sys.meta_path.append(V1PathFinder())
