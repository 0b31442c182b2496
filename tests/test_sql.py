"""SQL over a store on DuckDB, checked against pandas reading the same files."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from catalogue_support import (  # noqa: F401 - fixtures
    R1,
    R2,
    R3,
    R4,
    R5,
    RUNS,
    lineage_store,
    moto_endpoint,
    s3_store,
    writable_store,
)

from explorer import Store
from explorer.sql import SqlError


def normalise(df: pd.DataFrame, key: str = "id") -> pd.DataFrame:
    """Same rows and columns regardless of order and of int/category dtype differences."""
    df = df[sorted(df.columns)].sort_values(key).reset_index(drop=True)
    return df.astype({c: str for c in df.columns if df[c].dtype.name in ("category", "object", "string", "str")})


def assert_same(a: pd.DataFrame, b: pd.DataFrame, key: str = "id") -> None:
    pd.testing.assert_frame_equal(normalise(a, key), normalise(b, key), check_dtype=False)


def test_latest_view_and_versions_match_pandas(lineage_store):
    store = Store.open(lineage_store)
    root = Path(lineage_store)
    # "features" is its latest version: R4's hive-partitioned parquet directory
    truth = pd.read_parquet(root / R4 / "features")
    truth["region"] = truth["region"].astype(str)
    assert_same(store.sql("select * from features"), truth)
    # each version by name
    assert_same(store.sql(f'select * from "features@{R1}"'), pd.read_parquet(root / R1 / "features.parquet"))
    assert_same(store.sql(f'select * from "raw@{R2}"'), pd.read_parquet(root / R2 / "raw.parquet"))
    # csv assets too
    assert_same(store.sql("select * from bureau"), pd.read_csv(root / R1 / "bureau.csv"))


def test_aggregates_and_joins_match_pandas(lineage_store):
    store = Store.open(lineage_store)
    root = Path(lineage_store)
    raw1 = pd.read_parquet(root / R1 / "raw.parquet")
    raw2 = pd.read_parquet(root / R2 / "raw.parquet")
    got = store.sql(
        f'select region, count(*) as n, sum(amount) as total from "raw@{R2}" group by region order by region'
    )
    want = raw2.groupby("region").agg(n=("id", "size"), total=("amount", "sum")).reset_index()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)

    # how much each id's amount moved between two ingests
    got = store.sql(
        f'select a.id, b.amount - a.amount as delta from "raw@{R1}" a join "raw@{R2}" b using (id) order by a.id'
    )
    m = raw1.merge(raw2, on="id", suffixes=("_a", "_b"))
    want = pd.DataFrame({"id": m["id"], "delta": m["amount_b"] - m["amount_a"]})
    pd.testing.assert_frame_equal(got, want, check_dtype=False)

    scores = pd.read_parquet(root / R4 / "scores.parquet")
    bureau = pd.read_csv(root / R1 / "bureau.csv")
    got = store.sql('select s.id, s.score, b.score as bureau from scores s join "bureau" b using (id) order by s.id')
    m = scores.merge(bureau, on="id", suffixes=("", "_b")).sort_values("id")
    assert list(got["bureau"]) == list(m["score_b"]) and list(got["score"]) == list(m["score"])


def test_metadata_tables_describe_runs_and_lineage(writable_store):
    store = Store.open(writable_store)
    store.flag("features", R2, reason="dup")
    runs = store.sql("select run_id, job, status, assets from runs order by started_at")
    assert list(runs["run_id"]) == RUNS
    assert list(runs["status"]) == ["success"] * 4 + ["failed"]
    assert list(runs["assets"]) == [len(store.run_versions(r)) for r in RUNS]
    assert store.sql("select tags->>'team' as t from runs")["t"].unique().tolist() == ["risk"]

    versions = store.sql("select asset, run_id, content_hash, size_bytes, rows from versions")
    expected = {(v.asset, v.run_id, v.content_hash, v.size_bytes) for v in store.index.versions.values()}
    assert {tuple(r) for r in versions[["asset", "run_id", "content_hash", "size_bytes"]].itertuples(index=False)} == expected

    # lineage in SQL: everything that read features@R2 directly
    direct = store.sql(
        f"select v.asset, v.run_id from versions v, unnest(v.inputs) as t(i) "
        f"where i.asset = 'features' and i.run_id = '{R2}' order by v.asset"
    )
    assert [tuple(r) for r in direct.itertuples(index=False)] == [("model", R3), ("scores", R3)]
    # metadata as JSON
    auc = store.sql("select run_id, metadata->>'auc' as auc from versions where asset = 'model' order by run_id")
    assert list(auc["auc"]) == ["0.71", "0.78"]
    # taint in SQL matches the library
    tainted = store.sql("select asset, run_id from versions where tainted")
    assert {tuple(r) for r in tainted.itertuples(index=False)} == set(store.tainted())
    # the schema-qualified names always work
    assert len(store.sql("select * from frontier.versions")) == len(store.index.versions)


def test_only_referenced_data_is_read(lineage_store, tmp_path):
    """Views are made for the tables a query names: a version whose data is gone does not
    break queries on other tables, and is reported clearly when it is queried."""
    dst = tmp_path / "store"
    shutil.copytree(lineage_store, dst)
    (dst / R1 / "features.parquet").unlink()
    store = Store.open(str(dst))
    assert store.sql("select count(*) as n from scores")["n"][0] == 6
    assert store.sql(f'select count(*) as n from "raw@{R1}"')["n"][0] == 6
    with pytest.raises(SqlError, match="features"):
        store.sql(f'select * from "features@{R1}"')


def test_files_are_checked_only_for_the_views_a_query_names(lineage_store, monkeypatch):
    """DuckDB is allowed a version's file when a query first names it (issue 15: checking
    every data file of the store made a query on the metadata tables pay one path
    resolution per version). Counted at the one place a file's location is resolved."""
    import explorer.sql as sqlmod

    checked: list[tuple[str, str]] = []
    real = sqlmod.location

    def counting(fs, root, v, *args, **kwargs):
        checked.append((v.asset, v.run_id))
        return real(fs, root, v, *args, **kwargs)

    monkeypatch.setattr(sqlmod, "location", counting)
    store = Store.open(lineage_store)
    assert store.sql("select count(*) as n from versions")["n"][0] == len(store.index.versions)
    assert checked == []
    raw = pd.read_parquet(Path(lineage_store) / R1 / "raw.parquet")
    assert store.sql(f'select count(*) as n from "raw@{R1}"')["n"][0] == len(raw)
    assert set(checked) == {("raw", R1)}
    # a store file named by its path is allowed too (and nothing else)
    path = Path(lineage_store) / R2 / "raw.parquet"
    n = store.sql(f"select count(*) as n from read_parquet('{path}')")["n"][0]
    assert n == len(pd.read_parquet(path))
    assert ("raw", R2) in checked and {a for a, _ in checked} == {"raw"}
    # the views made before are still there after DuckDB is given the new file
    assert store.sql(f'select count(*) as n from "raw@{R1}"')["n"][0] == len(raw)


def test_bad_queries(cli, lineage_store):
    store = Store.open(lineage_store)
    with pytest.raises(SqlError, match="Binder Error.*nope"):
        store.sql("select nope from features")
    with pytest.raises(SqlError, match="does not exist"):
        store.sql("select * from no_such_table")
    for query, message in (("selec 1", "Parser Error"), ("select nope from scores", "Binder Error"), ("", "empty")):
        res = cli("sql", lineage_store, query)
        assert res.code == 2 and message in res.err and "Traceback" not in res.err


def test_cli_formats(cli, lineage_store, tmp_path):
    query = f'select id, amount, region from "raw@{R2}" order by id'
    truth = pd.read_parquet(Path(lineage_store) / R2 / "raw.parquet").sort_values("id").reset_index(drop=True)

    res = cli("sql", lineage_store, query, "--format", "csv")
    assert res.code == 0, res.err
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(res.out)), truth, check_dtype=False)

    res = cli("sql", lineage_store, query, "--format", "json")
    assert res.code == 0
    assert json.loads(res.out) == json.loads(truth.to_json(orient="records"))

    out = tmp_path / "r.parquet"
    res = cli("sql", lineage_store, query, "--format", "parquet", "--output", out)
    assert res.code == 0 and res.out == ""
    pd.testing.assert_frame_equal(pq.read_table(out).to_pandas(), truth, check_dtype=False)
    assert cli("sql", lineage_store, query, "--format", "parquet").code == 2  # needs --output

    res = cli("sql", lineage_store, query)
    assert res.code == 0 and "8 rows" in res.out and "amount" in res.out

    csv_out = tmp_path / "r.csv"
    assert cli("sql", lineage_store, query, "--format", "csv", "--output", csv_out).code == 0
    pd.testing.assert_frame_equal(pd.read_csv(csv_out), truth, check_dtype=False)


def test_sql_on_s3_through_the_store_filesystem(s3_store):
    url, opts = s3_store
    store = Store.open(url, opts)
    fs = store.fs
    # truth: pandas reading the very same objects through s3fs
    with fs.open(f"{store.root}/{R2}/raw.parquet", "rb") as fh:
        raw2 = pd.read_parquet(fh)
    with fs.open(f"{store.root}/{R1}/features.parquet", "rb") as fh:
        feats1 = pd.read_parquet(fh)
    with fs.open(f"{store.root}/{R1}/bureau.csv", "rb") as fh:
        bureau = pd.read_csv(fh)
    assert_same(store.sql("select * from raw"), raw2)
    assert_same(store.sql(f'select * from "features@{R1}"'), feats1)
    assert_same(store.sql("select * from bureau"), bureau)
    # a hive-partitioned parquet directory, globbed through the same filesystem
    import pyarrow.dataset as ds

    parts = ds.dataset(f"{store.root}/{R2}/parts", filesystem=fs, format="parquet", partitioning="hive").to_table()
    parts = parts.to_pandas()
    parts["region"] = parts["region"].astype(str)
    assert_same(store.sql("select * from parts"), parts)
    got = store.sql("select region, sum(amount) as total from raw group by region order by region")
    want = raw2.groupby("region")["amount"].sum().reset_index(name="total")
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert list(store.sql("select run_id from runs order by started_at")["run_id"]) == [R1, R2]


def test_sql_cli_on_s3(cli, s3_store):
    url, opts = s3_store
    options = [a for k, v in opts.items() for a in ("-o", f"{k}={v}")]
    res = cli("sql", url, *options, "select count(*) as n from features", "--format", "json")
    assert res.code == 0, res.err
    assert res.json() == [{"n": 8}]  # features@R2, built from the 8 rows of raw B


def test_statements_that_could_write_are_refused(cli, writable_store):
    before = sorted(p.relative_to(writable_store) for p in Path(writable_store).rglob("*"))
    store = Store.open(writable_store)
    for statement in (
        f"copy (select * from raw) to '{writable_store}/{R1}/raw.parquet' (format parquet)",
        f"copy (select 1) to '{writable_store}/new.csv'",
        f"export database '{writable_store}/db'",
        f"attach '{writable_store}/x.duckdb'",
        "create table t as select 1",
        "pragma enable_profiling='json'",
    ):
        with pytest.raises(SqlError, match="only queries"):
            store.sql(statement)
        res = cli("sql", writable_store, statement)
        assert res.code == 2 and "only queries" in res.err
    assert sorted(p.relative_to(writable_store) for p in Path(writable_store).rglob("*")) == before
    # queries of every shape still run
    assert store.sql("with x as (select id from raw) select count(*) as n from x")["n"][0] == 8
    assert len(store.sql("describe select * from raw")) == 3
    assert len(store.sql("explain select * from raw")) >= 1
    assert store.sql("from raw select count(*) as n")["n"][0] == 8
