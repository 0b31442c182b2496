"""The catalogue: load by run, refuse tainted latest versions, versions(), find(built_from=...)."""

from __future__ import annotations

import pandas as pd
import pytest
from catalogue_support import (  # noqa: F401 - fixtures
    R1,
    R2,
    R3,
    R4,
    R5,
    RAW_A,
    RAW_B,
    features_of,
    lineage_store,
    writable_store,
)

from explorer import RunWriter, Store
from explorer.catalogue import TaintedVersion
from explorer.errors import ExplorerError, UnknownAsset, UnknownRun


def runs_of(versions) -> list[str]:
    return [v.run_id for v in versions]


# ---------------------------------------------------------------------- find


def test_find_follows_lineage_across_runs(lineage_store):
    store = Store.open(lineage_store)
    # "the model trained from the features of R2" is R3's (a later run reading R2's output)
    assert runs_of(store.find("model", built_from={"features": R2})) == [R3]
    # scores built from raw@R2: via features@R2 -> model@R3 -> scores@R3, and scores@R4 which
    # used model@R3 (three hops, two runs away from the raw data)
    assert runs_of(store.find("scores", built_from={"raw": R2})) == [R4, R3]
    # raw@R1 fed R1's own pipeline only; R4 re-ingested identical bytes but that is another version
    assert runs_of(store.find("scores", built_from={"raw": R1})) == [R1]
    # a version is not "built from" itself
    assert runs_of(store.find("features", built_from={"features": R2})) == []


def test_find_by_content_hash_matches_every_version_with_those_bytes(lineage_store):
    store = Store.open(lineage_store)
    raw_a = store.version("raw", R1).content_hash
    assert store.version("raw", R4).content_hash == raw_a  # identical bytes, two versions
    expected = [R4, R1]  # features built from either version of raw A, newest first
    assert runs_of(store.find("features", built_from={"raw": raw_a})) == expected
    assert runs_of(store.find("features", built_from={"raw": raw_a[:15]})) == expected  # "sha256:" + prefix
    assert runs_of(store.find("features", built_from={"raw": raw_a.split(":")[1][:10]})) == expected  # bare hex


def test_find_with_several_conditions_intersects(lineage_store):
    store = Store.open(lineage_store)
    # scores@R4 counts: its model@R3 was trained on features@R2 (transitive provenance)
    assert runs_of(store.find("scores", built_from={"features": R2, "model": R3})) == [R4, R3]
    assert runs_of(store.find("scores", built_from={"features": R4, "model": R3})) == [R4]
    assert store.find("scores", built_from={"features": R1, "model": R3}) == []


def test_find_errors_are_clear(lineage_store):
    store = Store.open(lineage_store)
    with pytest.raises(UnknownAsset):
        store.find("nope", built_from={"raw": R1})
    with pytest.raises(UnknownAsset):
        store.find("scores", built_from={"nope": R1})
    with pytest.raises(UnknownRun, match="holds no version"):
        store.find("scores", built_from={"model": R2})
    with pytest.raises(ExplorerError, match="no version of 'raw'"):
        store.find("scores", built_from={"raw": "sha256:ffffffffffff"})
    with pytest.raises(ExplorerError, match="built_from"):
        store.find("scores", built_from={})


def test_find_cli(cli, lineage_store):
    res = cli("find", lineage_store, "scores", "--built-from", f"raw={R2}", "--format", "json")
    assert res.code == 0, res.err
    assert [(v["asset"], v["run_id"]) for v in res.json()] == [("scores", R4), ("scores", R3)]
    res = cli("find", lineage_store, "scores", "--built-from", "raw")
    assert res.code == 2 and "ASSET=RUN_ID" in res.err


# ---------------------------------------------------------------------- load


def test_load_latest_and_by_run(lineage_store):
    store = Store.open(lineage_store)
    pd.testing.assert_frame_equal(store.load("raw", run=R1), RAW_A, check_dtype=False)
    pd.testing.assert_frame_equal(store.load("raw"), RAW_B, check_dtype=False)  # latest is R5's (a failed run)
    assert store.load("model") == {"w": 0.25}
    assert store.load("model", run=R1) == {"w": 0.5}


def test_load_refuses_a_tainted_latest_version(writable_store):
    store = Store.open(writable_store)
    store.flag("features", R2, reason="duplicated rows")
    # the latest model (R3) was trained on features@R2: tainted
    with pytest.raises(TaintedVersion) as err:
        store.load("model")
    assert "allow_tainted" in str(err.value) and f"features@{R2}" in str(err.value)
    assert store.load("model", allow_tainted=True) == {"w": 0.25}
    assert store.load("model", run=R3) == {"w": 0.25}  # naming the run is a deliberate choice
    # the latest features (R4) do not come from features@R2
    got = store.load("features").sort_values("id").reset_index(drop=True)
    assert list(got["id"]) == list(RAW_A["id"])
    # a fresh Store sees the flag (it is in the store, not in memory)
    with pytest.raises(TaintedVersion):
        Store.open(writable_store).load("scores")
    store.unflag("features", R2, reason="false alarm")
    assert store.load("model") == {"w": 0.25}


# ---------------------------------------------------------------------- versions


def test_versions_dataframe(writable_store):
    store = Store.open(writable_store)
    store.flag("raw", R2, reason="bad extract")
    df = store.versions("raw")
    assert list(df["run_id"]) == [R5, R4, R2, R1]  # newest first
    raw_versions = {v.run_id: v for v in store.asset_versions("raw")}
    for _, row in df.iterrows():
        v = raw_versions[row["run_id"]]
        assert row["content_hash"] == v.content_hash
        assert row["size_bytes"] == v.size_bytes
        assert row["created_at"] == pd.Timestamp(v.created_at)
    assert list(df["rows"]) == [len(RAW_B), len(RAW_A), len(RAW_B), len(RAW_A)]
    assert list(df["status"]) == ["failed", "success", "success", "success"]
    assert list(df["code_version"]) == ["v4", "v3", "v1", "v0"]
    assert list(df["metadata.source"]) == ["db"] * 4
    assert list(df["tainted"]) == [False, False, True, False]
    assert str(df["created_at"].dtype).startswith("datetime64")

    model = store.versions("model")
    assert list(model["metadata.auc"]) == [0.78, 0.71]
    assert list(model["tainted"]) == [True, False]  # model@R3 <- features@R2 <- raw@R2
    assert model["rows"].isna().all()
    with pytest.raises(UnknownAsset):
        store.versions("nope")


def test_versions_cli(cli, lineage_store):
    res = cli("versions", lineage_store, "features", "--format", "json")
    assert res.code == 0, res.err
    assert [r["run_id"] for r in res.json()] == [R4, R2, R1]
    assert [r["rows"] for r in res.json()] == [len(RAW_A), len(RAW_B), len(RAW_A)]
    res = cli("versions", lineage_store, "features")
    assert res.code == 0 and R4 in res.out and "metadata.n_features" in res.out


def test_features_of_is_what_was_written(lineage_store):
    # guard for the tests above: the directory-format version reads back as written
    store = Store.open(lineage_store)
    got = store.load("features", run=R4).sort_values("id").reset_index(drop=True)
    want = features_of(RAW_A)
    assert sorted(got.columns) == sorted(want.columns)
    for col in want.columns:
        assert [str(x) for x in got[col]] == [str(x) for x in want[col]]


def test_versions_json_keeps_what_was_written(cli, tmp_path):
    """Numbers exactly as written (pandas' JSON kept 10 significant digits), big integers whole,
    nested metadata as objects, times as the store holds them, a key a version lacks as null."""
    import json
    from datetime import datetime, timezone

    root = tmp_path / "s"
    t0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    meta = {"auc": 0.123456789012345678, "big": 2**60 + 1, "nested": {"x": [1, 2.5]}}
    with RunWriter(str(root), job="j", run_id="r1", started_at=t0) as run:
        run.write("m", pd.DataFrame({"a": [1, 2]}), metadata=meta)
    with RunWriter(str(root), job="j", run_id="r2", started_at=t0) as run:
        run.write("m", pd.DataFrame({"a": [1]}))
    got = json.loads(cli("versions", root, "m", "--format", "json").out)
    store = Store.open(str(root))
    assert [r["run_id"] for r in got] == ["r2", "r1"]
    assert [r["rows"] for r in got] == [1, 2]
    r1 = got[1]
    assert (r1["metadata.auc"], r1["metadata.big"], r1["metadata.nested"]) == (meta["auc"], meta["big"], meta["nested"])
    assert got[0]["metadata.auc"] is None  # r2 wrote no metadata
    created = store.version("m", "r1").created_at
    assert datetime.fromisoformat(r1["created_at"].replace("Z", "+00:00")) == created
