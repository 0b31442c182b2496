"""Counts of ``Store.diff`` against datacompy 1.1 (its pandas ``PandasCompare``) on cases of the
kinds datacompy's own test suite covers (written here, not copied). Where frontier-explore is
deliberately different, the case says so and docs/diff.md ("Compared with datacompy") says why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from explorer import RunWriter, Store

datacompy = pytest.importorskip("datacompy")

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def store_of(path: str, a: pd.DataFrame, b: pd.DataFrame) -> Store:
    for i, value in enumerate((a, b), start=1):
        with RunWriter(path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", value)
    return Store.open(path)


def peer_counts(a, b, keys, **kw) -> dict:
    c = datacompy.PandasCompare(a, b, join_columns=keys, **kw)
    both = len(c.intersect_rows)
    return {"added": len(c.df2_unq_rows), "removed": len(c.df1_unq_rows),
            "changed": both - int(c.count_matching_rows()), "unchanged": int(c.count_matching_rows())}


def ours(store: Store, keys, **kw) -> dict:
    r = store.diff("t", keys=keys, **kw).table.rows
    return {"added": r.added, "removed": r.removed, "changed": r.changed, "unchanged": r.unchanged}


rng = np.random.default_rng(5)
N = 50
BASE = pd.DataFrame({"acct": np.arange(N), "amount": np.round(rng.random(N) * 1000, 2),
                     "name": rng.choice(["Alice", "Bob", "Carol"], N), "qty": rng.integers(0, 9, N)})

CASES = {
    # name: (A, B, datacompy keyword arguments == ours)
    "identical": (BASE, BASE.copy(), {}),
    "float changes": (BASE, BASE.assign(amount=BASE.amount + np.where(BASE.acct % 7 == 0, 0.5, 0)), {}),
    "abs tolerance": (BASE, BASE.assign(amount=BASE.amount + np.where(BASE.acct % 5 == 0, 0.05, 0.2 * (BASE.acct % 11 == 0))),
                      {"abs_tol": 0.1}),
    "rel tolerance": (BASE, BASE.assign(amount=BASE.amount * np.where(BASE.acct % 4 == 0, 1.001, 1.0)),
                      {"rel_tol": 0.01}),
    "per-column tolerance": (BASE, BASE.assign(amount=BASE.amount + 0.05, qty=BASE.qty + (BASE.acct % 3 == 0)),
                             {"abs_tol": {"amount": 0.1}}),
    "rows added and removed": (BASE.iloc[:40], BASE.iloc[10:], {}),
    "string case": (BASE, BASE.assign(name=np.where(BASE.acct % 2 == 0, BASE.name.str.upper(), BASE.name)),
                    {"ignore_case": True}),
    "string spaces": (BASE, BASE.assign(name=np.where(BASE.acct % 3 == 0, " " + BASE.name + "  ", BASE.name)),
                      {"ignore_spaces": True}),
    "string changes": (BASE, BASE.assign(name=np.where(BASE.acct % 6 == 0, "Dave", BASE.name)), {}),
    "nulls on one side": (BASE, BASE.assign(amount=np.where(BASE.acct % 8 == 0, np.nan, BASE.amount)), {}),
    "nulls on both sides": (BASE.assign(amount=np.where(BASE.acct % 8 == 0, np.nan, BASE.amount)),
                            BASE.assign(amount=np.where(BASE.acct % 8 == 0, np.nan, BASE.amount)), {}),
    "int to float": (BASE, BASE.assign(qty=BASE.qty.astype(float)), {}),
    "order differs": (BASE, BASE.iloc[::-1].reset_index(drop=True), {}),
}
OPTION_NAMES = {"abs_tol": "abs_tol", "rel_tol": "rel_tol", "ignore_case": "ignore_case", "ignore_spaces": "ignore_spaces"}


@pytest.mark.parametrize("name", list(CASES))
def test_counts_equal_datacompy(store_path, name):
    a, b, kw = CASES[name]
    store = store_of(store_path, a, b)
    assert ours(store, ["acct"], **{OPTION_NAMES[k]: v for k, v in kw.items()}) == peer_counts(a, b, ["acct"], **kw)


def test_deliberately_different_repeated_keys(store_path):
    """datacompy pairs the rows of a repeated key by their order after sorting and counts the pairs
    as matched or mismatched; frontier-explore leaves repeated keys out of the four counts and
    pairs their rows by content (docs/diff.md)."""
    a = pd.DataFrame({"acct": [1, 2, 2], "v": [1, 20, 21]})
    b = pd.DataFrame({"acct": [1, 2, 2], "v": [1, 21, 22]})
    store = store_of(store_path, a, b)
    peer = peer_counts(a, b, ["acct"])
    mine = store.diff("t", keys=["acct"]).table
    assert peer["changed"] + peer["unchanged"] == 3  # datacompy counts the key-2 rows as pairs
    assert (mine.rows.changed, mine.rows.unchanged) == (0, 1)
    assert (mine.duplicates.matched, mine.duplicates.only_a, mine.duplicates.only_b) == (1, 1, 1)


def peer_columns(a, b, keys, **kw) -> dict:
    c = datacompy.PandasCompare(a, b, join_columns=keys, **kw)
    return {s["column"]: int(s["unequal_cnt"]) for s in c.column_stats if int(s["unequal_cnt"]) and s["column"] not in keys}


WIDE = BASE.assign(day=pd.Timestamp("2025-01-01") + pd.to_timedelta(BASE.acct % 9, unit="D"),
                   ok=BASE.acct % 2 == 0, note=np.where(BASE.acct % 5 == 0, None, BASE.name))
MORE = {
    # name: (A, B, keys, keyword arguments for both)
    "two columns change": (WIDE, WIDE.assign(qty=WIDE.qty + (WIDE.acct % 4 == 0), name=np.where(WIDE.acct % 9 == 0, "Zed", WIDE.name)),
                           ["acct"], {}),
    "bools change": (WIDE, WIDE.assign(ok=np.where(WIDE.acct % 7 == 0, ~WIDE.ok, WIDE.ok)), ["acct"], {}),
    "text nulls on both sides": (WIDE, WIDE.assign(note=np.where(WIDE.acct % 10 == 0, "new", WIDE.note)), ["acct"], {}),
    "composite key": (WIDE.assign(part=WIDE.acct % 3), WIDE.assign(part=WIDE.acct % 3, qty=WIDE.qty * (1 + (WIDE.acct % 8 == 0))),
                      ["acct", "part"], {}),
    "abs and rel together": (WIDE, WIDE.assign(amount=WIDE.amount * 1.004 + 0.3 * (WIDE.acct % 3 == 0)), ["acct"],
                             {"abs_tol": 0.05, "rel_tol": 0.005}),
    "per-column relative": (WIDE, WIDE.assign(amount=WIDE.amount * 1.02, qty=WIDE.qty * 1.02), ["acct"], {"rel_tol": {"amount": 0.05}}),
    "spaces in keys": (WIDE.assign(code=" c" + WIDE.acct.astype(str)), WIDE.assign(code="c" + WIDE.acct.astype(str) + " ",
                                                                                  qty=WIDE.qty + (WIDE.acct % 5 == 0)),
                       ["code"], {"ignore_spaces": True}),
}


@pytest.mark.parametrize("name", list(MORE))
def test_row_and_column_counts_equal_datacompy(store_path, name):
    a, b, keys, kw = MORE[name]
    store = store_of(store_path, a, b)
    d = store.diff("t", keys=keys, **kw).table
    assert ours(store, keys, **kw) == peer_counts(a, b, keys, **kw)
    assert d.columns_changed == peer_columns(a, b, keys, **kw)


def test_column_names_matched_whatever_their_case(store_path):
    """datacompy lower-cases column names by default; ``ignore_column_case`` does the same matching."""
    a = BASE.rename(columns={"amount": "Amount"})
    b = BASE.assign(amount=BASE.amount + (BASE.acct % 6 == 0))
    store = store_of(store_path, a, b)
    d = store.diff("t", keys=["acct"], ignore_column_case=True).table
    assert ours(store, ["acct"], ignore_column_case=True) == peer_counts(a, b, ["acct"])
    assert {k.lower(): v for k, v in d.columns_changed.items()} == peer_columns(a, b, ["acct"])


def test_deliberately_different_case_in_keys(store_path):
    """datacompy's ignore_case leaves join columns as they are; frontier-explore applies it to keys
    too (docs/diff.md, Options), so 'B' and 'b' are one key."""
    a = pd.DataFrame({"k": ["a", "B", "c"], "v": [1, 2, 3]})
    b = pd.DataFrame({"k": ["a", "b", "c"], "v": [1, 2, 4]})
    store = store_of(store_path, a, b)
    peer = peer_counts(a, b, ["k"], ignore_case=True)
    assert (peer["added"], peer["removed"]) == (1, 1)
    assert ours(store, ["k"], ignore_case=True) == {"added": 0, "removed": 0, "changed": 1, "unchanged": 2}


def test_where_datacompy_is_wrong_equal_microsecond_timestamps(store_path):
    """datacompy 1.1 (with pandas 3) counts equal ``datetime64[us]`` values as unequal; the truth is
    pandas' own comparison of the two columns."""
    b = WIDE.assign(day=WIDE.day + pd.to_timedelta((WIDE.acct % 6 == 0).astype(int), unit="h"))
    store = store_of(store_path, WIDE, b)
    d = store.diff("t", keys=["acct"]).table
    truth = int((WIDE.day != b.day).sum())
    assert d.columns_changed == {"day": truth} and d.rows.changed == truth
    assert peer_columns(WIDE, b, ["acct"]).get("day") != truth  # datacompy: every row
