"""Writers and readers against hostile names, values and documents (issue 22, items 6, 8, 18,
19 and 20): exclusive creation, strict JSON, refused names, bounded parsing, duplicated
entries, late joiners and torn manifests. Truth comes from the bytes on disk, parsed by
``json`` in the test."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import pytest

from explorer import RunWriter, Store
from explorer import format as fmt
from explorer.errors import ExplorerError, FormatError, WriteError
from explorer.store.fs import create_exclusive, open_fs
from s3_support import bucket, moto_endpoint  # noqa: F401 - fixtures

HOSTILE = {
    "C1 CSI": "\x9b",
    "C1 NEL": "\x85",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
}


def _strict(raw: bytes):
    """Parse as standard JSON only: NaN / Infinity literals are an error."""

    def refuse(name):
        raise ValueError(f"non-standard JSON literal {name}")

    return json.loads(raw, parse_constant=refuse)


def _manifest(store_path: str, run_id: str) -> Path:
    return Path(store_path, run_id, "_frontier", "run.json")


def _deep(n: int) -> str:
    return "[" * n + "]" * n


# --------------------------------------------------------------------------- item 8


def test_a_second_writer_of_an_existing_run_id_is_refused_and_the_first_stays(store_path):
    with RunWriter(store_path, run_id="r1", job="alice") as run:
        run.write("a", {"who": "alice"})
    before = _manifest(store_path, "r1").read_bytes()
    with pytest.raises(WriteError, match="run r1 already exists"):
        RunWriter(store_path, run_id="r1", job="bob").start()
    assert _manifest(store_path, "r1").read_bytes() == before


def test_create_exclusive_never_replaces_a_file_nor_follows_a_link(tmp_path):
    fs, _ = open_fs(str(tmp_path))
    target = tmp_path / "x.json"
    create_exclusive(fs, str(target), b"first")
    with pytest.raises(FileExistsError):
        create_exclusive(fs, str(target), b"second")
    assert target.read_bytes() == b"first"
    outside = tmp_path / "outside"
    os.symlink(outside, tmp_path / "link.json")  # dangling: creating through it would write outside
    with pytest.raises(FileExistsError):
        create_exclusive(fs, str(tmp_path / "link.json"), b"x")
    assert not outside.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "x.json"]  # no temporary left


def test_create_exclusive_on_s3_is_a_conditional_put(moto_endpoint, bucket):
    # pins the behaviour relied on: s3fs's mode="create" sends If-None-Match: * and turns the
    # 412 answer into FileExistsError
    fs, root = open_fs(f"s3://{bucket}", {"endpoint_url": moto_endpoint})
    create_exclusive(fs, f"{root}/k.json", b"first")
    with pytest.raises(FileExistsError):
        create_exclusive(fs, f"{root}/k.json", b"second")
    assert fs.cat_file(f"{root}/k.json") == b"first"


# --------------------------------------------------------------------------- item 18


@pytest.mark.parametrize("char", list(HOSTILE.values()), ids=list(HOSTILE))
def test_names_with_c1_bidi_or_separators_are_refused_by_the_writer(store_path, char):
    with pytest.raises(FormatError) as err:
        RunWriter(store_path, run_id=f"r{char}1")
    assert "\n" not in str(err.value) and char not in str(err.value)
    with RunWriter(store_path, run_id="ok") as run:
        with pytest.raises(FormatError) as err:
            run.write(f"a{char}b", {"x": 1})
        assert char not in str(err.value)
        with pytest.raises(FormatError):
            run.write("c", {"x": 1}, inputs=[(f"a{char}", "ok")])
        run.write("fine", {"x": 1})
    assert not any(char in p.name for p in Path(store_path).rglob("*"))


@pytest.mark.parametrize("char", list(HOSTILE.values()), ids=list(HOSTILE))
def test_names_with_c1_bidi_or_separators_in_a_store_are_warnings_naming_the_file(store_path, cli, char):
    with RunWriter(store_path, run_id="good") as run:
        run.write("a", {"x": 1})
    with RunWriter(store_path, run_id="bad") as run:
        run.write("a", {"x": 2})
        run.write("b", {"x": 3})
    path = _manifest(store_path, "bad")
    doc = json.loads(path.read_bytes())
    doc["versions"][1]["asset"] = f"b{char}"  # through the compiled path and the general one
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    store = Store.open(store_path, cache=False)
    assert sorted((v.asset, v.run_id) for v in store.index.versions.values()) == [("a", "bad"), ("a", "good")]
    assert any("bad/_frontier/run.json" in w and "versions[1]" in w for w in store.warnings)
    r = cli("--no-cache", "runs", store_path, "--format", "json")
    assert r.code == 0 and sorted(x["run_id"] for x in r.json()) == ["bad", "good"]
    assert "bad/_frontier/run.json" in r.err and char not in r.err and char not in r.out


# --------------------------------------------------------------------------- item 19


def test_non_finite_metadata_is_written_as_standard_json_strings(store_path):
    import pandas as pd

    meta = {"loss": float("nan"), "hi": float("inf"), "lo": float("-inf"), "list": [1.5, float("nan")], "ok": 2.5}
    with RunWriter(store_path, run_id="r1") as run:
        run.write("a", {"x": 1}, metadata=meta)
        run.write("t", pd.DataFrame({"f": [1.0, float("nan"), float("inf")]}))
    for path in Path(store_path).rglob("*.json"):
        _strict(path.read_bytes())  # every JSON document the writer made is standard JSON
    raw = _manifest(store_path, "r1").read_bytes()
    side = _strict(Path(store_path, "r1", "_frontier", "versions", "a.json").read_bytes())
    assert side["metadata"] == {"loss": "NaN", "hi": "Infinity", "lo": "-Infinity", "list": [1.5, "NaN"], "ok": 2.5}
    assert fmt.decode_manifest(raw, "r1") is not None  # the compiled decoder takes it
    store = Store.open(store_path, cache=False)
    assert store.warnings == []
    assert store.version("a", "r1").metadata == side["metadata"]


def test_old_stores_with_nan_literals_still_load(store_path):
    with RunWriter(store_path, run_id="r1") as run:
        run.write("a", {"x": 1}, metadata={"loss": 0.5})
    path = _manifest(store_path, "r1")
    path.write_bytes(path.read_bytes().replace(b'"loss": 0.5', b'"loss": NaN'))
    store = Store.open(store_path, cache=False)
    assert store.warnings == []
    assert math.isnan(store.version("a", "r1").metadata["loss"])


# --------------------------------------------------------------------------- item 6


def test_deep_json_in_a_manifest_is_a_warning_naming_it_and_the_rest_loads(store_path, cli):
    with RunWriter(store_path, run_id="good") as run:
        run.write("a", {"x": 1})
    with RunWriter(store_path, run_id="deep") as run:
        run.write("a", {"x": 2})
    path = _manifest(store_path, "deep")
    text = path.read_text()
    path.write_text(text.replace('"metadata": {}', '"metadata": {"m": ' + _deep(2000) + "}", 1))
    # the sidecar still holds the real version, so the run is read from it (torn-manifest rule)
    store = Store.open(store_path, cache=False)
    assert {v.run_id for v in store.index.versions.values()} == {"good", "deep"}
    assert any("deep/_frontier/run.json" in w and "nested too deeply" in w for w in store.warnings)
    for argv in (("runs", store_path), ("assets", store_path), ("stale", store_path)):
        r = cli("--no-cache", *argv)
        assert r.code in (0, 1) and "RecursionError" not in r.err + r.out
        assert "deep/_frontier/run.json" in r.err


@pytest.mark.parametrize("depth", [40, 2000])
def test_deep_json_in_a_running_runs_sidecar_skips_that_version_only(store_path, cli, depth):
    run = RunWriter(store_path, run_id="live").start()
    run.write("a", {"x": 1})
    run.write("b", {"x": 2})
    side = Path(store_path, "live", "_frontier", "versions", "b.json")
    side.write_text(side.read_text().replace('"metadata": {}', '"metadata": {"m": ' + _deep(depth) + "}", 1))
    store = Store.open(store_path, cache=False)
    assert [v.asset for v in store.run_versions("live")] == ["a"]
    assert any("live/_frontier/versions/b.json" in w and "nested" in w for w in store.warnings)
    r = cli("--no-cache", "show", store_path, "a")
    assert r.code == 0 and "RecursionError" not in r.err and "b.json" in r.err


def test_deep_json_in_a_flag_file_is_a_warning_naming_it(store_path, cli):
    with RunWriter(store_path, run_id="r1") as run:
        run.write("a", {"x": 1})
    store = Store.open(store_path, cache=False)
    store.flag("a", "r1", reason="bad data")
    store.flag("a", "r1", reason="second")
    flag_files = sorted(Path(store_path, fmt.FLAGS_DIR).glob("*.json"))
    flag_files[1].write_text(_deep(3000))
    store = Store.open(store_path, cache=False)
    assert [f.reason for f in store.flags()] == ["bad data"]
    assert any(flag_files[1].name in w and "nested too deeply" in w for w in store.warnings)
    r = cli("--no-cache", "flags", store_path)
    assert r.code == 0 and "RecursionError" not in r.err + r.out


def test_the_writer_refuses_metadata_nested_too_deep_in_one_line(store_path):
    def nest(levels: int) -> list:
        value: list = []
        for _ in range(levels - 1):
            value = [value]
        return value

    fine = {"m": nest(fmt.MAX_VALUE_DEPTH - 1)}  # with the metadata object: MAX_VALUE_DEPTH levels
    with RunWriter(store_path, run_id="r1") as run:
        for value in (nest(fmt.MAX_VALUE_DEPTH), nest(5000)):
            with pytest.raises(ExplorerError) as err:
                run.write("a", {"x": 1}, metadata={"m": value})
            assert "nested" in str(err.value) and "\n" not in str(err.value)
        assert list(Path(store_path, "r1").iterdir()) == [Path(store_path, "r1", "_frontier")]  # nothing written
        run.write("a", {"x": 1}, metadata=fine)
    assert Store.open(store_path, cache=False).version("a", "r1").metadata == fine


# --------------------------------------------------------------------------- item 20


def test_an_asset_listed_twice_in_a_manifest_counts_once_first_entry_kept(store_path, cli):
    with RunWriter(store_path, run_id="r1") as run:
        run.write("a", {"x": 1}, metadata={"entry": "first"})
        run.write("b", {"x": 2})
    path = _manifest(store_path, "r1")
    doc = json.loads(path.read_bytes())
    twin = dict(doc["versions"][0], metadata={"entry": "second"})
    doc["versions"].append(twin)
    path.write_text(json.dumps(doc))
    distinct = {v["asset"] for v in json.loads(path.read_bytes())["versions"]}
    store = Store.open(store_path, cache=False)
    assert sorted(v.asset for v in store.run_versions("r1")) == sorted(distinct)
    assert store.version("a", "r1").metadata == {"entry": "first"}
    assert any("r1/_frontier/run.json" in w and "'a'" in w and "twice" in w for w in store.warnings)
    r = cli("--no-cache", "versions", store_path, "a", "--format", "json")
    assert r.code == 0 and len(r.json()) == 1 and "twice" in r.err
    r = cli("--no-cache", "runs", store_path, "--format", "json")
    assert [x["assets"] for x in r.json()] == [len(distinct)]


def test_a_joined_writer_after_the_owner_finished_is_told(store_path):
    owner = RunWriter(store_path, run_id="r1").start()
    joiner = RunWriter.join(store_path, "r1")
    owner.write("a", {"x": 1})
    owner.finish()
    with pytest.raises(WriteError, match="run r1 was finished"):
        joiner.write("late", {"x": 2})
    assert not Path(store_path, "r1", "_frontier", "versions", "late.json").exists()
    assert [v.asset for v in Store.open(store_path, cache=False).run_versions("r1")] == ["a"]


def test_a_joined_writer_whose_commit_lands_after_the_finish_is_told(store_path):
    owner = RunWriter(store_path, run_id="r1").start()
    armed = []

    def clock():  # called by the joiner between its checks and its commit: the owner finishes then
        if armed and not owner._finished:
            owner.finish()
        return fmt.now()

    joiner = RunWriter.join(store_path, "r1", clock=clock)
    armed.append(True)
    with pytest.raises(WriteError, match="before 'late' was committed"):
        joiner.write("late", {"x": 2})
    listed = [v["asset"] for v in json.loads(_manifest(store_path, "r1").read_bytes())["versions"]]
    assert listed == []
    assert Store.open(store_path, cache=False).run_versions("r1") == []


def test_torn_manifest_falls_back_to_intact_sidecars(store_path, cli):
    with RunWriter(store_path, run_id="good") as run:
        run.write("a", {"x": 1})
    with RunWriter(store_path, run_id="torn", job="nightly") as run:
        run.write("a", {"x": 2})
        run.write("b", [1, 2, 3])
    path = _manifest(store_path, "torn")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    sidecars = sorted(Path(store_path, "torn", "_frontier", "versions").glob("*.json"))
    expected = {json.loads(p.read_bytes())["asset"]: json.loads(p.read_bytes()) for p in sidecars}
    store = Store.open(store_path, cache=False)
    assert sorted(r.run_id for r in store.runs) == ["good", "torn"]
    got = {v.asset: v for v in store.run_versions("torn")}
    assert sorted(got) == sorted(expected)
    for key, doc in expected.items():
        data = Path(store_path, doc["data_path"]).read_bytes()
        assert got[key].content_hash == doc["content_hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert store.load("b", "torn") == [1, 2, 3]
    assert any("torn/_frontier/run.json" in w and "read from its 2 sidecars" in w for w in store.warnings)
    r = cli("--no-cache", "runs", store_path, "--format", "json")
    assert r.code == 0 and sorted(x["run_id"] for x in r.json()) == ["good", "torn"]
    assert "torn/_frontier/run.json" in r.err


def test_deep_column_statistics_are_a_warning_naming_the_version(store_path):
    import pandas as pd

    with RunWriter(store_path, run_id="r1") as run:
        run.write("t", pd.DataFrame({"x": [1, 2]}))
        run.write("u", pd.DataFrame({"x": [3]}))
    path = _manifest(store_path, "r1")
    doc = json.loads(path.read_bytes())
    doc["versions"][0]["table"]["columns"][0]["min"] = "@"  # replaced below by 50 levels (the document itself stays under 100)
    path.write_text(json.dumps(doc).replace('"min": "@"', '"min": ' + _deep(50), 1))
    store = Store.open(store_path, cache=False)
    assert [v.asset for v in store.run_versions("r1")] == ["u"]
    assert any("r1/_frontier/run.json (versions[0])" in w and "nested" in w for w in store.warnings)
