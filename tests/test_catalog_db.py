"""`frontier-explore catalog`: a DuckDB file of views over the store, opened as a BI tool
opens it (SQLAlchemy through duckdb-engine, the driver Superset uses)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from catalogue_support import R2, R4, lineage_store  # noqa: F401 - fixtures
from s3_support import bucket, moto_endpoint, write_pipeline  # noqa: F401 - fixtures

from explorer import RunWriter, Store

sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("duckdb_engine")

TABLES = ("parquet", "csv", "directory")


def engine(path: Path):
    return sqlalchemy.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})


def query(eng, sql: str) -> pd.DataFrame:
    with eng.connect() as con:
        result = con.execute(sqlalchemy.text(sql))
        return pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cell(value) -> str:
    """One value as text, the same whichever way it was read: a null, a whole float read
    from a nullable integer column, a timestamp, a category."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        return repr(value.tolist() if hasattr(value, "tolist") else value)
    if value is None or pd.isna(value):
        return "<null>"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return pd.Timestamp(value).isoformat()
    return str(value)


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Same rows and columns whatever their order and int/category/object dtypes."""
    df = df[sorted(df.columns)].astype(object).map(cell)
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(normalise(a), normalise(b), check_dtype=False)


def expected_names(store: Store) -> dict[str, tuple[str, str | None]]:
    """View name -> (asset, run or None for @*), from the store's versions."""
    out: dict[str, tuple[str, str | None]] = {}
    for asset in store.assets():
        tabular = [v for v in store.asset_versions(asset) if v.data_format in TABLES]
        for v in tabular:
            out[f"{asset}@{v.run_id}"] = (asset, v.run_id)
        if tabular:
            out[f"{asset}@*"] = (asset, None)
            if store.latest(asset).data_format in TABLES:
                out[asset] = (asset, store.latest(asset).run_id)
    return out


def test_demo_catalog_through_sqlalchemy_matches_store_sql(cli, demo_path, tmp_path):
    out = tmp_path / "store.duckdb"
    r = cli("catalog", demo_path, "--output", out)
    assert r.code == 0, r.err
    assert str(out) in r.out
    store = Store.open(str(demo_path))
    names = expected_names(store)
    eng = engine(out)
    views = set(sqlalchemy.inspect(eng).get_view_names())
    assert views == set(names) | {"runs", "versions", "checks", "observations", "flags", "views"}
    for name, (asset, run) in names.items():
        got = query(eng, f"select * from {q(name)}")
        if run is None:  # every version, one after the other, with its run and its time
            parts = [store.load(asset, v.run_id).assign(run_id=v.run_id, created_at=v.created_at)
                     for v in store.asset_versions(asset) if v.data_format in TABLES]
            truth = pd.concat(parts, ignore_index=True)
            assert_same(got, truth)
            assert_same(got, store.sql(f"select * from {q(name)}"))
            continue
        assert_same(got, store.sql(f"select * from {q(name)}"))
        assert_same(got, store.load(asset, run))  # and what the library reads itself
    # the metadata tables hold the same rows as Store.sql's
    for table, json_column in (("runs", "tags"), ("versions", "metadata")):
        truth = store.sql(f"select * from frontier.{table}")
        truth[json_column] = truth[json_column].map(json.loads)  # JSON text; the driver gives it decoded
        assert_same(query(eng, f"select * from frontier.{table}"), truth)
    assert sorted(query(eng, "select run_id from runs").run_id) == sorted(r.run_id for r in store.runs)
    assert len(query(eng, "select * from flags")) == len(store.flags()) == 0


def test_views_read_the_store_files_in_place(cli, demo_path, tmp_path):
    """Views, never copies: only the small metadata tables are tables, and a view reads the
    store's file as it is when queried."""
    store_dir = tmp_path / "store"
    shutil.copytree(demo_path, store_dir)
    out = tmp_path / "c.duckdb"
    assert cli("catalog", store_dir, "--output", out).code == 0
    con = duckdb.connect(str(out), read_only=True)
    tables = {f"{s}.{t}" for s, t in con.sql("select schema_name, table_name from duckdb_tables()").fetchall()}
    assert tables == {"frontier.runs", "frontier.versions", "frontier.checks", "frontier.observations", "frontier.flags",
                      "frontier.views", "frontier.catalog"}
    con.close()
    v = Store.open(str(store_dir)).latest("scores")
    path = store_dir / v.data_path
    changed = pq.read_table(path).slice(0, 3)
    pq.write_table(changed, path)  # the data changes under the catalog
    assert len(query(engine(out), "select * from scores")) == 3


def test_partitions_csv_and_schema_changes(cli, lineage_store, tmp_path):
    out = tmp_path / "c.duckdb"
    assert cli("catalog", lineage_store, "--output", out).code == 0
    store = Store.open(lineage_store)
    eng = engine(out)
    # the latest features is a hive-partitioned directory: region comes back as a column
    root = Path(lineage_store)
    truth = pd.read_parquet(root / R4 / "features")
    assert_same(query(eng, "select * from features"), truth)
    assert_same(query(eng, f'select * from "parts@{R2}"'), store.sql(f'select * from "parts@{R2}"'))
    assert_same(query(eng, "select * from bureau"), pd.read_csv(next(root.glob("*/bureau.csv"))))
    per_run = query(eng, 'select run_id, count(*) as n from "raw@*" group by 1')
    assert dict(zip(per_run.run_id, per_run.n)) == {
        v.run_id: len(store.load("raw", v.run_id)) for v in store.asset_versions("raw")}


def test_partitioned_assets_are_views_of_their_partitions(cli, tmp_path):
    """A backfill writes three days, a later run rewrites one: ``events`` is the latest
    version of every day, ``events@RUN`` the days that run wrote, ``events@*`` every
    version; each with the partition as a column, as ``Store.sql`` gives them."""
    root = tmp_path / "store"
    days = ["2023-01-21", "2023-01-22", "2023-01-23"]
    frames = {}
    with RunWriter(str(root), job="backfill") as backfill:
        for i, day in enumerate(days):
            frames[(backfill.run_id, day)] = pd.DataFrame({"day": [day] * (i + 1), "value": list(range(i + 1))})
            backfill.write("events", frames[(backfill.run_id, day)], partition=day)
        backfill.write("plain", pd.DataFrame({"x": [1, 2]}))
    with RunWriter(str(root), job="daily") as daily:
        frames[(daily.run_id, days[1])] = pd.DataFrame({"day": [days[1]] * 7, "value": list(range(10, 17))})
        daily.write("events", frames[(daily.run_id, days[1])], partition=days[1])
    out = tmp_path / "c.duckdb"
    r = cli("catalog", root, "--output", out)
    assert r.code == 0, r.err
    eng = engine(out)
    latest = {day: daily.run_id if day == days[1] else backfill.run_id for day in days}
    truth = pd.concat([frames[(run, day)].assign(partition=day) for day, run in latest.items()], ignore_index=True)
    got = query(eng, "select * from events")
    assert_same(got.drop(columns=["run_id", "created_at"]), truth)
    assert dict(zip(got.partition, got.run_id)) == latest
    got = query(eng, f'select * from "events@{backfill.run_id}"')
    assert_same(got.drop(columns=["run_id", "created_at"]),
                pd.concat([frames[(backfill.run_id, d)].assign(partition=d) for d in days], ignore_index=True))
    assert len(query(eng, 'select * from "events@*"')) == sum(len(f) for f in frames.values())
    store = Store.open(str(root))
    for name in ("events", f"events@{backfill.run_id}", f"events@{daily.run_id}", "events@*", "plain"):
        assert_same(query(eng, f"select * from {q(name)}"), store.sql(f"select * from {q(name)}"))
    kinds = dict(zip(*query(eng, "select name, kind from views").to_dict("list").values()))
    assert kinds["events"] == "latest" and kinds["events@*"] == "all" and kinds[f"events@{daily.run_id}"] == "version"


def test_hostile_keys_are_views_by_their_own_names(cli, tmp_path):
    store = tmp_path / "s"
    keys = ['we"ird', "team*/a'b", "x[1]", "runs"]
    frames = {k: pd.DataFrame({"id": [i, i + 1], "k": [k, k]}) for i, k in enumerate(keys)}
    with RunWriter(str(store), job="j") as run:
        for k, df in frames.items():
            run.write(k, df)
    out = tmp_path / "c.duckdb"
    r = cli("catalog", store, "--output", out)
    assert r.code == 0, r.err
    eng = engine(out)
    for k, df in frames.items():
        assert_same(query(eng, f"select * from {q(k)}"), df)
    # the asset called runs keeps its name; the runs table stays in frontier.runs
    assert list(query(eng, "select run_id from frontier.runs").run_id) == [run.run_id]


def test_s3_views_name_the_objects_and_hold_no_credentials(cli, moto_endpoint, bucket, tmp_path):
    key, secret = "AKIACATALOGSHARE0001", "catalog-share-secret-do-not-write"
    url = f"s3://{bucket}/store"
    opts = {"endpoint_url": moto_endpoint, "key": key, "secret": secret}
    write_pipeline(url, opts)
    out = tmp_path / "c.duckdb"
    r = cli("catalog", url, "-o", f"endpoint_url={moto_endpoint}", "-o", f"key={key}", "-o", f"secret={secret}",
            "--output", out)
    assert r.code == 0, r.err
    assert "httpfs" in r.out and "CREATE SECRET" in r.out
    blob = out.read_bytes()
    assert key.encode() not in blob and secret.encode() not in blob
    store = Store.open(url, opts)
    con = duckdb.connect(str(out), read_only=True)
    defs = dict(con.sql("select view_name, sql from duckdb_views() where not internal").fetchall())
    for v in store.asset_versions("raw/transactions"):
        assert f"read_parquet('s3://{bucket}/store/{v.data_path}')" in defs[f"raw/transactions@{v.run_id}"]
    try:
        con.execute("LOAD httpfs")
    except duckdb.Error as exc:
        pytest.skip(f"DuckDB's httpfs extension is not installed here, so the views cannot be read from S3 ({str(exc).splitlines()[0]})")
    host = moto_endpoint.split("://", 1)[1]
    con.execute(f"CREATE SECRET (TYPE s3, KEY_ID '{key}', SECRET '{secret}', ENDPOINT '{host}', "
                "URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')")
    got = con.sql('select * from "raw/transactions"').df()
    assert_same(got, store.load("raw/transactions"))


def test_watch_rewrites_the_file_after_a_new_run(tmp_path):
    store = tmp_path / "s"
    with RunWriter(str(store), job="j") as run:
        run.write("a", pd.DataFrame({"x": [1]}))
    out = tmp_path / "c.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "explorer", "catalog", str(store), "--output", str(out),
                             "--watch", "0.2", "--no-cache"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "wrote" in proc.stdout.readline()  # the first catalog is in place
        assert duckdb.connect(str(out), read_only=True).execute("select count(*) from runs").fetchone() == (1,)
        with RunWriter(str(store), job="j") as second:
            second.write("b", pd.DataFrame({"y": [1, 2]}))
        assert "wrote" in proc.stdout.readline()  # rewritten once the run is seen
        con = duckdb.connect(str(out), read_only=True)
        assert con.execute("select count(*) from runs").fetchone() == (2,)
        assert con.execute("select count(*) from b").fetchone() == (2,)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-o", "out.duckdb"], "-o is --storage-option KEY=VALUE; to write 'out.duckdb' use --output out.duckdb"),
        ([], "catalog needs --output FILE"),
        (["--output", "/no/such/folder/c.duckdb"], "no folder /no/such/folder"),
        (["--output", "c.duckdb", "--watch", "0"], "--watch needs a positive number"),
    ],
)
def test_bad_input_is_one_line(cli, demo_path, argv, message):
    r = cli("catalog", demo_path, *argv)
    assert r.code == 2
    assert message in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_memory_store_is_refused(cli, tmp_path):
    with RunWriter("memory://share-cat", job="j") as run:
        run.write("a", pd.DataFrame({"x": [1]}))
    r = cli("catalog", "memory://share-cat", "--output", tmp_path / "c.duckdb")
    assert r.code == 2 and "DuckDB reads only local paths and s3:// or gs:// URLs, not memory://" in r.err
