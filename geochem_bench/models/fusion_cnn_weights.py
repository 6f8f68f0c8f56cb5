"""The reference CNN's pretrained weights: where they ship and how a model loads them.

Apart from :mod:`~geochem_bench.models.fusion_cnn_pretraining` (which writes them and imports
the model), so that the model can load weights without importing the code that makes them.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from geochem_bench.errors import InvalidInputError

#: The shipped weights: the official configuration's architecture and base.
WEIGHTS_NAME = "fusion-cnn-synthetic"
#: Configuration keys the weights depend on; a model loading them must agree on each.
ARCHITECTURE = ("width", "blocks", "support_stem", "base", "atpk_radius")


def shipped_weights() -> Path:
    """The shipped weights file (its JSON description sits beside it)."""
    return Path(__file__).resolve().parents[1] / "resources" / "weights" / f"{WEIGHTS_NAME}.pt"


def load_pretrained(
    spec: str | None, model: Any, band_names: tuple[str, ...]
) -> dict[str, torch.Tensor] | None:
    """The pretrained state for ``model`` on a task with ``band_names``, or None.

    None when ``spec`` is None or the task's covariates are not the bands the weights learnt
    (a real scene: the network then starts from scratch on the fold's own inputs).

    Args:
        spec: ``"synthetic"`` (the shipped weights), a path to a ``.pt`` written by
            :func:`write_pretrained`, or None.
        model: the model that loads them (its architecture must match theirs).
        band_names: the task's covariate bands.

    Raises:
        InvalidInputError: the file's sha256 differs from its description, or the weights
            were pretrained with another architecture or base.
    """
    if spec is None:
        return None
    path = shipped_weights() if spec == "synthetic" else Path(spec)
    meta = json.loads(path.with_suffix(".json").read_text())
    if tuple(meta["covariates"]) != tuple(band_names):
        return None
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
        raise InvalidInputError(f"{path}: sha256 differs from {path.with_suffix('.json').name}")
    wanted = {k: model.config[k] for k in ARCHITECTURE}
    if meta["config"] != wanted:
        raise InvalidInputError(
            f"{path} was pretrained with {meta['config']}, the model is {wanted}: pretrain "
            "weights for this configuration (fusion_cnn_pretraining.pretrain)"
        )
    state: dict[str, torch.Tensor] = torch.load(io.BytesIO(raw), weights_only=True)
    return state
