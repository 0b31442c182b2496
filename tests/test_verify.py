"""verify: modified, truncated and missing data are reported; intact stores pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from explorer import RunWriter


def _store(store_path: str) -> dict[str, str]:
    with RunWriter(store_path, run_id="r1") as run:
        paths = {
            "t": run.write("t", pd.DataFrame({"a": range(100)})).data_path,
            "d": run.write("d", pd.DataFrame({"a": [1, 2], "p": ["x", "y"]}), format="directory", partition_by=["p"]).data_path,
            "j": run.write("j", {"k": 1}).data_path,
            "b": run.write("b", b"0123456789").data_path,
        }
    return paths


def test_intact_store_verifies(store_path, cli):
    _store(store_path)
    r = cli("verify", store_path, "--format", "json")
    assert r.code == 0
    assert r.json()["checked"] == 4 and r.json()["problems"] == 0


def test_modified_truncated_and_missing(store_path, cli):
    paths = _store(store_path)
    root = Path(store_path)
    (root / paths["b"]).write_bytes(b"0123")  # truncated
    j = root / paths["j"]
    j.write_bytes(j.read_bytes().replace(b"1", b"2"))  # modified, same size
    shutil.rmtree(root / paths["d"])  # missing directory
    r = cli("verify", store_path, "--format", "json")
    assert r.code == 1
    got = {v["asset"]: v["status"] for v in r.json()["versions"]}
    assert got == {"b": "truncated", "j": "modified", "d": "missing"}
    table = cli("verify", store_path)
    assert "truncated" in table.out and "3 with problems" in table.out


def test_directory_file_changed(store_path, cli):
    paths = _store(store_path)
    part = next((Path(store_path) / paths["d"]).rglob("*.parquet"))
    part.write_bytes(part.read_bytes() + b"x")
    r = cli("verify", store_path, "--run", "r1", "--format", "json")
    assert r.code == 1
    assert [(v["asset"], v["status"]) for v in r.json()["versions"]] == [("d", "modified")]
