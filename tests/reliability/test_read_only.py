"""Reading never writes: every read command leaves every object of the store unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from explorer.cli import build_parser

# Every read-only subcommand with arguments that exercise it on the demo store.
# A new subcommand must be added here or to WRITE_COMMANDS (test_every_command_is_classified).
READ_COMMANDS: dict[str, list[list[str]]] = {
    "runs": [["--format", "json"], []],
    "assets": [["--format", "json"], [], ["--verify"]],
    "lineage": [["--format", "json"], ["features", "--format", "mermaid"]],
    "show": [["features"], ["models/credit_risk", "--format", "json"]],
    "provenance": [["scores"]],
    "impact": [["raw/applications"]],
    "verify": [[]],
    "diff": [["scores", "previous", "latest"], ["features", "20261013T020000Z-r5", "20261020T020000Z-r6", "--format", "json"],
             ["models/credit_risk", "previous", "latest", "--format", "markdown"]],
    "history": [["raw/applications", "--stat", "num_rows", "--plot"], ["features", "--format", "json"]],
    "sql": [["select count(*) from features"], ["select * from versions", "--format", "json"], ['select count(*) from "scores@*"']],
    "export": [["--format", "openlineage"], ["--format", "dot"], ["--format", "mermaid"]],
    "versions": [["features"]],
    "find": [["scores", "--built-from", "raw/applications=20260929T020000Z-r3"]],
    "flags": [[]],
    "trace": [["scores", "--where", "application_id=100007"], ["scores", "--where", "application_id=100007", "--format", "markdown"]],
    "stale": [["--format", "json"], ["--format", "markdown"], ["--as-of", "20260929T020000Z-r3"]],
    "compare": [[], ["r5", "r6", "--metric", "metrics/evaluation:auc", "--format", "json"]],
    "diff-runs": [["r5", "r6", "--tables"], ["r2", "r4", "--format", "json"]],
}
WRITE_COMMANDS = {"flag", "unflag", "dagster-consolidate", "checkpoint"}
# demo writes a new copy of the bundled demo store (tests/test_packaging.py); completion prints a
# script; __complete opens the store on the line read-only (tests/test_completion.py checks it)
NOT_STORE_COMMANDS = {"cache", "stores", "demo", "completion", "__complete"}
# write a file of their own outside the store (test_output_commands_change_nothing)
OUTPUT_COMMANDS = {"catalog": ["--output", "{out}/store.duckdb"], "report": ["--output", "{out}/report.html"]}
# serves the app, read-only unless --allow-flags (tests/test_serve.py presses f and finds no flag written)
SERVER_COMMANDS = {"serve"}


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every object under root: (sha256, size, mtime_ns); directories too."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath, d)
            out[str(p.relative_to(root)) + "/"] = ("dir", 0, 0)
        for f in filenames:
            p = Path(dirpath, f)
            st = p.stat()
            out[str(p.relative_to(root))] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def store_copy(tmp_path, demo_path) -> Path:
    dst = tmp_path / "store"
    shutil.copytree(demo_path, dst)
    return dst


def test_every_command_is_classified():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    names = set(sub.choices)
    unclassified = names - set(READ_COMMANDS) - WRITE_COMMANDS - NOT_STORE_COMMANDS - set(OUTPUT_COMMANDS) - SERVER_COMMANDS
    assert unclassified == set(), f"add these subcommands to the read-only test: {unclassified}"


def test_read_commands_change_nothing(store_copy, cli):
    before = snapshot(store_copy)
    for command, variants in READ_COMMANDS.items():
        for args in variants:
            r = cli(command, store_copy, *args)
            assert r.code in (0, 1), (command, args, r.err)
    assert snapshot(store_copy) == before


def test_output_commands_change_nothing(store_copy, cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(store_copy)
    for command, args in OUTPUT_COMMANDS.items():
        r = cli(command, store_copy, *(a.format(out=out) for a in args))
        assert r.code == 0, (command, r.err)
    assert snapshot(store_copy) == before
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "store.duckdb"]


def test_library_reads_change_nothing(store_copy):
    from explorer import Store

    before = snapshot(store_copy)
    store = Store.open(str(store_copy))
    for key in store.assets():
        for v in store.asset_versions(key):
            if v.data_format != "pickle":
                store.load(key, run=v.run_id)
            store.preview(key, run=v.run_id)
            store.provenance(key, v.run_id)
            store.impact(key, v.run_id)
    store.refresh()
    assert snapshot(store_copy) == before
