"""Start in a blink (issue 15): each command imports only what it needs.

Every check runs the CLI in a fresh Python process and reads ``sys.modules`` when the command
has finished: the mechanism (which heavy libraries were imported), never a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from explorer.cli import COMMAND_NAMES

HEAVY = ("pandas", "pyarrow", "numpy", "duckdb", "networkx", "textual")

# Runs each argv of a JSON list through explorer.cli.main in this one process (a --help ends
# with SystemExit, caught), then prints the exit codes and the heavy modules loaded, as JSON, on
# the last line of stderr. Output of the commands goes to stdout, each ended by a NUL.
WRAPPER = r"""
import json, sys
from explorer.cli import main
codes = []
for argv in json.loads(sys.argv[1]):
    try:
        codes.append(main(argv))
    except SystemExit as exc:
        codes.append(exc.code)
    sys.stdout.write("\0")  # the end of this command's output
sys.stdout.flush()
print(json.dumps({"codes": codes, "loaded": sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)}),
      file=sys.stderr)
"""


def run_commands(*argvs: list[str], cwd=None, watch=HEAVY) -> tuple[list, list[str], list[str]]:
    """Exit codes, modules of ``watch`` imported and standard outputs of ``argvs`` run in one fresh process."""
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.run([sys.executable, "-c", WRAPPER, json.dumps([list(a) for a in argvs]), json.dumps(list(watch))],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["codes"], report["loaded"], proc.stdout.split("\0")[:-1]


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["stores"], ["cache", "info"]])
def test_commands_without_a_store_import_nothing_heavy(argv):
    codes, loaded, out = run_commands(argv)
    assert codes == [0]
    assert out[0].strip()  # it did print its answer
    assert loaded == []


def test_every_subcommands_help_imports_nothing_heavy():
    """All the subcommands' --help in one process: not even their union imports a heavy module."""
    commands = sorted(c for c in COMMAND_NAMES if not c.startswith("_"))
    argvs = [[c, "--help"] for c in commands] + [["cache", "clear", "--help"]]
    codes, loaded, out = run_commands(*argvs)
    assert codes == [0] * len(argvs)
    assert all(o.startswith("usage: frontier-explore") for o in out)
    assert loaded == []


def test_help_imports_none_of_the_questions():
    """``--help`` builds every subcommand's parser without importing the questions they ask:
    the diff, the staleness rules and the rerun plan are imported when a command runs."""
    questions = ("explorer.diff", "explorer.staleness", "explorer.plan", "explorer.lineage", "explorer.api")
    codes, loaded, out = run_commands(["--help"], ["stale", "--help"], ["diff", "--help"], watch=questions)
    assert codes == [0, 0, 0]
    assert all(o.startswith("usage: frontier-explore") for o in out)
    assert loaded == []


def demo_run_ids(demo_path) -> list[str]:
    return sorted(p.name for p in demo_path.iterdir() if p.is_dir() and not p.name.startswith("_"))


@pytest.mark.parametrize("command", ["runs", "assets", "stale", "lineage", "versions", "history"])
def test_store_commands_need_no_pandas_nor_duckdb(command, demo_path, tmp_path):
    """Cold (the index cache is empty) and then warm (read from the cache): pandas and DuckDB
    are never imported; pyarrow and numpy neither (no data is read), and networkx only by
    ``lineage`` (the only one of them that builds a graph)."""
    os.environ["FRONTIER_EXPLORE_CACHE_DIR"] = str(tmp_path / "cache")  # the fixture's, set again for the child
    argv = [command, str(demo_path), *(["features"] if command in ("versions", "history") else []), "--format", "json"]
    codes, loaded, out = run_commands(argv, argv)
    assert codes[0] == codes[1] and codes[0] in (0, 1)  # stale exits 1 when something is stale
    assert "pandas" not in loaded and "duckdb" not in loaded and "textual" not in loaded
    if command != "lineage":  # the others build no graph and read no data
        assert "pyarrow" not in loaded and "numpy" not in loaded and "networkx" not in loaded
    else:
        assert "pyarrow" not in loaded and "numpy" not in loaded
    assert any((tmp_path / "cache").iterdir())  # the second open was the warm one
    data = json.loads(out[0])
    assert json.loads(out[1]) == data
    if command == "runs":
        assert sorted(r["run_id"] for r in data) == demo_run_ids(demo_path)
    else:
        assert data  # something was answered


def test_the_commands_that_need_them_still_get_them(demo_path):
    """The lazy imports are real imports: ``sql`` loads DuckDB, ``show`` pandas (its preview)."""
    codes, loaded, out = run_commands(["sql", str(demo_path), "select count(*) as n from runs", "--format", "json"])
    assert codes == [0] and "duckdb" in loaded
    assert json.loads(out[0]) == [{"n": len(demo_run_ids(demo_path))}]
    codes, loaded, _ = run_commands(["show", str(demo_path), "features", "--format", "json"])
    assert codes == [0] and "pandas" in loaded



def test_the_apps_first_screen_imports_no_graph_library():
    """The runs screen (the app's first frame) draws statuses and runs, not the lineage graph:
    importing it (as ``get_default_screen`` does before the first paint) imports no networkx;
    the graph screen still does."""
    code = ("import sys, json; import explorer.tui.app, explorer.tui.screens.runs; a = 'networkx' in sys.modules; "
            "import explorer.tui.screens.graph; print(json.dumps([a, 'networkx' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, True], out.stderr


FIRST_FRAME = r"""
import asyncio, json, sys
from explorer import Store
from explorer.tui.app import ExplorerApp
watch = json.loads(sys.argv[2])
async def main():
    app = ExplorerApp(sys.argv[1])
    seen = []
    painted = app.runs_painted
    def runs_painted():  # the first frame with runs is on screen
        seen.append(sorted(m for m in watch if m in sys.modules))
        painted()
    app.runs_painted = runs_painted
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(3):
            await pilot.pause()
            await app.workers.wait_for_complete()
    print(json.dumps(seen))
asyncio.run(main())
"""


def test_the_apps_first_frame_of_a_warm_store_imports_no_data_nor_graph_library(demo_path, tmp_path):
    """The first frame of a warm store (runs from the index cache, checked after it) is drawn
    before pandas, pyarrow, numpy, DuckDB or networkx are imported by anything, and without
    the reader of Dagster's stock layout (imported only for a store that is not a frontier one)."""
    env = dict(os.environ, FRONTIER_EXPLORE_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-c", f"from explorer import Store; Store.open({str(demo_path)!r})"],
                   check=True, env=env, timeout=120)  # the cache is written: the app's open is warm
    heavy = [m for m in HEAVY if m != "textual"] + ["explorer.dagster"]
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME, str(demo_path), json.dumps(heavy)],
                         capture_output=True, text=True, env=env, timeout=120)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen, out.stderr  # the runs were painted before the versions were parsed
    assert seen[0] == []


def _write_two_versions(url: str, extra: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Two versions of a small keyed table of the common column types (a zoned timestamp, a
    decimal, a date, text, floats with NaN, bools): B changes rows 3 and 7, drops 5, adds 20 and 21.
    Returns both as rows (the truth the test compares against)."""
    import decimal
    from datetime import date, datetime, timedelta, timezone

    import pyarrow as pa

    from explorer import RunWriter

    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    a = [{"id": i, "price": i * 1.5 if i != 4 else float("nan"), "name": f"n{i}", "ok": i % 2 == 0,
          "at": t0 + timedelta(hours=i), "amount": decimal.Decimal(i) / 4, "day": date(2026, 1, 1) + timedelta(days=i)}
         for i in range(10)]
    b = [dict(r) for r in a if r["id"] != 5]
    b[3]["price"] = 100.0
    b[6]["name"] = "changed"  # id 7 (id 5 is gone)
    b += [{**a[0], "id": i, "name": f"new{i}"} for i in (20, 21)]
    schema = pa.schema([("id", pa.int64()), ("price", pa.float64()), ("name", pa.string()), ("ok", pa.bool_()),
                        ("at", pa.timestamp("us", tz="UTC")), ("amount", pa.decimal128(10, 2)), ("day", pa.date32())])
    for i, rows in enumerate((a, b), 1):
        table = pa.Table.from_pylist(rows, schema=schema)
        for name, values in (extra or {}).items():
            table = table.append_column(name, values(table.num_rows))
        with RunWriter(url, job="j", run_id=f"r{i}", started_at=t0 + timedelta(days=i)) as run:
            run.write("t", table)
    return a, b


def test_a_keyed_json_diff_imports_neither_pyarrow_numpy_nor_rich(tmp_path):
    """``diff --key id --format json`` of the common column types, in a fresh process: DuckDB
    reads, counts and fetches the samples itself, and nothing draws with rich, so pyarrow, numpy,
    pandas and rich (some 0.6 s of imports) are never imported; the answer is the right one."""
    url = str(tmp_path / "s")
    a, b = _write_two_versions(url)
    codes, loaded, out = run_commands(["diff", url, "t", "r1", "r2", "--key", "id", "--format", "json"],
                                      watch=HEAVY + ("rich",))
    assert codes == [0]
    assert loaded == ["duckdb"]
    d = json.loads(out[0])
    assert d["rows"] == {"a": 10, "b": 11, "added": 2, "removed": 1, "changed": 2, "unchanged": 7}
    assert d["columns_changed"] == {"price": 1, "name": 1}
    assert d["samples"]["changed"] == [{"key": {"id": 3}, "changes": {"price": {"from": 4.5, "to": 100.0}}},
                                       {"key": {"id": 7}, "changes": {"name": {"from": "n7", "to": "changed"}}}]
    by_id = {r["id"]: r for r in b}
    assert [r["id"] for r in d["samples"]["added"]] == [20, 21]
    for r in d["samples"]["added"]:
        want = by_id[r["id"]]
        assert r == {"id": want["id"], "price": "NaN" if want["price"] != want["price"] else want["price"],
                     "name": want["name"], "ok": want["ok"], "at": want["at"].isoformat(),
                     "amount": str(want["amount"].quantize(Decimal("0.01"))), "day": want["day"].isoformat()}
    removed = d["samples"]["removed"]
    assert [r["id"] for r in removed] == [5] and removed[0]["at"] == a[5]["at"].isoformat()


def test_the_diff_still_imports_what_other_outputs_and_types_need(tmp_path):
    """The lazy imports are real: the table output draws with rich, and a column DuckDB does not
    hand over as pyarrow would (an interval, a map) is converted through Arrow, as before."""
    import pyarrow as pa

    url = str(tmp_path / "s")
    _write_two_versions(url, {"m": lambda n: pa.array([[("k", i)] for i in range(n)], pa.map_(pa.string(), pa.int64()))})
    codes, loaded, out = run_commands(["diff", url, "t", "r1", "r2", "--key", "id"],
                                      ["diff", url, "t", "r1", "r2", "--key", "id", "--format", "json"],
                                      watch=("rich", "pyarrow"))
    assert codes == [0, 0] and loaded == ["pyarrow", "rich"]
    assert "changed rows" in out[0]
    added = json.loads(out[1])["samples"]["added"]
    assert [r["id"] for r in added] == [20, 21] and [r["m"] for r in added] == [{"k": 9}, {"k": 10}]
