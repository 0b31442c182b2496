"""Nothing from a store reaches the terminal raw (issue 22 items 1, 2, 3, 11, 20).

A store whose every text field carries markup, terminal escapes, C1 controls, bidi overrides,
line separators and very long strings; every command and output format is run over it. The
expected text is computed here with a hand-written escape (``shown``), not by the code."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from explorer import RunWriter
from explorer.store import Store

# every place a store can carry text, each with a different attack
JOB = "[green]job[/]\x1b]0;title\x07"
CODE = "[/var/log/app]\x9b31m"
TAG_KEY, TAG_VALUE = "[bold red]", "\x1b[2J\u202e"
META_KEY = "[/m]\u2028k"
META_VALUE = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
LONG = "y" * 100_000
COLUMN = "[bold red]c\u202e"
CELL = "[/var/log/app] rotated\x1b[2J"
JSON_KEY, JSON_VALUE = "k\x1b]0;t\x07", "[/x]\u2029\x9b"
BLOB = b"[/var/log/app] rotated \x1b[2J \x9b31m"
REASON = "[/var/log/app] \x1b]52;c;Y3Vyb==\x07"
AUTHOR = "[green]me[/]\u202e"
FOLDER = "bad\x1b[2Jdir"
HOSTILE = [JOB, CODE, TAG_KEY, TAG_VALUE, META_KEY, META_VALUE, COLUMN, CELL, JSON_KEY, JSON_VALUE,
           REASON, AUTHOR, FOLDER]

# what a terminal must never receive from a store: C0 (but newline), DEL, C1, bidi, separators
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def shown(text: str) -> str:
    """The visible form, written out by hand: each hidden character as a Python escape."""
    out = []
    for ch in text:
        c = ord(ch)
        if c < 0x20 or 0x7F <= c < 0xA0:
            out.append(f"\\x{c:02x}")
        elif unicodedata.category(ch) in ("Cf", "Zl", "Zp"):
            out.append(f"\\u{c:04x}")
        else:
            out.append(ch)
    return "".join(out)


T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
R1, R2 = "20260301T000000Z-aaaaaa", "20260302T000000Z-bbbbbb"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "store"
    url = str(root)
    frame = pd.DataFrame({"id": [1, 2], COLUMN: [CELL, "plain"], "n": [1.0, 2.0]})
    with RunWriter(url, job=JOB, code_version=CODE, tags={TAG_KEY: TAG_VALUE}, run_id=R1, started_at=T0) as run:
        run.write("table", frame, keys=["id"], metadata={META_KEY: META_VALUE, "long": LONG})
        run.write("doc", {JSON_KEY: JSON_VALUE, "list": [CELL]})
        run.write("blob", BLOB)
        run.write("sheet", frame, format="csv")
    with RunWriter(url, job=JOB, code_version=CODE, run_id=R2, started_at=T0 + timedelta(days=1)) as run:
        run.write("table", frame.assign(n=[1.0, 3.0]), keys=["id"], metadata={META_KEY: CELL})
        run.write("derived", frame.assign(m=1), keys=["id"], inputs=["table", ("doc", R1)])
    Store.open(url, cache=False).flag("table", R1, REASON, author=AUTHOR)
    (root / FOLDER).mkdir()  # a folder without a manifest: a warning naming it
    return root


def check(r, *expected: str) -> None:
    assert r.code in (0, 1), (r.code, r.err)
    assert "internal error" not in r.err and "Traceback" not in r.err, r.err
    raw = RAW.findall(r.out + r.err)
    assert not raw, (sorted(set(raw)), r.out[:2000], r.err)
    for text in expected:
        assert shown(text) in r.out, (shown(text), r.out[:3000])
    assert shown(FOLDER) in r.err  # the warning names the folder, escaped


def test_the_hand_written_escape_agrees_with_unicode():
    assert shown(JOB) == "[green]job[/]\\x1b]0;title\\x07"
    assert shown(TAG_VALUE) == "\\x1b[2J\\u202e"
    assert shown(META_KEY) == "[/m]\\u2028k"


TABLE_COMMANDS = [
    (["runs"], [JOB, CODE, TAG_KEY, TAG_VALUE]),
    (["assets"], []),
    (["assets", "--verify"], []),
    (["versions", "table"], [CODE]),
    (["show", "table", "--run", R1], [META_KEY, META_VALUE, CODE, CELL]),
    (["show", "doc"], [JSON_KEY, JSON_VALUE]),
    (["show", "blob"], []),
    (["show", "sheet"], [CELL]),
    (["lineage"], []),
    (["lineage", "derived"], []),
    (["provenance", "derived"], []),
    (["impact", "table", "--run", R1], []),
    (["stale"], []),
    (["stale", "--format", "markdown"], []),
    (["diff", "table", R1, R2], [META_KEY]),
    (["diff", "table", R1, R2, "--format", "markdown"], [META_KEY, CELL]),
    (["diff", "doc", R1, R1], []),
    (["history", "table", "--stat", f"metadata.{META_KEY}"], []),
    (["trace", "derived", "--where", "id=1"], [CELL]),
    (["trace", "derived", "--where", "id=1", "--format", "markdown"], [CELL]),
    (["sql", 'select * from "table"'], [CELL]),
    (["find", "derived", "--built-from", f"table={R2}"], [CODE]),
    (["export"], []),
    (["export", "--format", "dot"], []),
    (["flags"], [REASON, AUTHOR]),
    (["flags", "--all"], [REASON]),
    (["verify", "--all"], []),
]


@pytest.mark.parametrize("args,expected", TABLE_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) and v and isinstance(v[0], str) and v[0][:1].isalpha() else None)
def test_every_command_shows_store_text_visible_never_raw(hostile, cli, args, expected):
    r = cli(args[0], hostile, *args[1:])
    check(r, *expected)


def test_markup_in_store_text_is_printed_as_is_not_applied(hostile, cli):
    r = cli("runs", hostile)
    check(r)
    # a job "[green]job[/]" is not made green (no style codes at all off a terminal) and the
    # tag key "[bold red]" does not disappear
    assert "[green]job[/]" in r.out and "[bold red]=" in r.out
    r = cli("show", hostile, "blob")
    check(r)
    assert "[/var/log/app] rotated" in r.out  # rich used to raise MarkupError on this


JSON_COMMANDS = [
    ["runs"], ["assets"], ["versions", "table"], ["show", "table"], ["show", "doc"], ["lineage"],
    ["provenance", "derived"], ["impact", "table", "--run", R1], ["stale"], ["diff", "table", R1, R2],
    ["diff", "doc", R1, R1], ["history", "table"], ["trace", "derived", "--where", "id=1"],
    ["sql", 'select * from "table"'], ["find", "derived", "--built-from", f"table={R2}"], ["flags"],
    ["verify", "--all"],
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=" ".join)
def test_json_output_is_safe_on_a_terminal_and_loads_back_exactly(hostile, cli, args):
    r = cli(args[0], hostile, *args[1:], "--format", "json")
    check(r)
    json.loads(r.out)


def test_json_gives_back_the_exact_strings(hostile, cli):
    runs = json.loads(cli("runs", hostile, "--format", "json").out)
    assert {r["job"] for r in runs} == {JOB}
    assert {r["code_version"] for r in runs} == {CODE}
    assert [r["tags"] for r in runs if r["run_id"] == R1] == [{TAG_KEY: TAG_VALUE}]
    show = json.loads(cli("show", hostile, "table", "--run", R1, "--format", "json").out)
    assert show["metadata"][META_KEY] == META_VALUE and show["metadata"]["long"] == LONG
    assert [row[COLUMN] for row in show["preview"]] == [CELL, "plain"]
    doc = json.loads(cli("show", hostile, "doc", "--format", "json").out)
    assert doc["preview"] == {JSON_KEY: JSON_VALUE, "list": [CELL]}
    flags = json.loads(cli("flags", hostile, "--format", "json").out)
    assert [(f["reason"], f["author"]) for f in flags] == [(REASON, AUTHOR)]
    rows = json.loads(cli("sql", hostile, 'select * from "table"', "--format", "json").out)
    assert sorted(r[COLUMN] for r in rows) == sorted([CELL, "plain"])


def test_csv_and_files_are_data_written_exactly(hostile, cli, tmp_path):
    out = tmp_path / "rows.csv"
    r = cli("sql", hostile, 'select * from "table@' + R1 + '"', "--format", "csv", "--output", out)
    assert r.code == 0, r.err
    assert pd.read_csv(out)[COLUMN].tolist() == [CELL, "plain"]


def test_a_damaged_flag_file_is_a_warning_on_stderr(tmp_path, cli):
    url = str(tmp_path / "s")
    with RunWriter(url, job="j", run_id=R1, started_at=T0) as run:
        run.write("a", {"x": 1})
    flags = tmp_path / "s" / "_frontier_flags"
    flags.mkdir(exist_ok=True)
    (flags / "20260301T000000Z-\x1b[2J.json").write_text("{not json")
    for args in (["flags"], ["stale"], ["assets"]):
        r = cli(args[0], url, *args[1:])
        assert r.code in (0, 1), r.err
        assert "warning:" in r.err and "_frontier_flags/" in r.err, (args, r.err)
        assert "\\x1b[2J" in r.err and not RAW.findall(r.err), r.err
    assert "0 active flags" in cli("flags", url).out


def test_an_error_line_is_bounded(tmp_path, cli):
    url = str(tmp_path / "s")
    with RunWriter(url, job="j", run_id=R1, started_at=T0) as run:
        run.write("a", {"x": 1})
    r = cli("show", url, "x" * 20_000)
    assert r.code == 2
    line = r.err.strip().splitlines()[-1]
    assert len(r.err.strip().splitlines()) == 1 and len(line) < 700, len(line)
    m = re.search(r"… \(([\d,]+) more characters\)", line)
    assert m, line
    left_out = int(m.group(1).replace(",", ""))
    assert line.count("x") + left_out >= 20_000  # every x not shown is counted


def test_options_may_come_between_positionals(demo_path, cli):
    """``lineage STORE -o k=v ASSET`` used to be a parse error (argparse gave ASSET nothing
    once an option followed STORE)."""
    between = cli("lineage", demo_path, "-o", "auto_mkdir=false", "features", "--upstream", "--format", "json")
    after = cli("lineage", demo_path, "features", "--upstream", "--format", "json")
    everything = cli("lineage", demo_path, "--format", "json")
    assert between.code == 0, between.err
    assert json.loads(between.out) == json.loads(after.out)
    nodes = {n["asset"] for n in json.loads(between.out)["nodes"]}
    assert "features" in nodes and len(nodes) < len(json.loads(everything.out)["nodes"])


def test_every_format_character_is_escaped():
    """explorer.visible's list of invisible format characters is Unicode's category Cf."""
    from explorer.visible import visible

    for c in range(sys.maxunicode + 1):
        ch = chr(c)
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            assert visible(ch) != ch, hex(c)
    assert visible("\udc9b") == "\\x9b"  # a byte that was not UTF-8 (surrogateescape)
    assert visible("a\\x1b") == "a\\x1b"  # backslashes are kept: escaping twice changes nothing
