from __future__ import annotations

import json

import pytest

from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions
from geochem_bench.evaluation.records import (
    ResultRecord,
    json_schema,
    read_result,
    result_path,
    safe_name,
)
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes.registry import list_tasks


@pytest.fixture(scope="module")
def record(tmp_path_factory) -> ResultRecord:
    out = tmp_path_factory.mktemp("r")
    sub = load_submission("geochem_bench.models:NearestUpsampling")
    rec, *_ = evaluate(sub, list_tasks(["synthetic/all/s16/grid"]), RunOptions(out, progress=False))
    return rec  # fold 0: realisation 0


def test_record_carries_provenance(record):
    assert record.status == "ok"
    assert record.benchmark_version == "2.0" and record.schema_version == "1.4.0"
    assert set(record.dataset.sha256) == {"covariates", "valid", "truth", "points"}
    assert record.dataset.options["height"] == 256
    assert record.runtime.total_s > 0 and record.peak_memory_mb > 0
    assert record.hardware.n_cpus >= 1
    assert record.timestamp.tzinfo is not None
    assert record.isolation.process == "sandboxed"
    assert len(record.submission.fingerprint) == 64


def test_record_shows_what_its_fingerprint_hashes(record):
    """params and code digest are in the record, and with the seed and package they give the
    fingerprint back: a reader can check what a record claims without rerunning it."""
    import hashlib
    import json

    info = record.submission
    assert info.params == {} and len(info.code_digest) == 64
    facts = {
        "model": info.model,
        "params": info.params,
        "code": info.code_digest,
        "seed": record.seed,
        "package": record.package_version,
    }
    blob = json.dumps(facts, sort_keys=True, default=str).encode()
    assert hashlib.sha256(blob).hexdigest() == info.fingerprint


def test_schema_rejects_inconsistent_records(record):
    payload = json.loads(record.model_dump_json())
    payload["metrics"] = None
    with pytest.raises(ValueError, match="needs metrics"):
        ResultRecord.model_validate(payload)
    payload = json.loads(record.model_dump_json())
    payload["unexpected"] = 1
    with pytest.raises(ValueError):
        ResultRecord.model_validate(payload)
    payload = json.loads(record.model_dump_json())
    payload["fold"] = 3
    with pytest.raises(ValueError, match="fold 3"):
        ResultRecord.model_validate(payload)


def test_read_result_names_the_file(tmp_path):
    bad = tmp_path / "fold-0.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match=r"fold-0\.json is not a valid geochem-bench result"):
        read_result(bad)


def test_paths_are_namespaced_and_safe(tmp_path):
    path = result_path(tmp_path, "My Model/v2", "1.0", "synthetic/cu/s16/points", 3)
    assert path.relative_to(tmp_path).parts == (
        "My_Model_v2",
        "1.0",
        "synthetic",
        "cu",
        "s16",
        "points",
        "fold-3.json",
    )
    with pytest.raises(ValueError):
        safe_name("..")


def test_json_schema_is_exported():
    schema = json_schema()
    assert schema["title"] == "ResultRecord" and "metrics" in schema["properties"]
