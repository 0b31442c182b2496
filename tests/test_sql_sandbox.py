"""SQL can only read the store: each way out of a store that DuckDB offers, tried for real
(local disk and the moto S3 server), and ordinary queries checked against pandas."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from catalogue_support import (  # noqa: F401 - fixtures
    R1,
    R2,
    lineage_store,
    make_bucket,
    moto_endpoint,
    s3_options,
    s3_store,
    writable_store,
)

from explorer import Store
from explorer.sql import SqlError, connect, source_sql
from explorer.store import RunWriter

RUN = "20260601T000000Z-sandbox"


def tree(root) -> dict[str, str]:
    """Every file under ``root`` -> sha256 of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(root).rglob("*") if p.is_file()}


def assert_refused(res, *words: str) -> None:
    assert res.code == 2, (res.code, res.out, res.err)
    assert res.out == ""
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1, res.err
    assert "refused" in res.err, res.err
    for w in words:
        assert w in res.err, (w, res.err)


def count(cli, url, table: str, *extra: str) -> int:
    res = cli("sql", url, *extra, f'select count(*) as n from "{table}"', "--format", "json")
    assert res.code == 0, res.err
    return res.json()[0]["n"]


# ---------------------------------------------------------------------- writing


def test_explain_analyze_cannot_write_into_the_store_or_anywhere(cli, writable_store, tmp_path):
    target = f"{writable_store}/{R2}/raw.parquet"
    outside = tmp_path / "outside"
    before = tree(writable_store)
    statements = (
        f"explain analyze copy (select 1 as id, 666.0 as x) to '{target}' (format parquet)",
        f"explain analyze copy (select 1 as id) to '{target}' (format parquet, use_tmp_file false)",
        f"EXPLAIN (ANALYZE, FORMAT JSON) COPY (select 1 as id) TO '{target}' (format parquet)",
        f"explain /* a comment */ analyse copy (select 1 as id) to '{writable_store}/{R2}/new.csv'",
        f"explain analyze copy (select 1 as id) to '{outside}/x.csv'",
        f"select 1; explain analyze copy (select 1 as id) to '{target}' (format parquet)",
        f"explain analyze (format json) copy (select 1 as id) to '{target}' (format parquet)",
        f"explain (analyze) copy (select * from raw) to '{target}' (format parquet)",
    )
    store = Store.open(writable_store)
    for statement in statements:
        assert_refused(cli("sql", writable_store, statement), "EXPLAIN of")
        with pytest.raises(SqlError, match="refused"):
            store.sql(statement)
    assert tree(writable_store) == before  # the committed file's bytes, and nothing added
    assert not outside.exists()


def test_attach_copy_from_create_table_as_are_refused(cli, writable_store, tmp_path):
    csv = tmp_path / "rows.csv"
    pd.DataFrame({"id": [1, 2]}).to_csv(csv, index=False)
    before = tree(writable_store)
    for statement in (
        f"attach '{tmp_path}/x.duckdb'",
        f"export database '{tmp_path}/db'",
        "attach ':memory:' as scratch",
        f"create table t as select * from read_csv('{csv}')",
        f"explain analyze create table t as select * from read_csv('{csv}')",
        f"create table '{writable_store}/{R1}/t' as select 1",
        f"copy raw from '{csv}'",
        f"explain analyze copy raw from '{csv}'",
        "explain analyze insert into raw values (1, 2.0, 'n')",
        "create view v as select 1",
        "pragma version",
        "call pragma_version()",
    ):
        assert_refused(cli("sql", writable_store, statement), "only queries")
    assert tree(writable_store) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv", "store"]


def test_no_extension_is_installed_loaded_or_downloaded(cli, lineage_store, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # where DuckDB keeps downloaded extensions
    for statement in (
        "install httpfs",
        "force install httpfs",
        "load httpfs",
        "explain analyze install httpfs",
        "explain analyze load httpfs",
        "explain install httpfs",
    ):
        assert_refused(cli("sql", lineage_store, statement), "INSTALL or LOAD")
    # paths that would make DuckDB autoload (and download) httpfs
    for path in ("https://example.invalid/x.parquet", "s3://some-other-bucket/x.parquet"):
        assert_refused(cli("sql", lineage_store, f"select * from read_parquet('{path}')"), repr(path))
        assert_refused(cli("sql", lineage_store, f"select * from '{path}'"), repr(path))
    assert not (home / ".duckdb").exists()
    assert not [p for p in home.rglob("*") if "duckdb" in p.name.lower()]


def test_configuration_cannot_be_set_back(cli, lineage_store, tmp_path):
    for statement in (
        "set enable_external_access = true",
        "reset enable_external_access",
        "set lock_configuration = false",
        "set allowed_directories = ['/']",
        "set autoinstall_known_extensions = true",
    ):
        assert_refused(cli("sql", lineage_store, statement), "SET or RESET")
    # the connection the explorer (and the diff) reads through refuses them by itself
    store = Store.open(lineage_store)
    con = connect(store, temp_directory=str(tmp_path / "spill"), settings={"preserve_insertion_order": False})
    settings = dict(con.execute("select name, value from duckdb_settings() where name in "
                                "('preserve_insertion_order', 'temp_directory', 'lock_configuration')").fetchall())
    assert settings == {"preserve_insertion_order": "false", "temp_directory": str(tmp_path / "spill"),
                        "lock_configuration": "true"}
    for statement in (
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "RESET lock_configuration",
        "SET allowed_paths = ['/etc/passwd']",
        "SET autoload_known_extensions = true",
        "SET preserve_insertion_order = true",
    ):
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute(statement)
    with pytest.raises(duckdb.PermissionException):
        con.execute("select * from read_csv('/etc/passwd')")
    # nor environment variables (credentials) in results
    res = cli("sql", lineage_store, "select getenv('HOME') as h")
    assert res.code == 2 and "getenv" in res.err and res.out == ""
    v = store.version("raw", R1)
    n = con.execute(f"select count(*) from {source_sql(store, v)}").fetchone()[0]
    assert n == pq.read_metadata(Path(lineage_store) / R1 / "raw.parquet").num_rows


# ---------------------------------------------------------------------- reading outside


def test_files_outside_the_store_are_refused_unless_allowed(cli, lineage_store, tmp_path):
    secret = pd.DataFrame({"user": ["ann", "bob"], "token": ["t0ps3cret", "hunter2"]})
    csv = tmp_path / "secret.csv"
    secret.to_csv(csv, index=False)
    parquet = tmp_path / "secret.parquet"
    secret.to_parquet(parquet)
    for query, named in (
        (f"select * from read_csv('{csv}')", str(csv)),
        (f"select * from '{csv}'", str(csv)),
        (f"select * from read_parquet('{parquet}')", str(parquet)),
        (f"select * from read_text('{csv}')", str(csv)),
        (f"select * from read_blob('{csv}')", str(csv)),
        (f"select * from glob('{tmp_path}/**')", f"{tmp_path}/**"),
        ("select * from read_csv('/etc/passwd')", "/etc/passwd"),
        ("select * from glob('/root/**')", "/root/**"),
        (f"select * from read_json('{lineage_store}/{R1}/_frontier/run.json')", "run.json"),  # the store's own, not a table
    ):
        res = cli("sql", lineage_store, query)
        assert_refused(res, named, "--allow-files")
        assert "t0ps3cret" not in res.err
    # with --allow-files local files can be read ...
    res = cli("sql", lineage_store, "--allow-files", f"select * from read_csv('{csv}') order by user", "--format", "json")
    assert res.code == 0, res.err
    assert res.json() == secret.to_dict(orient="records")
    res = cli("sql", lineage_store, "--allow-files", f"select file from glob('{tmp_path}/*.parquet')", "--format", "json")
    assert res.json() == [{"file": str(parquet)}]
    store = Store.open(lineage_store)
    got = store.sql(f"select * from read_parquet('{parquet}') order by user", allow_files=True)
    pd.testing.assert_frame_equal(got, secret, check_dtype=False)
    # ... next to the store's tables, and still never written
    res = cli("sql", lineage_store, "--allow-files",
              f"select count(*) as n from \"raw@{R1}\" r join read_csv('{csv}') s on r.id = length(s.user)", "--format", "json")
    raw_ids = pd.read_parquet(Path(lineage_store) / R1 / "raw.parquet")["id"]
    assert res.code == 0 and res.json() == [{"n": sum(int(i == len(u)) for i in raw_ids for u in secret["user"])}]
    assert_refused(cli("sql", lineage_store, "--allow-files", f"explain analyze copy (select 1) to '{tmp_path}/w.csv'"))
    assert not (tmp_path / "w.csv").exists()
    # the next query without the option is refused again
    with pytest.raises(SqlError, match="refused"):
        store.sql(f"select * from read_parquet('{parquet}')")


# ---------------------------------------------------------------------- glob characters


def _write_store(root: Path, n: int) -> None:
    raw = pd.DataFrame({"id": range(n), "region": ["n", "s"] * (n // 2) + ["n"] * (n % 2)})
    with RunWriter(str(root), job="j", run_id=RUN) as run:
        run.write("raw", raw)
        run.write("bureau", raw[["id"]], format="csv")
        run.write("parts", raw, format="directory", partition_by=["region"])


@pytest.mark.parametrize(("name", "sibling"), [("team*", "team-other"), ("b[1]", "b1"), ("q?", "qx")])
def test_a_store_path_with_glob_characters_reads_only_itself(cli, tmp_path, name, sibling):
    store, other = tmp_path / name, tmp_path / sibling
    _write_store(store, 3)
    _write_store(other, 5)  # same run id and keys: each of its files matches the store's path read as a pattern
    for table in ("raw", "bureau", "parts", f"raw@{RUN}", f"parts@{RUN}"):
        assert count(cli, store, table) == 3, table
        assert count(cli, other, table) == 5, table


def test_data_paths_with_glob_characters_read_exactly_their_file(cli, tmp_path):
    sizes = {"*": 1, "a?": 2, "ab": 3, "p[ab]": 4, "pa": 5, "c*": 6, "cc": 7, "d[x]": 8, "dx": 9}
    formats = {"c*": "csv", "cc": "csv", "d[x]": "directory", "dx": "directory"}
    with RunWriter(str(tmp_path / "s"), job="j", run_id=RUN) as run:
        for key, n in sizes.items():
            df = pd.DataFrame({"id": range(n), "g": ["x"] * n})
            kw = {"partition_by": ["g"]} if formats.get(key) == "directory" else {}
            run.write(key, df, format=formats.get(key, "parquet"), **kw)
    assert (tmp_path / "s" / RUN / "*.parquet").is_file()  # the file really is named "*"
    for key, n in sizes.items():
        assert count(cli, tmp_path / "s", key) == n, key
        assert count(cli, tmp_path / "s", f"{key}@{RUN}") == n, key


# ---------------------------------------------------------------------- ordinary queries


def test_ordinary_queries_still_work(cli, lineage_store):
    root = Path(lineage_store)
    feats = pd.read_parquet(root / R1 / "features.parquet")
    bureau = pd.read_csv(root / R1 / "bureau.csv")
    want = feats.merge(bureau, on="id")[["id", "amount", "score"]].sort_values("id").reset_index(drop=True)
    res = cli("sql", lineage_store, f'select f.id, f.amount, b.score from "features@{R1}" f join bureau b using (id) order by id',
              "--format", "json")
    assert res.code == 0, res.err
    assert res.json() == want.to_dict(orient="records")
    # the store's own files by path are the store's too
    res = cli("sql", lineage_store, f"select count(*) as n from read_parquet('{root}/{R2}/raw.parquet')", "--format", "json")
    assert res.json() == [{"n": len(pd.read_parquet(root / R2 / "raw.parquet"))}]
    # the metadata tables, against the manifests and sidecars on disk
    manifests = [json.loads(p.read_text()) for p in root.glob("*/_frontier/run.json")]
    res = cli("sql", lineage_store, "select run_id, job from runs order by run_id", "--format", "json")
    assert res.json() == sorted(({"run_id": m["run_id"], "job": m["job"]} for m in manifests), key=lambda r: r["run_id"])
    res = cli("sql", lineage_store, "select count(*) as n from frontier.versions", "--format", "json")
    assert res.json() == [{"n": len(list(root.glob("*/_frontier/versions/*.json")))}]
    for query in ("explain select * from raw", "explain analyze select count(*) from raw", "summarize raw",
                  "EXPLAIN ANALYZE (SELECT 1)", "EXPLAIN (SELECT 1) UNION (SELECT 2)", "explain (format json) select 1",
                  "EXPLAIN ANALYZE (FORMAT JSON) SELECT 1", "explain (analyze) (select * from raw)",
                  "describe raw", f'with x as (select * from "raw@{R1}") select count(*) from x'):
        assert cli("sql", lineage_store, query).code == 0, query


# ---------------------------------------------------------------------- S3


def test_s3_sql_reads_only_the_store_and_never_writes(cli, s3_store, moto_endpoint):
    url, opts = s3_store
    store = Store.open(url, opts)
    target = f"{store.root}/{R1}/raw.parquet"
    before = store.fs.cat_file(target)
    options = [a for k, v in opts.items() for a in ("-o", f"{k}={v}")]
    bucket = "sql-secret-" + uuid.uuid4().hex[:8]
    make_bucket(moto_endpoint, bucket)
    store.fs.pipe_file(f"{bucket}/secret.csv", b"token\nhunter2\n")
    assert_refused(cli("sql", url, *options, f"select * from read_csv('s3://{bucket}/secret.csv')"), f"s3://{bucket}/secret.csv")
    assert_refused(cli("sql", url, *options, f"explain analyze copy (select 1 as id) to 's3://{target}' (format parquet)"))
    # below the statement check, the filesystem DuckDB is given refuses to write by itself
    con = connect(store)
    for statement in (f"copy (select 1 as id) to 's3://{target}' (format parquet)",
                      f"copy (select 1 as id) to 's3://{store.root}/{R1}/new.parquet' (format parquet)"):
        with pytest.raises(duckdb.Error):
            con.execute(statement)
    assert store.fs.cat_file(target) == before
    store.fs.invalidate_cache()
    assert not store.fs.exists(f"{store.root}/{R1}/new.parquet")
    assert count(cli, url, f"raw@{R1}", *options) == pq.read_table(pa.BufferReader(before)).num_rows


def test_s3_store_path_with_glob_characters_reads_only_itself(cli, moto_endpoint):
    bucket = "sql-glob-" + uuid.uuid4().hex[:8]
    make_bucket(moto_endpoint, bucket)
    opts = s3_options(moto_endpoint)
    options = [a for k, v in opts.items() for a in ("-o", f"{k}={v}")]
    for name, n in (("team*", 2), ("team-other", 3)):
        with RunWriter(f"s3://{bucket}/{name}", job="j", run_id=RUN, storage_options=opts) as run:
            run.write("raw", pd.DataFrame({"id": range(n)}))
    assert count(cli, f"s3://{bucket}/team*", "raw", *options) == 2
    assert count(cli, f"s3://{bucket}/team-other", "raw", *options) == 3


def test_s3_directory_version_reads_its_listed_files(cli, moto_endpoint):
    """A directory version on S3 is read from the store's listing of its files, partitions included."""
    bucket = "sql-dir-" + uuid.uuid4().hex[:8]
    make_bucket(moto_endpoint, bucket)
    opts = s3_options(moto_endpoint)
    options = [a for k, v in opts.items() for a in ("-o", f"{k}={v}")]
    raw = pd.DataFrame({"id": range(7), "region": ["eu", "us", "eu", "ap", "us", "eu", "ap"]})
    with RunWriter(f"s3://{bucket}/s[1]", job="j", run_id=RUN, storage_options=opts) as run:
        run.write("parts", raw, format="directory", partition_by=["region"])
    r = cli("sql", f"s3://{bucket}/s[1]", *options,
            'select region, count(*) as n from parts group by 1 order by 1', "--format", "json")
    assert r.code == 0, r.err
    assert r.json() == [{"region": k, "n": int(n)} for k, n in raw.groupby("region").size().sort_index().items()]
