"""The JSON shape of every foundation subcommand, checked against the store on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _manifests(demo_path: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(demo_path.glob("*/_frontier/run.json"))]


def test_runs_json(cli, demo_path):
    r = cli("runs", demo_path, "--format", "json")
    assert r.code == 0, r.err
    got = r.json()
    manifests = _manifests(demo_path)
    assert [x["run_id"] for x in got] == sorted((m["run_id"] for m in manifests), reverse=True)  # newest first
    by_id = {m["run_id"]: m for m in manifests}
    for row in got:
        m = by_id[row["run_id"]]
        assert row["job"] == m["job"] and row["status"] == m["status"]
        assert row["started_at"].startswith(m["started_at"][:19])
        assert row["finished_at"].startswith(m["finished_at"][:19])
        assert row["assets"] == len(m["versions"])


def test_assets_json(cli, demo_path):
    r = cli("assets", demo_path, "--format", "json")
    assert r.code == 0, r.err
    sidecars = [json.loads(p.read_text()) for p in demo_path.glob("*/_frontier/versions/*.json")]
    expected = {}
    for d in sorted(sidecars, key=lambda d: d["created_at"]):
        e = expected.setdefault(d["asset"], {"versions": 0})
        e["versions"] += 1
        e["latest_run_id"] = d["run_id"]
        e["format"] = d["data_format"]
    got = {row["asset"]: row for row in r.json()}
    assert got.keys() == expected.keys()
    for key, e in expected.items():
        assert {k: got[key][k] for k in e} == e


def test_assets_of_one_run(cli, demo_path, demo_runs):
    r = cli("assets", demo_path, "--run", demo_runs["R3"], "--format", "json")
    assert sorted(x["asset"] for x in r.json()) == ["clean/applications", "raw/applications", "raw/bureau"]


def test_lineage_json_and_filters(cli, demo_path):
    r = cli("lineage", demo_path, "--format", "json")
    data = r.json()
    assert {"from": "features", "to": "scores"} in data["edges"]
    assert {n["asset"] for n in data["nodes"]} >= {"raw/applications", "scores", "reports/drift"}
    up = cli("lineage", demo_path, "features", "--upstream", "--format", "json").json()
    assert {n["asset"] for n in up["nodes"]} == {"features", "clean/applications", "raw/applications", "raw/bureau"}
    down = cli("lineage", demo_path, "models/credit_risk", "--downstream", "--format", "json").json()
    assert {n["asset"] for n in down["nodes"]} == {
        "models/credit_risk", "metrics/evaluation", "scores", "reports/score_distribution", "reports/drift"}


def test_lineage_mermaid_and_dot(cli, demo_path):
    mer = cli("lineage", demo_path, "--format", "mermaid").out
    assert mer.startswith("flowchart LR") and "n_features --> n_scores" in mer and 'subgraph g_raw["raw"]' in mer
    dot = cli("lineage", demo_path, "--format", "dot").out
    assert dot.startswith("digraph") and '"features" -> "scores";' in dot


def test_show_json(cli, demo_path):
    r = cli("show", demo_path, "features", "--rows", "3", "--format", "json")
    data = r.json()
    import pandas as pd

    expected = pd.read_parquet(demo_path / data["data_path"]).head(3)
    assert data["preview"] == json.loads(expected.to_json(orient="records"))
    assert data["table"]["num_rows"] == len(pd.read_parquet(demo_path / data["data_path"]))


def test_show_table_mentions_facts(cli, demo_path):
    r = cli("show", demo_path, "models/credit_risk")
    assert r.code == 0
    assert "content hash" in r.out and "logistic_regression" in r.out


def test_provenance_and_impact_json(cli, demo_path, demo_runs):
    prov = cli("provenance", demo_path, "scores", "--format", "json").json()
    assert prov["root"]["asset"] == "scores"
    for v in prov["versions"]:
        assert set(v) >= {"asset", "run_id", "content_hash"}
        sidecar = demo_path / v["run_id"] / "_frontier" / "versions" / (v["asset"].replace("/", "%2F") + ".json")
        assert json.loads(sidecar.read_text())["content_hash"] == v["content_hash"]
    assert all(set(e) == {"from", "to"} for e in prov["edges"])
    imp = cli("impact", demo_path, "raw/applications", "--run", demo_runs["R8"], "--format", "json").json()
    assert [v["asset"] for v in imp["versions"]] == ["raw/applications"]  # nothing built from R8 yet
    assert imp["edges"] == []


def test_table_outputs_render(cli, demo_path):
    for args in (("runs",), ("assets",), ("lineage",), ("provenance", "scores"), ("impact", "features")):
        r = cli(args[0], demo_path, *args[1:])
        assert r.code == 0 and r.out.strip(), args


def test_console_script_entry_point(demo_path):
    out = subprocess.run([sys.executable, "-m", "explorer", "runs", str(demo_path), "--format", "json"],
                         capture_output=True, text=True, check=True)
    assert len(json.loads(out.stdout)) >= 8


def test_bad_storage_option_is_usage_error(cli, demo_path):
    r = cli("runs", demo_path, "--storage-option", "novalue")
    assert r.code == 2 and "KEY=VALUE" in r.err


def test_command_names_match_the_parser():
    import argparse

    from explorer.cli import COMMAND_NAMES, build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMAND_NAMES)


def test_command_modules_name_the_module_that_registers_each_command():
    import argparse
    import importlib

    from explorer.cli import COMMAND_MODULE_NAMES, COMMAND_MODULES, COMMAND_NAMES

    registered = {}
    for module in COMMAND_MODULE_NAMES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"explorer.cli.{module}").register(sub)
        registered.update(dict.fromkeys(sub.choices, module))
    assert COMMAND_MODULES == {c: registered[c] for c in COMMAND_NAMES}


def test_a_command_builds_only_its_own_parser(demo_path):
    """Running ``diff`` imports no other command's module (nor the staleness rules they need),
    and answers as before; ``--help`` before the command still lists every command."""
    import subprocess
    import sys

    code = (
        "import sys; from explorer.cli import main; rc = main(sys.argv[1:]); "
        "print(sorted(m for m in sys.modules if m.startswith('explorer.cli.')), file=sys.stderr); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, "diff", str(demo_path), "features", "previous", "latest",
                           "--format", "json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["asset"] == "features"
    loaded = eval(proc.stderr.strip().splitlines()[-1])
    assert "explorer.cli.diff" in loaded
    assert not {"explorer.cli.foundation", "explorer.cli.stale", "explorer.cli.catalogue", "explorer.cli.share"} & set(loaded)
    top = subprocess.run([sys.executable, "-m", "explorer", "-q", "--help", "diff"], capture_output=True, text=True,
                         timeout=120)
    assert "runs" in top.stdout and "stale" in top.stdout and "diff" in top.stdout
