"""Can block means tell a map's missing within-block variance? Measured on dev realisations.

Back-projection's remaining log10 bias is ln(10)/2 times the within-block log10 variance
that a smooth, coherent map lacks (docs/scoring.md, "Coherence and log bias"). This script
compares the true within-block variance of the synthetic scene's elements with two
estimates computed from the lowres grid alone:

- *scaling*: Krige's additivity with a power-law variogram. The dispersion variance of
  blocks in their 3 x 3 neighbourhood at two aggregation levels gives the exponent, and
  with it the variance inside a block: D2(B|3B)^2 / (D2(3B|9B) - D2(B|3B)).
- *ratio*: within-block variance over the 3 x 3 neighbourhood variance of log10(lowres),
  whose spread over scales and elements says how far a fixed, dev-tuned ratio can go.

Dev realisations only (>= 100): the test realisations 0-99 are never looked at.

Usage::

    python benchmarks/subblock_variance_dev.py --realisations 100 101 102
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from numpy.typing import NDArray


def _blocks(field: NDArray[np.float64], scale: int) -> NDArray[np.float64]:
    """(h, w, scale * scale) view of the complete blocks of a 2-D field."""
    h, w = field.shape[0] // scale, field.shape[1] // scale
    cut = field[: h * scale, : w * scale].reshape(h, scale, w, scale)
    return cut.transpose(0, 2, 1, 3).reshape(h, w, scale * scale)


def _neighbourhood_variance(grid: NDArray[np.float64]) -> float:
    """Mean over cells of the variance of the 3 x 3 neighbourhood (NaN cells left out)."""
    from scipy import ndimage

    mean = ndimage.generic_filter(grid, np.nanmean, size=3, mode="nearest")
    square = ndimage.generic_filter(grid**2, np.nanmean, size=3, mode="nearest")
    return float(np.nanmean(square - mean**2))


def main() -> None:
    """Print, per realisation, scale and element: true variance, scaling estimate, ratio."""
    from geochem_bench.scenes.synthetic import SyntheticConfig, generate_synthetic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realisations", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--scales", type=int, nargs="+", default=[4, 8, 16])
    args = parser.parse_args()
    if any(r < 100 for r in args.realisations):
        parser.error("dev realisations (>= 100) only; 0-99 hold the official test set")
    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks under the lake
    print("realisation scale element true_within scaling_estimate ratio_to_neighbourhood")
    for realisation in args.realisations:
        scene = generate_synthetic(SyntheticConfig(seed=realisation))
        for scale in args.scales:
            for index, element in enumerate(scene.elements):
                if element.analysis_space != "log10":
                    continue
                blocks = _blocks(scene.truth[index].astype(np.float64), scale)
                within = float(np.nanmean(np.nanvar(np.log10(blocks), axis=-1)))
                means = np.nanmean(blocks, axis=-1)  # lowres: natural-unit block means
                near = _neighbourhood_variance(np.log10(means))
                coarser = np.nanmean(_blocks(means, 3), axis=-1)
                far = _neighbourhood_variance(np.log10(coarser))
                scaling = near**2 / (far - near) if far > near else float("inf")
                print(
                    f"{realisation} {scale} {element.symbol} {within:.4f} {scaling:.4g} "
                    f"{within / near:.3f}"
                )


if __name__ == "__main__":
    main()
