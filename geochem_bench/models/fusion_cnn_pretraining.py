"""Pretraining of the reference fusion CNN on dev realisations of the synthetic generator.

The lowres grid of a fold cannot teach the network what happens below its own cells: a Wald
pair at x16 on a 256-cell scene is a 16 x 16 grid degraded to 4 x 4 (issue 14). The
generator's *dev* realisations (100-109) are public and come with their fine truth, so the
network learns there, at the fine support, the mapping it is applied with: the ATPK base of
the truth's natural-unit block means at x4, x8 and x16 (mixed in every batch: one mapping
for every scale), plus the covariates, to the truth. Test realisations (0-2 and any other
that is not a dev realisation) are refused here, not only in the scripts that call this.

The weights ship with the package (``geochem_bench/resources/weights``, with their sha256,
config, realisations and covariate bands in a JSON file); :func:`pretrain` regenerates them
deterministically (one torch thread), ``python -m geochem_bench.models.fusion_cnn_pretraining
--out DIR`` writes them.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from geochem_bench.errors import InvalidInputError
from geochem_bench.models.fusion_cnn import (
    BaseSurface,
    FusionCNN,
    ResidualFusionNet,
    Scene,
    covariate_stats,
    element_data,
    padded_covariates,
    train_network,
)
from geochem_bench.models.fusion_cnn_weights import ARCHITECTURE, shipped_weights

#: Dev realisations the shipped weights learn from. 100-102 chose the settings and 103-105
#: report the ablations (``benchmarks/tune_fusion_cnn_dev.py``), so neither is in here.
PRETRAIN_REALISATIONS = (106, 107, 108, 109)
#: Scale factors mixed in pretraining: the synthetic grid tasks' own.
PRETRAIN_SCALES = (4, 8, 16)
#: Pretraining schedule of the shipped weights.
PRETRAIN_STEPS = 800
PRETRAIN_BATCH = 6
PRETRAIN_LR = 1e-3
PRETRAIN_SEED = 0


def require_dev(realisations: tuple[int, ...] | list[int]) -> None:
    """Refuse any realisation that is not a dev realisation of the synthetic generator.

    Raises:
        InvalidInputError: a test realisation (or any non-dev one) is asked for.
    """
    from geochem_bench.scenes.synthetic import DEV_REALISATIONS

    bad = sorted(set(realisations) - set(DEV_REALISATIONS))
    if bad:
        raise InvalidInputError(
            f"pretraining uses dev realisations only ({min(DEV_REALISATIONS)}-"
            f"{max(DEV_REALISATIONS)}); {bad} would train on test realisations or unknown ones"
        )


def dev_scenes(
    model: FusionCNN, realisations: tuple[int, ...], scales: tuple[int, ...]
) -> list[Scene]:
    """Fine-truth training material of the synthetic grid tasks on dev realisations."""
    from geochem_bench.scenes.registry import dev_task, get_task
    from geochem_bench.scenes.synthetic import SyntheticConfig, generate_synthetic
    from geochem_bench.tasks.protocols import build_fold

    require_dev(realisations)
    scenes = []
    for realisation in realisations:
        scene = generate_synthetic(SyntheticConfig(seed=realisation))
        for scale in scales:
            task = dev_task(get_task(f"synthetic/all/s{scale}/grid"))
            task = task.on_realisations((realisation,), dev=True)
            inputs, held_out = build_fold(scene, task, 0)
            assert held_out.truth is not None  # grid protocol: exhaustive truth
            bases = BaseSurface(model.config, inputs)
            elements = []
            for e, element in enumerate(inputs.elements):
                data = element_data(inputs, e, bases)
                truth = np.where(inputs.valid, held_out.truth[e].astype(np.float64), np.nan)
                with np.errstate(invalid="ignore", divide="ignore"):
                    data.truth = data.normalised(element.to_analysis(truth))
                elements.append(data)
            halo = model.new_network(inputs.covariates.shape[0]).halo
            covariates = padded_covariates(inputs, covariate_stats(inputs), halo)
            scenes.append(Scene(covariates, inputs.valid, scale, elements))
    return scenes


def pretrain(
    params: dict[str, Any] | None = None,
    realisations: tuple[int, ...] = PRETRAIN_REALISATIONS,
    scales: tuple[int, ...] = PRETRAIN_SCALES,
    steps: int = PRETRAIN_STEPS,
    batch: int = PRETRAIN_BATCH,
    lr: float = PRETRAIN_LR,
    seed: int = PRETRAIN_SEED,
    trainer_options: dict[str, Any] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Pretrain a network of configuration ``params`` on fine-truth pairs of dev realisations.

    Args:
        params: :class:`~geochem_bench.models.fusion_cnn.FusionCNN` parameters (its
            architecture and base); default the defaults.
        realisations: dev realisations of the synthetic generator (others are refused).
        scales: scale factors mixed in every batch.
        steps: optimiser steps.
        batch: fine patches per step.
        lr: Adam learning rate.
        seed: seed of the initial weights and of the batch stream.
        trainer_options: Lightning ``Trainer`` options (e.g. ``{"accelerator": "gpu"}`` for
            the large configuration); default one CPU.

    Returns:
        The state dict and its description (config, realisations, scales, bands, schedule).
    """
    import lightning as L

    require_dev(realisations)
    model = FusionCNN(**(params or {}))
    L.seed_everything(seed, workers=True, verbose=False)
    torch.use_deterministic_algorithms(True, warn_only=True)
    scenes = dev_scenes(model, realisations, scales)
    net = model.new_network(scenes[0].covariates.shape[0])
    train_network(
        net,
        scenes,
        {"truth": batch},
        {"truth": 1.0},
        steps,
        lr,
        int(model.config["crop"]),
        int(model.config["fine_crop"]),
        seed,
        trainer_options,
    )
    meta = {
        "config": {k: model.config[k] for k in ARCHITECTURE},
        "realisations": list(realisations),
        "scales": list(scales),
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "covariates": list(_synthetic_bands()),
        "sigma": _sigma(net),
    }
    return net.state_dict(), meta


def _synthetic_bands() -> tuple[str, ...]:
    """The generator's covariate bands (those of a tiny realisation)."""
    from geochem_bench.scenes.synthetic import SyntheticConfig, generate_synthetic

    return tuple(generate_synthetic(SyntheticConfig(seed=100, height=16, width=16)).band_names)


def _sigma(net: ResidualFusionNet) -> list[float] | None:
    return None if net.support is None else [round(float(s), 4) for s in net.support.sigma()]


def write_pretrained(
    path: str | Path, state: dict[str, torch.Tensor], meta: dict[str, Any]
) -> dict[str, Any]:
    """Write weights to ``path`` (.pt) and their description with sha256 beside (.json)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path.write_bytes(buffer.getvalue())
    meta = meta | {"file": path.name, "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return meta


def main(argv: list[str] | None = None) -> None:
    """Write the pretrained weights of the default configuration (or of ``--params``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(shipped_weights()), help="the .pt to write")
    parser.add_argument("--params", help="JSON of FusionCNN parameters (architecture, base)")
    parser.add_argument("--steps", type=int, default=PRETRAIN_STEPS)
    parser.add_argument("--batch", type=int, default=PRETRAIN_BATCH)
    parser.add_argument("--realisations", type=int, nargs="+", default=PRETRAIN_REALISATIONS)
    parser.add_argument("--accelerator", default="cpu", help="Lightning accelerator: cpu, gpu")
    args = parser.parse_args(argv)
    state, meta = pretrain(
        json.loads(args.params) if args.params else None,
        realisations=tuple(args.realisations),
        steps=args.steps,
        batch=args.batch,
        trainer_options={"accelerator": args.accelerator},
    )
    print(json.dumps(write_pretrained(args.out, state, meta), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
