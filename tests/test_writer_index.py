"""A DataFrame's named index survives RunWriter as it survives pandas' own writers: a column in
the stored table, the index again on load (parquet, feather, directory: pandas metadata) or a
column first (csv, as ``to_csv`` / ``read_csv`` give it back). An unnamed index is not stored."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow.parquet as pq
import pytest

from explorer import RunWriter, Store


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [30, 10, 20], "x": [0.5, 1.5, None], "name": ["a", "b", "c"]})


def _pandas_round_trip(df: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """What pandas itself gives back after writing ``df`` in ``fmt``."""
    buf = io.BytesIO()
    if fmt in ("parquet", "directory"):
        df.to_parquet(buf)
        return pd.read_parquet(io.BytesIO(buf.getvalue()))
    if fmt == "feather":
        df.to_feather(buf)
        return pd.read_feather(io.BytesIO(buf.getvalue()))
    assert fmt == "csv"
    return pd.read_csv(io.StringIO(df.to_csv()))


FORMATS = ["parquet", "feather", "csv", "directory"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_named_index_is_kept_as_pandas_keeps_it(tmp_path, fmt):
    df = _frame().set_index("id")
    with RunWriter(tmp_path / "s", job="j", run_id="r1") as run:
        run.write("t", df, format=fmt)
    store = Store.open(tmp_path / "s")
    loaded = store.load("t")
    pd.testing.assert_frame_equal(loaded, _pandas_round_trip(df, fmt), check_dtype=fmt != "csv")
    if fmt == "csv":  # the index is the first column, its values as written
        assert list(loaded.columns) == ["id", "x", "name"]
        assert loaded["id"].tolist() == [30, 10, 20]
    # the stored table has the index as a column, first, as reset_index() puts it
    assert store.load("t", as_arrow=True).column_names == list(df.reset_index().columns)
    assert [c.name for c in store.index.latest("t").table.columns] == ["id", "x", "name"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_multi_index_levels_are_kept(tmp_path, fmt):
    df = _frame().assign(day=["d1", "d2", "d1"]).set_index(["day", "id"])
    with RunWriter(tmp_path / "s", job="j") as run:
        run.write("t", df, format=fmt)
    loaded = Store.open(tmp_path / "s").load("t")
    pd.testing.assert_frame_equal(loaded, _pandas_round_trip(df, fmt), check_dtype=fmt != "csv")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_range_index_never_becomes_a_column(tmp_path, fmt):
    plain = _frame()
    named = _frame()
    named.index.name = "row"  # a named RangeIndex: pandas keeps it as metadata, not data
    sliced = _frame().iloc[1:]  # an unnamed index left by slicing: not data either
    with RunWriter(tmp_path / "s", job="j") as run:
        run.write("plain", plain, format=fmt)
        run.write("named", named, format=fmt)
        run.write("sliced", sliced, format=fmt)
    store = Store.open(tmp_path / "s")
    for key, df in (("plain", plain), ("named", named), ("sliced", sliced)):
        assert store.load(key, as_arrow=True).column_names == list(plain.columns), key
        assert list(store.load(key).columns) == list(plain.columns), key
        assert store.index.latest(key).table.num_rows == len(df)
    if fmt in ("parquet", "feather", "directory"):  # the name comes back with the range
        assert store.load("named").index.equals(_pandas_round_trip(named, fmt).index)
        assert store.load("named").index.name == "row"


def test_parquet_file_is_what_pandas_writes(tmp_path):
    """The bytes on disk read back by pyarrow alone: the index column and pandas' own record of it."""
    df = _frame().set_index("id")
    with RunWriter(tmp_path / "s", job="j", run_id="r1") as run:
        v = run.write("t", df)
    stored = pq.read_table(tmp_path / "s" / v.data_path)
    assert stored.column("id").to_pylist() == [30, 10, 20]
    assert stored.schema.pandas_metadata["index_columns"] == ["id"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_diff_keyed_on_a_named_index(tmp_path, fmt):
    a = _frame().set_index("id")
    b = a.copy()
    b.loc[20, "name"] = "changed"
    b = b.drop(index=10)
    b.loc[40] = [2.0, "new"]
    b = b.iloc[::-1]  # order is not content
    with RunWriter(tmp_path / "s", job="j", run_id="r1") as run:
        run.write("t", a, format=fmt)
    with RunWriter(tmp_path / "s", job="j", run_id="r2") as run:
        run.write("t", b, format=fmt)
    d = Store.open(tmp_path / "s").diff("t", "r1", "r2", keys=["id"]).table
    # truth: pandas on the two frames, joined on the index
    both = a.add_suffix("_a").join(b.add_suffix("_b"), how="inner")
    changed = sum(
        any(not (pd.isna(r[f"{c}_a"]) and pd.isna(r[f"{c}_b"])) and r[f"{c}_a"] != r[f"{c}_b"] for c in a.columns)
        for _, r in both.iterrows())
    assert d.keys == ("id",)
    assert (d.rows.added, d.rows.removed, d.rows.changed, d.rows.unchanged) == (
        len(b.index.difference(a.index)), len(a.index.difference(b.index)), changed, len(both) - changed)
    assert d.columns_changed.get("name") == 1
