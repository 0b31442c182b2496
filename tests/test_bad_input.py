"""Bad stores: a clear message or a warning, never a traceback; the rest stays usable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from explorer import RunWriter, Store
from explorer.errors import FormatError, StoreNotFound


def _two_runs(store_path: str) -> None:
    with RunWriter(store_path, run_id="good") as run:
        run.write("a", {"v": 1})
    with RunWriter(store_path, run_id="bad") as run:
        run.write("a", {"v": 2})


def test_missing_store_is_a_clear_error(tmp_path, cli):
    with pytest.raises(StoreNotFound, match="no frontier store"):
        Store.open(str(tmp_path / "nope"))
    r = cli("runs", tmp_path / "nope")
    assert r.code == 2
    assert r.err.strip().count("\n") == 0 and "no frontier store" in r.err
    assert "Traceback" not in r.err


def test_folder_that_is_not_a_store(tmp_path, cli):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    r = cli("runs", tmp_path)
    assert r.code == 2 and "no frontier store" in r.err


def test_corrupt_manifest_is_a_warning_and_other_runs_load(store_path, cli):
    _two_runs(store_path)
    Path(store_path, "bad", "_frontier", "run.json").write_text("{ truncated")
    # (with no sidecar left either: a torn manifest beside intact sidecars is read from them,
    # tests/test_writer_hostile.py::test_torn_manifest_falls_back_to_intact_sidecars)
    shutil.rmtree(Path(store_path, "bad", "_frontier", "versions"))
    store = Store.open(store_path)
    assert [r.run_id for r in store.runs] == ["good"]
    assert any("bad/_frontier/run.json" in w and "invalid JSON" in w for w in store.warnings)
    r = cli("runs", store_path, "--format", "json")
    assert r.code == 0
    assert [x["run_id"] for x in r.json()] == ["good"]
    assert "warning" in r.err and "bad/_frontier/run.json" in r.err


def test_unknown_major_version_names_the_file(store_path):
    _two_runs(store_path)
    path = Path(store_path, "bad", "_frontier", "run.json")
    doc = json.loads(path.read_text())
    doc["format_version"] = "2.0"
    path.write_text(json.dumps(doc))
    store = Store.open(store_path)
    assert [r.run_id for r in store.runs] == ["good"]
    assert any("bad/_frontier/run.json" in w and "unsupported format version 2.0" in w for w in store.warnings)


def test_unknown_fields_are_ignored(store_path):
    _two_runs(store_path)
    path = Path(store_path, "bad", "_frontier", "run.json")
    doc = json.loads(path.read_text())
    doc["format_version"] = "1.7"
    doc["future_field"] = {"x": 1}
    doc["versions"][0]["another_field"] = [1, 2]
    path.write_text(json.dumps(doc))
    store = Store.open(store_path)
    assert store.warnings == []
    assert [r.run_id for r in store.runs] == ["good", "bad"]


def test_corrupt_sidecar_of_unconsolidated_run(store_path):
    w = RunWriter(store_path, run_id="live").start()
    w.write("a", {"v": 1})
    w.write("b", {"v": 2})
    Path(store_path, "live", "_frontier", "versions", "b.json").write_text("[]")
    store = Store.open(store_path)
    assert [v.asset for v in store.run_versions("live")] == ["a"]
    assert any("versions/b.json" in w for w in store.warnings)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("data_path", "../../etc/passwd", "unsafe"),
        ("data_path", "/etc/passwd", "absolute"),
        ("data_path", "s3://other-bucket/x", "absolute or has a URL scheme"),
        ("data_path", "other-run/a.json", "outside its run"),
        ("asset", "a/../../b", "unsafe"),
        ("asset", "bad\x07name", "control character"),
    ],
)
def test_unsafe_paths_in_sidecars_are_refused(store_path, field, value, message):
    _two_runs(store_path)
    path = Path(store_path, "bad", "_frontier", "run.json")
    doc = json.loads(path.read_text())
    doc["versions"][0][field] = value
    path.write_text(json.dumps(doc))
    store = Store.open(store_path)
    assert [v.run_id for v in store.asset_versions("a")] == ["good"]
    assert any(message in w and "bad/_frontier/run.json" in w for w in store.warnings)


def test_format_module_rejects_run_id_traversal():
    from explorer import format as fmt

    for bad in ("..", "a/b", "_reserved", "", "x" * 300):
        with pytest.raises(FormatError):
            fmt.check_run_id(bad)


def test_cli_unknown_asset_and_run(demo_path, cli):
    r = cli("show", demo_path, "no/such/asset")
    assert r.code == 2 and "unknown asset 'no/such/asset'" in r.err
    r = cli("provenance", demo_path, "scores", "--run", "nope")
    assert r.code == 2 and "unknown run 'nope'" in r.err


def test_pickle_is_not_unpickled_by_show(store_path, cli, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with RunWriter(store_path, run_id="r1") as run:
        run.write("model", Evil(), format="pickle")
    r = cli("show", store_path, "model")
    assert r.code == 0
    assert "not loaded" in r.out and not marker.exists()


def test_warnings_with_brackets_are_printed_verbatim(store_path, cli):
    _two_runs(store_path)
    Path(store_path, "x[bold]y").mkdir()
    r = cli("runs", store_path)
    assert r.code == 0
    assert "x[bold]y/: folder without a run manifest" in r.err


def test_csv_header_that_is_not_utf8_is_a_one_line_error(tmp_path, cli):
    """pyarrow reads such a header without complaint and fails only when a column name is
    asked for: every reader names the file instead of crashing (found by tests/reliability)."""
    import pandas as pd

    from explorer import RunWriter

    with RunWriter(str(tmp_path), run_id="r1", job="j") as run:
        run.write("regions", pd.DataFrame({"a": [1, 2]}), format="csv")
        run.write("scores", pd.DataFrame({"a": [1, 2]}), inputs=["regions"])
    (tmp_path / "r1" / "regions.csv").write_bytes(b"\x80\n")
    for args in (("show", "regions"), ("show", "regions", "--format", "json"), ("sql", "select * from regions")):
        r = cli(args[0], tmp_path, *args[1:])
        assert r.code == 2, (args, r.out, r.err)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("frontier-explore: error:"), (args, r.err)
        assert "regions" in lines[0] and "internal error" not in lines[0], (args, r.err)
    assert cli("show", tmp_path, "scores").code == 0  # the rest of the store still reads
    r = cli("trace", tmp_path, "scores", "--where", "a=1")  # the trace goes on and says why it stops
    assert r.code == 0 and "r1/regions.csv: cannot read table (a column name is not valid UTF-8)" in r.out
