"""CLI tables fit the width they are printed at (issue 17): identifiers, times and hashes are
never broken over lines, columns that do not fit are left out with a note naming them,
``COLUMNS`` is honoured when piped, and ``--format tsv`` gives every column for scripts."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from explorer import RunWriter

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)
TAGS = {"team": "credit-risk-modelling", "env": "production", "trigger": "schedule", "owner": "someone@example.com"}


@pytest.fixture(scope="module")
def wide_store(tmp_path_factory):
    """Runs whose job, code version and tags are long: what made every run five lines tall."""
    root = tmp_path_factory.mktemp("wide") / "store"
    frame = pd.DataFrame({"id": range(5), "x": range(5)})
    for i in range(4):
        with RunWriter(str(root), job="nightly_credit_pipeline_full_refresh", code_version=f"git-{i:040x}",
                       tags=TAGS, started_at=T0 + timedelta(days=i)) as run:
            run.write("raw/applications", frame.assign(x=frame.x + i), metadata={"note": "a fairly long sentence " * 3})
            run.write("features", frame, inputs=["raw/applications"])
    return root


def run_ids(root) -> list[str]:
    """The store's runs, straight from its folders."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))


def widest(out: str) -> int:
    return max((len(line.rstrip()) for line in out.splitlines()), default=0)


@pytest.mark.parametrize("columns", [80, 60, 120])
def test_runs_fit_and_ids_never_break(wide_store, cli, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    r = cli("runs", wide_store)
    assert r.code == 0, r.err
    assert widest(r.out) <= columns
    lines = r.out.splitlines()
    for rid in run_ids(wide_store):
        assert sum(rid in line for line in lines) == 1, (rid, r.out)  # whole, on exactly one line
    body = [line for line in lines if any(rid in line for rid in run_ids(wide_store))]
    assert len(body) == len(run_ids(wide_store))  # one line per run, not five
    if columns < 120:
        assert "not shown at" in r.out and "tags" in r.out.split("not shown at")[1]


def test_what_fits_is_shown_and_what_is_dropped_is_named(wide_store, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("runs", wide_store).out
    heading = next(line for line in out.splitlines() if "run" in line and "status" in line)
    shown = {w.strip() for w in re.split(r"[┃│]", heading) if w.strip()}
    note = " ".join(out.split("not shown at 80 columns:")[1].split())
    dropped = {w.strip() for w in note.split("(")[0].split(",")}
    assert shown | dropped == {"run", "job", "status", "started", "duration", "assets", "code", "tags"}
    assert not shown & dropped
    assert {"run", "job", "status"} <= shown


def test_columns_is_honoured_when_piped_and_200_without_it(wide_store, cli, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    wide = cli("runs", wide_store).out
    assert "not shown at" not in wide and widest(wide) <= 200
    for tag in TAGS.values():
        assert tag in wide


@pytest.mark.parametrize("command", [("runs",), ("assets",), ("versions", "raw/applications"), ("flags",),
                                     ("history", "raw/applications")])
def test_tsv_has_every_column_and_row_of_json(wide_store, cli, command):
    name, *rest = command
    r = cli(name, wide_store, *rest, "--format", "tsv")
    assert r.code == 0, r.err
    rows = list(csv.reader(io.StringIO(r.out), delimiter="\t"))
    assert len({len(row) for row in rows}) == 1  # a rectangle: no value broke a line
    count = len(cli(name, wide_store, *rest, "--format", "json").json())
    assert len(rows) == 1 + count


def test_tsv_of_runs_is_the_store(wide_store, cli):
    rows = list(csv.DictReader(io.StringIO(cli("runs", wide_store, "-f", "tsv").out), delimiter="\t"))
    assert sorted(r["run"] for r in rows) == run_ids(wide_store)
    assert all(r["job"] == "nightly_credit_pipeline_full_refresh" for r in rows)
    assert all(r["tags"] == " ".join(f"{k}={v}" for k, v in TAGS.items()) for r in rows)


@pytest.mark.parametrize("args", [("assets",), ("versions", "raw/applications"), ("history", "raw/applications"),
                                  ("stale",), ("lineage",)])
def test_other_tables_fit_80_columns(wide_store, cli, monkeypatch, args):
    monkeypatch.setenv("COLUMNS", "80")
    r = cli(args[0], wide_store, *args[1:])
    assert r.code in (0, 1), r.err
    assert widest(r.out) <= 80
    for rid in run_ids(wide_store):
        for line in r.out.splitlines():  # a run id is either whole on a line or absent from it
            assert not (rid[:12] in line and rid not in line and "…" not in line), line


def test_stale_at_80_columns_is_a_list_with_every_cause(demo_path, cli, monkeypatch):
    report = cli("stale", demo_path, "-f", "json").json()
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("stale", demo_path).out
    assert widest(out) <= 80
    # no line padded out to the width (a CI log, a pasted report); wrapped lines hang under their label
    assert [line for line in out.splitlines() if line != line.rstrip()] == []
    wrapped = [line for line in out.splitlines() if line.startswith("    ")]
    assert wrapped and all(not line.startswith("     ") for line in wrapped)
    flat = " ".join(out.split())
    for a in report["assets"]:
        assert a["asset"] in flat
        for c in a["causes"]:
            assert c["asset"] in flat


def test_counts_take_the_right_plural(tmp_path, cli):
    root = tmp_path / "one"
    with RunWriter(str(root), job="j", started_at=T0) as run:
        run.write("only", pd.DataFrame({"a": [1]}))
    assert "1 run in" in cli("runs", root).out
    assert "1 asset in" in cli("assets", root).out
    assert "1 version of only" in cli("versions", root, "only").out
    assert "0 active flags" in cli("flags", root).out
    assert "1 row" in cli("sql", root, "select 1 as x").out


def test_show_at_80_columns_keeps_values_whole_and_names_what_is_left_out(demo_path, cli, monkeypatch):
    import pyarrow.parquet as pq

    facts = cli("show", demo_path, "features", "--format", "json").json()
    frame = pq.read_table(demo_path / facts["data_path"]).to_pandas().head(3)
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("show", demo_path, "features", "--rows", "3").out
    assert widest(out) <= 80
    preview = out.split("first 3 rows")[1]
    for value in frame.iloc[:, 0]:
        assert str(value) in preview  # the first column, whole
    for name in frame.columns:  # each column either in the schema rows or named as left out
        assert name in out
    note = " ".join(preview.split("not shown at 80 columns:")[1].split())
    assert frame.columns[-1] in note
