"""Data formats live in one module each behind one registry (explorer/formats/): Feather was
added as one file, and a format registered from user code (here, this test file) is written,
read, previewed with an offset, queried in SQL, diffed and verified with no other edit."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from explorer import RunWriter, Store, formats
from explorer.formats.base import Format, Location, duck_path, head_of_batches, table_of
from explorer.store import data

ROOT = Path(__file__).resolve().parent.parent


def _two_runs(path: str, key: str, fmt: str, a: pd.DataFrame, b: pd.DataFrame) -> None:
    for df in (a, b):
        with RunWriter(path, job="j") as run:
            run.write(key, df, format=fmt, keys=["id"])


def _changed_by_key(a: pd.DataFrame, b: pd.DataFrame) -> tuple[int, int, int]:
    """(added, removed, changed) by ``id``, computed with a pandas merge."""
    m = a.merge(b, on="id", how="outer", suffixes=("_a", "_b"), indicator=True)
    both = m[m["_merge"] == "both"]
    changed = int((both["x_a"] != both["x_b"]).sum())
    return int((m["_merge"] == "right_only").sum()), int((m["_merge"] == "left_only").sum()), changed


A = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.5, 2.5, 3.5, 4.5]})
B = pd.DataFrame({"id": [2, 3, 4, 5], "x": [2.5, 30.0, 4.5, 5.5]})


def test_feather_is_written_read_previewed_queried_diffed_and_verified(store_path):
    _two_runs(store_path, "t", "feather", A, B)
    store = Store.open(store_path)
    v = store.latest("t")
    assert v.data_format == "feather" and v.data_path.endswith("/t.feather")
    # the file is Feather, as pyarrow itself reads it
    on_disk = feather.read_table(str(Path(store_path) / v.data_path)).to_pandas()
    pd.testing.assert_frame_equal(on_disk, B)
    pd.testing.assert_frame_equal(store.load("t"), B)
    assert v.table.num_rows == 4 and [c.name for c in v.table.columns] == ["id", "x"]
    # preview with an offset: the rows pandas slicing gives
    pd.testing.assert_frame_equal(data.preview(store.data_fs, store.root, v, rows=2, offset=1),
                                  B.iloc[1:3].reset_index(drop=True))
    # SQL: the latest version as a view, every version stacked
    got = store.sql('SELECT sum(x) AS s, count(*) AS n FROM "t@*"')
    assert got["s"].tolist() == [A["x"].sum() + B["x"].sum()] and got["n"].tolist() == [8]
    # diff by key: the counts of a pandas merge
    rows = store.diff("t").table.rows
    assert (rows.added, rows.removed, rows.changed) == _changed_by_key(A, B) == (1, 1, 1)


def test_feather_verify_finds_a_modified_file(store_path, cli):
    _two_runs(store_path, "t", "feather", A, B)
    assert cli("verify", store_path).code == 0
    path = Path(store_path) / Store.open(store_path).latest("t").data_path
    path.write_bytes(path.read_bytes()[:-8] + b"\0" * 8)
    result = cli("verify", store_path)
    assert result.code != 0 and "modified" in result.out


def test_the_feather_format_is_one_file():
    # no file of the library but the format's own module names it
    hits = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "explorer").rglob("*"))
            if p.is_file() and p.suffix in (".py", ".tcss", ".toml") and "feather" in p.read_text().lower()]
    assert hits == ["explorer/formats/feather.py"]


class Tsv(Format):
    """A format written by a user: tab-separated values, read by pyarrow and by DuckDB."""

    name = "tsv"
    extensions = (".tsv",)
    kind = "table"
    table = True

    def write(self, value):
        sink = io.BytesIO()
        pacsv.write_csv(table_of(value, self.name), sink, pacsv.WriteOptions(delimiter="\t"))
        return sink.getvalue()

    def _open(self, loc: Location):
        return pacsv.open_csv(loc.fs.open(loc.path, "rb"), parse_options=pacsv.ParseOptions(delimiter="\t"))

    def read(self, loc, columns=None, filter=None):
        table = self._open(loc).read_all()
        table = table.filter(filter) if filter is not None else table
        return table.select(columns) if columns else table

    def schema(self, loc):
        return self._open(loc).schema

    def preview(self, loc, rows=50, offset=0):
        reader = self._open(loc)
        return head_of_batches(reader, rows, offset, reader.schema)

    def duckdb_source(self, loc, con=None):
        return f"read_csv({duck_path(loc.url(loc.path))}, delim='\\t', header=true)"


@pytest.fixture
def tsv():
    formats.register(Tsv())
    yield
    formats.unregister("tsv")


def test_a_format_registered_by_user_code_works_everywhere(store_path, tsv, cli):
    _two_runs(store_path, "t", "tsv", A, B)
    store = Store.open(store_path)
    v = store.latest("t")
    assert v.data_path.endswith("/t.tsv")
    text = (Path(store_path) / v.data_path).read_text()
    assert text.splitlines()[0] == '"id"\t"x"'  # tab-separated, as the format wrote it
    pd.testing.assert_frame_equal(store.load("t"), B)
    pd.testing.assert_frame_equal(store.preview("t", rows=2), B.iloc[:2])
    got = store.sql("SELECT id FROM t WHERE x > 5 ORDER BY id")
    assert got["id"].tolist() == B[B["x"] > 5]["id"].tolist()
    rows = store.diff("t").table.rows
    assert (rows.added, rows.removed, rows.changed) == _changed_by_key(A, B)
    assert cli("verify", store_path).code == 0
    # once unregistered, the versions of a store holding it are left out (the reader warns), and
    # asking for one is a one-line error, never a traceback
    formats.unregister("tsv")
    result = cli("show", store_path, "t")
    assert result.code != 0 and result.err.strip() == "frontier-explore: error: unknown asset 't'"


def test_unknown_format_is_a_one_line_write_error(store_path):
    with RunWriter(store_path, job="j") as run:
        with pytest.raises(Exception) as info:
            run.write("t", A, format="delta")
    assert "unknown format 'delta'" in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- previews with an offset


def test_parquet_preview_offset_reads_across_row_groups(store_path):
    df = pd.DataFrame({"i": np.arange(1000), "s": [f"r{i}" for i in range(1000)]})
    with RunWriter(store_path, job="j") as run:
        v = run.write("t", df)
    path = Path(store_path) / v.data_path
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=128)  # 8 row groups
    store = Store.open(store_path)
    v = store.latest("t")
    for offset, rows in ((0, 5), (100, 60), (126, 4), (990, 50), (2000, 5)):
        got = data.preview_table(store.data_fs, store.root, v, rows=rows, offset=offset).to_pandas()
        pd.testing.assert_frame_equal(got, df.iloc[offset:offset + rows].reset_index(drop=True))


@pytest.mark.parametrize("fmt", ["csv", "directory", "feather"])
def test_table_preview_offset(store_path, fmt):
    df = pd.DataFrame({"i": np.arange(300), "x": np.arange(300) * 0.5})
    with RunWriter(store_path, job="j") as run:
        run.write("t", df, format=fmt)
    store = Store.open(store_path)
    v = store.latest("t")
    got = data.preview(store.data_fs, store.root, v, rows=7, offset=250)
    pd.testing.assert_frame_equal(got.sort_values("i").reset_index(drop=True),
                                  df.iloc[250:257].reset_index(drop=True))


def test_array_preview_offset_reads_those_rows(store_path, monkeypatch):
    arr = np.arange(40_000, dtype=np.int64).reshape(20_000, 2)
    with RunWriter(store_path, job="j") as run:
        run.write("a", arr)
    store = Store.open(store_path)
    v = store.latest("a")
    got = data.preview(store.data_fs, store.root, v, rows=3, offset=100)
    assert got.startswith("preview truncated: rows 100 to 102 of a 20000x2 int64 array")
    assert np.array_repr(arr[100:103]) in got
    small = np.arange(6).reshape(3, 2)
    with RunWriter(store_path, job="j") as run:
        run.write("b", small)
    v = Store.open(store_path).latest("b")
    assert (data.preview(store.data_fs, store.root, v) == small).all()


def test_the_registry_lists_every_built_in_format_once():
    assert set(formats.names()) == {"parquet", "csv", "json", "npy", "pickle", "bytes", "directory", "feather", "external"}
    assert {n for n in formats.names() if formats.is_table(n)} == {"parquet", "csv", "directory", "feather"}
    assert formats.stock_extensions()[".pq"] == "parquet" and ".bin" not in formats.stock_extensions()
