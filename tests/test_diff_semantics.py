"""The diff on the cases of issue 16: each truth computed here with pandas / Arrow / plain Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest

from explorer import ExplorerError, RunWriter, Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def two(path: str, a, b, **kw) -> Store:
    for i, value in enumerate((a, b), start=1):
        with RunWriter(path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", value, **kw)
    return Store.open(path)


def changed_by_pandas(a: pd.DataFrame, b: pd.DataFrame, key: str) -> int:
    m = a.merge(b, on=key, suffixes=("_a", "_b"))
    cols = [c for c in a.columns if c != key]
    return int(sum(any(m[c + "_a"].iloc[i] != m[c + "_b"].iloc[i] for c in cols) for i in range(len(m))))


def test_1_user_column_named_like_an_internal_one(store_path):
    a = pd.DataFrame({"id": [1, 2, 3], "__k0": [7, 8, 9], "v": [1, 2, 3]})
    b = a.assign(v=[1, 2, 4])
    d = two(store_path, a, b).diff("t", keys=["id"])
    assert d.table.rows.changed == changed_by_pandas(a, b, "id") == 1
    assert not d.same_content


def test_2_change_under_a_nan_float_key(store_path):
    a = pa.table({"k": [1.0, float("nan"), 3.0], "v": [1, 2, 3]})
    b = pa.table({"k": [1.0, float("nan"), 3.0], "v": [1, 5, 3]})
    d = two(store_path, a, b).diff("t", keys=["k"])
    assert (d.table.rows.changed, d.table.rows.unchanged) == (1, 2)
    (row,) = d.table.samples.changed
    assert row.key == {"k": "NaN"} and row.changes[0].a == 2 and row.changes[0].b == 5


def test_3_result_does_not_depend_on_the_time_zone(store_path):
    ts = pa.array([datetime(2025, 1, 1, tzinfo=timezone.utc)], pa.timestamp("us", tz="UTC"))
    two(store_path, pa.table({"id": [1], "t": ts}), pa.table({"id": [1], "t": ["2025-01-01 00:00:00"]}))
    code = ("import sys; from explorer import Store; d = Store.open(sys.argv[1]).diff('t', keys=['id']); "
            "print(d.table.rows.changed)")
    got = {tz: subprocess.run([sys.executable, "-c", code, store_path], capture_output=True, text=True,
                              env={**os.environ, "TZ": tz}, check=True).stdout.strip()
           for tz in ("UTC", "Asia/Tokyo")}
    assert got == {"UTC": "0", "Asia/Tokyo": "0"}  # the text names the same instant (UTC when no offset)


def test_4_exact_casts_compare_values(store_path):
    a = pa.table({"id": [1, 2], "d": pa.array([date(2025, 1, 1), date(2025, 1, 2)]), "b": [True, False],
                  "i": [1, 2]})
    b = pa.table({"id": [1, 2], "d": pa.array([datetime(2025, 1, 1), datetime(2025, 1, 2, 0, 0, 1)], pa.timestamp("us")),
                  "b": pa.array([1, 0], pa.int64()), "i": [1.0, 2.5]})
    d = two(store_path, a, b).diff("t", keys=["id"])
    # truth: a date is its midnight, True is 1, an int equals the float holding it
    truth = {"d": sum(datetime.combine(x, datetime.min.time()) != y for x, y in
                      zip(a["d"].to_pylist(), b["d"].to_pylist())),
             "i": sum(x != y for x, y in zip(a["i"].to_pylist(), b["i"].to_pylist()))}
    assert d.table.columns_changed == truth == {"d": 1, "i": 1}
    changes = {c.column: c for c in d.table.schema.changed}
    assert changes["b"].values_equal is True and "values equal" in changes["b"].describe()
    assert changes["d"].values_equal is False


def test_5_lossy_casts_do_not_hide_changes(store_path):
    a = pa.table({"id": [1], "dec": pa.array([Decimal("1234567890123456789.1")], pa.decimal128(21, 1)),
                  "u": pa.array([2**53 + 1], pa.int64())})
    b = pa.table({"id": [1], "dec": pa.array([Decimal("1234567890123456789.11")], pa.decimal128(22, 2)),
                  "u": pa.array([2**53], pa.uint64())})
    d = two(store_path, a, b).diff("t", keys=["id"])
    assert d.table.columns_changed == {"dec": 1, "u": 1}
    cells = {c.column: c for c in d.table.samples.changed[0].changes}
    assert cells["dec"].a == "1234567890123456789.1" and cells["dec"].b == "1234567890123456789.11"
    assert (cells["u"].a, cells["u"].b) == (2**53 + 1, 2**53)


def test_5b_a_type_without_exact_cast_counts_as_changed(store_path):
    a = pa.table({"id": [1, 2], "x": pa.array([b"a", b"b"])})
    b = pa.table({"id": [1, 2], "x": pa.array([[1], [2]])})
    d = two(store_path, a, b).diff("t", keys=["id"])
    assert d.table.columns_changed == {"x": 2} and not d.same_content
    assert d.table.schema.changed[0].exact is False


def test_6_tz_annotation_and_dictionary_changes_are_reported(store_path):
    ts = pa.array([datetime(2025, 1, 1, tzinfo=timezone.utc)], pa.timestamp("us", tz="UTC"))
    a = pa.table({"id": [1], "t": ts, "c": ["x"]})
    b = pa.table({"id": [1], "t": ts.cast(pa.timestamp("us", tz="US/Eastern")), "c": pa.array(["x"]).dictionary_encode()})
    d = two(store_path, a, b).diff("t", keys=["id"])
    changed = {c.column: c for c in d.table.schema.changed}
    assert set(changed) == {"t", "c"}
    assert all(c.values_equal for c in changed.values())
    assert changed["t"].b == str(b.schema.field("t").type)


def test_7_columns_differing_by_case_keep_their_names(store_path):
    a = pa.table({"id": [1], "a": [1], "A": [2]})
    b = pa.table({"id": [1], "a": [1], "A": [3]})
    d = two(store_path, a, b).diff("t", keys=["id"])
    assert d.table.columns_changed == {"A": 1}
    assert "A_1" not in json.dumps(d.to_dict())


def test_8_declared_keys_differing_by_case(store_path):
    with RunWriter(store_path, run_id="r1", started_at=T0) as run:
        run.write("t", pd.DataFrame({"a": [1, 2, 3], "v": [1, 2, 3]}), keys=["a"])
    with RunWriter(store_path, run_id="r2", started_at=T0 + timedelta(days=1)) as run:
        run.write("t", pd.DataFrame({"A": [1, 2, 3], "v": [1, 2, 4]}), keys=["A"])
    d = Store.open(store_path).diff("t")
    assert d.table.mode == "keyed"
    assert (d.table.rows.changed, d.table.rows.unchanged) == (1, 2)
    assert Store.open(store_path).diff("t", keys=["a"]).table.rows.changed == 1


def test_9_repeated_keys_show_the_unmatched_rows(store_path):
    a = pd.DataFrame({"id": [1, 2, 2, 2], "v": [1, 20, 21, 22]})
    b = pd.DataFrame({"id": [1, 2, 2], "v": [1, 22, 20]})
    d = two(store_path, a, b).diff("t", keys=["id"])
    dup = d.table.duplicates
    ra = a[a.id == 2].v.value_counts()
    rb = b[b.id == 2].v.value_counts()
    only_a = {v: int(n - rb.get(v, 0)) for v, n in ra.items() if n > rb.get(v, 0)}
    assert (dup.only_a, dup.only_b, dup.matched) == (sum(only_a.values()), 0, 2)
    assert [(r["id"], r["v"], r["__count"]) for r in dup.unmatched_a] == [(2, v, n) for v, n in only_a.items()]


def test_10_long_values_cut_around_the_difference(store_path):
    big = "x" * 1_000_000
    a = pd.DataFrame({"id": [1, 2], "s": [big + "a", "short"]})
    b = pd.DataFrame({"id": [1, 2], "s": [big + "b", "short"]})
    store = two(store_path, a, b)
    d = store.diff("t", keys=["id"])
    doc = json.dumps(d.to_dict())
    assert len(doc) < 20_000
    cell = d.table.samples.changed[0].changes[0]
    assert cell.a.endswith("a") and cell.b.endswith("b") and cell.length_a == len(big) + 1
    side = store.version("t", "r1").table.column("s")
    assert len(side.max) <= 64


def test_11_mixed_object_column_is_a_one_line_error(store_path):
    with RunWriter(store_path, run_id="r1") as run:
        with pytest.raises(ExplorerError, match=r"cannot write 't': column 'm' .*int, str"):
            run.write("t", pd.DataFrame({"id": [1, 2], "m": [1, "x"]}))
        for given in ("parquet", "csv", "directory"):  # with format= given the asset is named too
            with pytest.raises(ExplorerError, match=rf"cannot write 't_{given}': column 'm' .*int, str"):
                run.write(f"t_{given}", pd.DataFrame({"id": [1, 2], "m": [1, "x"]}), format=given)


def test_12_wording_and_row_order(store_path):
    a = pd.DataFrame({"id": [1, 2, 3], "v": [1, 2, 3]})
    d = two(store_path, a, a.iloc[::-1]).diff("t", keys=["id"])
    assert d.same_content
    assert all("changed content" not in line for line in d.explanation)
    store = two(store_path + "2", a, a.iloc[:2])
    assert any("lost 1 row " in line for line in store.diff("t").summary())


def test_options_tolerances_spaces_case_columns_redact(store_path):
    a = pd.DataFrame({"id": [1, 2, 3], "x": [100.0, 200.0, 300.0], "s": ["a", " B", "c"], "secret": ["p1", "p2", "p3"]})
    b = pd.DataFrame({"id": [1, 2, 3], "x": [101.0, 200.5, 300.0], "s": ["a", "b ", "C"], "secret": ["p1", "q2", "p3"]})
    store = two(store_path, a, b)
    base = store.diff("t", keys=["id"])
    assert base.table.columns_changed == {"x": 2, "s": 2, "secret": 1}
    # |a - b| <= abs + rel * |b|, as numpy.isclose
    rel = store.diff("t", keys=["id"], rel_tol=0.005)
    truth = int(sum(abs(x - y) > 0.005 * abs(y) for x, y in zip(a.x, b.x)))
    assert rel.table.columns_changed.get("x", 0) == truth == 1
    per = store.diff("t", keys=["id"], abs_tol={"x": 1.0})
    assert "x" not in per.table.columns_changed
    both = store.diff("t", keys=["id"], ignore_spaces=True, ignore_case=True)
    s_truth = int(sum(x.strip().lower() != y.strip().lower() for x, y in zip(a.s, b.s)))
    assert both.table.columns_changed.get("s", 0) == s_truth == 0
    only = store.diff("t", keys=["id"], columns=["x"])
    assert only.table.compared_columns == ("x",)
    ex = store.diff("t", keys=["id"], exclude=["secret"])
    assert "secret" not in ex.table.compared_columns
    red = store.diff("t", keys=["id"], redact=["secret"])
    doc = json.dumps(red.to_dict())
    assert "q2" not in doc and "p2" not in doc and "***" in doc
    with pytest.raises(ExplorerError, match="nope"):
        store.diff("t", keys=["id"], exclude=["nope"])


def test_ignore_column_case(store_path):
    store = two(store_path, pd.DataFrame({"id": [1], "Val": [1]}), pd.DataFrame({"id": [1], "val": [2]}))
    plain = store.diff("t", keys=["id"])
    assert [c.column for c in plain.table.schema.added] == ["val"]
    folded = store.diff("t", keys=["id"], ignore_column_case=True)
    assert folded.table.columns_changed == {"Val": 1} and not folded.table.schema.added


def test_cli_options_match_the_library(cli, store_path):
    a = pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]})
    store = two(store_path, a, a.assign(x=[1.05, 2.0]))
    r = cli("diff", store_path, "t", "r1", "r2", "--key", "id", "--abs-tol", "x=0.1", "--format", "json")
    assert json.loads(r.out)["rows"] == store.diff("t", keys=["id"], abs_tol={"x": 0.1}).to_dict()["rows"]
    assert json.loads(r.out)["rows"]["changed"] == 0
    options = json.loads(r.out)["options"]
    assert options["abs_tol_columns"] == {"x": 0.1} and options["keys"] == ["id"]
    # every entry of "options" is the one docs/diff.md names
    doc = (Path(__file__).resolve().parent.parent / "docs" / "diff.md").read_text()
    said = doc[doc.index('`"options"` records'):].split("\n\n")[0]
    assert all(f"`{k}`" in said for k in options), [k for k in options if f"`{k}`" not in said]
