"""How well the airborne K and eU grids of the Sir Samuel clip agree with ground samples.

The `sir-samuel-radiometrics` scene scores fusion against airborne gamma-ray K (%) and eU
(ppm) as the truth. This script checks that truth against the independent regolith
geochemistry of the `sir-samuel` survey: the sites that fall inside the clip, their
laboratory K and U, and the airborne value of the cell each falls in. Gamma rays see the top
~30 cm over a ~100 m footprint and the laboratory sees a sample, so agreement is expected to
be partial; the point is that the grids measure the ground's chemistry at all.

Reads the raw files (`$GEOCHEM_BENCH_RAW`, default ../shared/raw); a data description, not
a timing.

Usage::

    python benchmarks/airborne_vs_sites.py [--raw DIR]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

#: (airborne grid in sir_samuel/uncover_ml, site column in ppm, unit of the grid, ppm per unit)
PAIRS = (("k_15v5.tif", "K_ppm_imp", "%", 1e4), ("U_15v1.tif", "U_ppm_imp", "ppm", 1.0))


def main() -> None:
    """Print, per channel: sites in the clip, Pearson r and Spearman rho, and the means."""
    import geopandas as gpd
    import rasterio
    from scipy import stats

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("GEOCHEM_BENCH_RAW", "../shared/raw"))
    parser.add_argument("--raw", type=Path, default=default)
    args = parser.parse_args()
    sites = gpd.read_file(args.raw / "sir_samuel" / "landshark" / "geochem_sites.shp")
    print("| channel | sites in the clip | Pearson r | Spearman rho | site mean | airborne mean |")
    print("|---|---|---|---|---|---|")
    for grid, column, unit, per_unit in PAIRS:
        with rasterio.open(args.raw / "sir_samuel" / "uncover_ml" / grid) as raster:
            local = sites.to_crs(raster.crs)
            x, y = local.geometry.x.to_numpy(), local.geometry.y.to_numpy()
            box = raster.bounds
            inside = (x > box.left) & (x < box.right) & (y > box.bottom) & (y < box.top)
            airborne = np.array([v[0] for v in raster.sample(zip(x[inside], y[inside]))], float)
            # the grids' nodata is float32's lowest value (or two steps above it)
            measured = airborne > -1e30
        ground = local[column].to_numpy(float)[inside][measured] / per_unit
        airborne = airborne[measured]
        r = stats.pearsonr(ground, airborne).statistic
        rho = stats.spearmanr(ground, airborne).statistic
        print(
            f"| {grid} vs {column} ({unit}) | {measured.size} ({int(measured.sum())} on data) "
            f"| {r:.2f} | {rho:.2f} | {ground.mean():.3f} | {airborne.mean():.3f} |"
        )


if __name__ == "__main__":
    main()
