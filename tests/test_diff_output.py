"""What a user reads from a diff: long values around their first difference, a 1,000-column table
in one pass. Truths computed here with pandas / plain Python."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from explorer import RunWriter, Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def recorded_queries(monkeypatch) -> list[str]:
    """Every SQL statement the diff's DuckDB session runs, from here on."""
    from explorer.diff import table

    queries: list[str] = []
    for name in ("run", "records"):
        original = getattr(table.Session, name)
        monkeypatch.setattr(table.Session, name,
                            lambda self, sql, what, _o=original: queries.append(sql) or _o(self, sql, what))
    return queries


def two(path: str, a, b) -> Store:
    for i, value in enumerate((a, b), start=1):
        with RunWriter(path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", value)
    return Store.open(path)


def test_the_table_shows_a_long_value_changed_in_place(store_path, cli):
    head = "lorem ipsum " * 50_000  # 600,000 characters
    a = pd.DataFrame({"id": [1, 2], "s": [head + "abcdef", "short"]})
    b = pd.DataFrame({"id": [1, 2], "s": [head + "abcXef", "short"]})
    two(store_path, a, b)
    r = cli("diff", store_path, "t", "r1", "r2", "--key", "id")
    assert r.code == 0
    i = len(os.path.commonprefix([a.s[0], b.s[0]]))
    old, new = a.s[0][i], b.s[0][i]
    assert f"[{old}→{new}]" in r.out and "first difference" in r.out
    # the JSON keeps a window around the difference, marked, with the full lengths
    doc = cli("diff", store_path, "t", "r1", "r2", "--key", "id", "--format", "json").json()
    cell = doc["samples"]["changed"][0]["changes"]["s"]
    assert cell["length"] == {"from": len(a.s[0]), "to": len(b.s[0])}
    assert cell["from"].startswith("…") and "abcdef" in cell["from"] and "abcXef" in cell["to"]
    assert len(json.dumps(doc)) < 20_000


def test_a_thousand_columns_in_one_pass(store_path, monkeypatch):
    rng = np.random.default_rng(3)
    rows, width = 60, 1000
    a = pd.DataFrame({"id": np.arange(rows)} | {f"c{i}": rng.integers(0, 5, rows) for i in range(width - 1)})
    b = a.copy()
    for _ in range(40):  # 40 random cells changed
        r, c = int(rng.integers(0, rows)), f"c{int(rng.integers(0, width - 1))}"
        b.loc[r, c] = b.loc[r, c] + 1
    store = two(store_path, a, b)

    queries = recorded_queries(monkeypatch)
    d = store.diff("t", keys=["id"], limit=5)
    diff = a.drop(columns="id") != b.drop(columns="id")
    truth = {c: int(n) for c, n in diff.sum().items() if n}
    assert d.table.columns_changed == truth
    assert d.table.rows.changed == int(diff.any(axis=1).sum())
    assert len(d.table.samples.changed) == 5
    for row in d.table.samples.changed:  # every changed cell of a sample row, and only those
        k = row.key["id"]
        assert {c.column for c in row.changes} == {c for c in diff.columns if diff.loc[k, c]}
    wide = len(queries)

    queries.clear()
    a_narrow = a.iloc[:, :11]
    narrow = two(store_path + "-narrow", a_narrow, a_narrow.assign(c0=a_narrow.c0 + 1)).diff("t", keys=["id"], limit=5)
    assert narrow.table.rows.changed == rows
    assert wide <= len(queries) + 2  # the same steps whatever the width: no query per column


def test_a_keyed_diff_of_unique_keys_reads_each_version_once(store_path, monkeypatch):
    """The rows of the candidates of a narrow table come from the classifying join itself: beyond
    DESCRIBE and the row count (the parquet footer), one query reads each version's file."""
    ids = np.arange(200)
    a = pd.DataFrame({"id": ids, "v": ids * 2, "s": [f"s{i}" for i in ids]})
    b = a.assign(v=np.where(ids % 10 == 3, -1, a.v))[ids % 50 != 7]
    b = pd.concat([b, pd.DataFrame({"id": [500, 501], "v": [1, 2], "s": ["n", "m"]})], ignore_index=True)
    store = two(store_path, a, b)
    queries = recorded_queries(monkeypatch)
    d = store.diff("t", keys=["id"], limit=3)
    m = a.merge(b, on="id", how="outer", suffixes=("_a", "_b"), indicator=True)
    both = m[m._merge == "both"]
    changed = both[both.v_a != both.v_b]
    assert (d.table.rows.added, d.table.rows.removed, d.table.rows.changed) == (
        (m._merge == "right_only").sum(), (m._merge == "left_only").sum(), len(changed))
    assert d.table.columns_changed == {"v": len(changed)}
    assert [r.key["id"] for r in d.table.samples.changed] == sorted(changed.id)[:3]
    assert [r["id"] for r in d.table.samples.added] == [500, 501]
    sources = [q.removeprefix("DESCRIBE SELECT * FROM ") for q in queries if q.startswith("DESCRIBE")]
    assert len(sources) == 2
    for src in sources:
        reads = [q for q in queries if src in q and not q.startswith("DESCRIBE") and q != f"SELECT count(*) FROM {src}"]
        assert len(reads) == 1, reads


@pytest.mark.parametrize("carried", [16, 0])  # the columns carried through the join, or a hash of them
def test_null_keys_beside_unchanged_rows_are_one_key_each(store_path, carried, monkeypatch):
    """A null key is a key like any other: matched to the other side's null key, changed or not,
    never taken for a repeated key because of the unchanged rows beside it."""
    from explorer.diff import table

    monkeypatch.setattr(table, "CARRIED_COLUMNS", carried)
    for changed in (True, False):
        a = pd.DataFrame({"id": pd.array([None, 1, 2, 3], dtype="Int64"), "v": [1, 10, 20, 30]})
        b = pd.DataFrame({"id": pd.array([None, 1, 2, 4], dtype="Int64"), "v": [2 if changed else 1, 10, 21, 40]})
        d = two(f"{store_path}-{changed}", a, b).diff("t", keys=["id"])
        assert d.table.duplicates is None
        r = d.table.rows
        assert (r.added, r.removed, r.changed, r.unchanged) == (1, 1, 1 + changed, 2 - changed)
        assert d.table.columns_changed == {"v": 1 + changed}
