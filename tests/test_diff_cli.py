"""The diff and history commands as a user runs them."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from explorer import RunWriter

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_diff_json_has_the_documented_shape(cli, demo_path, demo_runs):
    r = cli("diff", demo_path, "features", demo_runs["R5"], demo_runs["R6"], "--format", "json")
    assert r.code == 0, r.err
    out = r.json()
    for key in ("asset", "a", "b", "kind", "same_content", "schema", "rows", "columns_changed", "samples",
                "metadata", "lineage"):
        assert key in out
    assert (out["asset"], out["a"], out["b"], out["kind"]) == ("features", demo_runs["R5"], demo_runs["R6"], "table")
    assert set(out["schema"]) == {"added", "removed", "changed"}
    assert set(out["rows"]) == {"a", "b", "added", "removed", "changed", "unchanged"}
    assert out["schema"]["added"][0]["column"] == "loan_to_income"


def test_diff_table_output_and_exit_code(cli, demo_path, demo_runs):
    r = cli("diff", demo_path, "scores", demo_runs["R6"], demo_runs["R7"], "--exit-code", "--limit", "3")
    assert r.code == 1
    a = pd.read_parquet(Path(demo_path, demo_runs["R6"], "scores.parquet"))
    b = pd.read_parquet(Path(demo_path, demo_runs["R7"], "scores.parquet"))
    m = a.merge(b, on="application_id", suffixes=("_a", "_b"))
    changed = int(((m["decision_a"] != m["decision_b"]) | (m["score_a"] != m["score_b"])).sum())
    assert f"{changed} changed" in r.out
    assert "approve_below: 0.15 -> 0.12" in r.out
    assert "changed rows (first 3)" in r.out
    same = cli("diff", demo_path, "raw/applications", "previous", "latest", "--exit-code")
    assert same.code == 0 and "same content" in same.out
    assert cli("diff", demo_path, "scores", demo_runs["R6"], demo_runs["R7"]).code == 0  # no --exit-code


def test_diff_markdown(cli, demo_path, demo_runs):
    r = cli("diff", demo_path, "scores", demo_runs["R2"], demo_runs["R5"], "--format", "markdown", "--limit", "2")
    assert r.code == 0
    assert r.out.startswith("## scores (table, parquet)")
    assert "| application_id | column | A | B |" in r.out
    assert "**why**" in r.out and "raw/applications gained" in r.out


def test_diff_key_and_tolerance_options(cli, store_path):
    a = pd.DataFrame({"id": [1, 2, 3], "x": [1.0, 2.0, 3.0]})
    b = pd.DataFrame({"id": [3, 2, 1], "x": [3.05, 2.0, 1.0]})
    for i, df in enumerate((a, b), start=1):
        with RunWriter(store_path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", df)
    unkeyed = cli("diff", store_path, "t", "r1", "r2", "--format", "json").json()
    assert unkeyed["rows"]["added"] == 1 and unkeyed["rows"]["removed"] == 1
    keyed = cli("diff", store_path, "t", "r1", "r2", "--key", "id", "--format", "json").json()
    assert keyed["rows"]["changed"] == 1 and keyed["columns_changed"] == {"x": 1}
    tol = cli("diff", store_path, "t", "r1", "r2", "-k", "id", "--tolerance", "0.1", "--exit-code")
    assert tol.code == 0 and "0 changed" in tol.out


@pytest.mark.parametrize(
    "argv, message",
    [
        (("nope", "previous", "latest"), "unknown asset 'nope'"),
        (("features", "previous", "r99"), "unknown run 'r99'"),
        (("features", "previous", "latest", "--key", "nope"), "key column 'nope' is missing"),
        (("models/credit_risk", "previous", "latest", "--key", "id"), "--key applies to tables"),
    ],
)
def test_diff_bad_input_exits_2_with_one_line(cli, demo_path, argv, message):
    r = cli("diff", demo_path, *argv)
    assert r.code == 2
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.err


def test_diff_of_two_formats_exits_2(cli, store_path):
    df = pd.DataFrame({"id": [1, 2]})
    with RunWriter(store_path, run_id="r1", started_at=T0) as run:
        run.write("t", df)
    with RunWriter(store_path, run_id="r2", started_at=T0 + timedelta(days=1)) as run:
        run.write("t", df, format="csv")
    r = cli("diff", store_path, "t", "r1", "r2")
    assert r.code == 2 and "version A (run r1) is parquet but version B (run r2) is csv" in r.err


def test_history_formats(cli, demo_path):
    runs = sorted(p.name for p in demo_path.iterdir() if (p / "raw/applications.parquet").exists())
    counts = [pq.ParquetFile(demo_path / r / "raw/applications.parquet").metadata.num_rows for r in runs]
    j = cli("history", demo_path, "raw/applications", "--format", "json")
    assert j.code == 0
    assert [row["run_id"] for row in j.json()] == runs
    assert [row["num_rows"] for row in j.json()] == counts
    assert j.json()[0]["started_at"].endswith("Z")
    c = cli("history", demo_path, "raw/applications", "--format", "csv", "--stat", "num_rows", "--stat", "income.max")
    rows = list(csv.DictReader(io.StringIO(c.out)))
    assert list(rows[0]) == ["run_id", "started_at", "status", "hash", "num_rows", "income.max"]
    assert [int(r["num_rows"]) for r in rows] == counts
    t = cli("history", demo_path, "raw/applications")
    assert t.code == 0 and all(r in t.out for r in runs)
    bad = cli("history", demo_path, "raw/applications", "--stat", "wat")
    assert bad.code == 2 and "unknown statistic" in bad.err


def test_history_plot(cli, demo_path):
    r = cli("history", demo_path, "raw/applications", "--stat", "num_rows", "--plot")
    assert r.code == 0
    assert "raw/applications: num_rows" in r.out
    assert "2026-09-01" in r.out  # x labels are the run dates


def test_history_plot_keeps_json_clean(cli, demo_path):
    r = cli("history", demo_path, "raw/applications", "--plot", "--format", "json")
    assert r.code == 0
    assert isinstance(r.json(), list)
    assert "raw/applications: num_rows" in r.err
