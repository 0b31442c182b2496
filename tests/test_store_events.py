"""Format 1.2: versions stored outside the store, asset check results and observations in run
manifests, written and read back (compiled and general paths, the local cache)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from explorer import RunWriter, Store
from explorer import format as fmt
from explorer.dagster.manifest import consolidate_run
from explorer.errors import ExplorerError
from explorer.models import CheckResult, Observation
from explorer.store.read import parse_manifest_general
from explorer.store.writer import write_external_version

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def store_dir(tmp_path):
    with RunWriter(str(tmp_path), job="j", run_id="r1") as w:
        a = w.write("a", pd.DataFrame({"x": [1, 2]}))
        write_external_version(w.fs, w.root, "r1", "b", "dagster-data-version:abc", inputs=[a.ref],
                               metadata={"num_records": 3}, code_version="b-v1")
    checks = (CheckResult("a", "no_nulls", "r1", T0, False, "ERROR", "ids are set", {"nulls": 1}, "r1"),
              CheckResult("a", "positive", "r1", T0 + timedelta(seconds=1), False, "WARN", None, {}, "r1"))
    observations = (Observation("source_file", "r1", T0, "v1", {"bytes": 9}),)
    consolidate_run(str(tmp_path), "r1", "success", checks=checks, observations=observations)
    return tmp_path


def test_a_version_stored_outside_the_store_reads_back_without_a_data_file(store_dir):
    store = Store.open(str(store_dir), cache=False)
    assert store.warnings == []
    b = store.index.latest("b")
    assert (b.stored, b.data_path, b.data_format, b.size_bytes) == (False, None, "external", 0)
    assert b.metadata == {"num_records": 3} and b.code_version == "b-v1"
    assert [i.asset for i in b.inputs] == ["a"]
    assert b.to_dict()["stored"] is False
    assert not (store_dir / "r1" / "b").exists()
    with pytest.raises(ExplorerError, match="stored outside the store"):
        store.load("b")


def test_checks_and_observations_are_facts_of_their_run(store_dir):
    doc = json.loads((store_dir / "r1" / "_frontier" / "run.json").read_text())
    assert doc["format_version"] == "1.2"
    assert [c["check"] for c in doc["checks"]] == ["no_nulls", "positive"]
    store = Store.open(str(store_dir), cache=False)
    a = store.index.latest("a")
    assert [(c.name, c.passed, c.severity) for c in store.index.checks_of(a)] == [
        ("no_nulls", False, "ERROR"), ("positive", False, "WARN")]
    assert [c.blocking for c in store.index.checks_of(a)] == [True, False]
    assert store.index.checks_of(store.index.latest("b")) == []
    [obs] = store.index.observations("source_file")
    assert (obs.data_version, obs.content_hash) == ("v1", "dagster-data-version:v1")


def test_the_general_path_and_the_cache_read_the_same(store_dir):
    raw = (store_dir / "r1" / "_frontier" / "run.json").read_bytes()
    fast = fmt.decode_manifest(raw, "r1")
    general, complete = parse_manifest_general(raw, "r1")
    assert complete and fast is not None
    assert fast[0] == general.run and fast[1] == general.versions
    cold = Store.open(str(store_dir), cache=False)
    Store.open(str(store_dir))  # writes the cache
    warm = Store.open(str(store_dir))
    assert warm.index.runs == cold.index.runs
    assert warm.index.latest("b") == cold.index.latest("b")


def test_a_bad_check_names_the_manifest(tmp_path, store_dir):
    path = store_dir / "r1" / "_frontier" / "run.json"
    doc = json.loads(path.read_text())
    doc["checks"][0]["passed"] = "yes"
    path.write_text(json.dumps(doc))
    store = Store.open(str(store_dir), cache=False)
    assert any("passed must be true or false" in w and "run.json" in w for w in store.warnings)
