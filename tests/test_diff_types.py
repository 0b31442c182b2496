"""Type changes the first round of issue 16 left out: nanosecond zoned timestamps, columns of nulls,
text that only DuckDB's lenient cast reads as a number, retyped keys, a key named in --exclude.
Each truth is computed here with Python / pandas / Arrow."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest

from explorer import ExplorerError, RunWriter, Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def two(path: str, a, b) -> Store:
    for i, value in enumerate((a, b), start=1):
        with RunWriter(path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", value)
    return Store.open(path)


def test_zoned_timestamps_of_two_units_compare_as_instants(store_path):
    us = [datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 6, 1, 12, tzinfo=timezone.utc)]
    a = pa.table({"t": pa.array(us, pa.timestamp("us", tz="UTC")), "v": [1, 2],
                  "w": pa.array(us, pa.timestamp("us", tz="UTC"))})
    # B: the same instants in nanoseconds and another zone, one of them a nanosecond later
    w_b = pa.array([1735689600000000000, 1748779200000000001], pa.timestamp("ns", tz="Europe/Paris"))
    b = pa.table({"t": pa.array(us, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("ns", tz="Europe/Paris")),
                  "v": [1, 3], "w": w_b})
    d = two(store_path, a, b).diff("t", keys=["t"])  # a key of zoned timestamps in two units
    truth_w = sum(x.value != y.value for x, y in zip(a["w"].cast(pa.timestamp("ns", tz="UTC")).to_pandas(),
                                                     b["w"].to_pandas()))
    assert (d.table.rows.changed, d.table.rows.unchanged) == (1, 1)
    assert d.table.columns_changed == {"v": 1, "w": truth_w} == {"v": 1, "w": 1}


def test_a_column_of_nulls_compares_with_the_typed_column_that_replaces_it(store_path):
    a = pa.table({"id": [1, 2, 3], "x": pa.array([None, None, None], pa.null())})
    b = pa.table({"id": [1, 2, 3], "x": pa.array([None, 5, None], pa.int64())})
    d = two(store_path, a, b).diff("t", keys=["id"])
    truth = sum(y is not None for y in b["x"].to_pylist())  # null equals null; a value differs from null
    assert d.table.columns_changed == {"x": truth} == {"x": 1}
    (change,) = d.table.schema.changed
    assert change.exact and change.values_equal is False


def _written_as_number(text: str) -> bool:
    return re.fullmatch(r"[+-]?[0-9]+", text) is not None


def test_text_equals_a_number_only_when_written_as_one(store_path):
    texts = ["2", " 2", "0x10", "1_000", "+7", "2.0", "1e3", "-3"]
    numbers = [2, 2, 16, 1000, 7, 2, 1000, -3]
    a = pd.DataFrame({"id": range(len(texts)), "n": texts})
    b = pd.DataFrame({"id": range(len(texts)), "n": numbers})
    d = two(store_path, a, b).diff("t", keys=["id"])
    truth = sum(not (_written_as_number(t) and int(t) == n) for t, n in zip(texts, numbers))
    assert d.table.columns_changed == {"n": truth} == {"n": 5}


def test_text_equals_a_float_bool_or_decimal_only_when_written_as_one(store_path):
    floats_t, floats = ["0.1", "nan", "1e3", "0x1p3", " 1.5"], [0.1, float("nan"), 1000.0, 8.0, 1.5]
    bools_t, bools = ["True", "false", "yes", "1", "t"], [True, False, True, True, True]
    decs_t = ["1.50", "2", "3.1", "abc", "1,5"]
    decs = [Decimal("1.50"), Decimal("2.00"), Decimal("3.10"), Decimal("1.00"), Decimal("1.50")]
    a = pa.table({"id": range(5), "f": floats_t, "b": bools_t, "d": decs_t})
    b = pa.table({"id": range(5), "f": floats, "b": bools, "d": pa.array(decs, pa.decimal128(5, 2))})
    d = two(store_path, a, b).diff("t", keys=["id"])

    def float_equal(t: str, x: float) -> bool:
        try:
            y = float(t)
        except ValueError:
            return False
        return not t.startswith((" ", "0x")) and (y == x or (math.isnan(x) and math.isnan(y)))

    def dec_equal(t: str, x: Decimal) -> bool:
        return re.fullmatch(r"[+-]?[0-9]*\.?[0-9]*", t) is not None and Decimal(t) == x

    truth = {"f": sum(not float_equal(t, x) for t, x in zip(floats_t, floats)),
             "b": sum(t.lower() not in ("true", "false") or (t.lower() == "true") != x for t, x in zip(bools_t, bools)),
             "d": sum(not dec_equal(t, x) for t, x in zip(decs_t, decs))}
    assert d.table.columns_changed == truth == {"f": 2, "b": 3, "d": 2}


def test_a_retyped_key_says_how_rows_were_matched(store_path):
    a = pd.DataFrame({"id": [1, 2, 3], "v": [1, 2, 3]})
    b = pd.DataFrame({"id": ["1", "02", "x"], "v": [1, 5, 3]})
    d = two(store_path, a, b).diff("t", keys=["id"])
    keys_b = {int(k) for k in b["id"] if _written_as_number(k)}
    matched = set(a["id"]) & keys_b
    assert (d.table.rows.added, d.table.rows.removed) == (len(b) - len(matched), len(a) - len(matched)) == (1, 1)
    (change,) = d.table.schema.changed
    assert change.column == "id" and change.exact and "as a key" in change.describe()
    assert "no exact cast" not in " ".join(d.summary())


def test_a_key_cannot_be_excluded(store_path, cli):
    a = pd.DataFrame({"id": [1, 2], "v": [1, 2]})
    store = two(store_path, a, a.assign(v=[1, 3]))
    with pytest.raises(ExplorerError, match="'id': it is a key column"):
        store.diff("t", keys=["id"], exclude=["id"])
    r = cli("diff", store_path, "t", "r1", "r2", "--key", "id", "--exclude", "id")
    assert r.code == 2 and "key column" in r.err and "Traceback" not in r.err


def test_identical_bytes_apply_the_options_to_what_they_show(store_path):
    frame = pd.DataFrame({"id": [1, 2, 3], "secret": ["pw-1", "pw-2", "pw-3"], "noise": [1, 2, 3]})
    store = two(store_path, frame, frame)  # the same bytes twice: nothing is read
    d = store.diff("t", keys=["id"], redact=["SECRET"], ignore_column_case=True, exclude=["noise"])
    assert d.identical_bytes
    doc = str(d.to_dict())
    assert not [v for v in frame.secret if v in doc] and "***" in doc
    assert set(d.table.stats) == set(frame.columns) - {"noise"}
    with pytest.raises(ExplorerError, match="'nope' is missing"):
        store.diff("t", keys=["nope"])
    with pytest.raises(ExplorerError, match="--exclude 'nope'"):
        store.diff("t", keys=["id"], exclude=["nope"])


def test_redact_hides_a_column_matched_by_case_on_both_sides(store_path):
    a = pd.DataFrame({"id": [1, 2], "Secret": ["pw-a1", "pw-a2"]})
    b = pd.DataFrame({"id": [1, 2, 3], "secret": ["pw-a1", "pw-b2", "pw-b3"]})  # one changed, one added
    for options in ({"keys": ["id"]}, {}):
        d = two(store_path + str(len(options)), a, b).diff("t", redact=["secret"], ignore_column_case=True, **options)
        doc = str(d.to_dict())
        leaked = [v for v in list(a.Secret) + list(b.secret) if v in doc]
        assert leaked == [] and "***" in doc, (options, leaked)


def test_null_nan_and_signed_zero_keys_match_as_documented(store_path):
    """docs/diff.md: NULL keys match NULL keys, NaN keys match NaN keys, -0.0 matches 0.0."""
    keys_a = [None, -0.0, 1.0, float("nan"), 2.5]
    keys_b = [None, 0.0, 1.0, float("nan"), 3.5]
    a = pa.table({"k": pa.array(keys_a, pa.float64()), "v": [1, 2, 3, 4, 5]})
    b = pa.table({"k": pa.array(keys_b, pa.float64()), "v": [10, 20, 3, 40, 5]})
    d = two(store_path, a, b).diff("t", keys=["k"])

    def canon(k):  # the documented matching, in Python
        if k is None:
            return "null"
        return "nan" if math.isnan(k) else k + 0.0

    va = {canon(k): v for k, v in zip(keys_a, a["v"].to_pylist())}
    vb = {canon(k): v for k, v in zip(keys_b, b["v"].to_pylist())}
    both = va.keys() & vb.keys()
    truth = (len(vb.keys() - va.keys()), len(va.keys() - vb.keys()), sum(va[k] != vb[k] for k in both),
             sum(va[k] == vb[k] for k in both))
    r = d.table.rows
    assert (r.added, r.removed, r.changed, r.unchanged) == truth == (1, 1, 3, 1)


def test_unkeyed_multiset_counts_with_nan_nulls_signed_zeros_and_repeats(store_path):
    from collections import Counter

    import numpy as np

    rng = np.random.default_rng(11)
    pool = [0.0, -0.0, 1.5, float("nan"), None]
    n = 300
    xs = [pool[int(i)] for i in rng.integers(0, len(pool), n)]
    ss = [["a", "b", None][int(i)] for i in rng.integers(0, 3, n)]
    a = pa.table({"x": pa.array(xs, pa.float64()), "s": pa.array(ss, pa.string())})
    keep = rng.random(n) < 0.8
    extra = rng.integers(0, n, 40)  # copies of some rows, and some rows with another value
    xb = [x for x, k in zip(xs, keep) if k] + [xs[int(i)] for i in extra] + [2.5] * 7
    sb = [s for s, k in zip(ss, keep) if k] + [ss[int(i)] for i in extra] + ["a"] * 7
    b = pa.table({"x": pa.array(xb, pa.float64()), "s": pa.array(sb, pa.string())})
    d = two(store_path, a, b).diff("t")

    def canon(x):  # NaN equals NaN, -0.0 equals 0.0, null equals null
        return "null" if x is None else ("nan" if math.isnan(x) else x + 0.0)

    ca = Counter((canon(x), s) for x, s in zip(xs, ss))
    cb = Counter((canon(x), s) for x, s in zip(xb, sb))
    r = d.table.rows
    assert d.table.mode == "unkeyed"
    assert (r.removed, r.added, r.unchanged) == (sum((ca - cb).values()), sum((cb - ca).values()), sum((ca & cb).values()))
    shown = {(canon(row["x"] if row["x"] != "NaN" else float("nan")), row["s"]): row["__count"] for row in d.table.samples.added}
    assert all((cb - ca)[k] == v for k, v in shown.items()) and shown


def test_csv_text_columns_compare_as_written(store_path):
    """DuckDB's type detection would read the text "01" as 1 and "1.0" as 1.0: text columns of a CSV
    are compared as the text the writer wrote (the sidecar's types)."""
    a = pd.DataFrame({"id": [1, 2, 3], "code": ["01", "02", "7"], "day": ["2025-01-01", "2025-01-02", "x"],
                      "amount": ["1.0", "2", "3"]})
    b = pd.DataFrame({"id": [1, 2, 3], "code": ["1", "02", "7"], "day": ["2025-01-01 00:00:00", "2025-01-02", "x"],
                      "amount": ["1", "2.0", "3"]})
    for i, frame in enumerate((a, b), start=1):
        with RunWriter(store_path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", frame, format="csv")
    d = Store.open(store_path).diff("t", keys=["id"])
    truth = {c: int((a[c] != b[c]).sum()) for c in a.columns if c != "id" and (a[c] != b[c]).any()}
    assert d.table.columns_changed == truth == {"code": 1, "day": 1, "amount": 2}
    assert not d.table.schema.changed


def test_csv_columns_detected_differently_are_not_a_type_change(store_path):
    a = pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]})  # written as "1", "2": DuckDB detects integers
    b = pd.DataFrame({"id": [1, 2], "x": [1.0, 2.5]})
    for i, frame in enumerate((a, b), start=1):
        with RunWriter(store_path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", frame, format="csv")
    d = Store.open(store_path).diff("t", keys=["id"])
    assert d.table.schema.changed == ()  # both versions record the column as double
    assert d.table.columns_changed == {"x": int((a.x != b.x).sum())} == {"x": 1}
