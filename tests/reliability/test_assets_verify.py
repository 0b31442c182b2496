"""``assets --verify``: the listed versions' data is hashed again; a version whose bytes no longer
match its sidecar is shown as ``corrupt`` (status column, JSON ``integrity``) and the command
exits 1. Truth: hashes computed here from the files, expected hashes read from the sidecars."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest


@pytest.fixture
def demo_copy(tmp_path, demo_path) -> Path:
    dst = tmp_path / "store"
    shutil.copytree(demo_path, dst)
    return dst


def _sidecar(root: Path, run_id: str, asset: str) -> dict:
    return json.loads((root / run_id / "_frontier" / "versions" / (asset.replace("/", "%2F") + ".json")).read_text())


def _runs_with(root: Path, asset: str) -> list[str]:
    """Runs holding a version of ``asset``, oldest first (run ids sort by time in the demo store)."""
    name = asset.replace("/", "%2F") + ".json"
    return sorted(d.name for d in root.iterdir() if (d / "_frontier" / "versions" / name).exists())


def test_an_intact_store_verifies(demo_copy, cli):
    plain = cli("assets", demo_copy, "--format", "json")
    r = cli("assets", demo_copy, "--verify", "--format", "json")
    assert r.code == 0, r.err
    rows = r.json()
    assert {row["integrity"]["status"] for row in rows} == {"ok"}
    # the verified listing is the plain listing plus the integrity of each row
    assert [{k: v for k, v in row.items() if k != "integrity"} for row in rows] == plain.json()
    for row in rows:
        side = _sidecar(demo_copy, row["latest_run_id"], row["asset"])
        data = (demo_copy / side["data_path"]) if "data_path" in side else None
        if data is not None and data.is_file():
            assert row["integrity"]["actual_hash"] == "sha256:" + hashlib.sha256(data.read_bytes()).hexdigest()
        assert row["integrity"]["expected_hash"] == side["content_hash"]


def test_one_modified_data_file_is_corrupt_and_exits_1(demo_copy, cli):
    latest = _runs_with(demo_copy, "scores")[-1]
    side = _sidecar(demo_copy, latest, "scores")
    path = demo_copy / latest / "scores.parquet"
    assert side["content_hash"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()  # intact before
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte, same size
    path.write_bytes(bytes(damaged))
    plain = {row["asset"]: row for row in cli("assets", demo_copy, "--format", "json").json()}

    r = cli("assets", demo_copy, "--verify", "--format", "json")
    assert r.code == 1
    rows = {row["asset"]: row for row in r.json()}
    assert {k for k, row in rows.items() if row["status"] == "corrupt"} == {"scores"}
    got = rows["scores"]["integrity"]
    assert got["status"] == "modified" and got["run_id"] == latest
    assert got["expected_hash"] == side["content_hash"]
    assert got["actual_hash"] == "sha256:" + hashlib.sha256(bytes(damaged)).hexdigest()
    assert got["actual_size"] == got["expected_size"] == len(damaged)
    # every other asset keeps the status the plain listing gives it
    assert {k: row["status"] for k, row in rows.items() if k != "scores"} == {
        k: row["status"] for k, row in plain.items() if k != "scores"}

    table = cli("assets", demo_copy, "--verify")
    assert table.code == 1
    line = next(x for x in table.out.splitlines() if x.strip("│ ").startswith("scores"))
    assert "corrupt" in line
    assert sum("corrupt" in x for x in table.out.splitlines() if "│" in x) == 1
    assert "1 corrupt" in table.out and f"scores @ {latest}: modified" in table.out
    # without --verify nothing is hashed and nothing is reported
    assert cli("assets", demo_copy).code == 0


def test_a_truncated_older_version_shows_only_when_its_run_is_listed(demo_copy, cli):
    runs = _runs_with(demo_copy, "features")
    older = runs[0]
    path = demo_copy / older / "features.parquet"
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 3])
    r = cli("assets", demo_copy, "--verify", "--format", "json")
    assert r.code == 0 and all(row["status"] != "corrupt" for row in r.json())  # latest versions are intact
    r = cli("assets", demo_copy, "--run", older, "--verify", "--format", "json")
    assert r.code == 1
    rows = {row["asset"]: row for row in r.json()}
    assert rows["features"]["status"] == "corrupt"
    assert rows["features"]["integrity"]["status"] == "truncated"
    assert rows["features"]["integrity"]["actual_size"] == size // 3
    assert [k for k, row in rows.items() if row["status"] == "corrupt"] == ["features"]


def test_a_missing_data_file_is_corrupt(demo_copy, cli):
    latest = _runs_with(demo_copy, "models/credit_risk")[-1]
    (demo_copy / latest / "models" / "credit_risk.json").unlink()
    r = cli("assets", demo_copy, "--verify", "--format", "json")
    assert r.code == 1
    rows = {row["asset"]: row for row in r.json()}
    assert rows["models/credit_risk"]["status"] == "corrupt"
    assert rows["models/credit_risk"]["integrity"]["status"] == "missing"
