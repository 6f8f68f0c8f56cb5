"""One factory makes every result record, whichever path scored the fold."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import geochem_bench
from geochem_bench import BENCHMARK_VERSION, __version__
from geochem_bench.evaluation import provenance
from geochem_bench.evaluation.record_factory import (
    built_dataset_info,
    dataset_info,
    failed_record,
    make_record,
    submission_info,
)
from geochem_bench.evaluation.records import Failure, Runtime
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes.registry import get_task

PACKAGE = Path(geochem_bench.__file__).parent


def test_only_the_factory_constructs_result_records():
    makers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name == "ResultRecord":
                    makers.append(path.relative_to(PACKAGE).as_posix())
    assert makers == ["evaluation/record_factory.py"]


def test_factory_fills_provenance(scene, monkeypatch):
    info = submission_info(load_submission("geochem_bench.models:NearestUpsampling"))
    task = get_task("synthetic/all/s8/grid")
    runtime = Runtime(fit_s=1.0, predict_s=2.0, total_s=3.0)
    record = make_record(
        info,
        task,
        0,
        scene,
        seed=7,
        metrics={"overall": {"skill": 0.1}},
        runtime=runtime,
        peak_memory_mb=12.5,
        gpu="Test GPU",
    )
    assert record.status == "ok" and record.seed == 7 and record.runtime == runtime
    assert (record.package_version, record.benchmark_version) == (__version__, BENCHMARK_VERSION)
    assert record.task.id == task.id and record.task.n_folds == 3  # 3 realisations
    assert record.realisation == 0 and record.task.realisations == [0, 1, 2]
    assert record.dataset == dataset_info(scene)
    assert record.dataset.sha256 == scene.fingerprint()
    assert record.peak_memory_mb == 12.5 and record.hardware.gpu == "Test GPU"
    assert record.timestamp.tzinfo is not None

    failure = Failure(kind="crash", message="worker died")
    failed = failed_record(info, task, 0, dataset_info(scene), failure, seed=7)
    assert failed.status == "failed" and failed.failure == failure and failed.metrics is None
    assert failed.dataset == record.dataset and failed.hardware.gpu == provenance.gpu_name()


def test_tiled_records_carry_the_same_provenance_as_harness_records(tmp_path):
    from geochem_bench.data.tileable_synthetic import write_large_synthetic
    from geochem_bench.evaluation.tiled import DiskScene, tiled_record

    write_large_synthetic(tmp_path / "scene", 128)
    submission = load_submission("geochem_bench.models:BilinearUpsampling")
    record, path = tiled_record(DiskScene.open(tmp_path / "scene"), submission, 8, tmp_path)
    meta = json.loads((tmp_path / "scene" / "scene.json").read_text())
    assert record.task.id == f"{meta['name']}/all/s8/grid" and record.task.version == "1"
    assert record.dataset == built_dataset_info(tmp_path / "scene")
    assert record.runtime is not None and record.runtime.total_s > 0
    assert record.peak_memory_mb is not None and record.peak_memory_mb > 0
    assert record.package_version == __version__ and record.seed == 0
    assert path.is_file()


def test_built_dataset_info_reads_the_manifest(tmp_path):
    (tmp_path / "scene.json").write_text(
        json.dumps({"name": "s", "version": 2, "options": {"size": 4}})
    )
    assert built_dataset_info(tmp_path).sha256 == {}
    (tmp_path / "manifest.json").write_text(json.dumps({"truth": "ab"}))
    info = built_dataset_info(tmp_path)
    assert (info.scene, info.version, info.sha256) == ("s", "2", {"truth": "ab"})
