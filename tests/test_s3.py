"""A store on a real S3 endpoint (moto's server through s3fs): every CLI subcommand gives
the same answers as for the same store on local disk, with the fewest requests."""

from __future__ import annotations

import math

import pytest

from explorer import Store
from explorer.store import RunWriter
from s3_support import (  # noqa: F401 - fixtures
    RUN_IDS,
    TEST_SECRET,
    RequestCounter,
    bucket,
    moto_endpoint,
    s3_fs,
    write_pipeline,
)

ASSETS = ["features", "model", "raw/regions", "raw/transactions", "scores"]


@pytest.fixture(scope="module")
def stores(moto_endpoint, tmp_path_factory):
    """The same pipeline written to S3 and to local disk: (s3 url, options, local path)."""
    import boto3

    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket="pipeline-store")
    opts = {"endpoint_url": moto_endpoint}
    url = "s3://pipeline-store/teams/credit"
    write_pipeline(url, opts)
    local = str(tmp_path_factory.mktemp("local") / "store")
    write_pipeline(local)
    return url, opts, local


def _commands():
    """Every store subcommand in this branch, with arguments that exercise it."""
    out = [("runs",), ("assets",), ("lineage",), ("lineage", "--all-runs"), ("lineage", "--run", RUN_IDS[1])]
    out += [("assets", "--run", r) for r in RUN_IDS]
    for key in ASSETS:
        out += [("show", key), ("provenance", key), ("impact", key)]
    out += [("show", "features", "--run", RUN_IDS[2]), ("impact", "raw/transactions", "--run", RUN_IDS[0]),
            ("provenance", "features", "--run", RUN_IDS[1])]
    return out


def test_every_subcommand_answers_the_same_on_s3_as_on_local_disk(cli, stores):
    url, opts, local = stores
    commands = _commands()
    assert {c[0] for c in commands} >= {"runs", "assets", "lineage", "show", "provenance", "impact"}
    for cmd in commands:
        on_s3 = cli(cmd[0], url, "-o", f"endpoint_url={opts['endpoint_url']}", *cmd[1:], "--format", "json")
        on_disk = cli(cmd[0], local, *cmd[1:], "--format", "json")
        assert on_s3.code == 0, (cmd, on_s3.err)
        assert on_disk.code == 0, (cmd, on_disk.err)
        assert on_s3.json() == on_disk.json(), cmd
        assert url not in on_s3.out and local not in on_disk.out


def test_the_s3_answers_are_the_pipeline_that_was_written(cli, stores):
    url, opts, _ = stores
    o = ["-o", f"endpoint_url={opts['endpoint_url']}"]
    runs = cli("runs", url, *o, "-f", "json").json()
    assert [(r["run_id"], r["status"], r["assets"]) for r in runs] == [  # newest first
        (RUN_IDS[3], "success", 1), (RUN_IDS[2], "failed", 1), (RUN_IDS[1], "success", 2), (RUN_IDS[0], "success", 2)
    ]
    # the failed run's features are not the latest of anything it failed to finish, but they are a version
    prov = cli("provenance", url, *o, "scores", "-f", "json").json()
    got = {(v["asset"], v["run_id"]) for v in prov["versions"]}
    assert got == {("scores", RUN_IDS[3]), ("model", RUN_IDS[1]), ("features", RUN_IDS[1]),
                   ("raw/transactions", RUN_IDS[0]), ("raw/regions", RUN_IDS[0])}
    shown = cli("show", url, *o, "raw/transactions", "-f", "json").json()
    assert [row["amount"] for row in shown["preview"]] == [10.0, 20.5, 3.0, 44.0, 5.5, 60.0]
    table = cli("runs", url, *o)
    assert table.code == 0 and "s3://pipeline-store/teams/credit" in table.out


def test_cold_open_is_one_listing_and_one_get_per_run_warm_open_one_listing(stores, tmp_path, monkeypatch):
    url, opts, _ = stores
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path / "cache"))
    fs = s3_fs(opts["endpoint_url"])
    n = len(RUN_IDS)
    with RequestCounter(fs) as count:
        store = Store.open(url, opts)
        assert store.fs is fs
        assert len(store.runs) == n
        assert count.counts["HEAD"] == 0
        # the store marker (it says run_log) and the checkpoints' listing (none: so the root
        # is listed), then one GET per run
        assert count.counts["LIST"] == 1 + math.ceil(n / 1000)
        assert count.counts["GET"] == 1 + n  # all runs are consolidated: no sidecar is read
        assert count.total == n + 3
        count.reset()
        warm = Store.open(url, opts)
        assert dict(count.counts) == {"LIST": 1}
        assert [r.to_dict() for r in warm.runs] == [r.to_dict() for r in store.runs]
        assert {k: v.to_dict() for k, v in warm.index.versions.items()} == {
            k: v.to_dict() for k, v in store.index.versions.items()
        }
        assert dict(count.counts) == {"LIST": 1}  # the versions came from the cache


def test_refresh_after_a_new_run_reads_only_that_run(moto_endpoint, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path / "cache"))
    opts = {"endpoint_url": moto_endpoint}
    url = f"s3://{bucket}/store"
    write_pipeline(url, opts)
    store = Store.open(url, opts)
    with RunWriter(url, job="late", storage_options=opts, run_id="20260401T000000Z-late") as run:
        run.write("report", {"rows": 6}, inputs=[("scores", RUN_IDS[3])])
    fs = s3_fs(moto_endpoint)
    with RequestCounter(fs) as count:
        store.refresh()
        assert count.total <= 5
        assert dict(count.counts) == {"LIST": 1, "GET": 1}
    assert store.runs[-1].run_id == "20260401T000000Z-late"
    assert [v.run_id for v in store.provenance("report").versions if v.asset == "scores"] == [RUN_IDS[3]]
    # and the next process finds it in the cache
    with RequestCounter(fs) as count:
        again = Store.open(url, opts)
        assert len(again.runs) == 5
        assert dict(count.counts) == {"LIST": 1}


def test_a_running_run_is_read_from_its_sidecars_and_read_again_until_it_finishes(moto_endpoint, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path / "cache"))
    opts = {"endpoint_url": moto_endpoint}
    url = f"s3://{bucket}/store"
    write_pipeline(url, opts)
    live = RunWriter(url, job="live", storage_options=opts, run_id="20260501T000000Z-live").start()
    live.write("partial", {"step": 1})
    fs = s3_fs(moto_endpoint)
    with RequestCounter(fs) as count:
        store = Store.open(url, opts)
        # root listing + versions listing of the running run; 5 manifests + its one sidecar
        assert dict(count.counts) == {"LIST": 3, "GET": 7}  # (+ the marker and the checkpoints' listing)
    assert store.run("20260501T000000Z-live").status == "running"
    assert store.version("partial").run_id == "20260501T000000Z-live"
    live.write("second", {"step": 2})
    with RequestCounter(fs) as count:
        store.refresh()
        assert dict(count.counts) == {"LIST": 2, "GET": 3}  # only the running run again
    assert {v.asset for v in store.run_versions("20260501T000000Z-live")} == {"partial", "second"}
    live.finish()
    with RequestCounter(fs) as count:
        store.refresh()
        assert dict(count.counts) == {"LIST": 1, "GET": 1}  # now consolidated: its manifest only
    assert store.run("20260501T000000Z-live").status == "success"
    with RequestCounter(fs) as count:
        Store.open(url, opts)
        assert dict(count.counts) == {"LIST": 1}  # finished: cached from now on


def test_credentials_given_as_options_never_reach_the_cache_or_the_output(cli, moto_endpoint, stores, tmp_path, monkeypatch):
    url, opts, _ = stores
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(cache_dir))
    secret_opts = ["-o", f"endpoint_url={moto_endpoint}", "-o", "key=AKIAOPTIONKEY1234", "-o", f"secret={TEST_SECRET}-opt"]
    for args in (("runs",), ("assets",), ("lineage",), ("show", "scores"), ("provenance", "scores"), ("impact", "model")):
        r = cli(args[0], url, *secret_opts, *args[1:])
        assert r.code == 0, r.err
        assert f"{TEST_SECRET}-opt" not in r.out + r.err
        assert "AKIAOPTIONKEY1234" not in r.out + r.err
    files = list(cache_dir.iterdir())
    assert files, "the cache was written"
    for f in files:
        data = f.read_bytes()
        assert TEST_SECRET.encode() not in data and b"AKIAOPTIONKEY1234" not in data
    info = cli("cache", "info", "-f", "json")
    assert TEST_SECRET not in info.out and "AKIAOPTIONKEY1234" not in info.out
    assert info.json()["stores"][0]["url"] == url


def test_no_cache_reads_everything_and_writes_no_cache(cli, stores, tmp_path, monkeypatch):
    url, opts, _ = stores
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(cache_dir))
    fs = s3_fs(opts["endpoint_url"])
    with RequestCounter(fs) as count:
        assert cli("runs", url, "-o", f"endpoint_url={opts['endpoint_url']}", "--no-cache").code == 0
        assert cli("--no-cache", "runs", url, "-o", f"endpoint_url={opts['endpoint_url']}").code == 0
        assert count.counts["GET"] == 2 * (1 + len(RUN_IDS))  # the marker and every run, twice
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


def test_anonymous_access_is_an_option(cli, moto_endpoint, bucket, stores):
    # a public copy of the pipeline (objects written public-read), read without signing
    public = f"s3://{bucket}/public"
    write_pipeline(public, {"endpoint_url": moto_endpoint, "s3_additional_kwargs": {"ACL": "public-read"}})
    r = cli("runs", public, "-o", f"endpoint_url={moto_endpoint}", "-o", "anon=true", "-f", "json")
    assert r.code == 0, r.err
    assert [x["run_id"] for x in r.json()] == RUN_IDS[::-1]  # newest first
    # the private store, read anonymously: the listing is allowed by moto, the manifests are
    # not; each refused run is one warning line, not a traceback
    url, _, _ = stores
    r = cli("runs", url, "-o", f"endpoint_url={moto_endpoint}", "-o", "anon=true", "-f", "json")
    assert r.code == 0 and r.json() == []
    assert r.err.count("permission denied") == len(RUN_IDS) and "Traceback" not in r.err


def test_endpoint_from_the_environment(cli, stores, monkeypatch):
    url, opts, _ = stores
    monkeypatch.setenv("AWS_ENDPOINT_URL", opts["endpoint_url"])
    import s3fs

    # fsspec caches clients by their options, not the environment: another test's client made
    # from the environment (another endpoint) must not be reused
    s3fs.S3FileSystem.clear_instance_cache()
    r = cli("runs", url, "-f", "json")
    assert r.code == 0, r.err
    assert len(r.json()) == len(RUN_IDS)


def test_a_missing_bucket_is_one_line_not_a_traceback(cli, moto_endpoint):
    r = cli("runs", "s3://no-such-bucket-here/store", "-o", f"endpoint_url={moto_endpoint}")
    assert r.code == 2
    assert "Traceback" not in r.err and r.err.count("\n") == 1


def test_named_store_on_s3(cli, stores, tmp_path, monkeypatch):
    url, opts, local = stores
    cfg = tmp_path / "xdg" / "frontier-explore" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        f'[stores.prod]\nurl = "{url}"\nstorage_options = {{ endpoint_url = "{opts["endpoint_url"]}", '
        f'secret = "{TEST_SECRET}-cfg", key = "{"AKIA" + "CFGKEY"}" }}\n'
        f'[stores.laptop]\nurl = "{local}"\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    by_name = cli("runs", "@prod", "-f", "json")
    assert by_name.code == 0, by_name.err
    assert by_name.json() == cli("runs", "@laptop", "-f", "json").json()
    assert cli("@prod", "assets", "-f", "json").json() == cli("assets", local, "-f", "json").json()
    listed = cli("stores", "-f", "json")
    assert [s["name"] for s in listed.json()["stores"]] == ["prod", "laptop"]
    assert f"{TEST_SECRET}-cfg" not in listed.out and "AKIACFGKEY" not in listed.out
    table = cli("stores")
    assert "@prod" in table.out and f"{TEST_SECRET}-cfg" not in table.out and "AKIACFGKEY" not in table.out


def test_an_aws_profile_is_an_option(cli, stores, tmp_path, monkeypatch):
    url, opts, _ = stores
    creds = tmp_path / "credentials"
    creds.write_text("[fe-test]\naws_access_key_id = AKIAPROFILEKEY\naws_secret_access_key = profile-secret-xyz\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    o = ["-o", f"endpoint_url={opts['endpoint_url']}"]
    r = cli("runs", url, *o, "-o", "profile=fe-test", "-f", "json")
    assert r.code == 0, r.err
    assert [x["run_id"] for x in r.json()] == RUN_IDS[::-1]  # newest first
    r = cli("runs", url, *o, "-o", "profile=no-such-profile")
    assert r.code == 2 and "no-such-profile" in r.err and r.err.count("\n") == 1
    assert "internal error" not in r.err and "profile-secret-xyz" not in r.err


def test_reading_data_sends_no_head_and_no_extra_listing(cli, stores, tmp_path, monkeypatch):
    """Versions' sizes are in their sidecars: readers (pyarrow, DuckDB, previews) are given
    them, so s3fs sends no HEAD before reading; a store without flags is not asked for them
    (the root listing showed no flags folder). Verifying is the exception: it checks the
    object as the store holds it now, so it asks for each object's real size (one HEAD each)."""
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path / "cache"))
    url, opts, _ = stores
    o = ["-o", f"endpoint_url={opts['endpoint_url']}"]
    assert cli("runs", url, *o).code == 0  # the index is cached: what follows is the reads
    fs = s3_fs(opts["endpoint_url"])
    commands = [
        ("show", "features"), ("show", "raw/regions", "--format", "json"), ("stale",),
        ("diff", "features", RUN_IDS[1], RUN_IDS[2]), ("sql", "select count(*) as n from features"),
        ("trace", "scores", "--where", "id=3"), ("history", "features"), ("flags",),
    ]
    for args in commands:
        with RequestCounter(fs) as count:
            r = cli(args[0], url, *args[1:], *o)
        assert r.code in (0, 1), (args, r.err)
        assert count.counts["HEAD"] == 0, (args, dict(count.counts))
        assert count.counts["LIST"] == 1, (args, dict(count.counts))  # the root listing of the open
    with RequestCounter(fs) as count:
        r = cli("assets", url, "--verify", "--format", "json", *o)
    assert r.code == 0 and len(r.json()) == len(ASSETS)
    assert count.counts["HEAD"] == len(ASSETS), dict(count.counts)  # the real size of each listed version
    r = cli("sql", url, "select count(*) as n from features", "--format", "json", *o)
    assert r.json() == [{"n": 6}]  # and the answers are the data's
