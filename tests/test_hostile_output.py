"""Nothing from a store reaches the terminal raw (issue 22 items 1, 2, 3, 11, 20).

A store whose every text field carries markup, terminal escapes, C1 controls, bidi overrides,
line separators and very long strings; every command and output format is run over it. The
expected text is computed here with a hand-written escape (``shown``), not by the code."""

from __future__ import annotations

import json
import re
import sys
import unicodedata

import pandas as pd
import pytest
from hostile_support import (AUTHOR, CELL, CODE, COLUMN, FOLDER, JOB, JSON_KEY, JSON_VALUE, LONG, META_KEY,
                             META_VALUE, R1, R2, RAW, REASON, T0, TAG_KEY, TAG_VALUE, shown, write_hostile_store)

from explorer import RunWriter

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return write_hostile_store(tmp_path_factory.mktemp("hostile") / "store")


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
    assert shown(TAG_VALUE) == "\\x1b[2J\\u202e\\x0bt"
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


def test_a_diff_error_naming_thousands_of_columns_is_one_bounded_line(tmp_path, cli):
    """Issue 22 item 20: a missing key column on a 10,000-column table printed a 69,000-character
    "one line" (every column named); 2,000 columns show the same."""
    url = str(tmp_path / "wide")
    frame = pd.DataFrame({f"column_{i}": [1, 2] for i in range(2_000)})
    for i, rid in enumerate((R1, R2)):
        with RunWriter(url, job="j", run_id=rid, started_at=T0) as run:
            run.write("wide", frame.assign(column_0=[i, i]))
    r = cli("diff", url, "wide", R1, R2, "--key", "nope")
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 700, len(r.err)
    assert "'nope'" in lines[0] and "column_0" in lines[0]
    left_out = int(re.search(r"… \(([\d,]+) more characters\)", lines[0]).group(1).replace(",", ""))
    full = ", ".join(frame.columns)  # the message lists every column: nearly all of it is left out
    assert left_out > len(full) - 700


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_every_json_output_is_strict_json(tmp_path, cli):
    """NaN and infinities in data and metadata come out as the strings "NaN", "Infinity",
    "-Infinity" (as sql does), never as the non-standard literals Python's json writes."""
    import numpy as np
    import pandas as pd

    from explorer import RunWriter

    root = tmp_path / "s"
    frame = pd.DataFrame({"id": [1, 2, 3], "x": [1.5, float("nan"), float("inf")],
                          "y": np.array([np.float32("nan"), -np.inf, 0.0], dtype="float32")})
    with RunWriter(str(root), job="j", run_id="r1") as run:
        run.write("t", frame, keys=["id"], metadata={"loss": float("nan"), "best": float("-inf")})
        run.write("doc", {"score": 1.0})
    with RunWriter(str(root), job="j", run_id="r2") as run:
        run.write("t", frame.assign(x=[2.0, float("nan"), float("-inf")]), keys=["id"], metadata={"loss": 0.5})
    for argv in (("show", "t", "--run", "r1"), ("show", "t"), ("versions", "t"), ("history", "t"), ("assets",),
                 ("runs",), ("diff", "t", "r1", "r2"), ("sql", "select * from t"), ("stale",), ("trace", "t", "-w", "id=2")):
        r = cli(argv[0], root, *argv[1:], "--format", "json")
        assert r.code in (0, 1), (argv, r.err)
        _strict(r.out)
    shown = _strict(cli("show", root, "t", "--run", "r1", "--format", "json").out)
    assert [row["x"] for row in shown["preview"]] == [1.5, "NaN", "Infinity"]
    assert [row["y"] for row in shown["preview"]] == ["NaN", "-Infinity", 0.0]
    assert shown["metadata"]["loss"] == "NaN" and shown["metadata"]["best"] == "-Infinity"


@pytest.mark.parametrize("tail", ["", "\x1b[2J", "\x7f", "\x00", "\t\n", "\u202e", "é"])
def test_a_long_document_is_escaped_as_a_short_one(tail):
    """Long texts take a fast path when they are plain ASCII; a control character anywhere
    (here at the very end of 100,000 characters) still comes out escaped."""
    from explorer.visible import json_safe, visible_lines

    body = '{"a": "' + "x" * 100_000 + tail.replace("\t\n", "") + '"}' + ("\t\n" if tail == "\t\n" else "")
    for fn in (json_safe, visible_lines):
        out = fn(body)
        assert out.startswith(fn(body[:50]))  # the same function on a short text: no fast path
        assert out.endswith(fn(body[-20:]))
        assert ("\x1b" in out, "\x7f" in out, "\x00" in out, "\u202e" in out) == (False, False, False, False)


JSON_DOCUMENTS = [
    {"nan": float("nan"), "inf": [float("inf"), -float("inf")], "big": 2**70, "neg": -0.0, "tiny": 1.1e-7,
     "huge": 1e16, "keys": {1: "int", 2.5: "float", None: "none", True: "bool"}, "empty": [[], {}, [{}]]},
    {"text": CELL, "escapes": "\x1b[31m\x07\x7f\x85\u2028\u202e\ufeff", "é": "ünïcode", "lone": "a\ud800b"},
    ["a", 1, None, True, {"nested": [1.5, "x"]}],
    "just a string",
    12,
    {"set": {1}, "date": __import__("datetime").date(2026, 1, 2)},  # written as their text
    {"keys": {1: "int", None: "none", -7: "negative"}, "big": 2**70, "huge": -(2**63) - 1, "long": "x" * 5000,
     "versions": [{"asset": CELL, "run_id": "r\x1b1", "missing": False, "partition": None, "n": -3}] * 3,
     "plain": [{"asset": "a" * 100, "run_id": "r1"}] * 100},  # nothing but plain types: msgspec may write it
]


@pytest.mark.parametrize("doc", JSON_DOCUMENTS, ids=range(len(JSON_DOCUMENTS)))
def test_json_output_is_exactly_the_standard_librarys_indented_text(doc):
    """The CLI's JSON (made in C: compact, then indented by msgspec) is byte for byte what
    ``json.dumps(indent=2)`` writes, escaped the same way; numpy values included."""
    import numpy as np

    from explorer.cli.common import _json_value, json_text
    from explorer.format import finite
    from explorer.visible import json_safe

    with_numpy = {"doc": doc, "np": [np.int64(7), np.float64(2.5), np.float64("nan")]}
    for value in (doc, with_numpy):
        truth = json_safe(json.dumps(finite(value), indent=2, default=_json_value, ensure_ascii=False,
                                     allow_nan=False)) + "\n"
        assert json_text(value) == truth
        if _plain(value):  # what a caller that knows it may ask msgspec to write
            assert json_text(value, plain_types=True) == truth


@pytest.mark.parametrize("plain_types", [False, True])
def test_json_streamed_a_chunk_at_a_time_is_the_same_document(plain_types):
    """A dict's iterator values written a few items at a time (as a million versions are) give
    the bytes of the whole document: every layout of chunks, empty and hostile lists too."""
    import io

    from explorer.cli.common import _write_json_streamed, json_text

    items = [doc for doc in JSON_DOCUMENTS if not plain_types or _plain(doc)] * 3
    whole = {"root": {"asset": CELL}, "none": [], "items": items, "after": "\x1b]0;t\x07", "tail": items[:1]}
    truth = json_text(whole, plain_types)
    for chunk in (1, 2, 5, 1000):
        out = io.BytesIO()
        data = {k: iter(v) if isinstance(v, list) else v for k, v in whole.items()}
        _write_json_streamed(out.write, data, plain_types, chunk=chunk)
        assert out.getvalue().decode("utf-8") + "\n" == truth


def _plain(value) -> bool:
    """Whether ``value`` holds nothing but str, int, bool, None, lists, tuples and dicts."""
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(map(_plain, value))
    return value is None or isinstance(value, (str, int))
