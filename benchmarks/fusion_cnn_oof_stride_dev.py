"""Check the reference CNN's ``oof_stride`` (0.4.1) on *dev* realisations of the synthetic scene.

0.4.1 krigs the out-of-fold bases of the point loss every 4 fine cells instead of at every
cell, to keep Lapland IOCG's transfer folds inside the CPU budget. This script measures what
that costs in skill where the choice may be looked at: the synthetic points and transfer
tasks on dev realisations (never the test realisations), both strides on the same folds and
training seeds, and prints the mean skill of each and their paired difference.

Usage::

    python benchmarks/fusion_cnn_oof_stride_dev.py --realisations 100 101 --seeds 0
"""

from __future__ import annotations

import argparse
import statistics
import time
import tomllib
from pathlib import Path

TASKS = ("synthetic/cu/s16/points", "synthetic/cu/s16/transfer")
CARD = Path(__file__).resolve().parents[1] / "baselines" / "fusion-cnn" / "submission.toml"


def fold_skills(task_id: str, realisation: int, seed: int, stride: int) -> list[float]:
    """Skill of each fold of ``task_id`` on one dev realisation at one ``oof_stride``."""
    from tune_fusion_cnn_dev import dev_fold_skills

    params = tomllib.loads(CARD.read_text())["params"] | {"oof_stride": stride}
    return dev_fold_skills(task_id, realisation, seed, params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realisations", type=int, nargs="+", default=[100, 101])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--strides", type=int, nargs=2, default=[1, 4])
    args = parser.parse_args()
    if any(r < 100 for r in args.realisations):
        parser.error("dev realisations only (100-109): test realisations are never looked at")
    a, b = args.strides
    for task_id in TASKS:
        diffs, sa, sb = [], [], []
        start = time.time()
        for realisation in args.realisations:
            for seed in args.seeds:
                ka = fold_skills(task_id, realisation, seed, a)
                kb = fold_skills(task_id, realisation, seed, b)
                sa += ka
                sb += kb
                diffs += [y - x for x, y in zip(ka, kb)]
        sd = statistics.stdev(diffs) if len(diffs) > 1 else float("nan")
        print(
            f"{task_id}: stride {a} {statistics.fmean(sa):+.4f}, stride {b} "
            f"{statistics.fmean(sb):+.4f}; paired ({b} - {a}) {statistics.fmean(diffs):+.4f} "
            f"(sd {sd:.4f}, {len(diffs)} folds; {time.time() - start:.0f} s)"
        )


if __name__ == "__main__":
    main()
