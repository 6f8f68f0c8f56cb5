from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from geochem_bench.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", *args], capture_output=True, text=True, cwd=ROOT, check=True
    )


def test_help_and_list_do_not_import_torch():
    code = (
        "import sys\n"
        "from geochem_bench.cli.main import main\n"
        "for argv in (['list'], ['list', '--json']):\n"
        "    main(argv)\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('torch', 'torchgeo', 'rasterio', 'matplotlib', 'sklearn')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = run(code).stdout
    assert "HEAVY []" in out
    assert "synthetic/all/s8/grid" in out


def test_list_json(capsys):
    assert main(["list", "--json", "synthetic/*/s16/*"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["task"] for r in rows} == {
        "synthetic/all/s16/grid",
        "synthetic/cu/s16/points",
        "synthetic/cu/s16/transfer",
    }
    assert all(r["licence"] == "CC0-1.0" for r in rows)


def test_info(capsys):
    assert main(["info", "synthetic/cu/s16/transfer"]) == 0
    out = capsys.readouterr().out
    assert "EPSG:32633" in out and "held out per spatial fold" in out and "25%" in out
    assert "15 fold(s) = 3 test realisations 0-2 x 5 spatial fold(s)" in out


def test_unknown_task_is_a_clean_error(capsys):
    assert main(["info", "nowhere/x/s2/grid"]) == 2
    assert "geochem-bench list" in capsys.readouterr().err


def test_evaluate_and_plot(tmp_path, capsys):
    out = tmp_path / "res"
    status = main(
        [
            "evaluate",
            str(ROOT / "baselines" / "bilinear"),
            "--tasks",
            "synthetic/all/s16/grid",
            "--out",
            str(out),
            "--save-predictions",
        ]
    )
    assert status == 0
    tif = out / "bilinear" / "1.0.0" / "synthetic" / "all" / "s16" / "grid" / "fold-0.tif"
    assert tif.is_file()
    png = tmp_path / "fig.png"
    assert (
        main(
            [
                "plot",
                "synthetic/all/s16/grid",
                "--prediction",
                str(tif),
                "--element",
                "Zn",
                "--out",
                str(png),
            ]
        )
        == 0
    )
    assert png.stat().st_size > 10_000


def test_evaluate_runs_a_grid_only_baseline_only_on_grid_tasks(tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["evaluate", "atpk", "--out", str(out), "--tasks", "synthetic/*/s16/*"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "atpk enters only grid tasks" in err and "points/transfer task(s) left out" in err
    runs = sorted(p.relative_to(out).as_posix() for p in out.rglob("fold-*.json"))
    assert runs and all("/grid/" in r for r in runs)
    assert main(["evaluate", "atpk", "--out", str(out), "--tasks", "synthetic/cu/s16/points"]) == 2
    assert "none of the chosen tasks is of a protocol atpk enters" in capsys.readouterr().err


def test_evaluate_exit_status_reports_failures(tmp_path):
    broken = Path(__file__).with_name("broken_models.py")
    assert (
        main(
            [
                "evaluate",
                f"{broken}:Raises",
                "--tasks",
                "synthetic/all/s16/grid",
                "--out",
                str(tmp_path),
            ]
        )
        == 1
    )


def test_export_then_score(tmp_path, capsys):
    exported = tmp_path / "inputs"
    assert main(["export", "synthetic/cu/s16/points", "--fold", "2", "--out", str(exported)]) == 0
    meta = json.loads((exported / "task.json").read_text())
    assert meta["fold"] == 2 and meta["grid"]["crs"] == "EPSG:32633"
    header = (exported / "points.csv").read_text().splitlines()[0]
    assert header == "id,x,y,Cu,Zn,Pb,Ni,As,Fe"
    # an "external" model: a constant map written on the grid of covariates.tif
    import numpy as np
    import rasterio

    with rasterio.open(exported / "covariates.tif") as src:
        profile = src.profile
    profile.update(count=1, dtype="float32")
    target = tmp_path / "preds" / "synthetic" / "cu" / "s16" / "points" / "fold-2.tif"
    target.parent.mkdir(parents=True)
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(np.full((1, profile["height"], profile["width"]), 30.0, np.float32))
    assert (
        main(
            ["score", str(tmp_path / "preds"), "--name", "constant", "--out", str(tmp_path / "res")]
        )
        == 1
    )
    record = json.loads(
        (
            tmp_path
            / "res"
            / "constant"
            / "0"
            / "synthetic"
            / "cu"
            / "s16"
            / "points"
            / "fold-2.json"
        ).read_text()
    )
    assert record["status"] == "ok" and record["metrics"]["Cu"]["n"] > 0


def test_demo(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "geochem_bench.cli.main",
            "demo",
            "--out",
            str(tmp_path),
            "--synthetic-size",
            "128",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "bicubic" in proc.stdout and "synthetic/all/s8/grid" in proc.stdout
    records = list((tmp_path / "results").rglob("fold-*.json"))
    assert len(records) == 4 * 3 * 13  # 4 baselines, 3 realisations, 13 folds each
    assert (tmp_path / "demo.png").stat().st_size > 50_000
    assert "RMSE" in (tmp_path / "results.txt").read_text()


# --- hostile or mistaken input --------------------------------------------------------------


def test_ctrl_c_stops_with_one_line_exit_130_and_no_temp_file(tmp_path):
    """SIGINT to a running evaluate: one line on stderr, status 130, complete records only."""
    import os
    import signal
    import time

    out = tmp_path / "res"
    private_parent = tmp_path / "tmp"  # where the model's private folders go
    private_parent.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TMPDIR": str(private_parent),
    }
    argv = [sys.executable, "-m", "geochem_bench.cli.main", "evaluate"]
    argv += ["tests.broken_models:SlowerBicubic", "--tasks", "synthetic/cu/s16/points"]
    argv += ["--out", str(out)]
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell without job control starts background jobs with SIGINT ignored, and Python
        # then never raises KeyboardInterrupt: the CLI run would finish with status 0 (it did,
        # with the suite started as `bash -c '.ci/run' &`). Ctrl-C reaches a terminal's
        # foreground process with the default disposition: give the child that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list(out.rglob("fold-*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"geochem-bench evaluate: interrupted; partial results kept in {out}"
    )
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written and not [p for p in written if p.name.startswith(".")]  # no temp file
    for path in written:
        if path.suffix == ".json":
            json.loads(path.read_text())  # complete, parseable
    # the model process was killed and its private folder removed. SIGKILL is asynchronous:
    # a killed process can stay visible for a moment after the CLI has exited, so allow a few
    # seconds (a process or folder that is really left behind stays, and fails).
    deadline = time.monotonic() + 10
    while True:
        leftovers = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True)
        left = list(private_parent.iterdir())
        if (leftovers.stdout == "" and left == []) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == []
    assert leftovers.stdout == ""


def test_ctrl_c_in_any_command_is_one_line(monkeypatch, capsys):
    cli = sys.modules["geochem_bench.cli.main"]

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_list", interrupted)
    assert main(["list"]) == 130
    assert capsys.readouterr().err == (
        "geochem-bench list: interrupted; no file was left half-written\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["evaluate", "bicubic", "--timeout", "0"],
            "argument --timeout: must be a finite number of seconds > 0, got 0",
        ),
        (
            ["evaluate", "bicubic", "--timeout", "nan"],
            "argument --timeout: must be a finite number of seconds > 0, got nan",
        ),
        (["evaluate", "bicubic", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
        (
            ["evaluate", "bicubic", "--seed", "1.5"],
            "argument --seed: expected a whole number, got '1.5'",
        ),
        (
            ["evaluate", "bicubic", "--seed", "1", "--seeds", "2"],
            "argument --seeds: not allowed with argument --seed",
        ),
        (["evaluate", "bicubic", "--seeds", "-2"], "argument --seeds: must be >= 0, got -2"),
        (["leaderboard", "--benchmark", "../x"], "benchmark version must look like 2.0"),
        (
            ["evaluate", "bicubic", "--synthetic-size", "8"],
            "argument --synthetic-size: must be between 16 and 8192, got 8",
        ),
        (
            ["evaluate", "bicubic", "--name", "../x"],
            "argument --name: submission name '../x' contains a path separator or '..'",
        ),
        (
            ["evaluate", "bicubic", "--submission-version", "1/2"],
            "argument --submission-version: submission version '1/2' contains a path separator",
        ),
        (
            ["score", "p", "--name", "a b"],
            "argument --name: submission name 'a b' may only use letters, digits and . _ + -",
        ),
        (["leaderboard", "--bootstrap", "10"], "argument --bootstrap: must be >= 100, got 10"),
        (
            ["demo", "--synthetic-size", "100000"],
            "argument --synthetic-size: must be between 16 and 8192, got 100000",
        ),
        (
            ["export", "synthetic/cu/s16/points", "--fold", "-1", "--out", "x"],
            "argument --fold: must be >= 0, got -1",
        ),
    ],
)
def test_bad_option_values_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_submission_toml_name_that_is_not_a_name_is_refused(tmp_path, capsys):
    folder = tmp_path / "sub"
    assert main(["init-submission", str(folder)]) == 0
    toml = folder / "submission.toml"
    toml.write_text(toml.read_text().replace('name = "sub"', 'name = "../../evil"'))
    capsys.readouterr()
    argv = [
        "evaluate",
        str(folder),
        "--tasks",
        "synthetic/cu/s16/points",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 2
    assert "submission name (--name or name in submission.toml) '../../evil' contains" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "r").exists()
