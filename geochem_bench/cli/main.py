"""The ``geochem-bench`` command line.

Module-level imports stay minimal (argparse only) so ``--help`` and ``list`` start instantly;
each command imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from geochem_bench.errors import GeochemBenchError, InvalidInputError, UnknownNameError

DEFAULT_OUT = "geochem-bench-results"
#: Exit status after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


# --- argparse types: a bad option value is a usage error naming the option -----------------


def _int_at_least(low: int, high: int | None = None) -> Any:
    """An argparse type: an integer in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def _finite(text: str, minimum: float, strict: bool, what: str) -> float:
    """A finite number above ``minimum`` (or at least it, unless ``strict``) for argparse."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise argparse.ArgumentTypeError(f"must be a finite number of {what} {bound}, got {text}")
    return value


def _positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    return _finite(text, 0.0, strict=True, what="seconds")


def _tolerance(text: str) -> float:
    """An argparse type: a finite relative tolerance >= 0."""
    return _finite(text, 0.0, strict=False, what="relative tolerance")


def _fraction(text: str) -> float:
    """An argparse type: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _name_type(what: str) -> Any:
    """An argparse type: a name that becomes a path component (see core.names)."""

    def parse(text: str) -> str:
        from geochem_bench.core.names import check_name

        try:
            return check_name(text, what)
        except InvalidInputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = what
    return parse


def _benchmark_version(text: str) -> str:
    """An argparse type: a benchmark version (``2.0``), also a file-name part of its pins."""
    from geochem_bench.board.pins import check_benchmark_version

    try:
        return check_benchmark_version(text)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_SEED = _int_at_least(0)
_FOLD = _int_at_least(0)
#: Fewer replicates give intervals too coarse to rank by (their 2.5 % quantile is one draw).
MIN_BOOTSTRAP = 100
#: The synthetic generator's minimum; above the maximum one scene needs several GB of memory.
SYNTHETIC_SIZE = (16, 8192)


def _parser() -> argparse.ArgumentParser:
    from geochem_bench import BENCHMARK_VERSION, __version__

    parser = argparse.ArgumentParser(
        prog="geochem-bench",
        description=(
            "Benchmark for fusing low-resolution geochemical maps with high-resolution "
            "remote sensing."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"geochem-bench {__version__} (benchmark {BENCHMARK_VERSION})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list tasks with their scene size and licence")
    p.add_argument("patterns", nargs="*", help="glob patterns on task ids, e.g. 'synthetic/*'")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--survey",
        action="append",
        help="folder made by make-task whose tasks to include (repeatable)",
    )

    p = sub.add_parser("baselines", help="list the packaged baselines, one line each")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser(
        "init-submission", help="write the documented example submission into a new folder"
    )
    p.add_argument("folder", help="folder to create (must not exist or be empty)")

    p = sub.add_parser("info", help="describe one task: scene, elements, grid, folds, licence")
    p.add_argument("task")
    _scene_args(p)

    p = sub.add_parser("evaluate", help="run a submission on tasks and write result records")
    p.add_argument(
        "submission",
        help="submission folder, baseline name, 'module:Class' or 'path/file.py:Class'",
    )
    p.add_argument(
        "--tasks", nargs="+", metavar="PATTERN", help="task ids or glob patterns (default: all)"
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    p.add_argument("--config", help="TOML with [params] for a 'module:Class' submission")
    p.add_argument(
        "--name",
        type=_name_type("submission name"),
        help="submission name (default: from submission.toml or the class)",
    )
    p.add_argument(
        "--submission-version",
        dest="submission_version",
        type=_name_type("submission version"),
        help="submission version",
    )
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_SEED, default=None, help="seed given to the model (>= 0)")
    seeds.add_argument(
        "--seeds",
        type=_SEED,
        nargs="+",
        default=None,
        help="run the suite once per seed (default: 0, or 0 1 2 for a stochastic submission)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=1800.0,
        help="seconds per task fold, > 0 (default 1800)",
    )
    p.add_argument("--isolation", choices=["process", "inline"], default="process")
    p.add_argument(
        "--no-resume", action="store_true", help="recompute folds that already have results"
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="rerun folds whose record is a failure"
    )
    p.add_argument("--save-predictions", action="store_true", help="write predictions as GeoTIFF")
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="run folds here one by one (local) or as Ray tasks (needs geochem-bench[ray])",
    )
    p.add_argument("--ray-address", help="existing Ray cluster (default: start a local one)")
    p.add_argument(
        "--canary",
        action="store_true",
        help="rerun one random fold of each task with the held-out values replaced by noise "
        "and flag the record if the prediction changes (required by submit)",
    )
    p.add_argument(
        "--canary-tolerance",
        type=_tolerance,
        default=1e-5,
        help="relative change of a canary prediction put down to nondeterminism (default 1e-5)",
    )
    _realisation_args(p)
    _sandbox_args(p)
    _scene_args(p)

    p = sub.add_parser(
        "verify",
        help="rerun a submission's code in the sandbox and check its records (verified badge)",
    )
    p.add_argument("submission", help="submission folder (with submission.toml) or baseline name")
    p.add_argument("results", help="results folder holding <name>/<version>/<task>/fold-<k>.json")
    p.add_argument(
        "--sample",
        type=_int_at_least(1),
        default=5,
        help="scored folds to rerun: at least one per protocol and per seed, then spread over "
        "tasks (default 5)",
    )
    p.add_argument("--all", dest="all_folds", action="store_true", help="rerun every scored fold")
    p.add_argument(
        "--sample-seed",
        type=_SEED,
        default=None,
        help="seed of the fold sample, to repeat a verification (default: drawn at random)",
    )
    p.add_argument(
        "--tolerance",
        type=_tolerance,
        default=1e-9,
        help="largest metric difference accepted, relative (default 1e-9: deterministic CPU)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=1800.0,
        help="seconds per task fold (default 1800)",
    )
    _sandbox_args(p)
    _scene_args(p)

    p = sub.add_parser(
        "score", help="score precomputed GeoTIFF predictions <DIR>/<task id>/fold-<k>.tif"
    )
    p.add_argument("pred_dir")
    p.add_argument(
        "--name", required=True, type=_name_type("submission name"), help="submission name"
    )
    p.add_argument(
        "--submission-version",
        dest="submission_version",
        default="0",
        type=_name_type("submission version"),
    )
    p.add_argument(
        "--tasks",
        nargs="+",
        metavar="PATTERN",
        help="default: every task with a folder in PRED_DIR",
    )
    p.add_argument("--out", default=DEFAULT_OUT)
    _realisation_args(p)
    _scene_args(p)

    p = sub.add_parser(
        "export", help="write a task fold's inputs (GeoTIFF + CSV) for non-Python models"
    )
    p.add_argument("task")
    p.add_argument("--fold", type=_FOLD, default=0)
    p.add_argument("--out", required=True)
    _scene_args(p)

    p = sub.add_parser("plot", help="figure of a task fold (and a prediction) as PNG")
    p.add_argument("task")
    p.add_argument("--fold", type=_FOLD, default=0)
    p.add_argument("--prediction", help="prediction GeoTIFF on the task grid")
    p.add_argument("--element", help="element symbol (default: the first target)")
    p.add_argument("--out", help="PNG path (default: <task id with _>.png)")
    _scene_args(p)

    p = sub.add_parser(
        "demo", help="run the first baselines on the synthetic tasks: table, JSON, figure"
    )
    p.add_argument("--out", default="geochem-bench-demo")
    p.add_argument(
        "--synthetic-size",
        type=_int_at_least(*SYNTHETIC_SIZE),
        help="edge of the synthetic scene in cells, 16 to 8192 (default 256)",
    )

    p = sub.add_parser(
        "make-task",
        help="build a scene and tasks from your covariate GeoTIFFs and samples",
        description=(
            "Build a scene and its tasks from your covariate GeoTIFFs and samples. Without "
            "--elements only columns named by an element symbol (Cu, CU, cu) become tasks; "
            "the ignored columns are listed. Element values must be finite and > 0; an empty "
            "cell means not measured. A value below the detection limit written '<0.5' (a "
            "positive limit, decimal point) is kept as censored at 0.5: models train on half "
            "the limit (they also see the limit), and a prediction at or below the limit "
            "scores as exact. inf, zero, negative values (unless --negative-means-censored), "
            "'<0', '<abc', '<0,5' and '>100' are refused with their column, row and value."
        ),
    )
    p.add_argument(
        "--name",
        required=True,
        type=_name_type("scene name"),
        help="scene name, the first part of the task ids (letters, digits, . _ + -)",
    )
    p.add_argument(
        "--covariates", nargs="+", required=True, help="GeoTIFFs; the first defines the grid"
    )
    p.add_argument("--samples", help="CSV with x/y columns, or a GeoPackage/shapefile of points")
    p.add_argument(
        "--lowres-grid",
        metavar="TIF",
        help="a coarse geochemical GeoTIFF to downscale (one band per element; cells an "
        "integer multiple of the covariates'), with or without --samples",
    )
    p.add_argument(
        "--lowres-elements",
        nargs="+",
        help="elements of the lowres grid's bands (default: band descriptions or file stem)",
    )
    p.add_argument("--out", required=True, help="folder for the built scene")
    p.add_argument(
        "--elements",
        nargs="+",
        help="element columns (default: the columns named by an element symbol, e.g. Cu or CU; "
        "the other columns are listed as ignored)",
    )
    p.add_argument("--x", default="x", help="x column of a CSV")
    p.add_argument("--y", default="y", help="y column of a CSV")
    p.add_argument("--id", dest="id_column", help="sample id column (default: row number)")
    p.add_argument("--crs", help="CRS to assign to covariates without one, e.g. EPSG:28992")
    p.add_argument(
        "--samples-crs",
        help="CRS of the sample coordinates: a CSV's (default: the grid's), or one that "
        "replaces a vector file's own CRS (for a wrong .prj)",
    )
    p.add_argument("--linear", nargs="*", default=[], help="elements scored in linear space")
    p.add_argument("--unit", default="mg/kg")
    p.add_argument(
        "--scales", nargs="+", type=_int_at_least(2), default=[10], help="scale factors, >= 2"
    )
    p.add_argument("--folds", type=_int_at_least(2), default=5, help="spatial-block folds, >= 2")
    p.add_argument(
        "--block-cells", type=_int_at_least(1), default=2, help="block edge in coarse cells, >= 1"
    )
    p.add_argument(
        "--transfer-fraction",
        type=_fraction,
        help="also make transfer tasks at this fraction, in (0, 1]",
    )
    p.add_argument("--seed", type=_SEED, default=0, help="split seed (>= 0)")
    p.add_argument(
        "--negative-means-censored",
        action="store_true",
        help="read a negative value -L as 'below the detection limit L' (the USGS/GSC "
        "convention); without it negative values are refused",
    )

    p = sub.add_parser(
        "train-cnn", help="train the reference fusion CNN on a task fold; save hashed weights"
    )
    p.add_argument("task")
    p.add_argument("--fold", type=_FOLD, default=0)
    p.add_argument("--out", required=True, help="folder for <element>.pt and weights.json")
    p.add_argument(
        "--config", help="TOML with [params] for FusionCNN (default: baselines/fusion-cnn)"
    )
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--accelerator", help="Lightning accelerator: cpu (default), gpu, auto")
    p.add_argument("--devices", help="Lightning devices, e.g. 4 or 'auto'")
    p.add_argument("--strategy", help="Lightning strategy, e.g. ddp for several GPUs")
    _scene_args(p)

    p = sub.add_parser("download", help="download, verify and build real scenes")
    p.add_argument("scenes", nargs="*", help="scene names (default: every downloadable scene)")
    p.add_argument(
        "--root", help="data root (default: $GEOCHEM_BENCH_DATA or ~/.cache/geochem-bench)"
    )
    p.add_argument("--mirror", help="folder or base URL replacing the upstream hosts")
    p.add_argument(
        "--checksum",
        action="store_true",
        help="hash every built and raw file that is present against its pinned sha256",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="delete the scene's raw files and build, download them again and rebuild "
        "(the fix for a corrupt or edited scene)",
    )

    sub.add_parser("schema", help="print the JSON Schema of a result record")

    p = sub.add_parser(
        "evaluate-tiled",
        help="grid-protocol evaluation of a built scene larger than memory, tile by tile",
    )
    p.add_argument("scene", help="built scene folder (covariates.tif, valid.tif, truth.tif)")
    p.add_argument("submission", help="submission folder, 'module:Class' or 'path/file.py:Class'")
    p.add_argument(
        "--scale", type=_int_at_least(2), required=True, help="scale factor of the lowres grid"
    )
    p.add_argument("--tile", type=_int_at_least(1), default=1024, help="tile edge in fine cells")
    p.add_argument(
        "--fit-cells",
        type=_int_at_least(1),
        default=2048,
        help="edge of the central window the model fits on",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help="results folder")
    p.add_argument("--config", help="TOML with [params] for a 'module:Class' submission")
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--save-prediction", action="store_true", help="write the prediction GeoTIFF")

    p = sub.add_parser(
        "leaderboard", help="aggregate results with bootstrap intervals, rank, render, publish"
    )
    p.add_argument(
        "--source",
        default="hub",
        help="'hub' (the results dataset) or a results folder (default: hub)",
    )
    p.add_argument("--repo", help="results dataset on the Hub")
    p.add_argument(
        "--render",
        metavar="DIR",
        help="write LEADERBOARD.md, CSV, plots and the browsable page (index.html, submissions/)",
    )
    p.add_argument("--publish", action="store_true", help="upload the rendering and table")
    p.add_argument(
        "--bootstrap",
        type=_int_at_least(MIN_BOOTSTRAP),
        default=None,
        help=f"replicates, >= {MIN_BOOTSTRAP} (default 2000)",
    )
    p.add_argument("--seed", type=_SEED, default=0, help="seed of the bootstrap (>= 0)")
    p.add_argument(
        "--benchmark",
        metavar="VERSION",
        type=_benchmark_version,
        default=None,
        help="benchmark version of the board (default: the current one; 1.0 shows v1 records)",
    )
    p.add_argument(
        "--survey",
        dest="survey_board",
        metavar="SURVEY_DIR",
        help="rank the methods run on a make-task survey (its tasks, checked against the "
        "survey as built now) instead of the official suite",
    )

    p = sub.add_parser(
        "map",
        help="fit a method on every sample of a make-task survey and write the full map (COG)",
        description=(
            "Map elements of a make-task survey at full resolution: the method is "
            "cross-validated on the survey's spatial folds (records reused), fitted on every "
            "sample, and written as a Cloud-Optimized GeoTIFF per element (band 1 natural "
            "units, band 2 the predictive std in analysis space where the method gives one) "
            "with report.md, report.png and report.json."
        ),
    )
    p.add_argument("survey_dir", metavar="SURVEY_DIR", help="the folder make-task wrote")
    p.add_argument(
        "--method",
        default="auto",
        help="baseline name, submission folder or model reference; 'auto' (default) picks "
        "the candidate with the highest cross-validated skill",
    )
    p.add_argument("--elements", nargs="+", help="element columns to map (default: all)")
    p.add_argument("--out", default="map", help="output folder (default: map)")
    p.add_argument("--scale", type=_int_at_least(2), help="the survey task scale (default: first)")
    p.add_argument(
        "--results",
        help="results folder of the cross-validation (default: OUT/cv-results); records "
        "already there are reused",
    )
    p.add_argument(
        "--candidates",
        nargs="+",
        help="the methods --method auto chooses among (default: idw ordinary-kriging "
        "regression-kriging random-forest atprk fusion-cnn)",
    )
    p.add_argument("--seed", type=_SEED, default=0, help="seed of the final fit (>= 0)")
    p.add_argument(
        "--tile",
        type=_int_at_least(16),
        help="stream the map tile by tile, TILE cells a side (bounded memory; automatic "
        "above 4096 x 4096 cells); from samples only methods that can (the kriging "
        "baselines but covariable kriging, random-forest, idw)",
    )
    p.add_argument(
        "--fit-cells",
        type=_int_at_least(16),
        default=2048,
        help="a streamed map from a lowres grid fits its model on a central window this many "
        "cells a side (default 2048; the whole survey when smaller)",
    )

    p = sub.add_parser("submit", help="validate a results folder and upload it in one commit")
    p.add_argument("results", help="the --out folder of `geochem-bench evaluate`")
    p.add_argument("--repo", help="results dataset on the Hub")
    p.add_argument(
        "--no-pr",
        action="store_true",
        help="commit to main directly (maintainers); default: open a pull request",
    )
    p.add_argument("--dry-run", action="store_true", help="validate and list files, upload nothing")

    p = sub.add_parser("cite", help="print BibTeX for the tasks a results table used")
    p.add_argument("tasks", nargs="*", help="task ids or glob patterns")
    p.add_argument("--results", help="results folder: cite the tasks found there")

    p = sub.add_parser(
        "model-index", help="a submission's scores as Hub model-card metadata (YAML)"
    )
    p.add_argument("submission", help="submission name")
    p.add_argument("--version", dest="submission_version", help="submission version")
    p.add_argument("--source", default="hub", help="'hub' or a results folder (default: hub)")
    p.add_argument("--repo", help="results dataset on the Hub")
    return parser


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _memory_limit(text: str) -> int | None:
    """``75%`` of RAM, ``8GiB``/``512MiB``, or ``none``."""
    from geochem_bench.evaluation.harness import default_memory_limit

    value = text.strip().lower()
    if value in {"none", "off", "0"}:
        return None
    units = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
    try:
        if value.endswith("%"):
            total = default_memory_limit()
            fraction = float(value[:-1]) / 100
            if total is None or not 0 < fraction <= 1:
                raise ValueError
            return int(total / 0.75 * fraction)
        for unit, size in units.items():
            if value.endswith(unit):
                amount = float(value[: -len(unit)]) * size
                if amount < 64 * 2**20:
                    raise ValueError
                return int(amount)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a memory limit; use a share of RAM (75%), a size of at least 64MiB "
        "(512MiB, 8GiB) or none"
    )


def _sandbox_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--memory-limit",
        type=_memory_limit,
        default="75%",
        help="address-space limit of the model process: 75%% of RAM (default), 8GiB, none",
    )
    p.add_argument(
        "--sandbox",
        choices=["auto", "require", "off"],
        default="auto",
        help="Landlock sandbox of the model: use where available (auto), fail without it "
        "(require), or off for debugging; the record says which was in force",
    )
    p.add_argument(
        "--protect",
        action="append",
        default=[],
        metavar="DIR",
        help="another folder the model must not read (e.g. a raw-data mirror); repeatable",
    )
    p.add_argument(
        "--allow-read",
        action="append",
        default=[],
        metavar="DIR",
        help="another folder the model may read (e.g. pretrained weights); repeatable. By "
        "default it reads only system folders, the Python installation and its own folder",
    )


def _sandbox_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "memory_limit_bytes": args.memory_limit,
        "sandbox": args.sandbox != "off",
        "require_sandbox": args.sandbox == "require",
        "protected_paths": tuple(Path(p) for p in args.protect),
        "readable_paths": tuple(Path(p) for p in args.allow_read),
        "timeout_s": args.timeout,
    }


def _scene_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--synthetic-size",
        type=_int_at_least(*SYNTHETIC_SIZE),
        help="edge of the synthetic scene in cells, 16 to 8192 (default 256)",
    )
    p.add_argument(
        "--root",
        help="data root for real scenes (default: $GEOCHEM_BENCH_DATA or ~/.cache/geochem-bench)",
    )
    p.add_argument("--download", action="store_true", help="download and build missing real scenes")
    p.add_argument(
        "--mirror",
        help="folder or base URL replacing the upstream hosts (or $GEOCHEM_BENCH_MIRROR)",
    )
    p.add_argument(
        "--survey",
        action="append",
        help="folder made by make-task whose tasks to include (repeatable)",
    )


def _realisation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--realisations",
        choices=["test", "dev"],
        default="test",
        help="which realisations of the simulated scenes to run on: 'test' (the official "
        "tasks) or 'dev' (the public dev realisations, for tuning: task ids end in /dev and "
        "the board refuses their records; tasks of scenes that are not simulated are left out)",
    )


def _chosen_tasks(tasks: list[Any], which: str) -> list[Any]:
    """``tasks``, or with ``--realisations dev`` their copies on the dev realisations."""
    if which != "dev":
        return tasks
    from geochem_bench.scenes.registry import dev_task, scenes

    entries = scenes()
    simulated = [t for t in tasks if entries[t.scene].dev_realisations]
    left_out = sorted({t.scene for t in tasks} - {t.scene for t in simulated})
    if not simulated:
        raise InvalidInputError(
            f"none of the chosen tasks has dev realisations (scenes {', '.join(left_out)} are "
            "not simulated); pick tasks of a simulated scene, e.g. --tasks 'synthetic/*'"
        )
    if left_out:
        print(
            f"--realisations dev: leaving out the tasks of {', '.join(left_out)} (one fixed "
            "realisation, no dev set)",
            file=sys.stderr,
        )
    return [dev_task(t) for t in simulated]


def _scene_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from geochem_bench.scenes.registry import scenes

    options: dict[str, dict[str, Any]] = {}
    for name, entry in scenes().items():
        if entry.needs_download:
            options[name] = {
                "root": getattr(args, "root", None),
                "download": getattr(args, "download", False),
                "mirror": getattr(args, "mirror", None),
            }
        elif name == "synthetic" and getattr(args, "synthetic_size", None):
            options[name] = {"size": args.synthetic_size}
    return options


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    handler = {
        "list": _cmd_list,
        "baselines": _cmd_baselines,
        "init-submission": _cmd_init_submission,
        "info": _cmd_info,
        "evaluate": _cmd_evaluate,
        "verify": _cmd_verify,
        "score": _cmd_score,
        "export": _cmd_export,
        "plot": _cmd_plot,
        "demo": _cmd_demo,
        "schema": _cmd_schema,
        "download": _cmd_download,
        "make-task": _cmd_make_task,
        "train-cnn": _cmd_train_cnn,
        "evaluate-tiled": _cmd_evaluate_tiled,
        "leaderboard": _cmd_leaderboard,
        "map": _cmd_map,
        "submit": _cmd_submit,
        "cite": _cmd_cite,
        "model-index": _cmd_model_index,
    }[args.command]
    # SIGTERM (a scheduler, `timeout`) unwinds like Ctrl-C: the model is killed, its private
    # folder removed, and what was written stays complete
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for folder in getattr(args, "survey", None) or []:
            from geochem_bench.scenes.survey import register_survey

            register_survey(folder)
        return handler(args)
    except KeyboardInterrupt:
        # Ctrl-C: one line, no traceback. Records are written atomically one fold at a time
        # (and temporary files are removed as the interrupt unwinds), so what was written is
        # complete and a rerun resumes from it.
        out = getattr(args, "out", None)
        kept = f"partial results kept in {out}" if out else "no file was left half-written"
        print(f"geochem-bench {args.command}: interrupted; {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    # Errors a user can cause derive from GeochemBenchError; OSError (disk, permissions) and
    # ImportError (an optional extra not installed) are reported the same way. Anything else is
    # a bug and keeps its traceback.
    except BrokenPipeError:  # the reader of our output went away (| head): not an error
        sys.stderr.close()
        return 0
    except (GeochemBenchError, OSError, ImportError) as exc:
        print(f"geochem-bench {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _cmd_baselines(args: argparse.Namespace) -> int:
    from geochem_bench import resources
    from geochem_bench.evaluation.submission import load_submission

    rows = []
    for name, folder in resources.baselines().items():
        submission = load_submission(folder)
        rows.append(
            {
                "name": name,
                "version": submission.version,
                "model": submission.model,
                "summary": _card_summary(folder / "README.md"),
                "folder": str(folder),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    import shutil
    import textwrap

    width = max(len(r["name"]) for r in rows)
    room = max(shutil.get_terminal_size((100, 24)).columns - width - 3, 40)
    for row in rows:
        summary = textwrap.shorten(row["summary"], room, placeholder=" ...")
        print(f"{row['name']:<{width}}  {summary}")
    print(f"\nrun one: geochem-bench evaluate {rows[0]['name']} --tasks 'synthetic/*'")
    return 0


def _card_summary(card: Path) -> str:
    """The first sentence of a model card's first paragraph (after the title)."""
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    if text.startswith("---"):  # YAML front matter
        text = text.split("---", 2)[-1]
    for block in text.split("\n\n"):
        block = " ".join(block.split())
        if block and not block.startswith(("#", "|", "```", "-", "<")):
            return block.split(". ")[0].rstrip(".") + "."
    return ""


def _cmd_init_submission(args: argparse.Namespace) -> int:
    import re
    import shutil

    from geochem_bench import resources
    from geochem_bench.evaluation.records import safe_name

    target = Path(args.folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInputError(f"{target} exists and is not an empty folder; choose a new one")
    shutil.copytree(
        resources.example_submission_dir(),
        target,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # Two submissions made from the example must not share a name (their records would mix).
    config = target / resources.SUBMISSION_CONFIG
    text = config.read_text(encoding="utf-8")
    name = safe_name(target.resolve().name)
    config.write_text(re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', text, count=1))
    print(f"wrote {target}/ (model.py, submission.toml); try it:")
    print(f"  geochem-bench evaluate {target} --tasks 'synthetic/*'")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from geochem_bench.scenes.registry import list_tasks, scenes

    entries = scenes()
    tasks = list_tasks(args.patterns or None)
    rows = [
        {
            "task": t.id,
            "protocol": t.protocol,
            "scale": t.scale,
            "folds": t.n_folds,
            "spatial_folds": t.n_spatial_folds,
            "realisations": list(t.realisations),
            "dev_realisations": list(entries[t.scene].dev_realisations),
            "elements": ",".join(t.elements),
            "size": entries[t.scene].size,
            "licence": entries[t.scene].licence,
            "download": entries[t.scene].needs_download,
        }
        for t in tasks
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    used = sorted({t.scene for t in tasks})
    scene_table = Table(title="scenes")
    for column in ("scene", "size", "licence", "data", "realisations"):
        scene_table.add_column(column)
    for name in used:
        entry = entries[name]
        scene_table.add_row(
            name,
            entry.size,
            entry.licence,
            "download" if entry.needs_download else "built in",
            _realisations_text(entry.test_realisations, entry.dev_realisations),
        )
    console.print(scene_table)
    table = Table(
        title=f"{len(rows)} tasks",
        caption="folds = realisations x spatial folds; tune on the dev realisations "
        "(evaluate --realisations dev), never on the test ones (docs/realisations.md)",
    )
    for column in ("task", "protocol", "scale", "folds", "realisations", "elements"):
        table.add_column(column, no_wrap=column == "task")
    for r in rows:
        realisations = _number_ranges(r["realisations"]) or "fixed"
        table.add_row(
            str(r["task"]),
            str(r["protocol"]),
            str(r["scale"]),
            str(r["folds"]),
            realisations,
            str(r["elements"]),
        )
    console.print(table)
    return 0


def _realisations_text(test: tuple[int, ...], dev: tuple[int, ...]) -> str:
    """``test 0-2, dev 100-109``, or ``fixed`` for a scene that is not simulated."""
    if not test:
        return "fixed"
    return f"test {_number_ranges(test)}, dev {_number_ranges(dev) or 'none'}"


def _number_ranges(numbers: Any) -> str:
    """``0-2,5`` for (0, 1, 2, 5); empty for none."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _cmd_info(args: argparse.Namespace) -> int:
    import numpy as np

    from geochem_bench.scenes.registry import get_task, load_fold_scene
    from geochem_bench.tasks.protocols import task_split

    task = get_task(args.task)
    # what the first fold runs on: every realisation of a scene shares its grid and bands
    scene = load_fold_scene(task, 0, **_scene_options(args).get(task.scene, {}))
    coarse = scene.grid.coarsen(task.scale)
    folds = f"{task.n_folds} fold(s)"
    if task.realisations:
        kind = "dev realisations (tuning)" if task.dev else "test realisations"
        folds += (
            f" = {len(task.realisations)} {kind} {_number_ranges(task.realisations)} x "
            f"{task.n_spatial_folds} spatial fold(s)"
        )
    lines = [
        f"task        {task.id}  (version {task.version})",
        f"scene       {scene.name} {scene.version}: {scene.description}",
        f"protocol    {task.protocol}, scale x{task.scale}, {folds}",
        f"grid        {scene.grid.height}x{scene.grid.width} cells of "
        f"{scene.grid.res[0]:g} map units, "
        f"CRS {scene.grid.crs}, valid cells {int(scene.valid.sum())}",
        f"lowres      {coarse.height}x{coarse.width} cells of {coarse.res[0]:g} map units",
        f"covariates  {', '.join(scene.band_names)}",
        "elements    "
        + ", ".join(
            f"{e.symbol} [{e.unit}, {e.analysis_space}]"
            for e in (scene.element(s) for s in task.elements)
        ),
    ]
    if task.protocol != "grid":
        split = task_split(scene, task)
        counts = np.bincount(split.folds[split.folds >= 0], minlength=task.n_spatial_folds)
        how = (
            f"spatial blocks of {split.params['block_size']:g} map units"
            if split.method == "spatial-block"
            else f"{split.method} split: {split.params.get('source', '')}"
        )
        where = "" if scene.realisation is None else f" (realisation {scene.realisation})"
        lines.append(
            f"samples     {len(split.folds)}{where}; held out per spatial fold: "
            f"{counts.tolist()} ({how})"
        )
        if task.protocol == "transfer":
            known = ", ".join(task.covariables) if task.covariables else "the other elements"
            lines.append(
                f"transfer    target known at {task.target_fraction:.0%} of training sites; "
                f"{known} at every site"
            )
    lines += [f"licence     {scene.licence}", f"cite        {scene.citation}"]
    print("\n".join(lines))
    return 0


def _run_options(args: argparse.Namespace, **overrides: Any) -> Any:
    from geochem_bench.evaluation.harness import RunOptions

    return RunOptions(out_dir=Path(args.out), scene_options=_scene_options(args), **overrides)


def _print_outcome(records: list[Any], out: str) -> int:
    from geochem_bench.board.summary import render_table

    render_table(records)
    failed = [r for r in records if r.status == "failed"]
    for r in failed:
        assert r.failure is not None
        print(
            f"FAILED {r.task.id} fold {r.fold}: [{r.failure.kind}] {r.failure.message}",
            file=sys.stderr,
        )
    print(f"{len(records) - len(failed)} of {len(records)} task folds scored; records in {out}")
    return 1 if failed else 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from geochem_bench.evaluation.executors import evaluate
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.scenes.registry import list_tasks

    submission = load_submission(
        args.submission, config=args.config, name=args.name, version=args.submission_version
    )
    _check_submission_names(submission)
    tasks = _entered_tasks(submission, _chosen_tasks(list_tasks(args.tasks), args.realisations))
    seeds = args.seeds or ([args.seed] if args.seed is not None else None)
    if seeds is not None and len(set(seeds)) != len(seeds):
        raise InvalidInputError(f"--seeds lists a seed twice: {seeds}")
    options = _run_options(
        args,
        seed=0 if seeds is None else seeds[0],
        seeds=None if seeds is None else tuple(seeds),
        isolation=args.isolation,
        resume=not args.no_resume,
        retry_failed=args.retry_failed,
        save_predictions=args.save_predictions,
        executor=args.executor,
        ray_address=args.ray_address,
        canary=args.canary,
        canary_tolerance=args.canary_tolerance,
        **_sandbox_options(args),
    )
    records = evaluate(submission, tasks, options)
    leaks = [r for r in records if r.canary is not None and r.canary.changed]
    for r in leaks:
        print(f"LEAK? {r.task.id}: {r.canary.message}", file=sys.stderr)  # type: ignore[union-attr]
    return _print_outcome(records, args.out) or (1 if leaks else 0)


def _entered_tasks(submission: Any, tasks: list[Any]) -> list[Any]:
    """The tasks of the protocols the submission enters; says which others it leaves out."""
    entered = [t for t in tasks if t.protocol in submission.protocols]
    left = sorted({t.protocol for t in tasks} - set(submission.protocols))
    if left:
        print(
            f"{submission.name} enters only {', '.join(submission.protocols)} tasks "
            f"(protocols in its submission.toml): {len(tasks) - len(entered)} {'/'.join(left)} "
            "task(s) left out",
            file=sys.stderr,
        )
    if not entered:
        raise InvalidInputError(
            f"none of the chosen tasks is of a protocol {submission.name} enters "
            f"({', '.join(submission.protocols)}): choose such tasks with --tasks"
        )
    return entered


def _cmd_verify(args: argparse.Namespace) -> int:
    from geochem_bench.evaluation.rerun import verify_submission
    from geochem_bench.evaluation.submission import load_submission

    submission = load_submission(args.submission)
    args.out = args.results  # scene options only; reruns are scored in a temporary folder
    options = _run_options(args, progress=False, **_sandbox_options(args))
    report = verify_submission(
        submission,
        args.results,
        options,
        sample=args.sample,
        all_folds=args.all_folds,
        tolerance=args.tolerance,
        sample_seed=args.sample_seed,
    )
    for fold in report.folds:
        mark = "ok  " if fold.match else "FAIL"
        detail = fold.reason or f"max relative difference {fold.max_abs_diff:.2g}"
        seed = f" seed {fold.seed}" if fold.seed else ""
        print(f"{mark} {fold.task} fold {fold.fold}{seed}: {detail}")
    if report.seed_dependent:
        print("FAIL another seed changed the metrics of a submission declared deterministic")
    verdict = "verified" if report.passed else "NOT verified"
    print(f"{submission.name} {submission.version}: {verdict} on {len(report.folds)} fold(s)")
    return 0 if report.passed else 1


def _check_submission_names(submission: Any) -> None:
    """Names from submission.toml or a class become result folders: check them as names."""
    from geochem_bench.core.names import check_name

    check_name(submission.name, "submission name (--name or name in submission.toml)")
    check_name(
        submission.version, "submission version (--submission-version or version in the toml)"
    )


def _cmd_score(args: argparse.Namespace) -> int:
    from geochem_bench.evaluation.harness import score_predictions
    from geochem_bench.scenes.registry import dev_task, list_tasks, scenes

    pred_dir = Path(args.pred_dir)
    if not pred_dir.is_dir():
        raise FileNotFoundError(f"prediction folder {pred_dir} does not exist")
    if args.tasks:
        tasks = _chosen_tasks(list_tasks(args.tasks), args.realisations)
    else:
        candidates = list_tasks()
        if args.realisations == "dev":  # the dev copies of the simulated scenes' tasks
            entries = scenes()
            candidates = [dev_task(t) for t in candidates if entries[t.scene].dev_realisations]
        tasks = [t for t in candidates if (pred_dir / t.id).is_dir()]
        if not tasks:
            raise InvalidInputError(
                f"no task folder found in {pred_dir}; expected <task id>/fold-<k>.tif, "
                "e.g. synthetic/all/s8/grid/fold-0.tif"
            )
    records = score_predictions(
        pred_dir, tasks, _run_options(args), name=args.name, version=args.submission_version
    )
    return _print_outcome(records, args.out)


def _cmd_export(args: argparse.Namespace) -> int:
    from geochem_bench.scenes.registry import get_task, load_fold_scene
    from geochem_bench.tasks.export import export_fold

    task = get_task(args.task)
    scene = load_fold_scene(task, args.fold, **_scene_options(args).get(task.scene, {}))
    written = export_fold(scene, task, args.fold, Path(args.out))
    print("\n".join(str(p) for p in written))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from geochem_bench.scenes.registry import get_task, load_fold_scene
    from geochem_bench.tasks.plotting import plot_fold
    from geochem_bench.tasks.protocols import build_fold

    task = get_task(args.task)
    scene = load_fold_scene(task, args.fold, **_scene_options(args).get(task.scene, {}))
    inputs, held_out = build_fold(scene, task, args.fold)
    predictions = {}
    if args.prediction:
        from geochem_bench.data.geotiff import read_prediction

        predictions[Path(args.prediction).stem] = read_prediction(
            args.prediction, inputs.grid, inputs.elements
        ).mean
    out = Path(args.out or task.id.replace("/", "_") + f"_fold{args.fold}.png")
    plot_fold(inputs, held_out, predictions, element=args.element, path=out)
    print(out)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from geochem_bench.cli.demo import run_demo

    records, figure, _ = run_demo(args.out, size=args.synthetic_size)
    failed = sum(r.status == "failed" for r in records)
    print(
        f"{len(records)} results in {Path(args.out) / 'results'}, "
        f"table in {Path(args.out) / 'results.txt'}, figure {figure}"
    )
    return 1 if failed else 0


def _cmd_make_task(args: argparse.Namespace) -> int:
    from geochem_bench.scenes.survey import make_survey

    scene, tasks = make_survey(
        args.name,
        args.covariates,
        args.samples,
        args.out,
        elements=args.elements,
        x=args.x,
        y=args.y,
        id_column=args.id_column,
        crs=args.crs,
        samples_crs=args.samples_crs,
        linear=tuple(args.linear),
        unit=args.unit,
        scales=tuple(args.scales),
        n_folds=args.folds,
        block_cells=args.block_cells,
        transfer_fraction=args.transfer_fraction,
        seed=args.seed,
        negative_means_censored=args.negative_means_censored,
        lowres_grid=args.lowres_grid,
        lowres_elements=args.lowres_elements,
    )
    print(f"{scene.name}: {scene.description}; written to {args.out}")
    if scene.points is not None:
        counts = scene.points.censored.sum(axis=0)
        print(
            "censored (below detection, kept at their limit) values per element: "
            + ", ".join(f"{e} {int(n)}" for e, n in zip(scene.points.elements, counts))
        )
    ignored = scene.options.get("ignored_columns")
    if isinstance(ignored, list) and ignored:
        print(
            f"elements: {', '.join(e.symbol for e in scene.elements)}; ignored columns (not "
            f"element symbols, or not named in --elements): {', '.join(str(c) for c in ignored)}"
        )
    for task in tasks:
        print(f"  {task.id}")
    if args.lowres_grid:
        print(
            f"lowres grid: Wald tasks (downscaling the map one scale up) in {scene.name}-wald/*; "
            f"map it with: geochem-bench map {args.out} --method auto"
        )
    if tasks:
        print(
            "run them with: geochem-bench evaluate SUBMISSION "
            f"--survey {args.out} --tasks '{scene.name}/*'"
        )
    return 0


def _cmd_train_cnn(args: argparse.Namespace) -> int:
    import json

    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.models.fusion_cnn import FusionCNN
    from geochem_bench.scenes.registry import get_task, load_fold_scene
    from geochem_bench.tasks.protocols import build_fold

    params = (
        load_submission("geochem_bench.models.fusion_cnn:FusionCNN", config=args.config).params
        if args.config
        else load_submission("fusion-cnn").params
    )
    task = get_task(args.task)
    scene = load_fold_scene(task, args.fold, **_scene_options(args).get(task.scene, {}))
    inputs, _ = build_fold(scene, task, args.fold, seed=args.seed)
    for flag in ("accelerator", "devices", "strategy"):
        value = getattr(args, flag)
        if value is not None:
            params[flag] = int(value) if flag == "devices" and value.isdigit() else value
    model = FusionCNN(**params)
    model.fit(inputs)
    print(json.dumps(model.save(args.out, inputs), indent=2))
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from geochem_bench.data.sources import default_root
    from geochem_bench.scenes import REAL_SCENES
    from geochem_bench.scenes.registry import scenes

    by_name = {cls.name: cls for cls in REAL_SCENES}
    names = args.scenes or [n for n, e in scenes().items() if e.needs_download]
    for name in names:
        if name not in by_name:
            raise UnknownNameError(
                f"{name!r} is not a downloadable scene; choose from {sorted(by_name)}"
            )
        cls = by_name[name]
        scene = cls.load(
            root=args.root,
            download=True,
            checksum=args.checksum,
            mirror=args.mirror,
            force=args.force,
        )
        # a simulated scene: its other test realisations too, so that evaluate builds none
        for realisation in cls.test_realisations[1:]:
            cls.load(
                root=args.root,
                download=True,
                checksum=args.checksum,
                mirror=args.mirror,
                realisation=realisation,
            )
        checked = ""
        if args.checksum:  # load hashed every present raw file; say how many there were
            raw_dir = Path(args.root or default_root()) / "raw"
            missing = [f.path for f in cls.files if not (raw_dir / f.path).is_file()]
            checked = (
                f"; sha256 verified: every built file, {len(cls.files) - len(missing)} raw file(s)"
            )
            if missing:
                checked += f" ({len(missing)} raw file(s) not present, not checked)"
        where = cls.scene_dir(args.root)
        if cls.test_realisations:
            where = where.parent / f"realisation-{{{','.join(map(str, cls.test_realisations))}}}"
        print(
            f"{name}: {scene.grid.height}x{scene.grid.width} cells, {len(scene.band_names)} bands, "
            f"built in {where}{checked}"
        )
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from geochem_bench.evaluation.records import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _results_folder(source: str, repo: str | None) -> Path:
    if source != "hub":
        return Path(source)
    from geochem_bench.board.hub import DEFAULT_REPO, download_results

    return download_results(repo or DEFAULT_REPO)


def _cmd_evaluate_tiled(args: argparse.Namespace) -> int:
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.evaluation.tiled import DiskScene, tiled_record

    scene = DiskScene.open(args.scene)
    submission = load_submission(args.submission, config=args.config)
    record, path = tiled_record(
        scene,
        submission,
        args.scale,
        Path(args.out),
        tile=args.tile,
        fit_cells=args.fit_cells,
        seed=args.seed,
        save_prediction=args.save_prediction,
    )
    assert record.metrics is not None
    for symbol, row in record.metrics.items():
        shown = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if v is not None and k != "n")
        print(f"{symbol}: {shown}")
    print(f"record: {path}")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from geochem_bench import BENCHMARK_VERSION
    from geochem_bench.board.aggregation import N_BOOTSTRAP
    from geochem_bench.board.folder import write_board
    from geochem_bench.board.leaderboard import (
        build_leaderboard,
        entered_protocols,
        load_board_inputs,
    )
    from geochem_bench.board.rendering import render_terminal

    version = args.benchmark or BENCHMARK_VERSION
    folder = _results_folder(args.source, args.repo)
    pins = None
    if args.survey_board:
        from geochem_bench.board.pins import survey_pins

        if args.benchmark or args.publish:
            raise InvalidInputError(
                "--survey ranks a survey's records of the current benchmark; it takes no "
                "--benchmark and is not published to the official board"
            )
        pins = survey_pins(args.survey_board)
    records, reports, skipped = load_board_inputs(folder, version, survey_pins=pins)
    board = build_leaderboard(
        records,
        skipped,
        n_boot=args.bootstrap or N_BOOTSTRAP,
        seed=args.seed,
        suite_task_ids=list(pins.tasks) if pins is not None else None,
        reports=reports,
        benchmark_version=version,
        pins=pins,
        entered=entered_protocols(folder),
    )
    print(render_terminal(board), end="")
    if args.render:
        from geochem_bench.board.cards import load_model_cards

        if args.source == "hub":
            from geochem_bench.board.hub import DEFAULT_REPO, results_url

            records_at = results_url(args.repo or DEFAULT_REPO)
        else:  # relative, so the folder and its results move together
            records_at = Path(os.path.relpath(folder, args.render)).as_posix()
        for path in write_board(board, args.render, load_model_cards(folder), records_at):
            print(f"wrote {path}")
    if args.publish:
        if not args.render:
            raise InvalidInputError("--publish uploads the rendered files: add --render DIR")
        from geochem_bench.board.hub import DEFAULT_REPO, publish_board

        url = publish_board(args.render, records, args.repo or DEFAULT_REPO)
        print(f"published: {url}")
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    from geochem_bench.mapping import make_map
    from geochem_bench.mapping.selection import DEFAULT_CANDIDATES

    maps = make_map(
        args.survey_dir,
        args.method,
        args.elements,
        args.out,
        scale=args.scale,
        results=args.results,
        candidates=tuple(args.candidates or DEFAULT_CANDIDATES),
        seed=args.seed,
        tile=args.tile,
        fit_cells=args.fit_cells,
    )
    for m in maps:
        score = m.score
        accuracy = f"cross-validated skill {score.skill.format()}" if score else "not scored"
        print(f"{m.element}: {m.method} {m.version}, {accuracy}; {m.choice.reason}")
        print(f"  wrote {m.path}")
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from geochem_bench.board.hub import DEFAULT_REPO, prepare_submission, submit

    bundle = prepare_submission(args.results)
    repo = args.repo or DEFAULT_REPO
    print(
        f"{bundle.card.name} {bundle.card.version}: {len(bundle.records)} records, "
        f"{len(bundle.files)} files -> {repo}:{bundle.namespace}/"
    )
    if args.dry_run:
        for path_in_repo, _ in bundle.files:
            print(f"  {path_in_repo}")
        return 0
    url = submit(bundle, repo, create_pr=not args.no_pr)
    print(f"submitted: {url}")
    return 0


def _print_refused(skipped: list[Any]) -> None:
    # Refused files are named on stderr: stdout stays the clean BibTeX / YAML being asked for.
    if skipped:
        print(f"{len(skipped)} file(s) refused:", file=sys.stderr)
        for item in skipped:
            print(f"  {item.path}: {item.reason}", file=sys.stderr)


def _cmd_cite(args: argparse.Namespace) -> int:
    from geochem_bench.board.citations import bibtex, citation_keys
    from geochem_bench.scenes.registry import list_tasks

    pairs: list[tuple[str, str]] = []
    if args.results:
        from geochem_bench.board.leaderboard import collect_records

        found, skipped = collect_records(args.results)
        _print_refused(skipped)
        pairs = sorted({(r.task.scene, r.task.protocol) for _, r in found})
        if not pairs:
            raise InvalidInputError(f"no valid result records under {args.results}")
    if args.tasks or not args.results:
        pairs += [(t.scene, t.protocol) for t in list_tasks(args.tasks or None)]
    print(bibtex(citation_keys(pairs)), end="")
    return 0


def _cmd_model_index(args: argparse.Namespace) -> int:
    from geochem_bench.board.leaderboard import load_leaderboard
    from geochem_bench.board.model_index import model_index, model_index_yaml

    board = load_leaderboard(_results_folder(args.source, args.repo))
    _print_refused(board.skipped)
    print(model_index_yaml(model_index(board, args.submission, args.submission_version)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
