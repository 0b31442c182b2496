"""A hostile store for the output-boundary tests (tests/test_hostile_output.py, tests/test_tui_hostile.py):
every text field carries markup, terminal escapes, C1 controls, bidi overrides, separators or a
very long string, and ``shown`` writes the expected visible form out by hand."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from explorer import RunWriter
from explorer import Store

# every place a store can carry text, each with a different attack
JOB = "[green]job[/]\x1b]0;title\x07"
CODE = "[/var/log/app]\x9b31m\x08v\x0c2"  # BS, FF: rich drops them unless escaped first
TAG_KEY, TAG_VALUE = "[bold red]", "\x1b[2J\u202e\x0bt"
META_KEY = "[/m]\u2028k"
META_VALUE = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07\rok"
LONG = "y" * 100_000
COLUMN = "[bold red]c\u202e\x07"
CELL = "[/var/log/app] rotated\x1b[2J\x07\x08\x0b\x0cend"
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


def write_hostile_store(root: Path) -> Path:
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
