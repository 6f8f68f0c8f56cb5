#!/usr/bin/env bash
# Reproduce the official baseline results of the v1 suite into leaderboard/results, then
# render the board. Usage: leaderboard/reproduce.sh [--mirror DIR] (extra args go to evaluate).
set -euo pipefail
cd "$(dirname "$0")/.."
out=leaderboard/results
for baseline in nearest bilinear bicubic back-projection idw guided-filter random-forest ordinary-kriging \
    regression-kriging covariable-kriging fusion-cnn; do
  geochem-bench evaluate "baselines/$baseline" --out "$out" --no-resume --download "$@"
done
# Kriging with external drift solves one global system per fold; it is run where that fits
# the 30-minute fold limit on a 2-core CPU (the grid tasks and Lapland do not).
geochem-bench evaluate baselines/kriging-external-drift --out "$out" --no-resume --download \
  --tasks 'synthetic/cu/*' 'meuse/*' 'jura/*' "$@"
geochem-bench leaderboard --source "$out" --render leaderboard
