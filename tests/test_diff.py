"""Diffs of two versions, checked against truth computed here independently (pandas merges,
numpy, hand-built expectations) and against the demo store's documented story."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer import ExplorerError, RunWriter, Store
from explorer.diff import diff_versions

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def write_versions(path: str, key: str, values: list, **kw) -> Store:
    """One run per value (r1, r2, ...), each writing ``key``; returns the opened store."""
    for i, value in enumerate(values, start=1):
        with RunWriter(path, run_id=f"r{i}", started_at=T0 + timedelta(days=i), code_version="c1") as run:
            run.write(key, value, **kw)
    return Store.open(path)


# --------------------------------------------------------------------------- truth


def keyed_truth(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], tol: float = 0.0) -> dict:
    """Keyed diff by pandas: duplicated keys (on either side) left out, then an outer merge."""
    dup = pd.concat([a[a.duplicated(keys, keep=False)][keys], b[b.duplicated(keys, keep=False)][keys]])
    dup = dup.drop_duplicates()

    def without_dups(df: pd.DataFrame) -> pd.DataFrame:
        m = df.merge(dup, on=keys, how="left", indicator="_dup")
        return m[m["_dup"] == "left_only"].drop(columns="_dup")

    a1, b1 = without_dups(a), without_dups(b)
    m = a1.merge(b1, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    both = m[m["_merge"] == "both"]
    common = [c for c in a.columns if c in b.columns and c not in keys]
    per_col = {}
    any_diff = pd.Series(False, index=both.index)
    for c in common:
        x, y = both[c + "_a"], both[c + "_b"]
        same = (x == y).fillna(False).astype(bool) | (x.isna() & y.isna())
        if tol and pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            same |= ((x.astype(float) - y.astype(float)).abs() <= tol).fillna(False).astype(bool)
        per_col[c] = int((~same).sum())
        any_diff |= ~same
    return {
        "added": int((m["_merge"] == "right_only").sum()),
        "removed": int((m["_merge"] == "left_only").sum()),
        "changed": int(any_diff.sum()),
        "unchanged": int((~any_diff).sum()),
        "columns_changed": {c: n for c, n in per_col.items() if n},
        "changed_keys": sorted(both[any_diff][keys[0]].tolist()) if len(keys) == 1 else None,
        "dup_keys": len(dup),
        "merged": both,
    }


def multiset_truth(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    cols = [c for c in a.columns if c in b.columns]
    ca = a[cols].value_counts(dropna=False).rename("na").reset_index()
    cb = b[cols].value_counts(dropna=False).rename("nb").reset_index()
    m = ca.merge(cb, on=cols, how="outer").fillna({"na": 0, "nb": 0})
    return {
        "removed": int((m["na"] - m["nb"]).clip(lower=0).sum()),
        "added": int((m["nb"] - m["na"]).clip(lower=0).sum()),
        "unchanged": int(np.minimum(m["na"], m["nb"]).sum()),
    }


def random_pair(seed: int, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    a = pd.DataFrame(
        {
            "id": np.arange(n),
            "qty": rng.integers(0, 50, n),
            "price": np.round(rng.random(n) * 100, 2),
            "name": rng.choice(["ant", "bee", "cat", None], n),
        }
    )
    b = a.copy()
    changed = rng.choice(n, n // 10, replace=False)
    b.loc[changed[: len(changed) // 2], "qty"] += 1
    b.loc[changed[len(changed) // 3 :], "price"] += 0.5
    b.loc[changed[:5], "name"] = None
    removed = rng.choice(np.setdiff1d(np.arange(n), changed), n // 20, replace=False)
    b = b.drop(index=removed)
    extra = pd.DataFrame({"id": np.arange(n, n + 17), "qty": 1, "price": 1.0, "name": "new"})
    b = pd.concat([b, extra], ignore_index=True).sample(frac=1, random_state=seed)  # order must not matter
    return a, b


# --------------------------------------------------------------------------- keyed


@pytest.mark.parametrize("seed", [1, 2])
def test_keyed_diff_matches_pandas_merge(store_path, seed):
    a, b = random_pair(seed)
    store = write_versions(store_path, "t", [a, b])
    d = diff_versions(store, "t", "r1", "r2", keys=["id"], limit=5)
    truth = keyed_truth(a, b, ["id"])
    out = d.to_dict()
    assert out["kind"] == "table" and not d.same_content
    assert out["rows"] == {
        "a": len(a), "b": len(b), "added": truth["added"], "removed": truth["removed"],
        "changed": truth["changed"], "unchanged": truth["unchanged"],
    }
    assert out["columns_changed"] == truth["columns_changed"]
    # samples: the first changed keys, with before/after of exactly the changed cells
    samples = out["samples"]["changed"]
    assert [s["key"]["id"] for s in samples] == truth["changed_keys"][:5]
    merged = truth["merged"].set_index("id")
    for s in samples:
        row = merged.loc[s["key"]["id"]]
        for col, cell in s["changes"].items():
            assert cell["from"] == (None if pd.isna(row[col + "_a"]) else row[col + "_a"])
            assert cell["to"] == (None if pd.isna(row[col + "_b"]) else row[col + "_b"])
        unchanged_cols = {"qty", "price", "name"} - set(s["changes"])
        for col in unchanged_cols:
            x, y = row[col + "_a"], row[col + "_b"]
            assert (pd.isna(x) and pd.isna(y)) or x == y
    added_ids = sorted(set(b["id"]) - set(a["id"]))
    assert [r["id"] for r in out["samples"]["added"]] == added_ids[:5]
    assert set(out["samples"]["added"][0]) == set(b.columns)
    removed_ids = sorted(set(a["id"]) - set(b["id"]))
    assert [r["id"] for r in out["samples"]["removed"]] == removed_ids[:5]


def test_declared_keys_are_used_and_no_key_compares_rows(store_path):
    a, b = random_pair(3)
    store = write_versions(store_path, "t", [a, b], keys=["id"])
    keyed = diff_versions(store, "t", "previous", "latest")
    assert keyed.table.mode == "keyed" and keyed.table.keys == ("id",)
    assert keyed.table.rows.changed == keyed_truth(a, b, ["id"])["changed"]
    rows = diff_versions(store, "t", "previous", "latest", unkeyed=True)
    assert rows.table.mode == "unkeyed"
    truth = multiset_truth(a, b)
    assert {k: getattr(rows.table.rows, k) for k in truth} == truth


def test_tolerance_is_absolute_for_numbers(store_path):
    a = pd.DataFrame({"id": range(6), "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "s": list("abcdef")})
    b = a.copy()
    b["x"] = [1.0, 2.005, 3.02, 4.0, 5.0 - 0.009, 7.0]
    b.loc[3, "s"] = "z"
    store = write_versions(store_path, "t", [a, b])
    for tol in (0.0, 0.01, 0.5, 2.0):
        d = diff_versions(store, "t", "r1", "r2", keys=["id"], tolerance=tol)
        truth = keyed_truth(a, b, ["id"], tol)
        assert d.table.rows.changed == truth["changed"], tol
        assert d.table.columns_changed == truth["columns_changed"], tol
    assert diff_versions(store, "t", "r1", "r2", keys=["id"], tolerance=2.0).table.columns_changed == {"s": 1}


def test_nulls_equal_nulls_and_nan_equals_nan(store_path):
    a = pa.table({"id": [1, 2, 3, 4, 5, 6], "x": [None, float("nan"), 1.0, float("nan"), None, 2.0],
                  "s": [None, "a", None, "b", "c", None]})
    b = pa.table({"id": [1, 2, 3, 4, 5, 6], "x": [None, float("nan"), float("nan"), 1.0, 3.0, 2.0],
                  "s": [None, "a", "x", "b", "c", None]})
    store = write_versions(store_path, "t", [a, b])
    d = diff_versions(store, "t", "r1", "r2", keys=["id"])
    # by hand: id 1 null=null, 2 NaN=NaN, 6 equal; 3 (1.0 -> NaN and null -> "x"), 4 (NaN -> 1.0), 5 (null -> 3.0) differ
    assert d.table.rows.changed == 3 and d.table.rows.unchanged == 3
    assert d.table.columns_changed == {"x": 3, "s": 1}
    changes = {s["key"]["id"]: s["changes"] for s in d.to_dict()["samples"]["changed"]}
    assert changes[3] == {"x": {"from": 1.0, "to": "NaN"}, "s": {"from": None, "to": "x"}}
    assert changes[5] == {"x": {"from": None, "to": 3.0}}
    json.dumps(d.to_dict(), allow_nan=False)  # NaN is spelled out, the JSON stays valid


def test_duplicate_keys_are_reported_not_double_counted(store_path):
    a = pd.DataFrame({"id": [1, 2, 2, 3, 4, 5, 6], "v": [10, 20, 21, 30, 40, 50, 60]})
    b = pd.DataFrame({"id": [1, 2, 3, 3, 3, 4, 5, 7], "v": [10, 22, 30, 31, 32, 41, 50, 70]})
    store = write_versions(store_path, "t", [a, b])
    d = diff_versions(store, "t", "r1", "r2", keys=["id"])
    truth = keyed_truth(a, b, ["id"])
    r = d.table.rows.to_dict()
    assert (r["added"], r["removed"], r["changed"], r["unchanged"]) == (
        truth["added"], truth["removed"], truth["changed"], truth["unchanged"])
    dups = d.table.duplicates.to_dict()
    assert dups["keys"] == truth["dup_keys"] == 2
    assert dups["rows_a"] == 2 + 1 and dups["rows_b"] == 1 + 3
    assert [(e["key"]["id"], e["rows_a"], e["rows_b"]) for e in dups["examples"]] == [(2, 2, 1), (3, 1, 3)]
    # every row is accounted for exactly once
    assert r["removed"] + r["changed"] + r["unchanged"] + dups["rows_a"] == len(a)
    assert r["added"] + r["changed"] + r["unchanged"] + dups["rows_b"] == len(b)
    assert any("more than once" in line for line in d.summary())


@pytest.mark.parametrize(
    "a_rows, b_rows",
    [
        # a key repeated on one side only, and not on the other side at all
        ([(1, 10), (2, 20), (2, 20), (3, 30)], [(1, 10), (3, 31), (4, 40)]),
        # a key repeated with identical rows, matching an identical row on the other side
        ([(1, 10), (5, 50), (5, 50), (6, 60)], [(1, 11), (5, 50), (6, 60)]),
        # nothing differs but the order (a repeated key, with the same rows on both sides)
        ([(1, 10), (2, 20), (2, 20), (3, 30)], [(3, 30), (2, 20), (1, 10), (2, 20)]),
        # the same key repeated on both sides
        ([(1, 10), (7, 70), (7, 71)], [(7, 70), (7, 72), (1, 10), (8, 80)]),
    ],
)
@pytest.mark.parametrize("carried", [16, 0])  # the columns carried through the join, or a hash of them
def test_every_kind_of_repeated_key_is_found(store_path, a_rows, b_rows, carried, monkeypatch):
    from explorer.diff import table

    monkeypatch.setattr(table, "CARRIED_COLUMNS", carried)
    a = pd.DataFrame(a_rows, columns=["id", "v"])
    b = pd.DataFrame(b_rows, columns=["id", "v"])
    store = write_versions(store_path, "t", [a, b])
    d = diff_versions(store, "t", "r1", "r2", keys=["id"])
    truth = keyed_truth(a, b, ["id"])
    r = d.table.rows.to_dict()
    assert (r["added"], r["removed"], r["changed"], r["unchanged"]) == (
        truth["added"], truth["removed"], truth["changed"], truth["unchanged"])
    assert d.table.duplicates is not None and d.table.duplicates.keys == truth["dup_keys"]
    # the rows of the repeated keys, compared as multisets
    dup = d.table.duplicates.to_dict()
    ka = a.merge(a[a.duplicated("id", keep=False)][["id"]].drop_duplicates().merge(
        b[b.duplicated("id", keep=False)][["id"]].drop_duplicates(), how="outer"), on="id")
    kb = b.merge(ka[["id"]].drop_duplicates(), on="id")
    same_rows = multiset_truth(ka, kb)
    assert dup["rows_equal"] == (same_rows["added"] == same_rows["removed"] == 0)
    assert d.same_content == (dup["rows_equal"] and truth["added"] == truth["removed"] == truth["changed"] == 0)


def test_composite_keys(store_path):
    a = pd.DataFrame({"k1": [1, 1, 2, 2], "k2": ["a", "b", "a", "b"], "v": [1, 2, 3, 4]})
    b = pd.DataFrame({"k1": [1, 1, 2, 3], "k2": ["a", "b", "b", "a"], "v": [1, 5, 4, 9]})
    store = write_versions(store_path, "t", [a, b])
    d = diff_versions(store, "t", "r1", "r2", keys=["k1", "k2"])
    truth = keyed_truth(a, b, ["k1", "k2"])
    assert (d.table.rows.added, d.table.rows.removed, d.table.rows.changed) == (
        truth["added"], truth["removed"], truth["changed"]) == (1, 1, 1)
    assert d.to_dict()["samples"]["changed"][0]["key"] == {"k1": 1, "k2": "b"}


def test_schema_changes_renamed_and_retyped_columns(store_path):
    a = pd.DataFrame({"id": [1, 2, 3], "amount": [10, 20, 30], "label": ["x", "y", "z"], "old": [1, 1, 1]})
    b = pd.DataFrame({"id": [1, 2, 3], "amount": [10.0, 20.5, 30.0], "label": ["x", "y", "w"], "new": [1, 1, 1]})
    store = write_versions(store_path, "t", [a, b])
    d = diff_versions(store, "t", "r1", "r2", keys=["id"])
    s = d.to_dict()["schema"]
    assert [c["column"] for c in s["added"]] == ["new"]
    assert [c["column"] for c in s["removed"]] == ["old"]
    assert [(c["column"], c["from"], c["to"]) for c in s["changed"]] == [("amount", "int64", "double")]
    truth = keyed_truth(a, b, ["id"])  # compares the shared columns; 10 == 10.0
    assert d.table.columns_changed == truth["columns_changed"] == {"amount": 1, "label": 1}
    assert d.table.rows.changed == truth["changed"] == 2
    stats = d.to_dict()["stats"]
    assert stats["old"]["b"] is None and stats["new"]["a"] is None
    assert stats["amount"]["a"]["mean"] == pytest.approx(a["amount"].mean())
    assert stats["amount"]["b"]["mean"] == pytest.approx(b["amount"].mean())


@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_empty_tables(store_path, which):
    full = pd.DataFrame({"id": [1, 2, 3], "v": ["a", "b", "c"]})
    empty = full.iloc[0:0]
    a = empty if which in ("a", "both") else full
    b = empty if which in ("b", "both") else full
    if which == "both":
        b = pd.DataFrame({"id": pd.Series([], dtype="int64"), "v": pd.Series([], dtype="str")}).assign(extra=pd.Series([], dtype="float64"))
    store = write_versions(store_path, "t", [a, b])
    for keys in (["id"], []):
        d = diff_versions(store, "t", "r1", "r2", keys=keys, unkeyed=not keys)
        r = d.table.rows.to_dict()
        assert (r["a"], r["b"]) == (len(a), len(b))
        assert (r["added"], r["removed"], r["unchanged"]) == (len(b), len(a), 0)
    assert not diff_versions(store, "t", "r1", "r2", keys=["id"]).same_content  # rows or a column differ


def test_unkeyed_multiset_counts_multiplicity(store_path):
    a = pd.DataFrame({"x": [1, 1, 1, 2, 3, None], "y": ["a", "a", "a", "b", "c", "d"]})
    b = pd.DataFrame({"x": [1, 2, 2, 3, None, 4], "y": ["a", "b", "b", "c", "d", "e"]})
    store = write_versions(store_path, "t", [a, b])
    d = diff_versions(store, "t", "r1", "r2")
    truth = multiset_truth(a, b)
    assert {k: getattr(d.table.rows, k) for k in truth} == truth == {"removed": 2, "added": 2, "unchanged": 4}
    only_a = d.to_dict()["samples"]["removed"]
    assert only_a == [{"x": 1.0, "y": "a", "__count": 2}]


def test_same_rows_in_another_order_are_the_same_content(store_path):
    a, _ = random_pair(5)
    b = a.sample(frac=1, random_state=1)
    store = write_versions(store_path, "t", [a, b])
    d = diff_versions(store, "t", "r1", "r2", keys=["id"])
    assert not d.identical_bytes and d.same_content
    assert diff_versions(store, "t", "r1", "r2").same_content


@pytest.mark.parametrize("fmt", ["csv", "directory"])
def test_csv_and_directory_tables(store_path, fmt):
    a, b = random_pair(7, n=120)
    a["part"] = a["id"] % 3
    b["part"] = b["id"] % 3
    kw = {"partition_by": ["part"]} if fmt == "directory" else {}
    store = write_versions(store_path, "t", [a, b], format=fmt, **kw)
    d = diff_versions(store, "t", "r1", "r2", keys=["id"])
    truth = keyed_truth(a, b, ["id"])
    assert {k: getattr(d.table.rows, k) for k in ("added", "removed", "changed", "unchanged")} == {
        k: truth[k] for k in ("added", "removed", "changed", "unchanged")}


def test_remote_fsspec_store(tmp_path):
    a, b = random_pair(11, n=100)
    url = f"memory://diff-{tmp_path.name}"
    store = write_versions(url, "t", [a, b], keys=["id"])
    d = diff_versions(store, "t", "r1", "r2")
    truth = keyed_truth(a, b, ["id"])
    assert d.table.rows.changed == truth["changed"] and d.table.rows.added == truth["added"]


# --------------------------------------------------------------------------- other kinds


def test_json_diff_paths(store_path):
    a = {"kind": "lr", "coef": [1.0, 2.0, 3.0], "meta": {"rows": 10, "by": "x", "flag": True}, "gone": 1}
    b = {"kind": "lr", "coef": [1.0, 2.5, 3.0, 4.0], "meta": {"rows": 12, "by": "x", "flag": 1}, "new": {"a": 1}}
    store = write_versions(store_path, "m", [a, b])
    d = diff_versions(store, "m", "r1", "r2")
    j = d.to_dict()["json"]
    assert d.kind == "json" and not d.same_content
    assert j["added"] == [{"path": "coef[3]", "value": 4.0}, {"path": "new", "value": {"a": 1}}]
    assert j["removed"] == [{"path": "gone", "value": 1}]
    assert sorted((c["path"], c["from"], c["to"]) for c in j["changed"]) == [
        ("coef[1]", 2.0, 2.5), ("meta.flag", True, 1), ("meta.rows", 10, 12)]
    tol = diff_versions(store, "m", "r1", "r2", tolerance=0.6).to_dict()["json"]
    # 2.0 -> 2.5 is within 0.6; 10 -> 12 is not; True -> 1 is a change of type
    assert sorted(c["path"] for c in tol["changed"]) == ["meta.flag", "meta.rows"]


def test_npy_diff_against_numpy(store_path):
    rng = np.random.default_rng(0)
    a = rng.random((20, 5))
    b = a.copy()
    b[rng.random((20, 5)) < 0.2] += 0.25
    b[0, 0] = a[0, 0] = np.nan
    store = write_versions(store_path, "arr", [a, b, a[:10]])
    d = diff_versions(store, "arr", "r1", "r2")
    r = d.to_dict()["array"]
    with np.errstate(invalid="ignore"):
        differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    assert r["shape"] == {"a": [20, 5], "b": [20, 5]} and r["dtype"] == {"a": "float64", "b": "float64"}
    assert r["elements"] == 100 and r["differing"] == int(differ.sum()) > 0
    assert r["max_abs_diff"] == pytest.approx(float(np.nanmax(np.abs(a - b))))
    assert diff_versions(store, "arr", "r1", "r2", tolerance=0.3).array.differing == 0
    shapes = diff_versions(store, "arr", "r1", "r3").to_dict()["array"]
    assert shapes["shape"] == {"a": [20, 5], "b": [10, 5]} and shapes["differing"] is None


class _Bomb:
    """Unpickling this raises: a diff that unpickled would fail."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __reduce__(self):
        return (_explode, (self.n,))


def _explode(n):
    raise AssertionError("the diff unpickled a version")


def test_opaque_pickle_and_bytes_never_unpickled(store_path):
    store = write_versions(store_path, "p", [_Bomb(1), _Bomb(2), _Bomb(1)], format="pickle")
    d = diff_versions(store, "p", "r1", "r2")
    o = d.to_dict()["opaque"]
    assert d.kind == "opaque" and o["equal"] is False and not d.same_content
    assert o["size"] == {"a": len(pickle.dumps(_Bomb(1), protocol=pickle.HIGHEST_PROTOCOL)),
                         "b": len(pickle.dumps(_Bomb(2), protocol=pickle.HIGHEST_PROTOCOL))}
    assert diff_versions(store, "p", "r1", "r3").same_content
    bstore = write_versions(str(Path(store_path).parent / "b"), "blob", [b"abc", b"abd"])
    assert not diff_versions(bstore, "blob", "r1", "r2").same_content


# --------------------------------------------------------------------------- bad input


def test_bad_input_raises_explorer_errors(store_path):
    a = pd.DataFrame({"id": [1, 2], "v": [1, 2]})
    b = pd.DataFrame({"key": [1, 2], "v": [1, 3]})
    store = write_versions(store_path, "t", [a, b])
    with RunWriter(store_path, run_id="r3", started_at=T0 + timedelta(days=9)) as run:
        run.write("t", a, format="csv")
        run.write("only", a)
    store = Store.open(store_path)
    with pytest.raises(ExplorerError, match="unknown asset"):
        diff_versions(store, "nope", "r1", "r2")
    with pytest.raises(ExplorerError, match="unknown run"):
        diff_versions(store, "t", "r1", "r9")
    with pytest.raises(ExplorerError, match="parquet.*csv"):
        diff_versions(store, "t", "r2", "r3")
    with pytest.raises(ExplorerError, match="key column 'id' is missing in version B"):
        diff_versions(store, "t", "r1", "r2", keys=["id"])
    with pytest.raises(ExplorerError, match="no previous version"):
        diff_versions(store, "only", "previous", "latest")
    with pytest.raises(ExplorerError, match="holds no version"):
        diff_versions(store, "only", "r1", "latest")


# --------------------------------------------------------------------------- demo store


@pytest.fixture(scope="module")
def demo(demo_path):
    return Store.open(str(demo_path))


def test_demo_features_r5_r6_code_version_and_new_column(demo, demo_runs):
    r5, r6 = demo_runs["R5"], demo_runs["R6"]
    d = demo.diff("features", r5, r6)
    out = d.to_dict()
    assert not d.same_content
    assert [c["column"] for c in out["schema"]["added"]] == ["loan_to_income"]
    assert out["metadata"]["code_version"] == {"from": "v1.0", "to": "v1.1"}
    # the rows themselves are the same data: features written from identical inputs
    a = pd.read_parquet(Path(demo.root, r5, "features.parquet"))
    b = pd.read_parquet(Path(demo.root, r6, "features.parquet"))
    truth = keyed_truth(a, b, ["application_id"])
    assert out["rows"]["changed"] == truth["changed"] and out["rows"]["unchanged"] == truth["unchanged"]
    root = out["lineage"][0]
    assert root["asset"] == "features" and root["status"] == "differs"
    assert "changed code version v1.0 -> v1.1" in root["causes"]
    assert root["because"] == []  # its inputs have the same content in R5 and R6
    assert any("features changed code version v1.0 -> v1.1" in line and "added column loan_to_income" in line
               for line in d.explanation)


def test_demo_raw_r8_r9_identical_bytes(demo, demo_runs):
    d = demo.diff("raw/applications", demo_runs["R8"], demo_runs["R9"])
    assert d.same_content and d.identical_bytes
    n = pq.ParquetFile(Path(demo.root, demo_runs["R9"], "raw/applications.parquet")).metadata.num_rows
    assert d.table.rows.a == d.table.rows.b == n
    assert "same content" in d.explanation[0]


def test_demo_scores_r6_r7_thresholds_and_same_inputs(demo, demo_runs):
    r6, r7 = demo_runs["R6"], demo_runs["R7"]
    d = demo.diff("scores", r6, r7)
    out = d.to_dict()
    assert out["metadata"]["metadata.approve_below"] == {"from": 0.15, "to": 0.12}
    assert out["metadata"]["metadata.decline_above"] == {"from": 0.45, "to": 0.5}
    assert out["metadata"]["code_version"] == {"from": "v1.1", "to": "v1.2"}
    assert out["lineage"][0]["because"] == []
    assert any(line.startswith("its inputs are the same") and f"features @ {r6}" in line for line in d.explanation)
    a = pd.read_parquet(Path(demo.root, r6, "scores.parquet"))
    b = pd.read_parquet(Path(demo.root, r7, "scores.parquet"))
    truth = keyed_truth(a, b, ["application_id"])
    assert out["columns_changed"] == truth["columns_changed"]
    assert out["rows"]["changed"] == truth["changed"] > 0


def test_demo_explains_through_lineage_to_the_source(demo, demo_runs):
    r2, r5 = demo_runs["R2"], demo_runs["R5"]
    d = demo.diff("scores", r2, r5)
    rows = {r: pq.ParquetFile(Path(demo.root, r, "raw/applications.parquet")).metadata.num_rows for r in (r2, r5)}
    gained = rows[r5] - rows[r2]
    chain = (f"scores differs because features differs because clean/applications differs because "
             f"raw/applications gained {gained} rows")
    assert any(line.startswith(chain) and line.endswith(f"in run {r5}") and "income" in line
               for line in d.explanation), d.explanation
    assets = {s.asset for s in d.lineage}
    assert {"scores", "features", "clean/applications", "raw/applications", "raw/bureau", "models/credit_risk"} <= assets
    raw = next(s for s in d.lineage if s.asset == "raw/applications")
    assert (raw.a, raw.b, raw.depth) == (r2, r5, 3)


def test_demo_latest_and_previous(demo, demo_runs):
    d = demo.diff("raw/applications")  # previous -> latest
    assert (d.a, d.b) == (demo_runs["R8"], demo_runs["R9"])


def test_s3_store_through_duckdb_and_fsspec(tmp_path, monkeypatch):
    """DuckDB reads the parquet on (moto's) S3 through the store's own s3fs filesystem."""
    boto3 = pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(k, v)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="diff-bucket")
        opts = {"endpoint_url": endpoint, "key": "test", "secret": "test"}
        a, b = random_pair(13, n=80)
        for i, df in enumerate((a, b), start=1):
            with RunWriter("s3://diff-bucket/store", run_id=f"r{i}", started_at=T0 + timedelta(days=i),
                           storage_options=opts) as run:
                run.write("t", df, keys=["id"])
        store = Store.open("s3://diff-bucket/store", opts)
        d = diff_versions(store, "t", "r1", "r2", limit=3)
        truth = keyed_truth(a, b, ["id"])
        assert {k: getattr(d.table.rows, k) for k in ("added", "removed", "changed", "unchanged")} == {
            k: truth[k] for k in ("added", "removed", "changed", "unchanged")}
        assert d.table.columns_changed == truth["columns_changed"]
    finally:
        server.stop()
