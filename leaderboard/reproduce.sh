#!/usr/bin/env bash
# Reproduce the official baseline results of the benchmark v2 suite into leaderboard/results,
# then render the board. Usage: leaderboard/reproduce.sh [--mirror DIR] (extra args go to
# evaluate). Stochastic baselines (random-forest, regression-kriging, fusion-cnn) run their three seeds by
# themselves. The CNN's records are deterministic for a given thread count: they were made with
# one thread (OMP_NUM_THREADS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
out=leaderboard/results
# atpk and atprk enter the grid protocol only, the point-kriging baselines the points and
# transfer protocols only (protocols in their cards): evaluate runs each where it enters.
for baseline in nearest bilinear bicubic back-projection idw guided-filter atpk atprk random-forest \
    ordinary-kriging regression-kriging covariable-kriging; do
  geochem-bench evaluate "baselines/$baseline" --out "$out" --no-resume --download "$@"
done
OMP_NUM_THREADS=1 geochem-bench evaluate baselines/fusion-cnn --out "$out" --no-resume --download "$@"
# Kriging with external drift refuses grid tasks (block means; atprk is its block-support
# analogue). On lapland-iocg (over 1500 data) its 128-neighbour moving window took about
# 5 minutes per fold on a shared 2-core CPU, so it is run on the other points scenes only.
geochem-bench evaluate baselines/kriging-external-drift --out "$out" --no-resume --download \
  --tasks 'synthetic/cu/*' 'meuse/*' 'jura/*' 'sir-samuel/*' "$@"
geochem-bench leaderboard --source "$out" --render leaderboard
# The v1 board, from the v1 records kept beside it.
geochem-bench leaderboard --source leaderboard/v1/results --benchmark 1.0 --render leaderboard/v1
