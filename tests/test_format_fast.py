"""The compiled manifest decoder (``format.decode_manifest``) is only an accelerator: it
accepts every manifest the writers produce, and whenever it accepts a document the general
path (``json.loads`` + ``parse_run`` + ``parse_sidecar``) accepts it too, with equal results.
Whatever it declines, the general path decides (and names the problem)."""

from __future__ import annotations

import copy
import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from explorer import RunWriter
from explorer import format as fmt
from explorer.store.read import parse_manifest, parse_manifest_general
from reliability.test_fuzz_index import _paths, json_values  # (the same mutations as the indexer fuzzing)

# values near the edges of what the format allows
tricky = st.sampled_from([
    "", ".", "..", "/abs", "a/../b", "a\\b", "a//b", "s3://x/y", "_reserved/x", "x\x00y", "\ud800",
    "2025-01-01T00:00:00", "2025-01-01T02:00:00+02:00", "2025-01-01T00:00:00.123456789Z", "2025-01-01",
    "1.1", "2.0", "1", 1, 1.0, -1, 2**70, True, "parquet", "pickle", "running", "r1", "r2", "a", "b",
    "r1/a.parquet", "r1/b.json", "r2/a.parquet", "x" * 300, "frontier-explore/sidecar", "frontier-explore/run",
    [], {}, ["a"], [{"asset": "a", "run_id": "r1"}], {"num_rows": 1, "columns": []},
])

_TEMPLATE: list[bytes] = []


def _written_manifest() -> bytes:
    """A manifest as RunWriter consolidates it: tables with statistics, inputs, keys, metadata."""
    if not _TEMPLATE:
        with tempfile.TemporaryDirectory() as d:
            with RunWriter(d, run_id="r1", job="j", plan={"a": [], "b": ["a"]}, tags={"team": "ml"},
                           code_version="v1") as run:
                run.write("a", pd.DataFrame({"id": [1, 2], "x": [0.5, None], "s": ["p", "q"]}), keys=["id"],
                          metadata={"source": "test", "n": 2})
                run.write("b", {"k": 1}, inputs=["a"])
            _TEMPLATE.append(Path(d, "r1/_frontier/run.json").read_bytes())
    return _TEMPLATE[0]


def _records_equal(a, b) -> bool:
    return a[1] == b[1] and a[0].run == b[0].run and a[0].versions == b[0].versions and not b[0].warnings


def test_writer_manifests_take_the_compiled_path(demo_path):
    manifests = sorted(demo_path.glob("*/_frontier/run.json")) + [None]
    for path in manifests:
        raw, run_id = (_written_manifest(), "r1") if path is None else (path.read_bytes(), path.parent.parent.name)
        fast = fmt.decode_manifest(raw, run_id)
        assert fast is not None, path
        general = parse_manifest_general(raw, run_id)
        run, versions = fast
        assert run == general[0].run
        assert versions == general[0].versions and general[1]
        assert all(v.created_at.tzinfo is timezone.utc for v in versions)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_path_never_accepts_what_the_general_path_refuses(data):
    doc = json.loads(_written_manifest())
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = list(_paths(doc))[1:]
        where = data.draw(st.sampled_from(paths), label="where")
        # a copy: sampled lists and dicts are shared between examples, and inserting one object
        # twice could make the document contain itself
        value = copy.deepcopy(data.draw(tricky | json_values, label="value"))
        if data.draw(st.booleans(), label="delete") and isinstance(where[-1], str):
            target = doc
            for p in where[:-1]:
                target = target[p]
            target.pop(where[-1], None)
        else:
            target = doc
            for p in where[:-1]:
                target = target[p]
            target[where[-1]] = value
    raw = json.dumps(doc).encode("utf-8", "surrogatepass")
    fast = fmt.decode_manifest(raw, "r1")
    event("compiled path " + ("declined" if fast is None else "accepted"))
    try:
        general = parse_manifest_general(raw, "r1")
    except Exception as exc:  # noqa: BLE001 - the general path refused the document
        assert fast is None, f"compiled path accepted what the general path refused: {exc}"
        return
    if fast is not None:
        run, versions = fast
        assert run == general[0].run
        assert general[1] == (versions is not None)
        if versions is not None:
            assert not general[0].warnings, general[0].warnings  # a version the general path drops
            assert versions == general[0].versions
    # either way, the indexer's answer is the general path's answer
    rec, complete = parse_manifest(raw, "r1")
    assert (rec.run, rec.versions, complete) == (general[0].run, general[0].versions, general[1])


def test_timestamps_are_utc_on_both_paths():
    doc = json.loads(_written_manifest())
    doc["started_at"] = "2025-01-01T02:00:00+02:00"  # an offset: declined, converted by the general path
    doc["versions"][0]["created_at"] = "2025-01-01T00:00:01"  # naive: read as UTC
    raw = json.dumps(doc).encode()
    assert fmt.decode_manifest(raw, "r1") is None
    rec, _ = parse_manifest(raw, "r1")
    assert rec.run.started_at == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert rec.run.started_at.tzinfo is timezone.utc
    assert rec.versions[0].created_at == datetime(2025, 1, 1, 0, 0, 1, tzinfo=timezone.utc)


names = st.text(alphabet="ab_.-+=@:/\\ \x00Z09\u00e9", max_size=12) | st.sampled_from(
    ["a" * 255, "a" * 256, "a/" + "b" * 255, "a/" + "b" * 256, "/".join(["abc"] * 300), "a/./b", "a/../b", "a/b/",
     "run:1", "s3:x", "C:", "_x", "x/_y", ".x", "x/.y", "a..b"])


@settings(max_examples=400, deadline=None)
@given(name=names)
def test_the_plain_name_shortcut_only_passes_names_the_full_checks_pass(name):
    from explorer.errors import FormatError

    def full(check, value):
        fmt._VALID_RUN_IDS.clear()
        fmt._VALID_KEYS.clear()
        try:
            check(value)
        except FormatError:
            return False
        return True

    def slow_run_id(v):  # the checks check_run_id makes after its shortcut
        fmt.check_relative_path(v, "run id", "t")
        if "/" in v or v.startswith(("_", ".")):
            raise FormatError("invalid")

    def slow_key(v):
        fmt.check_relative_path(v, "asset key", "t")
        if v.split("/")[0].startswith("_"):
            raise FormatError("reserved")

    if fmt._PLAIN_RUN_ID.fullmatch(name):
        assert full(slow_run_id, name), name
    if len(name) <= fmt.MAX_PATH and fmt._PLAIN_KEY.fullmatch(name):
        assert full(slow_key, name), name
    assert full(fmt.check_run_id, name) == full(slow_run_id, name)
    assert full(fmt.check_asset_key, name) == full(slow_key, name)
