"""``frontier-explore stale`` and the status column of ``assets``: output and exit codes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from explorer.store.writer import RunWriter

# From the demo story (explorer/demo.py): R8 refreshed the raw data, R9 re-ingested identical
# bytes, R7's reports/drift step failed.
DEMO_EXPECTED = {
    "raw/applications": "fresh",
    "raw/bureau": "fresh",
    "clean/applications": "stale",
    "features": "stale",
    "models/credit_risk": "stale",
    "metrics/evaluation": "stale",
    "scores": "stale",
    "reports/score_distribution": "stale",
    "reports/drift": "missing",
}


def fresh_store(path: str) -> str:
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    with RunWriter(path, job="j", code_version="v1", run_id="r1", started_at=start,
                   plan={"a": [], "b": ["a"]}) as run:
        run.write("a", b"A", format="bytes")
        run.write("b", b"B", inputs=["a"], format="bytes")
    return path


def test_json_on_the_demo_store(cli, demo_path, demo_runs):
    res = cli("stale", demo_path, "--format", "json")
    assert res.code == 1
    doc = res.json()
    assert set(doc) >= {"store", "as_of", "assets"} and doc["as_of"] is None
    assert {a["asset"]: a["status"] for a in doc["assets"]} == DEMO_EXPECTED
    for a in doc["assets"]:
        assert set(a) >= {"asset", "status", "run_id", "causes", "root_causes"}
    scores = next(a for a in doc["assets"] if a["asset"] == "scores")
    assert scores["run_id"] == demo_runs["R7"]
    assert sorted((c["kind"], c["asset"]) for c in scores["causes"]) == [
        ("upstream_stale", "features"), ("upstream_stale", "models/credit_risk")]
    roots = {(c["asset"], c["kind"], c["run_id"]) for c in scores["root_causes"]}
    assert roots == {("raw/applications", "upstream_changed", demo_runs["R8"]),
                     ("raw/bureau", "upstream_changed", demo_runs["R8"])}
    chains = {tuple(c["chain"]) for c in scores["root_causes"]}
    assert chains == {("scores", "features"), ("scores", "features", "clean/applications")}


def test_markdown_has_summary_table_and_chains(cli, demo_path, demo_runs):
    res = cli("stale", demo_path, "--format", "markdown")
    assert res.code == 1
    lines = res.out.splitlines()
    assert lines[0].startswith("**Staleness:** 2 fresh, 6 stale, 1 missing")
    rows = [ln for ln in lines if ln.startswith("| `")]
    assert sorted(r.split("`")[1] for r in rows) == sorted(k for k, s in DEMO_EXPECTED.items() if s != "fresh")
    r8 = demo_runs["R8"]
    assert f"- `scores` <- `features` <- raw/bureau changed in run {r8} at 2026-11-03" in res.out
    assert f"- `scores` <- `features` <- `clean/applications` <- raw/applications changed in run {r8}" in res.out
    drift = next(r for r in rows if "reports/drift" in r)
    assert "missing" in drift and demo_runs["R7"] in drift


def test_table_shows_every_asset_and_reason(cli, demo_path, demo_runs):
    res = cli("stale", demo_path)
    assert res.code == 1
    assert "2 fresh, 6 stale, 1 missing" in res.out
    for key in DEMO_EXPECTED:
        assert key in res.out
    assert f"raw/bureau changed in run {demo_runs['R8']}" in res.out
    assert "never materialized; planned by" in res.out


@pytest.mark.parametrize("fail_on,code", [("stale", 1), ("missing", 1), ("none", 0)])
def test_fail_on_demo(cli, demo_path, fail_on, code):
    assert cli("stale", demo_path, "--fail-on", fail_on, "--format", "json").code == code


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_fresh_store_exits_zero(cli, store_path, fmt):
    res = cli("stale", fresh_store(store_path), "--format", fmt)
    assert res.code == 0
    if fmt == "markdown":
        assert "Every asset is fresh." in res.out
    if fmt == "json":
        assert {a["asset"]: a["status"] for a in res.json()["assets"]} == {"a": "fresh", "b": "fresh"}


def test_as_of(cli, demo_path, demo_runs):
    res = cli("stale", demo_path, "--as-of", demo_runs["R4"], "--format", "json")
    assert res.code == 0  # R4 re-executed the pipeline from R3's outputs: all fresh
    assert res.json()["as_of_run"] == demo_runs["R4"]
    res = cli("stale", demo_path, "--as-of", demo_runs["R7"], "--format", "json")
    assert res.code == 1  # drift missing counts for the default --fail-on stale
    assert cli("stale", demo_path, "--as-of", demo_runs["R7"], "--fail-on", "missing").code == 1
    assert cli("stale", demo_path, "--as-of", demo_runs["R6"], "--fail-on", "missing").code == 0
    res = cli("stale", demo_path, "--as-of", "2026-10-28T00:00:00Z", "--format", "markdown")
    assert "as of 2026-10-28T00:00:00Z" in res.out.splitlines()[0]


def test_max_age(cli, demo_path):
    # every demo version is from 2026-11-10 or earlier, so a 1-day limit makes all of them too old
    doc = cli("stale", demo_path, "--max-age", "1d", "--format", "json").json()
    assert {a["asset"]: a["status"] for a in doc["assets"]} == {
        k: ("missing" if s == "missing" else "stale") for k, s in DEMO_EXPECTED.items()}
    raw = next(a for a in doc["assets"] if a["asset"] == "raw/bureau")
    assert [c["kind"] for c in raw["causes"]] == ["too_old"] and raw["causes"][0]["max_age_seconds"] == 86400
    doc = cli("stale", demo_path, "--max-age", "100000d", "--format", "json").json()
    assert {a["asset"]: a["status"] for a in doc["assets"]} == DEMO_EXPECTED


@pytest.mark.parametrize("args,message", [
    (["--max-age", "soon"], "invalid duration"),
    (["--as-of", "not-a-run"], "neither a run id"),
])
def test_bad_arguments_exit_2_with_one_line(cli, demo_path, args, message):
    res = cli("stale", demo_path, *args)
    assert res.code == 2 and res.out == ""
    assert message in res.err and len(res.err.strip().splitlines()) == 1 and "Traceback" not in res.err


def test_missing_store_exits_2(cli, tmp_path):
    res = cli("stale", tmp_path / "nope")
    assert res.code == 2 and "no frontier store" in res.err


def test_assets_json_has_status(cli, demo_path, demo_runs):
    rows = cli("assets", demo_path, "--format", "json").json()
    assert {r["asset"]: r["status"] for r in rows} == {k: s for k, s in DEMO_EXPECTED.items() if s != "missing"}
    # an old run's versions are not the current ones
    rows = cli("assets", demo_path, "--run", demo_runs["R1"], "--format", "json").json()
    assert {r["status"] for r in rows} == {"superseded"}
    rows = cli("assets", demo_path, "--run", demo_runs["R9"], "--format", "json").json()
    assert {r["asset"]: r["status"] for r in rows} == {"raw/applications": "fresh", "raw/bureau": "fresh"}


def test_assets_table_shows_status(cli, demo_path):
    res = cli("assets", demo_path)
    assert res.code == 0
    line = next(ln for ln in res.out.splitlines() if " scores " in ln)
    assert "stale" in line
    line = next(ln for ln in res.out.splitlines() if " raw/bureau " in ln)
    assert "fresh" in line


def test_markdown_table_keeps_its_columns_whatever_the_asset_names(cli, tmp_path):
    """Asset keys with | and backticks, a cause naming them: every row still has four cells
    (GitHub splits cells at each unescaped |, also inside code)."""
    import re

    import pandas as pd

    store = str(tmp_path / "s")
    odd = "raw/a|b`c"
    with RunWriter(store, run_id="r1") as run:
        run.write(odd, pd.DataFrame({"a": [1]}))
        run.write("out|x", pd.DataFrame({"a": [1]}), inputs=[odd])
    with RunWriter(store, run_id="r2") as run:
        run.write(odd, pd.DataFrame({"a": [2]}))
    res = cli("stale", store, "--format", "markdown")
    assert res.code == 1, res.err
    rows = [line for line in res.out.splitlines() if line.startswith("| ")]
    assert len(rows) == 2  # the header and out|x, the one stale asset
    for line in rows:
        assert len(re.split(r"(?<!\\)\|", line)) == 6, line  # 4 cells between 5 bars
    assert "out\\|x" in rows[1] and "raw/a\\|b`c" in rows[1]
